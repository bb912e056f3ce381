"""Alertmanager push: POST {base}/api/v2/alerts with a list of postable alerts.

Firing alerts carry an endsAt a few group intervals ahead; the pipeline re-sends them every
group interval (as Prometheus does), so Alertmanager resolves them only if this service stops.
"""

from __future__ import annotations

import re

import orjson

from streamer.alert.notification import Notification
from streamer.alert.notify.base import Request
from streamer.timeutil import format_ms

API_PATH = "/api/v2/alerts"
REFRESH_FACTOR = 3


_BAD_NAME = re.compile(r"[^A-Za-z0-9_]")


def alertname(labels: dict) -> str:
    return "PacsAccess_" + _BAD_NAME.sub("_", labels.get("detector", "anomaly"))


def _label_set(labels: dict) -> dict[str, str]:
    """Label names as Alertmanager accepts them ([A-Za-z_][A-Za-z0-9_]*), empty values dropped."""
    out = {}
    for k, v in labels.items():
        name = _BAD_NAME.sub("_", k)
        if v != "":
            out["_" + name if name[:1].isdigit() else name] = v
    return out


def payload(n: Notification, now_ms: int) -> list[dict]:
    horizon = REFRESH_FACTOR * int(n.extra.get("group_interval_ms", 300_000))
    out = []
    for a in n.alerts:
        labels = {"alertname": alertname(a["labels"]), **_label_set(a["labels"])}
        item = {"labels": labels, "annotations": dict(a["annotations"]),
                "startsAt": format_ms(a["starts_ms"]),
                "endsAt": format_ms(a["ends_ms"] or now_ms + horizon)}
        if a["annotations"].get("dashboard"):
            item["generatorURL"] = a["annotations"]["dashboard"]
        out.append(item)
    return out


class AlertmanagerSender:
    type = "alertmanager"

    def __init__(self, base_url: str):
        self.base_url = base_url

    def request(self, n: Notification, now_ms: int) -> Request:
        base = (n.url or self.base_url).rstrip("/")
        url = base + API_PATH if base and not base.endswith(API_PATH) else base
        return Request(url, orjson.dumps(payload(n, now_ms)), {"Content-Type": "application/json"})
