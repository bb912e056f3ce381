"""One contract over every detector in REGISTRY (river/checks style): a rule exists, clone and
pickle keep behaviour, results are deterministic, a seeded anomaly fires and scores above the
ordinary traffic, and ordinary traffic raises nothing (Sigma style, no known false positives)."""

from __future__ import annotations

import copy
import pickle

import pytest
from conftest import HOUR, T0, DAY

from models.detectors import REGISTRY
from models.rules import load_rules
from models.sample_traffic import event, user

RAD = user("u000", "radiologist", "neuroradiology", name="Ann Smith")
RAD2 = user("u001", "radiologist", "body", name="Bob Jones")
TECH = user("u002", "technologist", "ct")
REF = user("u004", "referring_physician", "cardiology")
STUDENT = user("u006", "student", "body")
ADMIN = user("adm1", "system_administrator", "it")
INTERNAL = {"type": "dicom_node", "id": "PACS_B", "external": False}


def _study(i, dept="neuroradiology", **kw):
    return {"uid": f"9.9.{i}", "department": dept, "instances": 400, "bytes": 200 << 20, **kw}


def s_bulk_export(engine):
    return [event(f"a{i}", T0 + 10 * HOUR + i * 3000, RAD, "export", patient=f"PX{i}",
                  study=_study(i), destination=INTERNAL) for i in range(200)]


def s_patient_sweep(engine):
    return [event(f"a{i}", T0 + 10 * HOUR + i * 10_000, RAD2, "view", patient=f"PS{i}",
                  study=_study(i, "body")) for i in range(300)]


def s_odd_hours(engine):
    t = T0 + 2 * DAY + 3 * HOUR
    return [event(f"a{i}", t + i * 60_000, RAD, "view", patient=f"PO{i % 5}", study=_study(i % 5))
            for i in range(40)]


def s_export_destination(engine):
    return [event("a0", T0 + 10 * HOUR, RAD, "export", patient="P1", study=_study(1),
                  destination={"type": "cloud", "id": "dropbox", "external": True})]


def s_role_permission(engine):
    return [event("a0", T0 + 11 * HOUR, TECH, "delete", patient="P1", study=_study(1, "ct"))]


def s_missing_mfa(engine):
    return [event("a0", T0 + 10 * HOUR, dict(RAD, mfa=False), "export", patient="P1",
                  study=_study(1), destination=INTERNAL)]


def s_inactive_user(engine):
    engine.update_roster({"user_id": "u000", "name": "Ann Smith", "roles": "radiologist",
                          "department": "neuroradiology", "status": "terminated", "end_date": ""})
    return [event("a0", T0 + 10 * HOUR, RAD, "view", patient="P1", study=_study(1))]


def s_dormant_account(engine):
    return [event("a0", T0 + 80 * DAY, STUDENT, "login")]


def s_failed_login_burst(engine):
    return [event(f"a{i}", T0 + 9 * HOUR + i * 20_000, TECH, "login_failed", outcome="minor_failure")
            for i in range(12)]


def s_password_spray(engine):
    client = {"ip": "10.9.9.9", "host": "kiosk"}
    return [event(f"a{i}", T0 + 9 * HOUR + i * 5000, user(f"u{i:03d}", "radiologist", "body"),
                  "login_failed", outcome="minor_failure", client=client) for i in range(10)]


def s_grant_then_export(engine):
    grant = event("a0", T0 + 9 * HOUR, ADMIN, "permission_change",
                  target_user={"id": "u001", "roles": ["radiologist"]},
                  detail={"granted": ["export", "admin"]})
    export = event("a1", T0 + 10 * HOUR, RAD2, "export", patient="P1", study=_study(1, "body"),
                   destination=INTERNAL)
    return [grant, export]


def s_config_change(engine):
    ticketed = event("ok", T0 + 9 * HOUR, ADMIN, "config_change",
                     detail={"setting": "retention", "ticket": "CHG-1"})
    assert not engine.process(ticketed)[1]  # an approved change is not an alert
    return [event("a0", T0 + 10 * HOUR, ADMIN, "config_change", detail={"setting": "retention"})]


def s_watchlist_patient(engine):
    engine.update_watchlist({"patient_id": "PVIP", "category": "vip", "employee_user_id": ""})
    return [event("a0", T0 + 10 * HOUR, REF, "view", patient="PVIP", study=_study(1))]


def s_self_access(engine):
    engine.update_watchlist({"patient_id": "PEMP", "category": "employee", "employee_user_id": "u001"})
    return [event("a0", T0 + 10 * HOUR, RAD2, "view", patient="PEMP", study=_study(1, "body"))]


def s_break_glass(engine):
    return [event("a0", T0 + 10 * HOUR, RAD, "emergency_access", patient="P1",
                  detail={"reason": "trauma"})]


def s_expired_role(engine):
    engine.update_roster({"user_id": "u006", "name": "S", "roles": "student", "department": "body",
                          "status": "active", "end_date": "2026-11-10"})
    return [event("a0", T0 + 10 * HOUR, STUDENT, "view", patient="P1", study=_study(1, "body"))]


def s_online_model(engine):
    return [event(f"a{i}", T0 + 10 * HOUR + i * 3000, REF, "view", patient=f"PM{i}",
                  study=_study(i, "cardiology")) for i in range(900)]


SCENARIOS = {name[2:]: fn for name, fn in globals().items() if name.startswith("s_")}


def _run(engine, name):
    events = SCENARIOS[name](engine)
    best = 0.0
    alerts = []
    for enriched, new in engine.process_many(events):
        alerts += [a for a in new if a["detector"] == name]
    for a in alerts:
        best = max(best, a["score"])
    return best, alerts


def test_every_detector_has_a_rule_and_a_scenario():
    rules = load_rules()
    assert set(REGISTRY) <= set(rules["detectors"])
    assert set(REGISTRY) == set(SCENARIOS)


def test_ordinary_traffic_raises_no_alert(warm):
    _, alerts = warm
    assert [(a["detector"], a["user_id"], a["summary"]) for a in alerts] == []


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_clone_and_pickle(name, engine):
    det = next(d for d in engine.detectors if d.name == name)
    for other in (det.clone(), pickle.loads(pickle.dumps(det)), copy.deepcopy(det)):
        assert type(other) is type(det) and other.rule == det.rule and other.name == name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_seeded_anomaly_fires_deterministically(name, warm):
    import pickle as p
    first = p.loads(warm[0])
    second = p.loads(warm[0])
    score, alerts = _run(first, name)
    again, alerts2 = _run(second, name)
    assert alerts, f"{name} did not fire on its seeded anomaly"
    assert score > 0.5  # ordinary traffic scores 0: nothing fired on it
    assert [(a["alert_id"], a["score"], a["event_ids"]) for a in alerts] == \
           [(a["alert_id"], a["score"], a["event_ids"]) for a in alerts2]
    last = alerts[-1]
    assert last["summary"] and last["explanation"]
    assert {"feature", "value", "expected", "baseline"} <= set(last["explanation"][0])
    assert last["severity"] in ("low", "medium", "high", "critical")


def test_an_edited_rules_file_with_a_parameter_of_the_wrong_kind_is_refused(tmp_path):
    """A threshold typed as text in an edited rules folder fails at load, naming the detector and
    the parameter, not at the first event that reaches it inside the worker."""
    import shutil

    from models.rules import rules_dir

    for name in ("detectors.yaml", "role_permissions.yaml"):
        shutil.copy(rules_dir(None) / name, tmp_path / name)
    assert load_rules(tmp_path)["detectors"]["bulk_export"]["params"]["peak_factor"] == 2.0
    text = (tmp_path / "detectors.yaml").read_text()
    assert "      peak_factor: 2.0\n" in text
    (tmp_path / "detectors.yaml").write_text(text.replace("      peak_factor: 2.0\n", '      peak_factor: "2x"\n', 1))
    with pytest.raises(ValueError, match="'bulk_export'.*'peak_factor' must be a number, not text"):
        load_rules(tmp_path)
    (tmp_path / "detectors.yaml").write_text(text.replace("      peak_factor: 2.0\n", "      peak_factor: 3\n", 1))
    assert load_rules(tmp_path)["detectors"]["bulk_export"]["params"]["peak_factor"] == 3
