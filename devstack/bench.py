"""`make bench`: how a conversation turn costs, as ratios to a bare Rasa turn measured in the same run.

Everything runs on this machine, over HTTP (Rasa's REST channel), against real PostgreSQL and Redis:

- baseline: the same model with a trivial action server (devstack/trivial_actions.py);
- commerce: the real action server; p50, p95 and p99 of a turn;
- returning customer: 5,000 events in 100 earlier sessions against a new customer (medians), with
  this project's tracker store and, for comparison, Rasa's stock RedisTrackerStore;
- long session: turns 271 to 300 of one session against turns 1 to 30;
- throughput: 50 conversations at once;
- webhooks: signed Paystack charge.success webhooks posted to the sidecar at once, each about a
  different payment and then the same again (duplicates), as ratios to pgbench's single-row INSERT
  rate on the same database in the same run; the duplicates' writes are counted.

Figures go to stdout and to .data/bench/<time>.json. They are figures, not pass or fail.

    .venv/bin/python -m devstack.bench [--quick] [--skip-stock] [--only webhooks]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from actions.rasa_api import conversation_path
from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ACTIONS_PYTHON, DATA_DIR, DEMO_CATALOG, ROOT
from devstack.processes import Process, spawn, start_rasa_server, start_sidecar, wait_until
from devstack.services import Services, ensure_services, free_port
from devstack.stack import start_stack

OUT = DATA_DIR / "bench"
MESSAGES = ("show me your products", "my cart", "do you have sugar?")
STOCK_ENDPOINTS = """
action_endpoint:
  url: ${ACTION_ENDPOINT_URL}
tracker_store:
  type: redis
  url: ${REDIS_HOST}
  port: ${REDIS_PORT}
  db: ${REDIS_DB}
  password: ${REDIS_PASSWORD}
  key_prefix: ${REDIS_KEY_PREFIX}
lock_store:
  type: redis
  url: ${REDIS_HOST}
  port: ${REDIS_PORT}
  db: ${REDIS_DB}
  password: ${REDIS_PASSWORD}
  key_prefix: ${REDIS_KEY_PREFIX}
"""


@dataclass
class Sizes:
    turns: int = 60
    history_sessions: int = 100
    events_per_session: int = 50
    compare_turns: int = 30
    long_session: int = 300
    concurrent: int = 50
    turns_each: int = 6
    webhooks: int = 3000
    webhook_clients: int = 32
    pgbench_seconds: int = 10


QUICK = Sizes(turns=24, history_sessions=40, compare_turns=12, long_session=90, concurrent=20, turns_each=3,
              webhooks=1000, pgbench_seconds=5)  # fmt: skip
WEBHOOK_TARGET = 0.1  # webhooks/s against pgbench's inserts/s (issue "Payments you can trust", item 7)
PGBENCH_CLIENTS = 8
PAYSTACK_SAMPLE = ROOT / "tests/providers/paystack/paystack_webhook_charge_success_card.json"
STATS_FLUSH_SECONDS = 11  # PostgreSQL 15+ backends publish their counters after at most 10 s idle


@dataclass
class Results:
    figures: dict = field(default_factory=dict)

    def add(self, name: str, **values) -> None:
        self.figures[name] = values
        shown = ", ".join(f"{k} {v:.1f} ms" if k.endswith("_ms") else f"{k} {v:.2f}" for k, v in values.items())
        print(f"    {name}: {shown}", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def turn(client: httpx.AsyncClient, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def conversation(client: httpx.AsyncClient, sender: str, turns: int) -> list[float]:
    await turn(client, sender, "hi")  # the session start is not what is measured
    return [await turn(client, sender, MESSAGES[n % len(MESSAGES)]) for n in range(turns)]


async def side_by_side(client: httpx.AsyncClient, first: str, second: str, turns: int) -> tuple[list, list]:
    """Two conversations' turns taken in turn, so that both meet the same machine load."""
    await turn(client, first, "hi")
    await turn(client, second, "hi")
    a, b = [], []
    for n in range(turns):
        a.append(await turn(client, first, MESSAGES[n % len(MESSAGES)]))
        b.append(await turn(client, second, MESSAGES[n % len(MESSAGES)]))
    return a, b


def history(sessions: int, per_session: int, first: float) -> list[list[dict]]:
    """Earlier sessions as Rasa records them, two hours apart (each one a new session)."""
    exchanges = max(1, -(-(per_session - 3) // 4))  # rounded up: at least per_session events
    result = []
    for s in range(sessions):
        t = first + s * 7200
        events = [
            {"event": "action", "name": "action_session_start", "timestamp": t},
            {"event": "session_started", "timestamp": t + 0.01},
            {"event": "action", "name": "action_listen", "timestamp": t + 0.02},
        ]
        for n in range(exchanges):
            u = t + 1 + n * 5
            events += [
                {"event": "user", "text": f"show me your products {n}", "timestamp": u,
                 "parse_data": {"intent": {"name": "browse_catalog", "confidence": 1.0}, "entities": []}},
                {"event": "action", "name": "action_show_catalog", "timestamp": u + 0.1},
                {"event": "bot", "text": "Here is what we sell: " + "• a product\n" * 20, "timestamp": u + 0.2},
                {"event": "action", "name": "action_listen", "timestamp": u + 0.3},
            ]  # fmt: skip
        result.append(events)
    return result


async def seed_history(client: httpx.AsyncClient, sender: str, sizes: Sizes) -> int:
    first = time.time() - (sizes.history_sessions + 2) * 7200
    total = 0
    for events in history(sizes.history_sessions, sizes.events_per_session, first):
        response = await client.post(conversation_path(sender) + "/tracker/events", json=events)
        response.raise_for_status()
        total += len(events)
    return total


async def measure(rasa_url: str, sizes: Sizes, results: Results, label: str, everything: bool) -> None:
    slug = label.replace(" ", "-")  # conversation ids travel in URL paths
    async with httpx.AsyncClient(base_url=rasa_url, timeout=120) as client:
        if everything:
            timings = []
            for _ in range(3):
                timings += await conversation(client, f"{slug}-{uuid.uuid4().hex[:8]}", sizes.turns // 3)
            results.add(f"{label}: one turn", p50_ms=percentile(timings, 50), p95_ms=percentile(timings, 95),
                        p99_ms=percentile(timings, 99))  # fmt: skip
        returning = f"{slug}-returning-{uuid.uuid4().hex[:8]}"
        events = await seed_history(client, returning, sizes)
        stored = len((await client.get(conversation_path(returning) + "/tracker")).json()["events"])
        assert stored >= events, f"the history did not arrive: {stored} of {events} events stored"
        new, old = await side_by_side(client, f"{slug}-new-{uuid.uuid4().hex[:8]}", returning, sizes.compare_turns)
        results.add(f"{label}: returning customer ({events} events of history)",
                    new_ms=statistics.median(new), returning_ms=statistics.median(old),
                    ratio=statistics.median(old) / statistics.median(new))  # fmt: skip
        if not everything:
            return
        long = await conversation(client, f"{slug}-long-{uuid.uuid4().hex[:8]}", sizes.long_session)
        first, last = long[:30], long[-30:]
        results.add(f"{label}: one session of {sizes.long_session} turns",
                    first_30_ms=statistics.median(first), last_30_ms=statistics.median(last),
                    ratio=statistics.median(last) / statistics.median(first))  # fmt: skip
        senders = [f"{slug}-many-{n}-{uuid.uuid4().hex[:6]}" for n in range(sizes.concurrent)]
        started = time.perf_counter()
        await asyncio.gather(*(conversation(client, s, sizes.turns_each) for s in senders))
        elapsed = time.perf_counter() - started
        turns = sizes.concurrent * (sizes.turns_each + 1)
        results.figures[f"{label}: throughput"] = {"turns_per_second": turns / elapsed}
        print(f"    {label}: throughput with {sizes.concurrent} conversations at once: {turns / elapsed:.1f} turns/s")


def bench_database(services: Services) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    server = make_url(services.database_url)
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_database(services: Services, name: str) -> None:
    admin = make_url(services.database_url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(database_url: str) -> None:
    import subprocess

    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([str(ACTIONS_PYTHON), "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([str(ACTIONS_PYTHON), "-m", "actions.cli", "import-catalog", str(DEMO_CATALOG), "--tenant",
                    "demo-shop", "--name", "Demo Shop", "--currency", "KES"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip


def trivial_action_server(logs: Path) -> Process:
    port = free_port()
    process = spawn(f"trivial-actions-{port}", [str(ACTIONS_PYTHON), "-m", "devstack.trivial_actions"],
                    {"ACTION_SERVER_PORT": str(port)}, f"http://127.0.0.1:{port}", logs)  # fmt: skip
    wait_until(process, "/health", timeout=60)
    return process


def sidecar_workers() -> int:
    """SIDECAR_WORKERS when set, else one per core (the cores pgbench is measured on)."""
    return int(os.environ.get("SIDECAR_WORKERS") or os.cpu_count() or 1)


def pgbench_inserts_per_second(database_url: str, seconds: int) -> float:
    """pgbench's rate of one-row INSERT transactions into a throwaway table of the same database."""
    url = make_url(database_url).render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_t (v double precision)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write("INSERT INTO bench_t(v) VALUES (random());\n")
        script.flush()
        command = ["pgbench", "-n", "-f", script.name, "-c", str(PGBENCH_CLIENTS), "-j", "2", "-T", str(seconds), url]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE bench_t")
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


async def pending_payments(count: int) -> list[tuple[bytes, str]]:
    """`count` orders of one customer each, each with a pending Paystack payment, made by the use cases the
    sidecar tests use; returns each payment's charge.success webhook for its amount and its signature."""
    from actions import runtime
    from actions.commerce import cart, orders, payment_requests
    from actions.commerce.model import CustomerRef

    rt = runtime.current()
    sample = json.loads(PAYSTACK_SAMPLE.read_text())
    gate = asyncio.Semaphore(8)

    async def one(n: int) -> tuple[bytes, str]:
        async with gate:
            who = CustomerRef("demo-shop", f"2547{n:08d}")
            await cart.add(rt.uow(), who, "SUGAR-1KG", 1)
            order = await orders.place(rt.uow(), who, "Kilimani")
            reference = f"BENCH-{n}-{secrets.token_hex(4)}"
            await payment_requests.start(rt.uow(), order.id, "paystack", reference, order.total, who.external_id)
        body = copy.deepcopy(sample)
        body["data"].update(reference=reference, amount=order.total.minor, currency=order.total.currency)
        raw = json.dumps(body).encode()
        return raw, hmac.new(rt.settings.paystack_secret_key.encode(), raw, hashlib.sha512).hexdigest()

    return await asyncio.gather(*(one(n) for n in range(count)))


def cpu_seconds(process: Process) -> float:
    """User and system CPU of a process group's living processes (the sidecar and its workers): less
    noisy than a rate when other work shares the cores."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[2]) == process.popen.pid:  # its process group (spawn starts a new session)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def deliver_all(url: str, webhooks: list[tuple[bytes, str]], clients: int) -> tuple[float, Counter]:
    """Post every webhook once over `clients` keep-alive HTTP/1.1 connections; the seconds it took and how
    they were answered. Plain asyncio streams, not httpx: httpx spent 2 to 4 ms of CPU on each request
    here, so on a core shared with the sidecar it measured itself (at most 250 to 500 requests a second);
    this costs about 0.2 ms."""
    answers: Counter = Counter()
    waiting = iter(webhooks)  # shared by the senders: each webhook goes once
    address = httpx.URL(url)

    async def sender() -> None:
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            for raw, signature in waiting:
                writer.write(
                    f"POST /payments/paystack/webhook HTTP/1.1\r\nHost: {address.host}\r\n"
                    f"Content-Type: application/json\r\nX-Paystack-Signature: {signature}\r\n"
                    f"Content-Length: {len(raw)}\r\n\r\n".encode()
                    + raw
                )
                status, body = await read_response(reader)
                answers[f"{status} {json.loads(body).get('status')}"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(clients)))
    return time.perf_counter() - started, answers


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """An HTTP/1.1 response with a Content-Length (Sanic's JSON answers): its status and its body."""
    status, length = int((await reader.readline()).split()[1]), 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


def write_counters(database_url: str) -> dict[str, int]:
    """The ledger's rows, its id sequence and the database's tuple writes, once every backend has published them."""
    time.sleep(STATS_FLUSH_SECONDS)
    url = make_url(database_url).render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        events, sequence = conn.execute(
            "SELECT (SELECT count(*) FROM commerce.payment_events),"
            " pg_sequence_last_value(pg_get_serial_sequence('commerce.payment_events', 'id')::regclass)"
        ).fetchone()
        inserted, updated, deleted = conn.execute(
            "SELECT tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return {"ledger_rows": events, "ledger_id_sequence": sequence, "tuples_inserted": inserted,
            "tuples_updated": updated, "tuples_deleted": deleted}  # fmt: skip


async def measure_webhooks(services: Services, sizes: Sizes, results: Results, logs: Path) -> None:
    """The sidecar as a real process on its own database: unique, then duplicate signed webhooks, and pgbench."""
    from actions import runtime
    from actions.settings import Settings

    database_url, name = bench_database(services)
    secret = "sk_test_" + secrets.token_hex(16)
    sidecar = None
    try:
        prepare(database_url)
        with psycopg.connect(make_url(database_url).render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute("UPDATE commerce.products SET stock = 1000000")  # enough sugar for every order
        await runtime.start(Settings.load(database_url=database_url, redis_url=services.redis_url,
                                          paystack_secret_key=secret))  # fmt: skip
        try:
            warm_up = 2 * sizes.webhook_clients
            webhooks = await pending_payments(sizes.webhooks + warm_up)
        finally:
            await runtime.stop()
        queue = f"bench-{uuid.uuid4().hex[:6]}"  # no worker takes the customers' messages
        env = {"PAYSTACK_SECRET_KEY": secret, "JOBS_QUEUE": queue, "SIDECAR_WORKERS": str(sidecar_workers())}
        sidecar = start_sidecar(Services(database_url, services.redis_url), logs, env=env)
        await deliver_all(sidecar.url, webhooks[:warm_up], sizes.webhook_clients)
        measured = webhooks[warm_up:]
        inserts_before = pgbench_inserts_per_second(database_url, sizes.pgbench_seconds)
        cpu, client = cpu_seconds(sidecar), time.process_time()
        unique_seconds, unique_answers = await deliver_all(sidecar.url, measured, sizes.webhook_clients)
        unique_cpu, cpu = cpu_seconds(sidecar) - cpu, cpu_seconds(sidecar)
        unique_client, client = time.process_time() - client, time.process_time()
        before = write_counters(database_url)
        cpu, client = cpu_seconds(sidecar), time.process_time()
        duplicate_seconds, duplicate_answers = await deliver_all(sidecar.url, measured, sizes.webhook_clients)
        duplicate_cpu, duplicate_client = cpu_seconds(sidecar) - cpu, time.process_time() - client
        after = write_counters(database_url)
        inserts_after = pgbench_inserts_per_second(database_url, sizes.pgbench_seconds)
    finally:
        if sidecar:
            sidecar.stop()
        drop_database(services, name)
    unique, duplicate = len(measured) / unique_seconds, len(measured) / duplicate_seconds
    inserts = (inserts_before + inserts_after) / 2  # before and after the webhooks: the machine's load drifts
    results.figures["webhooks"] = {
        "unique_per_second": unique, "duplicate_per_second": duplicate, "pgbench_inserts_per_second": inserts,
        "pgbench_before_and_after": [inserts_before, inserts_after],
        "unique_ratio": unique / inserts, "duplicate_ratio": duplicate / inserts, "target_ratio": WEBHOOK_TARGET,
        "webhooks": len(measured), "clients": sizes.webhook_clients, "pgbench_clients": PGBENCH_CLIENTS,
        "sidecar_workers": sidecar_workers(),
        "unique_sidecar_cpu_ms_each": unique_cpu * 1000 / len(measured),
        "duplicate_sidecar_cpu_ms_each": duplicate_cpu * 1000 / len(measured),
        "unique_client_cpu_ms_each": unique_client * 1000 / len(measured),
        "duplicate_client_cpu_ms_each": duplicate_client * 1000 / len(measured),
        "unique_answers": dict(unique_answers), "duplicate_answers": dict(duplicate_answers),
        "writes_of_the_duplicates": {k: after[k] - before[k] for k in after},
    }  # fmt: skip
    print(f"    pgbench single-row INSERT ({PGBENCH_CLIENTS} clients, -j 2): {inserts:,.0f} tps"
          f" ({inserts_before:,.0f} before the webhooks, {inserts_after:,.0f} after);"
          f" sidecar workers: {sidecar_workers()}")  # fmt: skip
    phases = (("unique", unique, unique_cpu, unique_client, unique_answers),
              ("duplicate", duplicate, duplicate_cpu, duplicate_client, duplicate_answers))  # fmt: skip
    for label, rate, cpu, client, answers in phases:
        shown = ", ".join(f"{n} x {answer}" for answer, n in answers.items())
        print(f"    {label} webhooks ({len(measured)}, {sizes.webhook_clients} at once): {rate:,.0f}/s,"
              f" {rate / inserts:.3f}x pgbench (target >= {WEBHOOK_TARGET}x), CPU each: sidecar"
              f" {cpu * 1000 / len(measured):.1f} ms, client {client * 1000 / len(measured):.2f} ms;"
              f" answers: {shown}")  # fmt: skip
    writes = ", ".join(f"{k} +{after[k] - before[k]}" for k in after)
    print(f"    writes during the duplicates: {writes}")


async def run(sizes: Sizes, with_stock: bool) -> dict:
    load_dotenv()
    services = ensure_services("bench")
    database_url, name = bench_database(services)
    logs = OUT / "logs"
    processes: list[Process] = []
    results = Results()
    stack = None
    try:
        print("==> Preparing a database, the model and the processes", flush=True)
        prepare(database_url)
        model = ensure_model()
        bench_services = Services(database_url, services.redis_url)
        stack = start_stack(bench_services, logs)
        prefix = f"bench{uuid.uuid4().hex[:6]}"

        trivial = trivial_action_server(logs)
        processes.append(trivial)
        env = {**stack.rasa_env(prefix + "b"), "ACTION_ENDPOINT_URL": f"{trivial.url}/webhook"}
        print("==> Baseline: the same model, a trivial action server", flush=True)
        baseline_rasa = start_rasa_server(model, env, logs)
        processes.append(baseline_rasa)
        async with httpx.AsyncClient(base_url=baseline_rasa.url, timeout=120) as client:
            timings = []
            for _ in range(3):
                timings += await conversation(client, f"base-{uuid.uuid4().hex[:8]}", sizes.turns // 3)
        baseline = statistics.median(timings)
        results.add("baseline: one turn", p50_ms=baseline, p95_ms=percentile(timings, 95))
        baseline_rasa.stop()

        print("==> Commerce: the real action server, this project's tracker and lock stores", flush=True)
        commerce = start_rasa_server(model, {**stack.rasa_env(prefix + "c")}, logs, stack.rasa_port)
        processes.append(commerce)
        await measure(commerce.url, sizes, results, "commerce", everything=True)
        commerce.stop()

        if with_stock:
            print("==> For comparison: Rasa's stock RedisTrackerStore and RedisLockStore", flush=True)
            stock_endpoints = OUT / "endpoints-stock.yml"
            stock_endpoints.write_text(STOCK_ENDPOINTS)
            stock = start_rasa_server(model, stack.rasa_env(prefix + "s"), logs, endpoints=stock_endpoints)
            processes.append(stock)
            await measure(stock.url, sizes, results, "stock store", everything=False)
            stock.stop()

        print("==> Webhooks: signed Paystack webhooks to the sidecar against pgbench's INSERTs", flush=True)
        await measure_webhooks(services, sizes, results, logs)
    finally:
        for process in processes:
            process.stop()
        if stack:
            stack.stop()
        drop_database(services, name)
        services.stop()

    figures = results.figures

    def ratio(prefix: str) -> float:
        return next(v["ratio"] for k, v in figures.items() if k.startswith(prefix))

    summary = {
        "commerce p50 / baseline p50": figures["commerce: one turn"]["p50_ms"] / baseline,
        "commerce p95 / baseline p50": figures["commerce: one turn"]["p95_ms"] / baseline,
        "commerce p99 / baseline p50": figures["commerce: one turn"]["p99_ms"] / baseline,
        "returning / new customer": ratio("commerce: returning"),
        "turns 271-300 / turns 1-30": ratio("commerce: one session"),
        "throughput / sequential baseline rate": figures["commerce: throughput"]["turns_per_second"] * baseline / 1000,
    }  # fmt: skip
    if with_stock:
        summary["stock store: returning / new customer"] = ratio("stock store: returning")
    summary |= webhook_ratios(figures)
    return {"figures": figures, "ratios": summary, "baseline_p50_ms": baseline}


def webhook_ratios(figures: dict) -> dict[str, float]:
    webhooks = figures["webhooks"]
    return {
        f"unique webhooks / pgbench inserts (target {WEBHOOK_TARGET})": webhooks["unique_ratio"],
        f"duplicate webhooks / pgbench inserts (target {WEBHOOK_TARGET})": webhooks["duplicate_ratio"],
    }


async def run_webhooks(sizes: Sizes) -> dict:
    """`--only webhooks`: that section alone, on its own database."""
    load_dotenv()
    services = ensure_services("bench")
    results = Results()
    try:
        print("==> Webhooks: signed Paystack webhooks to the sidecar against pgbench's INSERTs", flush=True)
        await measure_webhooks(services, sizes, results, OUT / "logs")
    finally:
        services.stop()
    return {"figures": results.figures, "ratios": webhook_ratios(results.figures)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a few minutes)")
    parser.add_argument("--skip-stock", action="store_true", help="do not measure Rasa's stock tracker store")
    parser.add_argument("--only", choices=["webhooks"], help="run one section alone")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    started = time.monotonic()
    if args.only == "webhooks":
        report = asyncio.run(run_webhooks(sizes))
    else:
        report = asyncio.run(run(sizes, with_stock=not args.skip_stock))
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    report["sizes"] = sizes.__dict__
    report["seconds"] = round(time.monotonic() - started)
    print("\n==> Ratios (each to the baseline or its own reference, measured in this run)")
    for name, value in report["ratios"].items():
        print(f"    {name:45s} {value:6.2f}")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nSaved to {path.relative_to(ROOT)} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
