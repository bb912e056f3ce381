"""Notification outputs: Alertmanager push, PagerDuty Events API v2, signed webhook.

`build_dispatcher(settings, retry_queue)` wires the senders from settings.
"""

from __future__ import annotations

from streamer.alert.notify.alertmanager import AlertmanagerSender
from streamer.alert.notify.base import (DeliveryError, DeliveryLog, Dispatcher, MemoryRetryQueue,
                                        Request, RetryPolicy, RetryQueue, park_record, unpark,
                                        wait_seconds)
from streamer.alert.notify.pagerduty import PagerDutySender
from streamer.alert.notify.webhook import WebhookSender, verify


class LogSender:
    """Type `log`: no URL, one log line per notification."""

    type = "log"

    def request(self, n, now_ms) -> Request:
        return Request("", b"", {})


def build_dispatcher(settings, retry_queue: RetryQueue, **kwargs) -> Dispatcher:
    """Dispatcher with one sender per receiver type, URLs and secrets from settings."""
    senders = {
        "alertmanager": AlertmanagerSender(settings.alertmanager_url),
        "pagerduty": PagerDutySender(settings.pagerduty_url if settings.pagerduty_routing_key.get_secret_value() else "",
                                     settings.pagerduty_routing_key.get_secret_value()),
        "webhook": WebhookSender(settings.webhook_url, settings.webhook_secret.get_secret_value()),
        "log": LogSender(),
    }
    policy = kwargs.pop("policy", None) or RetryPolicy(give_up_after_s=settings.notify_retry_seconds)
    return Dispatcher(senders, retry_queue, policy=policy, **kwargs)


__all__ = ["AlertmanagerSender", "DeliveryError", "DeliveryLog", "Dispatcher", "LogSender",
           "MemoryRetryQueue", "PagerDutySender", "RetryPolicy", "RetryQueue", "WebhookSender",
           "build_dispatcher", "park_record", "unpark", "verify", "wait_seconds"]

