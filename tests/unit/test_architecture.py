"""The domain stays plain Python, and nothing in the actions package does work at import."""

import ast
from pathlib import Path

import pytest

ACTIONS = Path(__file__).resolve().parents[2] / "actions"
FRAMEWORKS = ("rasa_sdk", "sanic", "sqlalchemy", "psycopg", "redis", "httpx")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ACTIONS / "commerce").glob("*.py")), ids=lambda p: p.name)
def test_the_commerce_domain_imports_no_framework(path):
    offending = {name for name in imported_modules(path) if name.split(".")[0] in FRAMEWORKS}
    assert offending == set()


def test_bot_code_never_imports_the_action_side():
    for path in (ACTIONS.parent / "bot").rglob("*.py"):
        assert not {n for n in imported_modules(path) if n.split(".")[0] == "actions"}, path
