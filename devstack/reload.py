"""`make chat` keeps talking while a designer edits: a change is retrained and loaded into the running Rasa.

A thread beside `rasa shell` looks at the model's inputs (data/, domain.yml, config.yml) every
second. When they changed and then stayed the same for a moment (an editor saving, a `make review`
adding an example), it asks devstack.model for the model of the new data (a quick finetuning where
Rasa can, a full training where it cannot) and loads it into the Rasa server the shell talks to,
with Rasa's own `PUT /model` API. Rasa keeps answering with the old model until the new one is in,
and the conversation keeps its id, cart and language. A training that fails (a YAML mistake, say)
is reported and the old model stays.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack import model as models
from devstack.paths import ROOT


def load_into_rasa(rasa_url: str, model: Path, timeout: float = 300) -> None:
    """Rasa's `PUT /model`: the server replaces its model with this file (it answers 204 when done)."""
    request = urllib.request.Request(
        f"{rasa_url}/model",
        data=json.dumps({"model_file": str(model)}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status != 204:
            raise RuntimeError(f"Rasa answered {response.status} to PUT /model")


@dataclass
class Reloader:
    rasa_url: str
    model: Path  # the model Rasa is running now
    fingerprint: Callable[[], str] = models.fingerprint
    train: Callable[[], Path] = field(default=lambda: models.ensure_model(quiet=True, quick=True))
    load: Callable[[str, Path], None] = load_into_rasa
    say: Callable[[str], None] = lambda text: print(f"\n[{text}]", flush=True)
    settle_seconds: float = 1.5  # the inputs must stay unchanged this long before training starts

    def __post_init__(self) -> None:
        self.loaded_fingerprint = self.fingerprint()

    def changed(self) -> bool:
        return self.fingerprint() != self.loaded_fingerprint

    def reload(self) -> bool:
        """Train (or find) the model of the current inputs and load it; True when Rasa runs it now."""
        started = time.monotonic()
        current = self.fingerprint()
        self.say("Training data changed: retraining; the bot answers with the old model meanwhile")
        try:
            new_model = self.train()
        except Exception as e:  # a broken edit must not end the designer's chat
            self.loaded_fingerprint = current  # not again until the next edit
            self.say(f"Training failed, the bot keeps the old model: {e}. Fix the data and save again.")
            return False
        self.loaded_fingerprint = current
        if new_model == self.model:
            return False
        try:
            self.load(self.rasa_url, new_model)
        except Exception as e:
            self.say(f"Rasa could not load {new_model.name}: {e}; the bot keeps the old model")
            return False
        self.model = new_model
        name = new_model.relative_to(ROOT) if new_model.is_relative_to(ROOT) else new_model
        self.say(f"Now answering with {name}, {time.monotonic() - started:.0f} s after the change. Go on")
        return True

    def watch(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        while not stop.wait(poll_seconds):
            if not self.changed():
                continue
            seen = self.fingerprint()
            while not stop.wait(self.settle_seconds):  # an edit in several saves is one change
                now = self.fingerprint()
                if now == seen:
                    break
                seen = now
            if not stop.is_set():
                self.reload()

    def start(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.watch, args=(stop,), daemon=True, name="model-reloader").start()
        return stop
