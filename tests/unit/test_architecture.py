"""Dependencies point one way: entry points (chat, web, worker, cli) -> use cases (commerce) -> ports,
implemented by db and payments. Checked module by module from the imports each file writes."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ROOT / "actions"
FRAMEWORKS = (
    "rasa_sdk", "sanic", "sqlalchemy", "psycopg", "redis", "httpx", "procrastinate", "jinja2", "prometheus_client"
)  # fmt: skip

# Which parts of actions/ each part may not import. Entry points and the composition root
# (server, worker, cli, runtime) may import anything below them.
FORBIDDEN = {
    "commerce": {"db", "web", "chat", "payments", "observability", "runtime", "jobs", "rasa_api", "settings",
                 "server", "worker", "cli"},
    "chat": {"web", "db", "payments", "worker", "cli", "server"},
    "payments": {"db", "web", "chat", "runtime", "jobs", "rasa_api", "worker", "cli", "server"},
    "db": {"web", "chat", "payments", "runtime", "jobs", "rasa_api", "worker", "cli", "server"},
    "web": {"chat", "worker", "cli", "server"},
    "observability": {"web", "chat", "worker", "cli", "server"},
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "actions":  # `from actions import runtime`
                names |= {f"actions.{alias.name}" for alias in node.names}
    return names


def part_of(module: str) -> str | None:
    """'actions.db.uow' -> 'db'; 'actions.runtime' -> 'runtime'; anything outside actions/ -> None."""
    parts = module.split(".")
    if parts[0] != "actions" or len(parts) < 2:
        return None
    return parts[1]


def modules_of(part: str) -> list[Path]:
    return sorted((ACTIONS / part).rglob("*.py"))


@pytest.mark.parametrize(
    "path", [p for part in FORBIDDEN for p in modules_of(part)], ids=lambda p: str(p.relative_to(ACTIONS))
)
def test_each_module_imports_only_what_its_part_may(path):
    own = path.relative_to(ACTIONS).parts[0]
    offending = {name for name in imported_modules(path) if part_of(name) in FORBIDDEN[own]}
    assert offending == set()


@pytest.mark.parametrize("path", modules_of("commerce"), ids=lambda p: p.name)
def test_the_commerce_domain_imports_no_framework(path):
    offending = {name for name in imported_modules(path) if name.split(".")[0] in FRAMEWORKS}
    assert offending == set()


def test_the_checks_see_a_forbidden_import_when_there_is_one(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from actions.db import tables\nfrom actions import runtime\nimport sqlalchemy\n")
    names = imported_modules(bad)
    assert {part_of(n) for n in names} >= {"db", "runtime"} and "sqlalchemy" in names


def test_bot_code_never_imports_the_action_side():
    for path in (ROOT / "bot").rglob("*.py"):
        assert not {n for n in imported_modules(path) if n.split(".")[0] == "actions"}, path


def test_the_action_server_registers_and_imports_only_the_chat_package_not_the_web_package():
    """The action server's app, built as `python -m actions.server` builds it, with every action registered."""
    script = """
import json, sys
from actions import server
from actions.settings import Settings
app = server.create_app(Settings.load(database_url="postgresql://nobody@127.0.0.1:1/none"))
print(json.dumps(sorted(m for m in sys.modules if m == "actions" or m.startswith("actions."))))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert "actions.chat.cart" in loaded and "actions.chat.checkout" in loaded  # the actions were registered
    assert [m for m in loaded if m == "actions.web" or m.startswith("actions.web.")] == []


def test_only_the_settings_module_reads_the_environment():
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in ACTIONS.rglob("*.py")
        if "os.environ" in path.read_text() or "os.getenv" in path.read_text()
    ]
    assert readers == []  # actions/settings.py reads it through pydantic-settings, not os.environ
