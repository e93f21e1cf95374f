"""Time the designers' loop: from `make chat` starting (after an edit to data/) to the bot's first answer.

Runs `make chat` in a pseudo-terminal (rasa shell needs one), waits for its prompt, sends one
message, waits for the answer and prints how long each part took, from make chat's own step lines.

    .venv/bin/python -m devstack.loop_time "nimechoka kungoja mzigo wangu"

It does not edit anything: make the change to data/ first.
"""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time

from devstack.paths import ROOT

PROMPT = "Your input ->"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def main() -> int:
    message = sys.argv[1] if len(sys.argv) > 1 else "hi"
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execvp("make", ["make", "--no-print-directory", "chat"])
    seen, stamps, sent, answered = "", [], None, None
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 600)
            if not ready:
                print("no output for 10 minutes", file=sys.stderr)
                return 1
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
            seen += chunk
            for line in ANSI.sub("", chunk).splitlines():
                if line.startswith("==>") or "done in" in line or line.startswith("Trained"):
                    stamps.append((time.monotonic() - started, line.strip()))
            text = ANSI.sub("", seen)
            if sent is None and PROMPT in text:
                sent = time.monotonic()
                stamps.append((sent - started, f"rasa shell ready; sending {message!r}"))
                os.write(fd, (message + "\r").encode())
                seen = ""
            elif sent is not None and answered is None and PROMPT in ANSI.sub("", seen).split(message, 1)[-1]:
                answered = time.monotonic()
                reply = ANSI.sub("", seen).split(message, 1)[-1].split(PROMPT)[0].strip()
                stamps.append((answered - started, f"answered: {reply[:200]!r}"))
                os.write(fd, b"/stop\r")
    finally:
        for at, line in stamps:
            print(f"{at:7.1f} s  {line}")
        os.waitpid(pid, 0)
    if answered is None:
        return 1
    print(f"make chat answered {answered - started:.0f} s after it started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
