"""Correlation ids on the Rasa side: each webhook POST takes Meta's X-Correlation-ID (never sent in
practice, but a proxy or a test may) or gets a new one; its messages carry it into their turn's
metadata, where the action server reads it, and the Graph API calls of that turn send it along.

The same rules as actions/observability/correlation.py, which bot/ must not import.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Optional

HEADER = "X-Correlation-ID"
FIELD = "correlation_id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

current: ContextVar[Optional[str]] = ContextVar("correlation_id", default=None)


def take(value: Optional[str]) -> str:
    """The caller's id when it is sane (up to 64 of A-Z a-z 0-9 . _ -), else a new one."""
    return value if isinstance(value, str) and _SANE.fullmatch(value) else uuid.uuid4().hex
