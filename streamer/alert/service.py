"""AlertService: the pipeline plus delivery plus persisted state, for the worker's alert agent.

The agent stays thin: decode the message, `await service.on_alert(alert, now_ms)`; a timer calls
`await service.on_tick(now_ms)`; a retry-topic agent calls `await service.dispatcher.redeliver(raw)`.
`state` is any mutable mapping of str -> bytes (a Faust table with changelog in the worker, a
dict in tests); it is written after each step, so a restarted worker resumes every group where it
was. Notifications are delivered before their log entry is stored: a crash in between sends the
same notification again with the same id (receivers drop it; PagerDuty keeps one incident by
dedup_key), it never loses one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Iterator, Mapping, MutableMapping

from streamer.alert.config import load_config
from streamer.alert.notification import Notification
from streamer.alert.notify import build_dispatcher
from streamer.alert.notify.base import DeliveryLog, Dispatcher, RetryQueue
from streamer.alert.pipeline import Pipeline

log = logging.getLogger(__name__)


class PrefixedState(MutableMapping[str, bytes]):
    """A view of a shared table holding only keys that start with `prefix` (e.g. "p3/" for the
    state of partition 3), so one table can hold one pipeline per partition."""

    def __init__(self, table: MutableMapping, prefix: str):
        self.table, self.prefix = table, prefix

    def __getitem__(self, key: str) -> bytes:
        return self.table[self.prefix + key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[self.prefix + key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[self.prefix + key]

    def __iter__(self) -> Iterator[str]:
        n = len(self.prefix)
        return (k[n:] for k in list(self.table.keys()) if isinstance(k, str) and k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class AlertService:
    def __init__(self, pipeline: Pipeline, dispatcher: Dispatcher,
                 state: MutableMapping[str, bytes] | None = None):
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.state = state if state is not None else {}
        self.pipeline.import_state(list(self.state.items()))

    async def on_alert(self, alert: Mapping, now_ms: int) -> list[tuple[Notification, str]]:
        """Push one alert; deliver what is due; persist. Returns (notification, outcome) pairs."""
        try:
            due = self.pipeline.push(alert, now_ms)
        except ValueError as exc:
            log.warning("alert rejected: %s", exc)
            raise
        return await self._deliver(due)

    async def on_tick(self, now_ms: int) -> list[tuple[Notification, str]]:
        return await self._deliver(self.pipeline.tick(now_ms))

    async def _deliver(self, due: list[Notification]) -> list[tuple[Notification, str]]:
        outcomes = await asyncio.gather(*(self.dispatcher.deliver(n) for n in due)) if due else []
        self._persist()
        return list(zip(due, outcomes))

    def _persist(self) -> None:
        for key, raw in self.pipeline.drain_changes().items():
            if raw is None:
                self.state.pop(key, None)
            else:
                self.state[key] = raw


def build_service(settings, retry_queue: RetryQueue, state: MutableMapping[str, bytes] | None = None,
                  delivered: MutableMapping[str, bytes] | None = None, alerting_dir=None,
                  locks: dict | None = None) -> AlertService:
    """The service as the worker runs it: routing data from schemas/alerting (or alerting_dir),
    receivers and secrets from settings, pipeline state and delivery log in the given tables.
    `locks`: the per-group delivery locks, shared by every service built for one partition."""
    config = load_config(alerting_dir, page_min_severity=settings.page_min_severity,
                         grafana_url=settings.grafana_url)
    dispatcher = build_dispatcher(settings, retry_queue, delivered=DeliveryLog(delivered), locks=locks)
    return AlertService(Pipeline(config), dispatcher, state)
