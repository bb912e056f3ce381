"""The whole loop on stored history: train, evaluate, promote, replay, analysts label alerts,
retrain with the labels, promote, replay again (fewer false alerts, no lost true ones), roll back."""

from __future__ import annotations

from pathlib import Path

from models import registry
from models.features import DAY, FEATURE_NAMES
from models.train import pull_features, pull_labels, train_model
from streamer.alert import cases
from streamer.score.cli import replay
from streamer.score.engine import Engine

NAME = "batch"


def _batch_alerts(engine, history):
    """Final batch-model alerts of a replay, split into (true, false) by the simulator's labels."""
    alerts = replay(engine, history.events)  # the `streamer replay` loop
    incident_events = {eid for inc in history.incidents for eid in inc["event_ids"]}
    batch = [a for a in alerts.values() if a["detector"] == "batch_model"]
    true = [a for a in batch if incident_events & set(a["event_ids"])]
    return list(alerts.values()), true, [a for a in batch if a not in true]


def _caught(alerts, history) -> set[str]:
    return {inc["incident_id"] for inc in history.incidents
            if any(set(inc["event_ids"]) & set(a["event_ids"]) for a in alerts)}


def test_train_label_retrain_replay(chdb_history, history, tmp_path):
    store, reg = chdb_history, tmp_path / "registry"
    start, warm, end = history.start, history.start + 3 * DAY, history.end
    quiet = {"registry_dir": reg, "n_estimators": 25, "min_rows": 500, "progress": False, "log": lambda m: None}

    # 1. a first version on the warm-up days: no labels yet, forest only
    first = train_model(store, start, warm, **quiet)
    v1, meta = first["version"], first["meta"]
    in_window = sum(1 for e in history.enriched if e["event_time"] < _iso(warm))
    assert meta["training"]["events"] == in_window and meta["supervised"] is False
    assert meta["feature_names"] == list(FEATURE_NAMES) and len(meta["data_hash"]) == 64
    assert {"python", "numpy", "scikit-learn"} <= set(meta["libraries"])
    assert meta["data_hash"] == pull_features(store, start, warm, progress=False).data_hash()
    registry.promote(NAME, v1, reg)

    # 2. replay with it; the alerts reach the store, an analyst resolves the batch-model ones
    engine = Engine(watcher=registry.ModelWatcher(NAME, reg))
    assert engine.model.version == v1
    alerts, true1, false1 = _batch_alerts(engine, history)
    assert true1 and false1, "the scenario needs both kinds of batch-model alerts"
    store.insert_alerts(alerts)
    for a in true1 + false1:
        status = "resolved_true_positive" if a in true1 else "resolved_false_positive"
        cases.change(store, a["alert_id"], status, who="analyst", now_ms=end)
    labels = pull_labels(store, start, end)
    assert labels.summary()["true_positive_alerts"] == len(true1)
    assert labels.summary()["false_positive_alerts"] == len(false1)

    # 3. retrain on everything with the labels, evaluated against v1 on the incident days
    second = train_model(store, start, end, eval_start=warm, eval_end=end, **quiet)
    v2, meta2 = second["version"], second["meta"]
    assert meta2["supervised"] is True and meta2["training"]["false_positive_alerts"] == len(false1)
    assert set(meta2["metrics"]) == {"promoted", "candidate"}
    report_dir = Path(registry.folder(NAME, v2, reg)) / "report"
    for f in ("index.html", "report.json", "roc_curves.png", "score_histograms.png", "pr_curves.png"):
        assert (report_dir / f).stat().st_size > 0, f
    assert "roc_curves.png" in (report_dir / "index.html").read_text()

    # 4. promoted, the next replay raises fewer false alerts and loses no true one
    registry.promote(NAME, v2, reg)
    engine = Engine(watcher=registry.ModelWatcher(NAME, reg))
    assert engine.model.version == v2
    _, true2, false2 = _batch_alerts(engine, history)
    assert len(false2) < len(false1)
    assert _caught(true1, history) <= _caught(true2, history)

    # 5. roll back
    assert registry.rollback(NAME, reg) == v1
    assert registry.load(NAME, registry=reg).version == v1


def _iso(ms: int) -> str:
    from streamer.timeutil import format_ms
    return format_ms(ms)
