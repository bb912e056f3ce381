"""Per-user and per-peer-group behaviour state: compact, event-time driven, serialisable.

Windows. One event updates three rings of bucketed counters, each with a running total so a
feature read is O(1):
  * 1 h  = 12 buckets of 5 min (alerts within minutes, ring error at most 5 min),
  * 24 h = 24 hourly buckets (a shift's worth, hour resolution is enough for daily volume),
  * 7 d  = 7 daily buckets (week-scale volume, one bucket per calendar day).
Finer buckets would cost bytes in every user's state for no detection gain: the detectors compare
against baselines whose own noise is far above one bucket's slack.

Counters per bucket (COUNTERS): views, distinct patients, distinct studies, exports, exported
instances, exported KiB, deletes, failed logins. Distinct counts are approximate: a hashed table
of 128 slots per kind keeps the last-seen minute of whatever item hashes there; an item counts as
new in a window when its slot was not touched within that window, and the window total is corrected
for slot collisions with linear counting (-K ln(1 - x/K)). Good to about 1,000 distinct per window.

Time. The user's clock is the largest event time seen. An event older than a ring's span is "late"
for that ring: it is counted in the lifetime counters only, never an error.

Baselines. When a calendar hour (day) closes, its totals are folded into exponentially weighted
mean/variance of log1p(count) (the user's own baseline and the peer group's), unless the hour was
flagged anomalous: anomalies never train the baseline.

Working hours. When a calendar day closes, its active hours (a 24-bit mask) train the user's
hour-of-day profile: per hour, the number of active days on which the user worked then (halved
when 64 days are reached, so it follows shift changes). A day on which odd_hours fired does not
train it, unless the user's previous active day was one too (a second night in a row is a new
shift, not a second intrusion). The user's shift class (day, evening, night) is the circular
mean of that profile; the peer group keeps the same profile per shift class (and over all
members), so "a day-shift technologist at 03:00" is judged against day-shift technologists of
the department, not the night shift.

Serialised form (`to_bytes`): a fixed struct header, raw arrays (C speed both ways), a JSON tail for
open incidents, LZ4-compressed (a few microseconds each way); typically 1.0-1.5 KB for a busy user
(see benchmarks/bench_detect.py).
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array

import lz4.block
import orjson

# --- layout ---------------------------------------------------------------------------------
COUNTERS = ("views", "patients", "studies", "exports", "export_instances", "export_kib",
            "deletes", "failed_logins")
NC = len(COUNTERS)
C_VIEW, C_PAT, C_STUDY, C_EXP, C_INST, C_KIB, C_DEL, C_FAIL = range(NC)

FIVE_MIN = 300_000
HOUR = 3_600_000
DAY = 86_400_000
WEEK = 7 * DAY
RINGS = ((FIVE_MIN, 12), (HOUR, 24), (DAY, 7))  # (bucket width ms, buckets) for 1h / 24h / 7d
WINDOW_MIN = (60, 1440, 10080)                   # window span in minutes, per ring
SKETCH = 128                                     # slots of each distinct-count table
SET_CAP = 16                                     # entries of each first-seen set
PATIENT_BITS = 1024                              # bits of the "patients ever seen" filter
PROFILE_DAYS = 64                                # hour-of-day profile halves when it reaches this
SHIFT_CLASSES = ("day", "evening", "night")      # index 3 of peer profiles: all members

VIEW_ACTIONS = frozenset(("view",))
EXPORT_ACTIONS = frozenset(("export", "share", "print"))

FEATURE_NAMES = (
    "views_1h", "views_24h", "views_7d",
    "patients_1h", "patients_24h", "patients_7d",
    "studies_1h", "studies_24h", "studies_7d",
    "exports_1h", "exports_24h", "exports_7d",
    "export_instances_1h", "export_instances_24h", "export_instances_7d",
    "export_mib_1h", "export_mib_24h", "export_mib_7d",
    "deletes_1h", "deletes_24h", "deletes_7d",
    "failed_logins_1h", "failed_logins_24h", "failed_logins_7d",
    "hour_activity_self", "hour_activity_peer", "days_since_last_seen",
    "new_patient", "new_destination", "new_client_host", "new_department",
)
"""Ordered feature vector of every event: models, enrichment and ClickHouse use this order."""

_HEADER_V2 = struct.Struct("<B3q2qqqqqqqIIIbBBBBffIqq")
_HEADER_V3 = struct.Struct("<B3q2qqqqqqqIIIbBBBBffIqqffq")  # v3: + care_n, care_in, care_ms
_HEADER_V4 = struct.Struct("<B3q2qqqqqqqIIIbBBBBffIqqffqqffHB6I")  # v4: + a pending return, export peaks
_HEADER = struct.Struct("<B3q2qqqqqqqIIIbBBBBffIqqffqqffHB6Iff")  # v5: + study opens, fresh first
PEAK_COUNTERS = (C_EXP, C_INST, C_KIB)  # export counters whose largest closed hour and day are kept
_VERSION = 5
WEEKEND_BIT = 1 << 24  # in a day mask: the day was a weekend day on the site's clock
_READABLE = (2, 3, 4, 5)  # older bytes load with the newer fields at their defaults (v4: weekend days)
OPENS_ALPHA = 1 / 200  # decay per study opened of the opening-habit counts (about the last 200)
_COS = [math.cos(2 * math.pi * h / 24) for h in range(24)]
_SIN = [math.sin(2 * math.pi * h / 24) for h in range(24)]


def h32(text: str) -> int:
    """Stable 32-bit hash (process independent, unlike hash())."""
    return zlib.crc32(text.encode())


def is_weekend(local_ms: int) -> bool:
    """Saturday or Sunday at wall-clock time `local_ms` (1970-01-01 was a Thursday)."""
    return (local_ms // DAY + 3) % 7 >= 5


def hour_of_week(ms: int) -> int:
    """0 = Monday 00:00 UTC ... 167 = Sunday 23:00 UTC."""
    return (ms // HOUR + 72) % 168


def distinct_estimate(x: float) -> float:
    """Linear-counting correction of new-slot increments for slot collisions."""
    if x <= 0:
        return 0.0
    frac = min(x / SKETCH, 0.999)
    return round(-SKETCH * math.log1p(-frac), 2)


_DISTINCT = [distinct_estimate(x) for x in range(SKETCH + 1)]
_DISTINCT_MAX = _DISTINCT[-1]


def _zeros(n: int) -> array:
    return array("I", bytes(4 * n))


class UserState:
    """Everything the engine keeps about one user. Counters live in uint32 arrays (as fast to
    update as lists, and serialised by a memory copy); the rest are ints and small lists."""

    __slots__ = ("heads", "rings", "tot", "hour_id", "hour_acc", "day_id", "day_acc", "life",
                 "first_ms", "last_ms", "prev_ms", "ok_ms", "sk_base", "psk", "ssk", "pbits", "dests",
                 "hosts", "depts", "dprof", "ddays", "hmask", "shift", "hstat", "dstat", "n_hours",
                 "n_days", "risk", "risk_ms", "flags", "score", "sig", "break_glass_ms",
                 "care_n", "care_in", "care_ms", "ret_ms", "ret_gap", "ret_span", "ret_n", "ret_code",
                 "peaks", "opens", "fresh_opens", "incidents")

    # a day on which odd_hours fired trains the working-hours profile when the user's previous
    # active day was such a day too (flag 128): a user who moved to nights is reported on their
    # first two nights, not on every night for ever (var/heldout3 K: a technologist moved to
    # nights, 12 alerts on 12 nights). False: flagged days never train
    LEARN_REPEATED_ODD = True

    def __init__(self) -> None:
        self.heads = [-1, -1, -1]
        self.rings = [_zeros(n * NC) for _, n in RINGS]
        self.tot = [_zeros(NC) for _ in RINGS]
        self.hour_id = -1
        self.hour_acc = _zeros(NC)
        self.day_id = -1
        self.day_acc = _zeros(NC)
        self.life = [0] * NC + [0, 0]  # counters, events, late events
        self.first_ms = 0
        self.last_ms = 0
        self.prev_ms = 0  # last event time before the current one
        self.ok_ms = 0    # last successful activity (dormancy: failed logins do not count)
        self.sk_base = -1
        self.psk = array("H", bytes(2 * SKETCH))
        self.ssk = array("H", bytes(2 * SKETCH))
        self.pbits = bytearray(PATIENT_BITS // 8)
        self.dests: list[int] = []
        self.hosts: list[int] = []
        self.depts: list[int] = []
        self.dprof = bytearray(25)  # active days per hour of day; [24]: those on a weekend
        self.ddays = 0              # active days behind dprof
        self.hmask = 0              # active hours of the current day (bit per hour)
        self.shift = -1             # shift class of dprof (profile_class), -1 while unknown
        self.hstat = [0.0] * (2 * NC)  # mean, var of log1p(hourly count) per counter
        self.dstat = [0.0] * (2 * NC)  # same, daily
        self.n_hours = 0
        self.n_days = 0
        self.risk = 0.0
        self.risk_ms = 0
        self.flags = 0  # 1: current hour anomalous, 2: current day anomalous, 4: odd hours today,
        # 8: seen remote, 16: seen without MFA, 64: today's remote access was the first ever,
        # 128: odd hours fired on the previous active day
        self.score = 0.0
        self.sig = 0
        self.break_glass_ms = 0
        # records opened lately (exponentially decayed, see note_care) and how many of them were
        # of patients in a care episode (a colleague worked on the patient shortly before)
        self.care_n = 0.0
        self.care_in = 0.0
        self.care_ms = 0
        # a return after a long silence waiting for its verdict (dormant_account): when, how many
        # days of silence, how many days of history before it, record accesses since, and what
        # the return looked like (bits, see the detector)
        self.ret_ms = 0
        self.ret_gap = 0.0
        self.ret_span = 0.0
        self.ret_n = 0
        self.ret_code = 0
        # largest closed hour, then day, of each PEAK_COUNTERS counter, alerted ones included: a
        # volume the user has moved before (a weekly research export) is their own practice
        self.peaks = [0] * (2 * len(PEAK_COUNTERS))
        # studies opened lately (decayed by OPENS_ALPHA per opening) and how many of them the user
        # was the first of their role to open, soon after the study arrived (note_open): a user
        # who opens results as they arrive (an emergency physician) or weeks later (a clinic)
        self.opens = 0.0
        self.fresh_opens = 0.0
        self.incidents: dict = {}

    # --- update -----------------------------------------------------------------------------
    def advance(self, ms: int) -> tuple[list[int] | None, list[int] | None, int]:
        """Move the user's clock to `ms` if later. Returns (closed hour counts, closed day
        counts, closed flags) so the caller can train baselines on them."""
        closed_h = closed_d = None
        flags = self.flags
        if ms <= self.last_ms and self.first_ms:
            return None, None, 0
        if not self.first_ms:
            self.first_ms = ms
        self.prev_ms = self.last_ms
        self.last_ms = ms
        for r, (width, n) in enumerate(RINGS):
            b = ms // width
            head = self.heads[r]
            if b <= head:
                continue
            ring, tot = self.rings[r], self.tot[r]
            for old in range(max(head + 1, b - n + 1), b + 1):
                base = (old % n) * NC
                for c in range(NC):
                    v = ring[base + c]
                    if v:
                        tot[c] -= v
                        ring[base + c] = 0
            self.heads[r] = b
        hid = ms // HOUR
        if hid != self.hour_id:
            if self.hour_id >= 0:
                closed_h = self.hour_acc
            self.hour_acc = _zeros(NC)
            self.hour_id = hid
            self.flags &= ~1
        did = ms // DAY
        if did != self.day_id:
            if self.day_id >= 0:
                closed_d = self.day_acc
                # a day odd_hours fired on trains the profile only when the user's previous
                # active day was one too: the second such day in a row is a new shift
                if self.hmask and (not flags & 4 or (flags & 128 and self.LEARN_REPEATED_ODD)):
                    self.learn_hours(self.hmask)
                self.flags = (self.flags & ~128) | (128 if flags & 4 else 0)
            self.day_acc = _zeros(NC)
            self.day_id = did
            self.hmask = 0
            self.flags &= ~(6 | 64)
        return closed_h, closed_d, flags

    def note_active(self, ms: int, local_ms: int | None = None) -> None:
        """Mark the hour of day of `local_ms` (the site's wall clock; default `ms`, UTC) active in
        the mask of the current day (a UTC day: `ms`)."""
        if ms // DAY == self.day_id:
            local = ms if local_ms is None else local_ms
            self.hmask |= 1 << (local // HOUR % 24)
            if is_weekend(local):
                self.hmask |= WEEKEND_BIT

    def learn_hours(self, mask: int) -> None:
        """Train the hour-of-day profile (and the shift class) on one normal day's active hours."""
        p = self.dprof
        if self.ddays >= PROFILE_DAYS:
            for h in range(25):
                p[h] >>= 1
            self.ddays >>= 1
        self.ddays += 1
        if mask & WEEKEND_BIT:
            p[24] += 1
        mask &= WEEKEND_BIT - 1
        h = 0
        while mask:
            if mask & 1:
                p[h] += 1
            mask >>= 1
            h += 1
        self.shift = profile_class(p)

    def own_share(self, hour: int, min_days: int) -> float:
        """Share of the user's active days on which they worked at this hour of day (or the
        neighbouring hours), 0..1; -1 with fewer than `min_days` active days of history."""
        if self.ddays < min_days:
            return -1.0
        p = self.dprof
        return max(p[(hour - 1) % 24], p[hour], p[(hour + 1) % 24]) / self.ddays  # [24]: weekends

    def note_peaks(self, daily: bool, counts) -> None:
        """Keep the largest closed hour (or day) of each export counter."""
        base = len(PEAK_COUNTERS) if daily else 0
        peaks = self.peaks
        for i, c in enumerate(PEAK_COUNTERS):
            v = counts[c]
            if v > peaks[base + i]:
                peaks[base + i] = min(v, 0xFFFFFFFF)

    def peak(self, daily: bool, counter: int) -> int:
        """The largest closed hour (day) of `counter`; 0 when not kept."""
        if counter not in PEAK_COUNTERS:
            return 0
        return self.peaks[(len(PEAK_COUNTERS) if daily else 0) + PEAK_COUNTERS.index(counter)]

    def weekend_share(self, min_days: int) -> float:
        """Share of the user's active days that were weekend days; -1 with fewer than
        `min_days` active days of history."""
        if self.ddays < min_days:
            return -1.0
        return self.dprof[24] / self.ddays

    def shift_class(self, min_days: int) -> int:
        """0 day, 1 evening, 2 night (centre of the hour-of-day profile), -1 without history."""
        return self.shift if self.ddays >= min_days else -1

    def add(self, ms: int, c: int, v: int) -> None:
        """Add `v` to counter `c` at event time `ms` in every ring that still covers it."""
        self.life[c] += v
        for r, (width, n) in enumerate(RINGS):
            b = ms // width
            if b > self.heads[r] - n:
                self.rings[r][(b % n) * NC + c] += v
                self.tot[r][c] += v
        if ms // HOUR == self.hour_id:
            self.hour_acc[c] += v
        if ms // DAY == self.day_id:
            self.day_acc[c] += v

    def touch_item(self, ms: int, sketch: array, key: int, c: int) -> None:
        """Distinct counting: `key`'s slot of `sketch` is counted in each window (and in the clock
        hour and day) it was last touched in; the window features turn slot counts into
        estimates (distinct_estimate)."""
        minute = ms // 60_000
        if self.sk_base < 0 or minute - self.sk_base > 60_000:
            self._rebase(minute)
        rel = minute - self.sk_base + 1
        if rel < 1:
            self.life[c] += 1
            return
        slot = ((key * 0x9E3779B1) & 0xFFFFFFFF) >> 25  # top 7 bits: CRC is linear, mix it
        last = sketch[slot]
        if rel <= last:
            return
        sketch[slot] = rel
        self.life[c] += 1
        hour_start = (ms // HOUR) * 60 - self.sk_base + 1
        day_start = (ms // DAY) * 1440 - self.sk_base + 1
        # each window counts the slots last touched inside it (linear counting needs the slots
        # occupied in the window): the slot's credit moves from the bucket of its previous touch
        # to this one, so a patient opened yesterday at 10:00 and again at 20:00 is still in
        # the 24 h count at 15:00 today
        last_ms = (self.sk_base + last - 1) * 60_000 if last else -1
        for r, (width, n) in enumerate(RINGS):
            b = ms // width
            head = self.heads[r]
            if b <= head - n:
                continue  # older than the ring
            ring = self.rings[r]
            if last_ms >= 0:
                bl = last_ms // width
                if bl == b:
                    continue  # already counted in this bucket
                if bl > head - n:
                    i = (bl % n) * NC + c
                    if ring[i]:
                        ring[i] -= 1
                        self.tot[r][c] -= 1
            ring[(b % n) * NC + c] += 1
            self.tot[r][c] += 1
        if ms // HOUR == self.hour_id and last < hour_start:
            self.hour_acc[c] += 1
        if ms // DAY == self.day_id and last < day_start:
            self.day_acc[c] += 1

    def _rebase(self, minute: int) -> None:
        new_base = minute - WINDOW_MIN[2] - 1
        if self.sk_base >= 0:
            shift = new_base - self.sk_base
            for sk in (self.psk, self.ssk):
                for i in range(SKETCH):
                    v = sk[i]
                    sk[i] = v - shift if v > shift else 0
        self.sk_base = new_base

    def note_care(self, ms: int, in_care: bool, half_life_ms: float) -> float:
        """Count one record opening, `in_care` when a colleague worked on the patient shortly
        before; both counts decay with `half_life_ms`. Returns the in-care share (0..1)."""
        if ms > self.care_ms:
            if self.care_n:
                w = 0.5 ** ((ms - self.care_ms) / half_life_ms)
                self.care_n *= w
                self.care_in *= w
            self.care_ms = ms
        self.care_n += 1.0
        if in_care:
            self.care_in += 1.0
        self.care_n, self.care_in = _f32(self.care_n), _f32(self.care_in)
        return self.care_in / self.care_n

    def note_open(self, fresh_first: bool) -> None:
        """Count a study opened; `fresh_first`: the user was the first of their role to open it,
        soon after it arrived."""
        keep = 1.0 - OPENS_ALPHA
        self.opens = _f32(self.opens * keep + 1.0)
        self.fresh_opens = _f32(self.fresh_opens * keep + (1.0 if fresh_first else 0.0))

    def fresh_share(self, min_opens: float) -> float:
        """Share of the studies opened lately that the user opened first, soon after arrival; -1
        with fewer than `min_opens` (decayed) openings."""
        return self.fresh_opens / self.opens if self.opens >= min_opens else -1.0

    def care_share(self) -> tuple[float, float]:
        """(in-care share of recent openings, decayed number of openings behind it)."""
        return (self.care_in / self.care_n if self.care_n else 0.0), self.care_n

    def seen_patient(self, key: int) -> bool:
        """Set the patient's bit; True when it was already set (seen before, approximately)."""
        i = key % PATIENT_BITS
        byte, bit = i >> 3, 1 << (i & 7)
        if self.pbits[byte] & bit:
            return True
        self.pbits[byte] |= bit
        return False

    @staticmethod
    def seen_in(items: list[int], key: int) -> bool:
        """First-seen set: True when known; otherwise remember it (oldest evicted)."""
        if key in items:
            return True
        items.append(key)
        if len(items) > SET_CAP:
            del items[0]
        return False

    # --- reads ------------------------------------------------------------------------------
    def window(self, ring: int, c: int) -> float:
        v = self.tot[ring][c]
        if c == C_PAT or c == C_STUDY:
            return distinct_estimate(v)
        if c == C_KIB:
            return v / 1024.0
        return float(v)

    def window_features(self, out: dict) -> dict:
        """The 24 window features into `out` (FEATURE_NAMES order)."""
        d, dmax = _DISTINCT, _DISTINCT_MAX
        n = SKETCH
        a, b, c = self.tot
        out["views_1h"] = float(a[0])
        out["views_24h"] = float(b[0])
        out["views_7d"] = float(c[0])
        out["patients_1h"] = d[a[1]] if a[1] < n else dmax
        out["patients_24h"] = d[b[1]] if b[1] < n else dmax
        out["patients_7d"] = d[c[1]] if c[1] < n else dmax
        out["studies_1h"] = d[a[2]] if a[2] < n else dmax
        out["studies_24h"] = d[b[2]] if b[2] < n else dmax
        out["studies_7d"] = d[c[2]] if c[2] < n else dmax
        out["exports_1h"] = float(a[3])
        out["exports_24h"] = float(b[3])
        out["exports_7d"] = float(c[3])
        out["export_instances_1h"] = float(a[4])
        out["export_instances_24h"] = float(b[4])
        out["export_instances_7d"] = float(c[4])
        out["export_mib_1h"] = a[5] / 1024.0
        out["export_mib_24h"] = b[5] / 1024.0
        out["export_mib_7d"] = c[5] / 1024.0
        out["deletes_1h"] = float(a[6])
        out["deletes_24h"] = float(b[6])
        out["deletes_7d"] = float(c[6])
        out["failed_logins_1h"] = float(a[7])
        out["failed_logins_24h"] = float(b[7])
        out["failed_logins_7d"] = float(c[7])
        return out

    def baseline(self, daily: bool, c: int, k: float = 3.0) -> tuple[float, float, int]:
        """(typical, upper = mean + k sd) of the user's own count per active hour (day), in
        natural units, and the number of hours (days) behind it."""
        st, n = (self.dstat, self.n_days) if daily else (self.hstat, self.n_hours)
        return _natural(st[2 * c], st[2 * c + 1], k) + (n,)

    def fold(self, daily: bool, counts: list[int], alpha_min: float) -> None:
        """Train the own baseline on a closed hour (day): EWMA of log1p(count)."""
        if daily:
            self.n_days += 1
            st, n = self.dstat, self.n_days
        else:
            self.n_hours += 1
            st, n = self.hstat, self.n_hours
        a = max(1.0 / n, alpha_min)
        for c in range(NC):
            x = math.log1p(counts[c])
            m = st[2 * c]
            d = x - m
            st[2 * c] = m + a * d
            st[2 * c + 1] = (1 - a) * (st[2 * c + 1] + a * d * d)
        st[:] = array("f", st).tolist()  # float32 at rest: same values after a round trip

    # --- serialisation ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        life = self.life
        head = _HEADER.pack(
            _VERSION, *self.heads, self.hour_id, self.day_id, self.first_ms, self.last_ms,
            self.prev_ms, self.ok_ms, self.sk_base, self.hmask, self.n_hours, self.n_days, self.ddays,
            self.shift, self.flags, len(self.dests), len(self.hosts), len(self.depts), self.risk, self.score,
            self.sig & 0xFFFFFFFF, self.risk_ms, self.break_glass_ms, self.care_n, self.care_in,
            self.care_ms, self.ret_ms, self.ret_gap, self.ret_span, min(self.ret_n, 0xFFFF), self.ret_code,
            *self.peaks, self.opens, self.fresh_opens)
        r0, r1, r2 = self.rings
        t0, t1, t2 = self.tot
        raw = b"".join((
            head, r0, r1, r2, t0, t1, t2, self.hour_acc, self.day_acc,
            array("Q", life).tobytes(),
            self.psk.tobytes(), self.ssk.tobytes(), self.pbits, self.dprof,
            array("I", self.dests + self.hosts + self.depts).tobytes(),
            array("f", self.hstat + self.dstat).tobytes(),
            orjson.dumps(self.incidents) if self.incidents else b"",
        ))
        return lz4.block.compress(raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> "UserState":
        try:
            raw = lz4.block.decompress(data)
        except lz4.block.LZ4BlockError as exc:
            raise ValueError(f"unreadable user state: {exc}") from None
        if not raw or raw[0] not in _READABLE:
            raise ValueError(f"unsupported user state version {raw[:1].hex() or 'empty'}")
        s = cls.__new__(cls)
        header = (_HEADER if raw[0] >= 5 else _HEADER_V4 if raw[0] == 4 else _HEADER_V3 if raw[0] == 3
                  else _HEADER_V2)
        fields = header.unpack_from(raw, 0)
        (_, h0, h1, h2, s.hour_id, s.day_id, s.first_ms, s.last_ms, s.prev_ms, s.ok_ms, s.sk_base,
         s.hmask, s.n_hours, s.n_days, s.ddays, s.shift, s.flags, nd, nh, ndep, s.risk, s.score, s.sig,
         s.risk_ms, s.break_glass_ms) = fields[:25]
        s.care_n, s.care_in, s.care_ms = fields[25:28] if len(fields) > 25 else (0.0, 0.0, 0)
        s.ret_ms, s.ret_gap, s.ret_span, s.ret_n, s.ret_code = fields[28:33] if len(fields) > 28 else (0, 0.0, 0.0, 0, 0)
        npk = 2 * len(PEAK_COUNTERS)
        s.peaks = list(fields[33:33 + npk]) if len(fields) > 33 else [0] * npk
        s.opens, s.fresh_opens = fields[33 + npk:35 + npk] if len(fields) > 33 + npk else (0.0, 0.0)
        s.heads = [h0, h1, h2]
        pos = header.size
        values = array("I", raw[pos:pos + 4 * _N_COUNTERS])
        pos += 4 * _N_COUNTERS
        s.life = array("Q", raw[pos:pos + 8 * (NC + 2)]).tolist()
        pos += 8 * (NC + 2)
        a, b, c = _CUTS
        s.rings = [values[:a], values[a:b], values[b:c]]
        s.tot = [values[c:c + NC], values[c + NC:c + 2 * NC], values[c + 2 * NC:c + 3 * NC]]
        i = c + 3 * NC
        s.hour_acc = values[i:i + NC]
        s.day_acc = values[i + NC:i + 2 * NC]
        s.psk = array("H", raw[pos:pos + 2 * SKETCH])
        pos += 2 * SKETCH
        s.ssk = array("H", raw[pos:pos + 2 * SKETCH])
        pos += 2 * SKETCH
        s.pbits = bytearray(raw[pos:pos + PATIENT_BITS // 8])
        pos += PATIENT_BITS // 8
        width = 25 if raw[0] >= 4 else 24
        s.dprof = bytearray(raw[pos:pos + width])
        pos += width
        if width == 24:
            s.dprof.append(0)
        nsets = 4 * (nd + nh + ndep)
        ids = array("I", raw[pos:pos + nsets]).tolist()
        pos += nsets
        s.dests, s.hosts, s.depts = ids[:nd], ids[nd:nd + nh], ids[nd + nh:]
        stats = array("f", raw[pos:pos + 16 * NC]).tolist()
        pos += 16 * NC
        s.hstat, s.dstat = stats[:2 * NC], stats[2 * NC:]
        s.incidents = orjson.loads(raw[pos:]) if pos < len(raw) else {}
        return s


_CUTS = (12 * NC, 36 * NC, 43 * NC)  # ends of the 1 h, 24 h and 7 d rings in the counter block
_N_COUNTERS = _CUTS[2] + 5 * NC      # rings, their totals, hour and day accumulators


def _f32(x: float) -> float:
    """The float32 value of x (what the state stores), so a round trip changes nothing."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def profile_class(p) -> int:
    """Shift class of an hour-of-day profile by its circular mean: 0 day (centre 05-16 h),
    1 evening (16-22 h), 2 night."""
    x = sum(p[h] * _COS[h] for h in range(24))
    y = sum(p[h] * _SIN[h] for h in range(24))
    centre = (math.atan2(y, x) * 12 / math.pi) % 24
    return 0 if 5 <= centre < 16 else 1 if 16 <= centre < 22 else 2


def _natural(m: float, var: float, k: float) -> tuple[float, float]:
    return math.expm1(m), math.expm1(m + k * math.sqrt(max(var, 0.0)))


# --- peer groups ------------------------------------------------------------------------------
def _busiest(row: list, hour: int, before: int, after: int, n: int) -> float:
    """The largest count of `row` (per hour of day) from `before` hours before `hour` to `after`
    hours after it, over `n`, at most 1."""
    return min(max(row[(hour + d) % 24] for d in range(-before, after + 1)) / n, 1.0)


class PeerStats:
    """Aggregates of one peer group (role + department), mergeable across workers.

    Per counter: number of closed user-hours (user-days), sum and sum of squares of log1p(count),
    so mean and variance combine exactly by addition. `hours[how]` counts active user-hours per
    hour of week: the group's shift pattern. `dhours[k][h]` counts the members' active days that
    included hour h, `ddays[k]` their active days, per shift class k (SHIFT_CLASSES; k = 3: all
    members, whatever their class). `cdays[k][h]` counts calendar days on which at least one
    member of class k worked at hour h, out of `n_cdays[k]` days: how often the group as a whole
    covers an hour, however many members it has (an on-call rota covers most nights although each
    member takes few). Member-days are gathered per calendar day in `pending` (the last
    PENDING_DAYS days, in memory only) and counted when the day falls out of it.
    `hmembers[k][h]` holds the HOUR_MEMBERS smallest hashes of the members of class k who worked
    at hour h (a bottom-k sample: merged across workers exactly as if one had seen everything),
    out of `mdays[k]` member-days counted with their member: whether an hour is the class's shift
    pattern (several members take it) or the habit of one or two members (a colleague moving to
    nights, a night worker not yet classed as one).
    """

    __slots__ = ("n_hours", "hsum", "hsq", "n_days", "dsum", "dsq", "hours", "dhours", "ddays",
                 "cdays", "n_cdays", "wdays", "members", "hmembers", "mdays", "pending")
    _STATE = __slots__[:-1]
    PENDING_DAYS = 2
    MEMBERS_KEPT = 8
    HOUR_MEMBERS = 4

    def __init__(self) -> None:
        self.n_hours = 0
        self.hsum = [0.0] * NC
        self.hsq = [0.0] * NC
        self.n_days = 0
        self.dsum = [0.0] * NC
        self.dsq = [0.0] * NC
        self.hours = [0] * 168
        self.dhours = [[0] * 24 for _ in range(4)]
        self.ddays = [0] * 4
        self.cdays = [[0] * 24 for _ in range(4)]
        self.n_cdays = [0] * 4
        self.wdays = [0] * 4  # member-days on a weekend, per shift class
        # hour, then day: [studies exported, member hash] of the members who exported the most
        # studies in an hour (day), MEMBERS_KEPT at most, largest first; alerted hours included:
        # a batch size several members send is the group's practice (see over_baseline)
        self.members = [[], []]
        self.hmembers = [[[] for _ in range(24)] for _ in range(4)]
        self.mdays = [0] * 4  # member-days recorded in hmembers (older snapshots: fewer)
        self.pending: dict[int, list[int]] = {}  # day id -> active-hour mask per class

    def add_hour(self, counts: list[int], how: int) -> None:
        self.n_hours += 1
        self.hours[how] += 1
        for c, v in enumerate(counts):
            if v:
                x = math.log1p(v)
                self.hsum[c] += x
                self.hsq[c] += x * x

    def add_day(self, counts: list[int]) -> None:
        self.n_days += 1
        for c, v in enumerate(counts):
            if v:
                x = math.log1p(v)
                self.dsum[c] += x
                self.dsq[c] += x * x

    def merge(self, other: "PeerStats") -> "PeerStats":
        self.n_hours += other.n_hours
        self.n_days += other.n_days
        for c in range(NC):
            self.hsum[c] += other.hsum[c]
            self.hsq[c] += other.hsq[c]
            self.dsum[c] += other.dsum[c]
            self.dsq[c] += other.dsq[c]
        for i in range(168):
            self.hours[i] += other.hours[i]
        for k in range(4):
            self.ddays[k] += other.ddays[k]
            self.n_cdays[k] += other.n_cdays[k]
            self.wdays[k] += other.wdays[k]
            for h in range(24):
                self.dhours[k][h] += other.dhours[k][h]
                self.cdays[k][h] += other.cdays[k][h]
        for mine, theirs in zip(self.members, other.members):
            for v, m in theirs:
                self._keep(mine, m, v)
        for k in range(4):
            self.mdays[k] += other.mdays[k]
            for h in range(24):
                for m in other.hmembers[k][h]:
                    self._keep_member(self.hmembers[k][h], m)
        return self

    @classmethod
    def _keep_member(cls, row: list, member: int) -> None:
        """Add `member` to a bottom-HOUR_MEMBERS sample of hashes (sorted, distinct)."""
        if member in row or (len(row) >= cls.HOUR_MEMBERS and member >= row[-1]):
            return
        row.append(member)
        row.sort()
        del row[cls.HOUR_MEMBERS:]

    def hour_members(self, cls: int, hour: int, before: int, after: int) -> int:
        """Distinct members of class `cls` seen working from `before` hours before this hour to
        `after` hours after it, up to HOUR_MEMBERS (exact below it: the union of bottom-k
        samples holds the bottom k of the union); -1 when some of the class's member-days were
        counted without their member (a snapshot from before hmembers): nothing to tell."""
        if self.mdays[cls] < self.ddays[cls]:
            return -1
        seen = set()
        for d in range(-before, after + 1):
            seen.update(self.hmembers[cls][(hour + d) % 24])
        return min(len(seen), self.HOUR_MEMBERS)

    def note_member(self, member: int, daily: bool, counts) -> None:
        """Record the studies exported so far this hour (day) by `member` (a user hash)."""
        if counts[C_EXP]:
            self._keep(self.members[daily], member, counts[C_EXP])

    def _keep(self, top: list, member: int, v: int) -> None:
        for row in top:
            if row[1] == member:
                if v <= row[0]:
                    return
                row[0] = v
                break
        else:
            if len(top) >= self.MEMBERS_KEPT and v <= top[-1][0]:
                return
            top.append([v, member])
        top.sort(key=lambda r: -r[0])
        del top[self.MEMBERS_KEPT:]

    def members_exporting(self, daily: bool, studies: float, member: int) -> int:
        """Other members who exported at least `studies` studies in an hour (day)."""
        return sum(1 for v, m in self.members[daily] if m != member and v >= studies)

    def add_day_hours(self, day: int, cls: int, mask: int, member: int | None = None) -> None:
        """One member-day (day id = epoch ms // DAY): its active hours (bit mask), the member's
        shift class `cls` (-1 unknown) and the member's hash (h32 of the user id)."""
        masks = self.pending.get(day)
        if masks is None:
            if self.pending and day < min(self.pending) and len(self.pending) >= self.PENDING_DAYS:
                masks = [0] * 4  # too late for its calendar day: member-day counts only
            else:
                masks = self.pending[day] = [0] * 4
                while len(self.pending) > self.PENDING_DAYS:
                    self._count_day(self.pending.pop(min(self.pending)))
        weekend = bool(mask & WEEKEND_BIT)
        mask &= WEEKEND_BIT - 1
        for k in ((cls, 3) if cls >= 0 else (3,)):
            self.ddays[k] += 1
            self.wdays[k] += weekend
            masks[k] |= mask
            row = self.dhours[k]
            for h in range(24):
                if mask >> h & 1:
                    row[h] += 1
            if member is not None:
                self.mdays[k] += 1
                rows = self.hmembers[k]
                for h in range(24):
                    if mask >> h & 1:
                        self._keep_member(rows[h], member)

    def _count_day(self, masks: list[int]) -> None:
        for k in range(4):
            if masks[k]:
                self.n_cdays[k] += 1
                row = self.cdays[k]
                for h in range(24):
                    if masks[k] >> h & 1:
                        row[h] += 1

    def weekend_share(self, cls: int, min_days: int) -> float:
        """Share of the member-days of class `cls` that were weekend days; -1 with fewer than
        `min_days` member-days."""
        n = self.ddays[cls]
        return self.wdays[cls] / n if n >= min_days else -1.0

    def day_share(self, cls: int, hour: int, min_days: int, before: int = 2, after: int = 1) -> float:
        """Share of calendar days on which some member of class `cls` worked from `before` hours
        before this hour to `after` hours after it, over the days members of that class were
        seen; -1 when the group has been seen on fewer than `min_days` days. Estimated by the
        busiest of those hours (a lower bound): the sum over them counted one night of five hours
        as five nights, so one colleague's few night sessions passed for a rota covering half the
        nights. Asymmetric because work spills over after a shift (late finishes, checks from
        home in the evening), not hours ahead of it: two hours ahead, the day shift's first hour
        (06:00) made 04:00 look covered."""
        n = self.n_cdays[cls]
        if self.n_cdays[3] < min_days or not n:
            return -1.0
        return _busiest(self.cdays[cls], hour, before, after, n)

    def member_share(self, cls: int, hour: int, before: int = 2, after: int = 1) -> float:
        """Share of the member-days of class `cls` active at the busiest hour from `before` hours
        before this hour to `after` hours after it: how often a typical member works then. With
        one member covering each night it equals day_share / members per day; a rota that puts
        two or three members on every night (rotating radiographers: days, evenings, nights)
        gives each of them that many more nights. 0 without member-days."""
        n = self.ddays[cls]
        return _busiest(self.dhours[cls], hour, before, after, n) if n else 0.0

    def share(self, cls: int, hour: int, min_days: int) -> float:
        """Member-days of shift class `cls` (3: all) active at this hour of day, plus those at the
        neighbouring hours, per member-day (an upper bound of "active within +-1 h", so on-call
        work spread over the night adds up); -1 with fewer than `min_days` member-days."""
        n = self.ddays[cls]
        if n < min_days:
            return -1.0
        row = self.dhours[cls]
        return min((row[hour - 1] + row[hour] + row[(hour + 1) % 24]) / n, 1.0)

    def moments(self, daily: bool, c: int) -> tuple[float, float, int]:
        """(mean, variance, n) of log1p(count) for counter c."""
        n = self.n_days if daily else self.n_hours
        if not n:
            return 0.0, 0.0, 0
        s, q = (self.dsum[c], self.dsq[c]) if daily else (self.hsum[c], self.hsq[c])
        m = s / n
        return m, max(q / n - m * m, 0.0), n

    def baseline(self, daily: bool, c: int, k: float = 3.0) -> tuple[float, float, int]:
        """(typical, upper = mean + k sd) in natural units, and n, like UserState.baseline."""
        m, var, n = self.moments(daily, c)
        return _natural(m, var, k) + (n,)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self._STATE}

    @classmethod
    def from_dict(cls, d: dict) -> "PeerStats":
        p = cls()
        for k in cls._STATE:
            if k in d:  # older snapshots lack the newer aggregates: they start empty
                setattr(p, k, d[k])
        return p
