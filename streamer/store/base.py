"""The Store: one interface over ClickHouse, whatever the transport (server or embedded chdb)."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import date, datetime, timezone

from streamer.store import migrations as mig
from streamer.store.rows import ALERT_COLUMNS, EVENT_COLUMNS, Pseudonymiser, alert_row, event_row

log = logging.getLogger(__name__)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEDUP_QUERY_BYTES = 150_000  # existence checks stay well under max_query_size (256 KiB)


def _chunks_by_size(rows: list[dict]) -> list[list[dict]]:
    """Split rows so that the quoted event and user ids of a chunk fit in one query."""
    chunks, current, size = [], [], 0
    for r in rows:
        cost = len(quote(r["event_id"])) + len(quote(r["user_id"])) + 4
        if current and size + cost > _DEDUP_QUERY_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(r)
        size += cost
    if current:
        chunks.append(current)
    return chunks


class StoreError(RuntimeError):
    """ClickHouse refused or could not be reached; the message names the transport."""


def quote(value) -> str:
    """A Python value as a ClickHouse SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        v = value.astimezone(timezone.utc) if value.tzinfo else value
        return "'" + v.strftime("%Y-%m-%d %H:%M:%S") + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "'"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(quote(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return "'" + text + "'"


def bind(sql: str, params: dict | None) -> str:
    """Substitute `%(name)s` placeholders with quoted literals (no substitution without params)."""
    if not params:
        return sql
    return sql % {k: quote(v) for k, v in params.items()}


def identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


class Store:
    """Base of NativeStore and ChdbStore. Subclasses implement `_run`, `_select`, `_insert`."""

    transport = "?"

    def __init__(self, database: str, retention_years: int = 7,
                 pseudonymiser: Pseudonymiser | None = None):
        self.database = identifier(database)
        self.retention_years = retention_years
        self.pseudonymiser = pseudonymiser
        self._lock = threading.RLock()
        self._version: tuple[int, int] | None = None

    # --- transport primitives ---------------------------------------------------------------
    def _run(self, sql: str) -> None:
        raise NotImplementedError

    def _select(self, sql: str) -> list[dict]:
        raise NotImplementedError

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[dict]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection (the store can not be used afterwards)."""

    # --- public API ---------------------------------------------------------------------------
    def ping(self) -> bool:
        """True when the server answers `SELECT 1`."""
        try:
            with self._lock:
                return self._select("SELECT 1 AS ok")[0]["ok"] == 1
        except Exception:  # noqa: BLE001 - ping reports, never raises
            return False

    def query(self, sql: str, params: dict | None = None) -> list[dict]:
        """Run a SELECT; `%(name)s` placeholders are filled from params. Rows as dicts."""
        with self._lock:
            return self._select(bind(sql, params))

    def execute(self, sql: str, params: dict | None = None) -> None:
        """Run a statement with no result (DDL, ALTER)."""
        with self._lock:
            self._run(bind(sql, params))

    def server_version(self) -> tuple[int, int]:
        if self._version is None:
            self._version = mig.parse_version(self.query("SELECT version() AS v")[0]["v"])
        return self._version

    def has_ttl(self) -> bool:
        return self.server_version() >= mig.TTL

    def table(self, name: str) -> str:
        return f"{self.database}.{identifier(name)}"

    def insert_rows(self, table: str, rows: list[dict]) -> int:
        """Insert dict rows into `table` (columns = keys of the first row). Returns rows written."""
        if not rows:
            return 0
        columns = tuple(identifier(c) for c in rows[0])
        with self._lock:
            self._insert(self.table(table), columns, rows)
        return len(rows)

    def insert_events(self, enriched: list[dict], ingest_ms: int | None = None) -> int:
        """Store enriched events; ids already stored (retries, replays) are skipped.

        Returns the number of rows written (duplicates not counted).
        """
        now = ingest_ms if ingest_ms is not None else int(time.time() * 1000)
        rows, seen = [], set()
        for event in enriched:
            row = event_row(event, now, self.pseudonymiser)
            key = row["event_id"]
            if key not in seen:
                seen.add(key)
                rows.append(row)
        with self._lock:
            stored = self._existing_events(rows)
            fresh = [r for r in rows if r["event_id"] not in stored]
            if fresh:
                self._insert(self.table("events"), EVENT_COLUMNS, fresh)
        return len(fresh)

    def insert_alerts(self, alerts: list[dict], ingest_ms: int | None = None) -> int:
        """Store alert emissions (each a new version; the latest per alert_id wins)."""
        now = ingest_ms if ingest_ms is not None else int(time.time() * 1000)
        rows = [alert_row(a, now, self.pseudonymiser) for a in alerts]
        if rows:
            with self._lock:
                stored = self._existing_alert_versions(rows)
                rows = [r for r in rows if (r["alert_id"], r["version"]) not in stored]
                if rows:
                    self._insert(self.table("alerts"), ALERT_COLUMNS, rows)
        return len(rows)

    def _existing_events(self, rows: list[dict]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks_by_size(rows):
            days = sorted({r["event_time"].date().isoformat() for r in chunk})
            users = sorted({r["user_id"] for r in chunk})
            ids = [r["event_id"] for r in chunk]
            sql = (f"SELECT DISTINCT event_id FROM {self.table('events')} "
                   f"WHERE toDate(event_time) IN ({', '.join(quote(d) for d in days)}) "
                   f"AND user_id IN ({', '.join(quote(u) for u in users)}) "
                   f"AND event_id IN ({', '.join(quote(x) for x in ids)})")
            found.update(r["event_id"] for r in self._select(sql))
        return found

    def _existing_alert_versions(self, rows: list[dict]) -> set[tuple[str, int]]:
        ids = sorted({r["alert_id"] for r in rows})
        sql = (f"SELECT alert_id, version FROM {self.table('alerts')} "
               f"WHERE alert_id IN ({', '.join(quote(x) for x in ids)})")
        return {(r["alert_id"], int(r["version"])) for r in self._select(sql)}

    # --- migrations ---------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply pending migrations in order; returns the names applied (empty when up to date)."""
        version = self.server_version()
        self.execute(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self.execute(mig.migrations_table_sql(self.database))
        done = {r["version"] for r in self.applied_migrations()}
        applied = []
        for m in mig.discover():
            if m.version in done:
                continue
            sql = mig.resolve(m.text, version, self.database, self.retention_years)
            for stmt in mig.statements(sql):
                self.execute(stmt)
            self.insert_rows(mig.MIGRATIONS_TABLE, [{
                "version": m.version, "name": m.name, "checksum": m.checksum,
                "server_version": ".".join(map(str, version)),
                "applied_at": datetime.now(timezone.utc).replace(microsecond=0)}])
            applied.append(f"{m.version:04d}_{m.name}")
            log.info("applied migration %04d_%s", m.version, m.name)
        return applied

    def applied_migrations(self) -> list[dict]:
        exists = self.query("SELECT count() AS n FROM system.tables WHERE database = %(db)s AND name = %(t)s",
                            {"db": self.database, "t": mig.MIGRATIONS_TABLE})[0]["n"]
        if not exists:
            return []
        return self.query(f"SELECT version, any(name) AS name, any(checksum) AS checksum, "
                          f"min(applied_at) AS applied_at FROM {self.table(mig.MIGRATIONS_TABLE)} "
                          f"GROUP BY version ORDER BY version")

    def wait_mutations(self, table: str, timeout: float = 120.0) -> None:
        """Block until every ALTER ... DELETE/UPDATE on `table` has finished."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.query("SELECT count() AS n FROM system.mutations WHERE database = %(db)s "
                              "AND table = %(t)s AND is_done = 0", {"db": self.database, "t": table})
            if not left[0]["n"]:
                return
            if time.monotonic() > deadline:
                raise StoreError(f"mutations on {self.database}.{table} still running after {timeout:.0f}s")
            time.sleep(0.1)
