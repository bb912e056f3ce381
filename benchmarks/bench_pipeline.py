"""The whole pipeline on the real Apache Kafka and ClickHouse server: `streamer worker` processes
(normalize -> score -> sink, all detectors, sink on) against the bare-Faust ceiling of the same run.

    .venv/bin/python benchmarks/bench_pipeline.py [--events 60000] [--rate 5000] [--seconds 20] [--quick]

1. throughput: n canonical events preloaded into raw, then 1 worker (and then 2 workers in one group,
   on fresh topics) started; events/s = n / (time from the first to the last enriched record); the
   time until ClickHouse holds every row is printed too. Baseline: bare Faust agent on the same raw
   topic (benchmarks/_common.py). Targets: 1 worker >= 0.9 x bare Faust; 2 workers >= 1.8 x 1 worker.
2. latency: 1 running worker, events produced at a fixed rate (every 97th an export by one user, so
   bulk_export alerts grow); per event raw CreateTime -> enriched CreateTime, per alert emission the
   newest of its events -> alert CreateTime; p50 / p99. Target p99 < 250 ms at 5k events/s.
--quick: 10k events, 1k events/s for 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from clickhouse_driver import Client
from kafka import KafkaConsumer, TopicPartition

from _common import ROOT, bench_settings, canonical_event, create_topics, faust_ceiling, produce, save, verdict
from tests.integration.worker import WorkerProcess, wait_for, worker_env


def end_total(consumer: KafkaConsumer, topic: str) -> int:
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    return sum(consumer.end_offsets(parts).values()) if parts else 0


def workers_env(tmp: Path, bootstrap: str, ch: dict, name: str) -> dict:
    return worker_env(tmp, bootstrap, ch, name=name, extra={"STREAMER_KAFKA_REBALANCE_TIMEOUT": "10",
                                                            "STREAMER_SINK_BATCH_SECONDS": "0.5"})


def throughput(bootstrap: str, ch: dict, n: int, k: int, tmp: Path) -> dict:
    """Preload n events, start k workers, time the enriched output and the ClickHouse rows."""
    name = f"p{k}{int(time.time()) % 100000}"
    env = workers_env(tmp, bootstrap, ch, name)
    s = bench_settings(bootstrap, topic_prefix=env["STREAMER_TOPIC_PREFIX"])
    create_topics(s)
    events = [canonical_event(i, users=500) for i in range(n)]
    produce(bootstrap, s.topic("raw"), [orjson.dumps(e) for e in events],
            keys=[e["user"]["id"].encode() for e in events])
    bare = faust_ceiling(bootstrap, s.topic("raw"), n, s.topic_partitions) if k == 1 else None
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    client = Client(host=ch["host"], port=ch["port"])
    workers = []
    for j in range(k):
        wenv = dict(env, STREAMER_DATA_DIR=str(tmp / f"{name}-w{j}"))
        workers.append(WorkerProcess(wenv, tmp / f"{name}-w{j}.log").start())
    try:
        wait_for(lambda: end_total(probe, s.topic("enriched")) > 0, 180, interval=0.05,
                 what=lambda: workers[0].log_tail())
        t0 = time.perf_counter()
        wait_for(lambda: end_total(probe, s.topic("enriched")) >= n, 900, interval=0.1)
        t_enriched = time.perf_counter() - t0
        db = env["STREAMER_CLICKHOUSE_DATABASE"]
        wait_for(lambda: client.execute(f"SELECT count() FROM {db}.events")[0][0] >= n, 600, interval=0.2)
        t_rows = time.perf_counter() - t0
        assert all(w.alive() for w in workers), workers[0].log_tail()
    finally:
        for w in workers:
            w.stop()
        probe.close()
        client.execute(f"DROP DATABASE IF EXISTS {env['STREAMER_CLICKHOUSE_DATABASE']}")
    return {"workers": k, "events": n, "enriched_per_s": n / t_enriched, "stored_per_s": n / t_rows, "bare_faust": bare}


def latency(bootstrap: str, ch: dict, rate: int, seconds: float, tmp: Path) -> dict:
    name = f"lat{int(time.time()) % 100000}"
    env = workers_env(tmp, bootstrap, ch, name)
    s = bench_settings(bootstrap, topic_prefix=env["STREAMER_TOPIC_PREFIX"])
    create_topics(s)
    worker = WorkerProcess(env, tmp / f"{name}.log").start()
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    sent_ms: dict[str, int] = {}
    warm = 1000
    try:
        produce(bootstrap, s.topic("raw"), [orjson.dumps(canonical_event(10**8 + i)) for i in range(warm)])
        wait_for(lambda: end_total(probe, s.topic("enriched")) >= warm, 180, what=worker.log_tail)
        total = int(rate * seconds)
        asyncio.run(_paced(bootstrap, s.topic("raw"), rate, total, sent_ms))
        wait_for(lambda: end_total(probe, s.topic("enriched")) >= warm + total, 600, interval=0.5)
        time.sleep(2)
        enriched = _read(bootstrap, s.topic("enriched"))
        alerts = _read(bootstrap, s.topic("alerts"))
    finally:
        worker.stop()
        probe.close()
        Client(host=ch["host"], port=ch["port"]).execute(f"DROP DATABASE IF EXISTS {env['STREAMER_CLICKHOUSE_DATABASE']}")
    pairs = [(sent_ms[e], r.timestamp - sent_ms[e]) for r in enriched
             if (e := orjson.loads(r.value)["event_id"]) in sent_ms]
    ev_lat = [lat for _, lat in pairs]
    if pairs:  # p50 per 2-second slice of the run: a stall shows as a bump, overload as a ramp
        t_first = min(t for t, _ in pairs)
        slices: dict[int, list[int]] = {}
        for t, lat in pairs:
            slices.setdefault(int((t - t_first) // 2000), []).append(lat)
        print("event->enriched p50 per 2 s of sending: " +
              " ".join(f"{_pct(v, 50):.0f}" for _, v in sorted(slices.items())))
    al_lat = []
    for r in alerts:
        known = [sent_ms[e] for e in orjson.loads(r.value).get("event_ids", []) if e in sent_ms]
        if known:
            al_lat.append(r.timestamp - max(known))
    return {"rate": rate, "events": len(ev_lat), "alerts": len(al_lat),
            "event_p50": _pct(ev_lat, 50), "event_p99": _pct(ev_lat, 99),
            "alert_p50": _pct(al_lat, 50), "alert_p99": _pct(al_lat, 99)}


async def _paced(bootstrap: str, topic: str, rate: int, total: int, sent_ms: dict) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    t0 = time.perf_counter()
    try:
        for i in range(total):
            due = t0 + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            ev = canonical_event(i, users=500, burst_every=97)
            ms = int(time.time() * 1000)
            sent_ms[ev["event_id"]] = ms
            await producer.send(topic, key=ev["user"]["id"].encode(), value=orjson.dumps(ev), timestamp_ms=ms)
        await producer.flush()
    finally:
        await producer.stop()
    achieved = total / (time.perf_counter() - t0)
    print(f"latency: produced {total} events at {achieved:,.0f} events/s (asked {rate:,})")


def _read(bootstrap: str, topic: str) -> list:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000, max_poll_records=5000)
    c.assign([TopicPartition(topic, p) for p in c.partitions_for_topic(topic)])
    c.seek_to_beginning()
    out = list(c)
    c.close()
    return out


def _pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=None, help="preloaded events per throughput run (60,000; quick 10,000)")
    ap.add_argument("--rate", type=int, default=None, help="input rate of the latency run (5,000/s; quick 1,000/s); "
                    "latency is only meaningful below the worker's capacity")
    ap.add_argument("--seconds", type=float, default=None, help="length of the latency run (20 s; quick 10 s)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bootstrap", default="127.0.0.1:19092")
    ap.add_argument("--clickhouse-port", type=int, default=19000)
    ap.add_argument("--skip", nargs="*", default=[], choices=["two", "latency"])
    args = ap.parse_args()
    n, rate, secs = (10_000, 1000, 10.0) if args.quick else (60_000, 5000, 20.0)
    n, rate, secs = args.events or n, args.rate or rate, args.seconds or secs
    ch = {"host": "127.0.0.1", "port": args.clickhouse_port}
    figures: dict = {}
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        one = figures["one"] = throughput(args.bootstrap, ch, n, 1, Path(tmp))
        bare = one["bare_faust"]
        print(f"bare Faust agent (same raw topic)  {bare:>10,.0f} events/s")
        print(f"1 worker, full pipeline            {one['enriched_per_s']:>10,.0f} events/s enriched, "
              f"{one['stored_per_s']:,.0f} events/s stored   target >= 0.9 x bare: "
              f"{verdict(one['enriched_per_s'], 0.9 * bare)} ({one['enriched_per_s'] / bare:.2f} x)")
        if "two" not in args.skip:
            two = figures["two"] = throughput(args.bootstrap, ch, n, 2, Path(tmp))
            ratio = two["enriched_per_s"] / one["enriched_per_s"]
            print(f"2 workers, one group               {two['enriched_per_s']:>10,.0f} events/s enriched, "
                  f"{two['stored_per_s']:,.0f} events/s stored   target >= 1.8 x 1 worker: "
                  f"{verdict(ratio, 1.8)} ({ratio:.2f} x)")
        if "latency" not in args.skip:
            lat = figures["latency"] = latency(args.bootstrap, ch, rate, secs, Path(tmp))
            print(f"latency at {rate:,} events/s: event->enriched p50 {lat['event_p50']:,.0f} ms p99 "
                  f"{lat['event_p99']:,.0f} ms ({lat['events']} events); event->alert p50 {lat['alert_p50']:,.0f} ms "
                  f"p99 {lat['alert_p99']:,.0f} ms ({lat['alerts']} emissions)   target p99 < 250 ms at 5k/s: "
                  f"{verdict(lat['alert_p99'], 250, False) if rate >= 5000 else 'n/a (rate below 5k)'}")
    save("pipeline", figures)


if __name__ == "__main__":
    main()
