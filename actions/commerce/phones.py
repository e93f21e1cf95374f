"""Kenyan mobile numbers as M-Pesa wants them (2547XXXXXXXX), and phone numbers masked where people read them.

bot/logs.py masks the Rasa server's log lines the same way (bot/ cannot import this module);
tests/phone_masks.py is the table both are tested with.
"""

from __future__ import annotations

import re

# A phone number of any country as text and log lines hold it: 8 to 15 digits (E.164), with or without
# "+" (a WhatsApp id has none), whole or in groups of digits separated by single spaces. Digits inside a
# word (ws_CO_1912...), a decimal or a dash-joined id (29115-34620561-1) are not a number of their own;
# after a percent-encoded character (%3A in a quoted conversation id) they are.
_PHONE = re.compile(r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![\w+]))(?<!\d[.-])\+?\d+(?: \d{2,6})*(?!\w)(?![.-]\d)")
MOST_DIGITS, FEWEST_DIGITS = 15, 8


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


def has_phone(text: str) -> bool:
    return mask_phones(text) != text


class InvalidPhone(ValueError):
    pass


def normalise_msisdn(text: str) -> str:
    """'0712 345 678', '+254-712-345678', '712345678' -> '254712345678'; anything else is refused."""
    compact = re.sub(r"[\s\-().]", "", text.strip())
    if not re.fullmatch(r"\+?\d+", compact):
        raise InvalidPhone(f"{text!r} is not a phone number")
    digits = compact.lstrip("+")
    if digits.startswith("254"):
        local = digits[3:]
    elif digits.startswith("0"):
        local = digits[1:]
    else:
        local = digits
    if not re.fullmatch(r"[17]\d{8}", local):
        raise InvalidPhone(f"{text!r} is not a Kenyan mobile number")
    return "254" + local
