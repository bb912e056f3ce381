"""Hot reload under a running worker: `streamer models promote` while `streamer worker` runs on the
real broker; events scored after the promotion carry the new version in ClickHouse, earlier ones
the old, and the worker never restarts."""

from __future__ import annotations

import time

import orjson
import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer

from models import registry
from models.train import from_enriched, save_artifact, train_isolation_forest
from models.training.estimators import FeedbackModel
from tests.integration.worker import WorkerProcess, wait_for, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]
NAME = "batch"


def _versions(client, db) -> dict[str, int]:
    rows = client.execute(f"SELECT model_version, count() FROM {db}.events GROUP BY model_version")
    return {v.split("+")[-1]: n for v, n in rows}


def test_promotion_is_picked_up_by_a_running_worker(history, tmp_path, kafka_bootstrap, clickhouse_server):
    reg = tmp_path / "registry"
    ds = from_enriched(history.enriched[:4000])
    v1, v2 = (save_artifact(FeedbackModel(train_isolation_forest(
        ds, n_estimators=20, min_rows=1000, seed=seed, progress=False)), NAME, ds, registry_dir=reg)
        for seed in (1, 2))
    registry.promote(NAME, v1, reg)
    env = worker_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
        "STREAMER_MODEL_NAME": NAME, "STREAMER_MODEL_REGISTRY": str(reg),
        "STREAMER_MODEL_RELOAD_SECONDS": "1"})
    prefix, db = env["STREAMER_TOPIC_PREFIX"], env["STREAMER_CLICKHOUSE_DATABASE"]
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    client = Client(host=clickhouse_server["host"], port=clickhouse_server["port"])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)

    def send(events):
        for e in events:
            producer.send(prefix + "raw", key=e["user"]["id"].encode(), value=orjson.dumps(e))
        producer.flush()

    try:
        wait_for(lambda: client.execute(f"SELECT count() FROM system.tables WHERE database = '{db}' "
                                        f"AND name = 'events'")[0][0] == 1, 120, what=lambda: worker.log_tail())
        first, second = history.events[:500], history.events[500:1000]
        send(first)
        got = wait_for(lambda: sum(_versions(client, db).values()) >= 500 and _versions(client, db), 180,
                       what=lambda: worker.log_tail())
        assert got == {v1: 500}
        registry.promote(NAME, v2, reg)
        # the worker looks at the registry at most once a second (STREAMER_MODEL_RELOAD_SECONDS),
        # at its next batch: events sent at once may be scored in the second after its last look
        # (a run with the first 500 stored within that second scored 144 of these with v1)
        time.sleep(1.5)
        send(second)
        got = wait_for(lambda: sum(_versions(client, db).values()) >= 1000 and _versions(client, db), 180,
                       what=lambda: worker.log_tail())
        assert got.get(v2, 0) >= 450, got      # the swap lands within the reload interval
        assert got[v1] + got.get(v2, 0) == 1000
        assert worker.alive(), worker.log_tail()
    finally:
        producer.close()
        worker.stop()
        client.execute(f"DROP DATABASE IF EXISTS {db}")
