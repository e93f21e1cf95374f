"""`make chat`: everything up, then `rasa shell`; on exit, stop what was started.

.venv/bin/python -m devstack.chat [--conversation-id ID]
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
import time

from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON, DATA_DIR, DEMO_CATALOG, RASA_BIN, ROOT
from devstack.processes import action_environment, rasa_environment, start_action_server
from devstack.services import ensure_services, free_port


def step(text: str) -> float:
    print(f"==> {text}", flush=True)
    return time.monotonic()


def done(started: float) -> None:
    print(f"    done in {time.monotonic() - started:.1f} s", flush=True)


def prepare_database(env: dict[str, str]) -> None:
    """Migrate to the latest schema, then load the demo shop if it is not there yet."""
    full_env = {**os.environ, **env}
    subprocess.run([str(ACTIONS_PYTHON), "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=full_env, check=True)
    subprocess.run(
        [
            str(ACTIONS_PYTHON), "-m", "actions.cli", "import-catalog", str(DEMO_CATALOG),
            "--tenant", "demo-shop", "--name", "Demo Shop", "--currency", "KES", "--only-if-new",
        ],
        cwd=ROOT, env=full_env, check=True,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--conversation-id",
        default=os.environ.get("CHAT_CONVERSATION_ID") or f"shell-{getpass.getuser()}",
        help="the same id each time keeps your cart and context across restarts",
    )
    parser.add_argument(
        "--interactive", action="store_true", help="run `rasa interactive` (correct the bot, save stories) instead"
    )
    args = parser.parse_args()
    load_dotenv()

    t = step("Starting PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set)")
    services = ensure_services("dev")
    done(t)
    actions = None
    try:
        t = step("Migrating the database and loading the demo shop")
        prepare_database(action_environment(services))
        done(t)
        t = step("Checking the model")
        model = ensure_model()
        done(t)
        t = step("Starting the action server")
        actions = start_action_server(services, DATA_DIR / "logs")
        done(t)
        rasa_port = int(os.environ.get("RASA_PORT") or 0) or free_port()
        step(f"Starting rasa shell (conversation {args.conversation_id}); type /stop or press Ctrl-C to leave")
        print(
            f'    Rasa\'s API is on http://127.0.0.1:{rasa_port}; after "talk to a person", hand the chat back with\n'
            f"    .venv/bin/python -m actions.cli handback {args.conversation_id} --rasa-url http://127.0.0.1:{rasa_port}",
            flush=True,
        )
        # Rasa's dependencies print pages of deprecation warnings that say nothing to a designer.
        env = {**os.environ, "PYTHONWARNINGS": "ignore", **rasa_environment(services, f"{actions.url}/webhook")}
        command = [
            str(RASA_BIN), "shell", "--model", str(model), "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml", "--port", str(rasa_port), "--enable-api",
            "--conversation-id", args.conversation_id,
        ]  # fmt: skip
        if args.interactive:
            command = [
                str(RASA_BIN), "interactive", "--model", str(model), "--endpoints", "endpoints.yml",
                "--port", str(rasa_port), "--conversation-id", f"{args.conversation_id}-interactive",
            ]  # fmt: skip
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        print("==> Stopping the action server, PostgreSQL and Redis", flush=True)
        if actions:
            actions.stop()
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
