"""DICOM PS3.15 A.5 / RFC 3881 audit XML."""

from __future__ import annotations

import pytest

from streamer.normalize import normalize_bytes

from .conftest import FIXTURES, atna

# (EventID, EventActionCode, EventTypeCode, outcome) -> action, per A.5.3 and the mapping in codes.py
CASES = [
    ("110100", "E", "110120", "0", "other"),
    ("110100", "E", "110121", "0", "other"),
    ("110101", "R", None, "0", "view"),
    ("110102", "R", None, "0", "other"),
    ("110103", "R", None, "0", "view"),
    ("110103", "C", None, "0", "import"),
    ("110103", "U", None, "0", "edit"),
    ("110103", "D", None, "0", "delete"),
    ("110104", "R", None, "0", "export"),
    ("110104", "C", None, "0", "import"),
    ("110105", "D", None, "0", "delete"),
    ("110106", "R", None, "0", "export"),
    ("110107", "C", None, "0", "import"),
    ("110108", "E", "110124", "0", "other"),
    ("110109", "U", None, "0", "edit"),
    ("110110", "R", None, "0", "view"),
    ("110111", "C", None, "0", "edit"),
    ("110112", "E", None, "0", "query"),
    ("110113", "E", "110126", "8", "login_failed"),
    ("110113", "E", "110127", "0", "emergency_access"),
    ("110113", "E", "110128", "0", "config_change"),
    ("110113", "E", "110129", "0", "config_change"),
    ("110113", "E", "110131", "0", "config_change"),
    ("110113", "E", "110133", "0", "config_change"),
    ("110113", "E", "110135", "0", "permission_change"),
    ("110113", "E", "110136", "0", "permission_change"),
    ("110113", "E", "110137", "0", "permission_change"),
    ("110113", "E", "110138", "0", "other"),
    ("110114", "E", "110122", "0", "login"),
    ("110114", "E", "110122", "4", "login_failed"),
    ("110114", "E", "110123", "0", "logout"),
]
OUTCOMES = {"0": "success", "4": "minor_failure", "8": "serious_failure", "12": "major_failure"}


@pytest.mark.parametrize("legacy", [False, True], ids=["dicom", "rfc3881"])
@pytest.mark.parametrize("event_id,action_code,type_code,outcome,action", CASES)
def test_every_event_id(event_id, action_code, type_code, outcome, action, legacy, event_validator):
    r = normalize_bytes(atna(event_id, action_code, type_code=type_code, outcome=outcome, legacy=legacy))
    assert r.rejects == []
    (e,) = r.events
    event_validator.validate(e)
    assert (e["action"], e["outcome"]) == (action, OUTCOMES[outcome])
    assert e["user"] == {"id": "jdoe", "name": "Jane Doe"}
    assert e["patient"] == {"id": "MRN1", "name": "DOE^JANE"}
    assert e["study"] == {"uid": "1.2.3.4", "instances": 5}
    assert e["client"] == {"ip": "10.0.0.5", "remote": False}
    assert e["event_time"] == "2026-11-30T03:00:00.000Z" and e["source"] == "pacs-main"
    assert e["detail"]["event_id_code"] == event_id and e["detail"]["source_node"] == "PACS_AE"


def test_instances_accessed_fixture():
    (e,) = normalize_bytes((FIXTURES / "instances_accessed.xml").read_bytes()).events
    assert e["event_time"] == "2026-11-30T02:00:00.123Z"
    assert e["user"] == {"id": "jdoe", "name": "Jane Doe", "roles": ["radiologist"]}
    assert e["detail"]["user_alt_id"] == "HOSP\\jdoe"
    assert e["patient"] == {"id": "MRN123", "name": "DOE^JOHN"}
    assert e["study"] == {"uid": "1.2.840.113619.2.55.3.1", "accession": "A123", "instances": 182}


def test_rfc3881_transfer_picks_the_human_requestor():
    (e,) = normalize_bytes((FIXTURES / "transferred_rfc3881.xml").read_bytes()).events
    assert e["action"] == "export"
    assert e["user"] == {"id": "mkhan", "name": "Mo Khan", "roles": ["technologist"]}
    assert e["destination"] == {"type": "dicom_node", "id": "EXT_AE", "external": True}
    assert e["study"]["instances"] == 412 and e["study"]["accession"] == "ACC-55"
    assert e["source"] == "legacy-pacs"


def test_one_event_per_study():
    r = normalize_bytes((FIXTURES / "export_dvd_two_studies.xml").read_bytes())
    assert [e["event_id"][-2:] for e in r.events] == ["#1", "#2"]
    assert len({e["event_id"] for e in r.events}) == 2
    assert [e["study"] for e in r.events] == [
        {"uid": "1.2.3.100", "sensitivity": "vip", "instances": 10}, {"uid": "1.2.3.200", "instances": 2}]
    for e in r.events:
        assert e["destination"] == {"type": "media", "id": "DVD-0042", "external": True}
        assert e["patient"] == {"id": "MRN777"} and e["user"]["id"] == "asmith"
        assert e["client"] == {"host": "ws-12.radiology.local"}


def test_several_patients_are_listed():
    extra = ('<ParticipantObjectIdentification ParticipantObjectID="MRN2" ParticipantObjectTypeCode="1" '
             'ParticipantObjectTypeCodeRole="1"/>')
    (e,) = normalize_bytes(atna("110112", "E", extra=extra)).events
    assert e["patient"]["id"] == "MRN1" and e["detail"]["patient_ids"] == ["MRN1", "MRN2"]


def test_security_alert_target_user_and_admin_role():
    (e,) = normalize_bytes((FIXTURES / "roles_changed.xml").read_bytes()).events
    assert e["action"] == "permission_change"
    assert e["user"] == {"id": "root-admin", "roles": ["system_administrator"]}
    assert e["target_user"] == {"id": "asmith"}


def test_login_failed_fixture():
    (e,) = normalize_bytes((FIXTURES / "login_failed.xml").read_bytes()).events
    assert (e["action"], e["outcome"], e["user"]["id"]) == ("login_failed", "minor_failure", "jdoe")


def test_vendor_quirks():
    """BOM, comment before an ASCII declaration, vendor namespace, CRLF, time without seconds,
    padded ids, an IPv4-mapped address with a tab."""
    (e,) = normalize_bytes((FIXTURES / "quirks_vendor.xml").read_bytes()).events
    assert e["event_time"] == "2026-11-30T03:04:00.000Z"
    assert e["user"]["id"] == "dr.who" and e["client"] == {"ip": "10.2.3.4", "remote": False}
    assert e["study"] == {"uid": "1.2.3.9"} and e["action"] == "view"


@pytest.mark.parametrize("address,client", [
    ("10.0.0.5:104", {"ip": "10.0.0.5", "remote": False}),
    ("8.8.8.8", {"ip": "8.8.8.8", "remote": True}),
    ("010.000.000.005", {"ip": "10.0.0.5", "remote": False}),
    ("WS-12.Radiology.local.", {"host": "ws-12.radiology.local"}),
])
def test_client_addresses(address, client):
    xml = atna("110103").replace(b'"10.0.0.5" NetworkAccessPointTypeCode="2"',
                                 f'"{address}" NetworkAccessPointTypeCode="{2 if client.get("ip") else 1}"'.encode())
    assert normalize_bytes(xml).events[0]["client"] == client


def test_junk_address_kept_in_detail():
    xml = atna("110103").replace(b'"10.0.0.5"', b'"&lt;unknown&gt; ?? n/a"')
    (e,) = normalize_bytes(xml).events
    assert "client" not in e and e["detail"]["client_address_raw"] == "<unknown> ?? n/a"


def test_same_message_same_id_different_message_different_id():
    a, b = atna("110103"), atna("110103", user="other")
    assert normalize_bytes(a).events[0]["event_id"] == normalize_bytes(a).events[0]["event_id"]
    assert normalize_bytes(a).events[0]["event_id"] != normalize_bytes(b).events[0]["event_id"]


def test_several_messages_in_one_file():
    data = atna("110103") + b"\n<!-- next -->\n" + atna("110106", user="asmith")
    r = normalize_bytes(data)
    assert [e["user"]["id"] for e in r.events] == ["jdoe", "asmith"] and r.rejects == []


def test_a_second_document_with_a_utf16_mark_but_no_utf16_is_a_clear_reject():
    """Found by the 100k-per-format fuzz run: a message whose second document began with a UTF-16
    byte order mark followed by bytes that are not UTF-16 ended as an 'internal error'."""
    r = normalize_bytes(atna("110103") + b"\xff\xfe\n")
    assert [e["user"]["id"] for e in r.events] == ["jdoe"]
    assert [x.reason for x in r.rejects if "internal error" in x.reason] == []
    assert any("UTF-16 byte order mark but invalid UTF-16" in x.reason for x in r.rejects), r.rejects


@pytest.mark.parametrize("data,reason", [
    (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;">]><AuditMessage>&y;</AuditMessage>',
     "refused for safety"),
    (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><AuditMessage>&e;</AuditMessage>', "refused for safety"),
    (b"<AuditMessage><EventIdentification", "not well-formed"),
    (b"<html><body>hello</body></html>", "not a DICOM/RFC 3881"),
    (b"<AuditMessage/>", "no EventIdentification"),
    (atna("110103", time="not a time"), "event time 'not a time'"),
    (atna("110103", user=""), "no ActiveParticipant with a UserID"),
])
def test_rejects_with_reason(data, reason):
    data = data.replace(b'UserID="" UserName="Jane Doe"', b'UserName="Jane Doe"').replace(
        b'UserID="PACS_AE"', b'')
    r = normalize_bytes(data)
    assert r.events == [] and len(r.rejects) == 1
    assert reason in r.rejects[0].reason and r.rejects[0].format == "atna-xml"


@pytest.mark.parametrize("value,expected", [
    ("2026-11-30T04:00:00+0100", "2026-11-30T03:00:00.000Z"),
    ("2026-11-30T03:00:00,5Z", "2026-11-30T03:00:00.500Z"),
    ("2026-11-30 03:00", "2026-11-30T03:00:00.000Z"),
    ("20261130040000.25+0100", "2026-11-30T03:00:00.250Z"),
    ("2026-11-30T03:00:00.123456789Z", "2026-11-30T03:00:00.123Z"),
])
def test_time_variants(value, expected):
    assert normalize_bytes(atna("110103", time=value)).events[0]["event_time"] == expected
