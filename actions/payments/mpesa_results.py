"""What each documented M-Pesa result code means for an order and for the customer.

Branch on the code, never on ResultDesc: the text changes, the codes are documented. The same
codes come in callbacks and in query answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.commerce.payments import Notice, PaymentStatus

PAID, FAILED, CANCELLED, EXPIRED = (
    PaymentStatus.PAID,
    PaymentStatus.FAILED,
    PaymentStatus.CANCELLED,
    PaymentStatus.EXPIRED,
)


@dataclass(frozen=True)
class ResultMeaning:
    """The payment's outcome, whether to offer another push, and what to tell the customer."""

    outcome: PaymentStatus
    retryable: bool
    notice: Notice


RESULT_CODES: dict[int, ResultMeaning] = {
    0: ResultMeaning(PAID, False, Notice.MPESA_PAID),
    1: ResultMeaning(FAILED, True, Notice.MPESA_INSUFFICIENT_FUNDS),
    17: ResultMeaning(FAILED, False, Notice.MPESA_DUPLICATE_REQUEST),  # same amount, same customer, within 2 minutes
    1019: ResultMeaning(EXPIRED, False, Notice.MPESA_EXPIRED),
    1025: ResultMeaning(FAILED, False, Notice.MPESA_PUSH_ERROR),
    9999: ResultMeaning(FAILED, False, Notice.MPESA_PUSH_ERROR),
    1032: ResultMeaning(CANCELLED, True, Notice.MPESA_CANCELLED),
    1037: ResultMeaning(FAILED, True, Notice.MPESA_UNREACHABLE),
    2001: ResultMeaning(FAILED, True, Notice.MPESA_WRONG_PIN),
}
UNKNOWN_RESULT = ResultMeaning(FAILED, False, Notice.MPESA_FAILED)


def meaning_of(result_code: int) -> ResultMeaning:
    """An undocumented code is a failure we do not invite the customer to repeat."""
    return RESULT_CODES.get(result_code, UNKNOWN_RESULT)
