"""Time the designers' loop in a real `make chat`: start to first prompt, then an edit to the bot answering with it.

Runs `make chat` in a pseudo-terminal (rasa shell needs one) and waits until rasa shell asks for
the first message ("Your input ->": the bot is loaded and can answer). With --edit, it then adds one
example to a training file, the way a designer saves an edit while the chat runs, and waits until
make chat says the bot answers with the retrained model; it sends the new example as a message and
prints the bot's reply and, from Rasa's parse API, the intent the old and the new model give it.
At the end it leaves with /stop and puts the training file back as it was.

    .venv/bin/python -m devstack.loop_time [--edit --intent greet --example "sasa mzee, uko poa?" --language sw]
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import sys
import time
import urllib.request

from actions.commerce.nlu_examples import with_example
from actions.rasa_api import conversation_path
from devstack.paths import ROOT

PROMPT = "Your input"
RELOADED = "Now answering with"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
RASA_API = re.compile(r"Rasa's API is on (http://127\.0\.0\.1:\d+)")
CONVERSATION = re.compile(r"Starting rasa shell \(conversation (\S+)\)")


class Chat:
    """make chat in a terminal, read as it prints."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(ROOT)
            os.environ["CHAT_CONVERSATION_ID"] = f"loop-time-{os.getpid()}"  # a new customer: no hand-off, empty cart
            os.execvp("make", ["make", "--no-print-directory", "chat"])
        self.seen = ""
        self.stamps: list[tuple[float, str]] = []

    def now(self) -> float:
        return time.monotonic() - self.started

    def wait_for(self, text: str, after: int = 0, timeout: float = 900) -> float | None:
        """Seconds since start when `text` appeared in the output after offset `after`, None on timeout."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[after:]:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            try:
                chunk = ANSI.sub("", os.read(self.fd, 4096).decode(errors="replace"))
            except OSError:
                return None
            self.seen += chunk
            for line in chunk.splitlines():
                if line.startswith(("==>", "Trained", "Training", "Finetun", "[")) or "done in" in line:
                    self.stamps.append((self.now(), line.strip()))
        return self.now()

    def type(self, text: str) -> int:
        offset = len(self.seen)
        os.write(self.fd, text.encode() + b"\r")
        return offset

    def close(self) -> None:
        os.write(self.fd, b"/stop\r")
        os.waitpid(self.pid, 0)


def replies_to(rasa_url: str, conversation: str, text: str) -> tuple[int, list[str]]:
    """How often the customer sent `text` in the conversation, and what the bot said after the last time."""
    with urllib.request.urlopen(rasa_url + conversation_path(conversation) + "/tracker", timeout=30) as response:
        events = json.load(response)["events"]
    sent, said = 0, []
    for event in events:
        if event["event"] == "user" and event.get("text") == text:
            sent, said = sent + 1, []
        elif event["event"] == "bot" and event.get("text"):
            said.append(event["text"])
    return sent, said


def parsed_intent(rasa_url: str, text: str) -> str:
    request = urllib.request.Request(
        f"{rasa_url}/model/parse", json.dumps({"text": text}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        intent = json.load(response)["intent"]
    return f"{intent['name']} ({intent['confidence']:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edit", action="store_true", help="add one example while the chat runs and time it")
    parser.add_argument("--intent", default="greet")
    parser.add_argument("--example", default="sasa mzee, uko poa leo?")
    parser.add_argument("--language", default="sw", help="the training file: data/nlu/<language>.yml")
    args = parser.parse_args()
    training_file = ROOT / "data" / "nlu" / f"{args.language}.yml"
    original = training_file.read_text(encoding="utf-8")
    chat = Chat()
    ready = edited = reloaded = None
    try:
        ready = chat.wait_for(PROMPT)
        if ready is not None:
            chat.stamps.append((ready, "rasa shell asks for a message"))
        if ready is not None and args.edit:
            rasa_url = RASA_API.search(chat.seen).group(1)
            before = parsed_intent(rasa_url, args.example)
            offset = len(chat.seen)
            training_file.write_text(with_example(original, args.intent, args.example), encoding="utf-8")
            edited = chat.now()
            chat.stamps.append((edited, f"added {args.example!r} to {args.intent} in {training_file.name}"))
            reloaded = chat.wait_for(RELOADED, after=offset)
            if reloaded is not None:
                after = parsed_intent(rasa_url, args.example)
                conversation = CONVERSATION.search(chat.seen).group(1)
                sent_before = replies_to(rasa_url, conversation, args.example)[0]  # the id is kept across runs
                chat.type(args.example)
                deadline, reply = time.monotonic() + 120, []
                while not reply and time.monotonic() < deadline:
                    chat.wait_for("\0", timeout=1)  # keep reading the terminal meanwhile
                    sent, said = replies_to(rasa_url, conversation, args.example)
                    reply = said if sent > sent_before else []
                chat.stamps.append((chat.now(), f"the bot answered: {' / '.join(reply)[:200]!r}"))
                print(f"{args.example!r}: {before} before the edit, {after} after")
    finally:
        training_file.write_text(original, encoding="utf-8")
        chat.close()
        for at, line in chat.stamps:
            print(f"{at:7.1f} s  {line}")
    if ready is None:
        return 1
    print(f"make chat was ready to talk {ready:.0f} s after it started")
    if args.edit:
        if reloaded is None:
            print("the retrained model was not loaded within 15 minutes")
            return 1
        print(f"after the edit, the bot answered with the retrained model {reloaded - edited:.0f} s later")
    return 0


if __name__ == "__main__":
    sys.exit(main())
