"""Model registry: scikit-learn artifacts on disk, one folder per version.

    <registry>/<name>/<version>/model.joblib   the fitted estimator
    <registry>/<name>/<version>/meta.json      feature_names, threshold, score scaling, metrics
    <registry>/<name>/CURRENT                  promoted versions, newest last (rollback pops)

Scores are computed for a whole batch in one call (`LoadedModel.score_batch`), never per sample.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import orjson

from models.features import FEATURE_NAMES


class FeatureMismatchError(ValueError):
    """The model was trained on other features than the engine produces."""


@dataclass
class LoadedModel:
    name: str
    version: str
    estimator: object
    meta: dict

    @property
    def feature_names(self) -> list[str]:
        return self.meta["feature_names"]

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", 0.9))

    def score_batch(self, rows: list[list[float]]) -> list[float]:
        """Anomaly scores 0..1 of many rows at once: a logistic of the estimator's negated
        `score_samples` (higher = more anomalous), centred and scaled by meta `offset`/`scale`."""
        import numpy as np

        raw = -np.asarray(self.estimator.score_samples(np.asarray(rows, dtype=float)))
        offset, scale = float(self.meta.get("offset", 0.0)), float(self.meta.get("scale", 0.1))
        z = np.clip((raw - offset) / scale, -50, 50)
        return (1.0 / (1.0 + np.exp(-z))).tolist()


def _root(registry: str | Path | None) -> Path:
    if registry is None:
        from streamer.settings import get_settings
        registry = get_settings().model_registry
    return Path(registry)


def save(estimator, name: str, feature_names, *, registry=None, threshold: float = 0.9,
         offset: float = 0.0, scale: float = 0.1, metrics: dict | None = None) -> str:
    """Write a new version (not promoted); returns its version string."""
    unknown = [f for f in feature_names if f not in FEATURE_NAMES]
    if unknown:
        raise FeatureMismatchError(f"unknown feature names {unknown}")
    base = _root(registry) / name
    version = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    n = 0
    while (base / version).exists():
        n += 1
        version = f"{version.split('.')[0]}.{n}"
    folder = base / version
    folder.mkdir(parents=True)
    joblib.dump(estimator, folder / "model.joblib")
    meta = {"name": name, "version": version, "feature_names": list(feature_names),
            "threshold": threshold, "offset": offset, "scale": scale, "metrics": metrics or {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (folder / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return version


def list_models(registry=None) -> list[dict]:
    """Every version's metadata plus "promoted": True for the current one."""
    root = _root(registry)
    out = []
    for meta_file in sorted(root.glob("*/*/meta.json")):
        meta = orjson.loads(meta_file.read_bytes())
        meta["promoted"] = _current(root / meta["name"]) == meta["version"]
        out.append(meta)
    return out


def _history(base: Path) -> list[str]:
    f = base / "CURRENT"
    return [v for v in f.read_text().split() if v] if f.exists() else []


def _current(base: Path) -> str | None:
    h = _history(base)
    return h[-1] if h else None


def promote(name: str, version: str, registry=None) -> None:
    base = _root(registry) / name
    if not (base / version / "meta.json").exists():
        raise FileNotFoundError(f"model {name} has no version {version}")
    history = _history(base) + [version]
    (base / "CURRENT").write_text("\n".join(history) + "\n")


def rollback(name: str, registry=None) -> str:
    """Return to the previously promoted version; returns it."""
    base = _root(registry) / name
    history = _history(base)
    if len(history) < 2:
        raise ValueError(f"model {name} has no earlier promoted version")
    history.pop()
    (base / "CURRENT").write_text("\n".join(history) + "\n")
    return history[-1]


def load(name: str, version: str | None = None, registry=None,
         expect_features=FEATURE_NAMES) -> LoadedModel:
    """Load a version (default: the promoted one). Raises FeatureMismatchError when the model
    needs features the engine does not produce."""
    base = _root(registry) / name
    version = version or _current(base)
    if version is None:
        raise FileNotFoundError(f"model {name} has no promoted version in {base.parent}")
    folder = base / version
    meta = orjson.loads((folder / "meta.json").read_bytes())
    missing = [f for f in meta["feature_names"] if f not in expect_features]
    if missing:
        raise FeatureMismatchError(
            f"model {name} {version} was trained on features the engine does not produce: "
            f"{missing}; retrain it with the current FEATURE_NAMES")
    return LoadedModel(name, version, joblib.load(folder / "model.joblib"), meta)
