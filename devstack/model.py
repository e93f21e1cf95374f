"""Train the Rasa model only when its inputs changed since the last one."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from devstack.paths import MODELS_DIR, RASA_BIN, ROOT

INPUTS = ("config.yml", "domain.yml", "data")


def fingerprint() -> str:
    """A hash of everything `rasa train` reads: the config, the domain and the training data."""
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS_DIR / f"shop-{fingerprint()}.tar.gz"


def ensure_model(quiet: bool = False) -> Path:
    """The model for the current data, training it first if there is none (about 80 s on 2 cores)."""
    target = model_path()
    if target.exists():
        if not quiet:
            print(f"Model is up to date: {target.relative_to(ROOT)}", flush=True)
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    print("Training data or config changed: training the model (about 7 minutes on 2 cores)…", flush=True)
    command = [
        str(RASA_BIN), "train",
        "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
        "--out", str(MODELS_DIR), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    log = ROOT / ".data" / "train.log"
    log.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        training = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        next_report = 10
        while training.poll() is None:
            time.sleep(1)
            elapsed = time.monotonic() - started
            if not quiet and elapsed >= next_report:
                print(f"    training… {elapsed:.0f} s (log: {log.relative_to(ROOT)})", flush=True)
                next_report += 10
    if training.returncode != 0 or not target.exists():
        sys.stderr.write(log.read_text()[-4000:])
        raise RuntimeError(f"rasa train failed (exit {training.returncode}); full log in {log}")
    print(f"Trained {target.relative_to(ROOT)}", flush=True)
    return target


if __name__ == "__main__":
    ensure_model()
