"""Storage stage: ClickHouse schema migrations, the event/alert sink, retention and erasure.

`open_store(settings)` returns a Store for the configured transport (native server or chdb).
"""

from __future__ import annotations

from streamer.store.base import Store, StoreError
from streamer.store.rows import Pseudonymiser, alert_row, event_row
from streamer.store.sink import BatchSink


def pseudonymiser_from(settings) -> Pseudonymiser | None:
    """The settings' pseudonymiser, or None when pseudonymisation is off."""
    if not settings.pseudonymise:
        return None
    return Pseudonymiser.from_setting(settings.pseudonym_key.get_secret_value())


def open_store(settings) -> Store:
    """A Store for `settings.clickhouse_transport` (native: clickhouse-driver; chdb: local folder)."""
    common = {"retention_years": settings.retention_years, "pseudonymiser": pseudonymiser_from(settings)}
    if settings.clickhouse_transport == "native":
        from streamer.store.native import NativeStore
        return NativeStore(settings.clickhouse_host, settings.clickhouse_port, settings.clickhouse_database,
                           user=settings.clickhouse_user,
                           password=settings.clickhouse_password.get_secret_value(),
                           secure=settings.clickhouse_secure, ca_certs=settings.clickhouse_ca_certs, **common)
    from pathlib import Path

    from streamer.store.chdb_store import ChdbStore
    Path(settings.clickhouse_chdb_path).mkdir(parents=True, exist_ok=True)
    return ChdbStore(settings.clickhouse_chdb_path, settings.clickhouse_database, **common)


__all__ = ["BatchSink", "Pseudonymiser", "Store", "StoreError", "alert_row", "event_row", "open_store",
           "pseudonymiser_from"]
