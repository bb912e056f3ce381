"""Model registry: scikit-learn artifacts on disk, one folder per version.

    <registry>/<name>/<version>/model.joblib   the fitted estimator
    <registry>/<name>/<version>/meta.json      feature_names, threshold, score scaling, metrics,
                                               training window, data hash, library versions
    <registry>/<name>/<version>/report/        evaluation report (PNG plots, index.html), optional
    <registry>/<name>/CURRENT                  promoted versions, newest last (rollback pops)
    <registry>/<name>/SHADOW                   the candidate scored in shadow mode (no alerts)

Pointer files are replaced atomically, so a reader sees the old or the new version, never half.
Scores are computed for a whole batch in one call (`LoadedModel.score_batch`), never per sample.
`ModelWatcher` lets a running engine pick up a promotion (or a new shadow) without a restart.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import orjson

from models.features import FEATURE_NAMES

log = logging.getLogger(__name__)
CURRENT, SHADOW = "CURRENT", "SHADOW"


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

    @property
    def uses_groups(self) -> bool:
        """True when the estimator scores per peer group (`score_batch(rows, groups)`)."""
        return hasattr(self.estimator, "score_rows")

    def score_batch(self, rows: list[list[float]], groups: list[str] | None = None) -> list[float]:
        """Anomaly scores 0..1 of many rows at once (higher = more anomalous).

        Estimators with `score_rows(X, groups)` (models.training) score themselves; a bare
        scikit-learn outlier detector gets a logistic of its negated `score_samples`, centred and
        scaled by meta `offset`/`scale`."""
        import numpy as np

        x = np.asarray(rows, dtype=float).reshape(len(rows), len(self.feature_names))
        if self.uses_groups:
            return np.asarray(self.estimator.score_rows(x, groups), dtype=float).tolist()
        raw = -np.asarray(self.estimator.score_samples(x))
        offset, scale = float(self.meta.get("offset", 0.0)), float(self.meta.get("scale", 0.1))
        z = np.clip((raw - offset) / scale, -50, 50)
        return (1.0 / (1.0 + np.exp(-z))).tolist()


def _root(registry: str | Path | None) -> Path:
    if registry is None:
        from streamer.settings import get_settings
        registry = get_settings().model_registry
    return Path(registry)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def library_versions() -> dict:
    """Versions of the libraries an artifact depends on (recorded in its metadata)."""
    import platform

    import numpy
    import sklearn
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


def save(estimator, name: str, feature_names, *, registry=None, threshold: float = 0.9,
         offset: float = 0.0, scale: float = 0.1, metrics: dict | None = None,
         extra: dict | None = None) -> str:
    """Write a new version (not promoted); returns its version string. `extra` adds metadata
    (training window, data hash, ...)."""
    unknown = [f for f in feature_names if f not in FEATURE_NAMES]
    if unknown:
        raise FeatureMismatchError(f"unknown feature names {unknown}")
    if "/" in name or name.startswith(".") or not name:
        raise ValueError(f"not a usable model name: {name!r}")
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
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "libraries": library_versions(), **(extra or {})}
    _write_atomic(folder / "meta.json", orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return version


def folder(name: str, version: str, registry=None) -> Path:
    """Folder of one version (raises FileNotFoundError when it does not exist)."""
    path = _root(registry) / name / version
    if not (path / "meta.json").exists():
        raise FileNotFoundError(f"model {name} has no version {version} in {path.parent.parent}")
    return path


def read_meta(name: str, version: str | None = None, registry=None) -> dict:
    """Metadata of a version (default: the promoted one) plus "promoted" and "shadow" flags."""
    base = _root(registry) / name
    version = version or _current(base)
    if version is None:
        raise FileNotFoundError(f"model {name} has no promoted version in {base.parent}")
    meta = orjson.loads((folder(name, version, registry) / "meta.json").read_bytes())
    meta["promoted"] = _current(base) == version
    meta["shadow"] = shadow_version(name, registry) == version
    return meta


def update_meta(name: str, version: str, registry=None, **fields) -> dict:
    """Set top-level metadata fields of a version (e.g. threshold after calibration)."""
    path = folder(name, version, registry) / "meta.json"
    meta = orjson.loads(path.read_bytes())
    meta.update(fields)
    _write_atomic(path, orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return meta


def list_models(registry=None) -> list[dict]:
    """Every version's metadata plus "promoted": True for the current one (and "shadow")."""
    root = _root(registry)
    out = []
    for meta_file in sorted(root.glob("*/*/meta.json")):
        meta = orjson.loads(meta_file.read_bytes())
        meta["promoted"] = _current(root / meta["name"]) == meta["version"]
        meta["shadow"] = shadow_version(meta["name"], root) == meta["version"]
        out.append(meta)
    return out


def _history(base: Path) -> list[str]:
    f = base / CURRENT
    return [v for v in f.read_text().split() if v] if f.exists() else []


def _current(base: Path) -> str | None:
    h = _history(base)
    return h[-1] if h else None


def current_version(name: str, registry=None) -> str | None:
    return _current(_root(registry) / name)


def history(name: str, registry=None) -> list[str]:
    """Promoted versions, oldest first (the last is current)."""
    return _history(_root(registry) / name)


def promote(name: str, version: str, registry=None) -> None:
    base = _root(registry) / name
    folder(name, version, registry)
    history_ = _history(base) + [version]
    _write_atomic(base / CURRENT, ("\n".join(history_) + "\n").encode())
    if shadow_version(name, registry) == version:
        set_shadow(name, None, registry)


def rollback(name: str, registry=None) -> str:
    """Return to the previously promoted version; returns it."""
    base = _root(registry) / name
    history_ = _history(base)
    if len(history_) < 2:
        raise ValueError(f"model {name} has no earlier promoted version")
    history_.pop()
    _write_atomic(base / CURRENT, ("\n".join(history_) + "\n").encode())
    return history_[-1]


def shadow_version(name: str, registry=None) -> str | None:
    f = _root(registry) / name / SHADOW
    text = f.read_text().strip() if f.exists() else ""
    return text or None


def set_shadow(name: str, version: str | None, registry=None) -> None:
    """Score `version` in shadow mode beside the promoted one (None: stop shadowing)."""
    base = _root(registry) / name
    if version is None:
        (base / SHADOW).unlink(missing_ok=True)
        return
    folder(name, version, registry)
    _write_atomic(base / SHADOW, (version + "\n").encode())


def load(name: str, version: str | None = None, registry=None,
         expect_features=FEATURE_NAMES) -> LoadedModel:
    """Load a version (default: the promoted one). Raises FeatureMismatchError when the model
    needs features the engine does not produce."""
    base = _root(registry) / name
    version = version or _current(base)
    if version is None:
        raise FileNotFoundError(f"model {name} has no promoted version in {base.parent}")
    path = folder(name, version, registry)
    meta = orjson.loads((path / "meta.json").read_bytes())
    missing = [f for f in meta["feature_names"] if f not in expect_features]
    if missing:
        raise FeatureMismatchError(
            f"model {name} {version} was trained on features the engine does not produce: "
            f"{missing}; retrain it with the current FEATURE_NAMES")
    return LoadedModel(name, version, joblib.load(path / "model.joblib"), meta)


class ModelWatcher:
    """Watches a model's CURRENT and SHADOW pointers (and the current meta.json, so a new
    threshold applies too) and loads what they name.

    `poll(now)` costs a clock read between checks and three `stat` calls at a check (at most every
    `interval` seconds). It returns None when nothing changed, else the new (model, shadow) pair,
    fully loaded and checked, for a clean swap. A version that fails to load (feature mismatch,
    unreadable file) is logged and skipped: the engine keeps scoring with what it had.
    """

    def __init__(self, name: str, registry=None, interval: float = 5.0,
                 expect_features=FEATURE_NAMES) -> None:
        self.name, self.root, self.interval = name, _root(registry), float(interval)
        self.expect = expect_features
        self.model: LoadedModel | None = None
        self.shadow: LoadedModel | None = None
        self.errors: list[str] = []
        self._next = float("-inf")
        self._key: tuple | None = None

    def _stamp(self, path: Path):
        try:
            st = path.stat()
            return st.st_mtime_ns, st.st_size, st.st_ino
        except FileNotFoundError:
            return None

    def poll(self, now: float | None = None,
             force: bool = False) -> tuple[LoadedModel | None, LoadedModel | None] | None:
        now = time.monotonic() if now is None else now
        if now < self._next and not force:
            return None
        self._next = now + self.interval
        base = self.root / self.name
        current = _current(base) if (base / CURRENT).exists() else None
        key = (self._stamp(base / CURRENT), self._stamp(base / SHADOW),
               self._stamp(base / current / "meta.json") if current else None)
        if key == self._key:
            return None
        self._key = key
        model = self._load(current, self.model)
        shadow = self._load(shadow_version(self.name, self.root), self.shadow)
        if model is self.model and shadow is self.shadow:
            return None
        self.model, self.shadow = model, shadow
        log.info("model %s: scoring with %s, shadow %s", self.name,
                 model.version if model else "none", shadow.version if shadow else "none")
        return model, shadow

    def _load(self, version: str | None, have: LoadedModel | None) -> LoadedModel | None:
        if version is None:
            return None
        try:
            if have is not None and have.version == version and have.meta == orjson.loads(
                    (self.root / self.name / version / "meta.json").read_bytes()):
                return have
            return load(self.name, version, self.root, self.expect)
        except Exception as exc:  # noqa: BLE001 - a bad artifact must not stop scoring
            msg = f"model {self.name} {version} not loaded: {exc}"
            log.error(msg)
            self.errors.append(msg)
            return have
