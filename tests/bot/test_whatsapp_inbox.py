"""The inbox's leases on real Redis: a burst taken for its turns stays in flight until it is acknowledged,
one taker gets it, and a lease that runs out lets another server have it again (bot/whatsapp/inbox.py)."""

import asyncio
import time
from urllib.parse import urlparse

from redis.asyncio import Redis

from bot.whatsapp.inbound import Inbound
from bot.whatsapp.inbox import Inbox, SentReplies
from tests.waiting import eventually

CONVERSATION = "106540352242922:254712345678"
DEBOUNCE = 0.05


def inbound(n: int, text: str = "") -> Inbound:
    phone_number_id, wa_id = CONVERSATION.split(":")
    return Inbound(f"wamid.{n}", phone_number_id, wa_id, int(time.time()) - 100 + n, "text", text or f"m{n}")


def run(redis_url, key_prefix, scenario, lease_seconds=20.0, servers=1):
    """`scenario(*inboxes)`: one Inbox per server, each with a Redis connection of its own."""

    async def main():
        url = urlparse(redis_url)
        clients = [Redis(host=url.hostname, port=url.port or 6379, db=int(url.path.strip("/") or 0))
                   for _ in range(servers)]  # fmt: skip
        try:
            return await scenario(*(Inbox(c, key_prefix, DEBOUNCE, lease_seconds) for c in clients))
        finally:
            for client in clients:
                await client.aclose() if hasattr(client, "aclose") else await client.close()

    return asyncio.run(main())


async def accepted(inbox: Inbox, *messages: Inbound) -> None:
    for m in messages:
        assert await inbox.accept(m)


async def taken(inbox: Inbox, owner: str):
    """The burst, once its debounce is over."""
    return await eventually(lambda: inbox.take(CONVERSATION, owner), within=5, what="a burst to take")


def texts(burst) -> list[str]:
    return [m.text for m in burst.messages]


def test_a_taken_burst_stays_in_flight_until_acknowledged_and_nobody_else_takes_it(redis_url, key_prefix):
    async def scenario(inbox):
        await accepted(inbox, inbound(2), inbound(1))
        burst = await taken(inbox, "server-a")
        in_flight = await inbox.redis.zscore(inbox.leases_key, CONVERSATION)
        during = await inbox.take(CONVERSATION, "server-b")
        await accepted(inbox, inbound(3))  # arrives while the burst is in flight: waits for the next take
        await eventually(inbox.due, within=5, what="m3's debounce to be over")
        still_held = await inbox.take(CONVERSATION, "server-b")
        acked = await inbox.ack(burst)
        after = await taken(inbox, "server-b")
        return burst, in_flight, during, still_held, acked, after, await inbox.due()

    burst, in_flight, during, still_held, acked, after, due = run(redis_url, key_prefix, scenario)
    assert texts(burst) == ["m1", "m2"] and burst.takes == 1 and not burst.taken_again
    assert in_flight is not None and during is None and still_held is None
    assert acked and texts(after) == ["m3"]
    assert due == []  # m3 is in flight under a live lease: nothing for a sweep


def test_an_acknowledged_burst_leaves_nothing_behind(redis_url, key_prefix):
    async def scenario(inbox):
        await accepted(inbox, inbound(1))
        burst = await taken(inbox, "server-a")
        assert await inbox.ack(burst)
        keys = [k async for k in inbox.redis.scan_iter(match=f"{inbox.prefix}:*")]
        return sorted(k.decode().split(":")[2] for k in keys), await inbox.take(CONVERSATION, "server-b")

    kinds, again = run(redis_url, key_prefix, scenario)
    assert "inflight" not in kinds and "leases" not in kinds and "queue" not in kinds and "pending" not in kinds
    assert again is None


def test_a_lease_that_runs_out_lets_another_server_take_the_burst_and_the_first_cannot_acknowledge_it(
    redis_url, key_prefix
):
    async def scenario(a, b):
        await accepted(a, inbound(1), inbound(2))
        first = await taken(a, "server-a")  # then server A dies: nobody renews
        due = await eventually(b.due, within=5, what="the lease to run out")
        second = await taken(b, "server-b")
        return first, due, second, await a.renew(first), await a.ack(first), await b.ack(second), await b.due()

    first, due, second, renewed, late_ack, ack, due_after = run(redis_url, key_prefix, scenario, 0.3, servers=2)
    assert due == [CONVERSATION]
    assert texts(second) == texts(first) == ["m1", "m2"]
    assert (second.takes, second.taken_again, second.owner) == (2, True, "server-b")
    assert (renewed, late_ack, ack) == (False, False, True)
    assert due_after == []


def test_a_renewed_lease_outlives_its_length(redis_url, key_prefix):
    async def scenario(a, b):
        await accepted(a, inbound(1))
        burst = await taken(a, "server-a")
        others = []
        for _ in range(6):  # 0.6 s, twice the lease, renewed every 0.1 s
            await asyncio.sleep(0.1)
            assert await a.renew(burst)
            others.append(await b.take(CONVERSATION, "server-b"))
        return others, await a.ack(burst)

    others, acked = run(redis_url, key_prefix, scenario, 0.3, servers=2)
    assert others == [None] * 6 and acked


def test_of_many_servers_taking_one_burst_at_once_exactly_one_gets_it(redis_url, key_prefix):
    async def scenario(*inboxes):
        await accepted(inboxes[0], *(inbound(n) for n in range(5)))
        await eventually(lambda: inboxes[0].due(), within=5, what="the burst to be over")
        return await asyncio.gather(*(inbox.take(CONVERSATION, f"server-{n}") for n, inbox in enumerate(inboxes)))

    for attempt in range(5):  # fresh conversation state each time
        results = run(redis_url, f"{key_prefix}{attempt}", scenario, servers=8)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1 and len(winners[0].messages) == 5


def test_of_many_servers_taking_over_an_expired_lease_exactly_one_gets_it(redis_url, key_prefix):
    async def scenario(*inboxes):
        await accepted(inboxes[0], inbound(1))
        await taken(inboxes[0], "server-dead")
        await eventually(lambda: inboxes[0].due(), within=5, what="the lease to run out")
        return await asyncio.gather(*(inbox.take(CONVERSATION, f"server-{n}") for n, inbox in enumerate(inboxes)))

    results = run(redis_url, key_prefix, scenario, 0.2, servers=8)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].takes == 2


def test_replies_a_dead_server_sent_for_a_turn_are_not_sent_again_by_the_next(redis_url, key_prefix):
    hello, menu = {"type": "text", "text": {"body": "Karibu"}}, {"type": "text", "text": {"body": "Menu"}}

    async def scenario(a, b):
        await accepted(a, inbound(1))
        first = await taken(a, "server-a")
        sent = await SentReplies.of(a, first, "wamid.1")
        assert sent.unsent(hello)  # a fresh burst: everything goes out
        await sent.record(hello)
        await sent.record(hello)  # the same words twice in one turn
        await eventually(b.due, within=5, what="the lease to run out")
        second = await taken(b, "server-b")
        again = await SentReplies.of(b, second, "wamid.1")
        other_turn = await SentReplies.of(b, second, "wamid.9")
        decisions = [again.unsent(hello), again.unsent(hello), again.unsent(hello), again.unsent(menu)]
        await b.ack(second)
        await sent.record(menu)  # the dead server's late write does not bring the acknowledged burst back
        return decisions, other_turn.unsent(hello), await a.redis.exists(f"{a.prefix}:inflight:{CONVERSATION}")

    decisions, other_turn, left = run(redis_url, key_prefix, scenario, 0.3, servers=2)
    assert decisions == [False, False, True, True]
    assert other_turn and left == 0


def test_a_burst_still_arriving_is_not_taken(redis_url, key_prefix):
    async def scenario(inbox):
        inbox.debounce_ms = 60_000
        await accepted(inbox, inbound(1))
        return await inbox.take(CONVERSATION, "server-a"), await inbox.due()

    assert run(redis_url, key_prefix, scenario) == (None, [])
