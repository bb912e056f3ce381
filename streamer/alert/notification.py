"""Notification: what the pipeline hands to a receiver (one group of alerts, one receiver).

`notification_id` is deterministic (group key + sequence number from the notification log), so
a notification re-emitted after a restart, or re-delivered from the retry topic, carries the same
id and receivers can drop the duplicate. `dedup_key` is stable for the group's whole life and is
what PagerDuty uses to keep one incident.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import orjson


def short_hash(text: str, n: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass
class Notification:
    receiver: str
    receiver_type: str
    group_key: str
    group_labels: dict[str, str]
    status: str  # firing when any alert fires, else resolved
    alerts: list[dict]  # AlertRecord dicts, firing first, most severe first
    created_ms: int
    seq: int
    is_repeat: bool = False
    url: str = ""  # receiver URL override from the routing config
    extra: dict = field(default_factory=dict)

    @property
    def notification_id(self) -> str:
        return short_hash(f"{self.group_key}#{self.seq}")

    @property
    def dedup_key(self) -> str:
        return short_hash(self.group_key)

    @property
    def firing(self) -> list[dict]:
        return [a for a in self.alerts if not a["ends_ms"]]

    @property
    def resolved(self) -> list[dict]:
        return [a for a in self.alerts if a["ends_ms"]]

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Notification":
        return cls(**orjson.loads(raw))
