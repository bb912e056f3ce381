"""Detector rules and the role -> permission map, loaded from YAML data (schemas/rules)."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from streamer.paths import schemas_dir

SEVERITIES = ("none", "low", "medium", "high", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def rules_dir(path: str | Path | None = None) -> Path:
    return Path(path) if path else schemas_dir() / "rules"


def load_rules(path: str | Path | None = None) -> dict:
    """detectors.yaml and role_permissions.yaml of `path` (default schemas/rules), checked and
    with lookup tables precomputed (role -> frozenset of permissions)."""
    folder = rules_dir(path)
    rules = yaml.safe_load((folder / "detectors.yaml").read_text())
    perms = yaml.safe_load((folder / "role_permissions.yaml").read_text())
    check_rules(rules, perms)
    perms["role_sets"] = {role: frozenset(p) for role, p in perms["roles"].items()}
    perms["granted"] = {}  # memo of role_permission: (permission, roles) -> any role grants it
    bg = perms.get("break_glass_required") or {}
    perms["bg_roles"] = frozenset(bg.get("roles", ()))
    perms["bg_actions"] = frozenset(bg.get("actions", ()))
    perms["bg_window_ms"] = int(float(bg.get("window_hours", 8)) * 3_600_000)
    rules["permissions"] = perms
    return rules


def check_rules(rules: dict, perms: dict) -> None:
    """Raise ValueError naming the first rule that is malformed."""
    for name, rule in (rules.get("detectors") or {}).items():
        for key in ("description", "severity", "risk"):
            if key not in rule:
                raise ValueError(f"detector rule {name!r} lacks {key!r}")
        if rule["severity"] not in SEVERITIES[1:]:
            raise ValueError(f"detector rule {name!r}: unknown severity {rule['severity']!r}")
        if not 0 <= float(rule["risk"]) <= 100:
            raise ValueError(f"detector rule {name!r}: risk must be 0..100")
    check_param_types(rules)
    bands = rules["risk"]["bands"]
    if list(bands) != list(SEVERITIES[1:]) or sorted(bands.values()) != list(bands.values()):
        raise ValueError("risk bands must be low < medium < high < critical")
    for role, granted in perms["roles"].items():
        unknown = set(granted) - set(perms["actions"].values()) - {"audit"}
        if unknown:
            raise ValueError(f"role {role!r} grants unknown permissions {sorted(unknown)}")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@functools.lru_cache(maxsize=1)
def _shipped_detectors() -> dict:
    """The shipped detector rules (read once per process; only read, never changed)."""
    return yaml.safe_load((rules_dir(None) / "detectors.yaml").read_text()).get("detectors") or {}


def check_param_types(rules: dict) -> None:
    """Raise ValueError when a detector parameter of an edited rules file is not of the kind the
    shipped defaults give it (a threshold written as text would only fail inside the worker, at
    the first event that reaches it). Parameters the defaults do not have are not checked."""
    defaults = _shipped_detectors()
    for name, rule in (rules.get("detectors") or {}).items():
        base = (defaults.get(name) or {}).get("params") or {}
        for key, value in (rule.get("params") or {}).items():
            if key not in base or base[key] is None or value is None:
                continue
            want, got = _kind(base[key]), _kind(value)
            if want != got and not (want == "text" and base[key] == ""):
                raise ValueError(f"detector rule {name!r}: parameter {key!r} must be {want}, "
                                 f"not {got} ({value!r})")
