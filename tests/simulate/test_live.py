from __future__ import annotations

import asyncio

from streamer.simulate.live import LiveTraffic, alive_events, live_events
from streamer.timeutil import parse_time


class FakeClock:
    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_history_is_immediate_then_paced_by_speed():
    clock = FakeClock()
    speed = 60.0
    live_start = LiveTraffic(3, speed, users=30, history_days=1).live_start
    history = live = 0
    for e in live_events(3, speed, users=30, history_days=1, clock=clock.time, sleep=clock.sleep):
        ms = parse_time(e["event_time"])
        if ms < live_start:
            history += 1
            assert clock.now == 100.0          # no waiting before the live start
            continue
        live += 1
        due = 100.0 + (ms - live_start) / 1000 / speed
        assert abs(clock.now - due) < 1e-6 or clock.now > due   # never early
        if ms - live_start > 40 * 60_000:
            break
    assert history > 100 and live > 10
    assert abs(clock.now - 100.0 - 40 * 60 / speed) < 5        # 40 hospital minutes ~ 40 s at 60x
    assert all(s > 0 for s in clock.sleeps)


def test_incidents_arrive_in_the_first_twenty_seconds():
    traffic = LiveTraffic(4, 60.0, users=40, history_days=1)
    clock = FakeClock()
    for _due, e in traffic.schedule(clock.time):
        if parse_time(e["event_time"]) > traffic.live_start + 30 * 60_000:
            break
    labels = traffic.labels()
    assert {lab["type"] for lab in labels} == {"odd_hours", "bulk_export"}
    for lab in labels:
        wall = (parse_time(lab["start_time"]) - traffic.live_start) / 1000 / 60.0
        assert 0 <= wall <= 20, lab


def test_async_stream_and_fresh_dicts():
    async def take(n):
        out = []
        async for e in alive_events(5, 1e9, users=20, history_days=0):
            out.append(e)
            if len(out) == n:
                return out
    events = asyncio.run(take(50))
    assert len(events) == 50
    same_user = [e for e in events if e["user"]["id"] == events[0]["user"]["id"]]
    same_user[0]["user"]["name"] = "changed"
    assert all(e["user"].get("name") != "changed" for e in same_user[1:])
