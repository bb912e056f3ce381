"""The engine keeps at most `max_live_users` users as live objects; the others are kept serialised
and loaded again on their next event. Evicting must not change a single output."""

from __future__ import annotations

import orjson
import pytest

from streamer.score.engine import Engine
from streamer.simulate import Simulation


@pytest.fixture(scope="module")
def stream():
    sim = Simulation(seed=7, users=120, days=7, incidents_per_type=1, warmup_days=4)
    events = sorted(sim.events(), key=lambda e: e["event_time"])
    return events


def run(engine: Engine, events: list) -> list[bytes]:
    out = []
    for i in range(0, len(events), 250):
        for enriched, alerts in engine.process_many(events[i:i + 250]):
            out.append(orjson.dumps(enriched, option=orjson.OPT_SORT_KEYS))
            out.extend(orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in alerts)
        ms = engine._ms(events[min(i + 249, len(events) - 1)]["event_time"])
        out.extend(orjson.dumps(a, option=orjson.OPT_SORT_KEYS) for a in engine.flush(ms))
    return out


def test_evicting_users_changes_no_output(stream):
    unbounded, bounded = Engine(), Engine(max_live_users=10)
    expected, got = run(unbounded, stream), run(bounded, stream)
    assert len(bounded.users) < 40 and bounded.user_count() == unbounded.user_count() > 100
    assert sum(b'"alert_id"' in x for x in expected) > 0, "the stream must raise alerts"
    assert got == expected


def test_evicted_user_exports_and_imports(stream):
    eng = Engine(max_live_users=10)
    eng.process_many(stream[:3000])
    cold = next(u for u in eng._cold)
    blob = eng.export_user(cold)
    assert eng.has_user(cold) and cold not in eng.users
    other = Engine()
    other.import_user(cold, blob)
    assert other.export_user(cold) == blob
    eng.import_user(cold, blob)  # a table re-import makes the user live again
    assert cold in eng.users and cold not in eng._cold
