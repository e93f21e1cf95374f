"""Fuzzing the sidecar's public routes over HTTP: no request is answered 5xx, and none that fails
authentication changes an order, a payment or a conversation.

Requests come from two sources: schemathesis, from the written description of the routes
(actions/web/openapi.yaml), in its positive and negative modes; and hypothesis, from the documented
provider payloads with one hostile value in them (tests/fuzz/bodies.py), signed where the route checks
a signature, so that they reach the parsers behind it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.fuzz.bodies import content_types, hostile_bodies
from tests.fuzz.conftest import EXAMPLES, SignedIn, World, fuzz_settings, snapshot
from tests.fuzz.spec import header_values

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schemathesis.openapi.from_path(ROOT / "actions/web/openapi.yaml")
PROVIDERS = ROOT / "tests/providers"
STK_CALLBACK = json.loads((PROVIDERS / "mpesa/mpesa_stk_callback_success.json").read_text())
CHARGE_SUCCESS = json.loads((PROVIDERS / "paystack/paystack_webhook_charge_success_card.json").read_text())

MPESA = "POST /payments/mpesa/callback/{token}/{nonce}"
PAYSTACK = "POST /payments/paystack/webhook"
LOGIN = "POST /admin/login"


def operations() -> list:
    return [result.ok() for result in SCHEMA.get_all_operations()]


def label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def fuzz_operation(world: World, operation, mode: GenerationMode, prepare=None, session=None) -> None:
    """FUZZ_SCHEMATHESIS generated requests to one operation; each answered below 500."""
    route = label(operation)
    http = session or world.http

    @fuzz_settings()
    @given(operation.as_strategy(generation_mode=mode))
    def each(case) -> None:
        if prepare:
            prepare(case)
        response = case.call(base_url=world.url, session=http, timeout=30, allow_redirects=False)
        world_count(route, response.status_code)
        assert response.status_code < 500, f"{route} answered {response.status_code} to {case.as_curl_command()}"

    try:
        each()
    except Unsatisfiable:
        pytest.skip(f"{route} has nothing a negative example could break")  # no parameters and no body


def world_count(route: str, status: int) -> None:
    from tests.fuzz.conftest import TALLY

    TALLY.count(route, status)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", operations(), ids=label)
async def test_generated_requests_without_credentials_get_no_5xx_and_change_nothing(world, operation, mode):
    before = snapshot(world.database_url)
    fuzz_operation(world, operation, mode)
    assert snapshot(world.database_url) == before


def reaching_handlers(signed_in: SignedIn):
    """The session's CSRF token in half the forms, so that the POSTs get past the check to their handler."""

    def prepare(case) -> None:
        if isinstance(case.body, dict) and case.operation.path != "/admin/logout" and secrets.randbelow(2):
            case.body["csrf"] = signed_in.csrf

    return prepare


STAFF_ROUTES = [op for op in operations() if op.path.startswith("/admin/") and op.path != "/admin/login"]


@pytest.mark.parametrize("operation", STAFF_ROUTES, ids=label)
async def test_generated_requests_of_a_signed_in_staff_member_get_no_5xx(world, operation):
    signed_in = SignedIn(world)
    fuzz_operation(world, operation, GenerationMode.POSITIVE, reaching_handlers(signed_in), signed_in.http)
    fuzz_operation(world, operation, GenerationMode.NEGATIVE, reaching_handlers(signed_in), signed_in.http)


async def test_generated_order_numbers_with_the_shops_token_get_no_5xx(world):
    @fuzz_settings()
    @given(st.one_of(st.text(), st.binary().map(quote_from_bytes), st.just(world.order_number)), header_values)
    def each(number: str, if_none_match: str) -> None:
        headers = {"Authorization": f"Bearer {world.api_token}", "If-None-Match": if_none_match}
        path = "/orders/" + (
            number if "%" in number else quote_from_bytes(number.encode("utf-8", "surrogatepass"), safe="")
        )
        status = world.send("GET /orders/{number}", "GET", path, headers=headers)
        assert status < 500, (number, status)

    each()


# --- hostile bodies to the payment routes -----------------------------------------------------------


def post_body(world: World, route: str, path: str, body: bytes, content_type: str, headers: dict | None = None):
    return world.send(route, "POST", path, data=body, headers={"Content-Type": content_type, **(headers or {})})


async def test_hostile_callbacks_to_a_forged_callback_url_are_refused_and_change_nothing(world):
    before = snapshot(world.database_url)

    @fuzz_settings()
    @given(hostile_bodies(STK_CALLBACK), content_types, st.sampled_from(["forged nonce", "forged token"]))
    def each(body: bytes, content_type: str, forgery: str) -> None:
        path = (
            world.forged_mpesa_path
            if forgery == "forged nonce"
            else f"/payments/mpesa/callback/1.{'x' * 40}/{'y' * 40}"
        )
        status = post_body(world, MPESA, path, body, content_type)
        assert status in (400, 404, 413), (body[:200], status)

    each()
    assert snapshot(world.database_url) == before


def with_our_checkout(body: bytes, world: World) -> bytes:
    return body.replace(b"ws_CO_191220191020363925", world.checkout_request_id.encode())


async def test_hostile_callbacks_to_the_payments_own_url_reach_the_parser_and_get_no_5xx(world):
    @fuzz_settings()
    @given(hostile_bodies(STK_CALLBACK), content_types)
    def each(body: bytes, content_type: str) -> None:
        status = post_body(world, MPESA, world.mpesa_path, with_our_checkout(body, world), content_type)
        assert status in (200, 400, 413), (body[:200], status)

    each()


async def test_hostile_paystack_webhooks_without_the_signature_are_refused_and_change_nothing(world):
    before = snapshot(world.database_url)

    @fuzz_settings()
    @given(hostile_bodies(CHARGE_SUCCESS), content_types, st.sampled_from(["none", "wrong", "of another body"]))
    def each(body: bytes, content_type: str, signature: str) -> None:
        headers = (
            {}
            if signature == "none"
            else {"x-paystack-signature": secrets.token_hex(64) if signature == "wrong" else world.signed(body + b" ")}
        )
        status = post_body(world, PAYSTACK, "/payments/paystack/webhook", body, content_type, headers)
        assert status in (401, 413), (body[:200], status)

    each()
    assert snapshot(world.database_url) == before


async def test_hostile_signed_paystack_webhooks_reach_the_parser_and_get_no_5xx(world):
    @fuzz_settings()
    @given(hostile_bodies(CHARGE_SUCCESS), content_types)
    def each(body: bytes, content_type: str) -> None:
        body = body.replace(b'"qTPrJoy9Bx"', json.dumps(world.paystack_reference).encode())
        headers = {"x-paystack-signature": world.signed(body)}
        status = post_body(world, PAYSTACK, "/payments/paystack/webhook", body, content_type, headers)
        assert status in (200, 413), (body[:200], status)

    each()


# --- hostile sign-in forms ------------------------------------------------------------------------

form_values = st.one_of(
    st.text(),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["\x00", "\ud800", "a\udfffb", "x" * 70000, "%00", "%ED%A0%80", "%FF"]),
)


@st.composite
def login_forms(draw) -> tuple[bytes, str]:
    fields = draw(
        st.dictionaries(st.sampled_from(["email", "password", "next", "csrf", "other"]), form_values, max_size=5)
    )
    encoded = "&".join(
        quote_from_bytes(k.encode()) + "=" + (v if "%" in v else quote_from_bytes(v.encode("utf-8", "surrogatepass")))
        for k, v in fields.items()
    ).encode()
    raw = draw(st.one_of(st.just(encoded), st.binary(max_size=200), st.just(encoded + b"&\xff\x00=\xed\xa0\x80")))
    return raw, draw(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json",
                "text/plain",
                "",
            ]
        )
    )


async def test_hostile_sign_in_forms_are_refused_and_change_nothing(world):
    before = snapshot(world.database_url)
    form = world.http.get(world.url + "/admin/login", timeout=30)
    cookie = world.http.cookies.get("duka_login")

    @fuzz_settings()
    @given(login_forms(), st.booleans())
    def each(form: tuple[bytes, str], past_the_csrf_check: bool) -> None:
        """With the cookie and its token in the form the sign-in itself is reached (and fails: 401, 429)."""
        body, content_type = form
        world.http.cookies.clear()
        cookies = {"duka_login": cookie} if past_the_csrf_check else {}
        if past_the_csrf_check:
            body = b"csrf=" + cookie.encode() + b"&" + body
        headers = {"Content-Type": content_type}
        status = world.send(LOGIN, "POST", "/admin/login", data=body, headers=headers, cookies=cookies)
        assert 400 <= status < 500, (body[:200], status)

    assert form.status_code == 200
    each()
    assert snapshot(world.database_url) == before


def test_examples_per_route_setting_is_sane():
    assert EXAMPLES >= 1
