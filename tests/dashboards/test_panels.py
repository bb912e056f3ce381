"""Every panel's SQL, expanded as Grafana and the plugin expand it, runs and returns rows."""

from __future__ import annotations

import pytest

from streamer.dashboards.catalog import all_dashboards
from streamer.dashboards.checks import dashboard_files, load, needs_modern, panels
from streamer.dashboards.macros import leftovers
from streamer.dashboards.run import run_dashboard
from streamer.paths import dashboards_dir

DASHBOARDS = [load(p) for p in dashboard_files(dashboards_dir())]
CHOSEN = {"pacs-user-investigation": {"user": "mbrown"}}


def _ids(dashboards):
    return [d["uid"] for d in dashboards]


def _check(results, allowed_errors=()):
    failures = []
    for r in results:
        title = r.panel["title"]
        if title in allowed_errors:
            continue
        if r.error:
            failures.append(f"{title}: {r.error}\n{r.sql}")
        elif not r.rows:
            failures.append(f"{title}: no rows\n{r.sql}")
        assert leftovers(r.sql) == [], (title, r.sql)
    assert not failures, "\n\n".join(failures)


def test_files_are_the_catalog():
    """dashboards/*.json is what `streamer dashboards build` writes from the catalog."""
    assert {d["uid"]: d for d in DASHBOARDS} == {d["uid"]: d for d in all_dashboards()}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=_ids(DASHBOARDS))
def test_every_panel_returns_rows_on_chdb(chdb_store, time_range, dashboard):
    _check(run_dashboard(dashboard, chdb_store, *time_range, CHOSEN.get(dashboard["uid"])))


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=_ids(DASHBOARDS))
def test_panels_run_with_filters_set(chdb_store, time_range, dashboard):
    """One severity and two departments picked instead of All: every query still runs."""
    names = {v["name"] for v in dashboard["templating"]["list"]}
    chosen = dict(CHOSEN.get(dashboard["uid"], {}))
    if "severity" in names:
        chosen["severity"] = ["critical"]
    if "department" in names:
        chosen["department"] = ["neuroradiology", "it"]
    for r in run_dashboard(dashboard, chdb_store, *time_range, chosen):
        assert not r.error, (r.panel["title"], r.error, r.sql)


def _stat(dashboard, store, time_range, title, chosen=None):
    (result,) = [r for r in run_dashboard(dashboard, store, *time_range, chosen) if r.panel["title"] == title]
    return next(iter(result.rows[0].values()))


def test_filters_narrow_the_results(chdb_store, time_range):
    soc = next(d for d in DASHBOARDS if d["uid"] == "pacs-soc-overview")
    everything = _stat(soc, chdb_store, time_range, "Alerts")
    critical = _stat(soc, chdb_store, time_range, "Alerts", {"severity": ["critical"]})
    one_user = _stat(soc, chdb_store, time_range, "Alerts", {"user": ["mbrown"]})
    assert 0 < critical < everything and 0 < one_user < everything
    assert _stat(soc, chdb_store, time_range, "Alerts", {"user": ["nobody"]}) == 0
    assert _stat(soc, chdb_store, time_range, "Active users", {"department": ["it"]}) == 2


@pytest.mark.clickhouse
@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=_ids(DASHBOARDS))
def test_panels_on_the_server(server_store, time_range, dashboard):
    """On the real server: panels not tagged as needing a modern ClickHouse must work."""
    modern = {p["title"] for p in panels(dashboard) if needs_modern(p)}
    results = run_dashboard(dashboard, server_store, *time_range, CHOSEN.get(dashboard["uid"]))
    if server_store.server_version() < (20, 1):
        _check(results, allowed_errors=modern)
        for r in results:
            if r.panel["title"] in modern:
                assert r.error, f"{r.panel['title']} is tagged as needing a modern ClickHouse but runs"
    else:
        _check(results)
