"""Notification log: what was last sent for each group, so a flush only notifies on change.

Alertmanager's rules: notify when a group has firing alerts not yet notified, when an alert that
was notified as firing has resolved (if the receiver sends resolved), or when repeat_interval has
passed since the last notification. Entries serialize to bytes for a changelogged table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import orjson


@dataclass
class LogEntry:
    firing: list[str] = field(default_factory=list)  # fingerprints notified as firing
    resolved: list[str] = field(default_factory=list)  # fingerprints notified as resolved
    sent_ms: int = 0
    seq: int = 0  # notifications sent for this group so far

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> "LogEntry":
        return cls(**orjson.loads(raw))


def needs_update(entry: LogEntry | None, firing: set[str], resolved: set[str], now_ms: int,
                 repeat_interval_ms: int, send_resolved: bool) -> bool:
    """Should a group with these firing/resolved fingerprints notify now?"""
    if entry is None:
        return bool(firing)
    if not firing.issubset(entry.firing):
        return True
    if not firing:
        return bool(entry.firing) and send_resolved  # all notified alerts resolved or gone
    if send_resolved and not resolved.issubset(entry.resolved):
        return True
    return entry.sent_ms + repeat_interval_ms <= now_ms
