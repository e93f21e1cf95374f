import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from actions.payments.mpesa import (
    InvalidStkRequest,
    account_reference,
    daraja_text,
    nairobi_timestamp,
    stk_password,
    transaction_desc,
)
from tests.payments.providers import SANDBOX_PASSKEY, daraja_config, mpesa


def test_the_password_of_the_documented_request_is_rebuilt_from_shortcode_passkey_and_timestamp():
    request = mpesa("stk_push_request")
    password = stk_password(str(request["BusinessShortCode"]), SANDBOX_PASSKEY, request["Timestamp"])
    assert password == request["Password"]


def test_the_password_is_base64_of_the_three_parts_in_order():
    assert base64.b64decode(stk_password("600000", "key", "20240101000000")) == b"600000key20240101000000"


def test_a_utc_time_is_written_on_nairobis_clock_three_hours_ahead():
    assert nairobi_timestamp(datetime(2021, 6, 28, 6, 24, 8, tzinfo=UTC)) == "20210628092408"


def test_late_evening_utc_is_already_the_next_day_and_year_in_nairobi():
    assert nairobi_timestamp(datetime(2024, 12, 31, 22, 30, 5, tzinfo=UTC)) == "20250101013005"


def test_a_time_in_another_zone_is_converted_too():
    lagos = timezone(timedelta(hours=1))
    assert nairobi_timestamp(datetime(2024, 3, 1, 12, 0, 0, tzinfo=lagos)) == "20240301140000"


def test_a_naive_datetime_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="naive"):
        nairobi_timestamp(datetime(2024, 3, 1, 12, 0, 0))


def test_without_a_time_it_is_now_in_nairobi():
    before = datetime.now(UTC) + timedelta(hours=3)
    stamp = nairobi_timestamp()
    after = datetime.now(UTC) + timedelta(hours=3)
    assert before.strftime("%Y%m%d%H%M%S") <= stamp <= after.strftime("%Y%m%d%H%M%S")


@pytest.mark.parametrize(("text", "limit"), [("ORD-00042", 12), ("Order K7QX2M", 13), ("Pay ORD-10423", 13)])
def test_daraja_text_within_the_limit_of_letters_digits_spaces_and_dashes_is_sent_as_it_is(text, limit):
    assert daraja_text(text, limit, "AccountReference") == text


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("Order ORD-1042", 13),  # one character too many: cut, it would name order ORD-104
        ("Order #ORD-2024-00042!", 12),
        ("  Duka: order 7  ", 12),
        ("Malipo ya oda_42 ✓", 13),
        ("Café", 13),
        ("abc\tdef", 13),
        ("two  spaces", 13),
        ("", 12),
        ("   ", 12),
    ],
)
def test_daraja_text_that_would_have_to_be_cut_or_cleaned_is_refused_before_anything_is_sent(text, limit):
    with pytest.raises(InvalidStkRequest, match="AccountReference"):
        daraja_text(text, limit, "AccountReference")


@pytest.mark.parametrize(
    ("number", "reference", "description"),
    [
        ("K7QX2M", "K7QX2M", "Order K7QX2M"),
        ("ORD-1042", "ORD-1042", "Pay ORD-1042"),  # "Order ORD-1042" is 14 characters
        ("ORD-2024-042", "ORD-2024-042", "ORD-2024-042"),
        ("ORD-2024-00042", "Order", "Order payment"),  # 14: the whole number fits neither field
        ("ORD#42", "Order", "Order payment"),  # Daraja would drop the '#': not the number any more
    ],
)
def test_the_account_reference_and_description_hold_the_whole_order_number_or_none_of_it(
    number, reference, description
):
    assert (account_reference(number), transaction_desc(number)) == (reference, description)
    assert len(account_reference(number)) <= 12 and len(transaction_desc(number)) <= 13


def test_the_config_never_shows_its_secrets():
    config = daraja_config()
    shown = repr(config)
    for secret in (config.consumer_key, config.consumer_secret, config.passkey, "unguessable-token"):
        assert secret not in shown
    assert "174379" in shown and "CustomerPayBillOnline" in shown


@pytest.mark.parametrize(
    "overrides", [{"transaction_type": "CustomerPayBill"}, {"shortcode": "17 4379"}, {"shortcode": ""}]
)
def test_the_config_refuses_what_daraja_would(overrides):
    with pytest.raises(ValueError):
        daraja_config(**overrides)
