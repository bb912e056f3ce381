"""A restart of the (private) Kafka broker mid-stream: every event stored exactly once after dedup
and the incidents of terminated users continue. The worker runs under a systemd-like supervisor
(Restart=always), as in production: if the broker outage ends the worker process, the supervisor
starts it again and it recovers its tables from the changelogs; the number of restarts is printed."""

from __future__ import annotations

import pytest

from tests.faults.helpers import Supervisor, Timeline, assert_exact, assert_incidents_continued, fault_env, \
    ghosts, produce, workload, write_roster
from tests.integration.services import PrivateKafka
from tests.integration.worker import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]


def test_broker_restart_mid_stream(tmp_path, kafka_bootstrap, clickhouse_server, store_for, cleanup):
    step = Timeline("broker restart")
    broker = PrivateKafka(tmp_path / "broker").start()
    cleanup(broker.stop)
    step(f"private broker up on {broker.bootstrap}")
    ghost_ids = ghosts(2)
    env = fault_env(tmp_path, broker.bootstrap, clickhouse_server, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", ghost_ids))})
    raw = env["STREAMER_TOPIC_PREFIX"] + "raw"
    store = store_for(clickhouse_server, env["STREAMER_CLICKHOUSE_DATABASE"])
    unit = Supervisor(env, tmp_path / "worker.log")
    cleanup(unit.stop)
    wait_for(store.ready, 120, what=lambda: unit.worker.log_tail())
    step("worker up, database migrated")

    first, second = workload("br", 0, 2000, ghost_ids), workload("br", 2000, 2600, ghost_ids)
    produce(broker.bootstrap, raw, first)
    at_restart = wait_for(lambda: store.rows() >= 300 and store.rows(), 120, interval=0.1,
                          what=lambda: unit.worker.log_tail())
    step(f"restarting the broker at {at_restart} of {len(first)} rows")
    broker.restart()
    step("broker back")
    assert at_restart < len(first), "the worker finished before the broker restart: not mid-stream"

    produce(broker.bootstrap, raw, second)
    events = first + second
    assert_exact(store, [e["event_id"] for e in events], what=lambda: unit.worker.log_tail())
    step(f"all {len(events)} events stored exactly once; worker restarts by the supervisor: {unit.restarts}")
    assert_incidents_continued(store, {g: sum(e["user"]["id"] == g for e in events) for g in ghost_ids})
    assert unit.worker.alive(), unit.worker.log_tail()
    step("incidents continued")
