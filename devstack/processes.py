"""Starting and stopping the action server and the Rasa server as child processes."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from devstack.paths import ACTIONS_PYTHON, DATA_DIR, RASA_BIN, ROOT
from devstack.services import Services, free_port


def rasa_environment(
    services: Services, action_url: str, key_prefix: str = "shop", whatsapp: dict[str, str] | None = None
) -> dict[str, str]:
    """What endpoints.yml and credentials.yml read: the Redis behind the tracker and lock stores, the
    action server, and the WhatsApp channel's settings (throwaway secrets unless given)."""
    redis = urlparse(services.redis_url)
    return {
        "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(16),
        "WHATSAPP_APP_SECRET": secrets.token_hex(16),
        "WHATSAPP_REPLY_KEY": secrets.token_hex(32),
        **(whatsapp or {}),
        "REDIS_HOST": redis.hostname or "127.0.0.1",
        "REDIS_PORT": str(redis.port or 6379),
        "REDIS_DB": (redis.path or "/0").strip("/") or "0",
        "REDIS_PASSWORD": redis.password or "",
        "REDIS_KEY_PREFIX": key_prefix,
        "ACTION_ENDPOINT_URL": action_url,
        "DATABASE_URL": services.database_url,  # where the tracker store archives finished sessions
    }


def action_environment(services: Services) -> dict[str, str]:
    return {"DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    url: str
    log: Path

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def spawn(name: str, command: list[str], env: dict[str, str], url: str, log_dir: Path) -> Process:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("w") as out:
        popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() takes its children too
        )
    return Process(name, popen, url, log)


# About 45 s on an idle 2-core machine; five times that was seen with both cores busy (trainings, other tests).
RASA_LOAD_SECONDS = 420


def wait_until(process: Process, path: str, timeout: float, ready=lambda body: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
        try:
            with urllib.request.urlopen(process.url + path, timeout=2) as response:
                if ready(response.read()):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    process.stop()
    raise TimeoutError(f"{process.name} not ready after {timeout:.0f} s:\n{process.tail()}")


def start_action_server(
    services: Services, log_dir: Path = DATA_DIR / "logs", port: int | None = None, env: dict[str, str] | None = None
) -> Process:
    port = port or free_port()
    full_env = {**action_environment(services), "ACTION_SERVER_PORT": str(port), **(env or {})}
    command = [str(ACTIONS_PYTHON), "-m", "actions.server"]
    process = spawn(f"actions-{port}", command, full_env, f"http://127.0.0.1:{port}", log_dir)
    wait_until(process, "/health", timeout=60)
    return process


def start_sidecar(
    services: Services, log_dir: Path = DATA_DIR / "logs", port: int | None = None, env: dict[str, str] | None = None
) -> Process:
    """The public sidecar: payment callbacks and webhooks."""
    port = port or free_port()
    full_env = {**action_environment(services), "SIDECAR_PORT": str(port), **(env or {})}
    command = [str(ACTIONS_PYTHON), "-m", "actions.web.app"]
    process = spawn(f"sidecar-{port}", command, full_env, f"http://127.0.0.1:{port}", log_dir)
    wait_until(process, "/health", timeout=60)
    return process


def start_rasa_server(
    model: Path,
    env: dict[str, str],
    log_dir: Path = DATA_DIR / "logs",
    port: int | None = None,
    endpoints: Path | str = "endpoints.yml",
) -> Process:
    """A Rasa server with the REST channel and the HTTP API, ready once its model is loaded."""
    port = port or free_port()
    command = [
        str(RASA_BIN), "run", "--enable-api", "--port", str(port), "--interface", "127.0.0.1",
        "--model", str(model), "--endpoints", str(endpoints), "--credentials", "credentials.yml",
    ]  # fmt: skip
    process = spawn(f"rasa-{port}", command, env, f"http://127.0.0.1:{port}", log_dir)
    loaded = lambda body: bool(json.loads(body).get("model_file"))  # noqa: E731
    wait_until(process, "/status", timeout=RASA_LOAD_SECONDS, ready=loaded)
    return process
