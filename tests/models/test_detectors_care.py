"""Detector behaviours that keep false alerts of ordinary hospital work down: same-surname access
within a care relation, routine edits and prints by their roles, single exports against a usual
zero, part-time users' gaps, and one alert per password spray."""

from __future__ import annotations

from models.sample_traffic import START, come_back, event, user
from models.rules import load_rules
from models.features import UserState
from streamer.score.engine import Engine

HOUR = 3_600_000
DAY = 86_400_000


def _detectors(engine, ev) -> list[str]:
    return [a["detector"] for a in engine.process(ev)[1]]


def test_same_surname_alerts_outside_a_care_relation_only():
    eng = Engine()
    rad = user("jdoe", "radiologist", "neuro", name="Jane Doe")
    study = {"uid": "1.1", "department": "neuro"}
    t = START + 9 * HOUR
    # a relative's study in the user's own department: the user's work
    assert "self_access" not in _detectors(eng, event("e1", t, rad, patient="P1", patient_name="DOE^JOHN",
                                                      study=study))
    # a search result is not an opening of the record
    assert "self_access" not in _detectors(eng, event("e2", t + 60_000, rad, "query", patient="P2",
                                                      patient_name="DOE^MARY"))
    # another department's patient with the user's surname: reported
    other = {"uid": "1.2", "department": "oncology"}
    assert "self_access" in _detectors(eng, event("e3", t + 120_000, rad, patient="P3",
                                                  patient_name="DOE^PAUL", study=other))
    # the user's own full name: their own record, wherever it is
    assert "self_access" in _detectors(Engine(), event("e4", t, rad, patient="P4", patient_name="DOE^JANE",
                                                       study=study))
    # a teleradiologist reads every department's studies
    tele = user("kdoe", "teleradiologist", "teleradiology", name="Kim Doe")
    assert "self_access" not in _detectors(eng, event("e5", t, tele, patient="P5", patient_name="DOE^ANN",
                                                      study=other))


def test_role_map_allows_technologist_edits_and_referring_prints_but_not_their_exports():
    eng = Engine()
    tech = user("t1", "technologist", "ct")
    ref = user("r1", "referring_physician", "cardiology")
    s = {"uid": "1.9", "department": "ct"}
    t = START + 10 * HOUR
    assert "role_permission" not in _detectors(eng, event("a", t, tech, "edit", patient="P", study=s))
    assert "role_permission" not in _detectors(eng, event("b", t, ref, "print", patient="P", study=s))
    assert "role_permission" in _detectors(eng, event("c", t + 60_000, tech, "export", patient="P", study=s,
                                                      destination={"type": "media", "id": "CD"}))
    assert "role_permission" in _detectors(eng, event("d", t + 60_000, ref, "delete", patient="P", study=s))


def test_one_routine_export_of_a_large_study_is_not_an_anomalous_hour():
    eng = Engine()
    rad = user("r2", "radiologist", "ct")
    dest = {"type": "dicom_node", "id": "TUMOUR_BOARD", "external": False}
    for d in range(10):  # ten days of reading, no exports
        for i in range(40):
            eng.process(event(f"v{d}-{i}", START + d * DAY + 8 * HOUR + i * 600_000, rad, patient=f"P{d}-{i}",
                              study={"uid": f"1.{d}.{i}", "department": "ct"}))
    t = START + 10 * DAY + 9 * HOUR
    for i in range(35):
        eng.process(event(f"w{i}", t + i * 60_000, rad, patient=f"Q{i}", study={"uid": f"2.{i}", "department": "ct"}))
    got = _detectors(eng, event("x", t + 40 * 60_000, rad, "export", patient="Q1", destination=dest,
                                study={"uid": "2.1", "department": "ct", "instances": 900, "bytes": 300 << 20}))
    assert "online_model" not in got
    enr = eng.process(event("y", t + 41 * 60_000, rad, patient="Q2", study={"uid": "2.2", "department": "ct"}))[0]
    assert enr["enrichment"]["anomaly_score"] < 0.9


def test_prints_count_as_exports_but_not_as_exported_bytes():
    eng = Engine()
    rad = user("r3", "radiologist", "ct")
    study = {"uid": "1.5", "department": "ct", "instances": 500, "bytes": 200 << 20}
    f = eng.process(event("p", START + 9 * HOUR, rad, "print", patient="P", study=study))[0]["enrichment"]["features"]
    assert f["exports_1h"] == 1 and f["export_instances_1h"] == 0 and f["export_mib_1h"] == 0


def test_a_part_time_users_usual_gaps_are_not_dormancy():
    eng = Engine()
    ref = user("pt", "referring_physician", "ortho")
    day = 0
    for _ in range(8):  # active every 4-5 days for a month
        eng.process(event(f"l{day}", START + day * DAY + 9 * HOUR, ref, "login"))
        day += 4 if day % 2 else 5
    # 16 days: dormant for a daily user, within six of this user's usual gaps
    assert "dormant_account" not in [a["detector"] for a in come_back(eng, "back", START + (day + 12) * DAY + 9 * HOUR, ref)]
    daily = user("dl", "technologist", "ct")
    for d in range(10):
        eng.process(event(f"d{d}", START + d * DAY + 9 * HOUR, daily, "login"))
    # (a daily user with an established history must also come back with a sign that it is not
    # them: here a workstation the account never used; see test_dormant_account_rules.py)
    elsewhere = {"ip": "10.7.7.7", "host": "ws-unknown", "remote": False}
    assert "dormant_account" in [a["detector"] for a in come_back(eng, "dback", START + 25 * DAY + 9 * HOUR, daily,
                                                                   client=elsewhere)]


def test_a_password_spray_is_one_alert_naming_every_failed_login():
    eng = Engine()
    client = {"ip": "10.9.9.9", "host": "kiosk-3", "remote": False}
    alerts, ids = [], []
    for i in range(30):
        who = user(f"v{i}", "technologist", "ct")
        ev = event(f"f{i}", START + 9 * HOUR + i * 5_000, who, "login_failed", outcome="minor_failure",
                   client=client)
        ids.append(ev["event_id"])
        alerts += [a for a in eng.process(ev)[1] if a["detector"] == "password_spray"]
    assert alerts, "the spray must be detected"
    assert len({a["alert_id"] for a in alerts}) == 1
    assert {a["user_id"] for a in alerts} == {"client:10.9.9.9"}  # the actor, not the victims
    assert set(alerts[-1]["event_ids"]) == set(ids)
    assert eng.users["v29"].risk == 0.0


def test_a_low_and_slow_spray_is_caught_and_typing_errors_on_a_shared_workstation_are_not():
    """A spray paced under lockout thresholds: one user every 8 minutes, never 8 within 15
    minutes (var/heldout/X1: 3 of 6 sprays missed). A reading-room workstation where a few
    users mistype their password through the day is not one."""
    def run(step_min: int, n: int, slow: bool = True):
        rules = load_rules()
        if not slow:
            rules["detectors"]["password_spray"]["params"]["slow_window_minutes"] = 0
        eng = Engine(rules)
        client = {"ip": "10.9.9.9", "host": "kiosk-3", "remote": False}
        alerts, ids = [], []
        for i in range(n):
            ev = event(f"f{i}", START + 9 * HOUR + i * step_min * 60_000, user(f"v{i}", "technologist", "ct"),
                       "login_failed", outcome="minor_failure", client=client)
            ids.append(ev["event_id"])
            alerts += [a for a in eng.process(ev)[1] if a["detector"] == "password_spray"]
        return alerts, ids

    alerts, ids = run(8, 25)
    assert len({a["alert_id"] for a in alerts}) == 1
    assert set(alerts[-1]["event_ids"]) == set(ids)   # one spray: every failed login named
    assert alerts[-1]["user_id"] == "client:10.9.9.9"
    assert run(8, 25, slow=False)[0] == []
    assert run(120, 6)[0] == []   # six users mistyping over ten hours
    # a burst, then two hours later one more failed login from that client: the burst's alert,
    # not a second, slow spray made of the burst's users (var/heldout3 V: one false alert)
    eng = Engine()
    client = {"ip": "10.9.9.8", "host": "kiosk-4", "remote": False}
    alerts = []
    for i, minute in enumerate([j * 0.5 for j in range(22)] + [135]):
        ev = event(f"b{i}", START + 7 * HOUR + int(minute * 60_000), user(f"w{i}", "technologist", "ct"),
                   "login_failed", outcome="minor_failure", client=client)
        alerts += [a for a in eng.process(ev)[1] if a["detector"] == "password_spray"]
    assert len({a["alert_id"] for a in alerts}) == 1 and "b21" in alerts[-1]["event_ids"]
    assert not any("b22" in a["event_ids"] for a in alerts)


def test_a_small_departments_first_external_destination_alerts_after_its_learning_days():
    eng = Engine()
    nm = [user(f"nm{i}", "radiologist", "nuclear") for i in range(2)]
    usual = {"type": "dicom_node", "id": "NM_ARCHIVE", "external": False}  # internal: never judged
    for d in range(0, 10, 2):  # a handful of exports over ten days: never 30
        eng.process(event(f"u{d}", START + d * DAY + 10 * HOUR, nm[d % 2], "export", patient="P",
                          study={"uid": f"3.{d}", "department": "nuclear"}, destination=usual))
    rogue = {"type": "dicom_node", "id": "VENDOR_X", "external": True}
    assert "export_destination" in _detectors(eng, event("r", START + 11 * DAY + 10 * HOUR, nm[0], "export",
                                                         patient="P", study={"uid": "3.99", "department": "nuclear"},
                                                         destination=rogue))


def _hospital(eng, patients: int = 12000, common: str = "SMITH", every: int = 200) -> None:
    """The patients this hospital has seen: one in `every` named `common` (0.5 %: common, not
    frequent), the rest unique names."""
    for i in range(patients):
        eng.shared.note_surname(common if i % every == 0 else f"NAME{i}")


def test_a_common_surname_in_a_care_episode_is_chance_a_rare_one_is_kin():
    """Where studies are filed under the reading section, the user's department says little; a
    care episode (a colleague imported the patient's study just before) explains a common
    surname, not a rare one."""
    eng = Engine()
    _hospital(eng)
    tech = user("tt", "technologist", "ct", name="Tom Technician")
    ward = user("asmith", "referring_physician", "surgery", name="Anna Smith")
    rare = user("jzorbel", "referring_physician", "surgery", name="Jan Zorbel")
    t = START + 9 * HOUR
    for pid, name in (("P1", "SMITH^JOHN"), ("P2", "ZORBEL^EVA")):
        eng.process(event(f"imp{pid}", t, tech, "import", patient=pid, patient_name=name,
                          study={"uid": f"s{pid}", "department": "body_imaging"}))
    body = {"department": "body_imaging"}
    assert "self_access" not in _detectors(eng, event("v1", t + HOUR, ward, patient="P1",
                                                      patient_name="SMITH^JOHN", study={"uid": "sP1", **body}))
    assert "self_access" in _detectors(eng, event("v2", t + HOUR, rare, patient="P2",
                                                  patient_name="ZORBEL^EVA", study={"uid": "sP2", **body}))
    # outside any care episode (an old study nobody works on): chance in a section whose studies
    # the user works on, reported in one they never touched
    assert "self_access" not in _detectors(eng, event("v3", t + 2 * HOUR, ward, patient="P3",
                                                      patient_name="SMITH^PAUL", study={"uid": "old", **body}))
    assert "self_access" in _detectors(eng, event("v5", t + 3 * HOUR, ward, patient="P5", patient_name="SMITH^ROSE",
                                                  study={"uid": "old2", "department": "neuroradiology"}))
    # before enough patients are counted, no surname is taken for rare: the care episode explains
    fresh = Engine()
    fresh.process(event("imp", t, tech, "import", patient="P2", patient_name="ZORBEL^EVA",
                        study={"uid": "sP2", "department": "body_imaging"}))
    assert "self_access" not in _detectors(fresh, event("v4", t + HOUR, rare, patient="P2",
                                                        patient_name="ZORBEL^EVA", study={"uid": "sP2", **body}))


def test_a_surname_of_a_few_percent_of_the_patients_is_chance_even_outside_care():
    """Where 5 % of the patients are Smiths, a Smith opening a Smith's study in a section they
    never work on is chance; at 0.5 % it is reported, as is a rare surname. Already after a
    thousand patients, 5 % is a confident estimate; 0.5 % never is."""
    t = START + 9 * HOUR
    ward = user("asmith", "referring_physician", "surgery", name="Anna Smith")
    neuro = {"uid": "old", "department": "neuroradiology"}
    for patients, every, reported in ((12000, 20, False), (1000, 20, False), (12000, 200, True)):
        eng = Engine()
        _hospital(eng, patients, every=every)
        got = _detectors(eng, event("v", t, ward, patient="P5", patient_name="SMITH^ROSE", study=neuro))
        assert ("self_access" in got) is reported, (patients, every, got)
    eng = Engine()
    _hospital(eng, 12000, every=20)
    rare = user("jzorbel", "referring_physician", "surgery", name="Jan Zorbel")
    assert "self_access" in _detectors(eng, event("z", t, rare, patient="P6", patient_name="ZORBEL^EVA",
                                                  study=neuro))


def test_a_rare_surname_is_judged_once_five_thousand_patients_were_counted():
    """A small hospital counts 6,000 patients in a few weeks; a surname none of them carries is
    likely kin, reported even in the user's own section (surname_min_patients 5,000); with the
    former 10,000 it was still taken for chance there (var/heldout3 V)."""
    def opened(min_patients: int) -> bool:
        rules = load_rules()
        rules["detectors"]["self_access"]["params"]["surname_min_patients"] = min_patients
        eng = Engine(rules)
        clerk = user("clerk", "technologist", "neuro")
        t = START + 9 * HOUR
        for i in range(6000):
            eng.process(event(f"c{i}", t + i * 1000, clerk, patient=f"M{i}", patient_name=f"NAME{i}^A",
                              study={"uid": f"m{i}", "department": "neuro"}))
        rad = user("jzorbel", "radiologist", "neuro", name="Jan Zorbel")
        return "self_access" in _detectors(eng, event("z", t + 7000 * 1000, rad, patient="P6",
                                                      patient_name="ZORBEL^EVA",
                                                      study={"uid": "z1", "department": "neuro"}))

    assert opened(5000)
    assert not opened(10000)


def test_a_permission_used_by_several_members_of_a_group_is_their_practice():
    eng = Engine()
    qa = [user(f"q{i}", "technologist", "pacs_qa") for i in range(5)]  # remove duplicate series
    got = []
    for i, who in enumerate(qa):
        got.append("role_permission" in _detectors(eng, event(f"x{i}", START + 9 * HOUR + i * 60_000, who, "delete",
                                                              patient=f"P{i}", study={"uid": f"d{i}"})))
    assert got == [True, True, True, False, False]  # three reported, then it is the group's practice
    # one user repeating an excursion never makes it a practice
    front = user("desk", "scheduler", "front_desk")
    assert all("role_permission" in _detectors(eng, event(f"d{i}", START + 10 * HOUR + i * DAY, front, "view",
                                                          patient=f"Q{i}")) for i in range(5))


def test_in_a_small_group_the_roster_lists_half_of_the_others_make_a_practice():
    """Two research technologists, the whole group in the roster, both export to the
    de-identification gateway: the first is reported, then it is the group's practice (three
    other users can never be reached: var/heldout V reported each of them on every day they
    exported). With practice_share off both are reported every day; without a roster the group
    size is unknown and three others are needed."""
    def run(share: float, roster: bool) -> list[bool]:
        rules = load_rules()
        rules["detectors"]["role_permission"]["params"]["practice_share"] = share
        eng = Engine(rules)
        techs = [user(f"r{i}", "technologist", "research") for i in range(2)]
        if roster:
            for u in techs:
                eng.update_roster({"user_id": u["id"], "name": u["name"], "roles": "technologist",
                                   "department": "research", "status": "active"})
        got = []
        for d in range(3):
            for i, who in enumerate(techs):
                ev = event(f"x{d}{i}", START + d * DAY + 9 * HOUR + i * 60_000, who, "export",
                           patient=f"P{d}{i}", study={"uid": f"s{d}{i}", "department": "research"},
                           destination={"type": "dicom_node", "id": "DEID_GW", "external": False})
                got.append("role_permission" in _detectors(eng, ev))
        return got

    assert run(0.5, True) == [True, False, False, False, False, False]
    assert run(0.0, True) == [True] * 6
    assert run(0.5, False) == [True] * 6
    # the group sizes follow the roster feed: a removal, a move to another department
    eng = Engine()
    for uid in ("r0", "r1"):
        eng.update_roster({"user_id": uid, "roles": "technologist", "department": "research",
                           "status": "active"})
    assert eng.group_sizes == {"technologist|research": 2}
    eng.update_roster({"user_id": "r1", "status": ""})
    eng.update_roster({"user_id": "r0", "roles": "technologist", "department": "ct", "status": "active"})
    assert eng.group_sizes == {"technologist|ct": 1}


def test_sharing_to_an_internal_portal_needs_no_step_up_but_an_export_to_media_does():
    eng = Engine()
    rad = user("r1", "radiologist", "body", mfa=False)
    portal = {"type": "web", "id": "CLINICIAN_PORTAL", "external": False}
    cd = {"type": "media", "id": "CD_BURNER", "external": False}
    assert "missing_mfa" not in _detectors(eng, event("s1", START + 9 * HOUR, rad, "share", patient="P1",
                                                      destination=portal))
    assert "missing_mfa" in _detectors(eng, event("s2", START + 9 * HOUR + 60_000, rad, "export", patient="P2",
                                                  destination=cd))
    external = {"type": "web", "id": "PARTNER_PORTAL", "external": True}
    assert "missing_mfa" in _detectors(eng, event("s3", START + 10 * HOUR, rad, "share", patient="P3",
                                                  destination=external))


def test_a_vip_of_a_section_the_user_works_with_is_care_a_new_section_is_not():
    rules = load_rules()
    rules["detectors"]["watchlist_patient"]["params"]["worked_departments"] = True  # off by default
    eng = Engine(rules)
    eng.update_watchlist({"patient_id": "VIP1", "category": "vip"})
    eng.update_watchlist({"patient_id": "VIP2", "category": "vip"})
    tech = user("ct1", "technologist", "ct_imaging")
    for i in range(5):  # a CT technologist scans for the chest section every day
        eng.process(event(f"c{i}", START + i * DAY + 9 * HOUR, tech, "import", patient=f"P{i}",
                          study={"uid": f"s{i}", "department": "chest_radiology"}))
    assert "watchlist_patient" not in _detectors(eng, event("v1", START + 6 * DAY + 9 * HOUR, tech, patient="VIP1",
                                                            study={"uid": "v1", "department": "chest_radiology"}))
    assert "watchlist_patient" in _detectors(eng, event("v2", START + 6 * DAY + 10 * HOUR, tech, patient="VIP2",
                                                        study={"uid": "v2", "department": "neuroradiology"}))


def test_the_first_of_a_role_to_open_a_new_study_of_their_section_does_its_work_a_later_one_is_reported():
    eng = Engine()
    for pid in ("VIP1", "VIP2", "VIP3"):
        eng.update_watchlist({"patient_id": pid, "category": "vip"})
    tech, other = user("ct1", "technologist", "ct_imaging"), user("ct2", "technologist", "ct_imaging")
    desk = user("sch1", "scheduler", "front_desk")
    for i in range(5):  # CT technologists scan for the chest section; the desk books its patients
        for who in (tech, other, desk):
            eng.process(event(f"{who['id']}{i}", START + i * DAY + 9 * HOUR, who, "import", patient=f"P{i}",
                              study={"uid": f"{who['id']}s{i}", "department": "chest_radiology"}))
    t = START + 6 * DAY + 9 * HOUR
    chest = {"uid": "v1", "department": "chest_radiology"}
    # the technologist acquiring the VIP's new scan for a section they scan for: the study's work
    assert "watchlist_patient" not in _detectors(eng, event("a1", t, tech, "import", patient="VIP1", study=chest))
    assert "watchlist_patient" not in _detectors(eng, event("a2", t + 60_000, tech, patient="VIP1", study=chest))
    # a colleague opening the study another technologist acquired: as far as the logs tell, snooping
    assert "watchlist_patient" in _detectors(eng, event("a3", t + HOUR, other, patient="VIP1", study=chest))
    # the first to open a new study of a section they never work on
    neuro = {"uid": "v2", "department": "neuroradiology"}
    assert "watchlist_patient" in _detectors(eng, event("a4", t, tech, patient="VIP2", study=neuro))
    # the first to open it, in a section they work with, but in a role that neither acquires nor reads
    assert "watchlist_patient" in _detectors(eng, event("a5", t, desk, patient="VIP3",
                                                        study={"uid": "v3", "department": "chest_radiology"}))
    # off when no role is listed
    rules = load_rules()
    rules["detectors"]["watchlist_patient"]["params"]["first_opener_roles"] = []
    eng2 = Engine(rules)
    eng2.update_watchlist({"patient_id": "VIP1", "category": "vip"})
    for i in range(5):
        eng2.process(event(f"x{i}", START + i * DAY + 9 * HOUR, tech, "import", patient=f"P{i}",
                           study={"uid": f"xs{i}", "department": "chest_radiology"}))
    assert "watchlist_patient" in _detectors(eng2, event("b1", t, tech, "import", patient="VIP1", study=chest))
    # radiologists are not listed by default: the first one to open it is judged like any other
    assert "radiologist" not in load_rules()["detectors"]["watchlist_patient"]["params"]["first_opener_roles"]
    rules = load_rules()
    rules["detectors"]["watchlist_patient"]["params"]["first_opener_roles"] = ["technologist", "radiologist"]
    eng = Engine(rules)
    for i in range(5):
        eng.process(event(f"y{i}", START + i * DAY + 9 * HOUR, tech, "import", patient=f"P{i}",
                          study={"uid": f"ys{i}", "department": "chest_radiology"}))
    eng.update_watchlist({"patient_id": "VIP1", "category": "vip"})
    eng.process(event("acq", t, tech, "import", patient="VIP1", study=chest))
    # when listed, the first radiologist to open it reads it; a second one is reported
    readers = [user("rad1", "radiologist", "general_radiology"), user("rad2", "radiologist", "body_radiology")]
    for i in range(5):
        for who in readers:
            eng.process(event(f"{who['id']}r{i}", START + i * DAY + 10 * HOUR, who, patient=f"P{i}",
                              study={"uid": f"{who['id']}s{i}", "department": "chest_radiology"}))
    assert "watchlist_patient" not in _detectors(eng, event("a6", t + 2 * HOUR, readers[0], patient="VIP1",
                                                            study=chest))
    assert "watchlist_patient" in _detectors(eng, event("a7", t + 3 * HOUR, readers[1], patient="VIP1",
                                                        study=chest))


def _reading_hospital(rules=None):
    """Two radiologists who read chest studies and a CT technologist who acquires them, 5 days."""
    eng = Engine(rules)
    tech = user("ct1", "technologist", "ct_imaging")
    rads = [user("rad1", "radiologist", "general_radiology"), user("rad2", "radiologist", "body_radiology")]
    for i in range(5):
        eng.process(event(f"i{i}", START + i * DAY + 9 * HOUR, tech, "import", patient=f"P{i}",
                          study={"uid": f"s{i}", "department": "chest_radiology"}))
        for who in rads:
            eng.process(event(f"{who['id']}r{i}", START + i * DAY + 10 * HOUR, who, patient=f"P{i}",
                              study={"uid": f"s{i}", "department": "chest_radiology"}))
    for pid in ("VIP1", "VIP2", "VIP3", "VIP4"):
        eng.update_watchlist({"patient_id": pid, "category": "vip"})
    return eng, tech, rads


def test_the_first_radiologist_to_open_a_freshly_acquired_study_reads_it_an_old_or_unseen_one_is_judged():
    eng, tech, (rad1, rad2) = _reading_hospital()
    t = START + 6 * DAY + 9 * HOUR
    chest = {"uid": "v1", "department": "chest_radiology"}
    eng.process(event("acq1", t, tech, "import", patient="VIP1", study=chest))
    # the first radiologist to open it, two hours after its acquisition, in a section they read
    assert "watchlist_patient" not in _detectors(eng, event("a1", t + 2 * HOUR, rad1, patient="VIP1",
                                                            study=chest))
    # a second radiologist opening the study the first one read: judged
    assert "watchlist_patient" in _detectors(eng, event("a2", t + 3 * HOUR, rad2, patient="VIP1", study=chest))
    # a study this process never saw arrive: the radiologist is the first to touch it at all
    assert "watchlist_patient" in _detectors(eng, event("a3", t, rad1, patient="VIP2",
                                                        study={"uid": "v2", "department": "chest_radiology"}))
    # a study that arrived three days ago: no longer the reading worklist
    old = {"uid": "v3", "department": "chest_radiology"}
    eng.process(event("acq3", t - 3 * DAY, tech, "import", patient="VIP3", study=old))
    assert "watchlist_patient" in _detectors(eng, event("a4", t + HOUR, rad1, patient="VIP3", study=old))
    # fresh, but of a section the radiologist never reads
    neuro = {"uid": "v4", "department": "neuroradiology"}
    eng.process(event("acq4", t, tech, "import", patient="VIP4", study=neuro))
    assert "watchlist_patient" in _detectors(eng, event("a5", t + HOUR, rad1, patient="VIP4", study=neuro))
    # off when no role is listed: the first reader of the fresh study is judged too
    rules = load_rules()
    assert rules["detectors"]["watchlist_patient"]["params"]["fresh_opener_roles"] == ["radiologist"]
    rules["detectors"]["watchlist_patient"]["params"]["fresh_opener_roles"] = []
    eng, tech, (rad1, _) = _reading_hospital(rules)
    eng.process(event("acq1", t, tech, "import", patient="VIP1", study=chest))
    assert "watchlist_patient" in _detectors(eng, event("a1", t + 2 * HOUR, rad1, patient="VIP1", study=chest))
    # and a shorter window leaves a study read the next day to be judged
    rules = load_rules()
    rules["detectors"]["watchlist_patient"]["params"]["fresh_hours"] = 1
    eng, tech, (rad1, _) = _reading_hospital(rules)
    eng.process(event("acq1", t, tech, "import", patient="VIP1", study=chest))
    assert "watchlist_patient" in _detectors(eng, event("a1", t + 2 * HOUR, rad1, patient="VIP1", study=chest))


def test_the_priors_a_reader_compares_are_part_of_the_reading_a_reported_relation_is_judged_on():
    def read_with_prior(rules=None):
        eng, tech, (rad1, rad2) = _reading_hospital(rules)
        prior = {"uid": "p1", "department": "chest_radiology"}
        eng.process(event("acqp", START + DAY + 11 * HOUR, tech, "import", patient="VIP1", study=prior))
        eng.process(event("readp", START + DAY + 12 * HOUR, rad2, patient="VIP1", study=prior))
        t = START + 6 * DAY + 9 * HOUR
        fresh = {"uid": "v1", "department": "chest_radiology"}
        eng.process(event("acq1", t, tech, "import", patient="VIP1", study=fresh))
        got = _detectors(eng, event("r1", t + 2 * HOUR, rad1, patient="VIP1", study=fresh))
        got += _detectors(eng, event("r2", t + 2 * HOUR + 60_000, rad1, patient="VIP1", study=prior))
        return got, eng, rad1, t
    # reading the fresh study is the worklist; the prior opened with it belongs to that reading
    got, eng, rad1, t = read_with_prior()
    assert "watchlist_patient" not in got
    # a relation that began with a report is judged opening by opening: the same prior, opened
    # by a radiologist whose first opening of the patient was reported, is reported too
    neuro = {"uid": "n3", "department": "neuroradiology"}
    assert "watchlist_patient" in _detectors(eng, event("x1", t, rad1, patient="VIP3", study=neuro))
    assert "watchlist_patient" in _detectors(eng, event("x2", t + 60_000, rad1, patient="VIP3",
                                                        study={"uid": "n4", "department": "chest_radiology"}))
    # the user's own department is care for its own studies only: it does not carry
    colleague = user("rad3", "radiologist", "chest_radiology")
    assert "watchlist_patient" not in _detectors(eng, event("c1", t, colleague, patient="VIP2",
                                                            study={"uid": "c2", "department": "chest_radiology"}))
    assert "watchlist_patient" in _detectors(eng, event("c2", t + 60_000, colleague, patient="VIP2",
                                                        study={"uid": "n5", "department": "neuroradiology"}))
    # off: the prior is judged on its own (another radiologist read it years ago: reported)
    rules = load_rules()
    assert rules["detectors"]["watchlist_patient"]["params"]["work_carries"] is True
    rules["detectors"]["watchlist_patient"]["params"]["work_carries"] = False
    got, *_ = read_with_prior(rules)
    assert got == ["watchlist_patient"]


def _ordering_hospital(rules=None):
    """An emergency physician who opens each result within the hour of its acquisition, and a
    clinic physician who opens theirs three days later; 25 results each, all of the chest section."""
    eng = Engine(rules)
    tech = user("ct1", "technologist", "ct_imaging")
    ed, clinic = user("ed1", "referring_physician", "emergency"), user("cl1", "referring_physician", "primary_care")
    for i in range(25):
        t = START + (i // 5) * DAY + (9 + i % 5) * HOUR
        for who, after in ((ed, 40 * 60_000), (clinic, 3 * DAY)):
            study = {"uid": f"{who['id']}s{i}", "department": "chest_radiology"}
            eng.process(event(f"{who['id']}i{i}", t, tech, "import", patient=f"{who['id']}P{i}", study=study))
            eng.process(event(f"{who['id']}v{i}", t + after, who, patient=f"{who['id']}P{i}", study=study))
    for pid in ("VIP1", "VIP2", "VIP3"):
        eng.update_watchlist({"patient_id": pid, "category": "vip"})
    return eng, tech, ed, clinic


def test_a_result_opened_as_it_arrives_by_a_user_who_opens_results_that_way_is_their_work():
    eng, tech, ed, clinic = _ordering_hospital()
    assert eng.users["ed1"].fresh_share(20) > 0.9 and eng.users["cl1"].fresh_share(20) == 0.0
    t = START + 9 * DAY + 9 * HOUR
    for pid in ("VIP1", "VIP2", "VIP3"):
        eng.process(event(f"acq{pid}", t, tech, "import", patient=pid,
                          study={"uid": f"u{pid}", "department": "chest_radiology"}))
    # the emergency physician opening the VIP's new result first, within the hour, as always
    assert "watchlist_patient" not in _detectors(eng, event("a1", t + 40 * 60_000, ed, patient="VIP1",
                                                            study={"uid": "uVIP1", "department": "chest_radiology"}))
    # the clinic physician opening a fresh VIP result first: not how they open results
    assert "watchlist_patient" in _detectors(eng, event("a2", t + 40 * 60_000, clinic, patient="VIP2",
                                                        study={"uid": "uVIP2", "department": "chest_radiology"}))
    # the emergency physician opening a result another physician opened first: judged (one of
    # another department: an emergency colleague's opening would make the patient the
    # emergency team's, team_roles)
    eng.process(event("o3", t + 10 * 60_000, user("cd2", "referring_physician", "cardiology"), patient="VIP3",
                      study={"uid": "uVIP3", "department": "chest_radiology"}))
    assert "watchlist_patient" in _detectors(eng, event("a3", t + 40 * 60_000, ed, patient="VIP3",
                                                        study={"uid": "uVIP3", "department": "chest_radiology"}))
    # the habit survives the state's round trip
    back = UserState.from_bytes(eng.users["ed1"].to_bytes())
    assert (back.opens, back.fresh_opens) == (eng.users["ed1"].opens, eng.users["ed1"].fresh_opens)
    # off (no share reaches it): the emergency physician's fresh opening is judged too
    rules = load_rules()
    rules["detectors"]["watchlist_patient"]["params"]["habit_share"] = 1.5
    eng, tech, ed, _ = _ordering_hospital(rules)
    eng.process(event("acq", t, tech, "import", patient="VIP1",
                      study={"uid": "uVIP1", "department": "chest_radiology"}))
    assert "watchlist_patient" in _detectors(eng, event("a1", t + 40 * 60_000, ed, patient="VIP1",
                                                        study={"uid": "uVIP1", "department": "chest_radiology"}))


def test_the_hospitals_own_portal_is_no_new_risky_destination_a_web_upload_is():
    eng = Engine()
    rad = user("r2", "radiologist", "body")
    portal = {"type": "web", "id": "CLINICIAN_PORTAL", "external": False}
    upload = {"type": "web", "id": "wetransfer.com", "external": True}
    assert "export_destination" not in _detectors(eng, event("p1", START + 9 * HOUR, rad, "share", patient="P1",
                                                             destination=portal))
    assert "export_destination" in _detectors(eng, event("p2", START + 10 * HOUR, rad, "share", patient="P2",
                                                         destination=upload))


def test_a_removable_media_device_nobody_used_before_alerts_the_departments_burner_does_not():
    def hospital(rules=None):
        eng = Engine(rules)
        desk = [user(f"f{i}", "scheduler", "film_library") for i in range(3)]
        burner = {"type": "media", "id": "CDBURN-FILM-01", "external": False}
        for d in range(8):  # a week of patient copies: the department's destinations are learned
            for i, who in enumerate(desk):
                eng.process(event(f"cd{d}-{i}", START + d * DAY + (9 + i) * HOUR, who, "export",
                                  patient=f"P{d}{i}", destination=burner))
        return eng, desk, burner
    eng, desk, burner = hospital()
    t = START + 9 * DAY + 10 * HOUR
    new = user("f9", "scheduler", "film_library")
    # a new member of the film library using the department's burner for the first time
    assert "export_destination" not in _detectors(eng, event("n1", t, new, "export", patient="Q1",
                                                             destination=burner))
    # a USB stick nobody in the hospital wrote to before
    usb = {"type": "media", "id": "USB-WD-457904", "external": False}
    got = eng.process(event("u1", t + HOUR, desk[0], "export", patient="Q2", destination=usb))[1]
    hit = [a for a in got if a["detector"] == "export_destination"]
    assert hit and "nobody in the hospital" in hit[0]["summary"]
    assert {"feature": "destination_users_hospital", "value": 0, "expected": 1,
            "baseline": "peer"} in hit[0]["explanation"]
    # a department that never writes to media: its first burner says nothing of a practice
    onc = user("o1", "radiologist", "oncology")
    for d in range(8):
        eng.process(event(f"onc{d}", START + d * DAY + 11 * HOUR, onc, "export", patient=f"O{d}",
                          destination={"type": "dicom_node", "id": "TUMOUR_BOARD", "external": False}))
    assert "export_destination" not in _detectors(eng, event("o9", t, onc, "export", patient="O9",
                                                             destination={"type": "media", "id": "CDBURN_ONCO",
                                                                          "external": False}))
    # a second member of staff writing to that stick: a device of the hospital now
    assert "export_destination" not in _detectors(eng, event("u2", t + 2 * HOUR, desk[1], "export",
                                                             patient="Q3", destination=usb))
    # off without device types: media are not judged
    rules = load_rules()
    assert rules["detectors"]["export_destination"]["params"]["device_types"] == ["media"]
    rules["detectors"]["export_destination"]["params"]["device_types"] = []
    eng, desk, _ = hospital(rules)
    assert "export_destination" not in _detectors(eng, event("u1", t + HOUR, desk[0], "export", patient="Q2",
                                                             destination=usb))


def test_a_weekly_export_volume_seen_before_is_the_users_practice():
    """A research coordinator sends ~40 studies to the de-identification gateway every week: the
    first week alerts (nothing to compare with), later weeks of the same size do not; ten times
    that volume does."""
    eng = Engine()
    rc = user("rc1", "technologist", "clinical_research")
    gw = {"type": "dicom_node", "id": "DEID_GW", "external": False}

    def week(w: int, n: int) -> list[str]:
        t = START + 7 * w * DAY + 13 * HOUR
        got = []
        for i in range(n):
            got += _detectors(eng, event(f"w{w}-{i}", t + i * 60_000 * 50 // n, rc, "export", patient=f"P{w}-{i}",
                                         study={"uid": f"s{w}-{i}", "instances": 200, "bytes": 50 << 20},
                                         destination=gw))
        for d in range(1, 5):  # the rest of the week: ordinary work
            eng.process(event(f"v{w}-{d}", t + d * DAY, rc, patient=f"V{w}{d}"))
        return got
    assert "bulk_export" in week(0, 40)
    assert "bulk_export" not in week(1, 45)
    assert "bulk_export" not in week(2, 38)
    assert "bulk_export" in week(3, 140)


def test_a_volume_several_colleagues_move_is_the_departments_practice():
    """Research technologists each send their weekly batch to the de-identification gateway, all
    in the first days of the stream. The first two batches alert (one colleague is not yet a
    practice); from the third, two colleagues have moved as much, so it does not. Five times that
    volume still alerts, and so does the same volume from another department."""
    eng = Engine()
    gw = {"type": "dicom_node", "id": "DEID_GW", "external": False}

    def batch(who, day: int, n: int) -> set[str]:
        t = START + day * DAY + 13 * HOUR
        got = []
        for i in range(n):
            got += _detectors(eng, event(f"{who['id']}-{day}-{i}", t + i * 60_000 * 50 // n, who, "export",
                                         patient=f"P{day}-{i}", destination=gw,
                                         study={"uid": f"s{day}-{i}", "instances": 200, "bytes": 50 << 20}))
        return set(got)
    techs = [user(f"rt{i}", "technologist", "clinical_research") for i in range(5)]
    volume = {"bulk_export", "online_model"}
    assert volume & batch(techs[0], 0, 45)         # nothing to compare with
    assert volume & batch(techs[1], 0, 40)         # one colleague: not yet a practice
    assert not volume & batch(techs[2], 1, 50)     # two colleagues moved at least half of it
    assert not volume & batch(techs[3], 1, 42)
    assert "bulk_export" in batch(techs[4], 2, 250)  # five times any colleague's hour
    other = user("ct9", "technologist", "ct")
    assert "bulk_export" in batch(other, 2, 50)    # not the practice of another department


def test_records_opened_by_exporting_a_usual_batch_are_not_a_sweep():
    """A research technologist's weekly batch exports 90 patients' studies in an hour: the
    first week it is a sweep and a bulk export; a later batch of that size is their practice for
    both detectors. Viewing 200 other patients besides an export of that size is still a sweep."""
    eng = Engine()
    rc = user("rc7", "technologist", "clinical_research")
    gw = {"type": "dicom_node", "id": "DEID_GW", "external": False}

    def week(w: int, n: int, views: int = 0) -> set[str]:
        t = START + 7 * w * DAY + 13 * HOUR
        got = []
        for i in range(n):
            got += _detectors(eng, event(f"x{w}-{i}", t + i * 30_000, rc, "export", patient=f"P{w}-{i}",
                                         study={"uid": f"s{w}-{i}", "department": "clinical_research"},
                                         destination=gw))
        for i in range(views):
            got += _detectors(eng, event(f"y{w}-{i}", t + n * 30_000 + i * 5_000, rc, patient=f"Q{w}-{i}",
                                         study={"uid": f"q{w}-{i}", "department": "clinical_research"}))
        for d in range(1, 5):  # the rest of the week: a few ordinary records a day
            for i in range(3):
                eng.process(event(f"v{w}-{d}-{i}", t + d * DAY + i * HOUR, rc, patient=f"V{w}{d}{i}"))
        return set(got)
    assert {"patient_sweep", "bulk_export"} <= week(0, 90)
    assert not {"patient_sweep", "bulk_export"} & week(1, 90)
    assert "patient_sweep" in week(2, 90, views=200)


def test_a_watchlist_relation_is_reported_when_it_begins_not_at_every_visit():
    eng = Engine()
    eng.update_watchlist({"patient_id": "VIP9", "category": "vip"})
    doc = user("ward1", "referring_physician", "surgery")
    body = {"department": "body_imaging"}
    first = _detectors(eng, event("w0", START + 9 * HOUR, doc, patient="VIP9", study={"uid": "a", **body}))
    same_visit = _detectors(eng, event("w1", START + 10 * HOUR, doc, patient="VIP9", study={"uid": "b", **body}))
    next_day = _detectors(eng, event("w2", START + DAY + 9 * HOUR, doc, patient="VIP9", study={"uid": "c", **body}))
    assert "watchlist_patient" in first and "watchlist_patient" in same_visit
    assert "watchlist_patient" not in next_day
    # another user's first access is reported
    other = user("ward2", "referring_physician", "cardiology")
    assert "watchlist_patient" in _detectors(eng, event("w3", START + DAY + 10 * HOUR, other, patient="VIP9",
                                                        study={"uid": "c", **body}))


def test_a_watchlist_study_without_a_department_belongs_where_it_was_imported():
    """DICOM audit messages (and FHIR AuditEvents) name the study, not its department. Such a
    study belongs to the department of the user who imported it (or, failing an import, of the
    first technologist to touch it), not of whoever happened to open it first: a prior read for
    comparison by another section before its import. The importer's colleagues are in care, a
    user of another department is reported, and so is the first opener of a study nobody was
    seen bringing in, whose home the logs do not tell. A worklist query names no study and is
    not judged. Before, every watchlist access without a study department went unjudged."""
    eng = Engine()
    for pid in ("VIP1", "VIP2", "VIP3"):
        eng.update_watchlist({"patient_id": pid, "category": "vip"})
    onc_tech, onc_rad = user("ot1", "technologist", "oncology"), user("or1", "radiologist", "oncology")
    onc_doc = user("od1", "referring_physician", "oncology")
    neuro_rad, desk = user("nr1", "radiologist", "neuro"), user("fd1", "scheduler", "front_desk")
    t = START + 9 * HOUR
    # a neuroradiologist compares the VIP's prior, then oncology imports it: oncology's study
    assert "watchlist_patient" in _detectors(eng, event("p1", t, neuro_rad, patient="VIP1", study={"uid": "s1"}))
    assert "watchlist_patient" not in _detectors(eng, event("p2", t + HOUR, onc_tech, "import", patient="VIP1",
                                                            study={"uid": "s1"}))
    got = eng.process(event("p3", t + 30 * DAY, onc_doc, patient="VIP1", study={"uid": "s1"}))[1]
    assert not [a for a in got if a["detector"] == "watchlist_patient"]  # the importer's colleague
    got = eng.process(event("p4", t + 30 * DAY, desk, patient="VIP1", study={"uid": "s1"}))[1]
    hit = [a for a in got if a["detector"] == "watchlist_patient"]
    assert hit and "of oncology" in hit[0]["summary"]
    # a study nobody was seen bringing in: its first opener is judged on the study's work alone
    got = eng.process(event("p5", t, onc_doc, patient="VIP2", study={"uid": "s2"}))[1]
    hit = [a for a in got if a["detector"] == "watchlist_patient"]
    assert hit and "a department the events do not name" in hit[0]["summary"]
    # a worklist query names no study
    assert "watchlist_patient" not in _detectors(eng, event("p6", t, desk, "query", patient="VIP3"))
    # the study's department, when the event names it, comes first
    assert "watchlist_patient" not in _detectors(eng, event("p7", t + 2 * HOUR, onc_rad, patient="VIP3",
                                                            study={"uid": "s3", "department": "oncology"}))


def test_the_department_an_event_names_for_the_user_is_a_care_relation_to_a_watchlist_study():
    """A resident filed under the residency programme in the roster reads the studies of the
    section they rotate through, and the PACS logs that section as their department at the
    access (var/heldout/X1: about 200 false alerts). That is a care relation as the roster's
    department is (`event_department`; false: the roster's only); a resident whose events name
    the programme, opening another section's VIP study, is still reported."""
    def run(event_department: bool, logged_dept: str) -> list[str]:
        rules = load_rules()
        rules["detectors"]["watchlist_patient"]["params"]["event_department"] = event_department
        eng = Engine(rules)
        eng.update_roster({"user_id": "res1", "name": "Res One", "roles": "student",
                           "department": "residency", "status": "active", "end_date": ""})
        eng.update_watchlist({"patient_id": "VIP1", "category": "vip"})
        return _detectors(eng, event("w1", START + 9 * HOUR, user("res1", "student", logged_dept),
                                     patient="VIP1", study={"uid": "s1", "department": "peds"}))

    assert "watchlist_patient" not in run(True, "peds")
    assert "watchlist_patient" in run(False, "peds")
    assert "watchlist_patient" in run(True, "residency")


def test_a_public_client_address_is_remote_when_the_event_does_not_say():
    """Canonical events may leave out `client.remote`. A public address is outside the hospital
    network, as the ATNA and FHIR parsers already decide: a login from one without MFA is remote
    access without MFA, and the enriched event says remote. A private address says nothing (a
    VPN hands out private ones), and an explicit `remote: false` is kept."""
    eng = Engine()
    doc = dict(user("kt1", "referring_physician", "womens_health"), mfa=False)
    t = START + 19 * HOUR

    def login(eid, client):
        return eng.process(event(eid, t, doc, "login", client=client))

    enriched, alerts = login("r1", {"ip": "24.181.167.171"})
    assert [a for a in alerts if a["detector"] == "missing_mfa"]
    assert enriched["client"]["remote"] is True
    enriched, alerts = login("r2", {"ip": "10.20.30.40"})
    assert not [a for a in alerts if a["detector"] == "missing_mfa"]
    assert "remote" not in enriched["client"]
    enriched, alerts = login("r3", {"ip": "24.181.167.171", "remote": False})
    assert not [a for a in alerts if a["detector"] == "missing_mfa"]


def test_a_watchlist_patient_in_the_care_of_the_users_own_team_is_a_care_relation():
    """Physicians of a ward (and radiologists of a section) take turns with their patients: when
    another user of the same role and department opened the watchlist patient within
    `team_hours`, the patient is in that team's care, whatever department the study is filed
    under. Not after the team's last look is that old, not for another department's physician,
    and not for an employee-patient of the user's own department (the curious co-worker)."""
    def run(team_roles) -> dict[str, list[str]]:
        rules = load_rules()
        rules["detectors"]["watchlist_patient"]["params"]["team_roles"] = team_roles
        eng = Engine(rules)
        for uid, dept in (("emp1", "surgery"), ("w1", "surgery"), ("w2", "surgery"), ("w3", "surgery")):
            eng.update_roster({"user_id": uid, "name": uid, "roles": "referring_physician",
                               "department": dept, "status": "active", "end_date": ""})
        eng.update_watchlist({"patient_id": "VIP1", "category": "vip"})
        eng.update_watchlist({"patient_id": "EMP1", "category": "employee", "employee_user_id": "emp1"})
        body = {"department": "body_imaging"}
        got = {}
        steps = (("w1", "surgery", "VIP1", 0), ("w2", "surgery", "VIP1", DAY),
                 ("c1", "cardiology", "VIP1", DAY + HOUR), ("w3", "surgery", "VIP1", 6 * DAY),
                 ("w1", "surgery", "EMP1", 0), ("w2", "surgery", "EMP1", HOUR))
        for i, (uid, dept, pid, dt) in enumerate(steps):
            doc = user(uid, "referring_physician", dept)
            got[f"{uid}:{pid}"] = _detectors(eng, event(f"t{i}", START + 9 * HOUR + dt, doc, patient=pid,
                                                        study={"uid": f"s-{pid}-{i}", **body}))
        return got

    on = run(["referring_physician", "radiologist"])
    assert "watchlist_patient" in on["w1:VIP1"]          # the first of the team is judged
    assert "watchlist_patient" not in on["w2:VIP1"]      # a colleague of the ward the next day
    assert "watchlist_patient" in on["c1:VIP1"]          # another department's physician
    assert "watchlist_patient" in on["w3:VIP1"]          # five days after the team's last look
    assert "watchlist_patient" in on["w2:EMP1"]          # a co-worker's record: no team excuse
    off = run([])
    assert "watchlist_patient" in off["w2:VIP1"]


def test_a_users_watchlist_openings_of_one_day_are_one_incident():
    """The watchlist records one user opened within 24 h of each other are one alert (its event
    ids name them all, re-emitted under the same id), reviewed together; a day later a new one."""
    eng = Engine()
    for pid in ("VIP1", "VIP2", "VIP3"):
        eng.update_watchlist({"patient_id": pid, "category": "vip"})
    doc = user("cl1", "referring_physician", "cardiology")

    def watch_alerts(eid, ms, pid):
        return [a for a in eng.process(event(eid, ms, doc, patient=pid,
                                             study={"uid": f"s-{eid}", "department": "body"}))[1]
                if a["detector"] == "watchlist_patient" and a["status"] == "firing"]
    first = watch_alerts("v1", START + 9 * HOUR, "VIP1")
    later = watch_alerts("v2", START + 15 * HOUR, "VIP2")
    assert first and later and first[0]["alert_id"] == later[0]["alert_id"]
    assert {"v1", "v2"} <= set(later[0]["event_ids"])
    next_week = watch_alerts("v3", START + 3 * DAY, "VIP3")
    assert next_week and next_week[0]["alert_id"] != first[0]["alert_id"]


def test_a_technologist_rejecting_a_series_of_their_own_fresh_acquisition_is_quality_control():
    """Technologists have no delete permission, but rejecting a series of a study they imported
    themselves minutes before is the acquisition's own quality control. A study someone else
    imported, or their own from two days ago, is judged; `own_import_hours` 0 turns it off."""
    def run(hours=None) -> dict[str, list[str]]:
        rules = load_rules()
        if hours is not None:
            rules["detectors"]["role_permission"]["params"]["own_import_hours"] = hours
        eng = Engine(rules)
        t = START + 9 * HOUR
        techs = {n: user(n, "technologist", "ct") for n in ("t1", "t2", "t3", "t4")}
        got = {}
        for n, who, imported_by, later in (("own", "t1", "t1", 5 * 60_000),
                                           ("other", "t2", "t3", 5 * 60_000),
                                           ("old", "t4", "t4", 2 * DAY)):
            eng.process(event(f"i-{n}", t, techs[imported_by], "import", patient=f"P-{n}",
                              study={"uid": f"s-{n}", "department": "ct"}))
            got[n] = _detectors(eng, event(f"d-{n}", t + later, techs[who], "delete", patient=f"P-{n}",
                                           study={"uid": f"s-{n}", "department": "ct"}))
        return got

    got = run()
    assert "role_permission" not in got["own"]
    assert "role_permission" in got["other"] and "role_permission" in got["old"]
    assert "role_permission" in run(0)["own"]
