"""TLS and SASL/SCRAM-SHA-512 to Apache Kafka, TLS to ClickHouse: the admin, producer, consumer and
store paths the worker uses, against the secured services with certificates from the test CA.
Secrets come from a secrets dir (files), as in production."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from streamer.runtime.topics import aiokafka_config, ensure_topics
from streamer.settings import Settings
from streamer.store import open_store

KEYS = {"STREAMER_SECRETS_DIR"}


def settings_from(env: dict, **over) -> Settings:
    """Settings from a STREAMER_* mapping; secrets read from its STREAMER_SECRETS_DIR files."""
    fields = {k.removeprefix("STREAMER_").lower(): v for k, v in env.items() if k not in KEYS}
    fields.update(over)
    return Settings(_secrets_dir=env.get("STREAMER_SECRETS_DIR"), **fields)


async def _roundtrip(settings: Settings, n: int = 20) -> list[bytes]:
    """Produce n messages to the raw topic and read them back, with the worker's aiokafka arguments."""
    topic = settings.topic("raw")
    producer = AIOKafkaProducer(**aiokafka_config(settings), acks="all")
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, key=b"u", value=orjson.dumps({"i": i}))
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, group_id=f"g-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                                **aiokafka_config(settings))
    await consumer.start()
    got: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < n:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got.extend(r.value for r in records)
    finally:
        await consumer.stop()
    return got


@pytest.mark.kafka
def test_sasl_scram_over_tls_admin_producer_consumer(secure_kafka):
    s = settings_from(secure_kafka["env"], topic_prefix=f"sec{uuid.uuid4().hex[:6]}.")
    assert s.kafka_sasl_password.get_secret_value() == secure_kafka["password"]   # from the secrets file
    created = ensure_topics(s)
    assert s.topic("raw") in created and s.topic("events") in created
    got = asyncio.run(_roundtrip(s))
    assert sorted(orjson.loads(v)["i"] for v in got) == list(range(20))


@pytest.mark.kafka
def test_mutual_tls_listener(secure_kafka):
    certs = secure_kafka["certs"]
    s = Settings(kafka_bootstrap=secure_kafka["ssl_bootstrap"], kafka_security_protocol="SSL",
                 kafka_ssl_cafile=str(certs / "ca.pem"), kafka_ssl_certfile=str(certs / "client.pem"),
                 kafka_ssl_keyfile=str(certs / "client.key"), topic_prefix=f"mtls{uuid.uuid4().hex[:6]}.")
    assert s.topic("raw") in ensure_topics(s)
    assert len(asyncio.run(_roundtrip(s, 5))) == 5


@pytest.mark.kafka
@pytest.mark.parametrize("case", ["wrong password", "no client certificate", "untrusted CA", "plaintext"])
def test_broker_refuses_bad_clients(secure_kafka, case):
    certs = secure_kafka["certs"]
    env = dict(secure_kafka["env"])
    over: dict = {"topic_prefix": "refused."}
    if case == "wrong password":
        over["kafka_sasl_password"] = SecretStr("not-the-password")
    elif case == "no client certificate":
        env = {"STREAMER_KAFKA_BOOTSTRAP": secure_kafka["ssl_bootstrap"], "STREAMER_KAFKA_SECURITY_PROTOCOL": "SSL",
               "STREAMER_KAFKA_SSL_CAFILE": str(certs / "ca.pem")}
    elif case == "untrusted CA":
        over["kafka_ssl_cafile"] = ""       # system trust store: the test CA is not in it
    else:
        over["kafka_security_protocol"] = "PLAINTEXT"
    s = settings_from(env, **over)

    async def connect():
        producer = AIOKafkaProducer(**aiokafka_config(s), request_timeout_ms=5000)
        try:
            await asyncio.wait_for(producer.start(), 10)
        finally:
            await producer.stop()
    with pytest.raises(Exception):
        asyncio.run(connect())


def _event(i: int) -> dict:
    return {"schema_version": 1, "event_id": f"tls-{i}", "event_time": f"2026-11-30T10:00:{i % 60:02d}.000Z",
            "action": "view", "outcome": "success", "user": {"id": f"u{i % 3}", "roles": ["radiologist"]},
            "patient": {"id": f"MRN{i:04d}", "name": "DOE^JOHN"},
            "enrichment": {"peer_group": "radiologist|x", "features": {}, "anomaly_score": 0.1,
                           "model_version": "m", "detectors": [], "risk": 1.0, "severity": "none",
                           "expected": {}}}


@pytest.mark.clickhouse
def test_clickhouse_over_tls_with_password_from_file(tls_clickhouse):
    db = f"tls_{uuid.uuid4().hex[:8]}"
    s = settings_from(tls_clickhouse["env"], clickhouse_database=db)
    assert s.clickhouse_secure and s.clickhouse_password.get_secret_value() == tls_clickhouse["password"]
    store = open_store(s)
    try:
        store.migrate()
        assert store.insert_events([_event(i) for i in range(50)]) == 50
        assert store.query(f"SELECT count() AS c FROM {db}.events")[0]["c"] == 50
        assert store.query("SELECT user AS u FROM system.processes")[0]["u"] == "streamer"
    finally:
        store.query(f"DROP DATABASE IF EXISTS {db}")
        store.close()


@pytest.mark.clickhouse
@pytest.mark.parametrize("case", ["untrusted CA", "plaintext to the TLS port", "wrong password"])
def test_clickhouse_refuses_bad_clients(tls_clickhouse, case):
    over = {"untrusted CA": {"clickhouse_ca_certs": ""},
            "plaintext to the TLS port": {"clickhouse_secure": False},
            "wrong password": {"clickhouse_password": SecretStr("nope-nope")}}[case]
    store = open_store(settings_from(tls_clickhouse["env"], **over))
    try:
        with pytest.raises(Exception):
            store.query("SELECT 1 AS one")
    finally:
        store.close()


def test_server_certificates_chain_to_the_test_ca(secure_kafka):
    ctx = ssl.create_default_context(cafile=str(secure_kafka["certs"] / "ca.pem"))
    for name in ("kafka", "clickhouse", "client"):
        cert = ssl._ssl._test_decode_cert(str(secure_kafka["certs"] / f"{name}.pem"))
        assert cert["issuer"] == ((("commonName", "pacs-streamer test CA"),),)
        not_after = dt.datetime.strptime(cert["notAfter"], "%b %d %H:%M:%S %Y %Z")
        assert not_after > dt.datetime.utcnow()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
