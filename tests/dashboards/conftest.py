"""Stores migrated and filled with the deterministic sample, for running every panel's SQL."""

from __future__ import annotations

import os

import pytest

from streamer.dashboards.sample import DAY, Sample
from streamer.timeutil import parse_time

END_MS = parse_time("2026-11-23T00:00:00Z")
START_MS = END_MS - 2 * DAY


@pytest.fixture(scope="session")
def time_range() -> tuple[int, int]:
    """The range the panels are run for: the last two days of the sample."""
    return START_MS, END_MS


@pytest.fixture(scope="session")
def sample() -> Sample:
    return Sample(END_MS, days=2)


@pytest.fixture(scope="module")
def chdb_store(tmp_path_factory, sample):
    """Module-scoped: chdb serves one folder per process at a time, so the session is closed before
    another test module opens its own folder."""
    from streamer.store.chdb_store import ChdbStore

    store = ChdbStore(str(tmp_path_factory.mktemp("chdb")), "pacs_audit")
    store.migrate()
    sample.load(store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def server_store(clickhouse_server, sample):
    """The real ClickHouse server, in a database of its own dropped afterwards."""
    from streamer.store.native import NativeStore

    database = f"pacs_dashboards_test_{os.getpid()}"
    store = NativeStore(clickhouse_server["host"], clickhouse_server["port"], database)
    store.execute(f"DROP DATABASE IF EXISTS {database}")
    store.migrate()
    sample.load(store)
    yield store
    store.execute(f"DROP DATABASE IF EXISTS {database}")
    store.close()
