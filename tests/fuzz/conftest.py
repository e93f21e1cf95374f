"""The fuzz suite's stack: one real sidecar process over this run's database, a shop with a pending
M-Pesa and a pending Paystack payment, a staff member and an order API token; the requests sent,
counted per route; and a snapshot of what a request that fails authentication must not change.

FUZZ_EXAMPLES (default 20) is the number of requests test_every_route.py sends each route (drawn in
bulk); `make test-fuzz` sets it to 10,000. FUZZ_SCHEMATHESIS (default 8) is the number of examples each
hypothesis/schemathesis test gives each route it fuzzes (they cost 10 to 100 times more per request);
`make test-fuzz` sets 50. FUZZ_RANDOM=1 draws new examples (else they are the same each run).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

import psycopg
import pytest
import requests
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import select
from sqlalchemy.engine import make_url

from actions.commerce import cart, orders, payment_requests
from actions.commerce import staff as accounts
from actions.commerce.catalog_csv import parse_catalog
from actions.commerce.catalog_import import import_catalog
from actions.commerce.model import CustomerRef
from actions.db import tables as t
from actions.payments.callbacks import callback_path, callback_token
from devstack.paths import DEMO_CATALOG
from devstack.processes import start_sidecar
from devstack.services import Services, free_port
from tests.conftest import truncate_all
from tests.fuzz.bodies import LIMIT
from tests.stored_conversations import training_copy

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
ENGINE_EXAMPLES = int(os.environ.get("FUZZ_SCHEMATHESIS", "8"))
PAYSTACK_SECRET = "sk_test_" + secrets.token_hex(16)
PASSWORD = "kahawa-chungu-42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
WHO = CustomerRef("demo-shop", "254708374149")


def fuzz_settings(examples: int = ENGINE_EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain": it reruns every failure
    )


@dataclass
class Tally:
    """Requests sent per route, their answers by class (2xx, 3xx, 4xx, 5xx), and for each route the
    "changed nothing" check of its requests that failed authentication (True: checked and held)."""

    sent: collections.Counter = field(default_factory=collections.Counter)
    classes: dict = field(default_factory=lambda: collections.defaultdict(collections.Counter))
    unauthenticated: collections.Counter = field(default_factory=collections.Counter)
    unchanged: dict = field(default_factory=dict)
    seconds: collections.Counter = field(default_factory=collections.Counter)
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, route: str, status: int, authenticated: bool = True) -> None:
        with self.lock:
            self.sent[route] += 1
            self.classes[route][f"{status // 100}xx"] += 1
            if not authenticated:
                self.unauthenticated[route] += 1

    @property
    def errors(self) -> collections.Counter:
        return collections.Counter({route: counts["5xx"] for route, counts in self.classes.items()})

    def checked(self, route: str, held: bool) -> None:
        self.unchanged[route] = self.unchanged.get(route, True) and held

    def table(self) -> list[str]:
        seconds = time.monotonic() - self.started
        head = (
            f"{'route':<46} {'requests':>9} {'2xx':>7} {'3xx':>7} {'4xx':>7} {'5xx':>4} {'unauth.':>8} {'seconds':>7}"
        )
        head += "  changed nothing"
        lines = [head, "-" * len(head)]
        for route in sorted(self.sent, key=lambda r: (r.split(" ", 1)[1], r)):
            c = self.classes[route]
            check = {True: "yes", False: "NO"}.get(self.unchanged.get(route), "-")
            lines.append(
                f"{route:<46} {self.sent[route]:>9,} {c['2xx']:>7,} {c['3xx']:>7,} {c['4xx']:>7,} {c['5xx']:>4,}"
                f" {self.unauthenticated[route]:>8,} {self.seconds[route]:>7.0f}  {check}"
            )
        total = sum(self.sent.values())
        rate = total / seconds if seconds else 0
        lines.append(
            f"{'in all':<46} {total:>9,} {'':>7} {'':>7} {'':>7} {sum(self.errors.values()):>4,}"
            f" {sum(self.unauthenticated.values()):>8,} {sum(self.seconds.values()):>7.0f}"
            f"  ({seconds:.0f} s in all, {rate:.0f} requests/s)"
        )
        return lines


TALLY = Tally()


def pytest_terminal_summary(terminalreporter) -> None:
    if not TALLY.sent:
        return
    terminalreporter.section("fuzzed requests per route")
    for line in TALLY.table():
        terminalreporter.write_line(line)


@dataclass
class World:
    url: str
    database_url: str
    mpesa_path: str  # the pending M-Pesa payment's own callback URL
    forged_mpesa_path: str  # the shop's token with a nonce no payment has
    checkout_request_id: str
    paystack_reference: str
    order_number: str
    api_token: str
    staff_email: str
    metrics_token: str
    legacy_mpesa_path: str  # the shop's callback URL before nonces (revision 0006)
    payment_ids: list[str]
    http: requests.Session = field(default_factory=requests.Session)

    def send(self, route: str, method: str, path: str, **kwargs) -> int:
        """The answer's status. A body over the limit may see the connection closed under it after the
        413 (Sanic stops reading): that counts as the 413 it was."""
        try:
            status = self.http.request(method, self.url + path, timeout=30, allow_redirects=False, **kwargs).status_code
        except requests.ConnectionError:
            if len(kwargs.get("data") or b"") <= LIMIT:
                raise
            self.http = requests.Session()
            status = 413
        TALLY.count(route, status)
        return status

    def signed(self, body: bytes) -> str:
        return hmac.new(PAYSTACK_SECRET.encode(), body, hashlib.sha512).hexdigest()


@pytest.fixture(scope="module")
async def world(rt, services, database_url, redis_key_prefix, tmp_path_factory):
    await truncate_all(rt)
    await import_catalog(rt.uow(), "demo-shop", "Demo Shop", "KES", parse_catalog(DEMO_CATALOG.read_text(), "KES"))
    email = f"fuzz-{secrets.token_hex(3)}@demo-shop.example"
    await accounts.set_staff(rt.uow(), "demo-shop", email, "Fuzz", PASSWORD)
    api_token = await accounts.new_api_token(rt.uow(), "demo-shop")
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)
    mpesa_order = await orders.place(rt.uow(), WHO, "Kilimani")
    nonce, checkout = payment_requests.new_secret(), f"ws_CO_{uuid.uuid4().hex[:12]}"
    await payment_requests.start(
        rt.uow(), mpesa_order.id, "mpesa", checkout, mpesa_order.total, WHO.external_id, callback_nonce=nonce
    )
    await cart.add(rt.uow(), WHO, "SUGAR-1KG", 1)
    card_order = await orders.place(rt.uow(), WHO, "Kilimani")
    reference = f"fuzz-{uuid.uuid4().hex[:10]}"
    await payment_requests.start(rt.uow(), card_order.id, "paystack", reference, card_order.total, WHO.external_id)
    async with rt.sessions() as session:
        tenant = await session.scalar(select(t.Tenant).where(t.Tenant.slug == "demo-shop"))
        payment_ids = [str(i) for i in await session.scalars(select(t.Payment.id))]
    metrics_token = secrets.token_hex(16)
    nowhere = f"http://127.0.0.1:{free_port()}"  # the providers: refused at once (a payment's refresh asks them)
    process = start_sidecar(
        Services(database_url, services.redis_url),
        tmp_path_factory.mktemp("fuzz-sidecar-logs"),
        env={
            "PAYSTACK_SECRET_KEY": PAYSTACK_SECRET,
            "METRICS_TOKEN": metrics_token,
            "MPESA_BASE_URL": nowhere,
            "PAYSTACK_BASE_URL": nowhere,
            "ADMIN_REDIS_PREFIX": f"fuzzadmin{uuid.uuid4().hex[:8]}",
            "REDIS_KEY_PREFIX": redis_key_prefix,
            "REVIEW_PROJECT_DIR": str(training_copy(tmp_path_factory.mktemp("fuzz-project"))),
            "LOG_LEVEL": "ERROR",
        },
    )
    yield World(
        url=process.url,
        database_url=make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False),
        mpesa_path=callback_path(tenant.id, tenant.mpesa_callback_secret, nonce),
        forged_mpesa_path=callback_path(tenant.id, tenant.mpesa_callback_secret, secrets.token_urlsafe(32)),
        checkout_request_id=checkout,
        paystack_reference=reference,
        order_number=mpesa_order.number,
        api_token=api_token,
        staff_email=email,
        metrics_token=metrics_token,
        legacy_mpesa_path="/payments/mpesa/callback/" + callback_token(tenant.id, tenant.mpesa_callback_secret),
        payment_ids=payment_ids,
    )
    process.stop()


# What a request that fails authentication must leave as it was: orders, payments, conversations.
GUARDED = [
    "commerce.orders", "commerce.order_items", "commerce.payments", "commerce.payment_events",
    "commerce.carts", "commerce.cart_items", "commerce.handoffs", "commerce.conversation_events",
    "commerce.audit_log", "public.procrastinate_jobs", "commerce.products", "commerce.categories",
]  # fmt: skip


def snapshot(database_url: str) -> dict[str, tuple[int, str]]:
    """Each guarded table's row count and a checksum of its rows."""
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM {table} r"
            ).fetchone()
            for table in GUARDED
        }


class SignedIn:
    """A staff member's session on the fuzz sidecar: its cookie and its CSRF token."""

    def __init__(self, world: World) -> None:
        self.http = requests.Session()
        form = self.http.get(world.url + "/admin/login", timeout=30)
        csrf = CSRF.search(form.text).group(1)
        self.login_cookie = self.http.cookies.get("duka_login")
        data = {"email": world.staff_email, "password": PASSWORD, "csrf": csrf}
        answer = self.http.post(world.url + "/admin/login", data=data, timeout=30, allow_redirects=False)
        assert answer.status_code == 303, answer.text
        self.cookie = self.http.cookies.get("duka_admin")
        self.csrf = CSRF.search(self.http.get(world.url + "/admin/", timeout=30).text).group(1)
