"""UserState / PeerStats: windows, late events, serialisation size and round trip, merging."""

from __future__ import annotations

import random

import orjson

from models.features import (C_EXP, C_PAT, C_VIEW, DAY, HOUR, PeerStats, UserState, h32,
                             distinct_estimate)
from models.sample_traffic import START, week
from streamer.score.engine import Engine


def _views(st: UserState, times, patients=None):
    for i, ms in enumerate(times):
        st.advance(ms)
        st.add(ms, C_VIEW, 1)
        if patients:
            st.touch_item(ms, st.psk, h32(patients[i]), C_PAT)


def test_windows_slide_with_event_time():
    st = UserState()
    _views(st, [START + i * 60_000 for i in range(30)])  # 30 views in 30 min
    assert st.window(0, C_VIEW) == 30 and st.window(1, C_VIEW) == 30
    st.advance(START + 2 * HOUR)
    assert st.window(0, C_VIEW) == 0 and st.window(1, C_VIEW) == 30
    st.advance(START + 2 * DAY)
    assert st.window(1, C_VIEW) == 0 and st.window(2, C_VIEW) == 30
    st.advance(START + 9 * DAY)
    assert st.window(2, C_VIEW) == 0 and st.life[C_VIEW] == 30


def test_out_of_order_and_late_events():
    st = UserState()
    times = [START + i * 60_000 for i in range(20)]
    shuffled = times[:]
    random.Random(1).shuffle(shuffled)
    _views(st, shuffled)
    ordered = UserState()
    _views(ordered, times)
    assert st.tot == ordered.tot and st.last_ms == times[-1]
    st.advance(START + 30 * DAY)
    st.add(START, C_EXP, 1)  # far older than every window: lifetime only, no crash
    assert st.life[C_EXP] == 1 and all(t[C_EXP] == 0 for t in st.tot)


def test_distinct_counts_are_close():
    st = UserState()
    pats = [f"P{i % 60}" for i in range(300)]  # 60 distinct patients, each seen 5 times
    _views(st, [START + i * 10_000 for i in range(300)], pats)
    assert 45 <= st.window(0, C_PAT) <= 78
    assert distinct_estimate(0) == 0


def test_a_window_counts_the_records_opened_inside_it_also_when_first_opened_before():
    """A reader opens the same 100 patients every 6 hours for two days: each 24 h window holds
    those 100 patients (about 100 by linear counting), not only the slots first touched inside it
    (which left the window count near zero once the first day had slid out). 250 new patients on
    top of a day of 100 are counted as about 350."""
    st = UserState()
    pats = [f"P{i}" for i in range(100)]
    for k in range(9):  # every 6 h for 48 h
        t0 = START + k * 6 * HOUR
        _views(st, [t0 + i * 30_000 for i in range(100)], pats)
    st.advance(START + 48 * HOUR + 60_000)
    assert 80 <= st.window_features({})["patients_24h"] <= 125
    st2 = UserState()
    _views(st2, [START + i * 60_000 for i in range(100)], pats)
    _views(st2, [START + 4 * HOUR + i * 20_000 for i in range(250)], [f"Q{i}" for i in range(250)])
    assert 260 <= st2.window_features({})["patients_24h"] <= 460


def test_round_trip_and_size_after_a_busy_week():
    engine = Engine()
    engine.process_many(week(n_users=21, days=7, seed=5))
    sizes = []
    for uid in engine.users:
        data = engine.export_user(uid)
        sizes.append(len(data))
        engine.import_user(uid, data)
        assert engine.export_user(uid) == data
    assert max(sizes) <= 2048, max(sizes)


def test_replay_equals_export_import_after_every_event():
    events = week(n_users=7, days=3, seed=2)
    a, b = Engine(), Engine()
    for ev in events:
        ea, aa = a.process(ev)
        uid = ev["user"]["id"]
        if b.has_user(uid):
            b.import_user(uid, b.export_user(uid))
        eb, ab = b.process(ev)
        assert ea["enrichment"] == eb["enrichment"] and aa == ab


def test_peer_stats_merge_equals_single():
    rng = random.Random(4)
    rows = [([rng.randrange(30) for _ in range(8)], rng.randrange(168)) for _ in range(200)]
    one, left, right = PeerStats(), PeerStats(), PeerStats()
    for i, (counts, how) in enumerate(rows):
        one.add_hour(counts, how)
        (left if i % 2 else right).add_hour(counts, how)
    merged = left.merge(right)
    for c in range(8):
        m1, v1, n1 = one.moments(False, c)
        m2, v2, n2 = merged.moments(False, c)
        assert n1 == n2 and abs(m1 - m2) < 1e-9 and abs(v1 - v2) < 1e-9
    assert merged.hours == one.hours
    for i in range(40):
        (left if i % 2 else right).add_day_hours(i // 4, i % 3 - 1, rng.randrange(1 << 24))
    merged = PeerStats().merge(left).merge(right)
    assert merged.ddays == [a + b for a, b in zip(left.ddays, right.ddays)]
    assert merged.dhours[3] == [a + b for a, b in zip(left.dhours[3], right.dhours[3])]
    assert PeerStats.from_dict(merged.to_dict()).to_dict() == merged.to_dict()


def test_peer_hour_members_are_a_bottom_k_sample_that_merges_like_one():
    """Who worked each hour, per shift class: the HOUR_MEMBERS smallest member hashes, the same
    whether one worker saw every member-day or two workers' aggregates were merged; a snapshot
    from before the sample cannot tell how many members worked an hour."""
    rng = random.Random(5)
    rows = [(i // 6, rng.randrange(-1, 3), rng.randrange(1 << 24), h32(f"u{rng.randrange(12)}"))
            for i in range(150)]
    one, left, right = PeerStats(), PeerStats(), PeerStats()
    for i, (day, cls, mask, member) in enumerate(rows):
        one.add_day_hours(day, cls, mask, member)
        (left if i % 2 else right).add_day_hours(day, cls, mask, member)
    merged = PeerStats().merge(left).merge(right)
    assert merged.hmembers == one.hmembers and merged.mdays == one.mdays == one.ddays
    for k in range(4):
        for h in range(24):
            seen = {m for _, c, mask, m in rows if (c == k or (k == 3)) and mask >> h & 1}
            assert one.hmembers[k][h] == sorted(seen)[:PeerStats.HOUR_MEMBERS]
    window = {m for _, c, mask, m in rows if c == 0 and mask >> 2 & 0b1111}  # hours 2-5
    assert len(window) > PeerStats.HOUR_MEMBERS
    assert one.hour_members(0, 4, 2, 1) == PeerStats.HOUR_MEMBERS
    assert one.hour_members(1, 4, 0, 0) == min(
        len({m for _, c, mask, m in rows if c == 1 and mask >> 4 & 1}), PeerStats.HOUR_MEMBERS)
    old = one.to_dict()
    del old["hmembers"], old["mdays"]
    assert PeerStats.from_dict(old).hour_members(0, 4, 2, 1) == -1
    assert PeerStats.from_dict(orjson.loads(orjson.dumps(one.to_dict()))).hmembers == one.hmembers


def test_peer_members_keep_the_largest_batches_and_merge_like_one():
    """The per-member export batch sizes a group keeps: the largest per member, MEMBERS_KEPT
    members at most (the largest), merged across workers as if one had seen everything, and loaded
    from a snapshot that predates them."""
    rng = random.Random(9)
    rows = [(rng.randrange(12), [rng.randrange(1000) for _ in range(8)]) for _ in range(300)]
    one, left, right = PeerStats(), PeerStats(), PeerStats()
    for i, (member, counts) in enumerate(rows):
        one.note_member(member, False, counts)
        (left if i % 2 else right).note_member(member, False, counts)
    best = {}
    for member, counts in rows:
        best[member] = max(best.get(member, 0), counts[C_EXP])
    want = sorted(best.values(), reverse=True)[:PeerStats.MEMBERS_KEPT]
    assert [v for v, _ in one.members[0]] == want and one.members[1] == []
    merged = PeerStats().merge(left).merge(right)
    assert [v for v, _ in merged.members[0]] == want
    third = want[2]
    top = max(best, key=best.get)
    assert one.members_exporting(False, third, top) == sum(
        1 for m, v in best.items() if m != top and v >= third) == 2  # distinct maxima
    old = one.to_dict()
    del old["members"]
    assert PeerStats.from_dict(old).members == [[], []]
    assert PeerStats.from_dict(orjson.loads(orjson.dumps(one.to_dict()))).members == one.members


def _mask(*hours):
    return sum(1 << h for h in hours)


def test_hour_profile_and_shift_class():
    for hours, cls in ((range(8, 17), 0), (range(15, 23), 1), ((22, 23, 0, 1, 2, 3, 4, 5), 2)):
        st = UserState()
        for _ in range(6):
            st.learn_hours(_mask(*hours))
        assert st.shift_class(5) == cls and st.shift_class(7) == -1
    st = UserState()
    for _ in range(9):
        st.learn_hours(_mask(*range(8, 17)))
    st.learn_hours(_mask(3))  # one on-call night
    assert st.own_share(12, 5) == 0.9 and st.own_share(3, 5) == 0.1 and st.own_share(20, 5) == 0.0
    for _ in range(200):  # the profile halves: it follows a change of shift
        st.learn_hours(_mask(*range(22, 24)))
    assert st.ddays <= 64 and st.own_share(12, 5) < 0.05 and st.shift_class(5) == 2


def test_weekend_days_are_not_the_hour_before_midnight():
    """The profile keeps the user's weekend days after its 24 hours (`dprof[24]`): the hour
    before 00:00 is 23:00, not that count. A day worker who had worked weekends looked as if
    they worked around midnight on as many of their days (two of six: 0.33, above
    odd_hours.self_max), and their session at 00:12 went unreported."""
    from models.features import WEEKEND_BIT
    st = UserState()
    for day in range(6):
        st.learn_hours(_mask(*range(8, 16)) | (WEEKEND_BIT if day >= 4 else 0))
    assert st.weekend_share(5) == 2 / 6
    assert st.own_share(0, 5) == 0.0 and st.own_share(23, 5) == 0.0 and st.own_share(8, 5) == 1.0


def test_working_hours_survive_serialisation_and_a_day_closes_into_the_profile():
    st = UserState()
    for day in range(3):
        for h in (9, 10, 11):
            ms = START + day * DAY + h * HOUR
            st.advance(ms)
            st.note_active(ms)
    assert st.ddays == 2 and st.dprof[10] == 2 and st.hmask == _mask(9, 10, 11)
    back = UserState.from_bytes(st.to_bytes())
    assert back.dprof == st.dprof and back.hmask == st.hmask and back.shift == st.shift


def test_peer_day_share_counts_calendar_days_not_member_days():
    p = PeerStats()
    for day in range(10):
        for member in range(30):
            p.add_day_hours(day, 0, _mask(*range(8, 17)))
        p.add_day_hours(day, 0, _mask(2))  # one of them on call every night
    assert p.n_cdays[0] == 10 - PeerStats.PENDING_DAYS
    assert p.day_share(0, 2, 5) == 1.0 and p.day_share(0, 20, 5) == 0.0
    assert p.share(0, 2, 5) < 0.05  # per member-day the rota is rare
    assert p.day_share(1, 2, 5) == -1.0  # no evening members: nothing to judge


def test_unreadable_state_starts_the_user_afresh():
    import pytest
    with pytest.raises(ValueError):
        UserState.from_bytes(b"not a state")
    engine = Engine()
    engine.import_user("u1", b"not a state")
    assert engine.users["u1"].last_ms == 0
