"""kill -9 of the worker mid-stream, then a restart with the same app id and data dir: every event
stored exactly once after dedup, and per-user state recovered from the table's changelog (each
terminated user's incident continues with the same alert id and counts every event)."""

from __future__ import annotations

import signal

import pytest

from tests.faults.helpers import Timeline, assert_exact, assert_incidents_continued, fault_env, ghosts, \
    produce, workload, write_roster
from tests.integration.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]


def test_kill_9_mid_stream_then_restart(tmp_path, kafka_bootstrap, clickhouse_server, store_for, cleanup):
    step = Timeline("kill -9")
    ghost_ids = ghosts(2)
    env = fault_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", ghost_ids))})
    raw, log = env["STREAMER_TOPIC_PREFIX"] + "raw", tmp_path / "worker.log"
    store = store_for(clickhouse_server, env["STREAMER_CLICKHOUSE_DATABASE"])
    current = [WorkerProcess(env, log).start()]
    cleanup(lambda: current[0].stop())
    wait_for(store.ready, 120, what=lambda: current[0].log_tail())
    step("worker up, database migrated")

    first, second = workload("k9", 0, 2000, ghost_ids), workload("k9", 2000, 2600, ghost_ids)
    produce(kafka_bootstrap, raw, first)
    at_kill = wait_for(lambda: store.rows() >= 300 and store.rows(), 120, interval=0.1,
                       what=lambda: current[0].log_tail())
    current[0].stop(signal.SIGKILL)
    step(f"killed with -9 at {at_kill} of {len(first)} rows")
    assert at_kill < len(first), "the worker finished before the kill: not mid-stream"

    produce(kafka_bootstrap, raw, second)   # arrives while no worker runs
    current[0] = WorkerProcess(env, log).start()
    step("restarted")
    events = first + second
    assert_exact(store, [e["event_id"] for e in events], what=lambda: current[0].log_tail())
    step(f"all {len(events)} events stored exactly once")

    per_ghost = {g: sum(e["user"]["id"] == g for e in events) for g in ghost_ids}
    assert_incidents_continued(store, per_ghost)
    for g, n in per_ghost.items():   # window counters continued too (all of a ghost's events are views)
        assert store.max_feature(g, "views_7d") >= n
    assert current[0].alive(), current[0].log_tail()
