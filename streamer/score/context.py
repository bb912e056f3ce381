"""Context feeds: roster (HR / identity) and watchlist (patients needing extra care).

Both come as CSV files (contracts.md section 2) at start and as row updates from compacted topics
(JSON with the same fields). A row with status/category null or empty deletes the entry
(a compacted-topic tombstone carries no value; the caller passes {"user_id": ...} only).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from streamer.timeutil import parse_time

STATUSES = frozenset(("active", "terminated", "suspended"))
CATEGORIES = frozenset(("vip", "employee", "restricted"))
_DAY = 86_400_000


def role_key(name: str) -> str:
    """A role as the rules spell it: "Referring Physician", "referring-physician" and
    " REFERRING_PHYSICIAN" are all `referring_physician` (HR systems and PACS capitalise and
    space role names their own way; an unknown spelling has no permissions to judge)."""
    return "_".join(str(name).replace("-", " ").replace("_", " ").lower().split())


def roster_row(row: dict) -> dict | None:
    """Normalised roster row, None for a deletion. Raises ValueError on a bad row."""
    uid = str(row.get("user_id") or "").strip()
    if not uid:
        raise ValueError("roster row without user_id")
    status = str(row.get("status") or "").strip().lower()
    if not status:
        return None
    if status not in STATUSES:
        raise ValueError(f"roster row {uid}: unknown status {status!r}")
    roles = row.get("roles") or ()
    if isinstance(roles, str):
        roles = roles.split(";")
    roles = [role_key(r) for r in roles]
    end = str(row.get("end_date") or "").strip()
    end_ms = None
    if end:
        try:
            end_ms = parse_time(date.fromisoformat(end[:10]).isoformat() + "T00:00:00Z") + _DAY
        except ValueError as exc:
            raise ValueError(f"roster row {uid}: bad end_date {end!r}") from exc
    return {"user_id": uid, "name": str(row.get("name") or ""), "status": status,
            "roles": tuple(r for r in roles if r), "department": str(row.get("department") or ""),
            "end_date": end, "end_ms": end_ms}


def watchlist_row(row: dict) -> dict | None:
    """Normalised watchlist row, None for a deletion. Raises ValueError on a bad row."""
    pid = str(row.get("patient_id") or "").strip()
    if not pid:
        raise ValueError("watchlist row without patient_id")
    category = str(row.get("category") or "").strip().lower()
    if not category:
        return None
    if category not in CATEGORIES:
        raise ValueError(f"watchlist row {pid}: unknown category {category!r}")
    return {"patient_id": pid, "category": category,
            "employee_user_id": str(row.get("employee_user_id") or "").strip() or None}


def read_csv(path: str | Path, convert) -> list[dict]:
    """Rows of a CSV file through `convert`; errors name the file and line."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                r = convert(row)
            except ValueError as exc:
                raise ValueError(f"{path}:{line_no}: {exc}") from None
            if r is not None:
                out.append(r)
    return out
