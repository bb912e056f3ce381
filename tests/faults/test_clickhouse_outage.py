"""The (private) ClickHouse server stopped for 60 s mid-stream, while events keep arriving: the sinks
park what they cannot write on sink-retry (STREAMER_SINK_RETRY_SECONDS is short), and once the
server is back every event is stored exactly once after dedup and every alert row arrives."""

from __future__ import annotations

import time

import pytest

from tests.faults.helpers import Timeline, assert_exact, assert_incidents_continued, fault_env, ghosts, \
    produce, workload, write_roster
from tests.integration.services import PrivateClickHouse
from tests.integration.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]

OUTAGE_S = 60


def test_clickhouse_down_for_a_minute(tmp_path, kafka_bootstrap, clickhouse_server, store_for, cleanup):
    step = Timeline("clickhouse outage")
    server = PrivateClickHouse(tmp_path / "clickhouse").start()
    cleanup(server.stop)
    ghost_ids = ghosts(2)
    env = fault_env(tmp_path, kafka_bootstrap, server.info, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", ghost_ids)),
        "STREAMER_SINK_RETRY_SECONDS": "3"})
    raw = env["STREAMER_TOPIC_PREFIX"] + "raw"
    store = store_for(server.info, env["STREAMER_CLICKHOUSE_DATABASE"])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    cleanup(worker.stop)
    wait_for(store.ready, 120, what=lambda: worker.log_tail())
    step(f"private ClickHouse on {server.port}, worker up")

    first, second = workload("ch", 0, 1500, ghost_ids), workload("ch", 1500, 2500, ghost_ids)
    produce(kafka_bootstrap, raw, first)
    at_stop = wait_for(lambda: store.rows() >= 300 and store.rows(), 120, interval=0.1,
                       what=lambda: worker.log_tail())
    server.stop()
    down_at = time.monotonic()
    step(f"ClickHouse stopped at {at_stop} of {len(first)} rows")
    produce(kafka_bootstrap, raw, second)   # keeps flowing through Kafka while the store is down
    wait_for(lambda: "parking on sink-retry" in worker.log_tail(200), OUTAGE_S, what="a batch parked")
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    assert worker.alive(), worker.log_tail()
    server.start()
    step("ClickHouse back")

    events = first + second
    assert_exact(store, [e["event_id"] for e in events], what=lambda: worker.log_tail())
    step(f"all {len(events)} events stored exactly once")
    assert_incidents_continued(store, {g: sum(e["user"]["id"] == g for e in events) for g in ghost_ids})
    assert worker.alive(), worker.log_tail()
