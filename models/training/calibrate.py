"""Alerts a score would raise, and the threshold that meets an alert budget.

A batch-model alert is what the engine makes of hits (score >= threshold): one incident per user
while hits follow each other within the incident gap (rules: incidents.gap_minutes). Counting those
incidents over a window's stored scores tells how many alerts a threshold would have raised, per
1,000 user-days (distinct user and UTC day pairs with any event).
"""

from __future__ import annotations

import numpy as np

from models.features import DAY

DEFAULT_GAP_MS = 30 * 60_000


def incident_gap_ms(rules: dict | None = None) -> int:
    """The engine's incident gap from the rules (default rules when None)."""
    if rules is None:
        from models.rules import load_rules
        rules = load_rules()
    return int(float(rules["incidents"]["gap_minutes"]) * 60_000)


class AlertModel:
    """Precomputed (user, time) order of a window, to count alerts at many thresholds quickly."""

    def __init__(self, users: list[str], times: np.ndarray, gap_ms: int = DEFAULT_GAP_MS) -> None:
        codes = {u: i for i, u in enumerate(sorted(set(users)))}
        self.user = np.asarray([codes[u] for u in users], dtype=np.int64)
        self.times = np.asarray(times, dtype=np.int64)
        self.order = np.lexsort((self.times, self.user))
        self.gap = gap_ms
        self.user_days = len(set(zip(self.user.tolist(), (self.times // DAY).tolist())))

    def alerts(self, scores: np.ndarray, threshold: float) -> np.ndarray:
        """Alert number of every row (-1: no hit); rows of one alert share its number."""
        hit = np.asarray(scores)[self.order] >= threshold
        idx = self.order[hit]
        out = np.full(len(self.user), -1, dtype=np.int64)
        if not len(idx):
            return out
        u, t = self.user[idx], self.times[idx]
        new = np.r_[True, (u[1:] != u[:-1]) | (np.diff(t) > self.gap)]
        out[idx] = np.cumsum(new) - 1
        return out

    def count(self, scores: np.ndarray, threshold: float) -> int:
        return int(self.alerts(scores, threshold).max() + 1)

    def per_1000(self, n: int) -> float:
        return 1000.0 * n / max(1, self.user_days)


def calibrate_threshold(scores: np.ndarray, users: list[str], times: np.ndarray, budget: float, *,
                        gap_ms: int = DEFAULT_GAP_MS, event_ids: list[str] | None = None,
                        labels=None, floor: float = 0.5, candidates: int = 400) -> dict:
    """The lowest threshold (>= floor) whose alerts per 1,000 user-days stay within `budget`.

    With `labels` (training.data.Labels) and `event_ids`, reports how many analyst-confirmed
    incidents (true-positive alerts) and dismissed ones (false positives) the threshold keeps.
    """
    if budget <= 0:
        raise ValueError("the budget is alerts per 1,000 user-days and must be > 0")
    scores = np.asarray(scores, dtype=float)
    am = AlertModel(users, times, gap_ms)
    values = np.unique(scores[scores >= floor])
    top = values
    if len(top) > candidates:  # coarse scan over quantiles, then every value below the pick
        top = np.unique(np.quantile(values, np.linspace(0, 1, candidates), method="nearest"))
    chosen = float(np.nextafter(values.max(), 2.0)) if len(values) else floor
    prev = floor
    for t in top:
        if am.per_1000(am.count(scores, t)) <= budget:
            chosen = float(t)
            break
        prev = float(t)
    for t in values[(values > prev) & (values < chosen)]:
        if am.per_1000(am.count(scores, t)) <= budget:
            chosen = float(t)
            break
    n = am.count(scores, chosen)
    out = {"threshold": chosen, "budget_per_1000_user_days": budget,
           "alerts": n, "alerts_per_1000_user_days": round(am.per_1000(n), 3),
           "user_days": am.user_days, "events": int(len(scores))}
    if labels is not None and event_ids is not None:
        out.update(labelled_kept(scores >= chosen, event_ids, labels))
    return out


def labelled_kept(hit: np.ndarray, event_ids: list[str], labels) -> dict:
    """Labelled alerts that still have at least one hit among their events."""
    from models.training.data import FALSE, TRUE

    hits = {eid for eid, h in zip(event_ids, hit) if h}
    known = set(event_ids)
    res = {}
    for status, key in ((TRUE, "true"), (FALSE, "false")):
        alerts = [a for a in labels.alerts if a["status"] == status and known & set(a["event_ids"])]
        res[f"labelled_{key}_alerts"] = len(alerts)
        res[f"labelled_{key}_kept"] = sum(1 for a in alerts if hits & set(a["event_ids"]))
    return res
