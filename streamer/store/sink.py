"""BatchSink: batching, retrying, bounded writer between a Faust agent and ClickHouse.

How the agent must use it so that Kafka offsets are never committed before rows are durable
(faust acks an event when the agent loop moves past it, and commits acked offsets):

    sink = BatchSink.for_events(store, settings, on_give_up=park_on_sink_retry_topic)

    @app.agent(enriched_topic)                 # concurrency=1 (see faust-pitfalls.md)
    async def store_events(stream):
        async for batch in stream.take(settings.sink_batch_size, within=settings.sink_batch_seconds):
            await sink.write(batch)             # = add + flush; returns once stored or parked

`write` returns only when the whole batch is in ClickHouse or has been handed to `on_give_up`
(which must park it durably, e.g. produce to the sink-retry topic and await the send). It never
raises: after `retry_seconds` of failures it parks the batch (at once when the rows themselves are
malformed: ValueError, TypeError, KeyError); if parking fails too it logs and
keeps retrying the insert, so nothing is acked unstored. Inserts are idempotent (the store skips
event ids already present), so a replay after a crash does not double count.

`add` alone buffers (awaiting while `max_buffered` rows are waiting: backpressure) and flushes by
size; call `tick()` from a timer (e.g. `app.timer(settings.sink_batch_seconds / 2)`) to flush by
age. Rows handed to `add` are acked by faust when the loop moves on, so use `add` without `flush`
only for data that may be lost (metrics).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

GiveUp = Callable[[list, BaseException], Awaitable[None] | None]


class BatchSink:
    def __init__(self, write: Callable[[list], int], *, batch_size: int, batch_seconds: float,
                 retry_seconds: float, on_give_up: GiveUp, max_buffered: int | None = None,
                 backoff_initial: float = 0.1, backoff_max: float = 5.0, name: str = "sink",
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        """`write(rows) -> rows written` is blocking (it runs in a thread); it raises on failure."""
        self._write = write
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.retry_seconds = retry_seconds
        self.on_give_up = on_give_up
        self.max_buffered = max(max_buffered or 4 * batch_size, batch_size)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._buffer: list = []
        self._oldest: float | None = None
        self._flush_lock = asyncio.Lock()
        self._space = asyncio.Condition()
        self.metrics = {"rows_in": 0, "rows_written": 0, "batches": 0, "retries": 0, "given_up_batches": 0,
                        "given_up_rows": 0, "park_failures": 0, "last_batch_latency_s": 0.0,
                        "last_batch_rows_per_s": 0.0, "buffered": 0}

    @classmethod
    def for_events(cls, store, settings, on_give_up: GiveUp, **kwargs) -> "BatchSink":
        """A sink writing enriched events through `store.insert_events`."""
        return cls(store.insert_events, batch_size=settings.sink_batch_size,
                   batch_seconds=settings.sink_batch_seconds, retry_seconds=settings.sink_retry_seconds,
                   on_give_up=on_give_up, name="events", **kwargs)

    @classmethod
    def for_alerts(cls, store, settings, on_give_up: GiveUp, **kwargs) -> "BatchSink":
        """A sink writing alert emissions through `store.insert_alerts`."""
        return cls(store.insert_alerts, batch_size=settings.sink_batch_size,
                   batch_seconds=settings.sink_batch_seconds, retry_seconds=settings.sink_retry_seconds,
                   on_give_up=on_give_up, name="alerts", **kwargs)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def add(self, rows: list) -> None:
        """Buffer rows; waits while the buffer is full; flushes when a batch is complete."""
        for i in range(0, len(rows), self.batch_size):
            part = list(rows[i:i + self.batch_size])
            async with self._space:
                while len(self._buffer) + len(part) > self.max_buffered and self._buffer:
                    await self._space.wait()
                if self._oldest is None:
                    self._oldest = self._clock()
                self._buffer.extend(part)
                self.metrics["rows_in"] += len(part)
                self.metrics["buffered"] = len(self._buffer)
            if len(self._buffer) >= self.batch_size:
                await self.flush()

    async def write(self, rows: list) -> None:
        """Add rows and flush: returns when they are stored (or parked). Never raises."""
        await self.add(rows)
        await self.flush()

    async def tick(self) -> None:
        """Flush when the oldest buffered row is older than batch_seconds (call from a timer)."""
        if self._oldest is not None and self._clock() - self._oldest >= self.batch_seconds:
            await self.flush()

    async def flush(self) -> None:
        """Write everything buffered, in batches of batch_size. Never raises."""
        async with self._flush_lock:
            while self._buffer:
                batch = self._buffer[:self.batch_size]
                await self._write_batch(batch)
                async with self._space:
                    del self._buffer[:len(batch)]
                    self._oldest = self._clock() if self._buffer else None
                    self.metrics["buffered"] = len(self._buffer)
                    self._space.notify_all()

    async def _write_batch(self, batch: list) -> None:
        started = self._clock()
        delay = self.backoff_initial
        while True:
            try:
                written = await asyncio.to_thread(self._write, batch)
            except (ValueError, TypeError, KeyError) as exc:  # malformed rows: retrying can not help
                if await self._give_up(batch, exc):
                    return
                continue
            except Exception as exc:  # noqa: BLE001 - every other failure is retried, then parked
                elapsed = self._clock() - started
                if elapsed + delay > self.retry_seconds:
                    if await self._give_up(batch, exc):
                        return
                    started = self._clock()  # parking failed: keep retrying the insert
                    delay = self.backoff_initial
                    continue
                self.metrics["retries"] += 1
                log.warning("%s sink: insert of %d rows failed (%s); retrying in %.1fs",
                            self.name, len(batch), exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            latency = max(self._clock() - started, 1e-9)
            self.metrics["batches"] += 1
            self.metrics["rows_written"] += int(written or 0)
            self.metrics["last_batch_latency_s"] = latency
            self.metrics["last_batch_rows_per_s"] = len(batch) / latency
            return

    async def _give_up(self, batch: list, exc: BaseException) -> bool:
        log.error("%s sink: giving up on %d rows after %.0fs: %s", self.name, len(batch), self.retry_seconds, exc)
        try:
            result = self.on_give_up(batch, exc)
            if inspect.isawaitable(result):
                await result
        except Exception as park_exc:  # noqa: BLE001
            self.metrics["park_failures"] += 1
            log.error("%s sink: parking %d rows failed (%s); retrying the insert", self.name, len(batch), park_exc)
            await self._sleep(self.backoff_max)
            return False
        self.metrics["given_up_batches"] += 1
        self.metrics["given_up_rows"] += len(batch)
        return True

    def metric_rows(self, worker: str, now: float | None = None) -> list[dict]:
        """The counters as `pipeline_metrics` rows (component = sink name)."""
        from datetime import datetime, timezone
        at = datetime.fromtimestamp(int(now if now is not None else time.time()), tz=timezone.utc)
        names = {"rows_written": "rows", "batches": "batches", "retries": "retries",
                 "given_up_rows": "given_up", "buffered": "buffered",
                 "last_batch_latency_s": "batch_latency_ms", "last_batch_rows_per_s": "rows_per_s"}
        rows = []
        for key, metric in names.items():
            value = float(self.metrics[key]) * (1000.0 if metric == "batch_latency_ms" else 1.0)
            rows.append({"time": at, "worker": worker, "component": f"sink.{self.name}",
                         "metric": metric, "label": "", "value": value})
        return rows
