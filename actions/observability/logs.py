"""Logs as one JSON object per line, with what is known about the work at hand, secrets and phone numbers hidden.

    LOG_LEVEL=INFO  LOG_LEVELS=payments=DEBUG,sanic=WARNING   (levels by logger-name prefix)

Fields known for a stretch of work (the correlation id of a request, a payment being checked) are
bound with `bind(...)` or `begin(...)` and appear on every line logged meanwhile, in the same task.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from actions.commerce.phones import mask_phones

_fields: ContextVar[dict[str, Any]] = ContextVar("log_fields", default={})  # noqa: B039 (never mutated)

# Every attribute a LogRecord has without `extra=`; anything else on a record was passed as extra.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

REDACTED = "[REDACTED]"
_SECRETS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"""(?ix)(["']?[\w-]*(?:password|passwd|secret|passkey|token|api[_-]?key|consumer[_-]?key)[\w-]*["']?
            \s*[:=]\s*["']?)[^"'\s,&;}]+"""
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?!bearer|basic)[^\"'\s,;}]+"), rf"\1{REDACTED}"),
    (re.compile(r"(://[^:/@\s]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),  # user:password@ in URLs
    (re.compile(r"\bsk_(?:test|live)_\w+"), REDACTED),  # Paystack secret keys
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), REDACTED),  # Meta access tokens
    (re.compile(r"(/mpesa/callback/)[^/\s?:\"']+"), rf"\1{REDACTED}"),  # the callback URL is a shop's secret
    (re.compile(r"(/admin/invite/)[^/\s?:\"']+"), rf"\1{REDACTED}"),  # an unused invite link sets a password
]


def scrub(text: str) -> str:
    """The text without secrets, and with phone numbers masked (254712***678)."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return mask_phones(text)


class Scrubber(logging.Filter):
    """Rewrites each record's message, extra fields and traceback through `scrub`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        for name, value in vars(record).items():
            if name not in _STANDARD and isinstance(value, str) and not name.endswith("correlation_id"):
                setattr(record, name, scrub(value))  # correlation ids stay whole, to be found in other logs
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields.get(),
            **{k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None},
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


def fields() -> dict[str, Any]:
    return _fields.get()


def begin(**values: Any) -> None:
    """Start a new unit of work (a request): these fields replace whatever the task had bound."""
    _fields.set({k: v for k, v in values.items() if v is not None})


@contextmanager
def bind(**values: Any) -> Iterator[None]:
    """Add fields for the duration of a block."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def parse_levels(spec: str) -> dict[str, str]:
    """ "payments=DEBUG, sanic=warning" -> {"payments": "DEBUG", "sanic": "WARNING"}."""
    levels = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        prefix, sep, level = item.partition("=")
        level = level.strip().upper()
        if not sep or not prefix.strip() or level not in logging.getLevelNamesMapping():
            raise ValueError(f"LOG_LEVELS: {item!r} is not <logger prefix>=<DEBUG|INFO|WARNING|ERROR|CRITICAL>")
        levels[prefix.strip()] = level
    return levels


def configure(level: str = "INFO", levels: dict[str, str] | None = None, stream: Any = None) -> None:
    """JSON lines on stderr (or `stream`) for every logger, at `level` unless `levels` says otherwise."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Scrubber())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for prefix, prefix_level in (levels or {}).items():
        logging.getLogger(prefix).setLevel(prefix_level)
    logging.captureWarnings(True)  # warnings too become JSON lines (logger "py.warnings")
