"""Rules that separate ordinary hospital work from incidents (models/heldout findings): dormancy
judged by the account's own rhythm and history, sweeps against the care workflow, a department's
working day for odd hours, and openings (not listings) of one's own record."""

from __future__ import annotations

import lz4.block
import pytest

from models.detectors.dormant_account import silence_chance
from models.features import _HEADER, _HEADER_V2, _HEADER_V3, _HEADER_V4, C_PAT, C_STUDY, UserState
from models.rules import load_rules
from models.sample_traffic import START, come_back, event, user
from streamer.score.engine import Engine
from streamer.timeutil import format_ms

HOUR = 3_600_000
DAY = 86_400_000
HOME = {"ip": "10.0.0.5", "host": "ws-1", "remote": False}


def _detectors(engine, ev) -> list[str]:
    return [a["detector"] for a in engine.process(ev)[1]]


# --- dormant_account -------------------------------------------------------------------------
def test_silence_chance_falls_with_rhythm_and_length():
    # an account active every observed day: a long silence is very unlikely
    daily = silence_chance(10, 10, 16)
    # seen on one day of the five we watched: weeks of silence are ordinary
    sparse = silence_chance(1, 5, 16)
    assert daily < 1e-4 < 0.05 < sparse
    assert silence_chance(3, 3, 20) < silence_chance(3, 3, 14) < 1.0
    assert silence_chance(1, 1, 0) == 1.0


def test_a_user_seen_once_back_after_weeks_is_not_dormant_but_a_daily_one_is():
    eng = Engine()
    occasional = user("occ", "referring_physician", "ortho")
    daily = user("dly", "technologist", "ct")
    eng.process(event("x0", START + 9 * HOUR, user("other", "technologist", "ct"), "login"))
    eng.process(event("o0", START + 4 * DAY + 9 * HOUR, occasional, "login"))  # one day of five
    for d in range(3):
        eng.process(event(f"d{d}", START + d * DAY + 9 * HOUR, daily, "login"))
    assert "dormant_account" not in [a["detector"] for a in come_back(eng, "o1", START + 20 * DAY + 9 * HOUR, occasional)]
    got = come_back(eng, "d9", START + 20 * DAY + 9 * HOUR, daily)
    assert [a["detector"] for a in got] == ["dormant_account"]
    assert "active for only 3 days" in got[0]["summary"]
    assert got[0]["event_count"] == 1  # the return's third record access, not its login


def test_an_account_used_on_one_day_as_the_observation_began_then_silent_a_month_is_dormant():
    """Seen once, two days into the observation, then silent for 30 days: a 1.3 % chance under a
    flat prior on its rate. With the former p_max of 0.7 % it was not judged (var/heldout O: two
    reused accounts like it went unreported)."""
    def back(p_max=None):
        rules = load_rules()
        if p_max is not None:
            rules["detectors"]["dormant_account"]["params"]["p_max"] = p_max
        eng = Engine(rules)
        eng.process(event("x0", START, user("other", "technologist", "ct"), "login"))
        once = user("once", "technologist", "ct")
        eng.process(event("o0", START + 2 * DAY + 9 * HOUR, once, "login"))
        got = come_back(eng, "o1", START + 32 * DAY + 9 * HOUR, once)
        return [a for a in got if a["detector"] == "dormant_account"]

    assert 0.007 < silence_chance(1, 3.375, 30) < 0.015
    got = back()
    assert len(got) == 1 and "active for only 1 day" in got[0]["summary"]
    assert not back(0.007)


def test_a_return_that_comes_to_nothing_is_not_dormancy():
    """Below six weeks the verdict waits for the returning account to do something: a login and
    one record looked at, then nothing within a day, is how a referring physician looks at the
    next admission's study weeks later."""
    eng = Engine()
    daily = user("dl2", "technologist", "ct")
    for d in range(3):
        eng.process(event(f"d{d}", START + d * DAY + 9 * HOUR, daily, "login"))
    assert not [a for a in come_back(eng, "back", START + 20 * DAY + 9 * HOUR, daily, records=2)
                if a["detector"] == "dormant_account"]
    # the third record access comes after the day is over: the return is judged no more
    late = eng.process(event("late", START + 21 * DAY + 10 * HOUR, daily, patient="PX", study={"uid": "sx"}))[1]
    assert "dormant_account" not in [a["detector"] for a in late]
    # a state with a pending return survives serialisation (a worker restart between the return
    # and its third record access)
    eng2 = Engine()
    for d in range(3):
        eng2.process(event(f"e{d}", START + d * DAY + 9 * HOUR, daily, "login"))
    come_back(eng2, "b2", START + 20 * DAY + 9 * HOUR, daily, records=2)
    eng2.import_user("dl2", eng2.export_user("dl2"))
    got = eng2.process(event("third", START + 20 * DAY + 9 * HOUR + 5 * 60_000, daily, patient="PY",
                             study={"uid": "sy"}))[1]
    assert [a["detector"] for a in got] == ["dormant_account"]


def _established(eng, who, days=20, client=HOME):
    for d in range(days):
        eng.process(event(f"{who['id']}{d}", START + d * DAY + 9 * HOUR, who, "login", client=client))
    return START + (days - 1) * DAY + 9 * HOUR


def _quiet_rules(severity: str = "low") -> dict:
    rules = load_rules()
    rules["detectors"]["dormant_account"]["params"]["quiet_severity"] = severity
    return rules


def test_a_return_from_leave_is_not_reported_and_only_a_sign_of_someone_else_makes_it_medium():
    back = 17 * DAY  # two weeks and a half of leave, weekends included
    usual = user("u1", "technologist", "ct")
    eng = Engine()
    last = _established(eng, usual)
    # own workstation, usual hour, MFA as always: most likely back from leave -> not reported
    assert not [a for a in come_back(eng, "r0", last + back, usual) if a["detector"] == "dormant_account"]
    # unless the hospital asks for such returns too (quiet_severity)
    eng = Engine(_quiet_rules())
    last = _established(eng, usual)
    quiet = come_back(eng, "r1", last + back, usual)
    assert [(a["detector"], a["severity"]) for a in quiet] == [("dormant_account", "low")]
    assert "return from leave" in quiet[0]["summary"]
    for uid, who, client, sign in (
            ("u2", user("u2", "technologist", "ct"), {"ip": "10.9.9.9", "host": "ws-77", "remote": False},
             "never used"),
            ("u3", user("u3", "technologist", "ct"), {"ip": "10.0.0.5", "host": "ws-1", "remote": True},
             "remote access"),
            ("u4", user("u4", "technologist", "ct", mfa=False), HOME, "no MFA")):
        eng2 = Engine()
        last = _established(eng2, user(uid, "technologist", "ct"))
        got = come_back(eng2, f"r{uid}", last + back, who, client=client)
        assert [(a["detector"], a["severity"]) for a in got] == [("dormant_account", "medium")], uid
        assert sign in got[0]["summary"] and got[0]["score"] > quiet[0]["score"]
    # an hour the user never works (03:00 instead of 09:00)
    eng3 = Engine()
    last = _established(eng3, usual)
    got = [a["detector"] for a in come_back(eng3, "night", last + back - 6 * HOUR, usual)]
    assert "dormant_account" in got


def test_a_short_history_is_short_against_three_times_the_silence():
    """A user seen working for eight days when the observation began, then away 20 days: a
    leave (20 < 3 x 8), not reported; three days of use and then 20 days away: an account used
    briefly and left (20 >= 3 x 3), reported without any sign of someone else. With the former
    ratio of 2 the eight-day user was reported too."""
    def back(days, ratio=None):
        rules = load_rules()
        if ratio is not None:
            rules["detectors"]["dormant_account"]["params"]["history_ratio"] = ratio
        eng = Engine(rules)
        who = user(f"h{days}", "technologist", "ct")
        last = _established(eng, who, days=days)
        return [a for a in come_back(eng, f"b{days}", last + 20 * DAY, who)
                if a["detector"] == "dormant_account"]

    assert not back(8)
    short = back(3)
    assert [a["severity"] for a in short] == ["medium"] and "active for only 3 days" in short[0]["summary"]
    assert [a["detector"] for a in back(8, ratio=2.0)] == ["dormant_account"]


def test_a_short_history_back_at_the_care_of_current_patients_is_not_dormancy():
    """Three days of use, then 20 days away, then back opening five patients whom a colleague
    worked on an hour before (in a care episode): a locum back on the ward, not reported
    (short_outside_care 2). The same return opening two records nobody is caring for is reported,
    as is the first one with the option off (the default: the first generator's reused accounts
    open recent studies, in care), by a technologist (not in short_care_roles), or from a host the
    account never used (a sign)."""
    def back(outside: int, need: int = 2, role: str = "referring_physician",
             host: str = "ws-1") -> list[dict]:
        rules = load_rules()
        rules["detectors"]["dormant_account"]["params"]["short_outside_care"] = need
        eng = Engine(rules)
        who = user("locum", role, "medicine")
        colleague = user("ward", "referring_physician", "medicine")
        last = _established(eng, who, days=3)
        t = last + 20 * DAY
        for i in range(5):  # the colleague's round, an hour before
            eng.process(event(f"c{i}", t - HOUR + i * 60_000, colleague, patient=f"W{i}",
                              study={"uid": f"w{i}", "department": "medicine"}))
        client = {"ip": "10.0.0.5", "host": host, "remote": False}
        out = {a["alert_id"]: a for a in eng.process(event("l0", t, who, "login", client=client))[1]}
        for i in range(5):
            pid = f"N{i}" if i < outside else f"W{i}"
            for a in eng.process(event(f"l{i + 1}", t + (i + 1) * 60_000, who, patient=pid, client=client,
                                       study={"uid": f"s{pid}", "department": "medicine"}))[1]:
                out[a["alert_id"]] = a
        return [a for a in out.values() if a["detector"] == "dormant_account"]

    assert not back(0)
    assert not back(1)
    assert len(back(2)) == 1
    assert len(back(0, need=0)) == 1
    assert load_rules()["detectors"]["dormant_account"]["params"]["short_outside_care"] == 0
    assert len(back(0, role="technologist")) == 1
    signed = back(0, host="ws-unknown")
    assert len(signed) == 1 and "never used" in signed[0]["summary"]


def test_a_silence_beyond_any_leave_alerts_without_a_sign():
    eng = Engine()
    usual = user("u5", "technologist", "ct")
    last = _established(eng, usual)
    assert not come_back(eng, "a0", last + 30 * DAY, usual)  # four weeks: a leave, not reported
    eng = Engine(_quiet_rules())
    last = _established(eng, usual)
    quiet = come_back(eng, "a", last + 30 * DAY, usual)
    assert [(a["detector"], a["severity"]) for a in quiet] == [("dormant_account", "low")]
    eng = Engine()
    last = _established(eng, usual)
    loud = eng.process(event("b", last + 43 * DAY, usual, "login"))[1]
    assert [(a["detector"], a["severity"]) for a in loud] == [("dormant_account", "medium")]


def test_session_history_flags_survive_serialisation():
    eng = Engine()
    who = user("rm", "radiologist", "ct", mfa=False)
    eng.process(event("a", START + 9 * HOUR, who, "login", client={"ip": "1.2.3.4", "host": "h", "remote": True}))
    st = UserState.from_bytes(eng.export_user("rm"))
    assert st.flags & 8 and st.flags & 16
    eng.process(event("b", START + 9 * HOUR, user("lc", "radiologist", "ct"), "login"))
    st = UserState.from_bytes(eng.export_user("lc"))
    assert not st.flags & 8 and not st.flags & 16


# --- patient_sweep ---------------------------------------------------------------------------
def _light_history(eng, who, days=10):
    for d in range(days):
        for i in range(5):
            eng.process(event(f"h{who['id']}{d}-{i}", START + d * DAY + 10 * HOUR + i * 600_000, who,
                              patient=f"H{who['id']}{d}-{i}", study={"uid": f"h.{d}.{i}", "department": "er"}))


def _burst(eng, who, prefix, t, n=200, step_ms=30_000, department="er"):
    """n openings of new patients by who from t, one every step_ms: the detectors that fired."""
    got = []
    for i in range(n):
        got += _detectors(eng, event(f"{prefix}{i}", t + i * step_ms, who, patient=f"{prefix}P{i}",
                                     study={"uid": f"{prefix}.{i}", "department": department}))
    return got


def test_a_burst_of_patients_in_colleagues_care_is_not_a_sweep_but_random_records_are():
    t = START + 12 * DAY + 9 * HOUR
    tech = user("tech", "technologist", "er")
    # out of care: the same volume of records nobody worked on lately
    eng = Engine()
    ref = user("ref", "referring_physician", "er")
    _light_history(eng, ref)
    assert "patient_sweep" in _burst(eng, ref, "S", t)
    # in care: the technologist imported every one of them an hour or two before
    eng = Engine()
    _light_history(eng, ref)
    for i in range(200):
        eng.process(event(f"imp{i}", t - 2 * HOUR + i * 20_000, tech, "import", patient=f"CP{i}",
                          study={"uid": f"C.{i}", "department": "er"}))
    assert "patient_sweep" not in _burst(eng, ref, "C", t)
    st = eng.user_state("ref")
    share, n = st.care_share()
    assert share > 0.9 and n > 10


def test_a_sweep_alert_names_the_openings_of_its_window_not_only_the_one_that_tipped_it():
    from models.rules import load_rules

    def sweep(rules=None):
        eng = Engine(rules)
        ref = user("ref3", "referring_physician", "er")
        _light_history(eng, ref)
        out = []
        for i in range(200):
            out += eng.process(event(f"W{i}", START + 12 * DAY + 9 * HOUR + i * 30_000, ref, patient=f"WP{i}",
                                     study={"uid": f"W.{i}", "department": "er"}))[1]
        return [a for a in out if a["detector"] == "patient_sweep"], eng
    alerts, eng = sweep()
    first = alerts[0]
    tipped = int(first["event_ids"][0][1:])
    assert tipped >= 30  # the count crossed its limit well into the sweep
    named = {int(e[1:]) for e in first["event_ids"]}
    # it names the openings before it, from about the 30th distinct patient of the day on (the
    # distinct count is an estimate)
    assert 25 <= min(named) <= 35 and set(range(min(named), tipped + 1)) <= named
    assert first["event_count"] == len(first["event_ids"])
    assert len(eng.trails["ref3"]) == 100  # the latest openings only
    # without a trail: only the tipping event and those after it
    rules = load_rules()
    rules["detectors"]["patient_sweep"]["params"]["trail_from"] = 10_000
    alerts, eng = sweep(rules)
    assert alerts[0]["event_ids"] == [f"W{tipped}"] and not eng.trails


def test_a_long_sweep_counts_each_opening_once_after_its_event_ids_are_full():
    def sweep(max_ids):
        eng = Engine()
        eng.max_ids = max_ids
        ref = user("ref4", "referring_physician", "er")
        _light_history(eng, ref)
        last = None
        for i in range(300):
            for a in eng.process(event(f"L{i}", START + 12 * DAY + 9 * HOUR + i * 30_000, ref,
                                       patient=f"LP{i}", study={"uid": f"L.{i}", "department": "er"}))[1]:
                if a["detector"] == "patient_sweep":
                    last = a
        return last
    full, capped = sweep(500), sweep(20)
    assert full["event_count"] == len(full["event_ids"]) < 300  # every opening named once
    # capped at 20 ids, the count still tells how many openings the incident had, not the
    # trail of 100 counted again on every hit
    assert len(capped["event_ids"]) == 20 and capped["event_count"] == full["event_count"]


def test_in_care_bursts_still_meet_the_ceiling():
    eng = Engine()
    ref = user("ref2", "referring_physician", "er")
    tech = user("tech2", "technologist", "er")
    t = START + 12 * DAY + 9 * HOUR
    _light_history(eng, ref)
    for i in range(400):
        eng.process(event(f"imp{i}", t - 2 * HOUR + i * 10_000, tech, "import", patient=f"KP{i}",
                          study={"uid": f"K.{i}", "department": "er"}))
    got = []
    for i in range(400):  # 400 distinct patients in 40 minutes: above the hourly ceiling
        got += _detectors(eng, event(f"k{i}", t + i * 6_000, ref, patient=f"KP{i}",
                                     study={"uid": f"K.{i}", "department": "er"}))
    assert "patient_sweep" in got


def test_care_counts_round_trip_and_old_states_load():
    st = UserState()
    st.advance(START)
    st.note_care(START, True, 7_200_000)
    st.note_care(START + 60_000, False, 7_200_000)
    back = UserState.from_bytes(st.to_bytes())
    assert (back.care_n, back.care_in, back.care_ms) == (st.care_n, st.care_in, st.care_ms)
    assert 0.4 < back.care_share()[0] < 0.6
    # a state written before the opening habit (version 4) loads with it at zero
    st.note_open(True)
    raw = lz4.block.decompress(st.to_bytes())
    fields = list(_HEADER.unpack_from(raw, 0))
    assert fields[-2:] == [st.opens, st.fresh_opens] and st.opens == 1.0
    fields[0] = 4
    v4 = UserState.from_bytes(lz4.block.compress(_HEADER_V4.pack(*fields[:-2]) + raw[_HEADER.size:]))
    assert (v4.opens, v4.fresh_opens) == (0.0, 0.0) and v4.peaks == st.peaks and v4.care_n == st.care_n
    assert v4.dprof == st.dprof
    # the layout before weekend days (versions 2 and 3: a 24-byte hour profile)
    st.dprof[10] = 7
    st.incidents = {"x": {"n": 1}}
    st.dprof = st.dprof[:24]
    raw = lz4.block.decompress(st.to_bytes())
    st.dprof.append(0)
    fields = list(_HEADER.unpack_from(raw, 0))
    fields[0] = 3
    v3 = UserState.from_bytes(lz4.block.compress(_HEADER_V3.pack(*fields[:28]) + raw[_HEADER.size:]))
    assert v3.care_n == st.care_n and v3.dprof == st.dprof and v3.incidents == st.incidents
    # a state written before the care fields existed (version 2) loads with them at zero
    fields[0] = 2
    old = _HEADER_V2.pack(*fields[:25]) + raw[_HEADER.size:]
    v2 = UserState.from_bytes(lz4.block.compress(old))
    assert (v2.care_n, v2.care_ms) == (0.0, 0) and v2.first_ms == st.first_ms
    assert v2.dprof == st.dprof and len(v2.dprof) == 25 and v2.incidents == st.incidents


# --- odd_hours -------------------------------------------------------------------------------
def test_the_departments_working_day_is_not_odd_for_an_evening_class_member():
    eng = Engine()
    day_staff = [user(f"day{i}", "referring_physician", "cardio") for i in range(8)]
    # evening-class members (home checks after clinic): enough member-days to be their own peers
    evenings = [user(f"eve{i}", "referring_physician", "cardio") for i in range(5)]
    evening = evenings[0]
    for d in range(14):
        for i, who in enumerate(day_staff):
            for h in (8, 10, 12, 14):
                eng.process(event(f"w{d}-{i}-{h}", START + d * DAY + h * HOUR + i * 60_000, who,
                                  patient=f"P{d}{i}{h}", study={"uid": f"s{d}{i}{h}", "department": "cardio"}))
        for i, who in enumerate(evenings):
            for h in (18, 19, 20):
                eng.process(event(f"e{d}-{i}-{h}", START + d * DAY + h * HOUR + i * 60_000, who,
                                  patient=f"E{d}{i}{h}", study={"uid": f"e{d}{i}{h}", "department": "cardio"}))
    t = START + 14 * DAY
    got = []
    for i in range(5):  # 10:00, when most of the department works
        got += _detectors(eng, event(f"m{i}", t + 10 * HOUR + i * 60_000, evening, patient=f"M{i}",
                                     study={"uid": f"m{i}", "department": "cardio"}))
    assert "odd_hours" not in got
    got = []
    for i in range(5):  # 03:00: nobody of the department works then
        got += _detectors(eng, event(f"n{i}", t + DAY + 3 * HOUR + i * 60_000, evening, patient=f"N{i}",
                                     study={"uid": f"n{i}", "department": "cardio"}))
    assert "odd_hours" in got


# --- self_access -----------------------------------------------------------------------------
def _watch(eng, employee: bool = True):
    eng.update_watchlist({"patient_id": "EMP1", "category": "employee", "employee_user_id": "sched"})
    if not employee:
        eng.update_watchlist({"patient_id": "EMP1", "category": ""})


def test_own_record_alerts_on_opening_not_on_a_worklist_row():
    eng = Engine()
    _watch(eng)
    sched = user("sched", "scheduler", "neuro", name="Ngozi Miller")
    t = START + 9 * HOUR
    assert "self_access" not in _detectors(eng, event("q", t, sched, "query", patient="EMP1",
                                                      patient_name="MILLER^NGOZI", detail={"query": "worklist"}))
    assert "self_access" in _detectors(eng, event("v", t + 60_000, sched, "view", patient="EMP1",
                                                  study={"uid": "1", "department": "neuro"}))


def test_a_namesake_in_the_users_own_work_is_not_self_access_when_employees_are_mapped():
    rad = user("akow", "referring_physician", "neuro", name="Aaron Kowalski")
    own = {"uid": "1.1", "department": "neuro"}
    other = {"uid": "1.2", "department": "oncology"}
    t = START + 9 * HOUR
    eng = Engine()
    _watch(eng)  # the hospital maps its employees' records; this patient is not mapped to akow
    assert "self_access" not in _detectors(eng, event("a", t, rad, patient="P1", patient_name="KOWALSKI^AARON",
                                                      study=own))
    assert "self_access" not in _detectors(eng, event("b", t, rad, "import", patient="P1",
                                                      patient_name="KOWALSKI^AARON",
                                                      study={"uid": "1.3", "department": "cardiology"}))
    assert "self_access" in _detectors(eng, event("c", t + 60_000, rad, patient="P2",
                                                  patient_name="KOWALSKI^AARON", study=other))
    # without an employee mapping the full name is the only clue: reported wherever it is
    eng = Engine()
    _watch(eng, employee=False)
    assert "self_access" in _detectors(eng, event("d", t, rad, patient="P1", patient_name="KOWALSKI^AARON",
                                                  study=own))


def test_an_import_opens_a_care_episode_for_the_technologist_too():
    from streamer.score.engine import Shared
    sh = Shared()
    w = 72 * HOUR
    assert not sh.note_patient(1, 10, START, w)                    # first view by anyone: no episode
    assert not sh.note_patient(1, 10, START + HOUR, w)             # their own second look: still none
    assert sh.note_patient(1, 11, START + 2 * HOUR, w)             # a colleague worked on them
    assert not sh.note_patient(1, 11, START + 80 * HOUR, w)        # ... but not within 72 h
    assert sh.note_patient(2, 20, START, w, acquired=True)         # the import itself is care
    assert sh.note_patient(2, 20, START + HOUR, w)                 # and the importer's own checks
    assert not sh.note_patient(2, 20, START + 75 * HOUR, w)        # until the episode is over


def test_another_departments_current_patients_are_not_the_users_care():
    t = START + 12 * DAY + 9 * HOUR
    eng = Engine()
    ref = user("refx", "referring_physician", "er")
    onc_tech = user("onct", "technologist", "oncology")
    _light_history(eng, ref)
    for i in range(200):  # oncology imported them: in oncology's care, not the ER physician's
        eng.process(event(f"imp{i}", t - 2 * HOUR + i * 20_000, onc_tech, "import", patient=f"OP{i}",
                          study={"uid": f"O.{i}", "department": "oncology"}))
    got = []
    for i in range(200):
        got += _detectors(eng, event(f"o{i}", t + i * 30_000, ref, patient=f"OP{i}",
                                     study={"uid": f"O.{i}", "department": "oncology"}))
    assert "patient_sweep" in got
    assert eng.user_state("refx").care_share()[0] < 0.1


def test_a_colleagues_few_night_sessions_are_not_a_rota_covering_most_nights():
    """day_share counts calendar days: one member working 01:00-05:59 on 3 of 20 days covers 03:00
    on 3 days (0.15), not 15 (the sum over the five hours around it)."""
    from models.features import PeerStats

    peers = PeerStats()
    night = sum(1 << h for h in range(1, 6))
    day = sum(1 << h for h in range(8, 17))
    for d in range(20):
        for member in range(5):
            peers.add_day_hours(d, 0, day)
        if d in (3, 9, 15):
            peers.add_day_hours(d, 0, night)
    for d in (20, 21, 22):  # later days push the last pending days into the counts
        peers.add_day_hours(d, 0, day)
    assert abs(peers.day_share(0, 3, 5) - 3 / 21) < 1e-9
    assert peers.day_share(0, 12, 5) == 1.0


# --- odd_hours: the site's clock, weekends, the group's main shift ----------------------------
def _local(ev: dict, ms: int, offset_h: int) -> dict:
    """The event with its time written in local time at UTC`offset_h` (same instant)."""
    sign = "-" if offset_h < 0 else "+"
    local = format_ms(ms + offset_h * HOUR)[:-1]
    ev["event_time"] = f"{local}{sign}{abs(offset_h):02d}:00"
    return ev


def test_hours_of_day_are_the_offset_written_in_the_event_time():
    eng = Engine()
    who = user("tz1", "technologist", "ct")
    for d in range(6):  # 09:00 local at UTC-5 is 14:00 UTC
        ms = START + d * DAY + 14 * HOUR
        eng.process(_local(event(f"t{d}", ms, who), ms, -5))
    st = eng.user_state("tz1")
    assert st.dprof[9] == 5 and st.dprof[14] == 0  # the sixth day is still open
    assert eng.process(_local(event("t9", START + 6 * DAY + 14 * HOUR, who), START + 6 * DAY + 14 * HOUR, -5)
                       )[0]["enrichment"]["features"]["hour_activity_self"] == 1.0


def test_a_configured_site_timezone_wins_over_utc_times_and_keeps_daylight_saving():
    rules = load_rules()
    rules["baseline"]["site_timezone"] = "America/New_York"
    eng = Engine(rules)
    who = user("tz2", "technologist", "ct")
    # 2026-11-02 is after the end of daylight saving (Nov 1): 08:00 local = 13:00 UTC
    for d in range(6):
        eng.process(event(f"n{d}", START + d * DAY + 13 * HOUR, who))
    assert eng.user_state("tz2").dprof[8] == 5
    # the setting (STREAMER_SITE_TIMEZONE, replay --site-timezone) wins over the rules
    eng2 = Engine(rules, site_timezone="Asia/Kolkata")  # +05:30: 13:00 UTC is 18:30
    for d in range(6):
        eng2.process(event(f"k{d}", START + d * DAY + 13 * HOUR, who))
    assert eng2.user_state("tz2").dprof[18] == 5 and eng2.user_state("tz2").dprof[8] == 0
    bad = load_rules()
    bad["baseline"]["site_timezone"] = "Mars/Olympus_Mons"
    with pytest.raises(ValueError, match="site_timezone"):
        Engine(bad)


def _weekday_group(eng, dept: str, n: int, weeks: int, weekend_every: int = 0) -> list[dict]:
    """`n` day-shift members working Monday to Friday 08-16 for `weeks` weeks (START is a
    Monday); with `weekend_every` > 0, member i also works the weekends of weeks where
    (week + i) % weekend_every == 0 (a weekend rota)."""
    staff = [user(f"{dept}{i}", "technologist", dept) for i in range(n)]
    for w in range(weeks):
        for dow in range(7):
            for i, who in enumerate(staff):
                if dow >= 5 and not (weekend_every and (w + i) % weekend_every == 0):
                    continue
                t = START + (7 * w + dow) * DAY
                for h in (8, 11, 14):
                    eng.process(event(f"{who['id']}-{w}-{dow}-{h}", t + h * HOUR + i * 60_000, who,
                                      patient=f"P{w}{dow}{i}{h}",
                                      study={"uid": f"s{w}{dow}{i}{h}", "department": dept}))
    return staff


def _saturday(eng, who, week: int) -> list[str]:
    got = []
    t = START + (7 * week + 5) * DAY + 10 * HOUR
    for i in range(5):
        got += _detectors(eng, event(f"sat-{who['id']}-{i}", t + i * 60_000, who, patient=f"S{i}",
                                     study={"uid": f"sat{i}", "department": who["department"]}))
    return got


def test_a_weekend_is_odd_in_a_department_closed_at_weekends():
    eng = Engine()
    staff = _weekday_group(eng, "mri", 6, 4)
    got = eng.process(event("sat-x", START + (7 * 4 + 5) * DAY + 10 * HOUR, staff[0], patient="SX",
                            study={"uid": "satx", "department": "mri"}))[1]
    got += [a for i in range(4) for a in eng.process(event(
        f"sat-y{i}", START + (7 * 4 + 5) * DAY + 10 * HOUR + (i + 1) * 60_000, staff[0], patient=f"SY{i}",
        study={"uid": f"saty{i}", "department": "mri"}))[1]]
    odd = [a for a in got if a["detector"] == "odd_hours"]
    assert odd and "weekend" in odd[0]["summary"]
    feats = {e["feature"]: e for e in odd[0]["explanation"]}
    assert feats["weekend_activity_self"]["value"] == 0.0 and feats["weekend_activity_peer"]["value"] == 0.0


def test_a_newcomer_to_a_weekend_department_is_not_odd_but_a_member_who_never_works_one_is():
    eng = Engine()
    staff = _weekday_group(eng, "ed", 6, 3, weekend_every=1)  # the whole team works weekends
    # a colleague who joined and worked three weeks of weekdays: their weekend may come yet
    new = user("ednew", "technologist", "ed")
    for d in [7 * w + dow for w in (2, 3, 4) for dow in range(5)]:
        for h in (8, 11, 14):
            eng.process(event(f"new-{d}-{h}", START + d * DAY + h * HOUR, new, patient=f"N{d}{h}",
                              study={"uid": f"n{d}{h}", "department": "ed"}))
    assert eng.user_state("ednew").weekend_share(15) == -1.0  # 14 closed days: not judged yet
    assert "odd_hours" not in _saturday(eng, new, 4)  # 15 days x the group's share: < 8 expected
    # the group's weekend share x 60 weekday-only days: about 10 weekend days expected, none worked
    loner = user("edlone", "technologist", "ed")
    for w in range(12):
        for dow in range(5):
            eng.process(event(f"l-{w}-{dow}", START + (7 * w + dow) * DAY + 9 * HOUR - 42 * DAY, loner,
                              patient=f"L{w}{dow}", study={"uid": f"l{w}{dow}", "department": "ed"}))
    assert staff and "odd_hours" in _saturday(eng, loner, 6)


def test_a_first_remote_session_on_a_weekend_is_odd_where_the_group_has_a_weekend_rota():
    """A weekday-only member of a group with a weekend rota (one in four weekends each) works a
    Saturday from home, a remote client the account never used: reported after two weeks of
    weekdays. The same Saturday on site is the rota (no alert), and so is the remote one with
    the rule off (weekend_remote_min_days 0)."""
    home = {"ip": "203.0.113.9", "host": "home-pc", "remote": True}

    def saturday(rules=None, client=None):
        eng = Engine(rules)
        _weekday_group(eng, "us", 8, 3, weekend_every=4)
        who = user("uslone", "technologist", "us")
        for d in [7 * w + dow for w in range(3) for dow in range(5)]:
            for h in (8, 11, 14):
                eng.process(event(f"lone-{d}-{h}", START + d * DAY + h * HOUR, who, patient=f"U{d}{h}",
                                  study={"uid": f"u{d}{h}", "department": "us"}))
        got = []
        t = START + (7 * 3 + 5) * DAY + 10 * HOUR
        for i in range(5):
            extra = {"client": client} if client else {}
            got += eng.process(event(f"sat{i}", t + i * 60_000, who, patient=f"S{i}",
                                     study={"uid": f"sat{i}", "department": "us"}, **extra))[1]
        return [a for a in got if a["detector"] == "odd_hours"]

    odd = saturday(client=home)
    assert odd and "first remote access" in odd[0]["summary"]
    assert "first_remote_access" in [e["feature"] for e in odd[0]["explanation"]]
    assert not saturday()
    rules = load_rules()
    rules["detectors"]["odd_hours"]["params"]["weekend_remote_min_days"] = 0
    assert not saturday(rules, client=home)


def test_the_main_shift_of_a_site_far_from_utc_is_judged_at_night():
    """Events in UTC from a site at UTC-5: its day staff (08-17 local = 13-22 UTC) fall in the
    "evening" class and its night staff (22-05 local = 03-10 UTC) in the "day" class; the night
    staff's hours are not the department's working day for the day staff."""
    eng = Engine()
    day_staff = [user(f"d{i}", "radiologist", "womens") for i in range(8)]
    night_staff = [user(f"n{i}", "radiologist", "womens") for i in range(3)]
    for d in range(30):
        for i, who in enumerate(day_staff):
            for h in (13, 15, 17, 19, 21):
                eng.process(event(f"w{d}-{i}-{h}", START + d * DAY + h * HOUR + i * 60_000, who,
                                  patient=f"P{d}{i}{h}", study={"uid": f"s{d}{i}{h}", "department": "womens"}))
        for i, who in enumerate(night_staff):
            for h in (3, 5, 7, 9):
                eng.process(event(f"x{d}-{i}-{h}", START + d * DAY + h * HOUR + i * 60_000, who,
                                  patient=f"Q{d}{i}{h}", study={"uid": f"q{d}{i}{h}", "department": "womens"}))
    assert eng.user_state("d0").shift == 1 and eng.user_state("n0").shift == 0
    got = []
    for i in range(5):  # 08:20 UTC = 03:20 local: the night staff's hours, not the day staff's
        got += _detectors(eng, event(f"late{i}", START + 30 * DAY + 8 * HOUR + (20 + i) * 60_000, day_staff[0],
                                     patient=f"L{i}", study={"uid": f"l{i}", "department": "womens"}))
    assert "odd_hours" in got
    got = []
    for i in range(5):  # and the night staff at the department's working day is not odd
        got += _detectors(eng, event(f"noon{i}", START + 31 * DAY + 15 * HOUR + i * 60_000, night_staff[0],
                                     patient=f"M{i}", study={"uid": f"m{i}", "department": "womens"}))
    assert "odd_hours" not in got


def test_a_day_worker_at_night_is_judged_by_their_department_before_the_role_hospital_wide():
    """The MR department works days and evenings, never at 01:00; too few of its members are
    day class to make a class profile, so the department as a whole is the baseline, not the
    technologists of the whole hospital, whose day-class members in radiography take night turns.
    A day MR technologist at 01:00 is odd."""
    eng = Engine()
    mr_day = [user(f"md{i}", "technologist", "mr") for i in range(3)]
    mr_eve = [user(f"me{i}", "technologist", "mr") for i in range(5)]
    cr = [user(f"cr{i}", "technologist", "cr") for i in range(12)]
    for d in range(12):
        for u in mr_day:
            _shift_views(eng, u, d, 8)
        for u in mr_eve:
            _shift_views(eng, u, d, 14)
        for k, u in enumerate(cr):
            _shift_views(eng, u, d, 8)
            if d % 3 == k % 3:
                _shift_views(eng, u, d, 1, hours=1)
    assert eng.peers["technologist|mr"].ddays[0] < eng.peer_min_days  # no day-class profile
    assert "odd_hours" in _burst(eng, mr_day[0], "N", START + 12 * DAY + HOUR, 6, 120_000, "mr")
    # a radiographer on their night turn is not
    assert "odd_hours" not in _burst(eng, cr[0], "M", START + 12 * DAY + HOUR, 6, 120_000, "cr")


def _shift_views(eng, who, day, start_h, hours=8, step_min=30):
    t = START + day * DAY + start_h * HOUR
    for i in range(hours * 60 // step_min):
        ms = t + i * step_min * 60_000
        eng.process(event(f"{who['id']}-{ms}", ms, who, patient=f"{who['id']}P{i}",
                          study={"uid": f"{who['id']}.{day}.{i}", "department": who["department"]}))


def _rota(eng, days, *teams):
    """Every member of every team (members, start hour) works an 8-hour shift each day."""
    for d in range(days):
        for members, start_h in teams:
            for u in members:
                _shift_views(eng, u, d, start_h)


def test_a_day_class_member_at_night_is_judged_where_most_of_the_department_works_nights():
    """An emergency department whose technologists are mostly on nights: the night shift is
    its main class, and 03:00 is within that shift's core hours. That exempts its evening staff
    at those hours, not a day technologist, who never works then and whose day-class colleagues
    never do either (var/heldout M: a day technologist at 03:27 went unreported)."""
    eng = Engine()
    nights = [user(f"tn{i}", "technologist", "ed") for i in range(12)]
    days = [user(f"td{i}", "technologist", "ed") for i in range(8)]
    _rota(eng, 14, (nights, 22), (days, 8))
    gp = eng.peers["technologist|ed"]
    assert max((0, 1, 2), key=lambda c: gp.ddays[c]) == 2  # the night shift is the main class
    assert gp.ddays[0] >= eng.peer_min_days  # and the day class has its own profile
    assert eng.user_state("td0").shift_class(5) == 0
    assert "odd_hours" in _burst(eng, days[0], "D", START + 14 * DAY + 3 * HOUR, 6, 120_000, "ed")
    assert "odd_hours" not in _burst(eng, nights[0], "E", START + 14 * DAY + 3 * HOUR, 6, 120_000, "ed")  # at work


def test_a_light_physicians_sweep_is_judged_below_the_floor_of_busy_readers():
    """Ward physicians open a handful of patients a day, like their colleagues. One of them
    opening 60 patients nobody in their department is caring for, over three hours (20 an hour),
    stays under the floors meant for busy readers (40 an hour, 100 a day); the light floor
    (light_minimum, for light_roles whose typical day and group's are at most light_typical)
    reports it. A busy reader's group, and roles outside light_roles, keep the usual floor."""
    def run(light: bool, role: str = "referring_physician", per_day: int = 6) -> list[str]:
        rules = load_rules()
        if not light:
            rules["detectors"]["patient_sweep"]["params"].pop("light_minimum")
        eng = Engine(rules)
        ward = [user(f"w{i}", role, "ward") for i in range(4)]
        for d in range(12):
            for u in ward:
                for i in range(per_day):
                    eng.process(event(f"{u['id']}-{d}-{i}", START + d * DAY + 9 * HOUR + i * 1_200_000,
                                      u, patient=f"{u['id']}P{d}-{i}",
                                      study={"uid": f"{u['id']}.{d}.{i}", "department": "chest"}))
        return _burst(eng, ward[0], "ED", START + 12 * DAY + 9 * HOUR, 60, 180_000, "chest")

    assert "patient_sweep" in run(True)
    assert "patient_sweep" not in run(False)
    assert "patient_sweep" not in run(True, "radiologist", per_day=30)  # a reader's day: not light
    assert "patient_sweep" not in run(True, "technologist")  # not a light role


def test_a_light_physicians_round_in_the_care_workflow_stays_under_the_usual_floor():
    """The light floor is for openings outside the care workflow. A ward physician's round of 55
    patients their colleagues are caring for, and the next morning's first patient after the
    night, when the decayed count of recent openings says little about the care share (but the
    share is still all in care), are work (var/heldout O, J: 60-67 patients, all in care)."""
    def run(light_ok_rule: bool) -> list[str]:
        eng = Engine()
        ward = [user(f"w{i}", "referring_physician", "ward") for i in range(4)]
        nurse = user("tech0", "technologist", "ward")
        for d in range(12):
            for u in ward:
                for i in range(6):
                    eng.process(event(f"{u['id']}-{d}-{i}", START + d * DAY + 9 * HOUR + i * 1_200_000,
                                      u, patient=f"{u['id']}P{d}-{i}",
                                      study={"uid": f"{u['id']}.{d}.{i}", "department": "ward"}))
        det = next(d for d in eng.detectors if d.name == "patient_sweep")
        if not light_ok_rule:
            det.params["care_factor"] = 0  # no care workflow: every opening looks like a sweep
        got = []
        t = START + 12 * DAY + 12 * HOUR
        for i in range(56):  # 12:00-16:30, and 10:00 the next morning
            ms = t + i * 300_000 if i < 55 else START + 13 * DAY + 10 * HOUR
            eng.process(event(f"c{i}", ms - 1_200_000, nurse, patient=f"R{i}",
                              study={"uid": f"r.{i}", "department": "ward"}))
            got += _detectors(eng, event(f"r{i}", ms, ward[0], patient=f"R{i}",
                                         study={"uid": f"r.{i}", "department": "ward"}))
        return got

    assert "patient_sweep" not in run(True)
    assert "patient_sweep" in run(False)  # the same volume outside the care workflow is judged


def test_an_evening_the_role_works_across_the_hospital_is_not_odd_in_a_department_that_does_not():
    """Physicians of other departments look at results from home at 20:00 on some evenings; the
    neurology physicians never have. A neurology physician at 20:00 is not at an odd hour (one
    department is too few people to call an evening odd); at 01:00, which neither the department
    nor the role works, they are (role_hours covers evenings only)."""
    def run(role_hours: list[int], hour: int) -> list[str]:
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["role_hours"] = role_hours
        eng = Engine(rules)
        neuro = [user(f"nr{i}", "referring_physician", "neurology") for i in range(6)]
        others = [user(f"ot{i}", "referring_physician", f"dept{i % 4}") for i in range(16)]
        for d in range(14):
            for u in neuro + others:
                _shift_views(eng, u, d, 8)
            for k, u in enumerate(others):
                if (d + k) % 3 == 0:  # an evening check from home on every third day
                    _shift_views(eng, u, d, 20, hours=1)
        return _burst(eng, neuro[0], "E", START + 14 * DAY + hour * HOUR, 6, 120_000, "neurology")

    assert "odd_hours" in run([], 20)  # judged by the department alone: odd
    assert "odd_hours" not in run([18, 19, 20, 21], 20)
    assert "odd_hours" in run([18, 19, 20, 21], 1)


def test_a_ticketed_change_window_at_night_is_planned_maintenance():
    """A PACS administrator who works days changes the configuration at 23:00 under an approved
    change ticket, then moves 40 old studies to the archive tier: planned maintenance, not odd
    hours (ticket_keys, ticket_hours). The same night's work without a ticket is odd, and so is
    the next night's, hours after the window closed."""
    def run(ticket: str | None, next_night: bool = False) -> list[str]:
        eng = Engine()
        admins = [user(f"ad{i}", "system_administrator", "informatics") for i in range(6)]
        for d in range(14):
            for u in admins:
                _shift_views(eng, u, d, 8)
        t = START + 14 * DAY + 23 * HOUR
        detail = {"setting": "archive.tier_policy"} | ({"change_ticket": ticket} if ticket else {})
        got = _detectors(eng, event("cfg", t, admins[0], "config_change", detail=detail))
        if next_night:
            t += DAY
        for i in range(40):
            got += _detectors(eng, event(f"ar{i}", t + 60_000 + i * 20_000, admins[0], "archive",
                                         patient=f"OLD{i}", study={"uid": f"old.{i}", "department": "ct"},
                                         detail={"tier": "deep_archive"}))
        return got

    assert "odd_hours" not in run("CHG0042")
    assert "odd_hours" in run(None)
    assert "odd_hours" in run("CHG0042", next_night=True)


def test_a_burst_of_patients_nobody_is_caring_for_is_judged_on_half_the_limits():
    """Technologists whose days hold a batch hour of 30 patients: 60 patients in an hour is
    within 2.5 x their hourly habit. When almost none of those patients are in anyone's care and
    they come in a burst, the limits are halved (out_share, out_factor, out_burst: var/heldout3 P's
    technologist browsing 145 patients across departments in 2 h). A long day of as many
    patients (120, over 2 x their usual day) spread over ten hours is not a burst, and the same hour is not judged that way
    with out_factor off."""
    def run(out: bool, per_hour: int, hours: int, burst: bool = True) -> list[str]:
        rules = load_rules()
        if not out:
            rules["detectors"]["patient_sweep"]["params"].pop("out_factor")
        if not burst:
            rules["detectors"]["patient_sweep"]["params"].pop("out_burst")
        eng = Engine(rules)
        techs = [user(f"xr{i}", "technologist", "xr") for i in range(6)]
        for d in range(14):
            for u in techs:
                t = START + d * DAY + 8 * HOUR
                for i in range(24 + 30):  # three an hour for eight hours, then a batch hour of 30
                    ms = t + (i * 20 * 60_000 if i < 24 else 8 * HOUR + (i - 24) * 60_000)
                    eng.process(event(f"{u['id']}-{d}-{i}", ms, u, patient=f"{u['id']}P{d}-{i}",
                                      study={"uid": f"{u['id']}.{d}.{i}", "department": "xr"}))
        return _burst(eng, techs[0], "B", START + 14 * DAY + 8 * HOUR, per_hour * hours,
                      3_600_000 // per_hour, "xr")

    assert "patient_sweep" in run(True, 60, 1)
    assert "patient_sweep" not in run(False, 60, 1)
    assert "patient_sweep" not in run(True, 12, 10)  # a long day of 120: not a burst
    assert "patient_sweep" in run(True, 12, 10, burst=False)  # which out_burst tells apart


def test_a_day_reader_at_night_in_a_department_of_night_readers_is_judged_as_off_the_rota():
    """Two day radiologists are too few for a day-class profile, so their department's members
    of every class are the baseline: three night readers, who work 03:00 every night. A day
    radiologist at 03:00, never at night in 14 days where a member of that rota would have worked
    it twice, is at an odd hour (mixed_rota_hours; var/heldout Q); with the option off the night
    readers made it routine. A night reader at that hour is at work."""
    def run(hours: list[int], who: int) -> list[str]:
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["mixed_rota_hours"] = hours
        eng = Engine(rules)
        nights = [user(f"nn{i}", "radiologist", "onc") for i in range(3)]
        days = [user(f"dd{i}", "radiologist", "onc") for i in range(2)]
        _rota(eng, 14, (nights, 22), (days, 8))
        assert eng.peers["radiologist|onc"].ddays[0] < eng.peer_min_days  # no day-class profile
        return _burst(eng, (days + nights)[who], "N", START + 14 * DAY + 3 * HOUR, 6, 120_000, "onc")

    assert "odd_hours" in run([22, 23, 0, 1, 2, 3, 4, 5], 0)
    assert "odd_hours" not in run([], 0)
    assert "odd_hours" not in run([22, 23, 0, 1, 2, 3, 4, 5], 2)


def _rotation(eng, days_seen):
    """Ten day radiographers (cd*) and six who rotate (cr*): each rotating member works the night
    (23:00-07:00) one day in three, two of them every night, and days otherwise, so all sixteen
    are the day class and its members work 02:00 on one day in eight."""
    days = [user(f"cd{i}", "technologist", "cr") for i in range(10)]
    rot = [user(f"cr{i}", "technologist", "cr") for i in range(6)]
    for d in range(days_seen):
        for u in days:
            _shift_views(eng, u, d, 8)
        for i, u in enumerate(rot):
            _shift_views(eng, u, d, 23 if d % 3 == i // 2 else 8)
    assert eng.user_state("cr0").shift_class(5) == 0  # the rotating members are day class
    return days, rot


def test_a_day_member_never_on_a_rotation_that_puts_two_on_every_night_is_odd_at_night():
    """The rotating radiographers' nights made 02:00 routine for the day class (peer_max), and
    spread one member a night they would be one day in sixteen. A day radiographer with 30 days
    and no night is not on that rotation: a member would have worked 3.7 of them
    (rota_member_expected 3; var/heldout3 K, P, R: day technologists at 01:00-02:00, never on
    nights in 25-31 days, went unreported). A rotating member at 02:00 is at work, and a day
    radiographer with 20 days (2.5 expected) may just not have had a turn yet."""
    def run(need: float, who: str, days_seen: int = 30) -> list[str]:
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["rota_member_expected"] = need
        eng = Engine(rules)
        days, rot = _rotation(eng, days_seen)
        u = {"cd0": days[0], "cr1": rot[1]}[who]
        return _burst(eng, u, "N", START + days_seen * DAY + 2 * HOUR, 6, 120_000, "cr")

    assert "odd_hours" in run(3.0, "cd0")
    assert "odd_hours" not in run(0, "cd0")
    assert "odd_hours" not in run(3.0, "cr1")
    assert "odd_hours" not in run(3.0, "cd0", 20)


def test_a_day_member_who_moves_to_nights_is_reported_on_two_nights_not_every_night(monkeypatch):
    """A day radiographer moves to nights. The first two nights are reported; the second night
    in a row trains the working-hours profile (UserState.LEARN_REPEATED_ODD), so the third is
    their new shift. Without it no reported night ever trained the profile, and the alerts went
    on every night (var/heldout3 K: 12 nights). One odd night between ordinary days still
    leaves the profile as it was."""
    def nights(learn: bool, n: int, day_between: bool = False) -> list[bool]:
        monkeypatch.setattr(UserState, "LEARN_REPEATED_ODD", learn)
        eng = Engine()
        days, _ = _rotation(eng, 30)
        out = []
        for k in range(n):
            t = START + (30 + 2 * k if day_between else 30 + k) * DAY
            out.append("odd_hours" in _burst(eng, days[0], f"N{k}-", t + 2 * HOUR, 6, 120_000, "cr"))
            if day_between:
                _shift_views(eng, days[0], 31 + 2 * k, 8)
        return out

    assert nights(True, 3) == [True, True, False]
    assert nights(False, 3) == [True, True, True]
    assert nights(True, 3, day_between=True) == [True, True, True]


def test_an_archive_run_under_a_change_ticket_is_not_a_sweep_but_a_purge_or_an_unticketed_run_is():
    """A PACS administrator who opens a few records a day moves 250 old studies of 250 patients
    to the archive tier in an hour, each event naming the approved change: the records are the
    change's, not records opened, and are not counted as distinct patients (ticket_actions). The
    same run without a ticket is a sweep, so is the ticketed run with the option off, and so is
    a ticketed purge (delete is not listed)."""
    def run(ticket: bool, action: str = "archive", actions: tuple = ("archive",)) -> list[str]:
        rules = load_rules()
        rules["detectors"]["patient_sweep"]["params"]["ticket_actions"] = list(actions)
        eng = Engine(rules)
        admins = [user(f"ad{i}", "system_administrator", "informatics") for i in range(6)]
        for d in range(14):
            for u in admins:
                for i in range(4):
                    eng.process(event(f"{u['id']}-{d}-{i}", START + d * DAY + (9 + 2 * i) * HOUR, u,
                                      "query", patient=f"{u['id']}Q{d}-{i}"))
        t = START + 14 * DAY + 10 * HOUR
        got = []
        for i in range(250):
            detail = {"tier": "deep_archive"} | ({"change_ticket": "CHG0043133"} if ticket else {})
            got += _detectors(eng, event(f"ar{i}", t + i * 14_000, admins[0], action,
                                         patient=f"OLD{i}", study={"uid": f"old.{i}", "department": "ct"},
                                         detail=detail))
        return got

    assert "patient_sweep" not in run(True)
    assert "patient_sweep" in run(False)
    assert "patient_sweep" in run(True, actions=())
    assert "patient_sweep" in run(True, action="delete")


def test_a_busy_readers_day_is_judged_in_patients_not_in_sketch_slots(monkeypatch):
    """A reader of 80 patients a day (about 58 slots of the 128-slot sketch) opens 210 over ten
    hours: 2.6 x their usual day, near the factor of 2.5 over their upper day (about 92
    patients), not a sweep; 320 (4 x) is one. Compared with the baseline in sketch slots
    (DISTINCT_COUNTERS empty: 66 as the upper day), the 210 was one."""
    from models.detectors import base

    def day_of(n: int, distinct: bool) -> list[str]:
        if not distinct:
            monkeypatch.setattr(base, "DISTINCT_COUNTERS", ())
        else:
            monkeypatch.setattr(base, "DISTINCT_COUNTERS", (C_PAT, C_STUDY))
        eng = Engine()
        readers = [user(f"rd{i}", "radiologist", "body") for i in range(4)]
        for d in range(14):
            for u in readers:
                t = START + d * DAY + 8 * HOUR
                for i in range(80):
                    eng.process(event(f"{u['id']}-{d}-{i}", t + i * 360_000, u, patient=f"{u['id']}P{d}-{i}",
                                      study={"uid": f"{u['id']}.{d}.{i}", "department": "body"}))
        return _burst(eng, readers[0], "R", START + 14 * DAY + 8 * HOUR, n, 10 * HOUR // n, "body")

    assert "patient_sweep" not in day_of(210, True)
    assert "patient_sweep" in day_of(320, True)
    assert "patient_sweep" in day_of(210, False)


def test_a_night_hour_no_member_has_worked_is_odd_just_past_an_on_call_tail():
    """Day radiologists, four of whom take turns at on-call reading from 00:00 to 03:00: the
    class's hours 00-02 are routine, and the +-1 h tolerance of the peer measures made 03:00
    routine too, though no member ever worked it (var/heldout U: a day radiologist's session
    begun at 03:19 went unreported). A session begun at 03:00 by a day member who was never on
    call is odd (unworked_min_days; 0: off); the same member working on from 00:00 is judged as
    the tail, not as a session begun at 03:00. Three sporadic on-call nights do not show where
    the tail ends (unworked_tail_days): a newcomer's 03:00 is then judged by the rota rule,
    which expects fewer than two nights of them yet (var/eval seed 4: two false alerts)."""
    def run(min_days: int, start_h: int, nights=range(14), tail: int = 6, joined: int = 0):
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["unworked_min_days"] = min_days
        rules["detectors"]["odd_hours"]["params"]["unworked_tail_days"] = tail
        eng = Engine(rules)
        rads = [user(f"rd{i}", "radiologist", "breast") for i in range(10)]
        for d in range(14):
            if d in nights:
                _shift_views(eng, rads[1 + d % 4], d, 0, hours=3, step_min=15)  # on call
            for u in rads[1:] if d < joined else rads:
                _shift_views(eng, u, d, 8)
        assert eng.user_state("rd0").shift_class(5) == 0 and eng.user_state("rd1").shift_class(5) == 0
        t = START + 14 * DAY + start_h * HOUR
        return _burst(eng, rads[0], "N", t, 6 if start_h == 3 else 66, 180_000, "breast")

    assert "odd_hours" in run(7, 3)
    assert "odd_hours" not in run(0, 3)
    assert "odd_hours" not in run(7, 0)  # from 00:00 through 03:15 without a break
    assert "odd_hours" not in run(7, 3, nights=(0, 5, 10), joined=8)
    assert "odd_hours" in run(7, 3, nights=(0, 5, 10), joined=8, tail=1)


def test_a_night_hour_in_a_gap_after_evening_on_call_is_odd():
    """Day radiologists, four of whom take turns at evening on-call reading from 20:00 to 23:00:
    no member ever worked 23:00-02:00, but the -2 h reach of the peers' day share (work spills
    over after a shift) made 22:00 cover 00:00, and a newcomer to the class was then expected on
    too few rota nights to be judged (var/heldout3 E1: a part-time day radiologist's session at
    00:24 after six days went unreported). An unworked hour after an unworked hour is a gap, not
    a tail (unworked_min_days; 0: off)."""
    def run(min_days: int):
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["unworked_min_days"] = min_days
        eng = Engine(rules)
        rads = [user(f"rd{i}", "radiologist", "msk") for i in range(10)]
        for d in range(14):
            _shift_views(eng, rads[1 + d % 4], d, 20, hours=3, step_min=15)  # evening on call
            for u in rads[1:] if d < 8 else rads:   # rd0 joined on day 8: six days of history
                _shift_views(eng, u, d, 8)
        assert eng.user_state("rd0").shift_class(5) == 0
        return _burst(eng, rads[0], "N", START + 14 * DAY + 12 * 60_000, 6, 180_000, "msk")

    assert "odd_hours" in run(7)
    assert "odd_hours" not in run(0)


def test_a_new_night_reader_is_not_reported_on_every_first_night():
    """A radiologist new to the hospital reads nights among day colleagues. Their first nights
    are odd for the group, but once the young profile (fewer days than profile_min_days) is made
    of those hours, the next nights are their shift (forming_min_days; 0: off). var/heldout/X1:
    two new night readers were reported on each of their first four nights."""
    def run(forming: int) -> list[int]:
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["forming_min_days"] = forming
        eng = Engine(rules)
        day = [user(f"bd{i}", "radiologist", "body") for i in range(8)]
        new = user("bn0", "radiologist", "body")
        nights = []
        for d in range(14):
            for u in day:
                _shift_views(eng, u, d, 8)
            if d >= 10:
                got = _burst(eng, new, f"N{d}-", START + d * DAY + 2 * HOUR, 16, 600_000, "body")
                nights.append(got.count("odd_hours") > 0)
        return nights

    assert run(1) == [True, True, False, False]
    assert run(0) == [True, True, True, True]
