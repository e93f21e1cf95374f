"""Reading provider JSON defensively: what arrives over the internet is checked, never trusted.

`read_json` is the one place a provider's body becomes Python values. Beyond JSON's own grammar it
refuses what no provider sends and what PostgreSQL or the code behind could not take: bytes that are
not UTF-8, nesting deeper than MAX_DEPTH, numbers longer than MAX_DIGITS digits, NaN and Infinity,
and text with a NUL character or a lone surrogate (PostgreSQL's text and JSONB hold neither, and a
lone surrogate cannot be encoded). Each is a MalformedPayload, so its route answers 4xx, never 5xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any


class MalformedPayload(ValueError):
    """A provider payload we cannot read; the message says what is wrong, for the logs."""


# The exception a caller wants for what it cannot read, built from a message.
Refusal = Callable[[str], Exception]

MAX_DEPTH = 16  # Daraja's callback is 5 levels deep, Paystack's webhooks about 4
MAX_DIGITS = 18  # any amount, code or id a provider sends; still fits PostgreSQL's bigint
MAX_TEXT = 128  # an id or reference (the ledger's and the rejected messages' columns hold 128)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates left unpaired by a \\u escape


class _Unreadable(Exception):
    """Raised inside json.loads by the number hooks; becomes the caller's refusal."""


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _Unreadable(f"a number of {len(digits)} digits")
    return int(digits)


def _decimal(text: str) -> float:
    value = float(text)
    if len(text) > 2 * MAX_DIGITS or value in (float("inf"), float("-inf")):
        raise _Unreadable(f"the number {text[:40]}")
    return value


def _constant(name: str) -> float:
    raise _Unreadable(f"{name} is not a JSON number")


def read_json(raw: bytes | bytearray | str, what: str, error: Refusal) -> Any:
    """The JSON value of a body, or `error` saying why it is not one we read (see the module's doc)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        value = json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except UnicodeDecodeError:
        raise error(f"{what} is not UTF-8") from None
    except RecursionError:
        raise error(f"{what} is nested more than {MAX_DEPTH} deep") from None
    except _Unreadable as exc:
        raise error(f"{what} has {exc}") from None
    except ValueError as exc:  # json.JSONDecodeError and int()'s own digit limit
        raise error(f"{what} is not JSON: {exc}") from None
    check_value(value, what, error)
    return value


def check_value(value: Any, what: str, error: Refusal) -> None:
    """Depth and text checked without recursion: a value decoded elsewhere gets the same checks."""
    waiting: list[tuple[Any, int]] = [(value, 1)]
    while waiting:
        item, depth = waiting.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise error(f"{what} is nested more than {MAX_DEPTH} deep")
            if isinstance(item, dict):
                waiting.extend((key, depth) for key in item)
            waiting.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, str) and UNSTORABLE.search(item):
            raise error(f"{what} has text with a NUL character or a lone surrogate")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 10**MAX_DIGITS:
            raise error(f"{what} has a number of more than {MAX_DIGITS} digits")


def json_object(raw: bytes | dict, what: str, error: Refusal) -> dict[str, Any]:
    """The payload as a dict, whether it came as raw bytes or already decoded by a web framework."""
    if isinstance(raw, bytes | bytearray):
        raw = read_json(raw, what, error)
    else:
        check_value(raw, what, error)
    if not isinstance(raw, dict):
        raise error(f"{what} is not a JSON object, got {type(raw).__name__}")
    return raw


def storable(raw: bytes | bytearray) -> dict[str, Any]:
    """A body as JSONB can keep it, whatever it is: its object when `read_json` takes it, else its first
    2,000 bytes as text (undecodable bytes, NULs and lone surrogates replaced)."""
    try:
        payload = read_json(raw, "body", MalformedPayload)
        if isinstance(payload, dict):
            return payload
    except MalformedPayload:
        pass
    return {"raw": UNSTORABLE.sub("\ufffd", bytes(raw[:2000]).decode("utf-8", "replace"))}


def bounded(text: str, longest: int = MAX_TEXT) -> str:
    """An id as a column of `longest` characters holds it (for messages kept apart, not the ledger)."""
    return text[:longest]


Kind = type | tuple[type, ...]


def member(obj: dict[str, Any], key: str, kind: Kind, where: str, error: Refusal, longest: int | None = None) -> Any:
    """obj[key] when it is there, of the expected kind and not blank; a boolean never passes for a number.
    Text longer than `longest` characters is refused."""
    if key not in obj:
        raise error(f"{where} has no {key}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise error(f"{where}.{key} should be {_names(kind)}, got {_shown(value)}")
    if isinstance(value, str) and not value.strip():
        raise error(f"{where}.{key} is empty")
    if isinstance(value, str) and longest is not None and len(value) > longest:
        raise error(f"{where}.{key} is longer than {longest} characters")
    return value


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _names(kind: Kind) -> str:
    return " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))


WHOLE = re.compile(rf"-?[0-9]{{1,{MAX_DIGITS}}}")


def whole_number(value: object) -> int | None:
    """3599, "3599" or " 0 " as an int: providers send the same field as a number or a string. None otherwise
    (other scripts' digits and more than MAX_DIGITS digits included). Only ASCII spaces around the
    digits: str.strip() also removes characters int() refuses ("\x1c", "\u1680"), a 500 found by fuzzing."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) < 10**MAX_DIGITS else None
    if isinstance(value, str) and WHOLE.fullmatch(digits := value.strip(" \t\r\n")):
        return int(digits)
    return None
