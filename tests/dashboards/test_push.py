"""`streamer dashboards push` against a loopback server that answers like Grafana and records
the calls (no Grafana server runs here)."""

from __future__ import annotations

import pytest
from grafana_client.client import GrafanaUnauthorizedError
from grafana_recorder import GrafanaRecorder

from streamer.cli import main
from streamer.dashboards.checks import dashboard_files, load
from streamer.dashboards.push import connect, ensure_folder, push_all, push_datasources
from streamer.paths import dashboards_dir

FILES = dashboard_files(dashboards_dir())
DATASOURCE = dashboards_dir() / "provisioning/datasources/clickhouse.yaml"


@pytest.fixture
def grafana():
    with GrafanaRecorder() as g:
        yield g


def test_push_creates_folder_and_every_dashboard(grafana):
    pushed = push_all(connect(grafana.url, grafana.token), dashboards_dir(), "PACS audit", "release 1")
    assert sorted(p.uid for p in pushed) == sorted(load(f)["uid"] for f in FILES)
    assert all(p.version == 1 for p in pushed)
    methods = [(m, path) for m, path, _ in grafana.calls]
    assert methods[0] == ("GET", "/api/frontend/settings")
    assert methods[1] == ("POST", "/api/folders")
    assert methods.count(("POST", "/api/dashboards/db")) == len(FILES)
    folder_uid = grafana.calls[1][2]["uid"]
    for _, path, body in grafana.calls[2:]:
        assert body["overwrite"] is True and body["message"] == "release 1"
        assert body["folderUid"] == folder_uid and body["dashboard"]["id"] is None
    stored = grafana.dashboards["pacs-soc-overview"]["dashboard"]
    assert stored["title"] == "SOC overview" and stored["panels"] == load(dashboards_dir() / "soc-overview.json")["panels"]


def test_push_twice_reuses_the_folder_and_bumps_versions(grafana):
    api = connect(grafana.url, grafana.token)
    push_all(api, dashboards_dir(), "PACS audit", "one")
    again = push_all(api, dashboards_dir(), "PACS audit", "two")
    assert all(p.version == 2 for p in again)
    assert len(grafana.folders) == 1
    assert ("GET", "/api/folders") in [(m, p.split("?")[0]) for m, p, _ in grafana.calls]
    assert grafana.dashboards["pacs-model-health"]["message"] == "two"


def test_folder_found_by_title_when_uid_differs(grafana):
    grafana.folders["other"] = {"id": 9, "uid": "other", "title": "PACS audit", "url": "", "version": 1}
    assert ensure_folder(connect(grafana.url, grafana.token), "PACS audit") == "other"


def test_datasource_created_then_updated(grafana, monkeypatch):
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "s3cret")
    api = connect(grafana.url, grafana.token)
    assert push_datasources(api, DATASOURCE) == ["clickhouse"]
    ds = grafana.datasources["clickhouse"]
    assert ds["type"] == "grafana-clickhouse-datasource" and ds["access"] == "proxy"
    assert ds["jsonData"]["defaultDatabase"] == "pacs_audit"
    assert ds["secureJsonData"]["password"] == "s3cret"
    push_datasources(api, DATASOURCE)
    assert ("PUT", "/api/datasources/uid/clickhouse") in [(m, p) for m, p, _ in grafana.calls]


def test_wrong_token_is_refused(grafana):
    with pytest.raises(GrafanaUnauthorizedError):
        push_all(connect(grafana.url, "wrong"), dashboards_dir(), "PACS audit", "x")
    assert not grafana.dashboards


def test_cli_push(grafana, capsys):
    code = main(["dashboards", "push", "--url", grafana.url, "--token", grafana.token, "--folder", "SOC",
                 "--datasource", str(DATASOURCE)])
    assert code == 0
    out = capsys.readouterr().out
    assert "pacs-user-investigation\tversion 1" in out
    assert [f["title"] for f in grafana.folders.values()] == ["SOC"]
    assert "clickhouse" in grafana.datasources
    assert main(["dashboards", "push", "--url", grafana.url, "--token", "bad"]) == 1


def test_cli_push_needs_a_token(monkeypatch):
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert main(["dashboards", "push", "--url", "http://127.0.0.1:9"]) == 1
