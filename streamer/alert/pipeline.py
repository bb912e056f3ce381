"""The alert pipeline: the engine's alert stream in, notifications out (Alertmanager semantics).

Stages, in this order (STAGES):
  on push(alert, now_ms)
    1. fingerprint  alert dict -> AlertRecord; identity = hash of the fingerprint labels; an older
                    update of an alert than the one held is ignored (out-of-order delivery)
    2. route        routing tree -> routes (receiver, group_by, timings, severity floor); once an
                    alert is in a group it stays there until it resolves (an escalation adds the
                    paging route, the pager later gets the resolve)
    3. group        aggregation group per (route, group_by labels); a new group flushes after
                    group_wait, then every group_interval
  on each group flush (tick(now_ms), also run at the end of push)
    4. silence      alerts matching an active silence / allowlist entry are left out
    5. inhibit      alerts muted by a firing source alert (same user, higher severity) are left out
    6. dedup        notification log: notify on new firing alerts, on resolution of notified
                    alerts (send_resolved), or after repeat_interval; Alertmanager receivers are
                    refreshed every flush so their copy does not time out
    7. notify       Notification objects (deterministic id, PagerDuty dedup_key per group) for
                    `streamer.alert.notify.Dispatcher`; resolved alerts then leave the group
Time comes only from `now_ms` arguments (event time in replay, wall clock in the worker).

State is three maps of small records, each serializable to bytes per key so a worker can keep it
in a changelogged table: `alert/<fingerprint>`, `group/<group key>`, `nflog/<group key>`.
`drain_changes()` returns what changed since the last call (None = deleted);
`import_state(items)` restores it after a restart.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

from streamer.alert.config import AlertingConfig
from streamer.alert.dispatch import Group, group_key, group_labels
from streamer.alert.inhibit import Inhibitor
from streamer.alert.model import AlertRecord, severity_rank
from streamer.alert.nflog import LogEntry, needs_update
from streamer.alert.notification import Notification, short_hash
from streamer.alert.silence import Silencer

log = logging.getLogger(__name__)

STAGES = ("fingerprint", "route", "group", "silence", "inhibit", "dedup", "notify")
REFRESHED_TYPES = ("alertmanager",)  # receivers that expire alerts unless re-sent


class Pipeline:
    def __init__(self, config: AlertingConfig):
        self.config = config
        self.routes = config.routes()
        self.silencer = Silencer(config.silences)
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.alerts: dict[str, AlertRecord] = {}
        self.groups: dict[str, Group] = {}
        self.nflog: dict[str, LogEntry] = {}
        self.muted: dict[str, str] = {}  # fingerprint -> silence id / inhibit rule at last flush
        self._member: dict[str, set[str]] = {}  # fingerprint -> group keys
        self._changed: set[str] = set()
        self._due_bound = 0  # no group is due before this (lower bound; 0 = scan)
        self._timeout_bound = 0  # no firing alert times out before this

    # -- input ---------------------------------------------------------------------------------
    def push(self, alert: Mapping, now_ms: int) -> list[Notification]:
        """Take one alert (new, grown, escalated or resolved) and return notifications due now."""
        rec = AlertRecord.from_alert(alert, grafana_url=self.config.grafana_url,
                                     fingerprint_labels=self.config.fingerprint_labels, now_ms=now_ms)
        held = self.alerts.get(rec.fingerprint)
        if held is not None:
            if rec.updated_ms < held.updated_ms:
                return self.tick(now_ms)  # stale update
            rec.starts_ms = min(rec.starts_ms, held.starts_ms) if not held.ends_ms else rec.starts_ms
        self.alerts[rec.fingerprint] = rec
        self._timeout_bound = min(self._timeout_bound, rec.updated_ms + self.config.resolve_timeout_ms)
        self.inhibitor.update(rec)
        self._changed.add(f"alert/{rec.fingerprint}")
        if not rec.ends_ms:
            for route in self.config.route.match(rec.labels):
                self._join(route, rec, now_ms)
        if not self._member.get(rec.fingerprint):
            self._forget(rec.fingerprint)  # resolved and never grouped: nothing to tell
        return self.tick(now_ms)

    def _join(self, route, rec: AlertRecord, now_ms: int) -> None:
        glabels = group_labels(route, rec.labels)
        key = group_key(route, glabels)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key, route.id, route.receiver, glabels,
                                             next_flush_ms=now_ms + route.group_wait_ms)
            self._due_bound = min(self._due_bound, group.next_flush_ms)
        if rec.fingerprint not in group.fingerprints:
            group.fingerprints.append(rec.fingerprint)
            self._member.setdefault(rec.fingerprint, set()).add(key)
            self._changed.add(f"group/{key}")

    # -- time ------------------------------------------------------------------------------------
    def next_flush_ms(self) -> int | None:
        """When the next group is due (for a timer), None when idle."""
        return min((g.next_flush_ms for g in self.groups.values()), default=None)

    def tick(self, now_ms: int) -> list[Notification]:
        """Resolve timed-out alerts and flush every group that is due; returns notifications."""
        timeout = self.config.resolve_timeout_ms
        if timeout and now_ms >= self._timeout_bound:
            bound = None
            for rec in self.alerts.values():
                if rec.ends_ms:
                    continue
                if rec.updated_ms + timeout <= now_ms:
                    rec.ends_ms = rec.updated_ms + timeout
                    self.inhibitor.discard(rec.fingerprint)
                    self._changed.add(f"alert/{rec.fingerprint}")
                else:
                    bound = min(bound or rec.updated_ms + timeout, rec.updated_ms + timeout)
            self._timeout_bound = bound if bound is not None else now_ms + timeout
        if now_ms < self._due_bound:
            return []
        due = sorted((g for g in self.groups.values() if g.next_flush_ms <= now_ms),
                     key=lambda g: (g.next_flush_ms, g.key))
        if not due:
            self._due_bound = self.next_flush_ms() or now_ms + 1
            return []
        out = []
        for group in due:
            n = self._flush(group, now_ms)
            if n is not None:
                out.append(n)
        self._due_bound = self.next_flush_ms() or now_ms + 1
        return out

    def _flush(self, group: Group, now_ms: int) -> Notification | None:
        route = self.routes.get(group.route_id)
        receiver = self.config.receivers.get(group.receiver)
        if route is None or receiver is None:  # configuration changed under a restored group
            log.warning("dropping group %s: route or receiver no longer configured", group.key)
            self._drop_group(group)
            return None
        entry = self.nflog.get(group.key)
        notified = set(entry.firing) if entry else set()
        firing, resolved = [], []
        for fp in group.fingerprints:
            rec = self.alerts[fp]
            if rec.ends_ms:
                if fp in notified:
                    resolved.append(rec)
                continue
            why = self.silencer.mutes(rec.labels, now_ms) or self.inhibitor.mutes(rec)
            if why:
                self.muted[fp] = why
            else:
                self.muted.pop(fp, None)
                firing.append(rec)
        firing_fps = {r.fingerprint for r in firing}
        resolved_fps = {r.fingerprint for r in resolved}
        send = needs_update(entry, firing_fps, resolved_fps, now_ms, route.repeat_interval_ms,
                            receiver.send_resolved)
        refresh = receiver.type in REFRESHED_TYPES and bool(firing)
        notification = None
        if send or refresh:
            seq = (entry.seq if entry else 0) + 1
            ordered = sorted(firing, key=_order) + (sorted(resolved, key=_order) if receiver.send_resolved else [])
            notification = Notification(
                receiver=receiver.name, receiver_type=receiver.type, group_key=group.key,
                group_labels=dict(group.labels), status="firing" if firing else "resolved",
                alerts=[r.to_dict() for r in ordered], created_ms=now_ms, seq=seq,
                is_repeat=bool(entry) and firing_fps.issubset(entry.firing) and not resolved_fps,
                url=receiver.url, extra={"group_interval_ms": route.group_interval_ms})
            self.nflog[group.key] = LogEntry(sorted(firing_fps), sorted(resolved_fps), now_ms, seq)
            self._changed.add(f"nflog/{group.key}")
        # resolved alerts leave the group once the flush has seen them
        gone = [fp for fp in group.fingerprints if self.alerts[fp].ends_ms]
        for fp in gone:
            group.fingerprints.remove(fp)
            self._member.get(fp, set()).discard(group.key)
            if not self._member.get(fp):
                self._forget(fp)
        if not group.fingerprints:
            self._drop_group(group)
        else:
            step = route.group_interval_ms
            nxt = group.next_flush_ms + step if group.flushed else now_ms + step
            group.next_flush_ms = nxt if nxt > now_ms else now_ms + step  # a late tick does not bunch flushes
            group.flushed = True
            self._changed.add(f"group/{group.key}")
        return notification

    def _drop_group(self, group: Group) -> None:
        for fp in group.fingerprints:
            self._member.get(fp, set()).discard(group.key)
            if not self._member.get(fp):
                self._forget(fp)
        self.groups.pop(group.key, None)
        entry = self.nflog.get(group.key)
        if entry is not None and entry.seq:
            # the sequence goes on when the group forms again (the same user and detector days
            # later): a notification id is never reused, and the delivery order of the group
            # (Dispatcher: seq after seq) needs no reset. One small entry per group key ever seen.
            self.nflog[group.key] = LogEntry([], [], entry.sent_ms, entry.seq)
        else:
            self.nflog.pop(group.key, None)
        self._changed.update((f"group/{group.key}", f"nflog/{group.key}"))

    def _forget(self, fp: str) -> None:
        self.alerts.pop(fp, None)
        self._member.pop(fp, None)
        self.muted.pop(fp, None)
        self.inhibitor.discard(fp)
        self._changed.add(f"alert/{fp}")

    # -- state -----------------------------------------------------------------------------------
    def _get(self, key: str) -> bytes | None:
        kind, _, ident = key.partition("/")
        obj = {"alert": self.alerts, "group": self.groups, "nflog": self.nflog}[kind].get(ident)
        return obj.to_bytes() if obj is not None else None

    def drain_changes(self) -> dict[str, bytes | None]:
        """State records changed since the last call: key -> bytes, or None when deleted."""
        changes = {key: self._get(key) for key in sorted(self._changed)}
        self._changed.clear()
        return changes

    def export_state(self) -> dict[str, bytes]:
        """Every state record, key -> bytes."""
        keys = [f"alert/{k}" for k in self.alerts] + [f"group/{k}" for k in self.groups] + \
               [f"nflog/{k}" for k in self.nflog]
        return {k: self._get(k) for k in keys}

    def import_state(self, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> None:
        """Restore from records written by drain_changes/export_state (None values are skipped)."""
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, raw in pairs:
            if raw is None:
                continue
            kind, _, ident = key.partition("/")
            if kind == "alert":
                self.alerts[ident] = AlertRecord.from_bytes(raw)
            elif kind == "group":
                self.groups[ident] = Group.from_bytes(raw)
            elif kind == "nflog":
                self.nflog[ident] = LogEntry.from_bytes(raw)
            else:
                raise ValueError(f"unknown alert state key {key!r}")
        self._due_bound = self._timeout_bound = 0
        for rec in self.alerts.values():
            self.inhibitor.update(rec)
        self._member.clear()
        for group in self.groups.values():
            group.fingerprints = [fp for fp in group.fingerprints if fp in self.alerts]
            for fp in group.fingerprints:
                self._member.setdefault(fp, set()).add(group.key)
        self._changed.clear()

    # -- queries ---------------------------------------------------------------------------------
    def dedup_keys(self, labels: Mapping[str, str]) -> dict[str, str]:
        """receiver -> PagerDuty dedup key of the groups an alert with these labels goes to."""
        keys = {}
        for route in self.config.route.match(labels):
            keys[route.receiver] = short_hash(group_key(route, group_labels(route, labels)))
        return keys


def _order(rec: AlertRecord) -> tuple:
    return (-severity_rank(rec.severity), rec.starts_ms, rec.fingerprint)
