"""Training data from ClickHouse: stored feature vectors of a time window and analysts' labels.

Features come from the `events` table (parallel arrays feature_names / feature_values, written by
the sink from each enriched event), so training sees exactly what the engine computed. Labels come
from alert triage: an alert resolved as true positive marks its events 1, a false positive marks
them 0 (true wins when an event is in both); events of unlabelled alerts and all others are
unlabelled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from models.features import DAY, FEATURE_NAMES
from streamer.store.base import quote
from streamer.store.rows import ms_to_datetime
from streamer.timeutil import format_ms

TRUE, FALSE = "resolved_true_positive", "resolved_false_positive"


@dataclass
class Dataset:
    """Feature rows of a window in event-time order; X columns follow `feature_names`."""
    event_ids: list[str]
    user_ids: list[str]
    groups: list[str]
    times: np.ndarray
    X: np.ndarray
    feature_names: tuple = FEATURE_NAMES
    start: int = 0
    end: int = 0

    def __len__(self) -> int:
        return len(self.event_ids)

    def user_days(self) -> int:
        """Distinct (user, UTC day) pairs: the denominator of alert budgets."""
        return len({(u, int(t) // DAY) for u, t in zip(self.user_ids, self.times)})

    def data_hash(self) -> str:
        """SHA-256 of the ids, groups and values: same data, same hash."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.feature_names).encode())
        for eid, g in zip(self.event_ids, self.groups):
            h.update(f"{eid}\x1f{g}\x1e".encode())
        h.update(np.ascontiguousarray(self.X, dtype=np.float64).tobytes())
        return h.hexdigest()

    def subset(self, mask: np.ndarray) -> "Dataset":
        idx = np.flatnonzero(mask)
        return Dataset([self.event_ids[i] for i in idx], [self.user_ids[i] for i in idx],
                       [self.groups[i] for i in idx], self.times[idx], self.X[idx],
                       self.feature_names, self.start, self.end)

    def summary(self) -> dict:
        return {"from": format_ms(self.start), "to": format_ms(self.end), "events": len(self),
                "users": len(set(self.user_ids)), "user_days": self.user_days(),
                "peer_groups": len(set(self.groups))}


@dataclass
class Labels:
    """Analysts' resolved alerts and the per-event labels they imply."""
    alerts: list[dict] = field(default_factory=list)   # alert_id, detector, status, event_ids
    events: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(a["status"] == status for a in self.alerts)

    @property
    def true_event_ids(self) -> set[str]:
        return {e for e, y in self.events.items() if y == 1}

    def summary(self) -> dict:
        return {"true_positive_alerts": self.count(TRUE), "false_positive_alerts": self.count(FALSE),
                "labelled_events": len(self.events)}


def from_rows(rows: list[dict], start: int, end: int,
              feature_names=FEATURE_NAMES) -> Dataset:
    """A Dataset from `events`-table rows (event_id, user_id, peer_group, ms, feature_names,
    feature_values); a feature the row lacks is 0. Duplicates of an event_id are dropped."""
    col = {n: i for i, n in enumerate(feature_names)}
    seen: set[str] = set()
    keep = []
    for r in rows:
        if r["event_id"] in seen or not start <= int(r["ms"]) < end:
            continue
        seen.add(r["event_id"])
        keep.append(r)
    keep.sort(key=lambda r: (int(r["ms"]), r["event_id"]))
    X = np.zeros((len(keep), len(feature_names)))
    for i, r in enumerate(keep):
        for n, v in zip(r["feature_names"], r["feature_values"]):
            j = col.get(n)
            if j is not None:
                X[i, j] = v
    return Dataset([r["event_id"] for r in keep], [r["user_id"] for r in keep],
                   [r["peer_group"] for r in keep],
                   np.asarray([int(r["ms"]) for r in keep], dtype=np.int64), X,
                   tuple(feature_names), start, end)


def from_enriched(enriched: list[dict], feature_names=FEATURE_NAMES) -> Dataset:
    """A Dataset straight from enriched events (no store), e.g. the output of a replay."""
    from streamer.timeutil import parse_time

    rows = [{"event_id": e["event_id"], "user_id": e["user"]["id"],
             "peer_group": e["enrichment"]["peer_group"], "ms": parse_time(e["event_time"]),
             "feature_names": list(e["enrichment"]["features"]),
             "feature_values": list(e["enrichment"]["features"].values())} for e in enriched]
    times = [r["ms"] for r in rows] or [0]
    return from_rows(rows, min(times), max(times) + 1, feature_names)


def pull_features(store, start: int, end: int, *, feature_names=FEATURE_NAMES,
                  progress: bool = True) -> Dataset:
    """Feature rows of events with start <= event time < end (epoch ms), read a day at a time."""
    from tqdm.auto import tqdm

    rows: list[dict] = []
    days = range(start // DAY * DAY, end, DAY)
    for day in tqdm(days, desc="reading features", unit="day", disable=not progress):
        lo, hi = max(day, start), min(day + DAY, end)
        rows += store.query(
            "SELECT event_id, user_id, peer_group, "
            "toUInt64(toUnixTimestamp(toDateTime(event_time))) * 1000 + event_ms AS ms, "
            f"feature_names, feature_values FROM {store.table('events')} "
            "WHERE event_time >= toDateTime(%(lo)s, 'UTC') AND event_time < toDateTime(%(hi)s, 'UTC')",
            {"lo": ms_to_datetime(lo // 1000 * 1000), "hi": ms_to_datetime(-(-hi // 1000) * 1000)})
    return from_rows(rows, start, end, feature_names)


def pull_labels(store, start: int, end: int) -> Labels:
    """Alerts overlapping [start, end) that analysts resolved true or false positive."""
    status = store.query(f"SELECT alert_id, status FROM {store.table('alert_status_current')} "
                         f"WHERE status IN ({quote(TRUE)}, {quote(FALSE)})")
    by_id = {r["alert_id"]: r["status"] for r in status}
    labels = Labels()
    ids = sorted(by_id)
    for i in range(0, len(ids), 2000):
        chunk = ", ".join(quote(a) for a in ids[i:i + 2000])
        rows = store.query(
            f"SELECT alert_id, detector, event_ids FROM {store.table('alerts_latest')} "
            f"WHERE alert_id IN ({chunk}) AND last_event_time >= toDateTime(%(lo)s, 'UTC') "
            "AND first_event_time < toDateTime(%(hi)s, 'UTC')",
            {"lo": ms_to_datetime(start // 1000 * 1000), "hi": ms_to_datetime(-(-end // 1000) * 1000)})
        for r in rows:
            labels.alerts.append({"alert_id": r["alert_id"], "detector": r["detector"],
                                  "status": by_id[r["alert_id"]], "event_ids": list(r["event_ids"])})
    labels.alerts.sort(key=lambda a: a["alert_id"])
    for a in labels.alerts:
        y = int(a["status"] == TRUE)
        for eid in a["event_ids"]:
            labels.events[eid] = max(labels.events.get(eid, 0), y)
    return labels


def incidents_from_labels(labels: Labels, ds: Dataset) -> list[dict]:
    """True-positive alerts as incident labels for the evaluation harness (one per alert)."""
    at = {eid: int(t) for eid, t in zip(ds.event_ids, ds.times)}
    out = []
    for a in labels.alerts:
        times = [at[e] for e in a["event_ids"] if e in at]
        if a["status"] == TRUE and times:
            out.append({"incident_id": a["alert_id"], "type": a["detector"],
                        "start_time": format_ms(min(times)), "event_ids": a["event_ids"]})
    return out
