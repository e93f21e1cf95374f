"""`make serve`: the production run on one machine, from the environment only.

.venv/bin/python -m deploy.serve [--check]

It checks the environment (deploy/checks.py: every secret set and none a development value, the
providers' real URLs, the database at Alembic's head) and refuses to start otherwise, naming the
variable. Then it starts the action server and the sidecar on 127.0.0.1, the worker, RASA_REPLICAS
Rasa servers (WhatsApp channel only, HTTP API behind --auth-token) and nginx in front of them, with
the same commands as deploy/compose.yaml. A process that exits stops the whole run (exit status 1),
so a crash is never hidden: let systemd or compose restart it. Ctrl-C or SIGTERM stops everything.
`--check` checks and exits.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from actions.settings import Settings, SettingsError
from deploy import checks, proxy

ROOT = Path(__file__).resolve().parents[1]
EXECUTABLES = {"python": ROOT / ".venv/bin/python", "rasa": ROOT / ".venv-rasa/bin/rasa"}

# The processes' commands, exactly as deploy/compose.yaml writes them (tests/deploy/test_compose.py
# compares the two). ${NAME} and ${NAME:-default} are filled in from the environment, as compose does.
COMMANDS = {
    "actions": ["python", "-m", "actions.server"],
    "sidecar": ["python", "-m", "actions.web.app"],
    "worker": ["python", "-m", "actions.worker"],
    "rasa": [
        "rasa", "run", "--model", "${RASA_MODEL:-models}", "--endpoints", "endpoints.yml",
        "--credentials", "credentials.prod.yml", "--enable-api", "--auth-token", "${RASA_TOKEN}",
        "--interface", "${RASA_INTERFACE:-0.0.0.0}", "--port", "${RASA_PORT:-5005}",
    ],
}  # fmt: skip
VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")
STOP_SECONDS = 20
READY_SECONDS = {"actions": 60, "sidecar": 60, "rasa": 300, "proxy": 10}


def expand(arguments: list[str], env: Mapping[str, str]) -> list[str]:
    return [VARIABLE.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", argument) for argument in arguments]


@dataclass(frozen=True)
class Ports:
    """Where each process listens; all on 127.0.0.1 but the proxy's public port."""

    proxy: int = 8080
    rasa_api: int = 5005
    first_rasa: int = 5010
    actions: int = 5055
    sidecar: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Ports:
        names = {"proxy": "PROXY_PORT", "rasa_api": "RASA_API_PORT", "first_rasa": "RASA_FIRST_PORT",
                 "actions": "ACTION_SERVER_PORT", "sidecar": "SIDECAR_PORT"}  # fmt: skip
        return cls(**{field: int(env[name]) for field, name in names.items() if env.get(name)})

    def rasa(self, replicas: int) -> list[int]:
        return [self.first_rasa + n for n in range(replicas)]


def derived_env(env: Mapping[str, str], ports: Ports) -> dict[str, str]:
    """What the launcher decides, over the operator's environment: private addresses, the wiring between
    the processes, the providers' real URLs, and the Rasa side's Redis settings taken from REDIS_URL."""
    redis = urlparse(env["REDIS_URL"])
    return {
        **checks.provider_urls(env),
        "ACTION_SERVER_HOST": "127.0.0.1",
        "ACTION_SERVER_PORT": str(ports.actions),
        "SIDECAR_HOST": "127.0.0.1",
        "SIDECAR_PORT": str(ports.sidecar),
        "TRUSTED_PROXY_HEADER": "X-Forwarded-For",  # nginx appends the client's address
        "RASA_URL": f"http://127.0.0.1:{ports.rasa_api}",  # the proxy's private listener
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports.actions}/webhook",
        "RASA_INTERFACE": "127.0.0.1",
        "REDIS_HOST": redis.hostname or "127.0.0.1",
        "REDIS_PORT": str(redis.port or 6379),
        "REDIS_DB": (redis.path or "/0").strip("/") or "0",
        "REDIS_PASSWORD": redis.password or "",
        "REDIS_KEY_PREFIX": env.get("REDIS_KEY_PREFIX") or "shop",
    }


class Refused(Exception):
    """The run cannot start; the message names the variables."""


def check(env: dict[str, str]) -> None:
    """Raise Refused unless this environment can run production."""
    if problems := checks.environment_problems(env):
        raise Refused("\n".join(problems))
    env.update(derived_env(env, Ports.from_env(env)))
    os.environ.update(env)  # the action side's own settings object reads them
    try:
        Settings.load()
    except SettingsError as e:
        raise Refused(str(e)) from None
    if problem := checks.migration_problem(env["DATABASE_URL"]):
        raise Refused(problem)


def model_problem(env: Mapping[str, str]) -> str | None:
    model = ROOT / (env.get("RASA_MODEL") or "models")
    if model.is_file() or (model.is_dir() and any(model.glob("*.tar.gz"))):
        return None
    return f"RASA_MODEL: no trained model at {model} (train one with `make chat` or copy one into models/)"


class Child:
    """One process of the run, in its own process group, its output forwarded line by line."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], ready_url: str | None) -> None:
        self.name, self.ready_url = name, ready_url
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        say(f"started {name} (pid {self.popen.pid})")
        threading.Thread(target=self._forward, daemon=True).start()

    def _forward(self) -> None:
        for line in self.popen.stdout:
            sys.stdout.write(f"{self.name:<9}| {line.decode(errors='replace')}")
            sys.stdout.flush()

    def ready(self) -> bool:
        if self.ready_url is None:
            return True
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status < 500
        except urllib.error.HTTPError as e:
            return self.name == "proxy" and e.code == 404  # the proxy's / is 404 by design
        except OSError:
            return False

    def terminate(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)

    def wait_stopped(self) -> None:
        try:
            self.popen.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        say(f"stopped {self.name} (status {self.popen.returncode})")


def say(text: str) -> None:
    print(f"{'serve':<9}| {text}", flush=True)


class Run:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.stopping = threading.Event()

    def start(self, name: str, command: list[str], env: Mapping[str, str], ready_url: str | None = None) -> None:
        self.children.append(Child(name, command, env, ready_url))

    def wait_ready(self, started: list[Child]) -> None:
        """Until every one answers; a child that exits meanwhile ends the run."""
        for child in started:
            seconds = READY_SECONDS.get(child.name.split("-")[0], 60)
            deadline = time.monotonic() + seconds
            while not child.ready():
                self.watch(0.5)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{child.name} not ready after {seconds} s")

    def watch(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise KeyboardInterrupt
        for child in self.children:
            if (code := child.popen.poll()) is not None:
                raise RuntimeError(f"{child.name} exited with status {code}")

    def stop(self) -> None:
        """The proxy first (no new traffic), then the rest at once."""
        children = list(reversed(self.children))
        for group in ([c for c in children if c.name == "proxy"], [c for c in children if c.name != "proxy"]):
            for child in group:
                child.terminate()
            for child in group:
                child.wait_stopped()


def serve(env: dict[str, str]) -> int:
    ports = Ports.from_env(env)
    replicas = int(env.get("RASA_REPLICAS") or 1)
    if problem := model_problem(env):
        raise Refused(problem)
    nginx = proxy.find_nginx()
    if nginx is None:
        raise Refused("nginx: not installed (`make serve` installs Debian's nginx; or `apt-get install nginx`)")
    run_dir = Path(tempfile.mkdtemp(prefix="duka-serve-"))
    listen = f"{env.get('PROXY_HOST') or '0.0.0.0'}:{ports.proxy}"
    config = proxy.write_config(run_dir, proxy.site_values(listen, ports.rasa_api, ports.rasa(replicas), ports.sidecar))
    if problem := proxy.config_problem(nginx, config):
        raise Refused(f"nginx: {problem}")

    run = Run()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: run.stopping.set())
    python, rasa = (str(EXECUTABLES[name]) for name in ("python", "rasa"))
    executable = {"python": python, "rasa": rasa}
    try:
        for name, port in (("actions", ports.actions), ("sidecar", ports.sidecar), ("worker", None)):
            command = expand([executable[COMMANDS[name][0]], *COMMANDS[name][1:]], env)
            run.start(name, command, env, port and f"http://127.0.0.1:{port}/health")
        rasa_env = {"PYTHONWARNINGS": "ignore::DeprecationWarning", **env}  # pages of them from Rasa's dependencies
        for n, port in enumerate(ports.rasa(replicas), start=1):
            command = expand([rasa, *COMMANDS["rasa"][1:]], {**env, "RASA_PORT": str(port)})
            run.start(f"rasa-{n}", command, rasa_env, f"http://127.0.0.1:{port}/status?token={env['RASA_TOKEN']}")
        run.wait_ready(run.children)
        run.start("proxy", proxy.command(nginx, config), env, f"http://127.0.0.1:{ports.proxy}/")
        run.wait_ready(run.children[-1:])
        say(f"serving on http://{listen} ({replicas} Rasa server{'s' * (replicas > 1)}); "
            f"Rasa's API on http://127.0.0.1:{ports.rasa_api} (token); Ctrl-C stops")  # fmt: skip
        while True:
            run.watch(0.5)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    except RuntimeError as e:
        say(f"{e}; stopping everything")
        return 1
    finally:
        run.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check the environment and the database, then exit")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        check(env)
        if args.check:
            say("environment and database ready for production")
            return 0
        return serve(env)
    except Refused as e:
        print("make serve refuses to start:\n  " + str(e).replace("\n", "\n  "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
