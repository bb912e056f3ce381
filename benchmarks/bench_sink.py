"""Sink throughput: rows/s into ClickHouse through the Store (native server and chdb) and BatchSink,
against a baseline of raw clickhouse-driver inserts of the same rows.

    .venv/bin/python benchmarks/bench_sink.py [--events 20000] [--batch 5000] [--port 19000]

Needs the local server (docker/clickhouse/ctl.sh start) for the native figures; chdb runs in a
temporary folder. Prints one line per variant.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time

from clickhouse_driver import Client

from streamer.store.chdb_store import ChdbStore
from streamer.store.native import NativeStore
from streamer.store.rows import EVENT_COLUMNS, event_row
from streamer.store.sink import BatchSink


def make_events(n: int) -> list[dict]:
    rnd = random.Random(7)
    actions = ["view"] * 8 + ["export", "print", "query", "login"]
    events = []
    for i in range(n):
        ms = 1_796_000_000_000 + i * 137
        events.append({
            "schema_version": 1, "event_id": f"bench-{i}",
            "event_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z",
            "source": "pacs-main", "action": rnd.choice(actions), "outcome": "success",
            "user": {"id": f"user{rnd.randrange(300)}", "name": "N", "roles": ["radiologist"],
                     "department": rnd.choice(["neuro", "chest", "ed"]), "mfa": True, "session_id": "s"},
            "client": {"ip": "10.0.0.5", "host": "ws-12", "remote": False, "location": "main"},
            "patient": {"id": f"MRN{rnd.randrange(20000)}", "name": "DOE^JOHN"},
            "study": {"uid": f"1.2.840.{i}", "accession": "A1", "modality": "MR", "department": "neuro",
                      "sensitivity": "normal", "instances": 200, "bytes": 10**8},
            "detail": {}, "enrichment": {"peer_group": "radiologist|neuro", "features": {"a": 1.0, "b": 2.0},
                                         "anomaly_score": rnd.random(), "model_version": "m1", "detectors": [],
                                         "risk": 5.0, "severity": "none", "expected": {"a": 1.0}}})
    return events


def timed(label: str, n: int, fn) -> None:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<46} {n:>7} rows {elapsed:7.2f} s {n / elapsed:>10,.0f} rows/s")


def batches(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--port", type=int, default=19000)
    args = ap.parse_args()
    events = make_events(args.events)
    print(f"{args.events} enriched events, batches of {args.batch}")

    def fresh_native(db: str) -> NativeStore:
        store = NativeStore("127.0.0.1", args.port, db)
        store.execute(f"DROP DATABASE IF EXISTS {db}")
        store.migrate()
        return store

    try:
        raw = fresh_native("bench_raw")
    except Exception as exc:  # noqa: BLE001
        print(f"native server not reachable on {args.port} ({exc}); native figures skipped")
        raw = None
    if raw:
        client = Client("127.0.0.1", port=args.port, compression="lz4")
        rows = [event_row(e, int(time.time() * 1000)) for e in events]
        sql = f"INSERT INTO bench_raw.events ({', '.join(EVENT_COLUMNS)}) VALUES"

        def baseline():
            for b in batches(rows, args.batch):
                client.execute(sql, [[r[c] for r in b] for c in EVENT_COLUMNS], columnar=True)

        timed("baseline: raw clickhouse-driver insert", len(rows), baseline)
        native = fresh_native("bench_store")
        timed("NativeStore.insert_events (flatten+dedup)", len(events),
              lambda: [native.insert_events(b) for b in batches(events, args.batch)])
        timed("NativeStore.insert_events replay (all dup)", len(events),
              lambda: [native.insert_events(b) for b in batches(events, args.batch)])
        sinkstore = fresh_native("bench_sink")
        sink = BatchSink(sinkstore.insert_events, batch_size=args.batch, batch_seconds=1.0, retry_seconds=20.0,
                         on_give_up=lambda b, e: None)
        timed("BatchSink over NativeStore (write per 500)", len(events),
              lambda: asyncio.run(_feed(sink, events, 500)))
        for db in ("bench_raw", "bench_store", "bench_sink"):
            raw.execute(f"DROP DATABASE IF EXISTS {db}")
        for s in (raw, native, sinkstore):
            s.close()

    with tempfile.TemporaryDirectory() as folder:
        store = ChdbStore(folder, "bench")
        store.migrate()
        timed("ChdbStore.insert_events (flatten+dedup)", len(events),
              lambda: [store.insert_events(b) for b in batches(events, args.batch)])
        store.close()


async def _feed(sink: BatchSink, events: list[dict], step: int) -> None:
    for i in range(0, len(events), step):
        await sink.add(events[i:i + step])
    await sink.flush()


if __name__ == "__main__":
    main()
