"""A small generated history (40 users, 6 days, incidents after a 3-day warm-up), scored once by
the engine, and stores holding it: chdb in a temporary folder, the ClickHouse server in a
database of its own."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from models.features import DAY
from streamer.score.engine import Engine
from streamer.simulate import Simulation
from streamer.store.chdb_store import ChdbStore
from streamer.store.native import NativeStore
from streamer.timeutil import parse_time

TYPES = ("bulk_export", "patient_sweep", "odd_hours", "export_destination")


@pytest.fixture(scope="session")
def history():
    """events (canonical), incidents (simulator labels), enriched (engine without a batch
    model), start (ms of the first day), end (ms after the last event)."""
    sim = Simulation(seed=5, users=40, days=6, incidents_per_type=1, types=TYPES, warmup_days=3)
    events = list(sim.events())
    engine = Engine()
    enriched = []
    for i in range(0, len(events), 1000):
        enriched += [e for e, _ in engine.process_many(events[i:i + 1000])]
    start = parse_time(events[0]["event_time"]) // DAY * DAY
    end = parse_time(events[-1]["event_time"]) + 1
    return SimpleNamespace(events=events, incidents=sim.labels(), enriched=enriched, start=start,
                           end=end)


def _fill(store, history):
    store.migrate()
    assert store.insert_events(history.enriched) == len(history.enriched)
    return store


@pytest.fixture
def chdb_history(history, tmp_path):
    store = _fill(ChdbStore(str(tmp_path / "chdb"), "pacs_train"), history)
    yield store
    store.close()


@pytest.fixture
def server_history(history, clickhouse_server):
    store = NativeStore(clickhouse_server["host"], clickhouse_server["port"],
                        "t_models_" + uuid.uuid4().hex[:10])
    _fill(store, history)
    yield store
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


@pytest.fixture(params=["chdb", pytest.param("server", marks=pytest.mark.clickhouse)])
def stored_history(request):
    """The history in chdb, then in the ClickHouse server."""
    return request.getfixturevalue(f"{request.param}_history")
