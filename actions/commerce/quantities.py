"""Quantities as customers write them: '2', 'two', 'mbili', 'x3', '2pcs'."""

from __future__ import annotations

import re

WORDS = {
    # English
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "dozen": 12, "a dozen": 12,
    # Swahili
    "moja": 1, "mbili": 2, "tatu": 3, "nne": 4, "tano": 5, "sita": 6,
    "saba": 7, "nane": 8, "tisa": 9, "kumi": 10,
}  # fmt: skip


def parse_quantity(text: str | int | None) -> int | None:
    """A whole quantity, or None when the text holds none (the caller asks again)."""
    if text is None:
        return None
    if isinstance(text, int):
        return text
    cleaned = text.strip().lower()
    if cleaned in WORDS:
        return WORDS[cleaned]
    match = re.fullmatch(r"x?\s*(\d{1,3})\s*(x|pcs?|pieces?|vipande)?", cleaned)
    return int(match.group(1)) if match else None
