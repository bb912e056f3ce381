"""Fixtures: an engine warmed on three weeks of ordinary sample traffic (built once, copied)."""

from __future__ import annotations

import pickle

import pytest

from models.sample_traffic import START, week
from streamer.score.engine import Engine

DAY = 86_400_000
HOUR = 3_600_000
T0 = START + 21 * DAY  # Monday after the warm-up (three weeks)


@pytest.fixture(scope="session")
def warm():
    """(pickled warmed engine, alerts raised on the clean traffic)."""
    engine = Engine()
    alerts = []
    for _, new in engine.process_many(week(n_users=28, days=21, seed=3)):
        alerts.extend(new)
    return pickle.dumps(engine), alerts


@pytest.fixture
def engine(warm) -> Engine:
    return pickle.loads(warm[0])
