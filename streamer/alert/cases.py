"""Case handling: the analyst's triage status of an alert, with owner and notes.

Every change is a new row in `alert_status` (the history is the audit trail);
`alert_status_current` is the latest row per alert, and an alert without a row is `open`.
Resolved labels (true / false positive) are what model training learns from.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import orjson

from streamer.alert.model import SEVERITIES
from streamer.store.base import quote
from streamer.store.rows import ms_to_datetime

STATUSES = ("open", "acknowledged", "investigating", "resolved_true_positive",
            "resolved_false_positive", "suppressed")
ACTIVE = ("open", "acknowledged", "investigating")
LABELS = {"tp": "resolved_true_positive", "fp": "resolved_false_positive"}
RESOLVED = ("resolved_true_positive", "resolved_false_positive")
_ANY_WORK = {"acknowledged", "investigating", *RESOLVED, "suppressed"}
TRANSITIONS = {
    "open": _ANY_WORK,
    "acknowledged": {"open", *_ANY_WORK},
    "investigating": {"open", *_ANY_WORK},
    "resolved_true_positive": {"open", "resolved_false_positive"},
    "resolved_false_positive": {"open", "resolved_true_positive"},
    "suppressed": {"open"},
}
LIST_COLUMNS = ("alert_id", "user_id", "detector", "severity", "risk", "event_count",
                "first_event_time", "last_event_time", "status", "summary", "incident",
                "label_names", "label_values")


def _in(values: Iterable[str]) -> str:
    """A SQL IN list literal, written the same for every ClickHouse version."""
    return "(" + ", ".join(quote(v) for v in values) + ")"


class CaseError(ValueError):
    """A case change that is not allowed (unknown alert, invalid transition)."""


def check_transition(current: str, new: str, note: str = "") -> None:
    """Raise CaseError unless `current -> new` is allowed. Re-stating the same status is allowed
    (reassigning or adding a note); changing a resolved label needs a note saying why."""
    if new not in STATUSES:
        raise CaseError(f"unknown status {new!r}; one of {', '.join(STATUSES)}")
    if new == current:
        return
    if new not in TRANSITIONS.get(current, ()):
        raise CaseError(f"cannot go from {current} to {new}")
    if current in RESOLVED and new in RESOLVED and not note:
        raise CaseError(f"changing {current} to {new} needs --note explaining why")


def status_row(alert_id: str, status: str, *, owner: str = "", note: str = "", who: str = "",
               now_ms: int) -> dict:
    """One `alert_status` row."""
    import time

    return {"alert_id": alert_id, "changed_at": ms_to_datetime(now_ms), "status": status,
            "owner": owner, "note": note, "who": who,
            "change_seq": max(now_ms * 1000, time.time_ns() // 1000)}  # orders changes within a second


def current_status(store, alert_ids: Iterable[str]) -> dict[str, dict]:
    """alert_id -> latest status row (alerts without one are absent: they are open)."""
    ids = sorted(set(alert_ids))
    if not ids:
        return {}
    rows = store.query(f"SELECT alert_id, status, owner, note, who, updated_at "
                       f"FROM {store.table('alert_status_current')} WHERE alert_id IN {_in(ids)}")
    return {r["alert_id"]: r for r in rows}


def get_alert(store, alert_id: str) -> dict | None:
    rows = store.query(f"SELECT {', '.join(LIST_COLUMNS)} FROM {store.table('alerts_latest')} "
                       f"WHERE alert_id = %(id)s", {"id": alert_id})
    return rows[0] if rows else None


def change(store, alert_id: str, status: str, *, owner: str = "", note: str = "", who: str = "",
           now_ms: int) -> dict:
    """Record a status change after checking the alert exists and the transition is allowed.

    An empty owner keeps the current owner. Returns the row written.
    """
    if get_alert(store, alert_id) is None:
        raise CaseError(f"no alert {alert_id!r}")
    current = current_status(store, [alert_id]).get(alert_id, {})
    check_transition(current.get("status", "open"), status, note)
    row = status_row(alert_id, status, owner=owner or current.get("owner", ""), note=note, who=who,
                     now_ms=now_ms)
    store.insert_rows("alert_status", [row])
    return row


def list_cases(store, *, statuses: Iterable[str] = ACTIVE, user: str = "", severities: Iterable[str] = (),
               since_ms: int | None = None, limit: int = 50) -> list[dict]:
    """Latest version of each alert with its case status, newest first."""
    statuses = list(statuses)
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise CaseError(f"unknown status {bad[0]!r}; one of {', '.join(STATUSES)}")
    where, params = [], {"limit": int(limit)}
    if statuses and set(statuses) != set(STATUSES):
        sub = f"SELECT alert_id FROM {store.table('alert_status_current')} WHERE status IN "
        if "open" in statuses:  # no status row means open
            where.append(f"alert_id NOT IN ({sub}{_in(s for s in STATUSES if s not in statuses)})")
        else:
            where.append(f"alert_id IN ({sub}{_in(statuses)})")
    if user:
        where.append("user_id = %(user)s")
        params["user"] = user
    if severities:
        if not set(severities) <= set(SEVERITIES):
            raise CaseError(f"severity must be one of {', '.join(SEVERITIES)}")
        where.append(f"severity IN {_in(severities)}")
    if since_ms is not None:
        where.append("last_event_time >= toDateTime(%(since)s, 'UTC')")
        params["since"] = datetime.fromtimestamp(since_ms // 1000, tz=timezone.utc)
    sql = (f"SELECT {', '.join(LIST_COLUMNS)} FROM {store.table('alerts_latest')} "
           + (f"WHERE {' AND '.join(where)} " if where else "")
           + "ORDER BY last_event_time DESC, alert_id LIMIT %(limit)s")
    rows = store.query(sql, params)
    status = current_status(store, [r["alert_id"] for r in rows])
    for r in rows:
        s = status.get(r["alert_id"], {})
        r["engine_status"] = r.pop("status")
        r["case_status"] = s.get("status", "open")
        r["owner"], r["note"] = s.get("owner", ""), s.get("note", "")
    return rows


def alert_from_row(row: dict) -> dict:
    """Rebuild an alert dict (enough for labels and routing) from an alerts_latest row."""
    return {"alert_id": row["alert_id"], "user_id": row["user_id"], "detector": row["detector"],
            "severity": row["severity"], "incident": row.get("incident") or row["alert_id"],
            "labels": dict(zip(row.get("label_names") or [], row.get("label_values") or [])),
            "summary": row.get("summary", ""), "status": row.get("engine_status", row.get("status", "firing"))}


def to_json(row: dict) -> bytes:
    return orjson.dumps(row, default=str)
