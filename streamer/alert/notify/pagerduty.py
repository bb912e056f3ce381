"""PagerDuty Events API v2: trigger, acknowledge and resolve with a dedup_key per alert group.

The dedup_key is stable for the group's life, so re-sending (retries, repeats, new alerts in the
group) updates one PagerDuty incident instead of opening another.
"""

from __future__ import annotations

import orjson

from streamer.alert.model import severity_rank
from streamer.alert.notification import Notification
from streamer.alert.notify.base import DeliveryError, Request
from streamer.timeutil import format_ms

SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
SUMMARY_MAX = 1024
CLIENT = "pacs-streamer"


def _details(a: dict) -> dict:
    alert = a["alert"]
    return {k: alert.get(k) for k in ("alert_id", "user_id", "detector", "severity", "score", "risk",
                                      "event_count", "first_event_time", "last_event_time", "summary",
                                      "explanation", "detectors", "peer_group") if alert.get(k) is not None} \
        | {"status": "resolved" if a["ends_ms"] else "firing", "labels": a["labels"]}


def payload(n: Notification, routing_key: str, now_ms: int) -> dict:
    """Event for a notification: trigger while any alert fires, resolve when all resolved."""
    if n.status == "resolved":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": n.dedup_key}
    top = max(n.firing, key=lambda a: severity_rank(a["labels"].get("severity", "")))
    summary = top["annotations"]["summary"]
    if len(n.firing) > 1:
        summary += f" (+{len(n.firing) - 1} more alert(s) for {top['labels'].get('user_id')})"
    event = {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": n.dedup_key,
        "payload": {
            "summary": summary[:SUMMARY_MAX],
            "source": f"pacs-audit/user/{top['labels'].get('user_id', '')}",
            "severity": SEVERITY.get(top["labels"].get("severity"), "warning"),
            "timestamp": format_ms(top["starts_ms"]),
            "component": top["labels"].get("detector", ""),
            "group": top["labels"].get("department", ""),
            "class": top["labels"].get("detector", ""),
            "custom_details": {"notification_id": n.notification_id, "group": n.group_labels,
                               "alerts": [_details(a) for a in n.alerts]},
        },
        "client": CLIENT,
    }
    if top["annotations"].get("dashboard"):
        event["links"] = [{"href": top["annotations"]["dashboard"], "text": "User investigation dashboard"}]
        event["client_url"] = top["annotations"]["dashboard"]
    return event


def action(event_action: str, dedup_key: str, routing_key: str) -> dict:
    """An acknowledge or resolve event for an incident opened earlier (case handling)."""
    if event_action not in ("acknowledge", "resolve"):
        raise ValueError("event_action must be acknowledge or resolve")
    return {"routing_key": routing_key, "event_action": event_action, "dedup_key": dedup_key}


class PagerDutySender:
    type = "pagerduty"

    def __init__(self, url: str, routing_key: str):
        self.url, self.routing_key = url, routing_key

    def request(self, n: Notification, now_ms: int) -> Request:
        url = n.url or self.url
        if url and not self.routing_key:
            raise DeliveryError("PagerDuty routing key is not set (STREAMER_PAGERDUTY_ROUTING_KEY)",
                                retryable=False)
        return Request(url, orjson.dumps(payload(n, self.routing_key, now_ms)),
                       {"Content-Type": "application/json"})
