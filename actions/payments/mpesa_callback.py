"""Reading Daraja's STK result callback into plain values, refusing anything not of the documented shape.

The callback is unsigned and may come twice or never: parsing it proves nothing. Callers match it
by CheckoutRequestID (AccountReference is not echoed) and compare its amount with what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from actions.commerce.money import Money, exponent
from actions.payments.mpesa_results import ResultMeaning, meaning_of
from actions.payments.payloads import MAX_TEXT, MalformedPayload, json_object, member, whole_number

KES = "KES"
MAX_DIGITS = 12  # shillings: far above any M-Pesa limit; keeps the amount a bigint of minor units


class MalformedCallback(MalformedPayload):
    """A callback without the documented shape."""


@dataclass(frozen=True)
class StkCallback:
    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str
    amount: Money | None
    receipt: str | None
    transaction_date: str | None
    phone: str | None

    @property
    def meaning(self) -> ResultMeaning:
        return meaning_of(self.result_code)


def parse_stk_callback(body: dict | bytes) -> StkCallback:
    """Daraja's result callback. Metadata items are found by Name: their order and number vary."""
    envelope = _need(json_object(body, "callback", MalformedCallback), "Body", dict, "callback")
    stk = _need(envelope, "stkCallback", dict, "Body")
    where = "Body.stkCallback"
    result_code = whole_number(_need(stk, "ResultCode", (int, str), where))
    if result_code is None:
        raise MalformedCallback(f"{where}.ResultCode is not a whole number of at most 18 digits")
    items = _metadata_items(stk)
    return StkCallback(
        merchant_request_id=_need(stk, "MerchantRequestID", str, where, MAX_TEXT),
        checkout_request_id=_need(stk, "CheckoutRequestID", str, where, MAX_TEXT),
        result_code=result_code,
        result_desc=str(stk.get("ResultDesc", "")),
        amount=_shillings(items.get("Amount")),
        receipt=_item_text(items, "MpesaReceiptNumber"),
        transaction_date=_item_text(items, "TransactionDate"),
        phone=_item_text(items, "PhoneNumber"),
    )


def _need(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, longest: int | None = None) -> Any:
    return member(obj, key, kind, where, MalformedCallback, longest)


def _metadata_items(stk: dict[str, Any]) -> dict[str, Any]:
    """Name -> Value (None for an item with a Name and no Value); only successes carry metadata."""
    metadata = stk.get("CallbackMetadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise MalformedCallback(f"CallbackMetadata should be an object, got {type(metadata).__name__}")
    values: dict[str, Any] = {}
    for item in _need(metadata, "Item", list, "CallbackMetadata"):
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise MalformedCallback("CallbackMetadata.Item has an entry without a Name")
        if item["Name"] in values:
            raise MalformedCallback(f"CallbackMetadata.Item has {item['Name'][:MAX_TEXT]} twice")
        values[item["Name"]] = item.get("Value")
    return values


def _shillings(value: object) -> Money | None:
    """1, 1.0 or "1" shillings as exact Money; a fractional shilling is not an M-Pesa amount."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 40:
        raise MalformedCallback("Amount is not a number")
    try:
        shillings = Decimal(str(value))
    except InvalidOperation:
        raise MalformedCallback(f"Amount {value!r} is not a number") from None
    if not shillings.is_finite() or not -30 < shillings.adjusted() <= MAX_DIGITS:  # before any arithmetic
        raise MalformedCallback(f"Amount {value!r} is not an M-Pesa amount")
    if shillings != shillings.to_integral_value() or shillings < 0:
        raise MalformedCallback(f"Amount {value!r} is not a whole number of shillings")
    return Money(int(shillings) * 10 ** exponent(KES), KES)


def _item_text(items: dict[str, Any], name: str) -> str | None:
    """Receipts are text; dates and phone numbers come as JSON numbers (or masked text) and are kept as text."""
    value = items.get(name)
    if value is None or isinstance(value, str):
        if value is not None and len(value) > MAX_TEXT:
            raise MalformedCallback(f"{name} is longer than {MAX_TEXT} characters")
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedCallback(f"{name} is neither text nor a whole number")
