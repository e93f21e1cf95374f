"""Quantities and sizes as customers write them: '2', 'two', 'mbili', 'x3', '2pcs'; '2kg', 'kilo mbili', 'nusu lita'.

A quantity is how many items; a size (a number with a unit) picks which product, never how many.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Generic, TypeVar

from actions.commerce.model import MAX_QUANTITY

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


@dataclass(frozen=True)
class Size:
    """An exact amount in a base unit: grams ("g") for g/kg, millilitres ("ml") for ml/l."""

    amount: int
    unit: str

    def __str__(self) -> str:
        """'2kg', '500g', '1.5L', '500ml': as a shop writes it on a label."""
        if self.amount < 1000:
            return f"{self.amount}{self.unit}"
        big = "kg" if self.unit == "g" else "L"
        return f"{(Decimal(self.amount) / 1000).normalize():f}{big}"


@dataclass(frozen=True)
class Amounts:
    """How many items and which size a message asks for; `rest` is the message without them."""

    quantity: int | None
    size: Size | None
    rest: str


_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "moja": 1, "mmoja": 1, "kimoja": 1,
    "mbili": 2, "wawili": 2, "viwili": 2, "mawili": 2, "miwili": 2,
    "tatu": 3, "watatu": 3, "vitatu": 3, "matatu": 3, "mitatu": 3,
    "nne": 4, "wanne": 4, "vinne": 4, "manne": 4, "minne": 4,
    "tano": 5, "watano": 5, "vitano": 5, "matano": 5, "mitano": 5,
    "sita": 6, "saba": 7, "nane": 8, "tisa": 9, "kumi": 10,
}  # fmt: skip
# Swahili counts on past ten: "kumi na mbili" is twelve.
_NUMBERS |= {f"kumi na {word}": 10 + n for word, n in _NUMBERS.items() if word.isalpha() and n < 10 and word[0] != "w"}

_UNITS = {
    **dict.fromkeys(("g", "gm", "gms", "gr", "grm", "grms", "gram", "grams", "gramme", "grammes", "gramu"), ("g", 1)),
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"), ("g", 1000)),
    **dict.fromkeys(("ml", "mls", "millilitre", "millilitres", "milliliter", "milliliters", "mililita"), ("ml", 1)),
    **dict.fromkeys(("l", "lt", "lts", "ltr", "ltrs", "litre", "litres", "liter", "liters", "lita"), ("ml", 1000)),
}
UNITS = frozenset(_UNITS)
_PARTS = {"nusu": Fraction(1, 2), "half": Fraction(1, 2), "robo": Fraction(1, 4), "quarter": Fraction(1, 4)}
_COUNTERS = ("pcs", "pc", "pieces", "piece", "pkts", "pkt", "packets", "packet", "packs", "pakiti", "vipande", "x")

# Every word that only ever says how much: never, by itself, the name of a product.
AMOUNT_WORDS = frozenset(
    {w for phrase in _NUMBERS for w in phrase.split()}
    | set(_UNITS) | set(_PARTS) | set(_COUNTERS)
    | {"dozen", "dozens", "doz", "dazeni", "couple", "pair", "a", "an"}
)  # fmt: skip


def _alternatives(words: Iterable[str]) -> str:
    # Longest first, so that "kumi na mbili" wins over "kumi" and "kgs" over "kg".
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_WORD_NUMBER = _alternatives(_NUMBERS)
_NUM = rf"\d+/\d+|\d+(?:[.,]\d+)?|{_WORD_NUMBER}"
_COUNT = rf"\d+|{_WORD_NUMBER}"
_UNIT = _alternatives(_UNITS)
_SPOKEN_UNIT = _alternatives(u for u in _UNITS if len(u) > 2 or u in ("kg", "ml"))  # "kilo 2", not "g 2"
_WHOLE_UNIT = "kilo|kg|lita|litre|liter|ltr"  # "a kilo of sugar", "sukari ya kilo"
_AND_A_HALF = r"(?:\s+(?:na|and)\s+(?:a\s+)?(?P<part>nusu|half|robo|quarter))"
_I = re.IGNORECASE

# Numbers that are never amounts: phone numbers, prices, order numbers, clock times, list references.
_NOT_AMOUNTS = [
    re.compile(r"(?<!\d)(?:\+?254[\s-]?|0)[17]\d{2}[\s-]?\d{3}[\s-]?\d{3}(?!\d)"),
    re.compile(r"\b(?:kshs?|kes|shs?|bob|shilingi)\.?\s*\d[\d,]*(?:\.\d+)?", _I),
    re.compile(r"\b\d[\d,]*(?:\.\d+)?\s*(?:/[-=]|(?:kshs?|kes|bob|shillings?|shilingi|sh|shs)\b)", _I),
    # Order numbers have no 0/O or 1/I (see model.new_order_number); sizes like "355mls" are kept below.
    re.compile(r"\b(?=[a-z]*[2-9])(?=[2-9]*[a-z])[a-hj-np-z2-9]{6}\b", _I),
    re.compile(rf"\bsaa\s+(?:{_COUNT})\b|\b\d{{1,2}}(?::\d\d)?\s*(?:am|pm)\b|\b\d{{1,2}}:\d\d\b", _I),
    re.compile(r"(?:#\s*|\b(?:no\.?|number|namba|nambari|num)\s*#?\s*)\d+\b", _I),
    # "ya tatu" is "the third", not three; "ya 3L" is a size.
    re.compile(rf"\b(?:ya|wa|la|cha)\s+(?:tatu|nne|tano|sita|saba|nane|tisa|kumi|\d{{1,2}}(?!\s*(?:{_UNIT})\b))\b", _I),
]
_SIZE_LIKE = re.compile(rf"\d+\s*(?:{_UNIT})", _I)

T = TypeVar("T")
Reader = tuple[re.Pattern[str], Callable[[re.Match[str]], T | None]]


def _number(text: str) -> Fraction:
    """'2', '1.5', '1,5', '1,500', '1/2', 'mbili' or 'kumi na mbili' as an exact number."""
    text = " ".join(text.lower().split())
    if text in _NUMBERS:
        return Fraction(_NUMBERS[text])
    if "," in text:  # "1,500g" groups thousands; "1,5kg" is a decimal comma
        whole, _, decimals = text.partition(",")
        text = whole + decimals if len(decimals) == 3 else f"{whole}.{decimals}"
    try:
        return Fraction(text)
    except ZeroDivisionError:  # "1/0kg": no size at all
        return Fraction(0)


def _size(amount: Fraction, unit: str, part: str | None = None) -> Size | None:
    base, factor = _UNITS[unit.lower()]
    exact = (amount + (_PARTS[part.lower()] if part else 0)) * factor
    return Size(int(exact), base) if exact.denominator == 1 and exact > 0 else None


_SIZE_READERS: list[Reader[Size]] = [
    (
        re.compile(rf"\b(?P<num>{_NUM}){_AND_A_HALF}?\s*(?P<unit>{_UNIT})\b", _I),
        lambda m: _size(_number(m["num"]), m["unit"], m["part"]),
    ),
    (
        re.compile(rf"\b(?P<part>nusu|half|robo|quarter)\s+(?:(?:a|of\s+a|ya)\s+)?(?P<unit>{_SPOKEN_UNIT}|l)\b", _I),
        lambda m: _size(Fraction(0), m["unit"], m["part"]),
    ),
    (
        re.compile(rf"\b(?P<unit>{_SPOKEN_UNIT})\s+(?P<num>{_NUM})\b{_AND_A_HALF}?", _I),
        lambda m: _size(_number(m["num"]), m["unit"], m["part"]),
    ),
    (
        re.compile(rf"\b(?:(?:a|an)\s+)?(?P<unit>{_WHOLE_UNIT}){_AND_A_HALF}?\b", _I),
        lambda m: _size(Fraction(1), m["unit"], m["part"]),
    ),
]

_COUNTER = _alternatives(_COUNTERS)
_COUNT_READERS: list[Reader[int]] = [
    (
        re.compile(rf"\b(?:(?P<half>half)\s+a\s+|(?P<num>{_COUNT})\s+|an?\s+)?(?:dozens?|doz|dazeni)\b"
                   rf"(?:\s+(?P<after>{_COUNT})\b)?", _I),
        lambda m: 6 if m["half"] else 12 * int(_number(m["num"] or m["after"] or "1")),
    ),
    (re.compile(r"\b(?:an?\s+)?(?:couple|pair)(?:\s+of)?\b", _I), lambda m: 2),
    (re.compile(rf"\b(?P<num>{_COUNT})\s*(?:{_COUNTER})\b", _I), lambda m: int(_number(m["num"]))),
    (re.compile(rf"\b(?:{_COUNTER})\s*(?P<num>{_COUNT})\b", _I), lambda m: int(_number(m["num"]))),
    (re.compile(rf"\b(?P<num>{_WORD_NUMBER})\b", _I), lambda m: int(_number(m["num"]))),
    # A bare whole number: not "2.5", "-1", "2nd", "50%" or "3/4".
    (re.compile(r"(?<![\w.,/#+:-])\d+(?![\w%/:]|[.,]\d)"), lambda m: int(m[0])),
]  # fmt: skip
_ARTICLE: Reader[int] = (re.compile(r"\b(?:a|an)\b", _I), lambda m: 1)


@dataclass(frozen=True)
class _Found(Generic[T]):
    start: int
    end: int
    value: T


def _blank(scan: str, start: int, end: int) -> str:
    # Same length, so every span still points into the original text.
    return scan[:start] + " " * (end - start) + scan[end:]


def _mask(text: str) -> str:
    scan = text
    for pattern in _NOT_AMOUNTS:
        for m in pattern.finditer(scan):
            if not _SIZE_LIKE.fullmatch(m[0]):
                scan = _blank(scan, *m.span())
    return scan


def _read(scan: str, readers: list[Reader[T]]) -> tuple[str, list[_Found[T]]]:
    """Every amount the readers find, in text order; each one is blanked once read."""
    found: list[_Found[T]] = []
    for pattern, value_of in readers:
        for m in list(pattern.finditer(scan)):
            value = value_of(m)
            if value is not None:
                found.append(_Found(*m.span(), value))
                scan = _blank(scan, *m.span())
    return scan, sorted(found, key=lambda f: f.start)


def _without(text: str, spans: Iterable[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


def read_amounts(text: str) -> Amounts:
    """How many and which size: "add 3 sugar 2kg" -> 3 and 2000 g; "unga kilo mbili" -> None and 2000 g.

    A bare number or number word is a quantity, a number with a unit a size. When a message holds
    two quantities the first wins; a first quantity above MAX_QUANTITY gives None and stays in `rest`.
    """
    text = text or ""
    scan, sizes = _read(_mask(text), _SIZE_READERS)
    scan, counts = _read(scan, _COUNT_READERS)
    if not counts:  # "a sugar": an article counts only when nothing else does
        scan, counts = _read(scan, [_ARTICLE])
    in_range = [f for f in counts if 1 <= f.value <= MAX_QUANTITY]
    quantity = counts[0].value if counts and counts[0] in in_range else None
    spans = [(f.start, f.end) for f in sizes] + [(f.start, f.end) for f in in_range]
    return Amounts(quantity, sizes[0].value if sizes else None, _without(text, spans))


def sizes_in(text: str) -> list[Size]:
    """Every size a text carries, in order: "Cooking Oil 3L" -> [3000 ml]."""
    return list(_sizes(text or ""))


@lru_cache(maxsize=8192)  # product names are read again for every message
def _sizes(text: str) -> tuple[Size, ...]:
    _, sizes = _read(_mask(text), _SIZE_READERS)
    return tuple(f.value for f in sizes)


def matches_size(product_name: str, size: Size) -> bool:
    """Whether a product's name carries the size: "Wheat Flour 2kg" has 2000 g, "Milk 1L" 1000 ml."""
    return size in sizes_in(product_name)
