"""`make test-conversations`: many random walks through the real bot, then which invariants broke.

    make test-conversations N=200            200 walks of 12 turns, random seeds
    make test-conversations SEED=4711 TURNS=12   replay one walk (SEED takes a comma-separated list)

The walks are tests/e2e/test_conversation_walks.py run under pytest with the seeds chosen here, so
the stack is exactly the end-to-end tests' one (tests/e2e/conftest.py: PostgreSQL and Redis from
DATABASE_URL / REDIS_URL or embedded, a fresh migrated database, devstack.stack's simulator,
sidecar, worker and action server, one Rasa server), and every walk starts from a freshly loaded
demo shop. The invariants and the walker are in tests/walks.py. Exits 1 if any walk broke one.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from typing import Any

import pytest

from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ROOT
from tests.walks import INVARIANTS

TEST = "tests/e2e/test_conversation_walks.py"


class Collect:
    """A pytest plugin that keeps what each walk recorded (`record_property("walk", …)`) and any other failure."""

    def __init__(self) -> None:
        self.walks: list[dict[str, Any]] = []
        self.errors: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        walks = [value for name, value in report.user_properties if name == "walk"]
        if report.when == "call" and walks:
            self.walks.extend(walks)
        elif report.failed:
            self.errors.append((f"{report.nodeid} ({report.when})", report.longreprtext))


def summary(
    walks: list[dict[str, Any]], errors: list[tuple[str, str]], turns: int, seconds: float, every: bool = False
) -> str:
    broken = [w for w in walks if w["invariant"]]
    by_invariant: dict[int, list[int]] = defaultdict(list)
    for walk in broken:
        by_invariant[walk["invariant"]].append(walk["seed"])
    lines = []
    for walk in walks if every else broken:
        lines += ["", "=" * 100, walk["report"]]
    for nodeid, text in errors:
        lines += ["", "=" * 100, f"ERROR {nodeid} (not a walk's finding):", text[-4000:]]
    lines += [
        "",
        "=" * 100,
        f"{len(walks)} walks of up to {turns} turns in {seconds:.0f} s: "
        f"{len(walks) - len(broken)} kept every invariant, {len(broken)} broke one",
    ]
    for number, name in INVARIANTS.items():
        seeds = by_invariant.get(number, [])
        listed = f": seeds {', '.join(map(str, seeds))}" if seeds else ""
        lines.append(f"  {number}. {name}: {len(seeds)} walk{'s' if len(seeds) != 1 else ''}{listed}")
    if errors:
        lines.append(f"  and {len(errors)} error{'s' if len(errors) != 1 else ''} outside the walks (above)")
    if broken:
        lines.append(f"Replay one: make test-conversations SEED=<seed> TURNS={turns}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walks", type=int, default=50, help="how many walks, with random seeds (default 50)")
    parser.add_argument("--turns", type=int, default=12, help="customer messages per walk (default 12)")
    parser.add_argument("--seed", help="replay these seeds (comma-separated) instead of random ones")
    parser.add_argument("--all", action="store_true", help="print every walk's transcript, not only the failing ones")
    args = parser.parse_args(argv)

    load_dotenv()
    seeds = (
        [int(s) for s in args.seed.split(",") if s.strip()]
        if args.seed
        else random.SystemRandom().sample(range(1, 10**6), args.walks)
    )
    os.environ.update(WALK_SEEDS=",".join(map(str, seeds)), WALK_TURNS=str(args.turns))
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # Rasa's dependencies' deprecation warnings
    os.chdir(ROOT)
    model = ensure_model()  # here rather than in the fixture, so a training shows its progress
    # A replay takes the same path with the same model (and catalog): the walker follows the bot's state.
    print(f"==> {len(seeds)} walks of {args.turns} turns, model {model.name}", flush=True)

    collect = Collect()
    started = time.monotonic()
    code = pytest.main([TEST, "-q", "--tb=no", "-p", "no:cacheprovider", "-o", "addopts="], plugins=[collect])
    print(summary(collect.walks, collect.errors, args.turns, time.monotonic() - started, args.all))
    broken = any(w["invariant"] for w in collect.walks)
    return 1 if broken or collect.errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) else 0


if __name__ == "__main__":
    sys.exit(main())
