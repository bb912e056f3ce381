"""`streamer db migrate|status|retention` and `streamer erase`."""

from __future__ import annotations

import argparse
import sys

from streamer.store import migrations as mig


def _open():
    from streamer.settings import get_settings
    from streamer.store import open_store
    settings = get_settings()
    return settings, open_store(settings)


def _where(store) -> str:
    return f"{store.transport} {getattr(store, 'address', getattr(store, 'path', ''))} database {store.database}"


def _migrate(args: argparse.Namespace) -> int:
    _, store = _open()
    try:
        applied = store.migrate()
        for name in applied:
            print(f"applied {name}")
        print(f"{_where(store)}: up to date ({len(applied)} applied now)")
        return 0
    finally:
        store.close()


def _status(args: argparse.Namespace) -> int:
    _, store = _open()
    try:
        version = store.server_version()
        done = {int(r["version"]): r for r in store.applied_migrations()}
        print(f"{_where(store)}, server {version[0]}.{version[1]}")
        changed = 0
        for m in mig.discover():
            row = done.get(m.version)
            if not row:
                state = "pending"
            elif row["checksum"] != m.checksum:
                state, changed = "CHANGED after it was applied", changed + 1
            else:
                state = f"applied {row['applied_at']}"
            print(f"  {m.version:04d}_{m.name}: {state}")
        return 1 if changed else 0
    finally:
        store.close()


def _retention(args: argparse.Namespace) -> int:
    from streamer.store.ops import apply_retention, plan_retention
    settings, store = _open()
    try:
        years = args.years or settings.retention_years
        plan = plan_retention(store, years)
        print(f"retention {years} years: partitions before {plan.cutoff} are dropped")
        for table, partition, rows in plan.drops:
            print(f"  {table} {partition}: {rows} rows")
        if not plan.drops:
            print("  nothing past retention")
        if plan.ttl_tables:
            print(f"  TTL {years} years on: {', '.join(plan.ttl_tables)}")
        if not args.apply:
            print("dry run; add --apply to do it")
            return 0
        apply_retention(store, plan)
        print("applied")
        return 0
    finally:
        store.close()


def _erase(args: argparse.Namespace) -> int:
    from streamer.store.base import StoreError
    from streamer.store.ops import erase_patient
    from streamer.store.rows import Pseudonymiser
    settings, store = _open()
    key = settings.pseudonym_key.get_secret_value()
    pseudonymiser = Pseudonymiser.from_setting(key) if key else None
    try:
        entry = erase_patient(store, args.patient, args.requested_by, args.reason, pseudonymiser, args.timeout)
    except StoreError as exc:
        print(f"erase: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    for table, rows in zip(entry["table_names"], entry["table_rows"]):
        print(f"  {table}: {rows} rows")
    print(f"erasure {entry['erasure_id']} {entry['status']} (logged in erasure_log)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="ClickHouse schema: migrate, status, retention")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=type(db))
    p = dbsub.add_parser("migrate", help="apply pending migrations (idempotent)")
    p.set_defaults(func=_migrate)
    p = dbsub.add_parser("status", help="applied and pending migrations (exit 1 if one changed)")
    p.set_defaults(func=_status)
    p = dbsub.add_parser("retention", help="drop partitions older than the retention (dry run by default)")
    p.add_argument("--apply", action="store_true", help="really drop them (and set TTLs where supported)")
    p.add_argument("--years", type=int, default=0, help="override STREAMER_RETENTION_YEARS")
    p.set_defaults(func=_retention)
    db.set_defaults(func=lambda a: (db.print_help(sys.stderr), 1)[1])

    p = sub.add_parser("erase", help="erase one patient's rows from every table (logged)")
    p.add_argument("--patient", required=True, help="patient id (MRN) as received from the PACS")
    p.add_argument("--requested-by", required=True, help="who requested the erasure")
    p.add_argument("--reason", required=True, help="legal basis or ticket")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the deletions")
    p.set_defaults(func=_erase)
