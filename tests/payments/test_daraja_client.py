import base64

import pytest

from actions.commerce.money import Money
from actions.commerce.phones import InvalidPhone
from actions.payments.mpesa import DarajaError, InvalidStkRequest, StkPushAccepted, StkQueryResult
from tests.payments.providers import SANDBOX_PASSKEY, mpesa

KES_180 = Money(18000, "KES")


async def push(client, amount=KES_180, phone="0712 345 678", reference="ORD-00042", description="Duka order"):
    return await client.stk_push(amount, phone, reference, description)


async def test_a_push_sends_the_documented_fields_with_the_documented_types(daraja, mpesa_client):
    await push(mpesa_client)
    documented = mpesa("stk_push_request")
    sent = daraja.sent()
    assert sent.keys() == documented.keys()
    assert {key: type(value) for key, value in sent.items()} == {key: type(value) for key, value in documented.items()}


async def test_a_push_asks_for_whole_shillings_from_the_normalised_phone(daraja, mpesa_client):
    await push(mpesa_client, amount=Money(18000, "KES"), phone="+254 712-345-678")
    sent = daraja.sent()
    assert sent["Amount"] == "180"
    assert sent["PartyA"] == sent["PhoneNumber"] == "254712345678"
    assert sent["BusinessShortCode"] == 174379
    assert sent["PartyB"] == "174379"
    assert sent["TransactionType"] == "CustomerPayBillOnline"
    assert sent["CallBackURL"] == "https://shop.test/mpesa/callback/unguessable-token"
    assert (sent["AccountReference"], sent["TransactionDesc"]) == ("ORD-00042", "Duka order")


async def test_a_push_is_signed_with_the_password_of_its_own_timestamp(daraja, mpesa_client):
    await push(mpesa_client)
    sent = daraja.sent()
    assert len(sent["Timestamp"]) == 14 and sent["Timestamp"].isdigit()
    assert base64.b64decode(sent["Password"]).decode() == "174379" + SANDBOX_PASSKEY + sent["Timestamp"]
    assert daraja.api_requests[-1].url.path == "/mpesa/stkpush/v1/processrequest"
    assert daraja.api_requests[-1].headers["Authorization"] == "Bearer token-1"


@pytest.mark.parametrize(
    ("reference", "description"),
    [("Order #ORD-2024-00042!", "Duka order"), ("ORD-00042", "Order ORD-1042"), ("ORD-00042", "Malipo ✓")],
)
async def test_texts_daraja_would_cut_or_clean_are_refused_before_anything_is_sent(
    daraja, mpesa_client, reference, description
):
    with pytest.raises(InvalidStkRequest):
        await push(mpesa_client, reference=reference, description=description)
    assert daraja.api_requests == []


async def test_an_accepted_push_returns_the_ids_to_match_the_callback_by(mpesa_client):
    accepted = await push(mpesa_client)
    assert accepted == StkPushAccepted(
        merchant_request_id="2654-4b64-97ff-b827b542881d3130",
        checkout_request_id="ws_CO_1007202409152617172396192",
        customer_message="Success. Request accepted for processing",
    )


@pytest.mark.parametrize(
    ("amount", "complaint"),
    [
        (Money(18050, "KES"), "whole shillings"),
        (Money(1, "KES"), "whole shillings"),
        (Money(0, "KES"), "at least KES 1"),
        (Money(-10000, "KES"), "at least KES 1"),
        (Money(18000, "UGX"), "KES"),
        (Money(18000, "NGN"), "KES"),
    ],
)
async def test_amounts_mpesa_cannot_charge_exactly_are_refused_before_anything_is_sent(
    daraja, mpesa_client, amount, complaint
):
    with pytest.raises(InvalidStkRequest, match=complaint):
        await push(mpesa_client, amount=amount)
    assert daraja.api_requests == []


async def test_a_number_that_is_not_kenyan_mobile_is_refused_before_anything_is_sent(daraja, mpesa_client):
    with pytest.raises(InvalidPhone):
        await push(mpesa_client, phone="+234 803 123 4567")
    assert daraja.api_requests == []


async def test_the_documented_invalid_shortcode_answer_is_a_daraja_error(daraja, mpesa_client):
    daraja.push_answer = (400, mpesa("stk_push_error_400_invalid_shortcode"))
    with pytest.raises(DarajaError) as caught:
        await push(mpesa_client)
    assert caught.value.code == "400.002.02"
    assert caught.value.message == "Bad Request - Invalid BusinessShortCode"


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [(500, "500.003.02", "Spike arrest violation"), (500, "500.003.03", "Quota violation")],
)
async def test_other_documented_error_codes_are_daraja_errors_with_their_code(
    daraja, mpesa_client, status, code, message
):
    daraja.push_answer = (
        status,
        mpesa("stk_push_error_400_invalid_shortcode") | {"errorCode": code, "errorMessage": message},
    )
    with pytest.raises(DarajaError) as caught:
        await push(mpesa_client)
    assert (caught.value.code, caught.value.message) == (code, message)


async def test_a_push_not_accepted_is_a_daraja_error_with_its_response_code(daraja, mpesa_client):
    refused = mpesa("stk_push_response_accepted") | {"ResponseCode": "1", "ResponseDescription": "Rejected"}
    daraja.push_answer = (200, refused)
    with pytest.raises(DarajaError) as caught:
        await push(mpesa_client)
    assert (caught.value.code, caught.value.message) == ("1", "Rejected")


async def test_an_accepted_answer_without_a_checkout_request_id_is_a_daraja_error(daraja, mpesa_client):
    answer = mpesa("stk_push_response_accepted")
    del answer["CheckoutRequestID"]
    daraja.push_answer = (200, answer)
    with pytest.raises(DarajaError, match="CheckoutRequestID"):
        await push(mpesa_client)


async def test_the_query_sends_the_documented_fields_with_the_documented_types(daraja, mpesa_client):
    await mpesa_client.stk_query("ws_CO_13012021093521236557")
    documented = mpesa("stk_query_request")
    sent = daraja.sent()
    assert {key: type(value) for key, value in sent.items()} == {key: type(value) for key, value in documented.items()}
    assert sent["CheckoutRequestID"] == "ws_CO_13012021093521236557"
    assert base64.b64decode(sent["Password"]).decode() == "174379" + SANDBOX_PASSKEY + sent["Timestamp"]
    assert daraja.api_requests[-1].url.path == "/mpesa/stkpushquery/v1/query"


async def test_the_documented_query_success_reads_its_string_result_code_as_a_number(mpesa_client):
    result = await mpesa_client.stk_query("ws_CO_13012021093521236557")
    assert result == StkQueryResult(
        result_code=0, result_desc="The service request is processed successfully.", pending=False
    )


async def test_a_query_reports_a_cancelled_push_by_its_code(daraja, mpesa_client):
    daraja.query_answer = (
        200,
        mpesa("stk_query_response_success") | {"ResultCode": "1032", "ResultDesc": "Request cancelled by user"},
    )
    result = await mpesa_client.stk_query("ws_CO_13012021093521236557")
    assert (result.result_code, result.pending) == (1032, False)


async def test_a_query_while_the_customer_has_not_answered_is_pending_not_failed(daraja, mpesa_client):
    daraja.query_answer = (500, mpesa("stk_query_error_500_001_1001_being_processed"))
    result = await mpesa_client.stk_query("ws_CO_20022018230142206")
    assert result == StkQueryResult(result_code=None, result_desc="The transaction is being processed", pending=True)


async def test_other_query_errors_are_daraja_errors(daraja, mpesa_client):
    daraja.query_answer = (500, mpesa("stk_query_error_500_001_1001_being_processed") | {"errorCode": "500.003.02"})
    with pytest.raises(DarajaError) as caught:
        await mpesa_client.stk_query("ws_CO_20022018230142206")
    assert caught.value.code == "500.003.02"


async def test_a_query_answer_without_a_result_code_is_a_daraja_error(daraja, mpesa_client):
    answer = mpesa("stk_query_response_success")
    del answer["ResultCode"]
    daraja.query_answer = (200, answer)
    with pytest.raises(DarajaError, match="ResultCode"):
        await mpesa_client.stk_query("ws_CO_13012021093521236557")
