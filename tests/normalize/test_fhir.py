"""FHIR AuditEvent R4 (the nine HL7 examples) and R5, single and in a Bundle."""

from __future__ import annotations

import orjson
import pytest

from streamer.normalize import normalize_bytes

from .conftest import FHIR_SAMPLES, FIXTURES

# file -> (action, outcome, user id, patient id or None, event_time)
R4 = {
    "audit-event-example-login.json": ("login", "success", "95", None, "2013-06-20T23:41:23.000Z"),
    "audit-event-example-logout.json": ("logout", "success", "95", None, "2013-06-20T23:46:41.000Z"),
    "audit-event-example-media.json": ("export", "success", "95", "e3cdfc81a0d24bd", "2015-08-27T23:42:24.000Z"),
    "audit-event-example-pixQuery.json": ("query", "success", "95", "e3cdfc81a0d24bd", "2015-08-26T23:42:24.000Z"),
    "audit-event-example-search.json": ("query", "success", "95", None, "2015-08-22T23:42:24.000Z"),
    "audit-event-example-vread.json": ("view", "success", "95", "example", "2013-06-20T23:42:24.000Z"),
    "auditevent-example-disclosure.json": ("export", "success", "SomeIdiot@nowhere", "example", "2013-09-22T00:08:00.000Z"),
    "auditevent-example-error.json": ("edit", "serious_failure", "95", None, "2017-09-07T23:42:24.000Z"),
    "auditevent-example.json": ("other", "success", "Grahame", None, "2012-10-25T11:04:27.000Z"),
}


def test_all_nine_samples_are_covered():
    assert sorted(p.name for p in FHIR_SAMPLES.glob("*.json")) == sorted(R4)


@pytest.mark.parametrize("name", sorted(R4))
def test_r4_examples(name, event_validator):
    r = normalize_bytes((FHIR_SAMPLES / name).read_bytes())
    assert r.rejects == []
    (e,) = r.events
    event_validator.validate(e)
    action, outcome, user, patient, when = R4[name]
    assert (e["action"], e["outcome"], e["user"]["id"], e.get("patient", {}).get("id"), e["event_time"]) == \
        (action, outcome, user, patient, when)
    assert e["detail"]["fhir_version"] == "R4"


def test_r4_details():
    login = normalize_bytes((FHIR_SAMPLES / "audit-event-example-login.json").read_bytes()).events[0]
    assert login["user"] == {"id": "95", "name": "Grahame Grieve"} and login["detail"]["user_alt_id"] == "601847123"
    assert login["client"] == {"ip": "127.0.0.1", "remote": False}
    media = normalize_bytes((FHIR_SAMPLES / "audit-event-example-media.json").read_bytes()).events[0]
    assert media["destination"] == {"type": "media", "id": "Media title: Hello World", "external": True}
    search = normalize_bytes((FHIR_SAMPLES / "audit-event-example-search.json").read_bytes()).events[0]
    assert search["client"] == {"host": "workstation1.ehr.familyclinic.com"}


def test_r5_bundle(event_validator):
    r = normalize_bytes((FIXTURES / "fhir_r5_bundle.json").read_bytes())
    assert [x.position for x in r.rejects] == ["line 1, entry 2"]
    assert "not an AuditEvent" in r.rejects[0].reason
    first, *stow = r.events
    for e in r.events:
        event_validator.validate(e)
    assert first["event_id"] == "r5-wado-read" and first["action"] == "view"
    assert first["event_time"] == "2026-11-30T03:10:00.250Z"  # occurred, not recorded
    assert first["user"] == {"id": "jdoe", "name": "Jane Doe", "roles": ["radiologist"]}
    assert first["client"] == {"ip": "10.0.0.5", "remote": False}
    assert first["patient"] == {"id": "MRN123"}
    assert first["study"] == {"uid": "1.2.840.99.1", "sensitivity": "restricted"}
    assert first["detail"]["fhir_version"] == "R5" and first["source"] == "dicomweb-gw"
    assert [(e["event_id"], e["study"]["uid"]) for e in stow] == [("r5-stow-failed#1", "1.2.3.7"),
                                                                  ("r5-stow-failed#2", "1.2.3.8")]
    assert {(e["action"], e["outcome"], e["user"]["id"], e["patient"]["id"]) for e in stow} == \
        {("edit", "serious_failure", "tech7", "MRN9")}
    assert stow[0]["user"]["roles"] == ["technologist"]
    assert stow[0]["detail"]["outcome_description"] == "storage full"


def test_json_lines_of_fhir_resources():
    lines = b"\n".join(orjson.dumps(orjson.loads((FHIR_SAMPLES / n).read_bytes())) for n in sorted(R4))
    r = normalize_bytes(lines, "fhir")
    assert len(r.events) == 9 and r.rejects == []


@pytest.mark.parametrize("resource,reason", [
    ({"resourceType": "AuditEvent", "id": "x", "agent": [{"who": {"display": "a"}}]}, "has no time"),
    ({"resourceType": "AuditEvent", "recorded": "2026-13-01T00:00:00Z", "agent": [{"who": {"display": "a"}}]},
     "not a valid"),
    ({"resourceType": "AuditEvent", "recorded": "2026-11-30T00:00:00Z", "agent": [{}]}, "no agent with an identity"),
    ({"resourceType": "Bundle", "entry": []}, "no entries"),
])
def test_fhir_rejects(resource, reason):
    r = normalize_bytes(orjson.dumps(resource))
    assert r.events == [] and reason in r.rejects[0].reason and r.rejects[0].format == "fhir"


def test_format_mismatch_is_a_reject():
    r = normalize_bytes((FHIR_SAMPLES / "auditevent-example.json").read_bytes(), "json")
    assert r.events == [] and "FHIR resource" in r.rejects[0].reason
    r = normalize_bytes(b'{"event_id": "e"}', "fhir")
    assert r.events == [] and "not a FHIR AuditEvent" in r.rejects[0].reason
