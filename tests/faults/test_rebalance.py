"""Two workers in one consumer group, one killed with -9 mid-stream: after the session timeout the
survivor takes over the dead worker's partitions (rebalance), recovers their tables from the
changelogs, and every event is stored exactly once after dedup; the incidents of the dead worker's
users continue on the survivor."""

from __future__ import annotations

import signal
import uuid

import pytest

from tests.faults.helpers import Timeline, assert_exact, assert_incidents_continued, assignments, fault_env, \
    ghosts, produce, workload, write_roster
from tests.integration.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]


def test_survivor_takes_over_a_killed_workers_partitions(tmp_path, kafka_bootstrap, clickhouse_server,
                                                          store_for, cleanup):
    step = Timeline("rebalance")
    ghost_ids = ghosts(2)   # one terminated user on each partition
    roster, name = write_roster(tmp_path / "roster.csv", ghost_ids), uuid.uuid4().hex[:8]
    envs = [fault_env(tmp_path / w, kafka_bootstrap, clickhouse_server, name=name,
                      extra={"STREAMER_ROSTER_FILE": str(roster)}) for w in ("a", "b")]
    group, prefix = envs[0]["STREAMER_APP_ID"], envs[0]["STREAMER_TOPIC_PREFIX"]
    store = store_for(clickhouse_server, envs[0]["STREAMER_CLICKHOUSE_DATABASE"])
    a = WorkerProcess(envs[0], tmp_path / "a.log").start()
    cleanup(a.stop)
    wait_for(store.ready, 120, what=lambda: a.log_tail())
    b = WorkerProcess(envs[1], tmp_path / "b.log").start()
    cleanup(b.stop)
    split = wait_for(lambda: sorted(assignments(kafka_bootstrap, group, prefix + "events")) == [[0], [1]], 120,
                     what=lambda: f"a 1/1 split of the events partitions: "
                                  f"{assignments(kafka_bootstrap, group, prefix + 'events')}\n{b.log_tail()}")
    assert split
    step("two workers, one partition each")

    first, second = workload("rb", 0, 2000, ghost_ids), workload("rb", 2000, 2600, ghost_ids)
    produce(kafka_bootstrap, prefix + "raw", first)
    at_kill = wait_for(lambda: store.rows() >= 300 and store.rows(), 120, interval=0.1,
                       what=lambda: a.log_tail() + "\n" + b.log_tail())
    b.stop(signal.SIGKILL)
    step(f"worker b killed with -9 at {at_kill} of {len(first)} rows")
    assert at_kill < len(first), "the workers finished before the kill: not mid-stream"

    produce(kafka_bootstrap, prefix + "raw", second)
    wait_for(lambda: assignments(kafka_bootstrap, group, prefix + "events") == [[0, 1]], 60,
             what=lambda: f"the survivor to hold both partitions: "
                          f"{assignments(kafka_bootstrap, group, prefix + 'events')}\n{a.log_tail()}")
    step("survivor holds both partitions")
    events = first + second
    assert_exact(store, [e["event_id"] for e in events], what=lambda: a.log_tail())
    step(f"all {len(events)} events stored exactly once")
    assert_incidents_continued(store, {g: sum(e["user"]["id"] == g for e in events) for g in ghost_ids})
    assert a.alive(), a.log_tail()
