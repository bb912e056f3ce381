"""Detection throughput and state size. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_detect.py [--users 60] [--days 7]

Figures, all on one core and the same events:
  baseline        orjson.loads + orjson.dumps of every event (the floor of any JSON stage)
  detect step     Engine.process on decoded events (the agent's work per event)
  replay          decode + event-time sort + Engine.process_many + encode enriched events
  table path      detect step plus import_user/export_user around every event (Faust table)
  state           bytes of export_user per user (mean, max) after the run
"""

from __future__ import annotations

import argparse
import time

import orjson

from models.sample_traffic import week
from streamer.score.cli import BATCH
from streamer.score.engine import Engine


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} events/s  ({seconds * 1e6 / n:6.1f} us/event)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    events = week(n_users=args.users, days=args.days, seed=11)
    lines = [orjson.dumps(e) for e in events]
    n = len(events)
    print(f"{n} events, {args.users} users, {args.days} days")
    Engine().process_many(events[:2000])  # imports (river) and caches outside the timings

    t = time.perf_counter()
    for line in lines:
        orjson.dumps(orjson.loads(line))
    base = time.perf_counter() - t
    print(f"baseline orjson loads+dumps  {_rate(n, base)}")

    engine = Engine()
    t = time.perf_counter()
    for ev in events:
        engine.process(ev)
    step = time.perf_counter() - t
    print(f"detect step (process)        {_rate(n, step)}")

    engine = Engine()
    t = time.perf_counter()
    decoded = [orjson.loads(line) for line in lines]
    decoded.sort(key=lambda e: e["event_time"])
    alerts = 0
    for i in range(0, n, BATCH):
        for enriched, new in engine.process_many(decoded[i:i + BATCH]):
            orjson.dumps(enriched)
            alerts += len(new)
    replay = time.perf_counter() - t
    print(f"replay (decode+detect+encode) {_rate(n, replay)}  alerts={alerts}")

    table = Engine()
    store: dict[str, bytes] = {}
    t = time.perf_counter()
    for ev in events:
        uid = ev["user"]["id"]
        if uid in store:
            table.import_user(uid, store[uid])
        table.process(ev)
        store[uid] = table.export_user(uid)
    tpath = time.perf_counter() - t
    print(f"table path (import+detect+export) {_rate(n, tpath)}")

    sizes = [len(engine.export_user(u)) for u in engine.users]
    print(f"state per user: mean {sum(sizes) / len(sizes):.0f} B, max {max(sizes)} B "
          f"({len(sizes)} users)")
    print(f"detect step / baseline cost ratio: {step / base:.1f}x")


if __name__ == "__main__":
    main()
