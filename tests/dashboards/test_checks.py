"""The dashboard files pass the checks, and the checks catch what Grafana would choke on."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from streamer.cli import main
from streamer.dashboards.checks import check_dashboard, check_folder, dashboard_files, load
from streamer.paths import dashboards_dir

FILES = dashboard_files(dashboards_dir())


def test_six_dashboards_with_the_agreed_uids():
    assert {load(p)["uid"] for p in FILES} == {
        "pacs-soc-overview", "pacs-user-investigation", "pacs-alert-triage", "pacs-model-health",
        "pacs-pipeline-health", "pacs-access-review"}


def test_every_file_passes():
    assert check_folder(dashboards_dir()) == {p.name: [] for p in FILES}


def test_cli_check(tmp_path, capsys):
    assert main(["dashboards", "check"]) == 0
    bad = load(FILES[0])
    bad["panels"][0]["targets"][0]["rawSql"] += " AND x = $nosuchvar"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["dashboards", "check", "--dir", str(tmp_path)]) == 1
    assert "undefined variable $nosuchvar" in capsys.readouterr().out


def _broken(mutate):
    d = copy.deepcopy(load(dashboards_dir() / "soc-overview.json"))
    mutate(d)
    return check_dashboard(d, known_uids={"pacs-soc-overview", "pacs-user-investigation"})


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(title=""), "no title"),
    (lambda d: d.update(uid="x" * 41), "uid"),
    (lambda d: d.update(uid="bad uid!"), "uid"),
    (lambda d: d.update(schemaVersion=27), "schemaVersion"),
    (lambda d: d["panels"][1].update(id=1), "used twice"),
    (lambda d: d["panels"][1].update(title=d["panels"][0]["title"]), "title"),
    (lambda d: d["panels"][0]["gridPos"].update(x=20, w=6), "24 columns"),
    (lambda d: d["panels"][0]["targets"][0].update(datasource={"type": "mysql", "uid": "x"}), "datasource"),
    (lambda d: d["panels"][0]["targets"][0].update(format=7), "format"),
    (lambda d: d["panels"][0]["targets"][0].pop("refId"), "refId"),
    (lambda d: d["panels"][0]["targets"][0].pop("pluginVersion"), "pluginVersion"),
    (lambda d: d["panels"][0]["targets"][0].update(rawSql="SELECT $__timeFilter(coalesce(a, b))"),
     "not a plain column name"),
    (lambda d: d["panels"][0]["targets"][0].update(rawSql="SELECT 1 WHERE $__timeFilter(a"), "missing close"),
    (lambda d: d["panels"][0]["targets"][0].update(rawSql="SELECT $__timeGroup(t, 5m)"), "unexpanded"),
    (lambda d: d["panels"][0]["targets"][0].update(rawSql="SELECT ${user:nonsense}"), "unknown variable format"),
    (lambda d: d["templating"]["list"].pop(0), "datasource"),
    (lambda d: d["templating"]["list"].append(dict(d["templating"]["list"][1])), "defined twice"),
    (lambda d: d["panels"][6]["fieldConfig"]["overrides"][0]["properties"][0]["value"][0].update(
        url="/d/pacs-nowhere/x"), "unknown dashboard"),
])
def test_checks_catch(mutate, expected):
    problems = _broken(mutate)
    assert any(expected in p for p in problems), problems


def test_unique_uids_across_files(tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text((dashboards_dir() / "model-health.json").read_text())
    results = check_folder(tmp_path)
    assert all(any("used by another file" in p for p in problems) for problems in results.values())


def test_provisioning_files():
    ds = yaml.safe_load((dashboards_dir() / "provisioning/datasources/clickhouse.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["defaultDatabase"] == "pacs_audit"
    assert "database" not in source["jsonData"]
    assert source["jsonData"]["protocol"] == "native" and source["jsonData"]["port"] == 9000
    dash = yaml.safe_load((dashboards_dir() / "provisioning/dashboards/pacs.yaml").read_text())
    assert dash["apiVersion"] == 1 and dash["providers"][0]["type"] == "file"


def test_modern_engine_list_is_explicit():
    """Panels needing ClickHouse newer than 18.16 carry the tag; the server test checks the list."""
    from streamer.dashboards.checks import MODERN_TAG, needs_modern, panels

    tagged = [p["title"] for f in FILES for p in panels(load(f)) if needs_modern(p)]
    assert tagged == ["Explanation details"]
    assert all(MODERN_TAG in p["description"] for f in FILES for p in panels(load(f)) if p["title"] in tagged)
