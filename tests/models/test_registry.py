"""Model registry (save/load/list/promote/rollback, feature check) and batch scoring in the engine."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from models import registry
from models.features import FEATURE_NAMES
from models.sample_traffic import week
from streamer.score.engine import Engine

NAMES = ["views_1h", "patients_1h", "exports_1h"]


def _fit(seed=0):
    rng = np.random.default_rng(seed)
    return IsolationForest(n_estimators=20, random_state=seed).fit(rng.poisson(5, size=(200, 3)))


def test_save_promote_rollback(tmp_path):
    v1 = registry.save(_fit(0), "iforest", NAMES, registry=tmp_path)
    v2 = registry.save(_fit(1), "iforest", NAMES, registry=tmp_path)
    assert v1 != v2
    with pytest.raises(FileNotFoundError):
        registry.load("iforest", registry=tmp_path)  # nothing promoted yet
    registry.promote("iforest", v1, registry=tmp_path)
    registry.promote("iforest", v2, registry=tmp_path)
    assert registry.load("iforest", registry=tmp_path).version == v2
    assert [m["promoted"] for m in registry.list_models(tmp_path)] == [False, True]
    assert registry.rollback("iforest", registry=tmp_path) == v1
    assert registry.load("iforest", registry=tmp_path).version == v1
    with pytest.raises(ValueError):
        registry.rollback("iforest", registry=tmp_path)


def test_feature_mismatch_is_a_clear_error(tmp_path):
    v = registry.save(_fit(), "m", NAMES, registry=tmp_path)
    registry.promote("m", v, registry=tmp_path)
    with pytest.raises(registry.FeatureMismatchError, match="views_1h"):
        registry.load("m", registry=tmp_path, expect_features=FEATURE_NAMES[3:])
    with pytest.raises(registry.FeatureMismatchError):
        registry.save(_fit(), "m", ["no_such_feature"], registry=tmp_path)


class _CountingModel:
    """Wraps a loaded model and records the batch sizes it was called with."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []
        self.feature_names, self.version, self.threshold = inner.feature_names, inner.version, 0.99

    def score_batch(self, rows):
        self.calls.append(len(rows))
        return self.inner.score_batch(rows)


def test_engine_scores_registry_model_in_batches(tmp_path):
    v = registry.save(_fit(), "m", NAMES, registry=tmp_path)
    registry.promote("m", v, registry=tmp_path)
    model = _CountingModel(registry.load("m", registry=tmp_path))
    engine = Engine(model=model)
    events = week(n_users=3, days=1, seed=1)
    out = engine.process_many(events)
    assert model.calls == [len(events)]
    scores = [e["enrichment"]["model_score"] for e, _ in out]
    assert all(0.0 <= s <= 1.0 for s in scores) and len(set(scores)) > 1
