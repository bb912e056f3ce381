"""The interface every detector keeps, and small helpers they share.

A detector is built from its rule (a dict from schemas/rules/detectors.yaml) and has one method,
`evaluate(ctx) -> list[hit]`. `ctx` is the engine's per-event context (a plain dict, see
streamer/score/engine.py `_context`); a hit is a plain dict made by `hit()`. Detectors hold no
per-user state of their own: everything per user lives in ctx["state"] (so it is serialised with
the user), cross-user memory in ctx["shared"].
"""

from __future__ import annotations

from models.features import C_EXP, C_PAT, C_STUDY, SKETCH, distinct_estimate, h32

DISTINCT_COUNTERS = (C_PAT, C_STUDY)  # counted by the sketch: baselines in slots, features in estimates


class Detector:
    name = ""
    actions: frozenset[str] | None = None  # actions it looks at; None: every event

    def __init__(self, rule: dict) -> None:
        self.rule = rule
        self.severity = rule["severity"]
        self.params = rule.get("params") or {}

    def evaluate(self, ctx: dict) -> list[dict]:
        raise NotImplementedError

    def clone(self) -> "Detector":
        return type(self)(self.rule)

    def hit(self, score: float, summary: str, explanation: list[dict],
            severity: str | None = None) -> dict:
        return {"detector": self.name, "score": round(min(max(score, 0.0), 1.0), 4),
                "severity": severity or self.severity, "summary": summary,
                "explanation": explanation}


def item(feature: str, value: float, expected: float, baseline: str) -> dict:
    """One explanation entry; baseline is "self", "peer" or "rule"."""
    return {"feature": feature, "value": round(float(value), 3), "expected": round(float(expected), 3),
            "baseline": baseline}


def excess_score(value: float, threshold: float) -> float:
    """0.5 at the threshold, towards 1 as value grows past it."""
    return value / (value + threshold) if threshold > 0 else 1.0


def over_baseline(ctx: dict, feature: str, counter: int, daily: bool, p: dict, key: str,
                  scale: float = 1.0, light_ok: bool = True):
    """Compare ctx feature against the own and the peer baseline of `counter`.

    Returns None when normal, else (score, severity or None, explanation list). The limit is
    factor x the largest available upper baseline (mean + k sd; with `prefer_self`, the own one
    once there is enough own history; for daily values also `typical_ratio_day` x the own typical
    day once the user has `typical_min_days` days, if lower), never below `minimum`; without
    enough history the `cold` limit applies; the `ceiling` always fires (critical). `scale`
    multiplies the limit (not the ceiling) when the caller has reasons to expect more (> 1) or
    less (< 1: only against a baseline, not the cold limit, and never below `minimum`).
    """
    value = ctx["features"][feature]
    minimum = p["minimum"].get(key)
    if minimum is None:
        return None
    light = (p.get("light_minimum") or {}).get(key)
    if light is not None and (not light_ok or scale > 1.0 or
                              not set(p.get("light_roles", ())) & set(ctx["roles"])):
        light = None
    if value < (minimum if light is None else min(minimum, light)):
        return None
    k, factor = p["k"], p["factor"]
    st, peer = ctx["state"], ctx["peer"]
    s_typ, s_up, s_n = st.baseline(daily, counter, k)
    q_typ, q_up, q_n = peer.baseline(daily, counter, k)
    if counter in DISTINCT_COUNTERS:
        # the baselines learn slots of the distinct-count sketch per clock hour (day); the
        # feature is an estimate of patients (studies): compare like with like
        s_typ, s_up = distinct_estimate(min(s_typ, SKETCH)), distinct_estimate(min(s_up, SKETCH))
        q_typ, q_up = distinct_estimate(min(q_typ, SKETCH)), distinct_estimate(min(q_up, SKETCH))
    if light is not None and st.n_days >= p.get("typical_min_days", 7) and \
            q_n >= p["min_peer_hours"] / (24 if daily else 1) and \
            0 < max(s_typ, q_typ) <= p.get("light_typical", 0):
        # a light user of a light role, in a light group (a ward physician opening eight
        # patients a day, like their colleagues): the floor meant for busy readers would hide a
        # sweep of their own. Not for bursts in the care workflow (scale > 1), nor when the
        # caller says the openings are not outside it (light_ok False)
        minimum = light
    if value < minimum:
        return None
    uppers = []
    explanation = []
    if s_n >= p["min_self_hours"] / (24 if daily else 1):
        uppers.append(s_up)
        explanation.append(item(feature, value, s_typ, "self"))
    if q_n >= p["min_peer_hours"] / (24 if daily else 1):
        uppers.append(q_up)
        explanation.append(item(feature, value, q_typ, "peer"))
    if p.get("prefer_self") and len(uppers) == 2:
        uppers = uppers[:1]  # enough own history: judged against themselves, not the busiest peers
    limit = max(minimum, factor * max(uppers)) if uppers else p["cold"][key]
    ratio = p.get("typical_ratio_day") if daily else None
    if ratio and st.n_days >= p.get("typical_min_days", 7) and s_typ > 0:
        # a user whose own days vary a lot (a few patients one day, forty the next) has a wide
        # log-space upper bound; `ratio` x their typical day is far from that habit anyway (days
        # only: a typical hour, idle hours included, says little about a busy one)
        limit = min(limit, max(minimum, ratio * s_typ))
    if scale >= 1.0:
        limit *= scale
    elif uppers:  # a tighter limit against a baseline (not the cold limit), never below the floor
        limit = max(limit * scale, minimum)
    ceiling = p["ceiling"].get(key)
    if ceiling is not None and value >= ceiling:
        explanation.append(item(feature, value, ceiling, "rule"))
        return max(excess_score(value, limit), 0.9), "critical", explanation
    if value < limit:
        return None
    peak_factor = p.get("peak_factor")
    if peak_factor and value <= peak_factor * st.peak(daily, counter):
        return None  # the user has moved nearly this much in an hour (day) before: their practice
    if counter == C_EXP and group_practice(ctx, p, daily):
        return None  # several colleagues of the same role and department send batches this size
        # (a count: the instances and bytes checks still judge a batch of unusually large studies)
    if not uppers:
        explanation.append(item(feature, value, limit, "rule"))
    return excess_score(value, limit), None, explanation


def names_ticket(event: dict, keys) -> bool:
    """True when the event's detail names an approved change under one of `keys` (config_change,
    odd_hours' change windows, and the archive runs the engine does not count as patients
    opened for patient_sweep)."""
    detail = event.get("detail")
    return type(detail) is dict and any(detail.get(k) for k in keys)


def group_practice(ctx: dict, p: dict, daily: bool) -> bool:
    """True when at least `group_peak_members` other members of the user's role + department
    have each exported 1 / `group_peak_factor` of the studies the user exported this clock hour
    (day) or more in an hour (day): a batch size of the group, judged by its count of studies
    whatever their size (big CT studies make gigabytes of a handful of them)."""
    need, factor = p.get("group_peak_members"), p.get("group_peak_factor")
    dept = ctx.get("dept_peer")
    if not need or not factor or dept is None:
        return False
    st = ctx["state"]
    studies = (st.day_acc if daily else st.hour_acc)[C_EXP]
    return studies > 0 and dept.members_exporting(daily, studies / factor, h32(ctx["user_id"])) >= need


def fmt(x: float) -> str:
    """Short human number: 412, 3.5k, 1.2M."""
    x = float(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.1f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.1f}k"
    if abs(x) >= 100 or x == int(x):
        return f"{x:.0f}"
    return f"{x:.1f}"
