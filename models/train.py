"""Retraining workflow: the Python API behind `streamer models ...`, usable from a notebook.

    from models import train
    from streamer.store import open_store
    from streamer.settings import get_settings
    store = open_store(get_settings())
    ds = train.pull_features(store, start_ms, end_ms)          # stored feature vectors
    labels = train.pull_labels(store, start_ms, end_ms)        # analysts' resolved alerts
    forest = train.train_isolation_forest(ds, labels)          # per peer group
    clf = train.train_supervised(ds, labels, forest)           # None until enough labels
    model = train.FeedbackModel(forest, clf)
    version = train.save_artifact(model, "batch", ds, labels)  # not promoted yet
    report = train.evaluate_candidate(eval_ds, incidents, {"candidate": registry.load(...)})

`train_model(store, ...)` runs it all (what `streamer models train` does): train on one window,
evaluate against the promoted version on a later window, write the artifact with its report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models import registry
from models.features import DAY, FEATURE_NAMES, HOUR
from models.training.calibrate import (DEFAULT_GAP_MS, AlertModel, calibrate_threshold,
                                       incident_gap_ms, labelled_kept)
from models.training.data import (FALSE, TRUE, Dataset, Labels, from_enriched, from_rows,
                                  incidents_from_labels, pull_features, pull_labels)
from models.training.estimators import FeedbackModel, PeerForest, fit_classifier
from models.training.evaluate import evaluate_candidate, score_dataset

DEFAULT_NAME = "batch"
KIND = "feedback_forest"


def train_isolation_forest(ds: Dataset, labels: Labels | None = None, *, n_estimators: int = 100,
                           min_rows: int = 300, seed: int = 0, progress: bool = True) -> PeerForest:
    """A PeerForest on the window's rows, leaving out confirmed incidents (anomalies never train
    the baseline): the user's events from an hour before a true-positive alert's first event to a
    day after its last (the 24 h windows carry the incident that long)."""
    part = ds.subset(~incident_rows(ds, labels)) if labels is not None else ds
    return PeerForest(n_estimators=n_estimators, min_rows=min_rows, seed=seed).fit(
        part.X, part.groups, part.feature_names, progress=progress)


def incident_rows(ds: Dataset, labels: Labels, before_ms: int = HOUR, after_ms: int = DAY) -> np.ndarray:
    """Mask of rows belonging to confirmed incidents or their aftermath (see above)."""
    mask = np.zeros(len(ds), dtype=bool)
    at = {eid: i for i, eid in enumerate(ds.event_ids)}
    users = np.asarray(ds.user_ids, dtype=object)
    for a in labels.alerts:
        rows = [at[e] for e in a["event_ids"] if e in at]
        if a["status"] != TRUE or not rows:
            continue
        lo, hi = ds.times[rows].min() - before_ms, ds.times[rows].max() + after_ms
        mask |= (users == ds.user_ids[rows[0]]) & (ds.times >= lo) & (ds.times <= hi)
    return mask


def train_supervised(ds: Dataset, labels: Labels, forest: PeerForest, *, method: str = "logistic",
                     min_alerts: int = 2, seed: int = 0):
    """A calibrated classifier of P(true positive) on the labelled events of the window, or None
    when there are fewer than `min_alerts` resolved alerts of either kind with events in it."""
    idx = [i for i, eid in enumerate(ds.event_ids) if eid in labels.events]
    present = set(ds.event_ids[i] for i in idx)
    per = {s: sum(1 for a in labels.alerts if a["status"] == s and present & set(a["event_ids"]))
           for s in (TRUE, FALSE)}
    if min(per.values()) < min_alerts:
        return None
    y = np.asarray([labels.events[ds.event_ids[i]] for i in idx])
    X = ds.X[idx]
    s = forest.score_rows(X, [ds.groups[i] for i in idx])
    cv = int(min(3, y.sum(), len(y) - y.sum()))
    return fit_classifier(X, y, s, method=method, cv=max(cv, 2), seed=seed)


def save_artifact(model, name: str, ds: Dataset, labels: Labels | None = None, *, registry_dir=None,
                  threshold: float = 0.9, metrics: dict | None = None, extra: dict | None = None) -> str:
    """Write a version (model.joblib + meta.json: feature names, training window, data hash,
    label counts, metrics, library versions); not promoted. Returns the version."""
    meta = {"kind": KIND, "training": {**ds.summary(), **(labels.summary() if labels else {})},
            "data_hash": ds.data_hash(), "supervised": getattr(model, "classifier", None) is not None,
            "forest_rows": getattr(getattr(model, "forest", None), "rows", {}), **(extra or {})}
    return registry.save(model, name, list(ds.feature_names), registry=registry_dir,
                         threshold=threshold, metrics=metrics, extra=meta)


def calibrate(store, name: str = DEFAULT_NAME, version: str | None = None, *, budget: float,
              start: int | None = None, end: int | None = None, registry_dir=None,
              progress: bool = True) -> dict:
    """Set a version's threshold so that its alerts per 1,000 user-days over a window (default:
    its training window) meet `budget`; records the calibration in its metadata."""
    from streamer.timeutil import parse_time

    meta = registry.read_meta(name, version, registry_dir)
    start = parse_time(meta["training"]["from"]) if start is None else start
    end = parse_time(meta["training"]["to"]) if end is None else end
    model = registry.load(name, meta["version"], registry_dir)
    ds = pull_features(store, start, end, progress=progress)
    if not len(ds):
        raise ValueError("no stored events in the calibration window")
    labels = pull_labels(store, start, end)
    scores = score_dataset(model, ds, progress)
    result = calibrate_threshold(scores, ds.user_ids, ds.times, budget, gap_ms=incident_gap_ms(),
                                 event_ids=ds.event_ids, labels=labels)
    result.update({"from": ds.summary()["from"], "to": ds.summary()["to"]})
    registry.update_meta(name, meta["version"], registry_dir, threshold=result["threshold"],
                         calibration=result)
    return result


def train_model(store, start: int, end: int, *, eval_start: int | None = None,
                eval_end: int | None = None, name: str = DEFAULT_NAME, registry_dir=None,
                budget: float | None = None, method: str = "logistic", n_estimators: int = 100,
                min_rows: int = 300, seed: int = 0, progress: bool = True, plots: bool = True,
                log=print) -> dict:
    """Train on [start, end), evaluate on [eval_start, eval_end) against the promoted version,
    save. Returns {"version", "meta", "report" (or None)}."""
    ds = pull_features(store, start, end, progress=progress)
    if not len(ds):
        raise ValueError("no stored events in the training window")
    labels = pull_labels(store, start, end)
    log(f"training on {len(ds)} events, {ds.user_days()} user-days; labels: "
        f"{labels.count(TRUE)} true and {labels.count(FALSE)} false positive alerts")
    forest = train_isolation_forest(ds, labels, n_estimators=n_estimators, min_rows=min_rows,
                                    seed=seed, progress=progress)
    clf = train_supervised(ds, labels, forest, method=method, seed=seed)
    log("supervised: " + ("calibrated " + method if clf is not None else
                          "not enough labels (need 2 resolved alerts of each kind), forest only"))
    model = FeedbackModel(forest, clf)
    gap = incident_gap_ms()
    threshold, calibration = 0.9, None
    if budget is not None:
        scores = model.score_rows(ds.X, ds.groups)
        calibration = calibrate_threshold(scores, ds.user_ids, ds.times, budget, gap_ms=gap,
                                          event_ids=ds.event_ids, labels=labels)
        threshold = calibration["threshold"]
    version = save_artifact(model, name, ds, labels, registry_dir=registry_dir, threshold=threshold,
                            extra={"calibration": calibration} if calibration else None)
    report = None
    if eval_start is not None and eval_end is not None:
        report = evaluate_version(store, name, version, eval_start, eval_end, registry_dir=registry_dir,
                                  progress=progress, plots=plots)
    return {"version": version, "meta": registry.read_meta(name, version, registry_dir),
            "report": report}


def evaluate_version(store, name: str, version: str, start: int, end: int, *, registry_dir=None,
                     incidents: list[dict] | None = None, progress: bool = True,
                     plots: bool = True) -> dict:
    """Evaluate `version` (and the promoted one, when it differs and fits) on a stored window;
    incidents default to the analysts' true-positive alerts there. Writes the report into the
    version's report/ folder and its metrics into the metadata."""
    ds = pull_features(store, start, end, progress=progress)
    if incidents is None:
        incidents = incidents_from_labels(pull_labels(store, start, end), ds)
    models = {"candidate": registry.load(name, version, registry_dir)}
    current = registry.current_version(name, registry_dir)
    if current and current != version:
        try:
            models = {"promoted": registry.load(name, current, registry_dir), **models}
        except registry.FeatureMismatchError:
            pass
    out = registry.folder(name, version, registry_dir) / "report"
    report = evaluate_candidate(ds, incidents, models, gap_ms=incident_gap_ms(), out=out,
                                progress=progress, plots=plots)
    metrics = {k: {**v["overall"], **v["event_metrics"]} for k, v in report["systems"].items()}
    registry.update_meta(name, version, registry_dir, metrics=metrics,
                         evaluation={**ds.summary(), "incidents": len(incidents), "report": "report/index.html"})
    return report


__all__ = ["AlertModel", "DEFAULT_GAP_MS", "Dataset", "FEATURE_NAMES", "FeedbackModel", "Labels",
           "PeerForest", "calibrate", "calibrate_threshold", "evaluate_candidate", "evaluate_version",
           "from_enriched", "from_rows", "incidents_from_labels", "labelled_kept", "pull_features",
           "pull_labels", "save_artifact", "score_dataset", "train_isolation_forest", "train_model",
           "train_supervised"]
