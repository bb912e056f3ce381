"""Flattening events and alerts to rows; pseudonymisation."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from streamer.store.rows import EVENT_COLUMNS, Pseudonymiser, alert_row, event_row


def test_event_row_flattens_every_part(make_event):
    row = event_row(make_event(7), ingest_ms=1_796_000_000_999)
    assert tuple(row) == EVENT_COLUMNS
    assert row["event_time"] == datetime(2026, 11, 30, 3, 0, 7, 7000, tzinfo=timezone.utc)
    assert row["event_ms"] == 7
    assert row["user_roles"] == ["radiologist"] and row["user_mfa"] == 1 and row["client_remote"] == 0
    assert row["patient_id"] == "MRN1" and row["patient_name"] == "DOE^MRN1"
    assert row["dest_external"] == 1 and row["bytes"] == 1000 and row["instances"] == 240
    assert row["feature_names"] == ["exports_1h", "views_1h"] and row["feature_values"] == [2.0, 5.0]
    assert row["expected_names"] == ["exports_1h"] and row["expected_values"] == [1.0]
    assert orjson.loads(row["detail"]) == {"note": "x"}
    assert row["ingest_time"].microsecond == 0


def test_event_row_with_only_required_fields():
    row = event_row({"event_id": "e", "event_time": "2026-01-01T00:00:00+01:00", "action": "view",
                     "user": {"id": "u"}}, ingest_ms=0)
    assert row["event_time"] == datetime(2025, 12, 31, 23, tzinfo=timezone.utc)
    assert row["user_mfa"] is None and row["dest_external"] is None and row["patient_id"] == ""
    assert row["feature_names"] == [] and row["severity"] == "none" and row["detail"] == "{}"


def test_pseudonymised_event_hides_patient(make_event, pseudonymiser):
    row = event_row(make_event(1), 0, pseudonymiser)
    assert row["patient_id"].startswith("p1:") and "MRN1" not in row["patient_id"]
    assert row["patient_id"] == pseudonymiser.pseudonym("MRN1")
    assert row["patient_name"] == pseudonymiser.pseudonym("DOE^MRN1")


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_pseudonyms_are_consistent_and_keyed(value):
    a, b = Pseudonymiser([b"k1"]), Pseudonymiser([b"k2"])
    if value.startswith("p1:"):
        assert a.pseudonym(value) == value  # already a pseudonym: not hashed twice
        return
    assert a.pseudonym(value) == Pseudonymiser([b"k1"]).pseudonym(value)
    assert a.pseudonym(value) != b.pseudonym(value)
    assert Pseudonymiser([b"k2", b"k1"]).all_pseudonyms(value) == [b.pseudonym(value), a.pseudonym(value)]


def test_pseudonymiser_needs_a_key():
    with pytest.raises(ValueError):
        Pseudonymiser.from_setting(" , ")


def test_alert_row_versions_by_updated_time():
    alert = {"alert_id": "a1", "user_id": "jdoe", "detector": "bulk_export", "severity": "high", "score": 0.9,
             "risk": 71.5, "event_ids": ["e1", "e2"], "first_event_time": "2026-11-30T02:10:00.000Z",
             "last_event_time": "2026-11-30T02:14:09.512Z", "summary": "s",
             "explanation": [{"feature": "exports_1h", "value": 412, "expected": 1.2, "baseline": "self"}],
             "labels": {"department": "neuro", "role": "radiologist"}, "updated_time": "2026-11-30T02:14:10.000Z"}
    row = alert_row(alert, ingest_ms=5)
    assert row["version"] == 1_796_004_850_000
    assert row["event_count"] == 2 and row["department"] == "neuro"
    assert row["label_names"] == ["department", "role"] and row["label_values"] == ["neuro", "radiologist"]
    del alert["updated_time"]
    assert alert_row(alert, 1)["version"] == alert_row(alert, 2)["version"]  # deterministic on retry
