import json

import pytest

from actions.commerce.money import Money
from actions.payments.mpesa import MalformedCallback, parse_stk_callback
from actions.payments.payloads import whole_number
from tests.payments.providers import mpesa, raw


def success(items: list[dict] | None = None, result_code: object = 0) -> dict:
    body = mpesa("stk_callback_success")
    stk = body["Body"]["stkCallback"]
    stk["ResultCode"] = result_code
    if items is not None:
        stk["CallbackMetadata"]["Item"] = items
    return body


def items() -> list[dict]:
    return success()["Body"]["stkCallback"]["CallbackMetadata"]["Item"]


def items_with(name: str, **value: object) -> list[dict]:
    """The documented items with one replaced by {"Name": name, **value}: pass Value=... or nothing."""
    return [item if item["Name"] != name else {"Name": name, **value} for item in items()]


def test_reads_the_documented_success_callback_from_its_raw_bytes():
    callback = parse_stk_callback(raw("mpesa", "mpesa_stk_callback_success"))
    assert callback.merchant_request_id == "29115-34620561-1"
    assert callback.checkout_request_id == "ws_CO_191220191020363925"
    assert callback.result_code == 0
    assert callback.result_desc == "The service request is processed successfully."
    assert callback.amount == Money(100, "KES")  # "Value": 1.00 is one shilling
    assert callback.receipt == "NLJ7RT61SV"
    assert callback.transaction_date == "20191219102115"
    assert callback.phone == "254708374149"
    assert callback.meaning.outcome == "paid"


def test_reads_the_documented_cancelled_callback_which_has_no_metadata():
    callback = parse_stk_callback(raw("mpesa", "mpesa_stk_callback_failure_1032_cancelled"))
    assert callback.checkout_request_id == "ws_CO_21072024125243250722943992"
    assert callback.result_code == 1032
    assert (callback.amount, callback.receipt, callback.transaction_date, callback.phone) == (None, None, None, None)
    assert callback.meaning.outcome == "cancelled"


def test_a_decoded_dict_reads_the_same_as_its_bytes():
    assert parse_stk_callback(success()) == parse_stk_callback(raw("mpesa", "mpesa_stk_callback_success"))


@pytest.mark.parametrize("order", [[3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]])
def test_items_are_found_by_name_in_any_order(order):
    shuffled = [items()[i] for i in order]
    assert parse_stk_callback(success(shuffled)) == parse_stk_callback(success())


def test_an_item_with_a_name_and_no_value_is_tolerated_and_extra_items_are_ignored():
    extra = [{"Name": "Balance"}, *items(), {"Name": "Unknown", "Value": "x"}]
    callback = parse_stk_callback(success(extra))
    assert callback.amount == Money(100, "KES")
    assert callback.receipt == "NLJ7RT61SV"


def test_a_known_item_without_a_value_reads_as_missing():
    assert parse_stk_callback(success(items_with("MpesaReceiptNumber"))).receipt is None


@pytest.mark.parametrize(("sent", "read"), [(0, 0), ("0", 0), (1032, 1032), ("1032", 1032), (" 2001 ", 2001)])
def test_result_code_comes_as_a_number_or_a_string(sent, read):
    assert parse_stk_callback(success(result_code=sent)).result_code == read


@pytest.mark.parametrize("sent", ["abc", "", True, None, 1.5, [0]])
def test_a_result_code_that_is_not_a_whole_number_is_refused(sent):
    with pytest.raises(MalformedCallback, match="ResultCode"):
        parse_stk_callback(success(result_code=sent))


SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]  # what str.strip() removes


@pytest.mark.parametrize("space", SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_a_number_padded_with_any_unicode_space_is_read_or_refused_never_an_error(space):
    """Found by the fuzz suite: str.strip() removed "\x1c" or "\u1680" and int() then refused the text (a 500)."""
    sent = f"{space}7{space}"
    if space in " \t\r\n":
        assert whole_number(sent) == 7
        assert parse_stk_callback(success(result_code=sent)).result_code == 7
    else:
        assert whole_number(sent) is None
        with pytest.raises(MalformedCallback, match="ResultCode"):
            parse_stk_callback(success(result_code=sent))


def with_amount(value: object) -> dict:
    return success(items_with("Amount", Value=value))


@pytest.mark.parametrize(("value", "minor"), [(1, 100), (1.0, 100), (180.00, 18000), ("250", 25000), (1250, 125000)])
def test_amounts_as_integers_floats_or_text_become_exact_shillings(value, minor):
    assert parse_stk_callback(with_amount(value)).amount == Money(minor, "KES")


@pytest.mark.parametrize("value", [1.5, 0.01, "12.50", -5, "lots", True, float("nan"), {"KES": 1}])
def test_an_amount_that_is_not_whole_shillings_is_refused(value):
    with pytest.raises(MalformedCallback, match="Amount"):
        parse_stk_callback(with_amount(value))


def test_a_masked_phone_number_is_kept_as_sent():
    masked = items_with("PhoneNumber", Value="2547******149")
    assert parse_stk_callback(success(masked)).phone == "2547******149"


def test_a_transaction_date_sent_as_a_float_keeps_all_its_digits():
    dated = items_with("TransactionDate", Value=20191219102115.0)
    assert parse_stk_callback(success(dated)).transaction_date == "20191219102115"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "not a JSON object"),
        (b'"Body"', "not a JSON object"),
        (b"{}", "has no Body"),
        (b'{"Body": []}', "Body should be dict"),
        (b'{"Body": {}}', "has no stkCallback"),
        (b'{"Body": {"stkCallback": "x"}}', "stkCallback should be dict"),
    ],
)
def test_structurally_wrong_bodies_are_refused_with_a_reason(body, complaint):
    with pytest.raises(MalformedCallback, match=complaint):
        parse_stk_callback(body)


def _sent_with(old: bytes, new: bytes) -> bytes:
    body = json.dumps(success()).encode()
    assert old in body
    return body.replace(old, new, 1)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested more than 16 deep"),
        (b'{"Body": ' * 20 + b"{}" + b"}" * 20, "nested more than 16 deep"),
        (_sent_with(b'"ResultCode": 0', b'"ResultCode": ' + b"7" * 5000), "a number of 5000 digits"),
        (_sent_with(b'"ResultCode": 0', b'"ResultCode": "' + b"7" * 5000 + b'"'), "ResultCode is not a whole number"),
        (_sent_with(b'"ResultCode": 0', b'"ResultCode": "\\u0663"'), "ResultCode is not a whole number"),
        (_sent_with(b'"ws_CO_', b'"ws_CO_\\u0000'), "NUL character or a lone surrogate"),
        (_sent_with(b'"ws_CO_', b'"ws_CO_\\ud800'), "NUL character or a lone surrogate"),
        (_sent_with(b'"ws_CO_', b'"' + b"x" * 200), "longer than 128 characters"),
        (_sent_with(b'"ResultCode": 0', b'"ResultCode": NaN'), "NaN is not a JSON number"),
        (_sent_with(b'"Value": 1.0', b'"Value": 1e999'), "the number 1e999"),
        (_sent_with(b'"Value": 1.0', b'"Value": "1e999999999"'), "not an M-Pesa amount"),
    ],
)
def test_what_the_issue_found_is_malformed_not_an_error(body, complaint):
    """Deep nesting, numbers of thousands of digits, NUL and lone surrogates: each a MalformedCallback
    (answered 400), never another exception (which Sanic answers 500)."""
    with pytest.raises(MalformedCallback, match=complaint):
        parse_stk_callback(body)


@pytest.mark.parametrize("field", ["CheckoutRequestID", "MerchantRequestID", "ResultCode"])
def test_a_callback_missing_an_identifying_field_is_refused(field):
    body = success()
    del body["Body"]["stkCallback"][field]
    with pytest.raises(MalformedCallback, match=f"has no {field}"):
        parse_stk_callback(json.dumps(body).encode())


@pytest.mark.parametrize("value", ["", "   ", 123, None])
def test_a_blank_or_non_text_checkout_request_id_is_refused(value):
    body = success()
    body["Body"]["stkCallback"]["CheckoutRequestID"] = value
    with pytest.raises(MalformedCallback, match="CheckoutRequestID"):
        parse_stk_callback(body)


@pytest.mark.parametrize(
    ("metadata", "complaint"),
    [
        ([], "CallbackMetadata should be an object"),
        ({}, "has no Item"),
        ({"Item": {"Name": "Amount", "Value": 1}}, "Item should be list"),
        ({"Item": [{"Value": 1}]}, "without a Name"),
        ({"Item": ["Amount"]}, "without a Name"),
        ({"Item": [{"Name": "Amount", "Value": 1}, {"Name": "Amount", "Value": 1000}]}, "Amount twice"),
    ],
)
def test_malformed_metadata_is_refused(metadata, complaint):
    body = success()
    body["Body"]["stkCallback"]["CallbackMetadata"] = metadata
    with pytest.raises(MalformedCallback, match=complaint):
        parse_stk_callback(body)


def test_a_malformed_callback_is_a_value_error_for_entry_points_that_map_those_to_400():
    with pytest.raises(ValueError):
        parse_stk_callback(b"nope")
