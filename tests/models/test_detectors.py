"""Focused tests of the detectors whose judgement depends on history: working hours (own profile,
same-shift peers, rotas), export destinations (department knowledge, learning), dormancy (own
last activity), bulk export (realistic volumes, one incident per day)."""

from __future__ import annotations

from models.rules import load_rules
from models.sample_traffic import START, come_back, event, user
from streamer.score.engine import Engine

HOUR = 3_600_000
DAY = 86_400_000
EXT = {"type": "dicom_node", "id": "PARTNER_AE", "external": True}


def _shift(engine, who, day, start_h, hours=8, step_min=30, dept_study="ct"):
    """One working day of views of `who` from start_h for `hours` hours; returns alerts."""
    out = []
    t = START + day * DAY + start_h * HOUR
    for i in range(hours * 60 // step_min):
        ms = t + i * step_min * 60_000
        _, alerts = engine.process(event(f"{who['id']}-{ms}", ms, who, "view", patient=f"P{i}",
                                         study={"uid": f"1.{i}", "department": dept_study}))
        out += alerts
    return out


def _night_visit(engine, who, day, hour, n=6):
    out = []
    for i in range(n):
        ms = START + day * DAY + hour * HOUR + i * 120_000
        _, alerts = engine.process(event(f"{who['id']}-n{ms}", ms, who, "view", patient=f"Q{i}",
                                         study={"uid": f"2.{i}", "department": "ct"}))
        out += alerts
    return [a for a in out if a["detector"] == "odd_hours"]


def _hospital(engine, days, techs_day=10, techs_night=3, rota=None):
    """Technologists of dept ct (day and night shifts); optionally day radiologists with an
    on-call rota (one of them works 01:00-02:30 every night)."""
    day_t = [user(f"td{i}", "technologist", "ct") for i in range(techs_day)]
    night_t = [user(f"tn{i}", "technologist", "ct") for i in range(techs_night)]
    for d in range(days):
        for u in day_t:
            _shift(engine, u, d, 8)
        for u in night_t:
            _shift(engine, u, d, 22 if d else 0)
        for k, u in enumerate(rota or ()):
            _shift(engine, u, d, 8)
            if d % len(rota) == k:
                _shift(engine, u, d, 1, hours=1, step_min=15)
    return day_t, night_t


def test_day_shift_technologist_at_3am_is_odd_although_the_night_shift_works():
    engine = Engine()
    day_t, night_t = _hospital(engine, 14)
    assert _night_visit(engine, day_t[0], 14, 3)          # own profile + day-shift peers
    assert not _night_visit(engine, night_t[0], 14, 3)    # their own shift


def _rotating(engine, days, techs_day=100, rotating=2):
    """_hospital's technologists, where the last `rotating` day technologists also work a night
    (02:00-05:00) before their day shift, in turn, once they are of the day class (from the fifth
    day): a few members of the day class rotate through the nights, too few to make the hour the
    class's routine."""
    day_t = [user(f"td{i}", "technologist", "ct") for i in range(techs_day)]
    night_t = [user(f"tn{i}", "technologist", "ct") for i in range(3)]
    rota = day_t[techs_day - rotating:] if rotating else []
    for d in range(days):
        for u in day_t:
            if u in rota and d >= 4 and d % rotating == rota.index(u):
                _shift(engine, u, d, 2, hours=3, step_min=30)
            _shift(engine, u, d, 8)
        for u in night_t:
            _shift(engine, u, d, 22 if d else 0)
    return day_t, night_t


def test_first_night_week_in_a_department_staffed_around_the_clock_is_not_judged():
    """Emergency staff rotate between day and night weeks. After a week of days, a member's
    first night is not judged while the department works that hour every day and members of the
    user's own (day) class work it too; after more than a week of days it is, and in a department
    that never works at night it is from the start."""
    engine = Engine()
    day_t, _ = _rotating(engine, 7)
    assert not _night_visit(engine, day_t[0], 7, 3)   # 7 days of history, the night is staffed
    later = Engine()
    day_t, _ = _hospital(later, 9, techs_day=30)
    assert _night_visit(later, day_t[0], 9, 3)        # 8 days of days: the night is out of character
    closed = Engine()
    clerks = [user(f"rp{i}", "referring_physician", "ortho") for i in range(8)]
    for d in range(10):
        for u in clerks:
            _shift(closed, u, d, 9, hours=6, step_min=60)
    assert _night_visit(closed, clerks[0], 10, 3)     # nobody of that group ever works at 03:00


def test_a_night_staffed_by_the_night_class_alone_is_judged_for_a_new_day_member():
    """The department works 03:00 every day, but only its night technologists: no member of the
    day class ever did (staffed_class_members, var/heldout U). A day technologist with 7 days of
    history at 03:00 is judged; with the option off the staffed night waved them through, and
    where day members rotate through the nights it still does."""
    def run(members: int, rotating: int) -> list:
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["staffed_class_members"] = members
        engine = Engine(rules)
        day_t, _ = _rotating(engine, 7, rotating=rotating)
        return _night_visit(engine, day_t[0], 7, 3)

    assert run(2, 0)
    assert not run(0, 0)
    assert not run(2, 2)


def test_one_night_at_odd_hours_is_one_incident():
    """Two sessions of one night (03:00 and 05:30) are one odd-hours incident (its
    incident_gap_minutes: 360), not one alert per session as with the 60-minute default."""
    def ids(gap: int | None) -> set[str]:
        rules = load_rules()
        if gap is None:
            rules["detectors"]["odd_hours"].pop("incident_gap_minutes", None)
        else:
            rules["detectors"]["odd_hours"]["incident_gap_minutes"] = gap
        engine = Engine(rules)
        day_t, _ = _hospital(engine, 14)
        first = _night_visit(engine, day_t[0], 14, 3)
        second = [a for a in _night_visit(engine, day_t[0], 14, 5) if a["status"] == "firing"]
        return {a["alert_id"] for a in first + second if a["status"] == "firing"}

    assert len(ids(360)) == 1
    assert len(ids(None)) == 2


def test_a_new_user_is_judged_by_the_whole_group():
    engine = Engine()
    _hospital(engine, 10)
    newcomer = user("tnew", "technologist", "ct")
    assert not _night_visit(engine, newcomer, 10, 3)  # the group works nights: no profile, no alert
    clerk = user("snew", "referring_physician", "ct")
    for d in range(10):
        for i in range(8):
            _shift(engine, user(f"rp{i}", "referring_physician", "ct"), d, 9, hours=6, step_min=60)
    assert _night_visit(engine, clerk, 10, 3)  # nobody of that group ever works at 03:00


def test_on_call_rota_of_day_radiologists_is_routine():
    engine = Engine()
    rota = [user(f"rad{i}", "radiologist", "ct") for i in range(5)]
    _hospital(engine, 12, rota=rota)
    fired = _night_visit(engine, rota[0], 12, 2)
    assert not fired, fired[0]["summary"]


def test_one_colleagues_nights_are_their_habit_not_the_day_shifts_pattern():
    """A day technologist who moved to nights is classed day for a while: the day class then has
    many member-days at 03:00, but of one member, not a pattern the others share. With the check
    off (pattern_members 0) those nights made a day colleague's 03:00 look routine."""
    from models.rules import load_rules

    def run(pattern_members):
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["pattern_members"] = pattern_members
        engine = Engine(rules)
        day_t = [user(f"td{i}", "technologist", "ct") for i in range(10)]
        mover = day_t[-1]
        for d in range(20):
            for u in day_t[:-1]:
                _shift(engine, u, d, 8)
            _shift(engine, mover, d, 8 if d < 10 else 1, hours=8 if d < 10 else 5)
        st = engine.user_state(mover["id"])
        assert st.shift_class(5) == 0 and st.dprof[3] >= 8  # still day class, with many nights
        return _night_visit(engine, day_t[0], 20, 3)

    assert run(2)
    assert not run(0)


def test_a_shift_running_over_is_not_odd_a_session_begun_at_that_hour_is():
    """A day technologist who works on from 08:00 to 20:00 without a break finishes late; a
    colleague who left at 16:00 and comes back at 19:00 is at an odd hour. With the rule off
    (overtime_hours 0) the late finish was reported too."""
    from models.rules import load_rules

    def run(overtime_hours):
        rules = load_rules()
        rules["detectors"]["odd_hours"]["params"]["overtime_hours"] = overtime_hours
        engine = Engine(rules)
        day_t = [user(f"td{i}", "technologist", "ct") for i in range(10)]
        for d in range(14):
            for u in day_t:
                _shift(engine, u, d, 8)
        late = [a for a in _shift(engine, day_t[0], 14, 8, hours=12, step_min=10)
                if a["detector"] == "odd_hours"]
        _shift(engine, day_t[1], 14, 8)
        return late, _night_visit(engine, day_t[1], 14, 19)

    late, back = run(2)
    assert not late and back
    assert "19:" in back[0]["summary"]
    late, back = run(0)
    assert late and back


def test_too_little_group_history_judges_nothing():
    engine = Engine()
    day_t, _ = _hospital(engine, 2)
    assert not _night_visit(engine, day_t[0], 2, 3)


def _export(engine, eid, ms, who, dest, **study):
    return engine.process(event(eid, ms, who, "export", patient="P1", destination=dest,
                                study={"uid": eid, "department": "ct", **study}))[1]


def test_department_destination_is_not_new_for_a_colleague():
    engine = Engine()
    rads = [user(f"r{i}", "radiologist", "ct") for i in range(8)]
    t = START + 9 * HOUR
    for i in range(40):  # the department learns its destinations
        _export(engine, f"l{i}", t + i * 600_000, rads[i % 3], EXT)
    assert not _export(engine, "x1", t + DAY, rads[5], EXT)  # a colleague's first use
    rogue = {"type": "dicom_node", "id": "UNKNOWN_AE", "external": True}
    alerts = _export(engine, "x2", t + DAY + HOUR, rads[6], rogue)
    assert [a["detector"] for a in alerts] == ["export_destination"]
    assert "neither they nor ct used" in alerts[0]["summary"]


def test_risky_channel_alerts_even_while_learning_and_after_one_colleague():
    engine = Engine()
    a, b = user("ra", "radiologist", "ct"), user("rb", "radiologist", "ct")
    cloud = {"type": "cloud", "id": "dropbox.com/x", "external": True}
    assert [x["detector"] for x in _export(engine, "c1", START + 9 * HOUR, a, cloud)] == \
        ["export_destination"]
    assert [x["detector"] for x in _export(engine, "c2", START + 10 * HOUR, b, cloud)] == \
        ["export_destination"]
    assert not _export(engine, "c3", START + 11 * HOUR, a, cloud)  # their own, known by now
    internal = {"type": "dicom_node", "id": "PACS_B", "external": False}
    assert not _export(engine, "c4", START + 12 * HOUR, b, internal)


def test_dormancy_counts_from_own_last_activity_not_from_process_start(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("user_id,name,roles,department,status,end_date\n"
                      "a,A,technologist,ct,active,\nb,B,technologist,ct,active,\n")
    engine = Engine(roster=str(roster))
    a, b = user("a", "technologist", "ct"), user("b", "technologist", "ct")
    for d in range(3):  # three working days (a single day would not show a rhythm)
        engine.process(event(f"a0{d}", START + d * DAY + 9 * HOUR, a, "login"))
    # b appears for the first time 20 days later: back from leave or a new hire, not dormant
    assert not engine.process(event("b0", START + 20 * DAY, b, "login"))[1]
    assert not engine.process(event("a1", START + 5 * DAY + 9 * HOUR, a, "login"))[1]  # days off
    # 20 silent days after 6 days of history (history_ratio 3): an account used briefly and left
    alerts = come_back(engine, "a2", START + 25 * DAY + 9 * HOUR, a)
    assert [x["detector"] for x in alerts] == ["dormant_account"]
    assert alerts[0]["explanation"][0]["value"] == 20.0


def test_failed_logins_do_not_end_dormancy():
    engine = Engine()
    a = user("a", "technologist", "ct")
    engine.process(event("a0", START, a, "login"))
    engine.process(event("a1", START + 10 * DAY, a, "login_failed", outcome="minor_failure"))
    alerts = come_back(engine, "a2", START + 16 * DAY, a)
    assert [x["detector"] for x in alerts] == ["dormant_account"]


def test_gigabytes_of_a_few_studies_are_not_bulk_export():
    engine = Engine()
    rad = user("r", "radiologist", "ct")
    dest = {"type": "dicom_node", "id": "TUMOUR_BOARD", "external": False}
    alerts = []
    for i in range(4):  # four big CT studies, 3.5 GB in an hour
        alerts += _export(engine, f"e{i}", START + 9 * HOUR + i * 600_000, rad, dest,
                          instances=1800, bytes=900 << 20)
    assert not [a for a in alerts if a["detector"] == "bulk_export"]


def test_bulk_export_is_one_incident_while_the_day_window_stays_high():
    engine = Engine()
    rad = user("r", "radiologist", "ct")
    dest = {"type": "dicom_node", "id": "TUMOUR_BOARD", "external": False}
    ids = set()
    for i in range(200):  # mass export, then ordinary exports later that day
        for a in _export(engine, f"m{i}", START + 9 * HOUR + i * 5000, rad, dest):
            ids.add(a["alert_id"]) if a["detector"] == "bulk_export" else None
    for i in range(3):
        for a in _export(engine, f"o{i}", START + 15 * HOUR + i * HOUR, rad, dest):
            ids.add(a["alert_id"]) if a["detector"] == "bulk_export" else None
    assert len(ids) == 1
