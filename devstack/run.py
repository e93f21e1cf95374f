"""Run one command against the dev database and Redis: `python -m devstack.run alembic upgrade head`."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.dotenv import load_dotenv
from devstack.paths import ACTIONS_VENV, ROOT
from devstack.processes import action_environment
from devstack.services import ensure_services


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    load_dotenv()
    services = ensure_services("dev")
    env = {**os.environ, **action_environment(services), "PATH": f"{ACTIONS_VENV / 'bin'}:{os.environ['PATH']}"}
    try:
        return subprocess.run(argv, cwd=ROOT, env=env).returncode
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
