"""A real worker on the secured services: SASL_SSL/SCRAM to Kafka, TLS + password to ClickHouse,
secrets from files only. Events flow end to end, and the worker's DEBUG log (where client libraries
print their configuration) carries neither the secrets nor the patients' ids and names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from streamer.runtime.topics import admin_config
from streamer.store import open_store
from tests.integration.worker import WorkerProcess, wait_for, worker_env

from .test_transport import settings_from

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]
N = 300


class SafeWorker(WorkerProcess):
    """`streamer worker --loglevel DEBUG` with streamer.logsafe installed (tests/security/safe_worker.py)."""

    def start(self) -> "SafeWorker":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("safe_worker.py")), "worker",
                                      "--loglevel", "DEBUG"], env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self


def _raw(i: int) -> bytes:
    return orjson.dumps({"schema_version": 1, "event_id": f"sec-{i}", "action": "view", "outcome": "success",
                         "event_time": f"2026-11-30T09:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                         "user": {"id": f"user{i % 5}", "roles": ["radiologist"]},
                         "patient": {"id": f"MRN7{i:05d}", "name": f"PATIENT{i}^ANNA"}})


def test_worker_on_secured_services_logs_no_secret_nor_patient(tmp_path, secure_kafka, tls_clickhouse):
    secure_env = {**secure_kafka["env"], **tls_clickhouse["env"]}
    env = worker_env(tmp_path, secure_env["STREAMER_KAFKA_BOOTSTRAP"], None, extra=secure_env)
    for leaked in ("STREAMER_KAFKA_SASL_PASSWORD", "STREAMER_CLICKHOUSE_PASSWORD"):
        env.pop(leaked, None)               # only the secrets dir holds them
    env["STREAMER_CLICKHOUSE_DATABASE"] = db = f"sec_{env['STREAMER_APP_ID'][3:]}"
    s = settings_from({k: v for k, v in env.items() if k.startswith("STREAMER_")})
    log_path = tmp_path / "worker.log"
    worker = SafeWorker(env, log_path).start()
    store = open_store(s)
    try:
        wait_for(lambda: store.query(f"SELECT count() AS c FROM system.tables WHERE database = '{db}' "
                                     "AND name = 'events'")[0]["c"] == 1, 120,
                 what=lambda: f"the worker to migrate {db}:\n{worker.log_tail()}")
        producer = KafkaProducer(**admin_config(s), linger_ms=5)
        for i in range(N):
            producer.send(s.topic("raw"), key=f"user{i % 5}".encode(), value=_raw(i))
        producer.flush()
        producer.close()
        wait_for(lambda: store.query(f"SELECT uniqExact(event_id) AS n FROM {db}.events")[0]["n"] >= N, 180,
                 what=lambda: f"{N} rows in {db}.events:\n{worker.log_tail()}")
        assert store.query(f"SELECT uniqExact(event_id) AS n FROM {db}.events")[0]["n"] == N
        assert worker.alive(), worker.log_tail()
    finally:
        worker.stop()
        store.query(f"DROP DATABASE IF EXISTS {db}")
        store.close()
    log = log_path.read_text(errors="replace")
    assert "DEBUG" in log and len(log.splitlines()) > 100, "the worker did not log at DEBUG"
    assert "[secret]" in log, "expected the client configuration (with the password) to be logged, redacted"
    for secret in (secure_kafka["password"], tls_clickhouse["password"]):
        assert secret not in log
    leaked = [f"MRN7{i:05d}" for i in range(N) if f"MRN7{i:05d}" in log]
    leaked += [f"PATIENT{i}^ANNA" for i in range(N) if f"PATIENT{i}^ANNA" in log]
    assert not leaked, leaked[:5]
