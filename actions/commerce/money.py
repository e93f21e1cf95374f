"""Exact money: an integer count of the currency's minor unit, never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies our merchants sell in.
MINOR_UNITS = {"KES": 2, "TZS": 2, "UGX": 0, "RWF": 0, "NGN": 2, "GHS": 2, "ZAR": 2, "USD": 2}


class MoneyError(ValueError):
    pass


# A price as merchants write it: "120", "120.50", "1,250" or "1250.5"; twelve digits before the point at most.
PRICE = re.compile(r"(?:\d{1,3}(?:,\d{3}){0,3}|\d{1,12})(?:\.\d+)?", re.ASCII)


def exponent(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(f"money is a whole number of minor units, got {self.minor!r}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """'1250', '1,250.50' or 'KES 1,250' in major units -> Money; refuses sub-minor amounts."""
        cleaned = text.strip().upper().removeprefix(currency).replace(",", "").strip()
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        if not amount.is_finite():
            raise MoneyError(f"{text!r} is not an amount")
        minor = amount.scaleb(exponent(currency))
        if minor != minor.to_integral_value():
            places = exponent(currency)
            raise MoneyError(f"{text!r} has more than {places} decimal places for {currency}")
        return cls(int(minor), currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if not isinstance(quantity, int):
            raise MoneyError("money can only be multiplied by a whole quantity")
        return Money(self.minor * quantity, self.currency)

    __rmul__ = __mul__

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def format(self) -> str:
        """'KES 1,250' or 'KES 1,250.50': what a customer reads in a chat."""
        places = exponent(self.currency)
        major, minor = divmod(abs(self.minor), 10**places) if places else (abs(self.minor), 0)
        sign = "-" if self.minor < 0 else ""
        text = f"{major:,}" if minor == 0 else f"{major:,}.{minor:0{places}d}"
        return f"{self.currency} {sign}{text}"

    def __str__(self) -> str:
        return self.format()


def parse_price(text: str, currency: str) -> Money:
    """A price a merchant typed ('120', '120.50', '1,250', 'KES 1,250'): exact, 0 or more, with no more
    decimal places than the currency has; MoneyError saying what is wrong otherwise."""
    cleaned = text.strip().upper().removeprefix(currency).strip()
    if cleaned.startswith("-"):
        raise MoneyError("cannot be negative")
    if not PRICE.fullmatch(cleaned):
        raise MoneyError(f"{text[:40]!r} is not a price: write it like 120 or 120.50")
    return Money.parse(cleaned, currency)


def total(amounts: list[Money], currency: str) -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result += amount
    return result
