"""Alert records: the detection engine's alert dict seen as labels + annotations + a fingerprint.

The fingerprint is a hash of the configured identity labels only (by default user, detector and
incident), so an incident that grows or escalates keeps one identity while its severity changes.

>>> rec = AlertRecord.from_alert({"alert_id": "a1", "user_id": "jdoe", "detector": "bulk_export",
...     "severity": "high", "first_event_time": "2026-11-30T02:10:00.000Z",
...     "last_event_time": "2026-11-30T02:14:09.512Z", "summary": "jdoe exported 412 studies",
...     "event_ids": ["e1"], "labels": {"department": "neuroradiology"}}, grafana_url="http://g")
>>> rec.labels["severity"], rec.status, len(rec.fingerprint)
('high', 'firing', 16)
>>> rec.annotations["dashboard"]
'http://g/d/pacs-user-investigation/user-investigation?var-user=jdoe&from=1796003700000&to=1796005749512'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping
from urllib.parse import quote

import jsonschema
import orjson

from streamer.paths import schemas_dir
from streamer.timeutil import format_ms, parse_time

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
DEFAULT_FINGERPRINT_LABELS = ("user_id", "detector", "incident")
DASHBOARD_PATH = "/d/pacs-user-investigation/user-investigation"
DASHBOARD_PAD_MS = 15 * 60 * 1000
MAX_EVENT_IDS_KEPT = 100  # a notification names the first ones and the total count


@lru_cache(maxsize=1)
def _alert_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((schemas_dir() / "topics" / "alerts" / "schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def alert_errors(alert: Any) -> list[str]:
    """Problems of a message against the alerts topic contract (empty when valid)."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in _alert_validator().iter_errors(alert)]


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 0)


def fingerprint(labels: Mapping[str, str], names: Iterable[str] = DEFAULT_FINGERPRINT_LABELS) -> str:
    """Stable 16-hex-digit identity of an alert from the named labels (absent labels count as "")."""
    h = hashlib.sha256()
    for name in sorted(names):
        h.update(name.encode() + b"\xff" + str(labels.get(name, "")).encode() + b"\xfe")
    return h.hexdigest()[:16]


def dashboard_url(grafana_url: str, user_id: str, from_ms: int, to_ms: int) -> str:
    """Link to the Grafana user-investigation dashboard with user and time range filled in."""
    return (f"{grafana_url.rstrip('/')}{DASHBOARD_PATH}?var-user={quote(user_id, safe='')}"
            f"&from={from_ms}&to={to_ms}")


def explanation_text(explanation: Any) -> str:
    """Explanation list (feature, value, expected, baseline) as one readable line."""
    if not isinstance(explanation, list):
        return str(explanation or "")
    parts = []
    for item in explanation:
        if not isinstance(item, Mapping):
            parts.append(str(item))
            continue
        text = f"{item.get('feature', '?')}={_num(item.get('value'))}"
        extra = [f"expected {_num(item['expected'])}"] if "expected" in item else []
        extra += [f"baseline {item['baseline']}"] if item.get("baseline") else []
        parts.append(text + (f" ({', '.join(extra)})" if extra else ""))
    return "; ".join(parts)


def _num(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _time(alert: Mapping, *names: str, default: int = 0) -> int:
    for name in names:
        value = alert.get(name)
        if isinstance(value, str) and value:
            return parse_time(value)
        if isinstance(value, int) and value > 0:
            return value
    return default


@dataclass
class AlertRecord:
    """One alert as the pipeline keeps it (latest version of its incident)."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_ms: int
    updated_ms: int
    ends_ms: int = 0  # set when resolved
    alert: dict = field(default_factory=dict)  # the engine's alert dict (event_ids capped)

    @property
    def status(self) -> str:
        return "resolved" if self.ends_ms else "firing"

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "low")

    @classmethod
    def from_alert(cls, alert: Mapping[str, Any], *, grafana_url: str = "",
                   fingerprint_labels: Iterable[str] = DEFAULT_FINGERPRINT_LABELS,
                   now_ms: int = 0) -> "AlertRecord":
        """Build the record from an alert dict (contracts.md section 3 + labels/status/updated_time)."""
        if not alert.get("alert_id") or not alert.get("user_id"):
            raise ValueError("alert needs alert_id and user_id")
        labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items() if v is not None}
        for name in ("user_id", "detector", "severity"):
            if alert.get(name):
                labels[name] = str(alert[name])
        labels["alert_id"] = str(alert["alert_id"])
        labels.setdefault("incident", str(alert.get("incident") or alert["alert_id"]))
        if labels.get("severity") not in SEVERITY_RANK:
            raise ValueError(f"alert {alert['alert_id']}: severity must be one of {SEVERITIES}")
        first = _time(alert, "first_event_time", "last_event_time", default=now_ms)
        last = _time(alert, "last_event_time", default=first)
        updated = _time(alert, "updated_time", "last_event_time", default=now_ms or last)
        resolved = alert.get("status") == "resolved"
        kept = dict(alert)
        ids = list(alert.get("event_ids") or ())
        kept["event_ids"] = ids[:MAX_EVENT_IDS_KEPT]
        kept["event_count"] = int(alert.get("event_count") or len(ids))
        summary = str(alert.get("summary") or _default_summary(labels, kept["event_count"], first))
        annotations = {
            "summary": summary,
            "description": explanation_text(alert.get("explanation")),
            "alert_id": str(alert["alert_id"]),
            "first_event_time": format_ms(first),
            "last_event_time": format_ms(last),
        }
        if grafana_url:
            annotations["dashboard"] = dashboard_url(
                grafana_url, labels["user_id"], first - DASHBOARD_PAD_MS, last + DASHBOARD_PAD_MS)
        fp = fingerprint(labels, fingerprint_labels)
        return cls(fp, labels, annotations, first, updated, updated if resolved else 0, kept)

    def to_dict(self) -> dict:
        """Plain dict (labels and annotations copied; the engine's alert dict shared, read-only)."""
        return {"fingerprint": self.fingerprint, "labels": dict(self.labels),
                "annotations": dict(self.annotations), "starts_ms": self.starts_ms,
                "updated_ms": self.updated_ms, "ends_ms": self.ends_ms, "alert": self.alert}

    @classmethod
    def from_dict(cls, d: Mapping) -> "AlertRecord":
        return cls(**d)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> "AlertRecord":
        return cls.from_dict(orjson.loads(raw))


def _default_summary(labels: Mapping[str, str], count: int, first_ms: int) -> str:
    return (f"Review {labels['user_id']}'s access: {labels.get('detector', 'detector')} flagged "
            f"{count} event(s) since {format_ms(first_ms)} ({labels.get('severity')}).")
