"""Scale-out on the real Apache Kafka: two `streamer worker` processes in one consumer group share the
raw/events/enriched partitions (both hold some), and every event is stored exactly once."""

from __future__ import annotations

import orjson
import pytest
from clickhouse_driver import Client
from kafka import KafkaAdminClient, KafkaProducer

from tests.integration.worker import WorkerProcess, wait_for, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]
N, USERS = 2000, 40


def _event(i: int) -> dict:
    return {"schema_version": 1, "event_id": f"so-{i:05d}", "action": "view", "outcome": "success",
            "event_time": f"2026-11-30T{8 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
            "user": {"id": f"user{i % USERS:02d}", "roles": ["radiologist"], "department": "neuro"},
            "patient": {"id": f"MRN{i % 300}"}, "study": {"uid": f"1.2.{i % 500}", "modality": "CT"}}


def _assignments(admin: KafkaAdminClient, group: str, topic: str) -> list[set[int]]:
    """Partitions of `topic` actively assigned to each member of the group (Faust's assignor)."""
    members = admin.describe_groups([group])[group]["members"]
    out = []
    for m in members:
        parts: set[int] = set()
        for entry in (m.get("member_assignment") or {}).get("assigned_partitions", []):
            if entry["topic"] == topic:
                parts.update(entry["partitions"])
        out.append(parts)
    return out


def test_two_workers_share_partitions_and_store_each_event_once(tmp_path, kafka_bootstrap, clickhouse_server):
    env = worker_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={"STREAMER_KAFKA_REBALANCE_TIMEOUT": "20"})
    prefix, db, group = env["STREAMER_TOPIC_PREFIX"], env["STREAMER_CLICKHOUSE_DATABASE"], env["STREAMER_APP_ID"]
    workers = [WorkerProcess(dict(env, STREAMER_DATA_DIR=str(tmp_path / f"w{j}")), tmp_path / f"w{j}.log")
               for j in range(2)]
    client = Client(host=clickhouse_server["host"], port=clickhouse_server["port"])
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        workers[0].start()
        wait_for(lambda: client.execute(f"SELECT count() FROM system.tables WHERE database = '{db}' "
                                        "AND name = 'events'")[0][0] == 1, 120, what=workers[0].log_tail)
        workers[1].start()

        def split():
            try:
                parts = _assignments(admin, group, prefix + "raw")
            except Exception:
                return None
            return parts if len(parts) == 2 and all(parts) else None
        parts = wait_for(split, 150, interval=1, what=lambda: f"both workers to hold raw partitions; "
                         f"w0:\n{workers[0].log_tail()}\nw1:\n{workers[1].log_tail()}")
        assert parts[0].isdisjoint(parts[1]) and parts[0] | parts[1] == {0, 1, 2, 3}

        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        for i in range(N):
            e = _event(i)
            producer.send(prefix + "raw", key=e["user"]["id"].encode(), value=orjson.dumps(e))
        producer.flush()
        producer.close()
        wait_for(lambda: client.execute(f"SELECT uniqExact(event_id) FROM {db}.events")[0][0] >= N, 240,
                 what=lambda: f"{N} rows; w0:\n{workers[0].log_tail()}\nw1:\n{workers[1].log_tail()}")
        assert client.execute(f"SELECT uniqExact(event_id), count() FROM {db}.events")[0] == (N, N)
        # the users' events were scored by both workers, each user by one (co-partitioned state)
        assert client.execute(f"SELECT uniqExact(user_id) FROM {db}.events")[0][0] == USERS
        assert all(w.alive() for w in workers), workers[0].log_tail() + workers[1].log_tail()
        final = _assignments(admin, group, prefix + "events")
        assert len(final) == 2 and all(final), final
    finally:
        for w in workers:
            w.stop()
        admin.close()
        client.execute(f"DROP DATABASE IF EXISTS {db}")
