"""The alert service end to end: alerts topic on the real broker -> pipeline -> PagerDuty-shaped
receiver on loopback, with a receiver outage and a worker restart in the middle."""

from __future__ import annotations

import asyncio
import json
import uuid

import orjson
import pytest

from streamer.alert.model import alert_errors
from streamer.alert.notify import (DeliveryLog, Dispatcher, MemoryRetryQueue, PagerDutySender, RetryPolicy,
                                   WebhookSender)
from streamer.alert.pipeline import Pipeline
from streamer.alert.service import AlertService
from streamer.paths import schemas_dir
from streamer.timeutil import parse_time

from .alerttools import M, T0, Receiver, free_port, make_alert

FAST = RetryPolicy(initial_s=0.01, max_backoff_s=0.05, give_up_after_s=0.2, timeout_s=0.3)
ROUTING_KEY = "R0123456789abcdef0123456789abcde"


def storm() -> list[dict]:
    """300 updates of one incident (escalating), a second user's alert, then the resolution."""
    alerts = [make_alert("storm", severity="critical" if k > 150 else "high", t=T0 + k * 5000, first=T0, n=k + 1)
              for k in range(300)]
    alerts.insert(100, make_alert("b1", user="asmith", severity="high", t=T0 + 100 * 5000))
    alerts.append(make_alert("storm", severity="critical", t=T0 + 40 * M, first=T0, n=300, status="resolved"))
    return alerts


def test_test_alerts_and_topic_examples_follow_the_contract(config):
    assert alert_errors(make_alert()) == []
    pipeline = Pipeline(config)
    for path in sorted((schemas_dir() / "topics" / "alerts" / "examples").glob("*.json")):
        alert = json.loads(path.read_text())
        assert alert_errors(alert) == [], path.name
        pipeline.push(alert, parse_time(alert["last_event_time"]))
    assert len(pipeline.alerts) == 2  # the resolved example was never firing here: dropped


async def _consume_all(pipeline_config, messages, port, delivered_state, restart_after):
    """Feed messages through an AlertService; restart it (from its state) after `restart_after`."""
    rcv = Receiver(port=port)
    queue = MemoryRetryQueue()
    state: dict[str, bytes] = {}
    sends = {"pagerduty": PagerDutySender(f"http://127.0.0.1:{port}/v2/enqueue", ROUTING_KEY),
             "webhook": WebhookSender(f"http://127.0.0.1:{port}/hook", "secret")}

    def service():
        d = Dispatcher(sends, queue, policy=FAST, delivered=DeliveryLog(delivered_state))
        return AlertService(Pipeline(pipeline_config), d, state)

    svc = service()
    now = T0
    for i, alert in enumerate(messages):
        if i == restart_after:
            await svc.dispatcher.close()
            svc = service()  # the worker restarts: only the table state survives
            await rcv.start()  # and the receiver is back
        now = parse_time(alert["updated_time"])
        await svc.on_alert(alert, now)
    for t in range(now, now + 30 * M, 30_000):
        await svc.on_tick(t)
    # the retry topic is read at least once: every parked record comes back twice
    replayed = [await svc.dispatcher.redeliver(raw) for raw in queue.items * 2]
    await svc.dispatcher.close()
    await rcv.stop()
    return rcv, queue, replayed, state


def _check_pages(rcv: Receiver, replayed: list[str]):
    events = [orjson.loads(body) for path, _, body in rcv.accepted if path == "/v2/enqueue"]
    triggers = sorted(e["payload"]["source"] for e in events if e["event_action"] == "trigger")
    resolves = [e for e in events if e["event_action"] == "resolve"]
    assert triggers == ["pacs-audit/user/asmith", "pacs-audit/user/jdoe"]  # one page per incident
    assert len(resolves) == 1
    jdoe = [e for e in events if e.get("payload", {}).get("source") == "pacs-audit/user/jdoe"][0]
    assert resolves[0]["dedup_key"] == jdoe["dedup_key"]
    # everything parked during the outage is delivered once (by its retry, or right after the one
    # of its group it waited for); the replayed copies are dropped
    half = len(replayed) // 2
    assert set(replayed[:half]) <= {"delivered", "duplicate"} and "delivered" in replayed[:half]
    assert replayed[half:] == ["duplicate"] * half
    assert len(rcv.accepted) == len({h["X-Notification-Id"] if "X-Notification-Id" in h else b
                                     for _, h, b in rcv.accepted})


def test_storm_outage_and_restart_in_memory(config):
    rcv, queue, replayed, state = asyncio.run(_consume_all(config, storm(), free_port(), {}, restart_after=200))
    # two pages and two webhook posts during the outage, and the resolve's page and post queued
    # behind them (order is kept per receiver and group: a resolve never overtakes its trigger)
    assert len(queue.items) == 6
    _check_pages(rcv, replayed)
    assert not [k for k in state if k.startswith("group/jdoe")]


@pytest.mark.kafka
def test_storm_from_the_alerts_topic_on_the_real_broker(config, kafka_bootstrap):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"test.alert.{uuid.uuid4().hex[:8]}.alerts"

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for alert in storm():
                await producer.send(topic, orjson.dumps(alert), key=alert["alert_id"].encode())
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                    enable_auto_commit=False, group_id=None)
        await consumer.start()
        messages = []
        try:
            while len(messages) < 302:
                batch = await consumer.getmany(timeout_ms=5000)
                if not batch:
                    break
                for records in batch.values():
                    messages += [orjson.loads(r.value) for r in records]
        finally:
            await consumer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
        assert len(messages) == 302
        assert all(alert_errors(m) == [] for m in messages)
        return await _consume_all(config, messages, free_port(), {}, restart_after=200)

    rcv, queue, replayed, _ = asyncio.run(scenario())
    _check_pages(rcv, replayed)


def test_prefixed_state_keeps_partitions_apart(config):
    from streamer.alert.service import PrefixedState

    table: dict[str, bytes] = {}
    p0, p1 = Pipeline(config), Pipeline(config)
    p0.push(make_alert("a", user="u0"), T0)
    p1.push(make_alert("b", user="u1"), T0)
    for p, view in ((p0, PrefixedState(table, "p0/")), (p1, PrefixedState(table, "p1/"))):
        for k, v in p.drain_changes().items():
            view[k] = v
    assert all(k.startswith(("p0/", "p1/")) for k in table)
    again = Pipeline(config)
    again.import_state(PrefixedState(table, "p1/").items())
    assert [r.labels["user_id"] for r in again.alerts.values()] == ["u1"]
    del PrefixedState(table, "p1/")[next(iter(PrefixedState(table, "p1/")))]
    assert len(PrefixedState(table, "p1/")) == len([k for k in table if k.startswith("p1/")])
