"""Profile the slowest path `make bench` finds (a long session's late turns) with py-spy.

Starts the stack and a Rasa server, drives one session of `--turns` turns and records the Rasa
server with py-spy during the last `--record` turns. Prints the functions with the most samples
(inclusive) and writes the collapsed stacks to .data/bench/profile-<time>.txt.

    .venv/bin/python -m devstack.profile_session [--turns 300] [--record 60]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx

from devstack.bench import MESSAGES, OUT, bench_database, drop_database, prepare, turn
from devstack.dotenv import load_dotenv
from devstack.model import ensure_model
from devstack.paths import ROOT
from devstack.processes import start_rasa_server
from devstack.services import Services, ensure_services
from devstack.stack import start_stack


def summarize(collapsed: str, top: int = 25) -> list[tuple[str, float]]:
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        for frame in set(stack.split(";")):
            inclusive[frame] += samples
    # Frames in more than half of the samples are the server's own loop and request handling: not news.
    interesting = [(frame, n) for frame, n in inclusive.most_common() if n <= total / 2]
    return [(frame, 100 * n / total) for frame, n in interesting[:top]] if total else []


async def drive(url: str, turns: int, record: int, pid: int, output) -> list[float]:
    timings = []
    sender = f"profile-{uuid.uuid4().hex[:8]}"
    spy = None
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await turn(client, sender, "hi")
        for n in range(turns):
            if n == turns - record:
                spy = await asyncio.create_subprocess_exec(
                    shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(pid),
                    "--format", "raw", "--output", str(output), "--rate", "200", "--nonblocking",
                )  # fmt: skip
                await asyncio.sleep(1)
            timings.append(await turn(client, sender, MESSAGES[n % len(MESSAGES)]))
    if spy:
        spy.send_signal(signal.SIGINT)
        await asyncio.wait_for(spy.wait(), 30)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--record", type=int, default=60)
    args = parser.parse_args()
    load_dotenv()
    services = ensure_services("bench")
    database_url, name = bench_database(services)
    stack = rasa = None
    output = OUT / f"profile-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.txt"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        prepare(database_url)
        stack = start_stack(Services(database_url, services.redis_url), OUT / "logs")
        rasa = start_rasa_server(ensure_model(), stack.rasa_env(f"prof{uuid.uuid4().hex[:6]}"), OUT / "logs",
                                 stack.rasa_port)  # fmt: skip
        timings = asyncio.run(drive(rasa.url, args.turns, args.record, rasa.popen.pid, output))
    finally:
        if rasa:
            rasa.stop()
        if stack:
            stack.stop()
        drop_database(services, name)
        services.stop()
    first, last = sorted(timings[:30])[15], sorted(timings[-30:])[15]
    print(f"median turn: first 30 {first:.0f} ms, last 30 {last:.0f} ms ({last / first:.2f}x)")
    print(f"collapsed stacks: {output.relative_to(ROOT)}")
    for frame, share in summarize(output.read_text() if output.exists() else ""):
        print(f"{share:5.1f}%  {frame[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
