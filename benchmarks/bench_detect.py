"""Detection throughput and state size. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_detect.py [--users 60] [--days 7] [--repeat 3]

Figures, all on one core and the same events:
  baseline        orjson.loads + orjson.dumps of every event (the floor of any JSON stage)
  detect step     Engine.process on decoded events (the agent's work per event)
  replay          decode + event-time sort + Engine.process_many + encode enriched events
  table path      detect step plus import_user/export_user around every event (Faust table)
  state codec     export_user, and import_user of bytes this engine did not export (cold load)
  state           bytes of export_user per user (mean, max) after the run
Each figure is the best of --repeat runs (the machine is shared: the best run is the least
disturbed one).
"""

from __future__ import annotations

import argparse
import time

import orjson

from models.features import UserState
from models.sample_traffic import week
from streamer.score.cli import BATCH
from streamer.score.engine import Engine


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} events/s  ({seconds * 1e6 / n:6.1f} us/event)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    events = week(n_users=args.users, days=args.days, seed=11)
    lines = [orjson.dumps(e) for e in events]
    n = len(events)
    print(f"{n} events, {args.users} users, {args.days} days")
    Engine().process_many(events[:2000])  # imports (river) and caches outside the timings

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    def baseline():
        for line in lines:
            orjson.dumps(orjson.loads(line))

    def step():
        engine = Engine()
        for ev in events:
            engine.process(ev)

    def replay():
        engine = Engine()
        decoded = [orjson.loads(line) for line in lines]
        decoded.sort(key=lambda e: e["event_time"])
        for i in range(0, n, BATCH):
            for enriched, _ in engine.process_many(decoded[i:i + BATCH]):
                orjson.dumps(enriched)

    def table():
        engine = Engine()
        store: dict[str, bytes] = {}
        for ev in events:
            uid = ev["user"]["id"]
            if uid in store:
                engine.import_user(uid, store[uid])
            engine.process(ev)
            store[uid] = engine.export_user(uid)

    base = best(baseline)
    print(f"baseline orjson loads+dumps  {_rate(n, base)}")
    t_step = best(step)
    print(f"detect step (process)        {_rate(n, t_step)}")
    print(f"replay (decode+detect+encode) {_rate(n, best(replay))}")
    print(f"table path (import+detect+export) {_rate(n, best(table))}")

    engine = Engine()
    for ev in events:
        engine.process(ev)
    blobs = {u: engine.export_user(u) for u in engine.users}
    k = len(blobs)
    t_exp = best(lambda: [engine.export_user(u) for u in blobs])
    t_imp = best(lambda: [UserState.from_bytes(b) for b in blobs.values()])
    print(f"state codec: export_user {t_exp * 1e6 / k:.1f} us, cold import_user "
          f"{t_imp * 1e6 / k:.1f} us per user")
    sizes = [len(engine.export_user(u)) for u in engine.users]
    print(f"state per user: mean {sum(sizes) / len(sizes):.0f} B, max {max(sizes)} B "
          f"({len(sizes)} users)")
    print(f"detect step / baseline cost ratio: {t_step / base:.1f}x")


if __name__ == "__main__":
    main()
