"""FUZZ_EXAMPLES generated requests to every route of the sidecar's written description
(actions/web/openapi.yaml), drawn in bulk (tests/fuzz/spec.py) and sent over keep-alive connections
to the real sidecar process: no answer 5xx, and no request that fails authentication changes an order,
a payment, a conversation or the job queue.

Two rounds. First, for every route, requests that fail authentication: no credentials, wrong ones, a
forged callback URL or signature, a staff session without the form's CSRF token; the guarded tables
are compared before and after each route's requests. Then, for the routes that take credentials,
requests that pass: the shop's callback URLs, signed webhooks, the order API token, the metrics
token, a staff session with its CSRF token (sign-out aside: it would end the session). A route that
takes credentials gets half its requests in each round.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import secrets
import threading
import time
import zlib
from urllib.parse import urlparse

from hypothesis import strategies as st

from tests.fuzz.bodies import LIMIT
from tests.fuzz.conftest import EXAMPLES, TALLY, SignedIn, World, snapshot
from tests.fuzz.spec import Operation, Request, draw, operations, requests_for
from tests.fuzz.test_sidecar_fuzz import CHARGE_SUCCESS, STK_CALLBACK, with_our_checkout

SEED = secrets.randbits(32) if os.environ.get("FUZZ_RANDOM") == "1" else 0
SENDERS = 3  # connections at once: one request is being drawn while others are with the sidecar
UNAUTHENTICATED_ONLY = {"GET /health", "GET /admin/login", "POST /admin/login", "POST /admin/logout"}


class Connections(threading.local):
    """One keep-alive connection per sending thread."""

    def __init__(self, url: str) -> None:
        self.address = urlparse(url)
        self.connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=60)

    def send(self, request: Request) -> int:
        for attempt in range(2):
            try:
                self.connection.request(request.method, request.path, body=request.body, headers=request.headers)
                answer = self.connection.getresponse()
                answer.read()
                if answer.will_close:
                    self.connection.close()
                return answer.status
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                if len(request.body or b"") > LIMIT:
                    return 413  # Sanic answered 413 and closed the connection while the body was still coming
                if attempt:
                    raise
        raise AssertionError("unreachable")


def known_values(world: World) -> dict[str, list[str]]:
    return {"number": [world.order_number], "payment_id": world.payment_ids, "handoff_id": ["1"]}


def documented_payload(operation: Operation):
    if "/mpesa/" in operation.path:
        return STK_CALLBACK
    if "/paystack/" in operation.path:
        return CHARGE_SUCCESS
    return None


def with_credentials(world: World, signed_in: SignedIn, operation: Operation, authenticated: bool):
    """A function giving a drawn request the credentials of its round, drawn from `choice` (0..5)."""
    route = operation.route

    def credentials(request: Request, choice: int) -> Request:
        headers = request.headers
        if route == "POST /payments/mpesa/callback/{token}/{nonce}":
            if authenticated:
                request.path, request.body = world.mpesa_path, with_our_checkout(request.body, world)
            elif choice % 3 == 0:
                request.path = world.forged_mpesa_path  # the shop's token, a nonce no payment has
            elif choice % 3 == 1:
                request.path = f"/payments/mpesa/callback/1.{'x' * 40}/{world.mpesa_path.rsplit('/', 1)[1]}"
        elif route == "POST /payments/mpesa/callback/{token}" and authenticated:
            request.path, request.body = world.legacy_mpesa_path, with_our_checkout(request.body, world)
        elif route == "POST /payments/paystack/webhook":
            body = request.body
            if authenticated:
                body = request.body = body.replace(b'"qTPrJoy9Bx"', json.dumps(world.paystack_reference).encode())
                headers["x-paystack-signature"] = world.signed(body)
            elif choice % 3 == 0:
                headers.pop("x-paystack-signature", None)
            elif choice % 3 == 1:
                headers["x-paystack-signature"] = world.signed(body + b" ")  # the signature of another body
            else:
                headers["x-paystack-signature"] = secrets.token_hex(64)
        elif operation.security in ("metricsToken", "orderToken"):
            token = world.metrics_token if operation.security == "metricsToken" else world.api_token
            if authenticated:
                headers["Authorization"] = f"Bearer {token}"
            elif choice % 3:
                headers["Authorization"] = ["", f"Bearer {token[:-1]}x", f"Basic {token}"][choice % 3]
        elif operation.security == "staffSession":
            cookie = f"duka_admin={signed_in.cookie}"
            forged = [None, f"duka_admin={secrets.token_urlsafe(32)}", cookie][choice % 3]
            csrf = f"csrf={signed_in.csrf}&".encode()
            if authenticated:
                headers["Cookie"] = cookie
                if request.body is not None and choice % 6 < 5:
                    request.body = csrf + request.body  # most forms with the token, so they reach their handler
            elif forged:
                headers["Cookie"] = forged
                if request.body is not None and forged == cookie:
                    request.body = request.body.replace(signed_in.csrf.encode(), b"")  # never the session's token
                elif operation.method == "GET":
                    headers["Cookie"] = f"duka_admin={secrets.token_urlsafe(32)}"  # a GET with a real session passes
        elif route == "POST /admin/login" and choice % 2:
            # the sign-in page's cookie and its token in the form: past the CSRF check, to the (failing) sign-in
            headers["Cookie"] = f"duka_login={signed_in.login_cookie}"
            request.body = f"csrf={signed_in.login_cookie}&".encode() + (request.body or b"")
        return request

    return credentials


def describe(request: Request) -> str:
    """The request, long values cut (curl's syntax would be longer than the terminal)."""
    body = request.body or b""
    return f"{request.method} {request.path[:300]} {request.headers} {body[:400]!r} ({len(body)} bytes)"


def fuzz_route(world: World, signed_in: SignedIn, operation: Operation, count: int, authenticated: bool) -> None:
    route = operation.route
    strategy = st.tuples(requests_for(operation, known_values(world), documented_payload(operation)), st.integers(0, 5))
    credentials = with_credentials(world, signed_in, operation, authenticated)
    connections = Connections(world.url)
    salt = zlib.crc32(f"{route} {authenticated}".encode()) + SEED
    numbers = itertools.count()
    lock = threading.Lock()
    failures: list[str] = []

    def sender() -> None:
        while not failures:
            with lock:
                n = next(numbers)
            if n >= count:
                return
            request, choice = draw(strategy, salt * 1_000_003 + n)
            request = credentials(request, choice)
            try:
                status = connections.send(request)
            except Exception as error:
                failures.append(f"{route}: {error!r} for {describe(request)}")
                return
            TALLY.count(route, status, authenticated)
            if status >= 500:
                failures.append(f"{route} answered {status} to {describe(request)}")

    started = time.monotonic()
    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    TALLY.seconds[route] += time.monotonic() - started
    assert not failures, failures[:3]


def split(route: str) -> tuple[int, int]:
    """Requests to the route in the unauthenticated round and in the authenticated one."""
    if route in UNAUTHENTICATED_ONLY:
        return EXAMPLES, 0
    return EXAMPLES - EXAMPLES // 2, EXAMPLES // 2


async def test_every_route_gets_generated_requests_without_credentials_no_5xx_and_nothing_changes(world):
    signed_in = SignedIn(world)
    for operation in operations():
        before = snapshot(world.database_url)
        fuzz_route(world, signed_in, operation, split(operation.route)[0], authenticated=False)
        held = snapshot(world.database_url) == before
        TALLY.checked(operation.route, held)
        assert held, f"{operation.route}: a request that failed authentication changed a guarded table"


async def test_every_route_gets_generated_requests_with_credentials_and_no_5xx(world):
    signed_in = SignedIn(world)
    for operation in operations():
        fuzz_route(world, signed_in, operation, split(operation.route)[1], authenticated=True)
