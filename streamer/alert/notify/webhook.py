"""Generic webhook: JSON body (Alertmanager webhook layout) signed with HMAC-SHA256.

Headers: `X-Signature-Timestamp: <unix seconds>`, `X-Signature-256: sha256=<hex>` where the MAC
is HMAC-SHA256(secret, "<timestamp>." + raw body), and `X-Notification-Id` / `Idempotency-Key`
(the same value on every retry). A receiver verifies like this (see `verify`): recompute the MAC
over the raw bytes it received, compare in constant time, reject timestamps more than five
minutes from its clock (replays), and drop a notification id it has already processed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

import orjson

from streamer.alert.notification import Notification
from streamer.alert.notify.base import Request
from streamer.timeutil import format_ms

SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
ID_HEADER = "X-Notification-Id"
TOLERANCE_S = 300


def payload(n: Notification) -> dict:
    alerts = [{
        "status": "resolved" if a["ends_ms"] else "firing", "fingerprint": a["fingerprint"],
        "labels": a["labels"], "annotations": a["annotations"], "startsAt": format_ms(a["starts_ms"]),
        "endsAt": format_ms(a["ends_ms"]) if a["ends_ms"] else "0001-01-01T00:00:00Z",
        "generatorURL": a["annotations"].get("dashboard", ""), "alert": a["alert"]} for a in n.alerts]
    return {"version": "4", "notificationId": n.notification_id, "groupKey": n.group_key,
            "status": n.status, "receiver": n.receiver, "groupLabels": n.group_labels,
            "commonLabels": _common(n.alerts, "labels"), "commonAnnotations": _common(n.alerts, "annotations"),
            "isRepeat": n.is_repeat, "truncatedAlerts": 0, "alerts": alerts}


def _common(alerts: list[dict], key: str) -> dict:
    """The name/value pairs every alert shares."""
    if not alerts:
        return {}
    return dict(sorted(set.intersection(*(set(a[key].items()) for a in alerts))))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, body: bytes, headers: Mapping[str, str], now_s: int,
           tolerance_s: int = TOLERANCE_S) -> bool:
    """True when the body is signed with this secret and the timestamp is fresh."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not ts.isdigit() or abs(now_s - int(ts)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, int(ts), body), lower.get(SIGNATURE_HEADER.lower(), ""))


class WebhookSender:
    type = "webhook"

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url, secret

    def request(self, n: Notification, now_ms: int) -> Request:
        body = orjson.dumps(payload(n))
        ts = now_ms // 1000
        headers = {"Content-Type": "application/json", ID_HEADER: n.notification_id,
                   "Idempotency-Key": n.notification_id, TIMESTAMP_HEADER: str(ts)}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, ts, body)
        return Request(n.url or self.url, body, headers)
