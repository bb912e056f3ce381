"""Traffic generation speed: events/s of `Simulation.events()` and of writing events.jsonl,
beside a baseline measured in the same run (orjson round-trip of the same events).

    .venv/bin/python benchmarks/bench_simulate.py [--users 300] [--days 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson

from streamer.simulate.generate import Simulation, simulate_to_dir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    w, c = time.perf_counter(), time.process_time()
    events = list(Simulation(1, args.users, args.days, 3).events())
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    print(f"generate: {len(events)} events in {wall:.2f} s wall ({len(events) / wall:,.0f}/s), "
          f"{cpu:.2f} s cpu ({len(events) / cpu:,.0f}/s per core)")
    with tempfile.TemporaryDirectory() as tmp:
        w, c = time.perf_counter(), time.process_time()
        n = simulate_to_dir(Path(tmp), 1, args.users, args.days, 3)["events"]
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        print(f"simulate to files: {n} events in {wall:.2f} s wall ({n / wall:,.0f}/s), "
              f"{cpu:.2f} s cpu ({n / cpu:,.0f}/s per core)")
    c = time.process_time()
    for e in events:
        orjson.loads(orjson.dumps(e))
    cpu = time.process_time() - c
    print(f"baseline orjson dumps+loads of the same events: {len(events) / cpu:,.0f}/s per core")


if __name__ == "__main__":
    main()
