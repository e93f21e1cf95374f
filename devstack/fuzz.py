"""`make test-fuzz`: every public route fuzzed with generated requests (tests/fuzz, tests/bot/test_whatsapp_fuzz.py).

    make test-fuzz N=10000 [RANDOM=1] [K=paystack]     .venv/bin/python -m devstack.fuzz --examples 10000

N requests per route from tests/fuzz/test_every_route.py (default 10,000), drawn in bulk; the
schemathesis and hypothesis tests, 10 to 100 times slower per request, give each route 50 (--engine-examples).
`make test` runs the same tests with FUZZ_EXAMPLES and FUZZ_SCHEMATHESIS unset, a short run.
RANDOM=1 draws new examples instead of the same ones each run. K selects tests (pytest -k).
Each run prints the requests per route and the 5xx count; it fails on any 5xx, and on any change to the
orders, payments or conversations made by a request that failed authentication.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from devstack.dotenv import load_dotenv
from devstack.paths import ACTIONS_VENV, RASA_VENV, ROOT
from devstack.services import ensure_services

# The channel's receive(), in process (Rasa's Sanic route calls it): signed and unsigned hostile bodies.
CHANNEL = "tests/bot/test_whatsapp_channel.py::test_signed_and_unsigned_hostile_webhooks_get_4xx_or_200_never_5xx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=10_000, help="examples per test and route (default 10,000)")
    parser.add_argument(
        "--engine-examples", type=int, default=50, help="examples per test of the schemathesis/hypothesis tests (50)"
    )
    parser.add_argument("--random", action="store_true", help="new examples each run")
    parser.add_argument("-k", default="", help="only the tests whose names match (pytest -k)")
    args = parser.parse_args(argv)
    load_dotenv()
    services = ensure_services("test")
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "FUZZ_EXAMPLES": str(args.examples),
        "FUZZ_SCHEMATHESIS": str(args.engine_examples),
        "PYTHONWARNINGS": "ignore",
        **({"FUZZ_RANDOM": "1"} if args.random else {}),
    }
    select = ["-k", args.k] if args.k else []
    runs = [
        [ACTIONS_VENV / "bin/pytest", "tests/fuzz", "-p", "no:cacheprovider", *select],
        [
            RASA_VENV / "bin/pytest",
            "-c",
            "tests/bot/pytest.ini",
            "-s",
            *select,
            "tests/bot/test_whatsapp_fuzz.py",
            CHANNEL,
        ],
    ]
    try:
        codes = [subprocess.run([str(part) for part in run], cwd=ROOT, env=env).returncode for run in runs]
    finally:
        services.stop()
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
