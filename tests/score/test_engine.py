"""Engine: incidents keep one alert_id, flush resolves, roster/watchlist feeds, risk decay,
anomalies do not train the baseline, the enriched/alert contracts."""

from __future__ import annotations

import pytest

from models.sample_traffic import START, event, user
from streamer.score.engine import Engine, alert_id

HOUR = 3_600_000
ADMIN = user("adm1", "system_administrator", "it")
RAD = user("r1", "radiologist", "neuroradiology", name="Jane Doe")
ALERT_KEYS = {"alert_id", "user_id", "detector", "severity", "score", "risk", "event_ids",
              "first_event_time", "last_event_time", "summary", "explanation", "labels", "status",
              "updated_time", "peer_group", "detectors", "incident", "event_count", "detected_at"}
ENRICH_KEYS = {"peer_group", "features", "anomaly_score", "model_version", "detectors", "risk",
               "severity", "expected"}


def _config(i, ms, who=ADMIN):
    return event(f"c{i}", ms, who, "config_change", detail={"setting": f"s{i}"})  # no ticket


def test_incident_grows_under_one_id_then_resolves():
    engine = Engine()
    out = [engine.process(_config(i, START + i * 60_000))[1] for i in range(3)]
    ids = {a["alert_id"] for alerts in out for a in alerts}
    assert len(ids) == 1 and ids == {alert_id("adm1", "config_change", START)}
    last = out[-1][0]
    assert set(last) == ALERT_KEYS and last["event_ids"] == ["c0", "c1", "c2"]
    assert last["status"] == "firing" and last["labels"]["role"] == "system_administrator"
    # raised at the first change; the alert grew until the third: time to detect is 0, not 2 min
    assert last["detected_at"] == out[0][0]["detected_at"] == out[0][0]["updated_time"] == \
        last["first_event_time"] and last["updated_time"] == last["last_event_time"] != last["detected_at"]
    assert engine.flush(START + 10 * 60_000) == []
    resolved = engine.flush(START + 3 * HOUR)
    assert [a["status"] for a in resolved] == ["resolved"] and resolved[0]["alert_id"] in ids
    # a hit after the gap opens a new incident
    again = engine.process(_config(9, START + 5 * HOUR))[1]
    assert again[0]["alert_id"] not in ids


def test_event_ids_are_capped_with_a_count():
    engine = Engine()
    engine.gap_ms = 10 * HOUR
    engine.max_ids = 5
    for i in range(8):
        alerts = engine.process(_config(i, START + i * 1000))[1]
    assert len(alerts[0]["event_ids"]) == 5 and alerts[0]["event_count"] == 8


def test_enrichment_contract_and_risk_decay():
    engine = Engine()
    enriched, alerts = engine.process(_config(0, START))
    enr = enriched["enrichment"]
    assert set(enr) == ENRICH_KEYS and enr["detectors"] == ["config_change"] and enr["risk"] > 0
    later, _ = engine.process(event("x", START + 48 * HOUR, ADMIN, "logout"))
    assert later["enrichment"]["risk"] == pytest.approx(enr["risk"] / 4, rel=0.01)


def test_roster_unknown_terminated_and_temporary_role(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("user_id,name,roles,department,status,end_date\n"
                      "r1,Jane Doe,radiologist,neuroradiology,active,\n"
                      "t1,Tom Temp,student,body,active,2026-11-01\n"
                      "x1,Ex Staff,radiologist,body,terminated,2026-10-01\n")
    engine = Engine(roster=str(roster))
    fired = {}
    for uid in ("r1", "t1", "x1", "ghost"):
        _, alerts = engine.process(event(uid, START, user(uid, "radiologist", "body"), "login"))
        fired[uid] = sorted(a["detector"] for a in alerts)
    assert fired == {"r1": [], "t1": ["expired_role"], "x1": ["inactive_user"],
                     "ghost": ["inactive_user"]}
    engine.update_roster({"user_id": "x1", "status": "active", "roles": ["radiologist"],
                          "department": "body"})
    assert engine.process(event("y", START + 1, user("x1", "radiologist", "body"), "login"))[1] == []


def test_no_roster_no_unknown_user_alerts():
    engine = Engine()
    assert engine.process(event("a", START, user("ghost", "radiologist", "body"), "login"))[1] == []


def test_watchlist_feed_vip_and_care_relation(tmp_path):
    wl = tmp_path / "watchlist.csv"
    wl.write_text("patient_id,category,employee_user_id\nVIP1,vip,\nEMP1,employee,r1\n")
    engine = Engine(watchlist=str(wl))
    study = {"uid": "1.2", "department": "cardiology"}
    _, alerts = engine.process(event("a", START, RAD, "view", patient="VIP1", study=study))
    assert [a["detector"] for a in alerts] == ["watchlist_patient"]
    care = user("c1", "radiologist", "cardiology")
    assert engine.process(event("b", START, care, "view", patient="VIP1", study=study))[1] == []
    _, alerts = engine.process(event("c", START + 1, RAD, "view", patient="EMP1", study=study))
    assert "self_access" in [a["detector"] for a in alerts]
    engine.update_watchlist({"patient_id": "VIP1", "category": ""})
    other = user("o1", "radiologist", "body")
    assert engine.process(event("d", START + 2, other, "view", patient="VIP1", study=study))[1] == []


def test_same_surname_access():
    engine = Engine()
    _, alerts = engine.process(event("a", START, RAD, "view", patient="P1", patient_name="DOE^JOHN",
                                     study={"uid": "1"}))
    assert [(a["detector"], a["severity"]) for a in alerts] == [("self_access", "medium")]


def test_sysadmin_viewing_needs_break_glass():
    engine = Engine()
    view = lambda i, ms: event(f"v{i}", ms, ADMIN, "view", patient="P1", study={"uid": "1"})
    assert [a["detector"] for a in engine.process(view(0, START))[1]] == ["role_permission"]
    engine.process(event("bg", START + HOUR * 3, ADMIN, "emergency_access", patient="P1"))
    assert "role_permission" not in [a["detector"] for a in engine.process(view(1, START + HOUR * 4))[1]]


def test_anomalous_hours_do_not_train_the_baseline():
    engine = Engine()
    for i in range(400):  # one hour of mass export
        engine.process(event(f"e{i}", START + i * 5000, RAD, "export", patient=f"P{i}",
                             study={"uid": f"1.{i}", "instances": 500, "bytes": 1 << 28},
                             destination={"type": "dicom_node", "id": "X", "external": False}))
    engine.process(event("n", START + 2 * HOUR, RAD, "logout"))
    st = engine.users["r1"]
    assert st.n_hours == 0 and st.hstat[2 * 3] == 0.0  # flagged hour skipped


def test_bad_events_raise_value_error():
    engine = Engine()
    with pytest.raises(ValueError):
        engine.process({"event_id": "x", "event_time": "2026-11-30T03:00:00.000Z", "action": "view"})
    with pytest.raises(ValueError):
        engine.process({"event_id": "x", "event_time": "not a time", "action": "view",
                        "user": {"id": "u"}})


def test_event_times_with_an_offset_or_z_read_as_the_general_parser_reads_them():
    from streamer.timeutil import parse_time

    engine = Engine()
    for text in ("2026-03-02T05:36:45.805-05:00", "2026-03-02T23:59:59.999+13:45",
                 "2026-03-01T00:00:00.000Z", "2026-03-02T05:36:45.805+00:00",
                 "2026-03-02T05:59:01.002-05:00", "2026-03-02T05:36:45.805-05:30"):
        assert engine._ms(text) == parse_time(text), text
        assert engine._ms(text) == parse_time(text), text  # from the hour's cache
    # not the fast path's forms: the general parser's answer
    for text in ("2026-03-02T05:36:45Z", "2026-03-02t05:36:45.805z", "2026-03-02T05:36:45.805123-05:00"):
        assert engine._ms(text) == parse_time(text), text
    # an impossible date or hour: the error names the whole time, not the hour looked up
    for text in ("2026-02-30T05:36:45.805Z", "2026-03-02T25:36:45.805-05:00"):
        with pytest.raises(ValueError, match=text.replace("+", r"\+")):
            engine._ms(text)
