"""Case handling on the embedded ClickHouse (chdb) and, when it runs, the ClickHouse server."""

from __future__ import annotations

import uuid

import orjson
import pytest

from streamer.alert import cases, cli
from streamer.alert.cases import CaseError, check_transition
from streamer.cli import _Parser
from streamer.store.chdb_store import ChdbStore
from streamer.store.native import NativeStore

from .alerttools import M, T0, make_alert


@pytest.fixture(params=["chdb", pytest.param("native", marks=pytest.mark.clickhouse)])
def store(request, tmp_path):
    if request.param == "chdb":
        s = ChdbStore(str(tmp_path / "chdb"), "pacs_alert_test")
    else:
        server = request.getfixturevalue("clickhouse_server")
        s = NativeStore(server["host"], server["port"], "t_" + uuid.uuid4().hex[:12])
    s.migrate()
    s.insert_alerts([make_alert("a1", t=T0, n=3), make_alert("a1", t=T0 + M, first=T0, n=7),
                     make_alert("a2", user="asmith", severity="medium", t=T0 + 2 * M),
                     make_alert("a3", user="bkim", severity="critical", t=T0 + 3 * M)])
    yield s
    if request.param == "native":
        s.execute(f"DROP DATABASE IF EXISTS {s.database}")
    s.close()


@pytest.mark.parametrize("current,new,ok", [
    ("open", "acknowledged", True), ("open", "resolved_false_positive", True),
    ("acknowledged", "investigating", True), ("investigating", "investigating", True),
    ("resolved_true_positive", "open", True), ("resolved_true_positive", "acknowledged", False),
    ("suppressed", "resolved_true_positive", False), ("open", "closed", False),
])
def test_transitions(current, new, ok):
    if ok:
        check_transition(current, new)
    else:
        with pytest.raises(CaseError):
            check_transition(current, new)


def test_relabel_needs_a_note():
    with pytest.raises(CaseError, match="note"):
        check_transition("resolved_false_positive", "resolved_true_positive")
    check_transition("resolved_false_positive", "resolved_true_positive", note="exfiltration confirmed")


def test_lifecycle_is_recorded_with_history(store):
    assert {r["alert_id"]: r["case_status"] for r in cases.list_cases(store)} == {
        "a1": "open", "a2": "open", "a3": "open"}
    cases.change(store, "a1", "acknowledged", owner="mlee", who="mlee", now_ms=T0 + 10 * M)
    cases.change(store, "a1", "resolved_true_positive", note="confirmed with the department head",
                 who="mlee", now_ms=T0 + 20 * M)
    cases.change(store, "a2", "resolved_false_positive", owner="jdoe2", who="jdoe2", now_ms=T0 + 21 * M)
    active = cases.list_cases(store)
    assert [r["alert_id"] for r in active] == ["a3"]
    done = {r["alert_id"]: r for r in cases.list_cases(store, statuses=cases.RESOLVED)}
    assert done["a1"]["case_status"] == "resolved_true_positive"
    assert done["a1"]["owner"] == "mlee"  # kept from the acknowledgement
    assert done["a1"]["event_count"] == 7  # the latest version of the alert
    assert done["a2"]["case_status"] == "resolved_false_positive"
    history = store.query(f"SELECT status FROM {store.table('alert_status')} WHERE alert_id = 'a1' "
                          f"ORDER BY changed_at")
    assert [h["status"] for h in history] == ["acknowledged", "resolved_true_positive"]
    with pytest.raises(CaseError, match="cannot go"):
        cases.change(store, "a1", "acknowledged", now_ms=T0 + 30 * M)
    with pytest.raises(CaseError, match="no alert"):
        cases.change(store, "nope", "acknowledged", now_ms=T0 + 30 * M)


def test_list_filters(store):
    assert [r["alert_id"] for r in cases.list_cases(store, user="asmith")] == ["a2"]
    assert [r["alert_id"] for r in cases.list_cases(store, severities=["critical", "high"])] == ["a3", "a1"]
    assert [r["alert_id"] for r in cases.list_cases(store, since_ms=T0 + 2 * M)] == ["a3", "a2"]
    assert len(cases.list_cases(store, limit=1)) == 1


@pytest.fixture
def run_cli(store, monkeypatch):
    class Borrowed:  # the CLI closes its store; the fixture owns this one
        def __getattr__(self, name):
            return getattr(store, name)

        def close(self):
            pass

    monkeypatch.setattr(cli, "_store", lambda: Borrowed())
    parser = _Parser(prog="streamer")
    cli.register(parser.add_subparsers(dest="command", parser_class=_Parser))

    def run(*argv):
        args = parser.parse_args(["alerts", *argv])
        return args.func(args)
    return run


def test_cli_ack_resolve_list(run_cli, capsys):
    assert run_cli("ack", "a3", "--owner", "mlee", "--no-page") == 0
    assert run_cli("resolve", "a3", "--label", "fp", "--note", "covering a colleague's shift", "--no-page") == 0
    assert run_cli("resolve", "a2", "--label", "tp", "--no-page") == 0
    capsys.readouterr()
    assert run_cli("list", "--all", "--json") == 0
    rows = {r["alert_id"]: r for r in map(orjson.loads, capsys.readouterr().out.splitlines())}
    assert rows["a3"]["case_status"] == "resolved_false_positive" and rows["a3"]["owner"] == "mlee"
    assert rows["a2"]["case_status"] == "resolved_true_positive"
    assert rows["a1"]["case_status"] == "open"
    assert run_cli("ack", "a3", "--no-page") == 1  # closed alerts must be reopened first
    assert "cannot go" in capsys.readouterr().err
    assert run_cli("suppress", "a1", "--no-page") == 1  # a suppression needs a reason
    assert run_cli("list") == 0
    assert capsys.readouterr().out.split()[0] == "a1"
