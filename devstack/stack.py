"""The whole local product around Rasa: provider simulator, sidecar, worker and action server.

`make chat` and the end-to-end tests start it the same way; Rasa itself (a shell or a server)
is started by the caller on `stack.rasa_port`, which the worker already knows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from devstack.paths import ACTIONS_PYTHON, DATA_DIR
from devstack.processes import Process, action_environment, rasa_environment, spawn, wait_until
from devstack.services import Services, free_port


@dataclass
class Stack:
    services: Services
    rasa_port: int
    env: dict[str, str]  # what the action-side processes share: database, Redis, providers, Rasa
    whatsapp: dict[str, str] = field(default_factory=dict)  # the WhatsApp channel's settings, Graph API = simulator
    processes: list[Process] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def process(self, prefix: str) -> Process:
        return next(p for p in self.processes if p.name.startswith(prefix))

    def rasa_env(self, key_prefix: str) -> dict[str, str]:
        return rasa_environment(self.services, f"{self.process('actions').url}/webhook", key_prefix, self.whatsapp)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def dev_secrets_key() -> str:
    """The dev stack's SHOP_SECRETS_KEY, made once and kept in .data/ beside the data it opens."""
    path = DATA_DIR / "dev-shop-secrets-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def start_stack(services: Services, log_dir: Path = DATA_DIR / "logs", **overrides: str) -> Stack:
    """Start simulator, sidecar, worker and action server, wired to each other on free ports."""
    ports = {name: free_port() for name in ("simulator", "sidecar", "actions", "rasa")}
    simulator = f"http://127.0.0.1:{ports['simulator']}"
    sidecar = f"http://127.0.0.1:{ports['sidecar']}"
    env = {
        **action_environment(services),
        "MPESA_BASE_URL": simulator,
        "MPESA_CONSUMER_KEY": "dev-consumer-key",
        "MPESA_CONSUMER_SECRET": secrets.token_hex(16),
        "MPESA_PASSKEY": secrets.token_hex(16),
        "MPESA_SHORTCODE": "174379",
        "PAYSTACK_BASE_URL": simulator,
        "PAYSTACK_SECRET_KEY": "sk_test_" + secrets.token_hex(16),
        "PAYSTACK_WEBHOOK_URL": f"{sidecar}/payments/paystack/webhook",
        "PUBLIC_BASE_URL": sidecar,
        "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "RECONCILE_FIRST_CHECK_SECONDS": "20",
        "RECONCILE_BACKOFF_SECONDS": "10",
        "RECONCILE_INTERVAL_SECONDS": "2",
        "JOBS_QUEUE": f"jobs:{secrets.token_hex(4)}",  # this stack's worker takes only this stack's jobs
        "METRICS_TOKEN": secrets.token_urlsafe(16),  # the sidecar's /ready and /metrics
        "SHOP_SECRETS_KEY": dev_secrets_key(),  # shops' own payment accounts, kept across runs like the data
        **overrides,
    }
    whatsapp = {
        "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16),
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_REPLY_KEY": secrets.token_hex(32),
        "WHATSAPP_ACCESS_TOKEN": "EAAdev" + secrets.token_hex(16),
        "WHATSAPP_GRAPH_URL": simulator,
        **{name: value for name, value in overrides.items() if name.startswith("WHATSAPP_")},
    }
    stack = Stack(services, ports["rasa"], env, whatsapp)
    simulator_env = {
        "SIMULATOR_PORT": str(ports["simulator"]),
        "WHATSAPP_ACCESS_TOKEN": whatsapp["WHATSAPP_ACCESS_TOKEN"],
    }
    commands = {
        "simulator": ([str(ACTIONS_PYTHON), "-m", "devstack.simulator"], simulator_env),
        "sidecar": ([str(ACTIONS_PYTHON), "-m", "actions.web.app"], {"SIDECAR_PORT": str(ports["sidecar"])}),
        "actions": ([str(ACTIONS_PYTHON), "-m", "actions.server"], {"ACTION_SERVER_PORT": str(ports["actions"])}),
    }
    try:
        for name, (command, extra) in commands.items():
            url = f"http://127.0.0.1:{ports[name]}"
            process = spawn(f"{name}-{ports[name]}", command, {**env, **extra}, url, log_dir)
            stack.processes.append(process)
            wait_until(process, "/health", timeout=60)
        worker = spawn("worker", [str(ACTIONS_PYTHON), "-m", "actions.worker"], env, "", log_dir)
        stack.processes.append(worker)
    except Exception:
        stack.stop()
        raise
    return stack
