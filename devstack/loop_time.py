"""Time the designers' loop: from `make chat` starting (after an edit to data/) to rasa shell's prompt.

Runs `make chat` in a pseudo-terminal (rasa shell needs one), waits until rasa shell asks for the
first message ("Your input ->", the bot is loaded and can answer), then leaves with /stop, and
prints when each of make chat's steps ended.

    .venv/bin/python -m devstack.loop_time

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

PROMPT = "Your input"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def main() -> int:
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execvp("make", ["make", "--no-print-directory", "chat"])
    seen, stamps, ready = "", [], None
    try:
        while ready is None:
            if not select.select([fd], [], [], 900)[0]:
                print("no output for 15 minutes", file=sys.stderr)
                break
            try:
                chunk = ANSI.sub("", os.read(fd, 4096).decode(errors="replace"))
            except OSError:
                break
            seen += chunk
            for line in chunk.splitlines():
                if line.startswith("==>") or "done in" in line or line.startswith(("Trained", "Training", "Finetun")):
                    stamps.append((time.monotonic() - started, line.strip()))
            if PROMPT in seen:
                ready = time.monotonic() - started
                stamps.append((ready, "rasa shell asks for a message"))
                os.write(fd, b"/stop\r")
    finally:
        for at, line in stamps:
            print(f"{at:7.1f} s  {line}")
        os.waitpid(pid, 0)
    if ready is None:
        return 1
    print(f"make chat was ready to talk {ready:.0f} s after it started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
