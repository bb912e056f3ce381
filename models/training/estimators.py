"""Batch models trained on stored features: a forest per peer group and the feedback model.

- `PeerForest`: an IsolationForest per peer group ("role|department"); a group with too few rows
  uses its role's forest ("role|*"), a role with too few rows the forest over everyone ("*").
  Each forest's raw score (negated `score_samples`) is mapped to 0..1 by a logistic placed at its
  own training quantiles: 0.5 at the `centre` quantile (99 %), 0.9 at the `high` one (99.9 %), so
  the default threshold 0.9 means "rarer than 1 in 1,000 of this group's training events".
  An IsolationForest saturates beyond the training range (a value ten times the group's maximum
  lands in the same leaf as the maximum), so a range check joins it: per feature, how far the value
  lies above the group's 99.9 % quantile in units of (quantile - median), at least `min_spread`
  (log scale), for every feature but the hour-activity ones (unusual when low); z > 0 scores 1 - exp(-z) / 2 (0.5 at the edge, 0.9 at z = 1.6). The score is the
  larger of the two.
- `FeedbackModel`: the forest, tempered by a calibrated classifier trained on analysts' labels:
  score = forest * (1 - weight * (1 - p)), p = P(true positive | features, forest score). Events
  like confirmed incidents keep their score, events like dismissed alerts lose up to `weight` of it;
  without enough labels it is the forest alone.

Features are compressed with sign(x) * log1p(|x|) (counts span five orders of magnitude).
"""

from __future__ import annotations

import numpy as np

from models.features import FEATURE_NAMES

NO_RANGE = frozenset(("hour_activity_self", "hour_activity_peer"))


def compress(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    return np.sign(X) * np.log1p(np.abs(X))


def _role(group: str) -> str:
    return group.split("|", 1)[0] + "|*"


class PeerForest:
    def __init__(self, n_estimators: int = 100, max_samples: int = 256, min_rows: int = 300,
                 centre: float = 0.99, high: float = 0.999, min_spread: float = 1.0,
                 seed: int = 0) -> None:
        self.n_estimators, self.max_samples, self.min_rows = n_estimators, max_samples, min_rows
        self.min_spread = min_spread
        self.centre, self.high, self.seed = centre, high, seed
        self.forests: dict = {}   # key -> (IsolationForest, offset, scale)
        self.rows: dict = {}      # key -> training rows

    def fit(self, X: np.ndarray, groups: list[str], feature_names=FEATURE_NAMES,
            progress: bool = False) -> "PeerForest":
        from sklearn.ensemble import IsolationForest
        from tqdm.auto import tqdm

        Xc = compress(X)
        self.no_range = np.asarray([n in NO_RANGE for n in feature_names], dtype=bool)
        g = np.asarray(groups, dtype=object)
        roles = np.asarray([_role(x) for x in groups], dtype=object)
        plan = [("*", np.ones(len(g), dtype=bool))]
        plan += [(key, roles == key) for key in sorted(set(roles))]
        plan += [(key, g == key) for key in sorted(set(groups))]
        plan = [(k, m) for k, m in plan if k == "*" or m.sum() >= self.min_rows]
        if not len(g):
            raise ValueError("no training rows")
        for key, mask in tqdm(plan, desc="isolation forests", unit="group", disable=not progress):
            rows = Xc[mask]
            forest = IsolationForest(n_estimators=self.n_estimators,
                                     max_samples=min(self.max_samples, len(rows)),
                                     random_state=self.seed).fit(rows)
            raw = -forest.score_samples(rows)
            lo, hi = np.quantile(raw, [self.centre, self.high])
            top, mid = np.quantile(rows, [self.high, 0.5], axis=0)
            spread = np.maximum(top - mid, self.min_spread)
            top[self.no_range] = np.inf  # activity at this hour: unusual when low, not high
            self.forests[key] = (forest, float(lo), max(float(hi - lo) / np.log(9.0), 1e-3), top, spread)
            self.rows[key] = int(mask.sum())
        return self

    def key(self, group: str) -> str:
        if group in self.forests:
            return group
        role = _role(group)
        return role if role in self.forests else "*"

    def score_rows(self, X: np.ndarray, groups: list[str] | None = None) -> np.ndarray:
        """Scores 0..1 of rows (groups None: the forest over everyone)."""
        Xc = compress(X)
        keys = np.asarray([self.key(g) for g in groups] if groups is not None else ["*"] * len(Xc),
                          dtype=object)
        out = np.zeros(len(Xc))
        for key in set(keys):
            mask = keys == key
            forest, offset, scale, top, spread = self.forests[key]
            rows = Xc[mask]
            z = np.clip((-forest.score_samples(rows) - offset) / scale, -50, 50)
            beyond = np.max((rows - top) / spread, axis=1)
            out[mask] = np.maximum(1.0 / (1.0 + np.exp(-z)),
                                   np.where(beyond > 0, 1.0 - 0.5 * np.exp(-np.maximum(beyond, 0)), 0.0))
        return out


class FeedbackModel:
    """A PeerForest and, once there are enough labels, a calibrated classifier that tempers it."""

    def __init__(self, forest: PeerForest, classifier=None, weight: float = 0.6) -> None:
        self.forest, self.classifier, self.weight = forest, classifier, weight

    @staticmethod
    def inputs(X: np.ndarray, forest_scores: np.ndarray) -> np.ndarray:
        return np.column_stack([compress(X), forest_scores])

    def components(self, X: np.ndarray, groups: list[str] | None = None) -> dict:
        """{"forest": scores, "p_true": classifier probabilities or None}."""
        s = self.forest.score_rows(X, groups)
        p = None
        if self.classifier is not None and len(s):
            p = self.classifier.predict_proba(self.inputs(X, s))[:, 1]
        return {"forest": s, "p_true": p}

    def score_rows(self, X: np.ndarray, groups: list[str] | None = None) -> np.ndarray:
        c = self.components(X, groups)
        if c["p_true"] is None:
            return c["forest"]
        return c["forest"] * (1.0 - self.weight * (1.0 - c["p_true"]))


def fit_classifier(X: np.ndarray, y: np.ndarray, forest_scores: np.ndarray, *,
                   method: str = "logistic", cv: int = 3, seed: int = 0):
    """CalibratedClassifierCV (sigmoid) over logistic regression or gradient boosting."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if method == "logistic":
        base = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced",
                                                                  max_iter=1000))
    elif method == "gbm":
        base = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=seed)
    else:
        raise ValueError(f"unknown classifier {method!r}: logistic or gbm")
    clf = CalibratedClassifierCV(base, method="sigmoid", cv=cv)
    return clf.fit(FeedbackModel.inputs(X, forest_scores), y)
