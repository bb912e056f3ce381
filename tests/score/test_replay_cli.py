"""`streamer replay` end to end through the real CLI entry point."""

from __future__ import annotations

import orjson

from models.sample_traffic import START, event, user
from streamer.cli import main

ADMIN = user("adm1", "system_administrator", "it")


def _write(path, events, extra=b""):
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events) + extra)


def test_replay_orders_by_event_time_and_keeps_final_alert(tmp_path):
    events = [event(f"c{i}", START + i * 60_000, ADMIN, "config_change") for i in range(4)]
    src = tmp_path / "events.jsonl"
    _write(src, list(reversed(events)))
    out, enr = tmp_path / "alerts.jsonl", tmp_path / "enriched.jsonl"
    rc = main(["replay", "--events", str(src), "--alerts-out", str(out), "--enriched-out", str(enr)])
    assert rc == 0
    alerts = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(alerts) == 1 and alerts[0]["event_ids"] == ["c0", "c1", "c2", "c3"]
    enriched = [orjson.loads(x) for x in enr.read_bytes().splitlines()]
    assert [e["event_id"] for e in enriched] == ["c0", "c1", "c2", "c3"]
    assert all("enrichment" in e for e in enriched)


def test_replay_reports_bad_lines_and_exits_2(tmp_path, capsys):
    src = tmp_path / "events.jsonl"
    _write(src, [event("ok", START, ADMIN, "login")],
           b'{"broken\n{"event_id":"n","event_time":"2026-11-30T03:00:00.000Z","action":"view"}\n')
    rc = main(["replay", "--events", str(src), "--alerts-out", str(tmp_path / "a.jsonl")])
    err = capsys.readouterr().err
    assert rc == 2 and f"{src}:2:" in err and f"{src}:3:" in err and "user.id" in err


def test_replay_rejects_fields_of_the_wrong_type_and_keeps_unknown_ones(tmp_path, capsys):
    """The agents' normalize stage sends such events to the dead-letter topic; replay reports them
    with their line and reason and goes on (a list as an address crashed a detector with a
    traceback). Fields the contract does not know are no reason to reject an event."""
    src = tmp_path / "events.jsonl"
    bad_ip = event("b1", START + 1000, ADMIN, "login", client={"ip": ["10.0.0.1"]})
    bad_pat = event("b2", START + 2000, ADMIN, "view", patient="P1", study={"uid": 7})
    bad_pat["patient"]["id"] = ["P1"]
    extra = event("x1", START + 3000, ADMIN, "config_change", badge="B-17")
    extra["user"]["badge"] = "B-17"
    _write(src, [event("ok", START, ADMIN, "login"), bad_ip, bad_pat, extra])
    out = tmp_path / "a.jsonl"
    rc = main(["replay", "--events", str(src), "--alerts-out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert f"{src}:2: 'client.ip' must be a string, got list" in err
    assert f"{src}:3: 'patient.id' must be a string, got list; 'study.uid' must be a string, got int" in err
    assert f"{src}:4:" not in err and "replayed 2 events" in err
    assert [a["event_ids"] for a in map(orjson.loads, out.read_bytes().splitlines())] == [["x1"]]


def test_replay_with_roster_and_watchlist(tmp_path):
    roster, wl = tmp_path / "roster.csv", tmp_path / "wl.csv"
    roster.write_text("user_id,name,roles,department,status,end_date\n"
                      "adm1,Ad Min,system_administrator,it,suspended,\n")
    wl.write_text("patient_id,category,employee_user_id\nVIP,vip,\n")
    src = tmp_path / "events.jsonl"
    _write(src, [event("a", START, ADMIN, "login"),
                 event("b", START + 1000, user("r9", "radiologist", "body"), "view", patient="VIP",
                       study={"uid": "1.2", "department": "cardiology"})])
    out = tmp_path / "alerts.jsonl"
    rc = main(["replay", "--events", str(src), "--roster", str(roster), "--watchlist", str(wl),
               "--alerts-out", str(out)])
    assert rc == 0
    got = sorted((a["user_id"], a["detector"]) for a in map(orjson.loads, out.read_bytes().splitlines()))
    assert got == [("adm1", "inactive_user"), ("r9", "inactive_user"), ("r9", "watchlist_patient")]


def test_replay_site_timezone_reaches_the_engine(tmp_path, capsys):
    """--site-timezone is the engine's clock for hours of day (tests/models/test_false_alert_rules.py
    shows its effect); an unknown zone is a usage error, not a silent UTC."""
    who = user("tzr", "technologist", "ct")
    src = tmp_path / "events.jsonl"
    _write(src, [event(f"t{d}", START + d * 86_400_000 + 13 * 3_600_000, who) for d in range(3)])
    out = tmp_path / "alerts.jsonl"
    assert main(["replay", "--events", str(src), "--alerts-out", str(out), "--site-timezone", "Asia/Kolkata"]) == 0
    capsys.readouterr()
    assert main(["replay", "--events", str(src), "--alerts-out", str(out),
                 "--site-timezone", "Mars/Olympus_Mons"]) == 1
    assert "site_timezone" in capsys.readouterr().err


def test_event_file_orders_by_time_then_line_across_batches(tmp_path):
    """EventFile reads back the usable lines in (event time, line) order, batch by batch, from
    a file with blank lines, CRLF endings, equal times, bad lines and no final newline."""
    from streamer.score.cli import EventFile
    from streamer.score.engine import Engine

    times = [5, 3, 3, 9, 1, 3, 7, 0, 9, 2]
    lines = [orjson.dumps(event(f"e{i}", START + t * 60_000, ADMIN, "login")) for i, t in enumerate(times)]
    raw = (lines[0] + b"\r\n" + lines[1] + b"\n\n" + lines[2] + b"\n" + b"\xff\xfe not json\n"
           + b"\n".join(lines[3:]))  # no newline at the end
    src = tmp_path / "events.jsonl"
    src.write_bytes(raw)
    errors: list = []
    with EventFile(str(src), Engine(), errors) as ef:
        assert len(ef) == len(times)
        got = [e["event_id"] for batch in ef.batches(3) for e in batch]
        sizes = [len(b) for b in ef.batches(3)]
    want = [f"e{i}" for i, _ in sorted(enumerate(times), key=lambda p: (p[1], p[0]))]
    assert got == want and sizes == [3, 3, 3, 1]
    assert len(errors) == 1 and errors[0].startswith(f"{src}:5:")


def test_event_file_in_order_and_empty(tmp_path):
    from streamer.score.cli import EventFile
    from streamer.score.engine import Engine

    src = tmp_path / "sorted.jsonl"
    _write(src, [event(f"s{i}", START + i, ADMIN, "login") for i in range(7)])
    with EventFile(str(src), Engine(), []) as ef:
        assert [e["event_id"] for b in ef.batches(4) for e in b] == [f"s{i}" for i in range(7)]
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    errors: list = []
    with EventFile(str(bom), Engine(), errors) as ef:
        assert len(ef) == 7 and not errors
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    out = tmp_path / "a.jsonl"
    assert main(["replay", "--events", str(empty), "--alerts-out", str(out)]) == 0
    assert out.read_bytes() == b""


def test_replay_missing_file_is_a_usage_error(tmp_path, capsys):
    rc = main(["replay", "--events", str(tmp_path / "nope.jsonl"), "--alerts-out", str(tmp_path / "a.jsonl")])
    assert rc == 1 and "nope.jsonl" in capsys.readouterr().err


def test_role_names_are_read_as_the_rules_spell_them(tmp_path):
    """A roster or PACS that writes "Referring Physician" or "REFERRING-PHYSICIAN" means the
    rules' referring_physician: its delete is outside the role's permissions. Before, an unknown
    spelling had no permissions to judge and nothing was reported."""
    roster = tmp_path / "roster.csv"
    roster.write_text("user_id,name,roles,department,status,end_date\n"
                      "rp1,R P,Referring Physician,cardiology,active,\n")
    src = tmp_path / "events.jsonl"
    other = dict(user("rp2", "referring_physician", "cardiology"), roles=["REFERRING-PHYSICIAN"])
    _write(src, [event("d1", START, user("rp1", "x", "cardiology"), "delete", patient="P1",
                       study={"uid": "1.1", "department": "cardiology"}),
                 event("d2", START + 60_000, other, "delete", patient="P2",
                       study={"uid": "1.2", "department": "cardiology"})])
    out = tmp_path / "alerts.jsonl"
    assert main(["replay", "--events", str(src), "--roster", str(roster), "--alerts-out", str(out)]) == 0
    got = sorted((a["user_id"], a["detector"]) for a in map(orjson.loads, out.read_bytes().splitlines()))
    assert ("rp1", "role_permission") in got and ("rp2", "role_permission") in got
