"""The cluster variant of the ClickHouse migrations (schemas/clickhouse/cluster/). No ClickHouse
cluster (ZooKeeper/Keeper, several servers) runs here, so this checks that the shipped files are the
rendering of the single-node migrations, that every statement has its cluster form, that they resolve
through the migrator for both server generations, and that their local tables (replication removed)
run on the real ClickHouse server."""

from __future__ import annotations

import re
import runpy
import uuid

import pytest

from streamer.paths import schemas_dir
from streamer.store.migrations import discover, resolve, statements

CLUSTER = schemas_dir() / "clickhouse" / "cluster"
render = runpy.run_path(str(CLUSTER / "render.py"))


def test_shipped_files_are_the_rendering_of_the_single_node_migrations():
    single = discover()
    shipped = sorted(p.name for p in CLUSTER.glob("*.sql"))
    assert shipped == [m.path.name for m in single], "re-run schemas/clickhouse/cluster/render.py"
    for m in single:
        assert (CLUSTER / m.path.name).read_text() == render["render"](m.path), \
            f"{m.path.name} is stale: re-run schemas/clickhouse/cluster/render.py"


def _all_statements(version=(26, 9)) -> list[str]:
    out = []
    for m in discover(CLUSTER):
        out += statements(resolve(m.text, version, "pacs_audit", 7))
    return out


@pytest.mark.parametrize("version", [(18, 16), (26, 9)])
def test_every_statement_is_cluster_wide_and_resolves(version):
    stmts = _all_statements(version)
    assert stmts
    for s in stmts:
        assert "ON CLUSTER '{cluster}'" in s, s[:80]
        assert "{{" not in s and "}}" not in s


def test_tables_are_replicated_locally_and_distributed_by_name():
    stmts = _all_statements()
    local = {m.group(1): s for s in stmts if (m := re.match(r"CREATE TABLE IF NOT EXISTS pacs_audit\.(\w+)_local ", s))}
    dist = {m.group(1): s for s in stmts if (m := re.match(r"CREATE TABLE IF NOT EXISTS pacs_audit\.(\w+) ON", s))
            and not m.group(1).endswith("_local")}
    single = {m.group(1) for mig in discover() for s in statements(resolve(mig.text, (26, 9), "pacs_audit", 7))
              if (m := re.match(r"CREATE TABLE IF NOT EXISTS pacs_audit\.(\w+)\s", s))}
    assert set(local) == set(dist) == single and "events" in single
    for name, s in local.items():
        engine = re.search(r"ENGINE = (Replicated\w*MergeTree)\('/clickhouse/tables/\{shard\}/pacs_audit/(\w+)', "
                           r"'\{replica\}'", s)
        assert engine and engine.group(2) == name, s[-300:]
    for name, s in dist.items():
        assert f"AS pacs_audit.{name}_local" in s
        assert re.search(rf"ENGINE = Distributed\('\{{cluster\}}', 'pacs_audit', '{name}_local', \w+\(", s)
    # rows that replace each other (same event / alert) must land on one shard
    assert "cityHash64(user_id)" in dist["events"] and "cityHash64(alert_id)" in dist["alerts"]
    for s in stmts:
        if "MATERIALIZED VIEW" in s:
            assert re.search(r"TO pacs_audit\.\w+_local AS", s) and "FROM pacs_audit.events_local" in s


def _declustered(stmt: str) -> str | None:
    """The statement as one shard would run it without replication; None for Distributed/views."""
    if "ENGINE = Distributed" in stmt or stmt.startswith("CREATE VIEW"):
        return None
    if re.match(r"ALTER TABLE \S+\.(\w+) ", stmt) and not re.match(r"ALTER TABLE \S+_local ", stmt):
        return None  # the Distributed table over the shards: not created in this test
    stmt = stmt.replace(" ON CLUSTER '{cluster}'", "")
    return re.sub(r"Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?", r"\1(", stmt)


@pytest.mark.clickhouse
def test_local_tables_and_views_run_on_the_real_server(clickhouse_server):
    from clickhouse_driver import Client

    client = Client(host=clickhouse_server["host"], port=clickhouse_server["port"])
    version = tuple(int(x) for x in client.execute("SELECT version()")[0][0].split(".")[:2])
    db = f"cl_{uuid.uuid4().hex[:8]}"
    client.execute(f"CREATE DATABASE {db}")
    try:
        expected = set()
        for m in discover(CLUSTER):
            for s in statements(resolve(m.text, version, db, 7)):
                local = _declustered(s)
                if local:
                    client.execute(local)
                    created = re.search(rf"^CREATE \w+(?: \w+)* {db}\.(\w+)", local, re.M)
                    if created:  # ALTER / DROP statements create nothing
                        expected.add(created.group(1))
        have = {r[0] for r in client.execute(f"SELECT name FROM system.tables WHERE database = '{db}'")}
        assert expected <= have and "events_local" in have and "exports_mv" in have
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {db}")
