"""Syslog framing (RFC 6587 octet counting, newline) and headers (RFC 5424, RFC 3164)."""

from __future__ import annotations

import orjson
import pytest

from streamer.normalize import normalize_bytes

from .conftest import FIXTURES, atna, octet, rfc5424


def test_octet_counted_fixture_with_bom_and_structured_data():
    r = normalize_bytes((FIXTURES / "syslog_octet_5424.log").read_bytes())
    assert r.rejects == []
    assert [(e["action"], e["user"]["id"]) for e in r.events] == [("login_failed", "jdoe"), ("view", "jdoe")]
    sys2 = r.events[1]["detail"]["syslog"]
    assert sys2["msgid"] == "IHE+DICOM" and sys2["host"] == "pacs01" and sys2["rfc"] == "5424"
    assert sys2["structured_data"].endswith('[meta sequenceId="7"]')


def test_newline_framed_rfc3164_with_pretty_printed_xml():
    r = normalize_bytes((FIXTURES / "syslog_newline_3164.log").read_bytes())
    assert r.rejects == []
    assert [e["action"] for e in r.events] == ["export", "export", "export"]
    assert r.events[0]["detail"]["syslog"]["app"] == "ATNA" and r.events[0]["detail"]["syslog"]["host"] == "legacyhost"


@pytest.mark.parametrize("msgid", ["IHE+RFC-3881", "IHE+DICOM", "DICOM+RFC3881", "ATNALOG", "-", "AUDIT"])
@pytest.mark.parametrize("bom", [False, True])
def test_msgid_variants_and_bom(msgid, bom):
    r = normalize_bytes(octet(rfc5424(atna("110103"), msgid=msgid, bom=bom)))
    assert r.rejects == [] and r.events[0]["patient"]["id"] == "MRN1"
    assert r.events[0]["detail"]["syslog"].get("msgid") == (None if msgid == "-" else msgid)


def test_fhir_and_canonical_json_payloads():
    canonical = orjson.dumps({"event_id": "c1", "event_time": "2026-11-30T03:00:00Z", "action": "print",
                              "user": {"id": "u1"}})
    fhir = (FIXTURES.parent.parent.parent / "schemas/topics/raw/examples/fhir_r4_login.json").read_bytes()
    r = normalize_bytes(octet(rfc5424(canonical), rfc5424(fhir.replace(b"\n", b" "))))
    assert r.rejects == [] and [e["action"] for e in r.events] == ["print", "login"]
    assert r.events[0]["source"] == "pacs01"  # the syslog host when the record names no source


def test_source_argument_wins():
    r = normalize_bytes(octet(rfc5424(atna("110103"))), source="site-a")
    assert r.events[0]["source"] == "site-a"


def test_wrong_declared_length_is_reported_and_the_rest_parsed():
    good, bad = rfc5424(atna("110103", user="a")), rfc5424(atna("110103", user="b"))
    third = rfc5424(atna("110103", user="c"))
    data = octet(good) + str(len(bad) + 7).encode() + b" " + bad + octet(third)
    r = normalize_bytes(data)
    assert [e["user"]["id"] for e in r.events] == ["a", "c"]
    (rej,) = r.rejects
    pos = len(octet(good))
    assert rej.position == f"byte {pos}" and f"declared length {len(bad) + 7} at byte {pos}" in rej.reason


def test_short_declared_length_and_truncated_input():
    msg = rfc5424(atna("110103"))
    r = normalize_bytes(str(len(msg) - 10).encode() + b" " + msg)
    assert r.events == [] and "does not end at a frame boundary" in r.rejects[0].reason
    r = normalize_bytes(octet(msg)[:-5])
    assert r.events == [] and "runs past the end of the input" in r.rejects[0].reason


def test_newline_framing_crlf_and_empty_lines():
    lines = b"\r\n\r\n".join(rfc5424(atna("110103", user=u)) for u in ("a", "b")) + b"\r\n"
    r = normalize_bytes(lines)
    assert [e["user"]["id"] for e in r.events] == ["a", "b"] and r.rejects == []


@pytest.mark.parametrize("data,reason", [
    (b"<999>1 2026-11-30T03:00:00Z h a - - - <x/>", "priority 999 is out of range"),
    (b"<13>1 2026-11-30T03:00:00Z h a - - -", "no payload"),
    (b"<13>1 2026-11-30T03:00:00Z h a - - [x a=\"1\" <AuditMessage/>", "not closed"),
    (b"<13>Nov 30 02:10:00 host app: hello world", "neither DICOM audit XML nor JSON"),
    (b"<13>1 2026", "truncated"),
])
def test_bad_messages(data, reason):
    r = normalize_bytes(data)
    assert r.events == [] and len(r.rejects) == 1 and reason in r.rejects[0].reason, r.rejects


def test_text_before_first_header_is_reported():
    r = normalize_bytes(b"garbage line\n" + rfc5424(atna("110103")))
    assert len(r.events) == 1 and "before the first syslog header" in r.rejects[0].reason
