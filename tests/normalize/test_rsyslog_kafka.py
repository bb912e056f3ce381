"""End to end: ATNA syslog over TCP and TLS -> rsyslog (docker/rsyslog/run.sh) -> omkafka -> the
raw topic of the real Apache Kafka -> normalize_record."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from streamer.normalize import normalize_record
from streamer.paths import PROJECT_ROOT

from .conftest import atna, octet, rfc5424

pytestmark = [pytest.mark.rsyslog, pytest.mark.kafka]
RUN_SH = PROJECT_ROOT / "docker/rsyslog/run.sh"
OMKAFKA = [Path("/usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so"), Path("/usr/lib/rsyslog/omkafka.so")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rsyslogd exited with {proc.returncode}: {proc.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"rsyslogd did not listen on {port}")


@pytest.fixture
def raw_topic(kafka_bootstrap):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    name = f"test.normalize.raw.{uuid.uuid4().hex[:10]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="normalize-tests")
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    yield name
    try:
        admin.delete_topics([name])
    finally:
        admin.close()


@pytest.fixture
def rsyslog(tmp_path, kafka_bootstrap, raw_topic):
    if not shutil.which("rsyslogd") or not any(p.exists() for p in OMKAFKA):
        msg = "rsyslogd with omkafka is not installed"
        if os.environ.get("STREAMER_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    port, tls_port = _free_port(), _free_port()
    env = dict(os.environ, RSYSLOG_STATE=str(tmp_path / "rsyslog"), RSYSLOG_PORT=str(port),
               RSYSLOG_TLS_PORT=str(tls_port), KAFKA_BOOTSTRAP=kafka_bootstrap, RAW_TOPIC=raw_topic)
    proc = subprocess.Popen(["bash", str(RUN_SH)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait_port(port, proc)
        _wait_port(tls_port, proc)
        yield {"port": port, "tls_port": tls_port, "ca": tmp_path / "rsyslog/tls/ca.pem", "topic": raw_topic}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _consume(bootstrap: str, topic: str, expected: int, timeout: float = 40.0) -> list:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000)
    records, deadline = [], time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records.extend(consumer)
    finally:
        consumer.close()
    return records


def test_atna_over_tcp_and_tls_reaches_kafka_and_normalizes(rsyslog, kafka_bootstrap):
    messages = {
        "tcp-octet": rfc5424(atna("110103", user="u-octet"), bom=True),
        "tls-octet": rfc5424(atna("110106", user="u-tls", studies=("1.1", "1.2"))),
        "tcp-newline": rfc5424(atna("110114", "E", type_code="110122", outcome="4", user="u-line", patient=None,
                              studies=())),
    }
    with socket.create_connection(("127.0.0.1", rsyslog["port"])) as s:
        s.sendall(octet(messages["tcp-octet"]))
    ctx = ssl.create_default_context(cafile=str(rsyslog["ca"]))
    with socket.create_connection(("127.0.0.1", rsyslog["tls_port"])) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(octet(messages["tls-octet"]))
    with socket.create_connection(("127.0.0.1", rsyslog["port"])) as s:
        s.sendall(messages["tcp-newline"] + b"\n")

    records = _consume(kafka_bootstrap, rsyslog["topic"], expected=3)
    assert len(records) == 3, f"{len(records)} records on {rsyslog['topic']}"
    events, dead = [], []
    for rec in records:
        assert rec.key == b"pacs01"  # key from the message: the sending host
        ev, dl = normalize_record(rec.value, topic=rec.topic, partition=rec.partition, offset=rec.offset, key=rec.key)
        events += ev
        dead += dl
    assert dead == []
    got = sorted((e["user"]["id"], e["action"], e["outcome"], e.get("study", {}).get("uid")) for e in events)
    assert got == [("u-line", "login_failed", "minor_failure", None), ("u-octet", "view", "success", "1.2.3.4"),
                   ("u-tls", "export", "success", "1.1"), ("u-tls", "export", "success", "1.2")]
    assert all(e["detail"]["syslog"]["msgid"] == "IHE+RFC-3881" for e in events)
