"""The Rasa server's log lines without whole phone numbers: Rasa's own (conversation ids, messages),
Sanic's, structlog's and ours, once the WhatsApp channel or one of the stores has called `install()`.

The masking is actions/commerce/phones.py's, copied because bot/ never imports the action side;
tests/phone_masks.py is the table both are tested with, and tests/unit/test_phones.py checks that
the two copies are the same.
"""

from __future__ import annotations

import logging
import re

# A phone number of any country as text and log lines hold it: 8 to 15 digits (E.164), with or without
# "+" (a WhatsApp id has none), whole or in groups of digits separated by single spaces. Digits inside a
# word (ws_CO_1912...), a decimal or a dash-joined id (29115-34620561-1) are not a number of their own;
# after a percent-encoded character (%3A in a quoted conversation id) they are.
_PHONE = re.compile(r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![\w+]))(?<!\d[.-])\+?\d+(?: \d{2,6})*(?!\w)(?![.-]\d)")
MOST_DIGITS, FEWEST_DIGITS = 15, 8

_installed = False


def mask_number(number: str) -> str:
    """'+254712345678' -> '+254***678': the first three digits of a number of ten or more, and the last three."""
    plus, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    return f"{plus}{digits[:3] if len(digits) >= 10 else ''}***{digits[-3:]}"


def _masked(match: re.Match[str]) -> str:
    """The groups of a match that make one number (at most 15 digits) masked, the rest left as they are."""
    groups = match.group(0).split(" ")
    digits = taken = 0
    while taken < len(groups) and digits + len(groups[taken].lstrip("+")) <= MOST_DIGITS:
        digits += len(groups[taken].lstrip("+"))
        taken += 1
    if digits < FEWEST_DIGITS:
        return match.group(0)
    return " ".join([mask_number("".join(groups[:taken])), *groups[taken:]])


def mask_phones(text: str) -> str:
    """The text with phone numbers masked, as logs and pages show it; so are the numbers of a conversation
    id: '106540352242922:254712345678' -> '106***922:254***678'."""
    return _PHONE.sub(_masked, text)


def mask_record(record: logging.LogRecord) -> None:
    """The record's message and traceback, phone numbers masked."""
    try:
        record.msg, record.args = mask_phones(record.getMessage()), None
    except (TypeError, ValueError):  # a message that does not format: left for logging to report
        return
    if record.exc_info:
        record.exc_text = mask_phones(logging.Formatter().formatException(record.exc_info))


def install() -> None:
    """Mask every log record this process makes from now on (once; later calls change nothing).

    A record factory, not a filter on handlers: Rasa and Sanic add handlers after the channel and the
    stores are made (and a logger's own filter never sees its children's records)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def masked(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        mask_record(record)
        return record

    logging.setLogRecordFactory(masked)
    _installed = True
