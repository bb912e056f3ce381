"""UserState / PeerStats: windows, late events, serialisation size and round trip, merging."""

from __future__ import annotations

import random

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
    assert PeerStats.from_dict(merged.to_dict()).to_dict() == merged.to_dict()
