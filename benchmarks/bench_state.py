"""Detection engine without Kafka: replay rate (the `streamer replay` code path) and state per user.

    .venv/bin/python benchmarks/bench_state.py [--quick] [--replay-events 200000] [--users 100000 1000000]

Replay: the `streamer replay` path from a file (EventFile: scan, event-time order, decode) +
streamer.score.cli.replay (Engine.process_many, flushes) + encode of the enriched events, on one core; baseline in the same run: orjson loads+dumps of
the same lines. State: one Engine fed synthetic events for N users (3 each); export_user bytes per
user (what the Faust table stores) and the process's resident memory growth per user (the engine
keeps the 20,000 most recently active users as live objects, the others serialised:
STREAMER_LIVE_USERS). --quick: 50k
replay events, 100k users only.
"""

from __future__ import annotations

import argparse
import gc
import time

import orjson

from _common import canonical_event, save, verdict


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def bench_replay(n: int) -> dict:
    from streamer.score.cli import replay
    from streamer.score.engine import Engine

    lines = [orjson.dumps(canonical_event(i, users=2000, burst_every=97)) for i in range(n)]
    t = time.perf_counter()
    for line in lines:
        orjson.dumps(orjson.loads(line))
    base = n / (time.perf_counter() - t)

    class Sink:
        def write(self, b: bytes) -> None:
            pass

    import tempfile

    from streamer.score.cli import EventFile

    engine = Engine()
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as fh:
        fh.write(b"\n".join(lines) + b"\n")
        fh.flush()
        t = time.perf_counter()
        errors: list = []
        with EventFile(fh.name, engine, errors) as events:
            alerts = replay(engine, events, Sink())
        rate = n / (time.perf_counter() - t)
    assert not errors, errors[:3]
    print(f"replay: baseline orjson loads+dumps {base:>10,.0f} events/s")
    print(f"replay: decode+sort+detect+encode    {rate:>10,.0f} events/s  ({len(alerts)} alerts)   "
          f"target >= 200,000/s per core: {verdict(rate, 200_000)} ({rate / 200_000:.2f} x target)")
    return {"events": n, "baseline": base, "replay": rate, "alerts": len(alerts)}


def bench_users(users: int) -> dict:
    from streamer.score.engine import Engine

    gc.collect()
    before = rss_bytes()
    engine = Engine()
    per_user = 3
    t = time.perf_counter()
    for k in range(per_user):
        for start in range(0, users, 1000):  # chunks: the input must not weigh on the figure
            batch = [canonical_event(u * per_user + k, users=users, step_ms=1)
                     for u in range(start, min(start + 1000, users))]
            for ev in batch:
                ev["user"]["id"] = f"user{int(ev['event_id'][2:]) // per_user:07d}"
            engine.process_many(batch)
    secs = time.perf_counter() - t
    gc.collect()
    grown = rss_bytes() - before
    known = list(engine.users) + list(engine._cold)
    sample = known[:: max(1, users // 2000)]
    sizes = [len(engine.export_user(u)) for u in sample]
    mean = sum(sizes) / len(sizes)
    print(f"state: {engine.user_count():>9,} users ({len(engine.users):,} live, the rest serialised)  export_user {mean:,.0f} B/user (max {max(sizes):,})  "
          f"RSS +{grown / 2**20:,.0f} MiB = {grown / users:,.0f} B/user   target <= 2,048 B/user: "
          f"table {verdict(mean, 2048, False)}, resident {verdict(grown / users, 2048, False)}  "
          f"({users * per_user / secs:,.0f} events/s while filling)")
    result = {"users": users, "export_bytes_mean": mean, "export_bytes_max": max(sizes), "rss_bytes_per_user": grown / users}
    del engine
    gc.collect()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--replay-events", type=int, default=200_000)
    ap.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    figures = {"replay": bench_replay(50_000 if args.quick else args.replay_events)}
    figures["state"] = [bench_users(u) for u in ([100_000] if args.quick else args.users)]
    save("state", figures)


if __name__ == "__main__":
    main()
