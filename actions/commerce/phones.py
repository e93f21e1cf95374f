"""Kenyan mobile numbers as M-Pesa wants them: 2547XXXXXXXX or 2541XXXXXXXX."""

from __future__ import annotations

import re


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
