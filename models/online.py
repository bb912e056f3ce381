"""Online anomaly model of the current user-hour.

Per user: a diagonal Gaussian over log1p of the hour's counters (views, distinct patients and
studies, exports, instances, KiB, deletes, failed logins). Its mean/variance are the user's own
EWMA baseline (UserState.hstat, ~130 bytes), blended with the peer group's moments for the first
`prior_hours` hours - so a new user is scored from the first event against their role and
department. A per-user river model would not fit the 2 KB state budget (one HalfSpaceTrees is
thousands of nodes), the Gaussian does and is exact to serialise.

Per peer group (in memory, per process): a river HalfSpaceTrees over the same scaled vector. It is
the multivariate check (odd combinations the per-counter z misses) and tempers the Gaussian:
score = gauss * (0.5 + 0.5 * forest) once the forest has seen `warmup_hours` hours. River was
chosen because it learns one sample at a time with bounded memory, needs no batch refits and its
HalfSpaceTrees is built for streams; scoring happens only when the hour's vector changes by a
power of two in some counter (a few times per user-hour, not per event), and learning only when
an hour closes and was not flagged (anomalies never train the baseline), so the ~30-70 us per
river call is paid rarely.
"""

from __future__ import annotations

import math

from models.features import C_EXP, C_INST, C_KIB, C_PAT, C_STUDY, COUNTERS, NC, PeerStats, UserState, distinct_estimate

_CAPS = [math.log1p(x) for x in (2000, 2000, 2000, 2000, 200_000, 50_000_000, 2000, 200)]


def signature(counts: list[int]) -> int:
    """Order of magnitude of every counter from 8 up (4 bits each): changes a few times an hour.
    Counts below 8 cannot be anomalous enough to matter against the sd floor."""
    sig = 0
    for c in range(NC):
        v = counts[c]
        if v >= 8:
            sig |= min(v.bit_length() - 3, 15) << (4 * c)
    return sig


class OnlineModel:
    """Scores a user's current hour; one instance per engine (holds the peer forests)."""

    def __init__(self, cfg: dict) -> None:
        self.prior = float(cfg["prior_hours"])
        self.sd_floor = float(cfg["sd_floor"])
        self.z_start = float(cfg["z_start"])
        self.forest_cfg = dict(cfg.get("forest") or {})
        self.warmup = int(self.forest_cfg.pop("warmup_hours", 200))
        self.forests: dict[str, list] = {}  # peer group -> [HalfSpaceTrees, hours learned]
        # counters that are zero most hours are judged only from a minimum count: a single
        # routine export of one CT (300 MB against a usual 0) is not an anomaly of the hour
        mins = dict(cfg.get("min_counts") or {})
        self.min_exports = int(mins.get("exports", 0))
        self.min_counts = [int(mins.get(name, 0)) for name in COUNTERS]
        # imported here, at start-up: river pulls in scikit-learn (~2.5 s), which must not stall
        # the stream the first time an hour closes
        from river.anomaly import HalfSpaceTrees

        self._forest_cls = HalfSpaceTrees

    def gauss(self, st: UserState, peer: PeerStats, counts: list[int]) -> tuple[float, list[dict]]:
        """Score 0..1 of `counts` and the explanation (features above expectation, worst first)."""
        n = st.n_hours
        w = n / (n + self.prior)
        worst = 0.0
        expl = []
        min_counts, gate = self.min_counts, counts[C_EXP] < self.min_exports
        for c in range(NC):
            v = counts[c]
            if v < min_counts[c] or (gate and (c == C_INST or c == C_KIB)):
                continue
            if c == C_PAT or c == C_STUDY:
                v = distinct_estimate(v)
            x = math.log1p(v)
            pm, pv, pn = peer.moments(False, c)
            sm, sv = st.hstat[2 * c], st.hstat[2 * c + 1]
            if not pn:
                pm, pv = 0.0, 1.0
            if not n:
                m, var = pm, pv
            else:
                m = w * sm + (1 - w) * pm
                var = w * sv + (1 - w) * pv + w * (1 - w) * (sm - pm) ** 2
            z = (x - m) / max(math.sqrt(var), self.sd_floor)
            if z > self.z_start:
                expl.append((z, {"feature": f"{COUNTERS[c]}_hour", "value": round(float(v), 2),
                                 "expected": round(math.expm1(m), 3),
                                 "baseline": "self" if w >= 0.5 else "peer"}))
            worst = max(worst, z)
        expl.sort(key=lambda e: -e[0])
        score = 1.0 - math.exp(-max(0.0, worst - self.z_start))
        return score, [e for _, e in expl[:3]]

    def forest_score(self, group: str, counts: list[int]) -> float | None:
        entry = self.forests.get(group)
        if entry is None or entry[1] < self.warmup:
            return None
        return entry[0].score_one(_scaled(counts))

    def learn(self, group: str, counts: list[int]) -> None:
        entry = self.forests.get(group)
        if entry is None:
            entry = self.forests[group] = [self._forest_cls(**self.forest_cfg), 0]
        entry[0].learn_one(_scaled(counts))
        entry[1] += 1

    def score(self, group: str, st: UserState, peer: PeerStats,
              counts: list[int]) -> tuple[float, list[dict]]:
        g, expl = self.gauss(st, peer, counts)
        if g <= 0.0:
            return 0.0, expl
        f = self.forest_score(group, counts)
        return (g if f is None else g * (0.5 + 0.5 * f)), expl


def _scaled(counts: list[int]) -> dict:
    return {COUNTERS[c]: min(math.log1p(counts[c]) / _CAPS[c], 1.0) for c in range(NC)}
