"""Aggregation groups: alerts routed to the same receiver with equal group_by labels share one
group, which flushes group_wait after it is created and every group_interval after that."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping

import orjson

from streamer.alert.config import Route
from streamer.alert.notification import short_hash


def group_labels(route: Route, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that define the group; group_by ['...'] means every label."""
    if "..." in route.group_by:
        return dict(sorted(labels.items()))
    return {n: labels.get(n, "") for n in sorted(route.group_by)}


def group_key(route: Route, glabels: Mapping[str, str]) -> str:
    """Stable key of a group: route id, receiver and a hash of the group labels."""
    body = "\x1f".join(f"{k}={v}" for k, v in sorted(glabels.items()))
    return f"{route.id}:{route.receiver}:{short_hash(body, 16)}"


@dataclass
class Group:
    key: str
    route_id: str
    receiver: str
    labels: dict[str, str]
    fingerprints: list[str] = field(default_factory=list)
    next_flush_ms: int = 0
    flushed: bool = False

    def to_bytes(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Group":
        return cls(**orjson.loads(raw))
