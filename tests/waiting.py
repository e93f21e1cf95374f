"""Waiting on what the system under test records, instead of sleeping and hoping.

To show that something did NOT happen, first wait until the input was demonstrably handled (a log
line, a counter, a Redis key, a later message answered), then assert the absence. Python 3.10 too:
tests/bot/ runs in the Rasa environment.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

Check = Callable[[], Any]  # a value, or an awaitable of one


async def eventually(check: Check, within: float = 10, every: float = 0.05, what: str = "") -> Any:
    """The first truthy value of `check()` (plain or async), asked every `every` seconds; after `within`
    seconds without one, an AssertionError naming `what` and the last value seen."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(check, "__name__", repr(check))
            raise AssertionError(f"not within {within:g} s: {name} (last: {value!r})")
        await asyncio.sleep(every)
