"""The Store against chdb and the real ClickHouse server: migrations, dedup, alerts, erasure,
pseudonymisation, retention."""

from __future__ import annotations

from datetime import date

from streamer.store import migrations as mig
from streamer.store.ops import apply_retention, erase_patient, patient_ref, plan_retention


def _count(store, table, where="1"):
    return store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}")[0]["n"]


def _tables(store):
    return {r["name"] for r in store.query("SELECT name FROM system.tables WHERE database = %(d)s",
                                           {"d": store.database})}


def test_migrations_up_from_empty_and_rerun(store):
    assert store.applied_migrations() == []
    applied = store.migrate()
    assert applied == [f"{m.version:04d}_{m.name}" for m in mig.discover()]
    tables = _tables(store)
    assert {"events", "alerts", "alerts_latest", "alert_status", "alert_status_current", "roster_snapshots",
            "watchlist_snapshots", "erasure_log", "pipeline_metrics", "user_hourly", "department_hourly",
            "exports", "access_by_patient", "schema_migrations"} <= tables
    assert store.migrate() == []
    assert _tables(store) == tables
    assert [r["version"] for r in store.applied_migrations()] == [m.version for m in mig.discover()]
    assert _count(store, "schema_migrations") == len(mig.discover())


def test_duplicates_collapse_and_rollups_count_once(store, make_event):
    store.migrate()
    events = [make_event(i, action="export" if i % 4 == 0 else "view") for i in range(200)]
    assert store.insert_events(events + events[:10]) == 200          # duplicates inside a batch
    assert store.insert_events(events[50:120]) == 0                  # a replay
    assert store.insert_events(events[190:] + [make_event(500)]) == 1
    assert _count(store, "events") == 201
    assert store.query(f"SELECT count() AS n FROM {store.table('events')} FINAL")[0]["n"] == 201
    hourly = store.query(f"SELECT uniqExactMerge(events) AS e, uniqExactIfMerge(exports) AS x, sumMerge(bytes) AS b "
                         f"FROM {store.table('user_hourly')}")[0]
    assert hourly == {"e": 201, "x": 50, "b": 201 * 1000}
    assert _count(store, "exports") == 50
    assert _count(store, "access_by_patient", "patient_id = 'MRN1'") == 201


def test_event_fields_round_trip(store, make_event):
    store.migrate()
    store.insert_events([make_event(42)])
    row = store.query(f"SELECT * FROM {store.table('events')}")[0]
    assert row["event_id"] == "ev-42" and row["event_ms"] == 42
    assert row["event_time"].strftime("%Y-%m-%d %H:%M:%S") == "2026-11-30 03:00:42"
    assert row["user_roles"] == ["radiologist"] and row["user_mfa"] == 1 and row["client_remote"] == 0
    assert list(row["feature_names"]) == ["exports_1h", "views_1h"]
    assert list(row["feature_values"]) == [2.0, 5.0]
    assert row["peer_group"] == "radiologist|neuroradiology" and row["anomaly_score"] == 0.25


def test_alert_latest_version_wins(store):
    store.migrate()
    base = {"alert_id": "a1", "user_id": "jdoe", "detector": "bulk_export", "severity": "medium", "score": 0.8,
            "risk": 40.0, "event_ids": ["e1"], "first_event_time": "2026-11-30T02:10:00.000Z",
            "last_event_time": "2026-11-30T02:11:00.000Z", "summary": "1 export",
            "updated_time": "2026-11-30T02:11:00.000Z", "labels": {"department": "neuro"}}
    grown = {**base, "severity": "high", "event_ids": ["e1", "e2"], "summary": "2 exports",
             "last_event_time": "2026-11-30T02:12:00.000Z", "updated_time": "2026-11-30T02:12:00.000Z"}
    assert store.insert_alerts([base, grown]) == 2
    assert store.insert_alerts([grown]) == 0  # a retried emission is not stored twice
    latest = store.query(f"SELECT * FROM {store.table('alerts_latest')}")
    assert len(latest) == 1 and latest[0]["severity"] == "high" and list(latest[0]["event_ids"]) == ["e1", "e2"]
    store.insert_rows("alert_status", [
        {"alert_id": "a1", "changed_at": latest[0]["updated_time"], "status": "acknowledged", "owner": "soc1",
         "note": "", "who": "soc1"}])
    current = store.query(f"SELECT * FROM {store.table('alert_status_current')}")
    assert [(c["alert_id"], c["status"], c["owner"]) for c in current] == [("a1", "acknowledged", "soc1")]


def _seed_patient_data(store, make_event):
    store.insert_events([make_event(i, patient="MRN1", action="export") for i in range(5)]
                        + [make_event(100 + i, patient="MRN2") for i in range(5)])
    store.insert_alerts([{"alert_id": "a9", "user_id": "jdoe", "detector": "vip", "severity": "high", "score": 1,
                          "risk": 90, "event_ids": ["ev-0"], "first_event_time": "2026-11-30T03:00:00.000Z",
                          "last_event_time": "2026-11-30T03:00:00.000Z", "updated_time": "2026-11-30T03:00:00.000Z",
                          "summary": "jdoe opened MRN1 (VIP)", "labels": {"patient_id": "MRN1"},
                          "explanation": [{"feature": "vip", "value": 1, "expected": 0, "baseline": "MRN1"}]}])
    store.insert_rows("watchlist_snapshots", [
        {"snapshot_time": store.query("SELECT now() AS t")[0]["t"], "patient_id": p, "category": "vip",
         "employee_user_id": ""} for p in ("MRN1", "MRN2")])


def test_erasure_removes_every_trace_and_is_logged(store, make_event):
    store.migrate()
    _seed_patient_data(store, make_event)
    entry = erase_patient(store, "MRN1", "dpo@hospital", "GDPR art. 17 ticket 42")
    assert entry["status"] == "done"
    counts = dict(zip(entry["table_names"], entry["table_rows"]))
    assert counts == {"events": 5, "exports": 5, "access_by_patient": 5, "watchlist_snapshots": 1, "alerts": 1}
    # no table of the database holds the id any more, in any String or Array(String) column
    for table in _tables(store) - {"alerts_latest", "alert_status_current"}:
        cols = store.query("SELECT name, type FROM system.columns WHERE database = %(d)s AND table = %(t)s",
                           {"d": store.database, "t": table})
        for c in cols:
            if "String" in c["type"] and "Aggregate" not in c["type"]:
                cond = (f"has({c['name']}, 'MRN1')" if c["type"].startswith("Array")
                        else f"position({c['name']}, 'MRN1') > 0")
                assert _count(store, table, cond) == 0, (table, c["name"])
    assert _count(store, "events") == 5 and _count(store, "events", "patient_id = 'MRN2'") == 5
    assert _count(store, "alerts") == 1  # the security record stays, redacted
    log = store.query(f"SELECT * FROM {store.table('erasure_log')}")
    assert len(log) == 1 and log[0]["requested_by"] == "dpo@hospital"
    assert log[0]["patient_ref"] == patient_ref("MRN1") and log[0]["status"] == "done"


def test_pseudonymised_storage_is_consistent_and_erasable(store_factory, make_event, pseudonymiser):
    store = store_factory(pseudonymiser=pseudonymiser)
    store.migrate()
    store.insert_events([make_event(i, patient="MRN1") for i in range(3)] + [make_event(9, patient="MRN2")])
    ids = store.query(f"SELECT patient_id, count() AS n FROM {store.table('events')} GROUP BY patient_id "
                      f"ORDER BY n DESC")
    assert [(r["patient_id"], r["n"]) for r in ids] == [(pseudonymiser.pseudonym("MRN1"), 3),
                                                         (pseudonymiser.pseudonym("MRN2"), 1)]
    assert _count(store, "events", "position(patient_id, 'MRN') > 0 OR position(patient_name, 'MRN') > 0") == 0
    entry = erase_patient(store, "MRN1", "dpo", "request", pseudonymiser)
    assert dict(zip(entry["table_names"], entry["table_rows"]))["events"] == 3
    assert _count(store, "events") == 1


def test_retention_drops_partitions_past_the_cutoff(store, make_event):
    store.migrate()
    store.insert_events([make_event(1, time="2016-03-01T00:00:00.000Z"), make_event(2)])
    plan = plan_retention(store, 7, today=date(2026, 11, 30))
    # where TTL exists the expired row may already be gone (rows 0), the partition is still listed
    assert ("events", "201603") in [(t, p) for t, p, _ in plan.drops]
    assert all(p < "201911" for _, p, _ in plan.drops)
    apply_retention(store, plan)
    assert [r["event_id"] for r in store.query(f"SELECT event_id FROM {store.table('events')}")] == ["ev-2"]
    assert _count(store, "user_hourly", "hour < '2019-01-01 00:00:00'") == 0


def test_open_store_follows_settings(tmp_path, make_event):
    from streamer.settings import Settings
    from streamer.store import open_store
    from streamer.store.chdb_store import ChdbStore
    settings = Settings(clickhouse_transport="chdb", clickhouse_chdb_path=str(tmp_path / "db"),
                        clickhouse_database="s_test", pseudonymise=True, pseudonym_key="k-new,k-old")
    store = open_store(settings)
    try:
        assert isinstance(store, ChdbStore) and store.ping()
        store.migrate()
        store.insert_events([make_event(1)])
        stored = store.query("SELECT patient_id FROM s_test.events")[0]["patient_id"]
        assert stored == store.pseudonymiser.pseudonym("MRN1") and stored.startswith("p1:")
        assert store.pseudonymiser.keys == [b"k-new", b"k-old"]
    finally:
        store.close()
