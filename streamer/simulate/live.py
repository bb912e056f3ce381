"""Live traffic for the demo: hospital events paced to the wall clock, incidents early.

    for event in live_events(seed=7, speed=60):      # 1 s of wall time = 1 min of hospital time
        producer.send(topic, event)

    async for event in alive_events(seed=7, speed=60):
        await producer.send(topic, event)

The stream starts with `history_days` of earlier traffic yielded as fast as the consumer takes it
(so the detectors have a baseline), then goes live at `start_hour` (04:00 UTC by default) of the
next day and is paced: an event at hospital time T is yielded at wall time
`live start + (T - live start) / speed`. The `incidents` are injected right after the live start:
the i-th at live start + (5 + 5 i) minutes of hospital time, i.e. an odd-hours access at +5 min
and a bulk export at +10 min (5 s and 10 s of wall time at speed 60). The stream then runs on day
after day until the consumer stops. Each event is a fresh dict (no shared sub-dicts).
`LiveTraffic(...).labels()` lists the incidents injected so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import orjson

from streamer.simulate.generate import Simulation
from streamer.simulate.hospital import DAY_MS, HOUR_MS, MINUTE_MS
from streamer.timeutil import parse_time

DEFAULT_INCIDENTS = ("odd_hours", "bulk_export")


class LiveTraffic:
    """The paced stream: `schedule()` yields (wall-clock due time or None, event)."""

    def __init__(self, seed: int = 0, speed: float = 60.0, *, users: int = 200, history_days: int = 3,
                 start_hour: float = 4.0, incidents: tuple = DEFAULT_INCIDENTS, days: int = 365,
                 start: str = "2026-11-02"):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        probe = Simulation(seed, users, 1, 0, start=start, types=())
        self.live_start = probe.h.start_ms + history_days * DAY_MS + int(start_hour * HOUR_MS)
        scheduled = tuple((kind, self.live_start + (5 + 5 * i) * MINUTE_MS) for i, kind in enumerate(incidents))
        self.sim = Simulation(seed, users, history_days + days, 0, start=start, types=(),
                              scheduled=scheduled)
        self.speed = speed

    def labels(self) -> list:
        return self.sim.labels()

    def schedule(self, clock: Callable[[], float]) -> Iterator[tuple]:
        wall0 = None
        dumps, loads = orjson.dumps, orjson.loads
        for e in self.sim.events():
            ms = parse_time(e["event_time"])
            due = None
            if ms >= self.live_start:
                if wall0 is None:
                    wall0 = clock()
                due = wall0 + (ms - self.live_start) / 1000.0 / self.speed
            yield due, loads(dumps(e))


def live_events(seed: int = 0, speed: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep, **kw) -> Iterator[dict]:
    """Events paced to the wall clock (see the module doc); `clock`/`sleep` are injectable."""
    for due, event in LiveTraffic(seed, speed, **kw).schedule(clock):
        if due is not None:
            delay = due - clock()
            if delay > 0:
                sleep(delay)
        yield event


async def alive_events(seed: int = 0, speed: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                       **kw) -> AsyncIterator[dict]:
    """The same stream for asyncio consumers (sleeps with asyncio.sleep)."""
    for due, event in LiveTraffic(seed, speed, **kw).schedule(clock):
        if due is not None:
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
        yield event
