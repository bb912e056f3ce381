"""Training from the ClickHouse server (and chdb): features and labels read back, evaluation,
promotion through the watcher, roll back."""

from __future__ import annotations

import orjson

from models import registry
from models.features import DAY
from models.train import evaluate_version, pull_features, pull_labels, train_model
from streamer.alert import cases
from streamer.score.engine import Engine

NAME = "batch"


def test_train_evaluate_promote_rollback(stored_history, history, tmp_path):
    store, reg = stored_history, tmp_path / "registry"
    start, warm, end = history.start, history.start + 3 * DAY, history.end
    quiet = {"registry_dir": reg, "n_estimators": 30, "min_rows": 800, "progress": False,
             "log": lambda m: None}
    ds = pull_features(store, start, end, progress=False)
    assert ds.event_ids == sorted(ds.event_ids, key=dict(zip(ds.event_ids, ds.times.tolist())).get)
    assert len(ds) == len(history.enriched)
    first = dict(zip(ds.feature_names, ds.X[ds.event_ids.index(history.enriched[500]["event_id"])]))
    assert first == history.enriched[500]["enrichment"]["features"]

    v1 = train_model(store, start, warm, **quiet)["version"]

    # analysts resolve the alerts of a run with v1: true when they touch an incident
    engine, alerts = Engine(model=registry.load(NAME, v1, reg)), {}
    for i in range(0, len(history.events), 2000):
        for _, new in engine.process_many(history.events[i:i + 2000]):
            alerts.update((a["alert_id"], a) for a in new)
    store.insert_alerts(list(alerts.values()))
    incident_events = {eid for inc in history.incidents for eid in inc["event_ids"]}
    for a in alerts.values():
        good = bool(incident_events & set(a["event_ids"]))
        cases.change(store, a["alert_id"], "resolved_true_positive" if good else "resolved_false_positive",
                     who="analyst", now_ms=end)
    labels = pull_labels(store, start, end)
    assert len(labels.alerts) == len(alerts) and labels.count("resolved_true_positive") >= 2

    res = train_model(store, start, end, **quiet)
    v2 = res["version"]
    assert res["meta"]["supervised"] is True
    report = evaluate_version(store, NAME, v2, warm, end, registry_dir=reg, incidents=history.incidents,
                              progress=False, plots=False)
    assert report["stream"]["incidents"] == len(history.incidents)
    assert registry.read_meta(NAME, v2, reg)["metrics"]["candidate"]["roc_auc"] > 0.5
    saved = orjson.loads((registry.folder(NAME, v2, reg) / "report" / "report.json").read_bytes())
    assert saved["systems"]["candidate"]["model_version"] == v2

    registry.promote(NAME, v1, reg)
    watcher = registry.ModelWatcher(NAME, reg, interval=0)
    engine = Engine(watcher=watcher)
    assert engine.model.version == v1
    registry.promote(NAME, v2, reg)
    assert engine.maybe_reload() and engine.model.version == v2
    assert registry.rollback(NAME, reg) == v1
    assert engine.maybe_reload() and engine.model.version == v1
