"""Canonical event JSON: validation, canonical time, extra fields kept in detail."""

from __future__ import annotations

import json

import orjson
import pytest

from streamer.normalize import normalize_bytes
from streamer.paths import schemas_dir

CONTRACT = json.loads((schemas_dir() / "topics/events/examples/contract.json").read_text())


def test_contract_example_round_trips(event_validator):
    (e,) = normalize_bytes(orjson.dumps(CONTRACT)).events
    assert e == CONTRACT
    event_validator.validate(e)


def test_time_is_made_canonical_and_extras_go_to_detail(event_validator):
    raw = {"event_id": "e1", "event_time": "2026-11-30 04:00+01:00", "action": "view",
           "user": {"id": "u", "badge": 7}, "ward": "4B", "source": None}
    (e,) = normalize_bytes(orjson.dumps(raw), source="feed").events
    assert e["event_time"] == "2026-11-30T03:00:00.000Z" and e["source"] == "feed"
    assert e["detail"] == {"ward": "4B", "user.badge": 7} and e["user"] == {"id": "u"}
    event_validator.validate(e)


def test_json_lines_with_one_bad_line():
    good = orjson.dumps(dict(CONTRACT, event_id="a"))
    data = good + b"\n\n{not json\n" + orjson.dumps({"event_id": "b", "action": "view"}) + b"\n" + good
    r = normalize_bytes(data)
    assert len(r.events) == 2
    assert [(x.position, x.reason.split(":")[0]) for x in r.rejects] == [
        ("line 3", "invalid JSON"), ("line 4", "missing required field(s)")]
    assert "event_time, user.id" in r.rejects[1].reason


def test_array_of_events():
    r = normalize_bytes(orjson.dumps([CONTRACT, {"event_id": "x"}]))
    assert len(r.events) == 1 and r.rejects[0].position == "item 1"


@pytest.mark.parametrize("change,reason", [
    ({"action": "look"}, "'action' 'look' is not one of"),
    ({"outcome": "ok"}, "'outcome' 'ok' is not one of"),
    ({"event_time": "noon"}, "not a valid RFC 3339"),
    ({"event_time": 1700000000}, "'event_time' must be a string"),
    ({"user": {"id": "   "}}, "user.id"),
    ({"study": {"instances": -1}}, "'study.instances' must be a non-negative integer"),
    ({"study": {"sensitivity": "secret"}}, "'study.sensitivity' 'secret' is not one of"),
    ({"client": {"remote": "yes"}}, "'client.remote' must be true or false"),
    ({"destination": {"type": "fax"}}, "'destination.type' 'fax' is not one of"),
    ({"user": {"id": "u", "roles": "radiologist"}}, "'user.roles' must be a list of strings"),
    ({"detail": []}, "'detail' must be an object"),
    ({"schema_version": 2}, "schema_version 2 is not supported"),
    ({"patient": "MRN1"}, "'patient' must be an object"),
])
def test_invalid_events_are_rejected_with_reason(change, reason, event_validator):
    bad = dict(CONTRACT, **change)
    r = normalize_bytes(orjson.dumps(bad))
    assert r.events == [] and reason in r.rejects[0].reason, r.rejects
    assert not event_validator.is_valid(bad)  # the schema agrees


def test_broken_pretty_printed_document_is_one_reject():
    data = orjson.dumps(CONTRACT, option=orjson.OPT_INDENT_2)[:-30]
    r = normalize_bytes(data)
    assert r.events == [] and len(r.rejects) == 1 and r.rejects[0].reason.startswith("invalid JSON")


def test_utf16_input():
    r = normalize_bytes("\n".join([orjson.dumps(CONTRACT).decode()] * 2).encode("utf-16"))
    assert len(r.events) == 2 and r.rejects == []
