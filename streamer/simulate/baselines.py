"""Baselines that `streamer evaluate` runs beside the engine on the same stream.

Each has `process(event) -> (enriched, alerts)` like the engine, and `flush(now_ms) -> alerts`.
`enriched` is a small dict {"enrichment": {"anomaly_score": float}} (or None when the score is not
known yet: IsolationForest scores in batches and appends to `event_scores` as it goes).
An alert is {"alert_id", "detector", "user_id", "event_ids", "score"}; a re-emitted alert_id adds
event ids to the same alert.

- StaticThresholds: fixed per-user (and per-client) counts per calendar day.
- HalfSpaceTreesBaseline: one river HalfSpaceTrees over per-event feature vectors, learning on
  every event (no filter), threshold from the warm-up scores.
- IsolationForestBaseline: scikit-learn IsolationForest fitted on the warm-up part of the stream,
  scored in batches.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from streamer.timeutil import parse_time

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
ACTION_GROUPS = {"view": 0, "query": 0, "annotate": 1, "edit": 1, "import": 1, "archive": 1,
                 "export": 2, "share": 2, "print": 2, "delete": 3, "login_failed": 4,
                 "permission_change": 5, "config_change": 5, "emergency_access": 6}
FEATURES = ("hour_sin", "hour_cos", "weekend", "g_read", "g_work", "g_export", "g_delete", "g_failed",
            "g_admin", "g_emergency", "instances", "remote", "no_mfa", "external", "views_1h",
            "exports_1h", "failed_1h", "patients_1h")


class Features:
    """Per-event feature vector in [0, 1] with a small per-user 1-hour window."""

    def __init__(self) -> None:
        self.recent: dict = {}

    def __call__(self, e: dict, ms: int) -> list:
        uid = e["user"]["id"]
        win = self.recent.get(uid)
        if win is None:
            win = self.recent[uid] = deque()
        while win and win[0][0] < ms - HOUR_MS:
            win.popleft()
        action = e.get("action", "other")
        g = ACTION_GROUPS.get(action, -1)
        pid = (e.get("patient") or {}).get("id")
        win.append((ms, g, pid))
        views = exports = failed = 0
        patients = set()
        for _, gg, p in win:
            views += gg == 0
            exports += gg == 2
            failed += gg == 4
            if p:
                patients.add(p)
        hour = (ms % DAY_MS) / HOUR_MS
        weekday = (ms // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        study = e.get("study") or {}
        client = e.get("client") or {}
        dest = e.get("destination") or {}
        onehot = [0.0] * 7
        if g >= 0:
            onehot[g] = 1.0
        mfa = e["user"].get("mfa")
        return [(math.sin(hour * math.pi / 12) + 1) / 2, (math.cos(hour * math.pi / 12) + 1) / 2,
                1.0 if weekday >= 5 else 0.0, *onehot,
                min(1.0, math.log1p(study.get("instances", 0)) / 8), 1.0 if client.get("remote") else 0.0,
                0.0 if mfa else 1.0 if mfa is False else 0.5, 1.0 if dest.get("external") else 0.0,
                min(1.0, views / 150), min(1.0, exports / 40), min(1.0, failed / 20),
                min(1.0, len(patients) / 100)]


class _Grouper:
    """Hits of one user within an hour form one alert (same alert_id)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open: dict = {}

    def alert(self, uid: str, ms: int, event_id: str, score: float) -> dict:
        start = self.open.get(uid)
        if start is None or ms - start[1] > HOUR_MS:
            start = (ms, ms)
        self.open[uid] = (start[0], ms)
        return {"alert_id": f"{self.name}:{uid}:{start[0]}", "detector": self.name, "user_id": uid,
                "event_ids": [event_id], "score": score}


class StaticThresholds:
    """Fixed per-day counts: what a SIEM rule of thumb would do."""

    name = "static_thresholds"
    LIMITS = {"views": 300, "patients": 120, "exports": 25, "failed_logins": 6, "deletes": 5,
              "spray_users": 10}

    def __init__(self, limits: dict | None = None) -> None:
        self.limits = {**self.LIMITS, **(limits or {})}
        self.day = None
        self.counts: dict = {}

    def process(self, event: dict) -> tuple:
        ms = parse_time(event["event_time"])
        day = ms // DAY_MS
        if day != self.day:
            self.day, self.counts = day, {}
        uid = event["user"]["id"]
        action = event.get("action")
        eid = event["event_id"]
        keys = []
        if action == "view":
            keys.append(("views", uid, 1))
            pid = (event.get("patient") or {}).get("id")
            if pid:
                keys.append(("patients", uid, pid))
        elif action in ("export", "share", "print"):
            keys.append(("exports", uid, 1))
        elif action == "login_failed":
            keys.append(("failed_logins", uid, 1))
            keys.append(("spray_users", (event.get("client") or {}).get("ip", "?"), uid))
        elif action == "delete":
            keys.append(("deletes", uid, 1))
        alerts, score = [], 0.0
        for rule, key, item in keys:
            c = self.counts.get((rule, key))
            if c is None:
                c = self.counts[(rule, key)] = [set() if item != 1 else 0, []]
            if item == 1:
                c[0] += 1
                n = c[0]
            else:
                c[0].add(item)
                n = len(c[0])
            limit = self.limits[rule]
            score = max(score, min(1.0, n / limit))
            if n < limit:
                c[1].append(eid)
                continue
            ids = c[1] + [eid] if c[1] else [eid]
            c[1] = []
            alerts.append({"alert_id": f"static:{rule}:{key}:{day}", "detector": f"static_{rule}",
                           "user_id": uid, "event_ids": ids, "score": 1.0})
        return {"enrichment": {"anomaly_score": score}}, alerts

    def flush(self, now_ms: int | None = None) -> list:
        return []


class _Quantile:
    """Threshold = the q quantile of warm-up scores (kept as a bounded sample)."""

    def __init__(self, q: float) -> None:
        self.q, self.sample, self.value = q, [], None

    def add(self, score: float) -> None:
        if len(self.sample) < 200_000:
            self.sample.append(score)

    def fix(self) -> float:
        self.value = float(np.quantile(self.sample, self.q)) if self.sample else 1.0
        return self.value


class HalfSpaceTreesBaseline:
    """river HalfSpaceTrees alone, on per-event feature vectors."""

    name = "halfspacetrees"

    def __init__(self, warmup_end_ms: int, q: float = 0.999, n_trees: int = 10, height: int = 8,
                 window_size: int = 250, seed: int = 42) -> None:
        from river.anomaly import HalfSpaceTrees
        self.model = HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size, seed=seed)
        self.features = Features()
        self.warmup_end = warmup_end_ms
        self.threshold = _Quantile(q)
        self.group = _Grouper(self.name)
        self.seen = 0

    def process(self, event: dict) -> tuple:
        ms = parse_time(event["event_time"])
        x = dict(zip(FEATURES, self.features(event, ms)))
        score = self.model.score_one(x)
        self.model.learn_one(x)
        self.seen += 1
        alerts = []
        if ms < self.warmup_end:
            if self.seen > 2 * self.model.window_size:
                self.threshold.add(score)
        else:
            limit = self.threshold.value if self.threshold.value is not None else self.threshold.fix()
            if score > limit:
                alerts.append(self.group.alert(event["user"]["id"], ms, event["event_id"], score))
        return {"enrichment": {"anomaly_score": score}}, alerts

    def flush(self, now_ms: int | None = None) -> list:
        return []


class IsolationForestBaseline:
    """scikit-learn IsolationForest: fitted on the warm-up events, then scored in batches."""

    name = "isolationforest"

    def __init__(self, warmup_end_ms: int, q: float = 0.999, batch: int = 2048, max_fit: int = 50_000,
                 seed: int = 0) -> None:
        self.features = Features()
        self.warmup_end = warmup_end_ms
        self.q, self.batch, self.max_fit, self.seed = q, batch, max_fit, seed
        self.train: list = []
        self.pending: list = []
        self.model = None
        self.limit = None
        self.group = _Grouper(self.name)
        self.event_scores: list = []   # one per processed event, in order (0.0 during warm-up)

    def _fit(self) -> None:
        from sklearn.ensemble import IsolationForest
        x = np.asarray(self.train, dtype=np.float32)
        if len(x) > self.max_fit:
            x = x[np.random.default_rng(self.seed).choice(len(x), self.max_fit, replace=False)]
        if len(x) < 10:
            x = np.zeros((10, len(FEATURES)), dtype=np.float32)
        self.model = IsolationForest(n_estimators=100, random_state=self.seed).fit(x)
        self.limit = float(np.quantile(-self.model.score_samples(x), self.q))
        self.train = []

    def process(self, event: dict) -> tuple:
        ms = parse_time(event["event_time"])
        vec = self.features(event, ms)
        if ms < self.warmup_end:
            self.train.append(vec)
            self.event_scores.append(0.0)
            return None, []
        if self.model is None:
            self._fit()
        self.pending.append((vec, event["user"]["id"], ms, event["event_id"]))
        return None, self.flush() if len(self.pending) >= self.batch else []

    def flush(self, now_ms: int | None = None) -> list:
        if not self.pending:
            return []
        if self.model is None:
            self._fit()
        scores = -self.model.score_samples(np.asarray([p[0] for p in self.pending], dtype=np.float32))
        alerts = []
        for (vec, uid, ms, eid), s in zip(self.pending, scores):
            self.event_scores.append(float(s))
            if s > self.limit:
                alerts.append(self.group.alert(uid, ms, eid, float(s)))
        self.pending = []
        return alerts
