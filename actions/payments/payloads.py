"""Reading provider JSON defensively: what arrives over the internet is checked, never trusted."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any


class MalformedPayload(ValueError):
    """A provider payload we cannot read; the message says what is wrong, for the logs."""


# The exception a caller wants for what it cannot read, built from a message.
Refusal = Callable[[str], Exception]


def json_object(raw: bytes | dict, what: str, error: Refusal) -> dict[str, Any]:
    """The payload as a dict, whether it came as raw bytes or already decoded by a web framework."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise error(f"{what} is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{what} is not a JSON object, got {type(raw).__name__}")
    return raw


Kind = type | tuple[type, ...]


def member(obj: dict[str, Any], key: str, kind: Kind, where: str, error: Refusal) -> Any:
    """obj[key] when it is there, of the expected kind and not blank; a boolean never passes for a number."""
    if key not in obj:
        raise error(f"{where} has no {key}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise error(f"{where}.{key} should be {_names(kind)}, got {value!r}")
    if isinstance(value, str) and not value.strip():
        raise error(f"{where}.{key} is empty")
    return value


def _names(kind: Kind) -> str:
    return " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))


def whole_number(value: object) -> int | None:
    """3599, "3599" or " 0 " as an int: providers send the same field as a number or a string. None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None
