"""Fixtures of the fault-injection tests: cleanup of what a test started (workers, receivers,
private servers, databases), whatever happens."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:   # tests.* helpers, also under a bare `pytest`
    sys.path.insert(0, str(ROOT))

from tests.faults.helpers import Store  # noqa: E402


@pytest.fixture
def cleanup():
    """Register callables (stop a worker, drop a database, stop a private server); they run in
    reverse order at the end of the test, each even when another failed."""
    todo: list = []
    yield todo.append
    errors = []
    for fn in reversed(todo):
        try:
            fn()
        except Exception as exc:  # keep cleaning up; report the first failure
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def store_for(cleanup):
    """store_for(ch_info, db) -> Store, dropped at the end of the test."""
    def make(ch: dict, db: str) -> Store:
        store = Store(ch, db)
        cleanup(store.drop)
        return store
    return make
