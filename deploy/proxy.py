"""The reverse proxy of the production run: Debian's nginx with deploy/nginx.conf.template."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")

# The main file around the template when nginx runs as a child of `make serve`: everything it writes
# (pid, temporary files) stays in the run directory, its logs go to the launcher's output.
MAIN = """\
worker_processes auto;
pid {run}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    include {run}/duka.conf;
}}
"""


def render(values: dict[str, str], template: str | None = None) -> str:
    """The template with its ${NAME} placeholders filled in, as envsubst does; every one must be given."""
    text = TEMPLATE.read_text() if template is None else template
    missing = sorted(set(PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise KeyError(f"no value for {', '.join(missing)} in {TEMPLATE.name}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def site_values(listen: str, rasa_api_port: int, rasa_ports: list[int], sidecar_port: int) -> dict[str, str]:
    return {
        "PROXY_LISTEN": listen,
        "RASA_API_LISTEN": f"127.0.0.1:{rasa_api_port}",
        "RASA_SERVERS": "\n".join(f"    server 127.0.0.1:{port};" for port in rasa_ports),
        "SIDECAR_SERVER": f"127.0.0.1:{sidecar_port}",
    }


def write_config(run_dir: Path, values: dict[str, str]) -> Path:
    (run_dir / "duka.conf").write_text(render(values))
    main = run_dir / "nginx.conf"
    main.write_text(MAIN.format(run=run_dir))
    return main


def find_nginx() -> str | None:
    """nginx on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def command(nginx: str, config: Path) -> list[str]:
    return [nginx, "-p", str(config.parent), "-c", str(config), "-g", "daemon off;"]


def config_problem(nginx: str, config: Path) -> str | None:
    """What `nginx -t` says is wrong with the configuration, or None."""
    result = subprocess.run([*command(nginx, config)[:-2], "-t", "-q"], capture_output=True, text=True)
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()
