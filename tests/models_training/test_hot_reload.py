"""Hot reload under a running engine, shadow scoring, feature-name checks, the models CLI."""

from __future__ import annotations

import orjson
import pytest

from models import registry
from models.train import from_enriched, save_artifact, train_isolation_forest
from models.training.estimators import FeedbackModel
from models.training.scores import compare, insert_scores
from streamer.cli import main
from streamer.score.engine import Engine
from streamer.store.chdb_store import ChdbStore

NAME = "batch"


@pytest.fixture(scope="module")
def two_versions(history, tmp_path_factory):
    """A registry with two versions (different seeds), the first promoted."""
    reg = tmp_path_factory.mktemp("registry")
    ds = from_enriched(history.enriched[:4000])
    versions = [save_artifact(FeedbackModel(train_isolation_forest(
        ds, n_estimators=20, min_rows=1000, seed=seed, progress=False)), NAME, ds, registry_dir=reg)
        for seed in (1, 2)]
    registry.promote(NAME, versions[0], reg)
    return reg, versions


def _versions(out):
    return {e["enrichment"]["model_version"].split("+")[-1] for e, _ in out}


def test_engine_hot_reloads_promotions_and_rollbacks(two_versions, history):
    reg, (v1, v2) = two_versions
    engine = Engine(watcher=registry.ModelWatcher(NAME, reg, interval=5.0))
    events = history.events[:3000]
    assert _versions(engine.process_many(events[:1000])) == {v1}
    t = 1e9  # a clock of our own: the engine's own checks (monotonic time) never reach it
    assert not engine.maybe_reload(t)
    registry.promote(NAME, v2, reg)
    assert not engine.maybe_reload(t + 1), "checked again before the interval"
    assert engine.maybe_reload(t + 6) and engine.model.version == v2
    assert _versions(engine.process_many(events[1000:2000])) == {v2}
    registry.rollback(NAME, reg)
    engine.maybe_reload(t + 12)
    assert _versions(engine.process_many(events[2000:3000])) == {v1}
    assert engine.users, "state kept across swaps"


def test_shadow_scores_are_recorded_and_never_alert(two_versions, history, tmp_path):
    reg, (v1, v2) = two_versions
    registry.update_meta(NAME, v2, reg, threshold=0.0)  # the shadow would flag everything
    registry.set_shadow(NAME, v2, reg)
    try:
        watcher = registry.ModelWatcher(NAME, reg, interval=0)
        engine = Engine(watcher=watcher)
        assert (engine.model.version, engine.shadow.version) == (v1, v2)
        out = engine.process_many(history.events[:2000])
        enr = [e["enrichment"] for e, _ in out]
        assert all(x["shadow_alert"] and x["shadow_model_version"].endswith(v2) for x in enr)
        batch = [a for _, alerts in out for a in alerts if a["detector"] == "batch_model"]
        flagged = sum(x["model_score"] >= engine.model.threshold for x in enr)
        assert flagged < len(enr) and sum("batch_model" in x["detectors"] for x in enr) == flagged
        assert all(v1 in a["summary"] for a in batch)
        store = ChdbStore(str(tmp_path / "chdb"), "pacs_shadow")
        try:
            store.migrate()
            assert insert_scores(store, [e for e, _ in out]) == 2 * len(out)
            rows = {(r["role"], r["model_version"].split("+")[-1]): r for r in compare(
                store, history.start, history.end)}
            assert rows[("shadow", v2)]["over_threshold"] == len(out)
            assert rows[("primary", v1)]["over_threshold"] == flagged
        finally:
            store.close()
    finally:
        registry.set_shadow(NAME, None, reg)
        registry.update_meta(NAME, v2, reg, threshold=0.9)


def test_other_feature_names_fail_clearly(two_versions, tmp_path, capsys):
    reg, (v1, _) = two_versions
    bad = registry.save(registry.load(NAME, v1, reg).estimator, NAME,
                        registry.read_meta(NAME, v1, reg)["feature_names"], registry=reg)
    path = registry.folder(NAME, bad, reg) / "meta.json"
    meta = orjson.loads(path.read_bytes())
    meta["feature_names"] = meta["feature_names"][:-1] + ["views_30d"]
    path.write_bytes(orjson.dumps(meta))
    with pytest.raises(registry.FeatureMismatchError, match=r"views_30d.*retrain"):
        registry.load(NAME, bad, reg)
    assert main(["models", "promote", bad, "--registry", str(reg)]) == 1
    assert "views_30d" in capsys.readouterr().err
    assert registry.current_version(NAME, reg) == v1

    # promoted behind the CLI's back: the running engine keeps its model and says why
    watcher = registry.ModelWatcher(NAME, reg, interval=0)
    engine = Engine(watcher=watcher)
    registry.promote(NAME, bad, reg)
    try:
        assert not engine.maybe_reload()
        assert engine.model.version == v1 and "views_30d" in watcher.errors[-1]
    finally:
        registry.rollback(NAME, reg)


def test_models_cli_list_show_shadow(two_versions, capsys):
    reg, (v1, v2) = two_versions
    args = ["--registry", str(reg)]
    assert main(["models", "shadow", v2, *args]) == 0
    assert main(["models", "list", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"* {v1}") for line in lines)
    assert any(line.startswith(f"s {v2}") for line in lines)
    assert main(["models", "shadow", "--off", *args]) == 0
    capsys.readouterr()
    assert main(["models", "show", *args]) == 0
    meta = orjson.loads(capsys.readouterr().out)
    assert meta["version"] == v1 and meta["promoted"] and meta["kind"] == "feedback_forest"
    assert main(["models", "rollback", *args]) == 1  # nothing earlier to return to
