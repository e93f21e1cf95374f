import pytest

from actions.payments.mpesa import RESULT_CODES, meaning_of, parse_stk_callback
from tests.payments.providers import mpesa

DOCUMENTED = {
    0: ("paid", False, "mpesa_paid"),
    1: ("failed", True, "mpesa_insufficient_funds"),
    17: ("failed", False, "mpesa_duplicate_request"),
    1019: ("expired", False, "mpesa_expired"),
    1025: ("failed", False, "mpesa_push_error"),
    9999: ("failed", False, "mpesa_push_error"),
    1032: ("cancelled", True, "mpesa_cancelled"),
    1037: ("failed", True, "mpesa_unreachable"),
    2001: ("failed", True, "mpesa_wrong_pin"),
}


def test_the_table_covers_exactly_the_documented_codes():
    assert set(RESULT_CODES) == set(DOCUMENTED)


@pytest.mark.parametrize(("code", "expected"), DOCUMENTED.items())
def test_each_documented_code_has_its_outcome_retry_offer_and_message(code, expected):
    meaning = meaning_of(code)
    assert (meaning.outcome, meaning.retryable, meaning.notice) == expected


@pytest.mark.parametrize("code", [2, 1001, 1036, -1, 500])
def test_an_unknown_code_is_a_failure_not_offered_again(code):
    meaning = meaning_of(code)
    assert (meaning.outcome, meaning.retryable, meaning.notice) == ("failed", False, "mpesa_failed")


def test_only_a_zero_result_means_paid():
    assert [code for code in DOCUMENTED if meaning_of(code).outcome == "paid"] == [0]


def test_a_callback_is_judged_by_its_code_never_its_text():
    body = mpesa("stk_callback_failure_1032_cancelled")
    body["Body"]["stkCallback"]["ResultDesc"] = "The service request is processed successfully."
    assert parse_stk_callback(body).meaning.outcome == "cancelled"
