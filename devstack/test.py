"""`make test`: every check of both environments, against real PostgreSQL and Redis.

Uses DATABASE_URL / REDIS_URL when set (CI), else embedded servers under .data/test/.
Each step runs even when an earlier one failed; the exit code is non-zero if any failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ACTIONS_VENV, RASA_VENV, ROOT
from devstack.processes import rasa_environment
from devstack.services import ensure_services


def story_tests() -> list:
    """The conversation tests in tests/conversations/, against the current model (trained if needed):
    rasa test core --e2e, then the failing stories and what changed since the previous run."""
    return [RASA_VENV / "bin/python", "-m", "devstack.story_tests", "--model", ensure_model()]


def heldout_nlu() -> list:
    """The held-out NLU report (tests/nlu) with the model the conversation tests used, as a gate:
    intent accuracy >= 0.95 per language and no shopping request sent to goodbye, talk_to_human or
    out_of_scope. The same data trains the same model on one machine (and the machine's model cache
    hands it to every checkout); another host's TensorFlow may move the figures by about 0.01."""
    return [RASA_VENV / "bin/python", "-m", "devstack.nlu_heldout", "--model", ensure_model(quiet=True), "--gate"]


STEPS = [
    ("ruff check", [ACTIONS_VENV / "bin/ruff", "check", "."]),
    ("ruff format --check", [ACTIONS_VENV / "bin/ruff", "format", "--check", "."]),
    ("rasa data validate", [RASA_VENV / "bin/rasa", "data", "validate", "--domain", "domain.yml", "--data", "data"]),
    ("conversation tests (rasa test core --e2e, devstack/story_tests.py)", story_tests),
    ("held-out NLU (tests/nlu)", heldout_nlu),
    ("pytest (action server, sidecar, end to end)", [ACTIONS_VENV / "bin/pytest"]),
    ("pytest (bot/, Rasa environment)", [RASA_VENV / "bin/pytest", "-c", "tests/bot/pytest.ini", "tests/bot"]),
]


def main() -> int:
    load_dotenv()
    services = ensure_services("test")
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "PYTHONWARNINGS": "ignore",  # Rasa's dependencies' deprecation warnings drown the results
        # endpoints.yml must resolve for `rasa test`; nothing is called there.
        **rasa_environment(services, "http://127.0.0.1:5055/webhook", "storytests"),
    }
    failed = []
    try:
        for name, command in STEPS:
            print(f"\n==> {name}", flush=True)
            started = time.monotonic()
            if callable(command):
                command = command()
            code = subprocess.run([str(part) for part in command], cwd=ROOT, env=env).returncode
            print(f"==> {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - started:.0f} s")
            if code != 0:
                failed.append(name)
    finally:
        services.stop()
    print("\n" + (f"FAILED: {', '.join(failed)}" if failed else "All checks passed."))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
