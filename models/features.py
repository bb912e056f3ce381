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
flagged anomalous: anomalies never train the baseline. The hour-of-week profile counts active hours
(quarter units, weekly decay), so "usually works Mondays 22:00" is a probability.

Serialised form (`to_bytes`): a fixed struct header, raw arrays (C speed both ways), a JSON tail for
open incidents, zlib-compressed; typically 0.7-1.2 KB for a busy user (see benchmarks/bench_detect.py).
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array

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
PROFILE_DECAY = 243                              # weekly decay of the hour-of-week profile (/256)

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

_HEADER = struct.Struct("<B3q2qqqqqqqIIHHBBBffIqq")
_VERSION = 1


def h32(text: str) -> int:
    """Stable 32-bit hash (process independent, unlike hash())."""
    return zlib.crc32(text.encode())


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


class UserState:
    """Everything the engine keeps about one user. Plain lists and ints for a fast hot path."""

    __slots__ = ("heads", "rings", "tot", "hour_id", "hour_acc", "day_id", "day_acc", "life",
                 "first_ms", "last_ms", "prev_ms", "ok_ms", "sk_base", "psk", "ssk", "pbits", "dests",
                 "hosts", "depts", "profile", "weeks", "week_id", "hstat", "dstat", "n_hours",
                 "n_days", "risk", "risk_ms", "flags", "score", "sig", "break_glass_ms",
                 "incidents")

    def __init__(self) -> None:
        self.heads = [-1, -1, -1]
        self.rings = [[0] * (n * NC) for _, n in RINGS]
        self.tot = [[0] * NC for _ in RINGS]
        self.hour_id = -1
        self.hour_acc = [0] * NC
        self.day_id = -1
        self.day_acc = [0] * NC
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
        self.profile = bytearray(168)
        self.weeks = 0
        self.week_id = -1
        self.hstat = [0.0] * (2 * NC)  # mean, var of log1p(hourly count) per counter
        self.dstat = [0.0] * (2 * NC)  # same, daily
        self.n_hours = 0
        self.n_days = 0
        self.risk = 0.0
        self.risk_ms = 0
        self.flags = 0  # 1: current hour anomalous, 2: current day anomalous
        self.score = 0.0
        self.sig = 0
        self.break_glass_ms = 0
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
            self.hour_acc = [0] * NC
            self.hour_id = hid
            self.flags &= ~1
        did = ms // DAY
        if did != self.day_id:
            if self.day_id >= 0:
                closed_d = self.day_acc
            self.day_acc = [0] * NC
            self.day_id = did
            self.flags &= ~2
        return closed_h, closed_d, flags

    def mark_active(self, ms: int) -> None:
        """Count the (closed, normal) hour containing `ms` in the hour-of-week profile."""
        wk = (ms // HOUR + 72) // 168
        if wk != self.week_id:
            steps = min(wk - self.week_id, 30) if self.week_id >= 0 else 0
            if steps > 0:
                p = self.profile
                for _ in range(steps):
                    for i in range(168):
                        if p[i]:
                            p[i] = (p[i] * PROFILE_DECAY) >> 8
                    self.weeks = (self.weeks * PROFILE_DECAY) >> 8
            self.weeks = min(self.weeks + 4, 255)
            self.week_id = wk
        how = (ms // HOUR + 72) % 168
        self.profile[how] = min(self.profile[how] + 4, 255)

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
        """Distinct counting: count `key` as new in each window where its slot was idle."""
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
        idle = rel - last if last else 1 << 30
        self.life[c] += 1
        hour_start = (ms // HOUR) * 60 - self.sk_base + 1
        day_start = (ms // DAY) * 1440 - self.sk_base + 1
        for r, (width, n) in enumerate(RINGS):
            if idle > WINDOW_MIN[r]:
                b = ms // width
                if b > self.heads[r] - n:
                    self.rings[r][(b % n) * NC + c] += 1
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

    def hour_activity(self, ms: int) -> float:
        """Share of observed weeks in which the user was active at this hour of week (or the
        neighbouring hours), 0..1; -1 when there is less than a week of history."""
        if self.weeks < 8:
            return -1.0
        how = (ms // HOUR + 72) % 168
        p = self.profile
        best = max(p[how - 1], p[how], p[(how + 1) % 168])
        return min(best / self.weeks, 1.0)

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
            self.prev_ms, self.ok_ms, self.sk_base, self.week_id, self.n_hours, self.n_days, self.weeks, self.flags,
            len(self.dests), len(self.hosts), len(self.depts), self.risk, self.score,
            self.sig & 0xFFFFFFFF, self.risk_ms, self.break_glass_ms)
        counters = array("I", [v for ring in self.rings for v in ring])
        counters.extend(self.hour_acc)
        counters.extend(self.day_acc)
        parts = [
            head,
            counters.tobytes(),
            array("Q", life).tobytes(),
            self.psk.tobytes(), self.ssk.tobytes(), bytes(self.pbits), bytes(self.profile),
            array("I", self.dests + self.hosts + self.depts).tobytes(),
            array("f", self.hstat + self.dstat).tobytes(),
            orjson.dumps(self.incidents) if self.incidents else b"",
        ]
        raw = b"".join(parts)
        return zlib.compress(raw, 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> "UserState":
        raw = zlib.decompress(data)
        s = cls()
        fields = _HEADER.unpack_from(raw, 0)
        if fields[0] != _VERSION:
            raise ValueError(f"unsupported user state version {fields[0]}")
        (_, h0, h1, h2, s.hour_id, s.day_id, s.first_ms, s.last_ms, s.prev_ms, s.ok_ms, s.sk_base,
         s.week_id, s.n_hours, s.n_days, s.weeks, s.flags, nd, nh, ndep, s.risk, s.score, s.sig,
         s.risk_ms, s.break_glass_ms) = fields
        s.heads = [h0, h1, h2]
        pos = _HEADER.size
        n_counters = (sum(n for _, n in RINGS) + 2) * NC
        values = array("I", raw[pos:pos + 4 * n_counters]).tolist()
        pos += 4 * n_counters
        s.life = array("Q", raw[pos:pos + 8 * (NC + 2)]).tolist()
        pos += 8 * (NC + 2)
        i = 0
        for r, (_, n) in enumerate(RINGS):
            s.rings[r] = values[i:i + n * NC]
            i += n * NC
            tot = s.tot[r]
            ring = s.rings[r]
            for k in range(n):
                for c in range(NC):
                    tot[c] += ring[k * NC + c]
        s.hour_acc = values[i:i + NC]
        s.day_acc = values[i + NC:i + 2 * NC]
        s.psk = array("H", raw[pos:pos + 2 * SKETCH])
        pos += 2 * SKETCH
        s.ssk = array("H", raw[pos:pos + 2 * SKETCH])
        pos += 2 * SKETCH
        s.pbits = bytearray(raw[pos:pos + PATIENT_BITS // 8])
        pos += PATIENT_BITS // 8
        s.profile = bytearray(raw[pos:pos + 168])
        pos += 168
        nsets = 4 * (nd + nh + ndep)
        ids = array("I", raw[pos:pos + nsets]).tolist()
        pos += nsets
        s.dests, s.hosts, s.depts = ids[:nd], ids[nd:nd + nh], ids[nd + nh:]
        stats = array("f", raw[pos:pos + 16 * NC]).tolist()
        pos += 16 * NC
        s.hstat, s.dstat = stats[:2 * NC], stats[2 * NC:]
        if pos < len(raw):
            s.incidents = orjson.loads(raw[pos:])
        return s


def _natural(m: float, var: float, k: float) -> tuple[float, float]:
    return math.expm1(m), math.expm1(m + k * math.sqrt(max(var, 0.0)))


# --- peer groups ------------------------------------------------------------------------------
class PeerStats:
    """Aggregates of one peer group (role + department), mergeable across workers.

    Per counter: number of closed user-hours (user-days), sum and sum of squares of log1p(count),
    so mean and variance combine exactly by addition. `hours[how]` counts active user-hours per
    hour of week: the group's shift pattern.
    """

    __slots__ = ("n_hours", "hsum", "hsq", "n_days", "dsum", "dsq", "hours", "_cache")
    _STATE = ("n_hours", "hsum", "hsq", "n_days", "dsum", "dsq", "hours")

    def __init__(self) -> None:
        self.n_hours = 0
        self.hsum = [0.0] * NC
        self.hsq = [0.0] * NC
        self.n_days = 0
        self.dsum = [0.0] * NC
        self.dsq = [0.0] * NC
        self.hours = [0] * 168
        self._cache: dict[int, tuple[int, float]] = {}

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
        return self

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

    def hour_activity(self, ms: int) -> float:
        """Activity of the group at this hour of day (+-1 h), over days of the same kind
        (weekdays or weekend), relative to its average hour of such days: 1 = average, 0 = the
        group never works then. -1 with too little history (or none for this kind of day). Cached until the group has learned 5% more hours."""
        n = self.n_hours
        if n < 50:
            return -1.0
        how = (ms // HOUR + 72) % 168
        hit = self._cache.get(how)
        if hit is not None and hit[0] * 1.05 >= n:
            return hit[1]
        h = self.hours
        day, hr = divmod(how, 24)
        days = range(5) if day < 5 else range(5, 7)
        total = at = 0
        for d in days:
            row = h[d * 24:(d + 1) * 24]
            total += sum(row)
            at += max(row[hr - 1], row[hr], row[(hr + 1) % 24])
        value = at * 24.0 / total if total >= 24 * len(days) else -1.0  # thin history: unknown
        self._cache[how] = (n, value)
        return value

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self._STATE}

    @classmethod
    def from_dict(cls, d: dict) -> "PeerStats":
        p = cls()
        for k in cls._STATE:
            setattr(p, k, d[k])
        return p
