"""`make chat`: everything up, then `rasa shell`; on exit, stop what was started.

.venv/bin/python -m devstack.chat [--conversation-id ID]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request

from actions.commerce.inbox import STAFF_REPLY
from actions.rasa_api import conversation_path
from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON, DATA_DIR, DEMO_CATALOG, RASA_DEV, ROOT
from devstack.processes import action_environment
from devstack.reload import Reloader
from devstack.services import ensure_services
from devstack.stack import start_stack


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


DEMO_STAFF = "staff@demo-shop.example"


def demo_staff_password(env: dict[str, str]) -> str:
    """The demo shop's staff account for the admin pages; its password is made once and kept in .data/."""
    saved = DATA_DIR / "dev-admin-password"
    if not saved.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        saved.write_text(secrets.token_urlsafe(12))
        saved.chmod(0o600)
    password = saved.read_text().strip()
    subprocess.run(
        [str(ACTIONS_PYTHON), "-m", "actions.cli", "add-staff", "demo-shop", DEMO_STAFF, "--name", "Demo staff"],
        cwd=ROOT, env={**os.environ, **env, "STAFF_PASSWORD": password}, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return password


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
    stack = None
    try:
        t = step("Migrating the database and loading the demo shop")
        prepare_database(action_environment(services))
        password = demo_staff_password(action_environment(services))
        done(t)
        t = step("Checking the model")
        model = ensure_model(quick=True)  # after a small change to data/, a finetuned model (the designers' loop)
        done(t)
        t = step("Starting the payment simulator, the sidecar, the worker and the action server")
        stack = start_stack(services, DATA_DIR / "logs")
        done(t)
        rasa_port = stack.rasa_port
        step(f"Starting rasa shell (conversation {args.conversation_id}); type /stop or press Ctrl-C to leave")
        print(
            f"    Admin pages: {stack.process('sidecar').url}/admin/ (sign in as {DEMO_STAFF}, password {password})\n"
            f"    Readiness: curl -H 'Authorization: Bearer {stack.env['METRICS_TOKEN']}' "
            f"{stack.process('sidecar').url}/ready (and /metrics)\n"
            f'    Rasa\'s API is on http://127.0.0.1:{rasa_port}; after "talk to a person", answer from the admin\n'
            f"    pages (Waiting for a person: your replies show here in brackets) and hand the chat back there, or\n"
            f"    with .venv/bin/python -m actions.cli handback {args.conversation_id} "
            f"--rasa-url http://127.0.0.1:{rasa_port}",
            flush=True,
        )
        # Rasa's dependencies print pages of deprecation warnings that say nothing to a designer.
        env = {**os.environ, "PYTHONWARNINGS": "ignore", **stack.rasa_env("shop")}
        command = [
            *RASA_DEV, "shell", "--model", str(model), "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml", "--port", str(rasa_port), "--enable-api",
            "--conversation-id", args.conversation_id,
        ]  # fmt: skip
        if args.interactive:
            command = [
                *RASA_DEV, "interactive", "--model", str(model), "--endpoints", "endpoints.yml",
                "--port", str(rasa_port), "--conversation-id", f"{args.conversation_id}-interactive",
            ]  # fmt: skip
        if not args.interactive:
            print_updates(stack.rasa_url, args.conversation_id)
            Reloader(stack.rasa_url, model).start()  # an edit to data/ is retrained and loaded while you talk
            print("    Edit data/, domain.yml or config.yml and save: the bot retrains and answers with it here.")
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        print("==> Stopping the simulator, sidecar, worker, action server, PostgreSQL and Redis", flush=True)
        if stack:
            stack.stop()
        services.stop()


def print_updates(rasa_url: str, conversation_id: str) -> None:
    """Show what the bot says on its own (payment updates) and what staff write from the inbox: `rasa shell`
    only prints replies to your messages."""

    def events() -> list[dict]:
        try:
            with urllib.request.urlopen(rasa_url + conversation_path(conversation_id) + "/tracker", timeout=5) as r:
                return json.load(r).get("events", [])
        except (OSError, ValueError):
            return []

    def watch() -> None:
        seen = None
        while True:
            time.sleep(2)
            current = events()
            if seen is None or not current:
                seen = len(current) if current else seen
                continue
            for line in on_its_own(current[seen:]):
                print(f"\n[{line}]", flush=True)
            seen = len(current)

    threading.Thread(target=watch, daemon=True).start()


def on_its_own(events: list[dict]) -> list[str]:
    """What the bot said that nothing typed in the shell asked for: its answers to an EXTERNAL_ intent (payment
    updates) and the replies staff wrote in the inbox (the admin pages), with their names."""
    said, external = [], False
    for event in events:
        if event["event"] == "user":
            external = (event.get("parse_data", {}).get("intent", {}).get("name") or "").startswith("EXTERNAL_")
        elif event["event"] == "bot" and event.get("text"):
            staff = (event.get("metadata") or {}).get(STAFF_REPLY)
            if isinstance(staff, dict):
                said.append(f"{staff.get('by') or 'Staff'} (staff): {event['text']}")
            elif external:
                said.append(event["text"])
    return said


if __name__ == "__main__":
    sys.exit(main())
