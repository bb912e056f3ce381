"""Alerts end to end on the real broker: a terminated user's activity -> the worker's detectors ->
the alerts topic -> the alert pipeline -> one signed webhook notification and one PagerDuty page
on a real loopback HTTP receiver, and the alert rows in the ClickHouse server."""

from __future__ import annotations

import shutil
import time

import orjson
import pytest
import yaml
from clickhouse_driver import Client
from kafka import KafkaProducer

from streamer.alert.notify.webhook import verify
from streamer.paths import schemas_dir
from tests.integration.receiver import Recorder
from streamer.timeutil import format_ms
from tests.integration.worker import WorkerProcess, recent_hour_ms, wait_for, worker_env

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse, pytest.mark.slow]


def _fast_alerting(tmp_path):
    folder = tmp_path / "alerting"
    shutil.copytree(schemas_dir() / "alerting", folder)
    routes = yaml.safe_load((folder / "routes.yaml").read_text())

    def speed_up(route):
        route.update(group_wait="1s", group_interval="2s")
        for child in route.get("routes", []):
            speed_up(child)
    speed_up(routes["route"])
    (folder / "routes.yaml").write_text(yaml.safe_dump(routes))
    return folder


def test_terminated_user_pages_once_with_signed_webhook(tmp_path, kafka_bootstrap, clickhouse_server):
    roster = tmp_path / "roster.csv"
    roster.write_text("user_id,name,roles,department,status,end_date\n"
                      "ghost,Gary Host,radiologist,neuroradiology,terminated,2026-10-01\n"
                      "jdoe,Jane Doe,radiologist,neuroradiology,active,\n")
    secret = "test-webhook-secret"
    with Recorder() as rx:
        env = worker_env(tmp_path, kafka_bootstrap, clickhouse_server, extra={
            "STREAMER_ROSTER_FILE": str(roster),
            "STREAMER_ALERTING_DIR": str(_fast_alerting(tmp_path)),
            "STREAMER_WEBHOOK_URL": rx.url + "/webhook",
            "STREAMER_WEBHOOK_SECRET": secret,
            "STREAMER_PAGERDUTY_URL": rx.url + "/pagerduty",
            "STREAMER_PAGERDUTY_ROUTING_KEY": "R0UTINGKEY0000000000000000000000",
            "STREAMER_ALERTMANAGER_URL": "",
        })
        prefix, db = env["STREAMER_TOPIC_PREFIX"], env["STREAMER_CLICKHOUSE_DATABASE"]
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        client = Client(host=clickhouse_server["host"], port=clickhouse_server["port"])
        try:
            wait_for(lambda: client.execute(
                f"SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'alerts'")[0][0] == 1,
                120, what=lambda: worker.log_tail())
            producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
            ids = []
            t0 = recent_hour_ms()  # a recent hour: an alert a day old resolves instead of paging
            for i in range(30):
                user = "ghost" if i % 3 == 0 else "jdoe"
                e = {"schema_version": 1, "event_id": f"al-{i}", "event_time": format_ms(t0 + i * 60_000),
                     "action": "view", "outcome": "success",
                     "user": {"id": user, "roles": ["radiologist"], "department": "neuroradiology", "mfa": True},
                     "patient": {"id": f"MRN{i}"}, "study": {"uid": f"1.2.3.{i}", "department": "neuroradiology"}}
                if user == "ghost":
                    ids.append(e["event_id"])
                producer.send(prefix + "raw", key=user.encode(), value=orjson.dumps(e))
            producer.flush()
            producer.close()

            pages = wait_for(lambda: rx.delivered("/pagerduty"), 90, what=lambda: worker.log_tail())
            hooks = wait_for(lambda: rx.delivered("/webhook"), 30, what=lambda: worker.log_tail())
            # the alert rows reach ClickHouse with every event of the incident
            rows = wait_for(lambda: client.execute(
                f"SELECT alert_id, detector, severity, event_ids FROM {db}.alerts WHERE user_id = 'ghost' "
                f"ORDER BY version DESC LIMIT 1"), 60, what="alert rows")
            assert rows[0][1] == "inactive_user"
            assert set(rows[0][3]) == set(ids)
        finally:
            worker.stop()
            client.execute(f"DROP DATABASE IF EXISTS {db}")

        # one incident -> one page (trigger) with a stable dedup key, no duplicates
        triggers = [orjson.loads(r["body"]) for r in pages]
        triggers = [t for t in triggers if t["event_action"] == "trigger"]
        assert len({t["dedup_key"] for t in triggers}) == 1
        assert triggers[0]["payload"]["severity"] in ("critical", "error")
        assert "ghost" in triggers[0]["payload"]["summary"]
        # the webhook is signed, and the signature verifies with the shared secret
        hook = hooks[0]
        assert verify(secret, hook["body"], hook["headers"], now_s=int(time.time()))
        assert not verify("another-secret", hook["body"], hook["headers"], now_s=int(time.time()))
        body = orjson.loads(hook["body"])
        assert body["alerts"][0]["labels"]["user_id"] == "ghost"
        assert "pacs-user-investigation" in body["alerts"][0]["annotations"]["dashboard"]
        notification_ids = [r["headers"].get("X-Notification-Id") for r in hooks]
        assert len(notification_ids) == len(set(notification_ids)), "a notification was delivered twice"
