"""End to end on the real stack: canonical events produced with kafka-python into Apache Kafka ->
Faust worker (normalize, score, sink) -> enriched rows in the ClickHouse server; counts equal."""

from __future__ import annotations

import orjson
import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer

from tests.integration.worker import WorkerProcess, wait_for, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]


def _events(n: int) -> list[dict]:
    users = [f"user{i:02d}" for i in range(12)]
    out = []
    for i in range(n):
        out.append({
            "schema_version": 1, "event_id": f"e2e-{i:05d}",
            "event_time": f"2026-11-30T{8 + (i // 600) % 10:02d}:{(i // 10) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
            "source": "pacs-main", "action": "view" if i % 17 else "export", "outcome": "success",
            "user": {"id": users[i % len(users)], "roles": ["radiologist"], "department": "neuroradiology",
                     "mfa": True},
            "patient": {"id": f"MRN{i % 97:04d}"},
            "study": {"uid": f"1.2.840.{i % 211}", "modality": "MR", "instances": 100},
        })
    return out


def test_events_flow_from_kafka_to_clickhouse_server(tmp_path, kafka_bootstrap, clickhouse_server):
    n = 1500
    env = worker_env(tmp_path, kafka_bootstrap, clickhouse_server)
    prefix, db = env["STREAMER_TOPIC_PREFIX"], env["STREAMER_CLICKHOUSE_DATABASE"]
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    client = Client(host=clickhouse_server["host"], port=clickhouse_server["port"])
    try:
        # the worker creates the topics and the database; wait for both before producing
        def ready():
            tables = client.execute(f"SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'events'")
            return tables[0][0] == 1
        wait_for(ready, 120, what=lambda: f"the worker to migrate {db}; log:\n{worker.log_tail()}")
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        for e in _events(n):
            producer.send(prefix + "raw", key=e["user"]["id"].encode(), value=orjson.dumps(e))
        producer.send(prefix + "raw", value=b"<not an audit message")   # goes to the dead-letter topic
        producer.flush()
        producer.close()

        def stored():
            return client.execute(f"SELECT uniqExact(event_id), count() FROM {db}.events")[0]
        got = wait_for(lambda: stored()[0] >= n and stored(), 180,
                       what=lambda: f"{n} rows in {db}.events; log:\n{worker.log_tail()}")
        assert got[0] == n
        client.execute(f"OPTIMIZE TABLE {db}.events FINAL")
        assert client.execute(f"SELECT count() FROM {db}.events FINAL")[0][0] == n
        # enrichment is stored with every row
        scored = client.execute(f"SELECT countIf(peer_group != '') FROM {db}.events")[0][0]
        assert scored == n
        assert worker.alive(), worker.log_tail()
    finally:
        worker.stop()
        client.execute(f"DROP DATABASE IF EXISTS {db}")
