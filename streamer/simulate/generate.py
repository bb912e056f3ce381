"""Whole simulations: normal traffic plus planned incidents, in event-time order, written to files."""

from __future__ import annotations

import bisect
import gc
import random
from pathlib import Path

import orjson

from streamer.simulate.hospital import DAY_MS, build_hospital, write_roster, write_watchlist
from streamer.simulate.incidents import TYPES, Injector
from streamer.simulate.traffic import Traffic


class Simulation:
    """Deterministic hospital traffic with injected incidents (same arguments, same bytes).

    >>> sim = Simulation(seed=1, users=40, days=2, incidents_per_type=1)
    >>> events = list(sim.events())
    >>> events[0]["event_time"] <= events[-1]["event_time"]
    True
    >>> sorted({label["type"] for label in sim.labels()}) == sorted(TYPES)
    True

    Iterate `events()` once; `labels()` is complete after that. Incidents start after
    `warmup_days` (default: 3 days on streams of 12 days or more, fewer on short ones), so the
    detectors see a baseline first. `scheduled` adds incidents at given times: [(type, epoch ms)].
    """

    def __init__(self, seed: int = 0, users: int = 300, days: int = 14, incidents_per_type: int = 3, *,
                 start: str = "2026-11-02", types: tuple = TYPES, warmup_days: int | None = None,
                 scheduled: tuple = ()):
        if users < 8 or days < 1:
            raise ValueError("need at least 8 users (one per role) and 1 day")
        unknown = set(types) - set(TYPES) | {k for k, _ in scheduled} - set(TYPES)
        if unknown:
            raise ValueError(f"unknown incident types: {sorted(unknown)}")
        self.seed = seed
        self.h = build_hospital(seed, users, days, start)
        self.tr = Traffic(self.h, seed)
        warm = warmup_days if warmup_days is not None else 0 if days < 4 else min(3, days // 4)
        self.injector = Injector(self.h, self.tr, random.Random(seed * 31 + 7), warm)
        for kind, t0 in scheduled:
            self.injector.plan(kind, t0)
        for kind in types:
            for _ in range(incidents_per_type):
                self.injector.plan(kind)
        self.count = 0

    def events(self):
        """Yield canonical events in event-time order, day by day (memory: about one day)."""
        h, tr = self.h, self.tr
        prefix = f"sim{self.seed}-"
        pending: list = []
        for day in range(h.days):
            tr.begin_day(day)
            batch = pending
            for u in h.users:
                batch += tr.user_day(u, day)
            batch += self.injector.inject(day)
            batch.sort()  # (time, sequence) pairs are unique: dicts never compared
            cut = bisect.bisect_left(batch, h.start_ms + (day + 1) * DAY_MS, key=_time)
            pending = batch[cut:]
            for _t, _s, e in batch[:cut]:
                self.count += 1
                e["event_id"] = f"{prefix}{self.count:09d}"
                yield e
        for _t, _s, e in pending:
            self.count += 1
            e["event_id"] = f"{prefix}{self.count:09d}"
            yield e

    def labels(self) -> list:
        """One label per injected incident (JSON-ready dicts), ordered by start time."""
        done = [i for i in self.injector.incidents if i.out]
        done.sort(key=lambda i: min(t for t, _, _ in i.out))
        return [inc.label(f"inc-{n:04d}") for n, inc in enumerate(done, 1)]


def _time(item: tuple) -> int:
    return item[0]


def simulate_to_dir(out: Path, seed: int = 0, users: int = 300, days: int = 14,
                    incidents_per_type: int = 3, **kw) -> dict:
    """Write events.jsonl, labels.jsonl, roster.csv, watchlist.csv into `out`; return counts."""
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(seed, users, days, incidents_per_type, **kw)
    dumps = orjson.dumps
    enabled = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: cyclic GC passes only cost time
    try:
        _write_events(sim, out / "events.jsonl")
    finally:
        if enabled:
            gc.enable()
    labels = sim.labels()
    with open(out / "labels.jsonl", "wb") as f:
        for label in labels:
            f.write(dumps(label) + b"\n")
    write_roster(sim.h, out / "roster.csv")
    write_watchlist(sim.h, out / "watchlist.csv")
    return {"events": sim.count, "incidents": len(labels), "users": len(sim.h.users),
            "roster": len(sim.h.users) + len(sim.h.roster_only), "watchlist": len(sim.h.watchlist)}


def _write_events(sim: Simulation, path: Path) -> None:
    dumps = orjson.dumps
    with open(path, "wb") as f:
        buf = []
        for e in sim.events():
            buf.append(dumps(e))
            if len(buf) >= 4096:
                f.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")
