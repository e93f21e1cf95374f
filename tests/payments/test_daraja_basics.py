import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from actions.payments.mpesa import daraja_text, nairobi_timestamp, stk_password
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


@pytest.mark.parametrize(
    ("text", "limit", "sent"),
    [
        ("ORD-00042", 12, "ORD-00042"),
        ("Order #ORD-2024-00042!", 12, "Order ORD-20"),
        ("  Duka: order 7  ", 12, "Duka order 7"),
        ("Payment for order ORD-42 (3 items)", 13, "Payment for o"),
        ("Malipo ya oda_42 ✓", 13, "Malipo ya oda"),
        ("Café au lait", 13, "Caf au lait"),
        ("abc\tdef\nghi", 13, "abcdefghi"),
    ],
)
def test_daraja_text_keeps_letters_digits_spaces_and_dashes_within_the_limit(text, limit, sent):
    assert daraja_text(text, limit, "AccountReference") == sent


def test_daraja_text_never_ends_with_the_space_a_cut_leaves():
    assert daraja_text("Shop order 123", 11, "AccountReference") == "Shop order"


@pytest.mark.parametrize("text", ["", "   ", "#!?*", "✓✓✓"])
def test_daraja_text_with_nothing_left_is_refused(text):
    with pytest.raises(ValueError, match="AccountReference"):
        daraja_text(text, 12, "AccountReference")


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
