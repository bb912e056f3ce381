"""Consume ceilings on the real Apache Kafka: one aiokafka consumer decoding each message with orjson,
and a bare Faust agent doing the same (startup excluded). The pipeline figures of bench_pipeline.py
are compared with the second.

    .venv/bin/python benchmarks/bench_kafka_ceiling.py [--events 200000] [--quick] [--bootstrap 127.0.0.1:19092]
"""

from __future__ import annotations

import argparse

import orjson

from _common import aiokafka_ceiling, bench_settings, canonical_event, create_topics, faust_ceiling, produce, save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="50k events")
    ap.add_argument("--bootstrap", default="127.0.0.1:19092")
    args = ap.parse_args()
    n = 50_000 if args.quick else args.events
    s = bench_settings(args.bootstrap)
    create_topics(s)
    values = [orjson.dumps(canonical_event(i)) for i in range(n)]
    secs = produce(args.bootstrap, s.topic("raw"), values)
    print(f"{n} canonical events ({sum(map(len, values)) / n:.0f} B each) into {s.topic('raw')} "
          f"({s.topic_partitions} partitions): produce {n / secs:,.0f} events/s")
    raw = aiokafka_ceiling(args.bootstrap, s.topic("raw"), n)
    print(f"aiokafka consumer + orjson.loads   {raw:>10,.0f} events/s")
    bare = faust_ceiling(args.bootstrap, s.topic("raw"), n, s.topic_partitions)
    print(f"bare Faust agent + orjson.loads    {bare:>10,.0f} events/s   ({bare / raw:.2f} x aiokafka)")
    save("kafka_ceiling", {"events": n, "aiokafka": raw, "faust_bare": bare})


if __name__ == "__main__":
    main()
