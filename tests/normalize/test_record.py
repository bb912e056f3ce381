"""normalize_record: what the Faust normalize agent calls per Kafka message."""

from __future__ import annotations

import base64

import pytest

from streamer.normalize import normalize_record
from streamer.paths import schemas_dir

from .conftest import atna, octet, rfc5424, validator

DEADLETTER = validator(schemas_dir() / "topics/deadletter/schema.json")
META = dict(topic="pacs.audit.raw", partition=3, offset=42)


def test_good_record_gives_events_only(event_validator):
    events, dead = normalize_record(octet(rfc5424(atna("110106", studies=("1.1", "1.2")))), key=b"pacs01", **META)
    assert dead == [] and [e["study"]["uid"] for e in events] == ["1.1", "1.2"]
    for e in events:
        event_validator.validate(e)


def test_partial_record_gives_events_and_dead_letters():
    value = octet(rfc5424(atna("110103")), b"<13>1 2026-11-30T03:00:00Z h a - - - <AuditMessage>")
    events, dead = normalize_record(value, key=None, **META)
    assert len(events) == 1 and len(dead) == 1
    d = dead[0]
    DEADLETTER.validate(d)
    assert base64.b64decode(d["original_b64"]) == value and d["key_b64"] is None
    assert (d["topic"], d["partition"], d["offset"], d["format"]) == ("pacs.audit.raw", 3, 42, "atna-xml")
    assert "not well-formed" in d["reason"]


@pytest.mark.parametrize("value", [b"", b"\x00\xff\xfe", b"\xff\xfe\x00", None, "text", b"12 <1", b"{}" * 3,
                                   b"\xef\xbb\xbf", b"<13>", b"[1, 2]", b"99999999999 <13>x"])
def test_never_raises_and_every_reject_is_a_valid_dead_letter(value):
    events, dead = normalize_record(value, key=b"k", **META)
    assert events == [] and dead
    for d in dead:
        DEADLETTER.validate(d)
        assert d["reason"] and not d["reason"].startswith("internal error")
        assert d["format"] in ("atna-xml", "syslog", "fhir", "json", "unknown")
        assert {"position", "topic", "partition", "offset", "key_b64"} <= set(d)
