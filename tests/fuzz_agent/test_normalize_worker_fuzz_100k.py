"""100,000 malformed messages per input format (400,000 in all) through the normalize agent of a
real worker on the real Apache Kafka, as the hardening issue asks. The worker runs the normalize
stage only (`STREAMER_STAGES=normalize`, its own consumer group), so the run measures the parser
agent rather than the scoring behind it (the full pipeline gets the exact per-message comparison
in test_normalize_agent_fuzz.py).

Accounting, per raw (partition, offset): once the worker has committed every raw offset (it flushes
what it produced before it commits), each raw message is either the source of canonical events
(their `detail.ingest` names it) or of dead letters (their `partition`/`offset`), and every dead
letter carries the exact bytes that were sent. Nothing may be missing, nothing may come from a
parser crash, and the worker must stay up.

FUZZ_BIG_MESSAGES sets the messages per format (default 100000)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition as AioTP
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from tests.integration.worker import WorkerProcess, wait_for, worker_env

from .mutate import FORMATS, messages

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(2400)]
PER_FORMAT = int(os.environ.get("FUZZ_BIG_MESSAGES", "100000"))
PARTITIONS = 4


def _committed(admin: KafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except Exception:   # the group is not known to the coordinator yet
        return {}
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def _scan(bootstrap: str, topic: str, ends: dict[int, int], on_record) -> int:
    """Read every record of `topic` up to the end offsets `ends`; returns how many were read.
    aiokafka: kafka-python's client moves about a tenth of the records per second here."""
    async def scan() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                    auto_offset_reset="earliest", max_partition_fetch_bytes=16 * 1024 * 1024,
                                    fetch_max_bytes=64 * 1024 * 1024)
        await consumer.start()
        n = 0
        try:
            parts = [AioTP(topic, p) for p, end in ends.items() if end > 0]
            if not parts:
                return 0
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            remaining = set(parts)
            deadline = time.monotonic() + 600
            while remaining and time.monotonic() < deadline:
                for tp, records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                    for r in records:
                        if r.offset < ends[tp.partition]:
                            on_record(r)
                            n += 1
                    if await consumer.position(tp) >= ends[tp.partition]:
                        remaining.discard(tp)
            assert not remaining, f"could not read {topic} to its end: {remaining}"
        finally:
            await consumer.stop()
        return n

    return asyncio.run(scan())


def _produce(bootstrap: str, topic: str) -> dict[tuple[int, int], bytes]:
    """Send PER_FORMAT messages of every format round-robin over the partitions; returns
    (partition, offset) -> sha1 of the bytes sent, from the broker's acknowledgements."""
    async def produce() -> dict[tuple[int, int], bytes]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1024 * 1024,
                                    max_request_size=4 * 1024 * 1024, acks="all")
        await producer.start()
        sent: dict[tuple[int, int], bytes] = {}
        pending: list = []
        total = 0
        try:
            for fmt in FORMATS:
                for msg in messages(fmt, PER_FORMAT, seed=424242):
                    fut = await producer.send(topic, value=msg, partition=total % PARTITIONS)
                    pending.append((hashlib.sha1(msg).digest(), fut))
                    total += 1
                    if len(pending) >= 5000:
                        for digest, f in pending:
                            meta = await f
                            sent[(meta.partition, meta.offset)] = digest
                        pending.clear()
            for digest, f in pending:
                meta = await f
                sent[(meta.partition, meta.offset)] = digest
        finally:
            await producer.stop()
        assert len(sent) == total
        return sent

    return asyncio.run(produce())


def _ends(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    ends = {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    consumer.close()
    return ends


def test_100k_malformed_messages_per_format_are_all_accounted_for(tmp_path, kafka_bootstrap):
    env = worker_env(tmp_path, kafka_bootstrap, None, extra={
        "STREAMER_STAGES": "normalize", "STREAMER_KAFKA_REBALANCE_TIMEOUT": "10",
        "STREAMER_SCORE_BATCH_SIZE": "2000"})
    prefix = env["STREAMER_TOPIC_PREFIX"]
    raw_topic, group = prefix + "raw", env["STREAMER_APP_ID"] + "-normalize"
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    probe = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
    try:
        wait_for(lambda: raw_topic in probe.topics(), 90, what=lambda: f"the worker's topics:\n{worker.log_tail()}")
        t0 = time.monotonic()
        sent = _produce(kafka_bootstrap, raw_topic)
        total = len(sent)
        produced_s = time.monotonic() - t0
        assert total == PER_FORMAT * len(FORMATS)

        raw_ends = _ends(kafka_bootstrap, raw_topic)
        assert sum(raw_ends.values()) == total
        budget = 120 + total / 400   # generous: a loaded 2-core machine parses well above 400/s
        wait_for(lambda: _committed(admin, group, raw_topic) == raw_ends, budget, interval=2,
                 what=lambda: f"the normalize group to commit every raw offset {raw_ends}; committed "
                              f"{_committed(admin, group, raw_topic)}; log:\n{worker.log_tail()}")
        consumed_s = time.monotonic() - t0 - produced_s
        assert worker.alive(), worker.log_tail()

        covered: Counter[tuple[int, int]] = Counter()
        reasons: Counter[str] = Counter()
        problems: list[str] = []

        def on_dead(r) -> None:
            d = orjson.loads(r.value)
            if d.get("topic") != raw_topic:
                problems.append(f"dead letter from another stage: {d.get('stage')} {d.get('reason')}")
                return
            where = (d["partition"], d["offset"])
            covered[where] += 1
            reasons[d["reason"].split(":")[0][:60]] += 1
            if not d["reason"] or d["reason"].startswith(("internal error", "normalizer error")):
                problems.append(f"{where}: {d['reason']}")
            elif hashlib.sha1(base64.b64decode(d["original_b64"])).digest() != sent.get(where):
                problems.append(f"{where}: the dead letter does not carry the bytes that were sent")

        from_events: set[tuple[int, int]] = set()

        def on_event(r) -> None:
            ingest = (orjson.loads(r.value).get("detail") or {}).get("ingest") or {}
            if ingest.get("topic") != raw_topic:
                problems.append(f"event without its raw record: {r.value[:200]!r}")
                return
            from_events.add((ingest["partition"], ingest["offset"]))

        n_dead = _scan(kafka_bootstrap, prefix + "deadletter", _ends(kafka_bootstrap, prefix + "deadletter"), on_dead)
        n_events = _scan(kafka_bootstrap, prefix + "events", _ends(kafka_bootstrap, prefix + "events"), on_event)
        assert problems == [], problems[:20]
        unaccounted = set(sent) - set(covered) - from_events
        assert not unaccounted, f"{len(unaccounted)} raw messages left no event and no dead letter: " \
                                f"{sorted(unaccounted)[:20]}"
        assert set(covered) | from_events <= set(sent)
        assert len(covered) > total // 2   # mostly malformed by design
        assert "Traceback" not in (tmp_path / "worker.log").read_text(errors="replace")
        figures = {"messages": total, "per_format": PER_FORMAT, "produce_s": round(produced_s, 1),
                   "commit_after_produce_s": round(consumed_s, 1),
                   "messages_per_s": round(total / (produced_s + consumed_s)), "events": n_events,
                   "messages_with_events": len(from_events), "dead_letters": n_dead,
                   "messages_with_dead_letters": len(covered), "unaccounted": len(unaccounted),
                   "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        out = Path(__file__).resolve().parents[2] / "var" / "bench"
        out.mkdir(parents=True, exist_ok=True)
        (out / "fuzz_normalize_100k.json").write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
        print(f"\nfuzz 100k: {total} messages ({PER_FORMAT} per format) produced in {produced_s:.0f} s, "
              f"all committed {consumed_s:.0f} s later ({total / (produced_s + consumed_s):.0f} messages/s "
              f"end to end) -> "
              f"{n_events} events from {len(from_events)} messages, {n_dead} dead letters for "
              f"{len(covered)} messages; top reasons {reasons.most_common(5)}")
    finally:
        probe.close()
        admin.close()
        worker.stop()
