"""Kenyan mobile numbers as M-Pesa wants them (2547XXXXXXXX), and phone numbers masked where people read them."""

from __future__ import annotations

import re

# A Kenyan mobile number written in a message or a log line.
_PHONE = re.compile(r"(?<!\d)(\+?254[17]\d{8}|0[17]\d{8})(?!\d)")
# A WhatsApp id (any country) in a conversation id such as "<phone_number_id>:<wa_id>".
_LONG_NUMBER = re.compile(r"\d{9,}")


def mask_number(number: str) -> str:
    """'254712345678' -> '254712***678': enough to tell customers apart, not to call them."""
    return f"{number[:-6]}***{number[-3:]}"


def mask_phones(text: str) -> str:
    """The text with phone numbers masked, as logs and pages show it."""
    return _PHONE.sub(lambda match: mask_number(match.group(0)), text)


def mask_conversation(conversation_id: str) -> str:
    """A conversation id with its numbers masked: '106540352242922:254712345678' -> '106540***922:254712***678'."""
    return _LONG_NUMBER.sub(lambda match: mask_number(match.group(0)), conversation_id)


def has_phone(text: str) -> bool:
    return _PHONE.search(text) is not None


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
