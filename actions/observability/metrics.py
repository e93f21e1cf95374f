"""Prometheus metrics of one app (each app has its own registry), scraped at GET /metrics.

Counts that live in another process (the worker's reconciliation outcomes) are kept in a Redis
hash and read at scrape time, like the payments per state, which come from one GROUP BY.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from actions import runtime
from actions.db import tables as t

RECONCILIATION_KEY = "shop:metrics:reconciliation"
ACTION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SCRAPE_TIMEOUT_SECONDS = 5

log = logging.getLogger("observability.metrics")


class Snapshot(Collector):
    """Values read (asynchronously) just before a scrape, reported as one metric family."""

    def __init__(self, name: str, documentation: str, labels: list[str], counter: bool = False) -> None:
        self.name, self.documentation, self.labels, self.counter = name, documentation, labels, counter
        self.values: dict[tuple[str, ...], float] = {}

    def _family(self) -> Metric:
        kind = CounterMetricFamily if self.counter else GaugeMetricFamily
        return kind(self.name, self.documentation, labels=self.labels)

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for labels, value in sorted(self.values.items()):
            family.add_metric(list(labels), value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhooks = Counter(
            "webhooks", "Payment callbacks and webhooks received", ["provider", "outcome"], registry=self.registry
        )
        self.action_seconds = Histogram(
            "action_duration_seconds", "Time to run a custom action", ["action"],
            buckets=ACTION_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.db_connections = Gauge(
            "db_connections_used", "Connections checked out of the SQLAlchemy pool", registry=self.registry
        )
        self.db_connections.set_function(_connections_checked_out)
        self.payments = Snapshot("payments_by_state", "Payments per provider and status", ["provider", "status"])
        self.reconciliation = Snapshot(
            "reconciliation_outcomes", "What the worker's provider checks concluded", ["provider", "outcome"], True
        )
        self.registry.register(self.payments)
        self.registry.register(self.reconciliation)
        ProcessCollector(registry=self.registry)

    async def exposition(self, rt: runtime.Runtime) -> bytes:
        await asyncio.gather(self._read_payments(rt), self._read_reconciliation(rt.redis))
        return generate_latest(self.registry)

    async def _read_payments(self, rt: runtime.Runtime) -> None:
        query = select(t.Payment.provider, t.Payment.status, func.count()).group_by(
            t.Payment.provider, t.Payment.status
        )
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS), rt.sessions() as session:
                rows = (await session.execute(query)).all()
        except Exception as e:  # the other metrics are still worth serving
            log.warning("metrics: payments per state not read: %s", e)
            rows = []
        self.payments.values = {(provider, status): count for provider, status, count in rows}

    async def _read_reconciliation(self, redis: Redis | None) -> None:
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                stored = await redis.hgetall(RECONCILIATION_KEY) if redis is not None else {}
        except (RedisError, TimeoutError) as e:
            log.warning("metrics: reconciliation outcomes not read: %s", e)
            stored = {}
        self.reconciliation.values = {
            tuple(_text(field).split(":", 1)): float(value) for field, value in stored.items() if ":" in _text(field)
        }


async def count_reconciliation(redis: Redis | None, provider: str, outcome: str) -> None:
    """Called by the worker for each provider check; the counts outlive the process, in Redis."""
    if redis is None:
        return
    try:
        await redis.hincrby(RECONCILIATION_KEY, f"{provider}:{outcome}", 1)
    except RedisError as e:
        log.warning("metrics: reconciliation outcome not counted: %s", e)


def _connections_checked_out() -> float:
    try:
        return runtime.current().engine.pool.checkedout()
    except RuntimeError:  # not started yet, or stopped
        return 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
