"""Retention (TTL or partition drop) and patient erasure, with the erasure itself logged."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from streamer.store.base import Store, quote
from streamer.store.rows import Pseudonymiser

log = logging.getLogger(__name__)

# Tables holding patient identifiers: table -> columns compared with the patient's ids.
PATIENT_TABLES = {
    "events": ("patient_id",),
    "exports": ("patient_id",),
    "access_by_patient": ("patient_id",),
    "watchlist_snapshots": ("patient_id",),
}
# Tables whose text may name a patient: the text is redacted, the security record is kept.
REDACTED_TABLES = {"alerts": ("summary", "explanation")}
REDACTION = "[erased]"
# Tables retention leaves alone: the migrations record and the erasure log (proof of erasures).
RETENTION_EXEMPT = {"schema_migrations", "erasure_log"}
# Tables created with a {{TTL expr}} and their TTL expression (kept in step with the migrations).
TTL_TABLES = {
    "events": "toDateTime(event_time)", "alerts": "toDateTime(first_event_time)",
    "alert_status": "toDateTime(changed_at)", "roster_snapshots": "snapshot_time",
    "watchlist_snapshots": "snapshot_time", "user_hourly": "hour", "department_hourly": "hour",
    "exports": "toDateTime(event_time)", "access_by_patient": "toDateTime(event_time)",
}


def cutoff_month(today: date, years: int) -> int:
    """Partitions (YYYYMM) below this month are entirely older than `years` years.

    >>> cutoff_month(date(2026, 11, 30), 7)
    201911
    """
    return (today.year - years) * 100 + today.month


@dataclass
class RetentionPlan:
    years: int
    cutoff: int
    drops: list[tuple[str, str, int]] = field(default_factory=list)  # (table, partition, rows)
    ttl_tables: list[str] = field(default_factory=list)


def plan_retention(store: Store, years: int, today: date | None = None) -> RetentionPlan:
    """Which monthly partitions are past retention (and which tables get a TTL)."""
    today = today or datetime.now(timezone.utc).date()
    plan = RetentionPlan(years, cutoff_month(today, years))
    parts = store.query(
        "SELECT table, partition, sum(rows) AS rows FROM system.parts WHERE database = %(db)s AND active "
        "GROUP BY table, partition ORDER BY table, partition", {"db": store.database})
    for p in parts:
        if p["table"] in RETENTION_EXEMPT or not str(p["partition"]).isdigit():
            continue
        if int(p["partition"]) < plan.cutoff:
            plan.drops.append((p["table"], str(p["partition"]), int(p["rows"])))
    if store.has_ttl():
        plan.ttl_tables = sorted(TTL_TABLES)
    return plan


def apply_retention(store: Store, plan: RetentionPlan) -> None:
    """Set TTLs to the configured years (where supported) and drop the old partitions."""
    for table in plan.ttl_tables:
        store.execute(f"ALTER TABLE {store.table(table)} MODIFY TTL {TTL_TABLES[table]} "
                      f"+ INTERVAL {int(plan.years)} YEAR")
    for table, partition, _ in plan.drops:
        store.execute(f"ALTER TABLE {store.table(table)} DROP PARTITION {int(partition)}")
        log.info("dropped partition %s of %s", partition, table)


def patient_ref(patient_id: str) -> str:
    """What the erasure log keeps instead of the id: its SHA-256 (proves, does not reveal)."""
    return hashlib.sha256(patient_id.encode("utf-8")).hexdigest()


def patient_keys(patient_id: str, pseudonymiser: Pseudonymiser | None) -> list[str]:
    """Every form the id may be stored under: itself and its pseudonyms under all known keys."""
    keys = [patient_id]
    if pseudonymiser:
        keys += [p for p in pseudonymiser.all_pseudonyms(patient_id) if p not in keys]
    return keys


def _existing_tables(store: Store) -> set[str]:
    rows = store.query("SELECT name FROM system.tables WHERE database = %(db)s", {"db": store.database})
    return {r["name"] for r in rows}


def erase_patient(store: Store, patient_id: str, requested_by: str, reason: str,
                  pseudonymiser: Pseudonymiser | None = None, timeout: float = 300.0) -> dict:
    """Delete the patient's rows from every table, redact alert texts, wait, verify, log.

    Returns the erasure_log row written. Raises StoreError when rows remain after the mutations.
    """
    if not patient_id.strip():
        raise ValueError("patient id is empty")
    requested = datetime.now(timezone.utc).replace(microsecond=0)
    keys = patient_keys(patient_id, pseudonymiser)
    in_keys = ", ".join(quote(k) for k in keys)
    tables = _existing_tables(store)
    counts: dict[str, int] = {}
    for table, columns in PATIENT_TABLES.items():
        if table not in tables:
            continue
        where = " OR ".join(f"{c} IN ({in_keys})" for c in columns)
        n = store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}")[0]["n"]
        counts[table] = int(n)
        if n:
            store.execute(f"ALTER TABLE {store.table(table)} DELETE WHERE {where}")
    for table, columns in REDACTED_TABLES.items():
        if table not in tables:
            continue
        where = _mentions(keys, columns + ("label_values",))
        n = store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}")[0]["n"]
        counts[table] = int(n)
        if n:
            sets = [f"{c} = {_replace_all(c, keys)}" for c in columns]
            sets.append("label_values = arrayMap(v -> if(v IN (%s), %s, v), label_values)" % (in_keys, quote(REDACTION)))
            store.execute(f"ALTER TABLE {store.table(table)} UPDATE {', '.join(sets)} WHERE {where}")
    for table in counts:
        store.wait_mutations(table, timeout)
    left = _remaining(store, keys, tables)
    status = "done" if not any(left.values()) else "failed"
    entry = {
        "erasure_id": str(uuid.uuid4()), "requested_at": requested,
        "completed_at": datetime.now(timezone.utc).replace(microsecond=0),
        "requested_by": requested_by, "reason": reason, "patient_ref": patient_ref(patient_id),
        "table_names": sorted(counts), "table_rows": [counts[t] for t in sorted(counts)], "status": status,
    }
    store.insert_rows("erasure_log", [entry])
    if status != "done":
        from streamer.store.base import StoreError
        raise StoreError(f"erasure incomplete, rows left: {left}")
    return entry


def _mentions(keys: list[str], columns: tuple[str, ...]) -> str:
    parts = []
    for c in columns:
        if c == "label_values":
            parts += [f"has(label_values, {quote(k)})" for k in keys]
        else:
            parts += [f"position({c}, {quote(k)}) > 0" for k in keys]
    return "(" + " OR ".join(parts) + ")"


def _replace_all(column: str, keys: list[str]) -> str:
    expr = column
    for k in keys:
        expr = f"replaceAll({expr}, {quote(k)}, {quote(REDACTION)})"
    return expr


def _remaining(store: Store, keys: list[str], tables: set[str]) -> dict[str, int]:
    """Rows still holding the patient's ids, per table (all zero after a complete erasure)."""
    in_keys = ", ".join(quote(k) for k in keys)
    left = {}
    for table, columns in PATIENT_TABLES.items():
        if table in tables:
            where = " OR ".join(f"{c} IN ({in_keys})" for c in columns)
            left[table] = int(store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}")[0]["n"])
    for table, columns in REDACTED_TABLES.items():
        if table in tables:
            where = _mentions(keys, columns + ("label_values",))
            left[table] = int(store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}")[0]["n"])
    return left
