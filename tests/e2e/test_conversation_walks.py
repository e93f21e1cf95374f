"""Random walks through the real bot, with the conversation's invariants checked after every turn.

The walker and the invariants are in tests/walks.py. `make test` runs four fixed seeds of 12 turns;
`make test-conversations N=200` runs this module with random seeds (devstack/walks.py). Replay one:

    WALK_SEEDS=<seed> WALK_TURNS=<turns> .venv/bin/pytest tests/e2e/test_conversation_walks.py
"""

import os

import pytest

from tests.walks import Walker, cart_reader

SEEDS = [int(seed) for seed in os.environ.get("WALK_SEEDS", "1,2,3,4").split(",") if seed.strip()]
TURNS = int(os.environ.get("WALK_TURNS", "12"))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed={seed}")
async def test_a_random_conversation_keeps_the_invariants(shop, bot, sender, seed, record_property):
    """One walk: a fresh customer of the freshly loaded demo shop (full stock), `TURNS` messages."""
    walk = await Walker(bot, cart_reader(shop.sessions)).walk(seed, TURNS, sender)
    record_property("walk", walk.summary())
    if walk.violation:
        pytest.fail(walk.report(), pytrace=False)
