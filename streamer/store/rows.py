"""Pure functions turning enriched events and alerts into table rows, and the keyed pseudonymiser.

Rows are plain dicts of column -> Python value (str, int, float, list, None, timezone-aware
datetime); each transport encodes them its own way.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

import orjson

from streamer.timeutil import parse_time

EVENT_COLUMNS = (
    "event_id", "event_time", "event_ms", "schema_version", "source", "action", "outcome",
    "user_id", "user_name", "user_roles", "user_department", "user_mfa", "session_id",
    "client_ip", "client_host", "client_remote", "client_location", "patient_id", "patient_name",
    "study_uid", "accession", "modality", "study_department", "sensitivity", "instances", "bytes",
    "dest_type", "dest_id", "dest_external", "target_user_id", "target_user_roles", "detail",
    "peer_group", "feature_names", "feature_values", "expected_names", "expected_values",
    "anomaly_score", "model_version", "detectors", "risk", "severity", "ingest_time",
)
ALERT_COLUMNS = (
    "alert_id", "version", "updated_time", "status", "user_id", "detector", "detectors",
    "severity", "score", "risk", "event_ids", "event_count", "first_event_time",
    "last_event_time", "summary", "explanation", "peer_group", "incident", "department",
    "label_names", "label_values", "ingest_time",
)
PSEUDONYM_PREFIX = "p1:"


def ms_to_datetime(ms: int) -> datetime:
    """Epoch ms -> aware UTC datetime with millisecond precision."""
    return datetime.fromtimestamp(ms // 1000, tz=timezone.utc).replace(microsecond=(ms % 1000) * 1000)


class Pseudonymiser:
    """Keyed HMAC-SHA256 of patient identifiers: same input and key, same pseudonym.

    `keys` is the current key first, then retired keys (only used to find old rows, e.g. for
    erasure). Pseudonyms look like 'p1:<32 hex>' so they are never mistaken for a real MRN.
    """

    def __init__(self, keys: list[bytes]):
        if not keys or not all(keys):
            raise ValueError("pseudonymisation needs a non-empty key (STREAMER_PSEUDONYM_KEY)")
        self.keys = keys

    @classmethod
    def from_setting(cls, value: str) -> "Pseudonymiser":
        """'current[,retired...]' as set in STREAMER_PSEUDONYM_KEY."""
        return cls([k.strip().encode() for k in value.split(",") if k.strip()])

    def pseudonym(self, value: str, key: bytes | None = None) -> str:
        if not value or value.startswith(PSEUDONYM_PREFIX):
            return value
        digest = hmac.new(key or self.keys[0], value.encode("utf-8"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:32]

    def all_pseudonyms(self, value: str) -> list[str]:
        """The pseudonyms `value` has had under every known key (current first)."""
        return [self.pseudonym(value, k) for k in self.keys]


def _bool(value) -> int | None:
    return None if value is None else int(bool(value))


def _int(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _float(value) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _pairs(mapping) -> tuple[list[str], list[float]]:
    if not isinstance(mapping, dict):
        return [], []
    names = sorted(str(k) for k in mapping)
    return names, [_float(mapping[k]) for k in names]


def event_row(event: dict, ingest_ms: int, pseudonymiser: Pseudonymiser | None = None) -> dict:
    """Flatten one enriched (or plain canonical) event into an `events` row."""
    ms = parse_time(event["event_time"])
    user = event.get("user") or {}
    client = event.get("client") or {}
    patient = event.get("patient") or {}
    study = event.get("study") or {}
    dest = event.get("destination") or {}
    target = event.get("target_user") or {}
    enr = event.get("enrichment") or {}
    patient_id = str(patient.get("id") or "")
    patient_name = str(patient.get("name") or "")
    if pseudonymiser:
        patient_id, patient_name = pseudonymiser.pseudonym(patient_id), pseudonymiser.pseudonym(patient_name)
    feature_names, feature_values = _pairs(enr.get("features"))
    expected_names, expected_values = _pairs(enr.get("expected"))
    return {
        "event_id": str(event["event_id"]),
        "event_time": ms_to_datetime(ms),
        "event_ms": ms % 1000,
        "schema_version": _int(event.get("schema_version", 1)),
        "source": str(event.get("source") or ""),
        "action": str(event.get("action") or ""),
        "outcome": str(event.get("outcome") or ""),
        "user_id": str(user.get("id") or ""),
        "user_name": str(user.get("name") or ""),
        "user_roles": [str(r) for r in user.get("roles") or []],
        "user_department": str(user.get("department") or ""),
        "user_mfa": _bool(user.get("mfa")),
        "session_id": str(user.get("session_id") or ""),
        "client_ip": str(client.get("ip") or ""),
        "client_host": str(client.get("host") or ""),
        "client_remote": _bool(client.get("remote")),
        "client_location": str(client.get("location") or ""),
        "patient_id": patient_id,
        "patient_name": patient_name,
        "study_uid": str(study.get("uid") or ""),
        "accession": str(study.get("accession") or ""),
        "modality": str(study.get("modality") or ""),
        "study_department": str(study.get("department") or ""),
        "sensitivity": str(study.get("sensitivity") or ""),
        "instances": _int(study.get("instances")),
        "bytes": _int(study.get("bytes")),
        "dest_type": str(dest.get("type") or ""),
        "dest_id": str(dest.get("id") or ""),
        "dest_external": _bool(dest.get("external")),
        "target_user_id": str(target.get("id") or ""),
        "target_user_roles": [str(r) for r in target.get("roles") or []],
        "detail": orjson.dumps(event.get("detail") or {}).decode(),
        "peer_group": str(enr.get("peer_group") or ""),
        "feature_names": feature_names,
        "feature_values": feature_values,
        "expected_names": expected_names,
        "expected_values": expected_values,
        "anomaly_score": _float(enr.get("anomaly_score")),
        "model_version": str(enr.get("model_version") or ""),
        "detectors": [str(d) for d in enr.get("detectors") or []],
        "risk": _float(enr.get("risk")),
        "severity": str(enr.get("severity") or "none"),
        "ingest_time": ms_to_datetime(ingest_ms - ingest_ms % 1000),
    }


def alert_row(alert: dict, ingest_ms: int, pseudonymiser: Pseudonymiser | None = None) -> dict:
    """Flatten one alert into an `alerts` row; version = updated_time in ms (latest wins)."""
    first = parse_time(alert["first_event_time"])
    last = parse_time(alert.get("last_event_time") or alert["first_event_time"])
    updated = parse_time(alert["updated_time"]) if alert.get("updated_time") else last
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    if pseudonymiser:
        for key in ("patient_id", "patient_name"):
            if key in labels:
                labels[key] = pseudonymiser.pseudonym(labels[key])
    names = sorted(labels)
    event_ids = [str(e) for e in alert.get("event_ids") or []]
    return {
        "alert_id": str(alert["alert_id"]),
        "version": updated,
        "updated_time": ms_to_datetime(updated),
        "status": str(alert.get("status") or "firing"),
        "user_id": str(alert.get("user_id") or ""),
        "detector": str(alert.get("detector") or ""),
        "detectors": [str(d) for d in alert.get("detectors") or [alert.get("detector") or ""] if d],
        "severity": str(alert.get("severity") or ""),
        "score": _float(alert.get("score")),
        "risk": _float(alert.get("risk")),
        "event_ids": event_ids,
        "event_count": _int(alert.get("event_count") or len(event_ids)),
        "first_event_time": ms_to_datetime(first),
        "last_event_time": ms_to_datetime(last),
        "summary": str(alert.get("summary") or ""),
        "explanation": orjson.dumps(alert.get("explanation") or []).decode(),
        "peer_group": str(alert.get("peer_group") or labels.get("peer_group", "")),
        "incident": str(alert.get("incident") or ""),
        "department": labels.get("department", ""),
        "label_names": names,
        "label_values": [labels[n] for n in names],
        "ingest_time": ms_to_datetime(ingest_ms - ingest_ms % 1000),
    }
