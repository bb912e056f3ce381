"""Alert storm with a receiver outage, then a worker restart between two notifications of a group.

One terminated user performs hundreds of views (every one a hit extending ONE incident) while the
PagerDuty and webhook receiver answers 503: the dispatcher retries, parks what it cannot deliver on
notify-retry, and delivers it once the receiver is back. One PagerDuty incident (one dedup_key) for
the user's group, every notification delivered exactly once, none lost. The worker is then
restarted (SIGTERM, as a deploy does); a failed-login burst of the same user adds an alert to the
same group: one more notification, and none of the earlier ones is sent again (the pipeline state
and delivery log were recovered from their changelogs). Two more scenarios: a page parked during an
outage must not re-open an incident resolved meanwhile, and an incident open across a restart must
still resolve."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.faults.helpers import T0_MS, Timeline, event, fast_alerting, fault_env, produce, write_roster
from tests.integration.receiver import Recorder
from tests.integration.worker import WorkerProcess, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]

GHOST, STORM = "ghost0", 300


def _pages(rx: Recorder) -> list[dict]:
    """PagerDuty events the receiver accepted."""
    return [orjson.loads(r["body"]) for r in rx.delivered("/pagerduty")]


def _actions(rx: Recorder) -> list[str]:
    """event_action of every accepted PagerDuty event, in delivery order."""
    return [p["event_action"] for p in _pages(rx)]


def _page_id(page: dict) -> str:
    return page["payload"]["custom_details"]["notification_id"]


def _ids(rx: Recorder, path: str, refused: bool = False) -> set[str]:
    """Notification ids the receiver accepted (or refused) on `path`."""
    out = set()
    for r in list(rx.requests):
        if r["path"] == path and (r["status"] >= 300) == refused:
            pd = path == "/pagerduty"
            out.add(_page_id(orjson.loads(r["body"])) if pd else r["headers"]["X-Notification-Id"])
    return out


def _detectors(page: dict) -> set[str]:
    return {a["detector"] for a in page["payload"]["custom_details"]["alerts"]}


def test_alert_storm_with_receiver_outage_and_restart(tmp_path, kafka_bootstrap, clickhouse_server,
                                                       store_for, cleanup):
    step = Timeline("alert storm")
    rx = Recorder().__enter__()
    cleanup(lambda: rx.__exit__(None, None, None))
    rx.fail_with = 503
    env = fault_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", [GHOST])),
        "STREAMER_ALERTING_DIR": str(fast_alerting(tmp_path / "alerting")),
        "STREAMER_SINK_RETRY_SECONDS": "4",          # also the dispatcher's retry budget before parking
        "STREAMER_WEBHOOK_URL": rx.url + "/webhook",
        "STREAMER_WEBHOOK_SECRET": "storm-secret",
        "STREAMER_PAGERDUTY_URL": rx.url + "/pagerduty",
        "STREAMER_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0000000000000000000000",
        "STREAMER_ALERTMANAGER_URL": ""})
    raw, log = env["STREAMER_TOPIC_PREFIX"] + "raw", tmp_path / "worker.log"
    store = store_for(clickhouse_server, env["STREAMER_CLICKHOUSE_DATABASE"])
    current = [WorkerProcess(env, log).start()]
    cleanup(lambda: current[0].stop())
    wait_for(store.ready, 120, what=lambda: current[0].log_tail())
    step("worker up; receiver answers 503")

    storm = [event("storm", i, GHOST) for i in range(STORM)]
    produce(kafka_bootstrap, raw, storm)
    wait_for(lambda: "parked after" in current[0].log_tail(400), 90,
             what=lambda: f"a notification parked on notify-retry; log:\n{current[0].log_tail()}")
    failed = [r for r in rx.requests if r["path"] == "/pagerduty"]
    assert failed and all(r["status"] == 503 for r in failed)
    time.sleep(3)
    rx.fail_with = None
    step(f"receiver back after {len(failed)} refused page attempt(s)")

    def all_delivered() -> bool:   # every notification refused during the outage arrives later
        return all(_ids(rx, p, refused=True) <= _ids(rx, p) for p in ("/pagerduty", "/webhook"))
    wait_for(all_delivered, 120,
             what=lambda: f"the parked notifications to be delivered; log:\n{current[0].log_tail()}")
    step("every refused notification delivered (from notify-retry)")
    incident = wait_for(lambda: (rows := store.incidents(GHOST)) and rows[-1][1] >= STORM and rows, 90,
                        what=lambda: f"the storm's alert rows: {store.incidents(GHOST)}")
    assert incident == [(incident[0][0], STORM)], "the storm is one incident counting every event"
    time.sleep(5)   # a few group intervals, so anything still due is delivered before the restart
    before = _pages(rx)
    assert all_delivered()
    assert "inactive_user" in _detectors(before[0])

    current[0].stop()   # SIGTERM, as a deploy restarts the service
    current[0] = WorkerProcess(env, log).start()
    step("worker restarted")
    burst = [event("burst", i, GHOST, action="login_failed", ms=T0_MS + (STORM + i) * 1000) for i in range(12)]
    produce(kafka_bootstrap, raw, burst)
    wait_for(lambda: any("failed_login_burst" in _detectors(p) for p in _pages(rx)), 120,
             what=lambda: f"the second notification of the group; log:\n{current[0].log_tail()}")
    time.sleep(5)
    step(f"pages: {len(before)} before the restart, {len(_pages(rx)) - len(before)} after")

    pages = _pages(rx)
    after = pages[len(before):]
    assert {p["event_action"] for p in pages} == {"trigger"}
    assert len({p["dedup_key"] for p in pages}) == 1, "one PagerDuty incident for the user's group"
    ids = [_page_id(p) for p in pages]
    assert len(ids) == len(set(ids)), f"a notification was paged twice: {ids}"
    assert all(a["user_id"] == GHOST for p in pages for a in p["payload"]["custom_details"]["alerts"])
    assert after and not any("failed_login_burst" in _detectors(p) for p in before)
    hooks = [r["headers"].get("X-Notification-Id") for r in rx.delivered("/webhook")]
    assert len(hooks) >= 2 and len(hooks) == len(set(hooks)), f"webhook notifications repeated: {hooks}"
    assert store.incidents(GHOST, "failed_login_burst"), "the burst's alert reached ClickHouse"


def test_page_parked_during_outage_does_not_reopen_a_resolved_incident(tmp_path, kafka_bootstrap,
                                                                       clickhouse_server, store_for, cleanup):
    """The trigger refused during an outage waits on notify-retry; meanwhile the incident resolves and
    the resolve is delivered. The late trigger must not reach PagerDuty after the resolve: that would
    re-open a closed incident and page on-call for nothing."""
    step = Timeline("outage then resolve")
    rx = Recorder().__enter__()
    cleanup(lambda: rx.__exit__(None, None, None))
    rx.fail_with = 503
    env = fault_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", [GHOST])),
        "STREAMER_ALERTING_DIR": str(fast_alerting(tmp_path / "alerting")),
        "STREAMER_SINK_RETRY_SECONDS": "4",
        "STREAMER_PAGERDUTY_URL": rx.url + "/pagerduty",
        "STREAMER_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0000000000000000000000",
        "STREAMER_WEBHOOK_URL": "", "STREAMER_ALERTMANAGER_URL": ""})
    raw = env["STREAMER_TOPIC_PREFIX"] + "raw"
    store = store_for(clickhouse_server, env["STREAMER_CLICKHOUSE_DATABASE"])
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    cleanup(worker.stop)
    wait_for(store.ready, 120, what=lambda: worker.log_tail())

    produce(kafka_bootstrap, raw, [event("hit", i, GHOST) for i in range(20)])
    wait_for(lambda: "parked after" in worker.log_tail(400), 90, what=lambda: worker.log_tail())
    rx.fail_with = None
    step("trigger parked on notify-retry; receiver back")
    # event time moves past the incident gap: the idle incident resolves (the engine flushes every 5 s)
    later = T0_MS + 3 * 3600_000
    produce(kafka_bootstrap, raw, [event("later", 0, "user01", ms=later)])
    time.sleep(6)
    produce(kafka_bootstrap, raw, [event("later", 1, "user02", ms=later + 1000)])

    wait_for(lambda: {"trigger", "resolve"} <= set(_actions(rx)), 90,
             what=lambda: f"trigger and resolve delivered (got {_actions(rx)}); log:\n{worker.log_tail()}")
    time.sleep(3)
    step(f"PagerDuty received, in order: {_actions(rx)}")
    assert len({p["dedup_key"] for p in _pages(rx)}) == 1
    assert _actions(rx)[-1] == "resolve", f"a stale trigger re-opened the resolved incident: {_actions(rx)}"


def test_incident_open_across_a_restart_still_resolves(tmp_path, kafka_bootstrap, clickhouse_server,
                                                       store_for, cleanup):
    """An incident open when the worker restarts resolves once event time passes its gap, although the
    user does nothing more: the resolve reaches PagerDuty and the alert row becomes resolved."""
    step = Timeline("resolve after restart")
    rx = Recorder().__enter__()
    cleanup(lambda: rx.__exit__(None, None, None))
    env = fault_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
        "STREAMER_ROSTER_FILE": str(write_roster(tmp_path / "roster.csv", [GHOST])),
        "STREAMER_ALERTING_DIR": str(fast_alerting(tmp_path / "alerting")),
        "STREAMER_PAGERDUTY_URL": rx.url + "/pagerduty",
        "STREAMER_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0000000000000000000000",
        "STREAMER_WEBHOOK_URL": "", "STREAMER_ALERTMANAGER_URL": ""})
    raw, log = env["STREAMER_TOPIC_PREFIX"] + "raw", tmp_path / "worker.log"
    store = store_for(clickhouse_server, env["STREAMER_CLICKHOUSE_DATABASE"])
    current = [WorkerProcess(env, log).start()]
    cleanup(lambda: current[0].stop())
    wait_for(store.ready, 120, what=lambda: current[0].log_tail())

    produce(kafka_bootstrap, raw, [event("hit", i, GHOST) for i in range(20)])
    wait_for(lambda: _pages(rx), 60, what=lambda: current[0].log_tail())
    current[0].stop()
    current[0] = WorkerProcess(env, log).start()
    step("trigger delivered; worker restarted")
    later = T0_MS + 3 * 3600_000
    produce(kafka_bootstrap, raw, [event("later", 0, "user01", ms=later)])
    time.sleep(8)
    produce(kafka_bootstrap, raw, [event("later", 1, "user02", ms=later + 1000)])
    wait_for(lambda: not store.missing(["later-000000", "later-000001"]), 60,
             what=lambda: f"the restarted worker to process new events; log:\n{current[0].log_tail()}")

    wait_for(lambda: "resolve" in _actions(rx), 60,
             what=lambda: f"the resolve of {GHOST}'s incident (PagerDuty got {_actions(rx)}); "
                          f"alert rows: {store.query(STATUS_SQL)}; log:\n{current[0].log_tail()}")
    step(f"PagerDuty received {_actions(rx)}")
    assert store.query(STATUS_SQL) == [("resolved",)]


STATUS_SQL = (f"SELECT argMax(status, version) FROM {{db}}.alerts WHERE user_id = '{GHOST}' "
              f"AND detector = 'inactive_user' GROUP BY alert_id")
