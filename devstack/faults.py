"""`make test-faults`: purchases through the whole stack while its processes die and its servers stop,
then an audit of the database against the payment simulator's own books.

    make test-faults N=40 SEED=7        .venv/bin/python -m devstack.faults --purchases 40 --seed 7

The suite owns everything it breaks: an embedded PostgreSQL and Redis under .data/faults/ (they are
stopped and started again mid-run, which only servers of one's own allow), the simulator, the sidecar,
the worker, the action server and a Rasa server (devstack/stack.py, devstack/processes.py). Customers
buy over Rasa's REST channel, several at once, by M-Pesa (the number's last four digits choose the
simulator's outcome: paid, cancelled, wrong PIN, no money, unreachable, no callback, three callbacks,
a late one) or by card (the simulator's checkout pays itself and sends a signed webhook); some cancel
their order while it is being paid. Meanwhile, from one seeded `random.Random`:

- the sidecar, the worker, the action server and Rasa are killed with SIGKILL and started again (a
  process that dies on its own is started again too, as a supervisor would);
- PostgreSQL and Redis stop for a few seconds, then start again on the same socket and port;
- every callback and webhook goes through a relay (the network between the provider and the sidecar)
  that answers the provider at once and passes the message on late, twice or out of order; like
  Paystack it retries a webhook the sidecar did not take, like Daraja it never retries a callback;
- forged messages reach the sidecar: a success without CallbackMetadata on a payment's real URL, a
  success on a URL with a wrong nonce, an unsigned Paystack webhook, one signed with another secret.

Then the suite waits until the system has settled (no payment pending, every message job finished,
the relay empty) and audits PostgreSQL (payments, orders and their lines, products' stock, the job
queue, customer_told_at), the conversations in Rasa and the simulator's record. Exits 1 when a line
that must be zero is not.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from actions.rasa_api import conversation_path
from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON, ACTIONS_VENV, DATA_DIR, DEMO_CATALOG, ROOT
from devstack.processes import Process, spawn, start_action_server, start_rasa_server, start_sidecar
from devstack.services import Services, start_postgres, start_redis, stop_postgres, stop_redis
from devstack.stack import Stack, start_stack
from tests.waiting import eventually

# The M-Pesa number's last four digits choose the simulator's outcome (devstack/simulator.py).
MPESA_OUTCOMES = {
    "5678": "paid",
    "1032": "cancelled by the customer",
    "2001": "wrong PIN",
    "0001": "insufficient funds",
    "1037": "phone unreachable",
    "0000": "no callback (the query settles it)",
    "2222": "three callbacks",
    "3333": "late callback",
}
PROCESS_FAULTS = ("sidecar", "worker", "actions")
SERVER_FAULTS = ("postgres", "redis")
FORGERIES = ("mpesa_no_metadata", "mpesa_wrong_nonce", "paystack_unsigned", "paystack_wrong_secret")
PRODUCTS = ("SUGAR-1KG", "SUGAR-2KG", "BREAD-400G")
TENANT = "demo-shop"
SETTLE_WITHIN = 300  # seconds: a stalled job is retried after 30 s, a late message waits out Rasa's restart
ACTIVE = ("pending_payment", "paid", "packed", "out_for_delivery", "delivered")  # statuses that hold their stock


@dataclass(frozen=True)
class Plan:
    purchases: int = 20
    seed: int = 1
    concurrency: int = 3
    rasa_kills: int = 1
    extra_faults: int | None = None  # faults beyond one of each kind (default: one per two purchases)
    card_share: float = 0.35
    cancel_share: float = 0.25


@dataclass
class Purchase:
    sender: str
    method: str  # "mpesa" or "card"
    phone: str | None
    sku: str
    cancels: bool
    order: str | None = None

    @property
    def expected(self) -> str:
        return "card, paid" if self.method == "card" else MPESA_OUTCOMES[self.phone[-4:]]  # type: ignore[index]


@dataclass
class Line:
    what: str
    count: int
    must_be_zero: bool
    detail: str = ""


@dataclass
class Audit:
    lines: list[Line]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(line.must_be_zero and line.count for line in self.lines)

    def table(self) -> str:
        width = max(len(line.what) for line in self.lines)
        rows = [f"{'audit':<{width}}  {'count':>5}  must be 0", "-" * (width + 19)]
        for line in self.lines:
            verdict = ("FAIL" if line.count else "ok") if line.must_be_zero else ""
            rows.append(f"{line.what:<{width}}  {line.count:>5}  {verdict}")
            if line.detail and (line.count or not line.must_be_zero):
                rows.append(f"{'':<{width}}         {line.detail}")
        return "\n".join([*self.notes, *rows, "", "PASSED" if self.passed else "FAILED"])


# --- the database, as the driver sees it (it outlives PostgreSQL's outages) ------------------------


class Database:
    def __init__(self, url: str) -> None:
        self.url = url

    async def rows(self, sql: str, params: dict[str, Any] | None = None, within: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, row_factory=dict_row) as conn:
                    return await (await conn.execute(sql, params or {})).fetchall()
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


# --- the network between the providers and the sidecar --------------------------------------------


class Relay:
    """Takes every callback and webhook the simulator sends, answers 200 at once, and passes it on to the
    sidecar: now, late, twice or more (so copies and different messages arrive out of order)."""

    def __init__(self, rng: Random, duplicate_share: float = 0.3, delay_share: float = 0.4) -> None:
        self.rng, self.duplicate_share, self.delay_share = rng, duplicate_share, delay_share
        self.target = ""
        self.port = 0
        self.tasks: set[asyncio.Task] = set()
        self.counts: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._http = httpx.AsyncClient(timeout=15)

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._take, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._server:
            self._server.close()
        await self._http.aclose()

    @property
    def idle(self) -> bool:
        return not self.tasks

    async def _take(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            _, path, _ = head[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
            lowered = {name.lower(): value for name, value in headers.items()}
            body = await reader.readexactly(int(lowered.get("content-length", "0")))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            await writer.drain()
        finally:
            writer.close()
        keep = {name: value for name, value in lowered.items() if name in ("content-type", "x-paystack-signature")}
        copies = 1 + (self.rng.choice((1, 2)) if self.rng.random() < self.duplicate_share else 0)
        self.counts["received"] += 1
        self.counts["duplicated"] += copies > 1
        for _ in range(copies):
            delay = self.rng.uniform(0.5, 8) if self.rng.random() < self.delay_share else 0.0
            self.counts["delayed"] += delay > 0
            self._background(self._pass_on(path, keep, body, delay))

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _pass_on(self, path: str, headers: dict[str, str], body: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        retries = 6 if path.startswith("/payments/paystack") else 0  # Paystack retries; Daraja does not
        for attempt in range(retries + 1):
            try:
                response = await self._http.post(self.target + path, content=body, headers=headers)
                if response.status_code < 500:
                    self.counts[f"answered {response.status_code}"] += 1
                    return
            except httpx.HTTPError:
                pass
            if attempt < retries:
                await asyncio.sleep(2**attempt)
        self.counts["lost (sidecar down or failing)"] += 1


# --- the suite -----------------------------------------------------------------------------------


class FaultRun:
    def __init__(self, plan: Plan, work_dir: Path, say=print) -> None:
        self.plan, self.work_dir, self.say = plan, work_dir, say
        self.rng = Random(plan.seed)
        self.log_dir = work_dir / "logs"
        self.faults: Counter[str] = Counter()
        self.forged: Counter[str] = Counter()
        self.restarting: set[str] = set()
        self.generation: Counter[str] = Counter()
        self.purchases: list[Purchase] = []
        self.rasa: Process | None = None
        self.started_at = time.monotonic()

    def note(self, text: str) -> None:
        self.say(f"[{time.monotonic() - self.started_at:6.1f} s] {text}", flush=True)

    # --- servers and processes

    def start_servers(self) -> Services:
        database_url, _ = start_postgres(self.work_dir / "postgres")
        redis_url, _ = start_redis(self.work_dir / "redis")
        return Services(database_url, redis_url, ["postgres", "redis"], self.work_dir)

    def prepare_database(self) -> None:
        """Migrate and load the demo shop with the product's own commands (`make migrate`, `make seed`)."""
        env = {**os.environ, "DATABASE_URL": self.services.database_url, "REDIS_URL": self.services.redis_url}
        for command in (
            [str(ACTIONS_VENV / "bin/alembic"), "upgrade", "head"],
            [str(ACTIONS_PYTHON), "-m", "actions.cli", "import-catalog", str(DEMO_CATALOG),
             "--tenant", TENANT, "--name", "Demo Shop", "--currency", "KES"],
        ):  # fmt: skip
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)

    def restart_postgres(self) -> None:
        """In a child process: pgserver keeps one handle per data directory per process, started once."""
        code = f"from pathlib import Path; from devstack.services import start_postgres; start_postgres(Path({str(self.work_dir / 'postgres')!r}))"  # noqa: E501
        subprocess.run([str(ACTIONS_PYTHON), "-c", code], cwd=ROOT, check=True, capture_output=True)

    def process(self, role: str) -> Process:
        if role == "rasa":
            assert self.rasa is not None, "Rasa has not been started"
            return self.rasa
        return self.stack.process(role)

    def start(self, role: str) -> Process:
        self.generation[role] += 1
        log_dir = self.log_dir / f"{role}-{self.generation[role]}"
        env, services = self.stack.env, self.services
        if role == "sidecar":
            return start_sidecar(services, log_dir, self.ports["sidecar"], env)
        if role == "actions":
            return start_action_server(services, log_dir, self.ports["actions"], env)
        if role == "worker":
            return spawn("worker", [str(ACTIONS_PYTHON), "-m", "actions.worker"], env, "", log_dir)
        return start_rasa_server(self.model, self.stack.rasa_env("faults"), log_dir, self.stack.rasa_port)

    async def restart(self, role: str, kill: bool) -> None:
        self.restarting.add(role)
        try:
            old = self.process(role)
            if kill and old.popen.poll() is None:
                os.killpg(old.popen.pid, signal.SIGKILL)
            old.popen.wait()
            new = await asyncio.to_thread(self.start, role)
            if role == "rasa":
                self.rasa = new
            else:
                self.stack.processes[self.stack.processes.index(old)] = new
        finally:
            self.restarting.discard(role)

    async def supervise(self) -> None:
        """Start again whatever died on its own (a worker that lost its database, say)."""
        while True:
            for role in (*PROCESS_FAULTS, "rasa"):
                if role not in self.restarting and self.process(role).popen.poll() is not None:
                    self.faults[f"{role} died on its own, restarted"] += 1
                    self.note(f"{role} exited by itself ({self.process(role).popen.returncode}): restarting")
                    asyncio.get_running_loop().create_task(self.restart(role, kill=False))
            await asyncio.sleep(1)

    # --- faults

    def fault_plan(self) -> list[str]:
        extra = self.plan.extra_faults if self.plan.extra_faults is not None else self.plan.purchases // 2
        kinds = [*PROCESS_FAULTS, *SERVER_FAULTS, *FORGERIES] + ["rasa"] * self.plan.rasa_kills
        kinds += self.rng.choices([*PROCESS_FAULTS, *SERVER_FAULTS, *FORGERIES], k=extra)
        self.rng.shuffle(kinds)
        return kinds

    async def inflict(self, kinds: list[str]) -> None:
        self.restarts: set[asyncio.Task] = set()
        for kind in kinds:
            await asyncio.sleep(self.rng.uniform(1, 5))
            if kind in FORGERIES:
                await self.forge(kind)
            elif kind in SERVER_FAULTS:
                seconds = self.rng.uniform(2, 5)
                self.note(f"stopping {kind} for {seconds:.1f} s")
                await asyncio.to_thread(self.stop_server, kind)
                await asyncio.sleep(seconds)
                await asyncio.to_thread(self.start_server, kind)
                self.faults[f"{kind} stopped and started"] += 1
            else:
                await eventually(lambda k=kind: k not in self.restarting, within=300, what=f"{kind} restarted")
                self.note(f"kill -9 {kind}")
                self.faults[f"{kind} killed (SIGKILL) and restarted"] += 1
                restart = self.restart(kind, kill=True)
                if kind == "rasa":  # it loads its model for a minute: the other faults go on meanwhile
                    self.restarts.add(asyncio.get_running_loop().create_task(restart))
                else:
                    await restart
        await asyncio.gather(*self.restarts)

    def stop_server(self, kind: str) -> None:
        if kind == "postgres":
            stop_postgres(self.work_dir / "postgres")
        else:
            stop_redis(self.work_dir / "redis")

    def start_server(self, kind: str) -> None:
        if kind == "postgres":
            self.restart_postgres()
        else:
            start_redis(self.work_dir / "redis")

    async def forge(self, kind: str) -> None:
        """A forged message about a real payment, straight to the sidecar."""
        provider = "paystack" if kind.startswith("paystack") else "mpesa"
        try:
            record = await eventually(
                lambda: self.simulator_record(provider), within=30, every=1, what=f"a {provider} payment"
            )
        except AssertionError:
            self.forged[f"{kind}: no payment to forge"] += 1
            return
        if provider == "mpesa":
            push = self.rng.choice(record)
            url = self.sidecar + "/" + push["callback_url"].split("/", 3)[3]
            stk = {
                "MerchantRequestID": "forged",
                "CheckoutRequestID": push["checkout_request_id"],
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
            }
            if kind == "mpesa_wrong_nonce":
                url = url.rsplit("/", 1)[0] + "/" + secrets.token_urlsafe(32)
                items = [
                    {"Name": "Amount", "Value": float(push["amount"])},
                    {"Name": "MpesaReceiptNumber", "Value": "FORGED0001"},
                    {"Name": "TransactionDate", "Value": 20261201120000},
                    {"Name": "PhoneNumber", "Value": int(push["phone"])},
                ]
                stk["CallbackMetadata"] = {"Item": items}
            raw, headers = json.dumps({"Body": {"stkCallback": stk}}).encode(), {}
        else:
            txn = self.rng.choice(record)
            data = {"id": 1, "reference": txn["reference"], "amount": txn["amount"], "currency": txn["currency"]}
            raw = json.dumps({"event": "charge.success", "data": {**data, "status": "success"}}).encode()
            headers = {}
            if kind == "paystack_wrong_secret":
                headers["x-paystack-signature"] = hmac.new(b"sk_test_wrong", raw, hashlib.sha512).hexdigest()
            url = self.sidecar + "/payments/paystack/webhook"
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(20):  # the sidecar may be restarting
                try:
                    response = await http.post(
                        url, content=raw, headers={"Content-Type": "application/json", **headers}
                    )
                    self.forged[f"{kind}: answered {response.status_code}"] += 1
                    self.note(f"forged {kind}: answered {response.status_code}")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(1)
        self.forged[f"{kind}: never reached the sidecar"] += 1

    async def simulator_record(self, provider: str) -> list[dict[str, Any]]:
        """The simulator's own books of `provider` ("mpesa": STK pushes, "paystack": transactions)."""
        async with httpx.AsyncClient(base_url=self.stack.process("simulator").url, timeout=10) as http:
            return (await http.get("/simulator/record")).json()[provider]

    # --- customers

    def purchase(self, index: int) -> Purchase:
        card = self.rng.random() < self.plan.card_share
        suffix = None if card else self.rng.choice(list(MPESA_OUTCOMES))
        phone = None if card else f"07{self.rng.randrange(10, 100)}{self.rng.randrange(10, 100)}{suffix}"
        sender = f"2547{self.rng.randrange(10**8):08d}"
        cancels = self.rng.random() < self.plan.cancel_share
        return Purchase(sender, "card" if card else "mpesa", phone, self.rng.choice(PRODUCTS), cancels)

    async def rasa_call(self, method: str, path: str, body: dict | None = None) -> Any:
        """Rasa's answer, or None while it (or Redis, or the action server) is down."""
        try:
            async with httpx.AsyncClient(base_url=self.rasa.url, timeout=60) as http:
                response = await http.request(method, path, json=body)
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    async def order_of(self, sender: str) -> str | None:
        rows = await self.db.rows(
            "SELECT o.number FROM commerce.orders o JOIN commerce.customers c ON c.id = o.customer_id"
            " WHERE c.external_id = %(sender)s ORDER BY o.id LIMIT 1",
            {"sender": sender},
        )
        return rows[0]["number"] if rows else None

    async def cart_of(self, sender: str) -> int:
        rows = await self.db.rows(
            "SELECT coalesce(sum(i.quantity), 0) AS n FROM commerce.cart_items i JOIN commerce.carts k"
            " ON k.id = i.cart_id JOIN commerce.customers c ON c.id = k.customer_id WHERE c.external_id = %(s)s",
            {"s": sender},
        )
        return int(rows[0]["n"])

    async def next_message(self, p: Purchase) -> str | None:
        """What the customer says next, from where the conversation is (any message may have been lost)."""
        tracker = await self.rasa_call("GET", conversation_path(p.sender) + "/tracker")
        if tracker is None:
            return None
        if (tracker.get("active_loop") or {}).get("name") == "checkout_form":
            answers = {
                "delivery_location": "Westlands",
                "payment_method": "/pay_card" if p.method == "card" else "mpesa",
                "mpesa_phone": p.phone,
                "order_confirmed": "yes",
            }
            return answers.get(tracker["slots"].get("requested_slot"), "checkout")
        return "checkout" if await self.cart_of(p.sender) else f"add 1 {p.sku}"

    async def send(self, sender: str, text: str) -> bool:
        """Whether the bot answered (nothing comes back while Rasa, Redis or the action server is down)."""
        return bool(await self.rasa_call("POST", "/webhooks/rest/webhook", {"sender": sender, "message": text}))

    async def buy(self, p: Purchase, turns: int = 30, patience: float = 240) -> None:
        """Say what the conversation asks for until an order is placed: `turns` answered messages at most;
        a message nobody answered is tried again, for `patience` seconds in all."""
        deadline = time.monotonic() + patience
        while turns and time.monotonic() < deadline:
            p.order = await self.order_of(p.sender)
            if p.order is not None:
                break
            text = await self.next_message(p)
            if text is not None and await self.send(p.sender, text):
                turns -= 1
            else:
                await asyncio.sleep(1)
        if p.order is None:
            self.note(f"{p.sender} placed no order")
            return
        self.note(f"{p.sender}: order {p.order} ({p.expected}{', will cancel' if p.cancels else ''})")
        if p.cancels:
            await asyncio.sleep(self.rng.uniform(0, 2))
            await eventually(lambda: self.send(p.sender, "cancel my order"), within=patience, every=1, what="a cancel")

    async def customers(self, over: float) -> None:
        """The purchases, each starting at a random moment within `over` seconds (so faults land in
        every phase of a purchase), at most `concurrency` at once."""
        gate = asyncio.Semaphore(self.plan.concurrency)

        async def one(p: Purchase, start: float) -> None:
            await asyncio.sleep(start)
            async with gate:
                await self.buy(p)

        self.purchases = [self.purchase(i) for i in range(self.plan.purchases)]
        await asyncio.gather(*(one(p, self.rng.uniform(0, over)) for p in self.purchases))

    # --- settling and the audit

    async def settle(self) -> bool:
        """Whether the system settled within SETTLE_WITHIN seconds (the audit runs either way)."""
        try:
            await eventually(self.settled, within=SETTLE_WITHIN, every=1, what="the system to settle")
        except AssertionError:
            return False
        return True

    async def settled(self) -> bool:
        if not self.relay.idle or self.restarting:
            return False
        rows = await self.db.rows(
            "SELECT (SELECT count(*) FROM commerce.payments WHERE status = 'pending') AS pending,"
            " (SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %(q)s AND task_name = 'notify_payment'"
            "  AND status IN ('todo', 'doing')) AS jobs",
            {"q": self.stack.env["JOBS_QUEUE"]},
        )
        return rows[0]["pending"] == 0 and rows[0]["jobs"] == 0

    async def audit(self, starting_stock: dict[str, int], settled: bool) -> Audit:
        pushes, transactions = await self.simulator_record("mpesa"), await self.simulator_record("paystack")
        completed = {p["checkout_request_id"]: p["amount"] * 100 for p in pushes if p["completed"]}
        completed |= {t["reference"]: t["amount"] for t in transactions if t["paid"]}
        payments = await self.db.rows(
            "SELECT p.id, p.provider, p.provider_reference AS ref, p.status, p.amount_minor, p.needs_review,"
            " p.customer_told_at IS NOT NULL AS told, o.number, o.status AS order_status, c.external_id AS sender"
            " FROM commerce.payments p JOIN commerce.orders o ON o.id = p.order_id"
            " JOIN commerce.customers c ON c.id = o.customer_id ORDER BY p.id"
        )
        paid = [p for p in payments if p["status"] == "paid"]
        paid_refs = Counter(p["ref"] for p in paid)
        jobs = await self.db.rows(
            "SELECT (args->>'payment_id')::bigint AS payment_id, status::text FROM procrastinate_jobs"
            " WHERE queue_name = %(q)s AND task_name = 'notify_payment'",
            {"q": self.stack.env["JOBS_QUEUE"]},
        )
        updates = await self.payment_updates({p["sender"] for p in payments})
        ended = [p for p in payments if p["status"] != "pending"]
        heard = {p["id"]: updates[(p["sender"], p["number"], p["status"])] for p in ended}
        orders = await self.db.rows(
            "SELECT o.number, o.status, bool_or(p.needs_review) AS flagged FROM commerce.orders o"
            " JOIN commerce.payments p ON p.order_id = o.id WHERE p.status = 'paid'"
            " AND o.status IN ('cancelled', 'expired') GROUP BY o.number, o.status"
        )
        stock = await self.db.rows(
            "SELECT p.sku, p.stock, coalesce(sum(i.quantity) FILTER (WHERE o.status = ANY(%(active)s)), 0) AS held"
            " FROM commerce.products p LEFT JOIN commerce.order_items i ON i.product_id = p.id"
            " LEFT JOIN commerce.orders o ON o.id = i.order_id GROUP BY p.sku, p.stock",
            {"active": list(ACTIVE)},
        )
        off = [f"{s['sku']}: {s['stock']} + {s['held']} != {starting_stock[s['sku']]}" for s in stock
               if s["stock"] + s["held"] != starting_stock[s["sku"]]]  # fmt: skip
        unpaid = sorted(ref for ref in completed if paid_refs[ref] == 0)
        twice = sorted(ref for ref, n in paid_refs.items() if n > 1)
        unearned = [p["number"] for p in paid if completed.get(p["ref"]) != p["amount_minor"]]
        untold = [p["number"] for p in ended if not p["told"] or heard[p["id"]] == 0]
        told_twice = [p["number"] for p in ended if heard[p["id"]] > 1]
        unfinished_jobs = [f"{j['payment_id']}: {j['status']}" for j in jobs if j["status"] != "succeeded"]
        job_counts = Counter(j["payment_id"] for j in jobs)
        extra_jobs = [str(pid) for pid, n in job_counts.items() if n > 1]
        ended_paid_unflagged = [o["number"] for o in orders if not o["flagged"]]
        pending = [p["number"] for p in payments if p["status"] == "pending"]
        statuses = Counter(f"{p['provider']} {p['status']}" for p in payments)
        lines = [
            Line("payments the provider completed", len(completed), False),
            Line("  of them paid here exactly once", sum(paid_refs[r] == 1 for r in completed), False),
            Line("  of them not paid here", len(unpaid), True, ", ".join(unpaid)),
            Line("provider transactions paid here more than once", len(twice), True, ", ".join(twice)),
            Line("payments paid without the provider's word", len(unearned), True, ", ".join(unearned)),
            Line("payments still pending after settling", len(pending), True, ", ".join(pending)),
            Line("settlements (payments that ended)", len(ended), False, counted(statuses)),
            Line("  customers never told", len(untold), True, ", ".join(untold)),
            Line("  customers told more than once", len(told_twice), True, ", ".join(told_twice)),
            Line("  payments with more than one message job", len(extra_jobs), True, ", ".join(extra_jobs)),
            Line("  message jobs not succeeded", len(unfinished_jobs), True, ", ".join(unfinished_jobs)),
            Line(
                "orders cancelled or expired and paid, flagged for staff",
                len(orders) - len(ended_paid_unflagged),
                False,
            ),
            Line(
                "orders cancelled or expired and paid, not flagged",
                len(ended_paid_unflagged),
                True,
                ", ".join(ended_paid_unflagged),
            ),
            Line("units held by orders (paid or awaiting payment)", sum(int(s["held"]) for s in stock), False),
            Line("products whose stock + held units differ from the start", len(off), True, "; ".join(off)),
        ]
        notes = [
            f"seed {self.plan.seed}, {len(self.purchases)} purchases "
            f"({sum(p.order is not None for p in self.purchases)} placed an order, "
            f"{sum(p.cancels for p in self.purchases)} cancelling), {time.monotonic() - self.started_at:.0f} s"
            + ("" if settled else f"; NOT SETTLED within {SETTLE_WITHIN} s"),
            "outcomes asked for: " + counted(Counter(p.expected for p in self.purchases)),
            "faults: " + counted(self.faults),
            "forged: " + counted(self.forged),
            "relay: " + counted(self.relay.counts),
            "",
        ]
        return Audit(lines, notes)

    async def payment_updates(self, senders: set[str]) -> Counter[tuple[str, str, str]]:
        """The payment updates each conversation received: (sender, order number, status) -> how many."""
        seen: Counter[tuple[str, str, str]] = Counter()
        for sender in senders:
            tracker = await eventually(
                lambda s=sender: self.rasa_call("GET", conversation_path(s) + "/tracker"), within=120, what="a tracker"
            )
            for event in tracker["events"]:
                parse = event.get("parse_data") or {}
                if event["event"] == "user" and (parse.get("intent") or {}).get("name") == "EXTERNAL_payment_update":
                    entities = {e["entity"]: e["value"] for e in parse.get("entities") or []}
                    seen[(sender, entities.get("order_number"), entities.get("payment_status"))] += 1
        return seen

    # --- the whole run

    async def run(self) -> Audit:
        self.services = await asyncio.to_thread(self.start_servers)
        self.db = Database(self.services.database_url)
        try:
            await asyncio.to_thread(self.prepare_database)
            stock = {r["sku"]: r["stock"] for r in await self.db.rows("SELECT sku, stock FROM commerce.products")}
            self.relay = Relay(Random(self.plan.seed + 1))
            relay = await self.relay.start()
            self.model = ensure_model(quiet=True)
            self.stack: Stack = await asyncio.to_thread(
                start_stack, self.services, self.log_dir / "first",
                PUBLIC_BASE_URL=relay, PAYSTACK_WEBHOOK_URL=f"{relay}/payments/paystack/webhook",
                RECONCILE_FIRST_CHECK_SECONDS="5", RECONCILE_BACKOFF_SECONDS="2", RECONCILE_INTERVAL_SECONDS="1",
                SIMULATOR_CALLBACK_DELAY="1", SIMULATOR_LATE_DELAY="8", SIMULATOR_PAYSTACK_AUTOPAY="4",
                REDIS_KEY_PREFIX="faults",
            )  # fmt: skip
            try:
                self.ports = {
                    role: int(self.stack.process(role).url.rsplit(":", 1)[1]) for role in ("sidecar", "actions")
                }
                self.sidecar = self.relay.target = self.stack.process("sidecar").url
                self.rasa = await asyncio.to_thread(
                    start_rasa_server,
                    self.model,
                    self.stack.rasa_env("faults"),
                    self.log_dir / "rasa-0",
                    self.stack.rasa_port,
                )
                self.note(f"stack up; {self.plan.purchases} purchases, seed {self.plan.seed}")
                supervisor = asyncio.get_running_loop().create_task(self.supervise())
                try:
                    faults = self.fault_plan()
                    await asyncio.gather(self.customers(over=3 * len(faults)), self.inflict(faults))
                    self.note("faults over: waiting for the system to settle")
                    settled = await self.settle()
                finally:
                    supervisor.cancel()
                return await self.audit(stock, settled)
            finally:
                if self.rasa is not None:
                    self.rasa.stop()
                self.stack.stop()
                await self.relay.stop()
        finally:
            self.services.stop()


def counted(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def empty(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


async def run(plan: Plan, work_dir: Path, say=print) -> Audit:
    """One fault run in `work_dir` (emptied first): its servers' data and every process's logs stay there."""
    await asyncio.to_thread(empty, work_dir)
    return await FaultRun(plan, work_dir, say).run()


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=20, help="how many purchases (default 20)")
    parser.add_argument("--seed", type=int, help="the seed of every random choice (default: a random one)")
    parser.add_argument("--rasa-kills", type=int, default=1, help="how often Rasa is killed (a minute or two each)")
    args = parser.parse_args(argv)
    load_dotenv()
    signal.signal(signal.SIGTERM, _interrupted)  # stop what the run started, as Ctrl-C does
    seed = args.seed if args.seed is not None else Random().randrange(1, 10**6)
    plan = Plan(purchases=args.purchases, seed=seed, rasa_kills=args.rasa_kills)
    audit = asyncio.run(run(plan, DATA_DIR / "faults"))
    print("\n" + audit.table())
    print(f"Replay: make test-faults N={plan.purchases} SEED={seed}   (logs under {DATA_DIR / 'faults' / 'logs'})")
    return 0 if audit.passed else 1


if __name__ == "__main__":
    sys.exit(main())
