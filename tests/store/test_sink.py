"""BatchSink: batching, retry with backoff, give-up, backpressure; and a server restart mid-stream."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from streamer.store.native import NativeStore
from streamer.store.sink import BatchSink


class FlakyWriter:
    """Records batches; fails the first `failures` calls."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.batches: list[list] = []
        self.calls = 0

    def __call__(self, rows):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("down")
        self.batches.append(list(rows))
        return len(rows)


def _sink(write, **kw):
    parked = []
    defaults = dict(batch_size=10, batch_seconds=1.0, retry_seconds=5.0, backoff_initial=0.001,
                    backoff_max=0.004, on_give_up=lambda batch, exc: parked.append((batch, exc)))
    defaults.update(kw)
    return BatchSink(write, **defaults), parked


def test_flushes_by_size_and_keeps_order():
    writer = FlakyWriter()
    sink, _ = _sink(writer)

    async def go():
        await sink.add(list(range(25)))
        assert [len(b) for b in writer.batches] == [10, 10] and sink.buffered == 5
        await sink.flush()

    asyncio.run(go())
    assert [x for b in writer.batches for x in b] == list(range(25))
    assert sink.metrics["rows_written"] == 25 and sink.metrics["batches"] == 3


def test_flushes_by_age_on_tick():
    now = [0.0]
    writer = FlakyWriter()
    sink, _ = _sink(writer, clock=lambda: now[0])

    async def go():
        await sink.add([1, 2])
        await sink.tick()
        assert writer.batches == []
        now[0] = 1.5
        await sink.tick()

    asyncio.run(go())
    assert writer.batches == [[1, 2]]


def test_retries_with_backoff_then_succeeds():
    writer = FlakyWriter(failures=3)
    sleeps = []

    async def fake_sleep(s):
        sleeps.append(s)

    sink, parked = _sink(writer, sleep=fake_sleep, backoff_initial=0.1, backoff_max=0.3)
    asyncio.run(sink.write([1, 2, 3]))
    assert writer.batches == [[1, 2, 3]] and not parked
    assert sleeps == [0.1, 0.2, 0.3] and sink.metrics["retries"] == 3


def test_gives_up_after_retry_seconds_and_never_raises():
    now = [0.0]

    async def fake_sleep(s):
        now[0] += s

    writer = FlakyWriter(failures=10**6)
    sink, parked = _sink(writer, sleep=fake_sleep, clock=lambda: now[0], retry_seconds=2.0, backoff_initial=0.5)
    asyncio.run(sink.write(list(range(15))))  # two batches, both parked
    assert [b for b, _ in parked] == [list(range(10)), list(range(10, 15))]
    assert all(isinstance(e, ConnectionError) for _, e in parked)
    assert sink.metrics["given_up_rows"] == 15 and sink.buffered == 0 and now[0] <= 2 * 2.0 + 1


def test_failed_parking_keeps_retrying_the_insert():
    now = [0.0]

    async def fake_sleep(s):
        now[0] += s

    writer = FlakyWriter(failures=8)
    calls = []

    def bad_park(batch, exc):
        calls.append(len(batch))
        raise RuntimeError("kafka down too")

    sink, _ = _sink(writer, sleep=fake_sleep, clock=lambda: now[0], retry_seconds=1.0, backoff_initial=0.5, backoff_max=0.5,
                    on_give_up=bad_park)
    asyncio.run(sink.write([1, 2]))
    assert calls and writer.batches == [[1, 2]] and sink.metrics["park_failures"] == len(calls)


def test_add_waits_while_the_buffer_is_full():
    gate = threading.Event()

    def slow(rows):
        gate.wait(5)
        return len(rows)

    sink, _ = _sink(slow, batch_size=4, max_buffered=8)

    async def go():
        first = asyncio.create_task(sink.add(list(range(4))))      # starts a flush that blocks
        await asyncio.sleep(0.05)
        second = asyncio.create_task(sink.add(list(range(4, 8))))  # fits: 8 buffered
        third = asyncio.create_task(sink.add(list(range(8, 12))))  # must wait for space
        await asyncio.sleep(0.05)
        assert sink.buffered == 8 and not third.done()
        gate.set()
        await asyncio.gather(first, second, third)
        await sink.flush()

    asyncio.run(go())
    assert sink.metrics["rows_written"] == 12 and sink.buffered == 0


def test_metric_rows_have_the_pipeline_metrics_shape():
    sink, _ = _sink(FlakyWriter())
    asyncio.run(sink.write([1]))
    rows = sink.metric_rows("w1", now=0)
    assert {r["metric"] for r in rows} >= {"rows", "batches", "retries", "given_up", "batch_latency_ms", "rows_per_s"}
    assert all(r["component"] == "sink.sink" and r["worker"] == "w1" for r in rows)


def test_metric_rows_insert_into_the_store(store):
    store.migrate()
    sink, _ = _sink(FlakyWriter())
    asyncio.run(sink.write([1, 2]))
    assert store.insert_rows("pipeline_metrics", sink.metric_rows("w1")) == 7
    assert store.query(f"SELECT value FROM {store.table('pipeline_metrics')} WHERE metric = 'rows'") == [{"value": 2.0}]


@pytest.mark.clickhouse
@pytest.mark.slow
def test_server_restart_mid_stream_loses_and_duplicates_nothing(private_server, make_event):
    """Stream 3000 events while the server is stopped for ~2 s: exactly 3000 rows afterwards."""
    store = NativeStore("127.0.0.1", private_server.port, "restart_test")
    store.migrate()
    parked = []
    sink = BatchSink(store.insert_events, batch_size=200, batch_seconds=0.2, retry_seconds=60.0,
                     backoff_initial=0.05, backoff_max=0.5, on_give_up=lambda b, e: parked.append(b))
    events = [make_event(i, user=f"u{i % 7}") for i in range(3000)]
    # joined below: a restart still running when the test ends would start a server after the
    # fixture's teardown stopped it, and leave it running
    restart = threading.Thread(target=lambda: (private_server.ctl("stop"), time.sleep(2),
                                               private_server.ctl("start")), daemon=True)

    async def stream():
        for i in range(0, len(events), 100):
            if i == 1000:
                restart.start()
                await asyncio.sleep(0.1)
            await sink.write(events[i:i + 100])
            if i == 2000:
                await sink.write(events[1500:1700])  # a replay, as after an uncommitted offset

    asyncio.run(stream())
    restart.join(150)
    assert not restart.is_alive() and private_server.ctl("status").returncode == 0
    assert not parked
    assert sink.metrics["retries"] > 0  # the outage was really hit
    total = store.query("SELECT count() AS n, uniqExact(event_id) AS u FROM restart_test.events")[0]
    assert total == {"n": 3000, "u": 3000}
    store.close()


@pytest.mark.clickhouse
def test_ctl_is_idempotent_and_stops(private_server):
    assert "already running" in private_server.ctl("start").stderr
    assert private_server.ctl("status").returncode == 0
    private_server.ctl("stop")
    assert private_server.ctl("status").returncode == 3
    assert "not running" in private_server.ctl("stop").stderr
    private_server.ctl("start")
    assert private_server.ctl("status").returncode == 0


@pytest.mark.clickhouse
def test_ctl_start_failure_shows_the_log(tmp_path, clickhouse_server):
    """A port already taken (the shared server's) fails the start with the server's own log."""
    ctl = Path(__file__).resolve().parents[2] / "docker" / "clickhouse" / "ctl.sh"
    env = {**os.environ, "CLICKHOUSE_VAR": str(tmp_path), "CLICKHOUSE_TCP_PORT": str(clickhouse_server["port"]),
           "CLICKHOUSE_HTTP_PORT": "18999", "CLICKHOUSE_START_TIMEOUT": "20"}
    result = subprocess.run(["bash", str(ctl), "start"], env=env, capture_output=True, text=True, timeout=60)
    subprocess.run(["bash", str(ctl), "stop"], env=env, capture_output=True, timeout=60)
    assert result.returncode == 1
    assert "last lines of" in result.stderr and "Address already in use" in result.stderr


def test_batch_sink_writes_events_through_the_store(store, make_event):
    """The sink runs inserts in a worker thread: works on both transports, replays skipped."""
    store.migrate()
    sink, parked = _sink(store.insert_events, batch_size=50)
    events = [make_event(i) for i in range(120)]
    asyncio.run(sink.write(events))
    asyncio.run(sink.write(events[:60]))
    assert not parked and sink.metrics["rows_written"] == 120 and sink.metrics["rows_in"] == 180
    assert store.query(f"SELECT count() AS n FROM {store.table('events')}") == [{"n": 120}]


def test_malformed_rows_are_parked_at_once(store):
    store.migrate()
    sink, parked = _sink(store.insert_events)
    asyncio.run(sink.write([{"event_id": "x", "event_time": "not a time", "user": {"id": "u"}}]))
    assert len(parked) == 1 and isinstance(parked[0][1], ValueError) and sink.metrics["retries"] == 0
