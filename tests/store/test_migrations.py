"""Migration files: markers resolve per server version, statements split, every file runs."""

from __future__ import annotations

import re

import pytest

from streamer.paths import schemas_dir
from streamer.store import migrations as mig

OLD, NEW = (18, 16), (26, 9)


def test_macros_resolve_per_version():
    text = "a {{LowCardinality(String)}}, b {{DateTime64(3)}} {{TTL toDateTime(b)}} {{db}}.t"
    assert mig.resolve(text, OLD, "d", 7) == "a String, b DateTime('UTC')  d.t"
    assert mig.resolve(text, NEW, "d", 7) == ("a LowCardinality(String), b DateTime64(3, 'UTC') "
                                              "TTL toDateTime(b) + INTERVAL 7 YEAR d.t")


def test_if_blocks_keep_the_right_branch():
    text = "x\n-- @if version >= 19.6\nnew\n-- @else\nold\n-- @endif\ny"
    assert mig.resolve(text, OLD, "d", 1).split() == ["x", "old", "y"]
    assert mig.resolve(text, NEW, "d", 1).split() == ["x", "new", "y"]
    assert mig.resolve("-- @if version < 19.0\nold\n-- @endif", OLD, "d", 1).split() == ["old"]


@pytest.mark.parametrize("bad", ["{{Map(String)}}", "-- @if version >= 1.0\nx", "-- @endif"])
def test_bad_markers_are_errors(bad):
    with pytest.raises(ValueError):
        mig.resolve(bad, NEW, "d", 1)


def test_statements_split_on_line_end_semicolons_and_drop_comments():
    sql = "-- c;\nCREATE TABLE a (x String DEFAULT 'a;b');\n\nSELECT 1\n;\nSELECT 2"
    assert mig.statements(sql) == ["CREATE TABLE a (x String DEFAULT 'a;b')", "SELECT 1", "SELECT 2"]


def test_discover_is_numbered_and_ordered():
    found = mig.discover()
    assert [m.version for m in found] == sorted(m.version for m in found)
    assert found[0].version == 1 and len({m.version for m in found}) == len(found)


@pytest.mark.parametrize("version", [OLD, NEW])
def test_every_migration_resolves_without_leftover_markers(version):
    for m in mig.discover():
        sql = mig.resolve(m.text, version, "pacs_audit", 7)
        assert "{{" not in sql and "@if" not in sql, m.path.name
        stmts = mig.statements(sql)
        assert stmts, m.path.name
        assert any("TTL " in s for s in stmts) == (version >= mig.TTL and "TTL " in m.text), m.path.name


def test_readme_documents_every_table(store):
    """The schema README (what dashboards are written against) names every table created."""
    store.migrate()
    tables = {r["name"] for r in store.query("SELECT name FROM system.tables WHERE database = %(d)s",
                                             {"d": store.database})}
    readme = (schemas_dir() / "clickhouse" / "README.md").read_text()
    documented = set(re.findall(r"\b([a-z_]+)\b", readme))
    internal = {"schema_migrations"} | {t for t in tables if t.endswith("_mv")}
    assert tables - internal <= documented, sorted(tables - internal - documented)
