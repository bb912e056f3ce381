"""Shared pieces of the benchmarks: synthetic canonical events, topic set-up, bulk produce, and the two
ceilings every pipeline figure is compared with (raw aiokafka + orjson, a bare Faust agent)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ACTIONS = ["view"] * 12 + ["query", "print", "export", "login", "logout"]


def canonical_event(i: int, *, users: int = 500, t0_ms: int = 1_796_000_000_000, step_ms: int = 50,
                    burst_every: int = 0) -> dict:
    """A realistic canonical event; every `burst_every`-th event is an export by user `burst`."""
    ms = t0_ms + i * step_ms
    burst = burst_every and i % burst_every == 0
    uid = "burst" if burst else f"user{(i * 7919) % users:05d}"
    return {"schema_version": 1, "event_id": f"b-{i}",
            "event_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z",
            "source": "pacs-main", "action": "export" if burst else ACTIONS[i % len(ACTIONS)],
            "outcome": "success",
            "user": {"id": uid, "roles": ["radiologist"], "department": ("neuro", "chest", "ed")[i % 3],
                     "mfa": True, "session_id": f"s-{uid}"},
            "client": {"ip": f"10.0.{i % 200}.{i % 250}", "host": f"ws-{i % 90}", "remote": False},
            "patient": {"id": f"MRN{(i * 104729) % 200000:06d}", "name": "DOE^JOHN"},
            "study": {"uid": f"1.2.840.{i % 50000}", "modality": "MR", "instances": 200, "bytes": 10**8},
            **({"destination": {"type": "dicom_node", "id": "EXT", "external": True}} if burst else {})}


def bench_settings(bootstrap: str, **over):
    from streamer.settings import Settings

    name = uuid.uuid4().hex[:8]
    fields = {"topic_prefix": f"bench{name}.", "app_id": f"bench-{name}", **over}
    return Settings(kafka_bootstrap=bootstrap, **fields)


def create_topics(settings) -> None:
    from streamer.runtime.topics import ensure_topics

    ensure_topics(settings)


def produce(bootstrap: str, topic: str, values, *, keys=None) -> float:
    """Produce every value (aiokafka, lz4 off, acks=1); returns seconds taken."""
    from aiokafka import AIOKafkaProducer

    async def run() -> float:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024)
        await producer.start()
        t = time.perf_counter()
        try:
            futs = []
            for i, v in enumerate(values):
                futs.append(await producer.send(topic, value=v, key=keys[i] if keys else None))
                if len(futs) >= 5000:
                    await asyncio.gather(*futs)
                    futs.clear()
            await asyncio.gather(*futs)
        finally:
            await producer.stop()
        return time.perf_counter() - t

    return asyncio.run(run())


def aiokafka_ceiling(bootstrap: str, topic: str, n: int) -> float:
    """events/s of one aiokafka consumer reading n messages and decoding each with orjson."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> float:
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"ceil-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=2000)
        await c.start()
        got, t0 = 0, None
        try:
            while got < n:
                for records in (await c.getmany(timeout_ms=1000, max_records=2000)).values():
                    if t0 is None:
                        t0 = time.perf_counter()
                    for r in records:
                        orjson.loads(r.value)
                    got += len(records)
        finally:
            await c.stop()
        return n / (time.perf_counter() - t0)

    return asyncio.run(run())


FAUST_BARE = r'''
import os, sys, time, orjson, faust
n = int(os.environ["BENCH_N"]); out = os.environ["BENCH_OUT"]
app = faust.App(os.environ["BENCH_APP"], broker="kafka://" + os.environ["BENCH_BOOTSTRAP"], store="memory://",
                datadir=os.environ["BENCH_DIR"], web_enabled=False, consumer_auto_offset_reset="earliest",
                broker_max_poll_records=500, topic_partitions=int(os.environ["BENCH_PARTITIONS"]),
                table_standby_replicas=0)
topic = app.topic(os.environ["BENCH_TOPIC"], key_type=bytes, value_type=bytes, key_serializer="raw",
                  value_serializer="raw")
state = {"n": 0, "t0": None}

@app.agent(topic)
async def bare(stream):
    async for value in stream:
        if state["t0"] is None:
            state["t0"] = time.perf_counter()
        orjson.loads(value)
        state["n"] += 1
        if state["n"] >= n:
            with open(out, "w") as fh:
                fh.write(str(n / (time.perf_counter() - state["t0"])))
            os._exit(0)

faust.Worker(app, loglevel="WARNING", redirect_stdouts=False, override_logging=False).execute_from_commandline()
'''


def faust_ceiling(bootstrap: str, topic: str, n: int, partitions: int, timeout: float = 300) -> float:
    """events/s of a bare Faust agent (orjson decode, nothing else) over n messages, startup excluded."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rate"
        env = dict(os.environ, BENCH_N=str(n), BENCH_OUT=str(out), BENCH_APP=f"bare-{uuid.uuid4().hex[:6]}",
                   BENCH_BOOTSTRAP=bootstrap, BENCH_TOPIC=topic, BENCH_DIR=tmp, BENCH_PARTITIONS=str(partitions))
        subprocess.run([sys.executable, "-c", FAUST_BARE, "worker"], env=env, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return float(out.read_text())


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "MET" if ok else "NOT MET"


def save(name: str, figures: dict) -> None:
    """Keep the last figures of a benchmark in var/bench/<name>.json (the README quotes them)."""
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(figures, indent=1))
