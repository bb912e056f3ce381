"""Outputs against a real HTTP receiver on loopback: payload shapes, signatures, retries."""

from __future__ import annotations

import asyncio
import time

import jsonschema
import orjson
import pytest
from .alerttools import M, T0, Receiver, by_receiver, free_port, make_alert, run

from streamer.alert.notify import (AlertmanagerSender, DeliveryLog, Dispatcher, MemoryRetryQueue,
                                   PagerDutySender, RetryPolicy, WebhookSender, unpark, verify,
                                   wait_seconds)
from streamer.alert.notify import pagerduty
from streamer.alert.pipeline import Pipeline

# Alertmanager API v2 (api/v2/openapi.yaml): POST /api/v2/alerts takes postableAlerts.
LABEL_SET = {"type": "object", "additionalProperties": {"type": "string"},
             "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}}
AM_POSTABLE_ALERTS = {
    "type": "array", "items": {
        "type": "object", "required": ["labels"], "additionalProperties": False,
        "properties": {"labels": {**LABEL_SET, "minProperties": 1}, "annotations": LABEL_SET,
                       "startsAt": {"type": "string", "format": "date-time"},
                       "endsAt": {"type": "string", "format": "date-time"},
                       "generatorURL": {"type": "string", "format": "uri"}}}}
# PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event").
PD_EVENT = {
    "type": "object", "required": ["routing_key", "event_action"],
    "properties": {
        "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
        "event_action": {"enum": ["trigger", "acknowledge", "resolve"]},
        "dedup_key": {"type": "string", "maxLength": 255},
        "payload": {"type": "object", "required": ["summary", "source", "severity"], "properties": {
            "summary": {"type": "string", "maxLength": 1024}, "source": {"type": "string", "minLength": 1},
            "severity": {"enum": ["critical", "error", "warning", "info"]},
            "timestamp": {"type": "string", "format": "date-time"}, "component": {"type": "string"},
            "group": {"type": "string"}, "class": {"type": "string"}, "custom_details": {"type": "object"}}},
        "images": {"type": "array"}, "links": {"type": "array", "items": {
            "type": "object", "required": ["href"], "properties": {"href": {"type": "string"}, "text": {"type": "string"}}}},
        "client": {"type": "string"}, "client_url": {"type": "string"}},
    "allOf": [{"if": {"properties": {"event_action": {"const": "trigger"}}}, "then": {"required": ["payload"]}},
              {"if": {"properties": {"event_action": {"const": "resolve"}}}, "then": {"required": ["dedup_key"]}}]}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
ROUTING_KEY = "R0123456789abcdef0123456789abcde"
SECRET = "s3cret-webhook-key"
FAST = RetryPolicy(initial_s=0.01, factor=2.0, max_backoff_s=0.05, give_up_after_s=0.3, timeout_s=0.3)


def notifications(pipeline: Pipeline, receiver: str, pushes, until):
    return [n for _, n in by_receiver(run(pipeline, pushes, until), receiver)]


def senders(rcv: Receiver) -> dict:
    return {"alertmanager": AlertmanagerSender(rcv.url()),
            "pagerduty": PagerDutySender(rcv.url("/v2/enqueue"), ROUTING_KEY),
            "webhook": WebhookSender(rcv.url("/hook"), SECRET)}


async def _deliver_all(rcv: Receiver, items, **kw):
    queue = MemoryRetryQueue()
    async with Dispatcher(senders(rcv), queue, policy=kw.pop("policy", FAST), **kw) as d:
        results = [await d.deliver(n) for n in items]
    return results, queue


def test_pagerduty_trigger_and_resolve_match_events_v2(pipeline):
    pushes = [(T0, make_alert()), (T0 + 6 * M, make_alert(t=T0 + 6 * M, first=T0, status="resolved"))]
    pages = notifications(pipeline, "pager", pushes, T0 + 20 * M)

    async def scenario():
        rcv = await Receiver().start()
        try:
            results, _ = await _deliver_all(rcv, pages)
        finally:
            await rcv.stop()
        return results, rcv

    results, rcv = asyncio.run(scenario())
    assert results == ["delivered", "delivered"]
    events = [orjson.loads(body) for path, _, body in rcv.accepted]
    assert [path for path, _, _ in rcv.accepted] == ["/v2/enqueue"] * 2
    for e in events:
        jsonschema.validate(e, PD_EVENT, format_checker=FORMATS)
    trigger, resolve = events
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == pages[0].dedup_key
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "error"
    assert trigger["payload"]["summary"].startswith("jdoe exported 1 studies")
    assert trigger["links"][0]["href"].startswith("http://grafana.test/d/pacs-user-investigation/")
    assert trigger["payload"]["custom_details"]["alerts"][0]["explanation"][0]["feature"] == "exports_1h"


def test_pagerduty_acknowledge_event_shape():
    jsonschema.validate(pagerduty.action("acknowledge", "k" * 32, ROUTING_KEY), PD_EVENT)
    with pytest.raises(ValueError):
        pagerduty.action("trigger", "k", ROUTING_KEY)


def test_alertmanager_push_matches_api_v2(config):
    pushes = [(T0, make_alert("a1")), (T0, make_alert("a2", detector="vip-snooping", severity="critical"))]
    n = notifications(Pipeline(config), "pager", pushes, T0 + 2 * M)[0]
    n.receiver_type = "alertmanager"  # same group, delivered to the Alertmanager sender

    async def scenario():
        rcv = await Receiver().start()
        try:
            await _deliver_all(rcv, [n])
        finally:
            await rcv.stop()
        return rcv

    rcv = asyncio.run(scenario())
    [(path, headers, body)] = rcv.accepted
    assert path == "/api/v2/alerts" and headers["Content-Type"] == "application/json"
    alerts = orjson.loads(body)
    jsonschema.validate(alerts, AM_POSTABLE_ALERTS, format_checker=FORMATS)
    first = alerts[0]
    assert first["labels"]["alertname"] == "PacsAccess_vip_snooping"  # most severe first
    assert first["labels"]["severity"] == "critical" and first["labels"]["user_id"] == "jdoe"
    assert first["annotations"]["summary"]
    assert first["generatorURL"].startswith("http://grafana.test/d/pacs-user-investigation/")
    assert first["endsAt"] > first["startsAt"]


def test_webhook_is_signed_and_verifiable(pipeline):
    [n] = notifications(pipeline, "soc", [(T0, make_alert())], T0 + 2 * M)

    async def scenario():
        rcv = await Receiver().start()
        try:
            await _deliver_all(rcv, [n])
        finally:
            await rcv.stop()
        return rcv

    rcv = asyncio.run(scenario())
    [(path, headers, body)] = rcv.accepted
    now = int(time.time())
    assert path == "/hook"
    assert headers["X-Notification-Id"] == headers["Idempotency-Key"] == n.notification_id
    assert verify(SECRET, body, headers, now)
    assert not verify("wrong-secret", body, headers, now)
    assert not verify(SECRET, body.replace(b"jdoe", b"jdoa"), headers, now)
    assert not verify(SECRET, body, headers, now + 3600)  # replayed an hour later
    doc = orjson.loads(body)
    assert doc["status"] == "firing" and doc["groupLabels"] == {"user_id": "jdoe"}
    assert doc["alerts"][0]["alert"]["alert_id"] == "a1"


def test_receiver_failing_then_up_is_retried_and_delivered_once(pipeline):
    [n] = notifications(pipeline, "pager", [(T0, make_alert())], T0 + 2 * M)

    async def scenario():
        rcv = await Receiver(fail_first=3).start()
        try:
            queue = MemoryRetryQueue()
            async with Dispatcher(senders(rcv), queue, policy=FAST) as d:
                first = await d.deliver(n)
                again = await d.deliver(n)  # e.g. the agent re-processed the same alert
        finally:
            await rcv.stop()
        return first, again, queue, rcv

    first, again, queue, rcv = asyncio.run(scenario())
    assert (first, again) == ("delivered", "duplicate")
    assert len(rcv.requests) == 4 and len(rcv.accepted) == 1
    assert queue.items == []


def test_receiver_down_parks_then_redelivers_exactly_once(pipeline):
    [n] = notifications(pipeline, "soc", [(T0, make_alert())], T0 + 2 * M)
    port = free_port()

    async def scenario():
        rcv = Receiver(port=port)
        queue = MemoryRetryQueue()
        log = DeliveryLog()
        sends = {"webhook": WebhookSender(f"http://127.0.0.1:{port}/hook", SECRET)}
        async with Dispatcher(sends, queue, policy=FAST, delivered=log) as d:
            parked = await d.deliver(n)  # nothing listens on the port
        await rcv.start()
        try:
            async with Dispatcher(sends, MemoryRetryQueue(), policy=FAST, delivered=log) as d:
                # the retry topic is read at least once: the parked record may come twice
                results = [await d.redeliver(raw) for raw in queue.items * 2]
        finally:
            await rcv.stop()
        return parked, queue, results, rcv

    parked, queue, results, rcv = asyncio.run(scenario())
    assert parked == "parked"
    [raw] = queue.items
    restored, meta = unpark(raw)
    assert restored.notification_id == n.notification_id and meta["attempts"] >= 2
    assert not meta["permanent"] and meta["not_before_ms"] > meta["parked_ms"]
    assert wait_seconds(raw, meta["parked_ms"]) > 0 and wait_seconds(raw, meta["not_before_ms"]) == 0
    assert results == ["delivered", "duplicate"]
    assert len(rcv.accepted) == 1


def test_slow_receiver_sees_retries_with_one_idempotency_key(pipeline):
    [n] = notifications(pipeline, "soc", [(T0, make_alert())], T0 + 2 * M)

    async def scenario():
        rcv = await Receiver(slow_first=1, slow_s=0.6).start()
        try:
            results, _ = await _deliver_all(rcv, [n], policy=RetryPolicy(
                initial_s=0.01, give_up_after_s=3.0, timeout_s=0.3))
        finally:
            await rcv.stop()
        return results, rcv

    results, rcv = asyncio.run(scenario())
    assert results == ["delivered"]
    assert len(rcv.requests) == 2  # the first answer came too late, so it was sent again
    assert rcv.processed_ids == [n.notification_id]


def test_permanent_rejection_is_parked_at_once_as_permanent(pipeline):
    [n] = notifications(pipeline, "pager", [(T0, make_alert())], T0 + 2 * M)

    async def scenario():
        rcv = await Receiver().start()
        try:
            queue, dead = MemoryRetryQueue(), MemoryRetryQueue()
            sends = {"pagerduty": PagerDutySender(rcv.url("/v2/enqueue"), "")}  # no routing key
            async with Dispatcher(sends, queue, policy=FAST, dead_letter=dead) as d:
                result = await d.deliver(n)
        finally:
            await rcv.stop()
        return result, queue, dead, rcv

    result, queue, dead, rcv = asyncio.run(scenario())
    assert result == "parked" and rcv.requests == [] and queue.items == []
    assert unpark(dead.items[0])[1]["permanent"] is True


def test_incident_storm_with_outage_one_page_none_lost(pipeline):
    """One user, 400 updates of one incident and a second user; the pager is down for a while."""
    pushes = [(T0 + k * 5 * 1000, make_alert("storm", t=T0 + k * 5000, first=T0, n=k + 1)) for k in range(400)]
    pushes.append((T0 + 10 * M, make_alert("b1", user="asmith", severity="critical", t=T0 + 10 * M)))
    pages = notifications(pipeline, "pager", pushes, T0 + 40 * M)
    assert len(pages) == 2
    port = free_port()

    async def scenario():
        rcv = Receiver(port=port)
        queue = MemoryRetryQueue()
        log = DeliveryLog()
        sends = {"pagerduty": PagerDutySender(f"http://127.0.0.1:{port}/v2/enqueue", ROUTING_KEY)}
        async with Dispatcher(sends, queue, policy=FAST, delivered=log) as d:
            first = await d.deliver(pages[0])  # outage
            await rcv.start()
            second = await d.deliver(pages[1])
            replayed = [await d.redeliver(raw) for raw in queue.items]
        await rcv.stop()
        return [first, second] + replayed, rcv

    results, rcv = asyncio.run(scenario())
    assert results == ["parked", "delivered", "delivered"]
    events = [orjson.loads(b) for _, _, b in rcv.accepted]
    assert sorted(e["payload"]["source"] for e in events) == ["pacs-audit/user/asmith", "pacs-audit/user/jdoe"]
    assert len({e["dedup_key"] for e in events}) == 2


# -- order per group across a crash and between the alert and retry agents ------------------------
class _FlakyReceiver:
    """post() stand-in: refuses while `down`, records what it accepted."""

    def __init__(self):
        self.down, self.got = True, []

    async def __call__(self, session, req, timeout_s):
        from streamer.alert.notify.base import DeliveryError

        await asyncio.sleep(0.01)
        if self.down:
            raise DeliveryError("HTTP 503")
        self.got.append(req.headers["X-Notification-Id"])


def _webhook_dispatcher(queue, store=None):
    return Dispatcher({"webhook": WebhookSender("http://127.0.0.1:9/hook", SECRET)}, queue,
                      policy=RetryPolicy(initial_s=0.02, factor=2.0, max_backoff_s=0.1, give_up_after_s=0.2,
                                         jitter=0), delivered=DeliveryLog(store))


def _n(seq: int):
    from streamer.alert.notification import Notification

    return Notification(receiver="soc-webhook", receiver_type="webhook", group_key="g", group_labels={},
                        status="firing", alerts=[], created_ms=T0, seq=seq)


def test_takeover_without_the_dead_workers_queue_marks_keeps_group_order(monkeypatch):
    """The killed worker parked seq 1 (the record reached Kafka) but its other table writes were
    still in the producer buffer: the survivor, with an empty delivery log, must not deliver seq 2
    first (that would drop seq 1 as superseded, a notification the receiver never got)."""
    rx = _FlakyReceiver()
    monkeypatch.setattr("streamer.alert.notify.base.post", rx)

    async def scenario():
        dead = MemoryRetryQueue()
        async with _webhook_dispatcher(dead) as d:
            assert await d.deliver(_n(1)) == "parked"
        rx.down = False
        survivor_queue = MemoryRetryQueue()
        async with _webhook_dispatcher(survivor_queue, store={}) as d:  # the changelog had nothing
            assert await d.deliver(_n(2)) == "parked"  # behind seq 1, not overtaking it
            assert await d.redeliver(dead.items[0]) == "delivered"  # and seq 2, waiting for it, right after
            assert d.due_now(survivor_queue.items[0])
            assert await d.redeliver(survivor_queue.items[0]) == "duplicate"  # its retry copy
    asyncio.run(scenario())
    assert rx.got == [_n(1).notification_id, _n(2).notification_id]


def test_retry_and_new_notification_of_one_group_at_recovery_lose_nothing(monkeypatch):
    """The retry agent redelivers seq 1 while the alert agent produces seq 2 and the receiver comes
    back mid-retry, then seq 3 follows: all three arrive, in order, once each."""
    rx = _FlakyReceiver()
    monkeypatch.setattr("streamer.alert.notify.base.post", rx)

    async def scenario():
        q = MemoryRetryQueue()
        async with _webhook_dispatcher(q) as d:
            assert await d.deliver(_n(1)) == "parked"
            retry = asyncio.create_task(d.redeliver(q.items.pop(0)))
            await asyncio.sleep(0.03)
            second = asyncio.create_task(d.deliver(_n(2)))
            await asyncio.sleep(0.03)
            rx.down = False
            assert await retry == "delivered"
            assert await second in ("delivered", "parked")
            assert await d.deliver(_n(3)) in ("delivered", "parked")
            while q.items:  # the retry agent drains the queue
                await d.redeliver(q.items.pop(0))
    asyncio.run(scenario())
    assert rx.got == [_n(s).notification_id for s in (1, 2, 3)]


# -- the retry agent's rules (streamer.alert.notify.retry) ----------------------------------------
class _BrokenQueue(MemoryRetryQueue):
    """A retry queue whose first `fail` puts raise, as a Kafka send refused during a rebalance."""

    def __init__(self, fail: int):
        super().__init__()
        self.fail = fail

    async def put(self, parked: bytes) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("send refused: partition being reassigned")
        await super().put(parked)


def test_a_retry_failing_inside_the_worker_puts_the_record_back_and_never_drops_it(monkeypatch):
    """The retry of a parked notification fails in the worker (parking it again raises): the record
    goes back on the retry queue with the failure counted, the dispatcher is rebuilt, and the next
    round delivers it; after MAX_CRASHES such failures it goes to the dead letter, never nowhere."""
    from streamer.alert.notify.retry import MAX_CRASHES, retry_parked

    rx = _FlakyReceiver()
    monkeypatch.setattr("streamer.alert.notify.base.post", rx)
    sleeps: list[float] = []

    async def no_sleep(s: float) -> None:
        sleeps.append(s)

    async def scenario():
        start = MemoryRetryQueue()
        async with _webhook_dispatcher(start) as d:
            assert await d.deliver(_n(1)) == "parked"   # receiver down: the durable copy
        parked = start.items[0]
        queue, dead, rebuilt = MemoryRetryQueue(), [], []
        broken = _webhook_dispatcher(_BrokenQueue(fail=1))  # re-parking during the outage raises

        async def put_back(raw: bytes) -> None:
            await queue.put(raw)

        async def dead_letter(reason: str, raw: bytes) -> None:
            dead.append((reason, raw))

        async def rebuild(exc: Exception) -> None:
            rebuilt.append(repr(exc))

        kw = dict(put_back=put_back, dead_letter=dead_letter, on_crash=rebuild, sleep=no_sleep)
        assert await retry_parked(parked, dispatcher=lambda: broken, **kw) == "put back"
        assert rebuilt and "send refused" in rebuilt[0] and not dead
        again = orjson.loads(queue.items[0])
        assert again["crashes"] == 1 and "send refused" in again["error"]
        assert unpark(queue.items[0])[0].notification_id == _n(1).notification_id
        rx.down = False
        async with _webhook_dispatcher(MemoryRetryQueue()) as fresh:   # the rebuilt dispatcher
            assert await retry_parked(queue.items.pop(0), dispatcher=lambda: fresh, **kw) == "delivered"
        await broken.close()

        # the same failure every time: put back MAX_CRASHES - 1 times, then the dead letter
        raw = parked
        for k in range(1, MAX_CRASHES + 1):
            always = _webhook_dispatcher(_BrokenQueue(fail=10))
            rx.down = True
            outcome = await retry_parked(raw, dispatcher=lambda: always, **kw)
            await always.close()
            assert outcome == ("dead letter" if k == MAX_CRASHES else "put back")
            raw = queue.items.pop(0) if outcome == "put back" else dead[-1][1]
        assert len(dead) == 1 and f"failed {MAX_CRASHES} times" in dead[0][0]
        assert orjson.loads(dead[0][1])["notification"]["seq"] == 1   # the notification is in it

        # a record that is not a parked notification goes to the dead letter as unreadable
        assert await retry_parked(b"not json", dispatcher=lambda: fresh, **kw) == "unreadable"
        assert "unreadable" in dead[-1][0] and dead[-1][1] == b"not json"

        # a store that keeps refusing: the put is repeated (with backoff) until it succeeds
        refusals = [RuntimeError("broker down")] * 3

        async def flaky_put(raw: bytes) -> None:
            if refusals:
                raise refusals.pop()
            await queue.put(raw)

        stuck = _webhook_dispatcher(_BrokenQueue(fail=10))
        sleeps.clear()
        assert await retry_parked(parked, dispatcher=lambda: stuck, put_back=flaky_put,
                                  dead_letter=dead_letter, sleep=no_sleep) == "put back"
        await stuck.close()
        assert len(queue.items) == 1 and not refusals and len(sleeps) >= 3

    asyncio.run(scenario())
    assert rx.got == [_n(1).notification_id]


def test_an_alert_whose_pipeline_step_fails_is_pushed_again_into_a_rebuilt_pipeline(config, monkeypatch):
    """The receiver is down and parking the notification fails once (a Kafka send refused during
    a rebalance): the alert agent rebuilds the pipeline from its state and pushes the alert again,
    so its notification is parked and later delivered, not lost with a dead-lettered alert. A
    rejected alert is dead-lettered at once; a failing tick never is."""
    from streamer.alert.notify.retry import push_alert
    from streamer.alert.service import AlertService

    from .alerttools import M, T0, make_alert

    from streamer.alert.notify.base import DeliveryError

    rx = {"down": True, "got": []}

    async def post(session, req, timeout_s):   # webhook and PagerDuty alike: refuse while down
        if rx["down"]:
            raise DeliveryError("HTTP 503")
        rx["got"].append(req.url)

    monkeypatch.setattr("streamer.alert.notify.base.post", post)
    state: dict[str, bytes] = {}
    queue = _BrokenQueue(fail=1)
    dead: list[str] = []
    policy = RetryPolicy(initial_s=0.01, max_backoff_s=0.02, give_up_after_s=0.05, jitter=0)

    def service() -> AlertService:
        d = Dispatcher({"webhook": WebhookSender("http://127.0.0.1:9/hook", SECRET),
                        "pagerduty": PagerDutySender("http://127.0.0.1:9/pd", ROUTING_KEY)}, queue,
                       policy=policy, delivered=DeliveryLog({}))
        return AlertService(Pipeline(config), d, state)

    async def scenario():
        holder = {"svc": service()}

        async def rebuild(exc):
            await holder["svc"].dispatcher.close()
            holder["svc"] = service()

        async def dead_letter(reason):
            dead.append(reason)

        async def no_sleep(s):
            return None

        alert = make_alert("a1", severity="critical", t=T0)
        kw = dict(rebuild=rebuild, dead_letter=dead_letter, sleep=no_sleep)
        assert await push_alert(alert, step=lambda: holder["svc"].on_alert(alert, T0), **kw) == []
        # the group flushes after group_wait: the first park fails, the pipeline is rebuilt and
        # the tick that failed runs again
        tick = {"tick_ms": T0 + M}
        outcomes = await push_alert(tick, step=lambda: holder["svc"].on_tick(T0 + M), **kw)
        assert outcomes and {o for _, o in outcomes} == {"parked"}, outcomes
        assert not dead and queue.fail == 0
        # the failed step had parked the other receiver's notification already: two copies of it
        # (at least once), one of each notification id
        ids = {n.notification_id for n, _ in outcomes}
        assert {unpark(raw)[0].notification_id for raw in queue.items} == ids
        rx["down"] = False
        got = [await holder["svc"].dispatcher.redeliver(raw) for raw in list(queue.items)]
        assert got.count("delivered") == len(ids) and set(got) <= {"delivered", "duplicate"}, got
        # a rejected alert: dead-lettered at once, the pipeline rebuilt once
        calls = []

        async def reject():
            calls.append(1)
            raise ValueError("not an alert")

        assert await push_alert({"alert_id": "bad"}, step=reject, **kw) is None
        assert len(calls) == 1 and dead and "not an alert" in dead[-1]
        # a tick that keeps failing: tried `attempts` times, never dead-lettered
        calls.clear()
        n_dead = len(dead)

        async def broken():
            calls.append(1)
            raise RuntimeError("table unavailable")

        assert await push_alert({"tick_ms": 1}, step=broken, attempts=3, **kw) is None
        assert len(calls) == 3 and len(dead) == n_dead
        await holder["svc"].dispatcher.close()

    asyncio.run(scenario())
    assert sorted(rx["got"]) == ["http://127.0.0.1:9/hook", "http://127.0.0.1:9/pd"]   # once each
