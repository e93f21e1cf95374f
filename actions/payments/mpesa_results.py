"""What each documented M-Pesa result code means for an order and for the customer.

Branch on the code, never on ResultDesc: the text changes, the codes are documented. The same
codes come in callbacks and in query answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["paid", "failed", "cancelled", "expired"]


@dataclass(frozen=True)
class ResultMeaning:
    """The order's outcome, whether to offer another push, and the response key of what to tell the customer."""

    outcome: Outcome
    retryable: bool
    message_key: str


RESULT_CODES: dict[int, ResultMeaning] = {
    0: ResultMeaning("paid", False, "mpesa_paid"),
    1: ResultMeaning("failed", True, "mpesa_insufficient_funds"),
    17: ResultMeaning("failed", False, "mpesa_duplicate_request"),  # same amount, same customer, within 2 minutes
    1019: ResultMeaning("expired", False, "mpesa_expired"),
    1025: ResultMeaning("failed", False, "mpesa_push_error"),
    9999: ResultMeaning("failed", False, "mpesa_push_error"),
    1032: ResultMeaning("cancelled", True, "mpesa_cancelled"),
    1037: ResultMeaning("failed", True, "mpesa_unreachable"),
    2001: ResultMeaning("failed", True, "mpesa_wrong_pin"),
}
UNKNOWN_RESULT = ResultMeaning("failed", False, "mpesa_failed")


def meaning_of(result_code: int) -> ResultMeaning:
    """An undocumented code is a failure we do not invite the customer to repeat."""
    return RESULT_CODES.get(result_code, UNKNOWN_RESULT)
