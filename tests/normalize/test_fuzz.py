"""Property-based fuzzing of every parser: random and mutated inputs end parsed or rejected with a
reason, never an exception, and whatever is emitted is a valid canonical event."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from streamer.normalize import FORMATS, normalize_bytes, normalize_record
from streamer.normalize.common import problems

from .conftest import FHIR_SAMPLES, FIXTURES, atna, octet, rfc5424

SEEDS = [p.read_bytes() for p in sorted(FIXTURES.iterdir()) if p.is_file()] + \
    [p.read_bytes() for p in sorted(FHIR_SAMPLES.glob("*.json"))] + \
    [octet(rfc5424(atna("110103")), rfc5424(atna("110114", "E", type_code="110122"))),
     b'{"event_id": "e", "event_time": "2026-11-30T03:00:00Z", "action": "view", "user": {"id": "u"}}']
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(data: bytes, fmt: str = "auto") -> None:
    r = normalize_bytes(data, fmt)
    assert r.events or r.rejects, "input neither parsed nor rejected"
    for reject in r.rejects:
        assert reject.reason and not reject.reason.startswith("internal error"), reject
        assert reject.position
    for event in r.events:
        assert problems(event) == [], (event, problems(event))
        assert event["event_time"].endswith("Z") and len(event["event_time"]) == 24


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "dup"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"<", b">", b"\"", b"&amp;", b"]]>", b"\x00", b"\xef\xbb\xbf",
                                              b"\n<13>", b"12 ", b"{", b"}", b"\\u0000", b"<!--", b"-->"]))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        else:
            data[i:i] = data[i:i + draw(st.integers(1, 200))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=600), st.sampled_from(FORMATS))
def test_random_bytes(data, fmt):
    check(data, fmt)


@FUZZ
@given(mutated())
def test_mutated_inputs(data):
    check(data)


@FUZZ
@given(st.sampled_from(["atna-xml", "syslog", "fhir", "json"]), mutated())
def test_mutated_inputs_forced_format(fmt, data):
    check(data, fmt)


@FUZZ
@given(st.text(alphabet="<>/=\" 0123456789AuditMesagIdnfcEvtDTPOR:-.{}[]\n", max_size=300))
def test_syntax_soup(text):
    check(text.encode())


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                    max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@FUZZ
@given(st.sampled_from(sorted(FHIR_SAMPLES.glob("*.json")) + [FIXTURES / "fhir_r5_bundle.json"]), st.data())
def test_fhir_with_replaced_values(path, data):
    doc = orjson.loads(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        target = data.draw(st.sampled_from(paths))
        node = doc
        for step in target[:-1]:
            node = node[step]
        node[target[-1]] = data.draw(JSON)
    check(orjson.dumps(doc))


@FUZZ
@given(st.dictionaries(st.sampled_from(["event_id", "event_time", "action", "user", "outcome", "study",
                                        "client", "detail", "source", "schema_version", "x"]), JSON, max_size=8))
def test_canonical_json_objects(obj):
    check(orjson.dumps(obj))


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutated()), st.one_of(st.none(), st.binary(max_size=20)))
def test_normalize_record_never_raises(value, key):
    events, dead = normalize_record(value, topic="t", partition=0, offset=1, key=key)
    assert events or dead
    assert all(d["reason"] and not d["reason"].startswith("internal error") for d in dead), dead


def test_an_address_that_is_only_brackets_is_junk_not_an_internal_error():
    """Found by test_fhir_with_replaced_values: a network address of `[[]]` (a list holding an
    empty list) left nothing once unquoted and raised IndexError in client_of."""
    from streamer.normalize.common import client_of

    assert client_of([[]]) == ({}, "[[]]")
    assert client_of("' '") == ({}, "' '")
    doc = orjson.loads((FHIR_SAMPLES / "audit-event-example-search.json").read_bytes())
    doc["agent"][1]["network"]["address"] = [[]]
    check(orjson.dumps(doc))
