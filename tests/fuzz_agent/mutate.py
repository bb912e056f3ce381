"""Malformed audit messages for the fuzz tests: real fixtures of every input format, mutated with a
seeded random generator (byte flips, cuts, structural tokens, deleted and duplicated spans, invalid
UTF-8, concatenations), so each run of a given size and seed produces the same messages."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson

FIXTURES = Path(__file__).resolve().parents[1] / "normalize" / "fixtures"
CANONICAL = {"schema_version": 1, "event_id": "fz-1", "event_time": "2026-11-30T03:00:00.123Z",
             "source": "pacs-main", "action": "export", "outcome": "success",
             "user": {"id": "jdoe", "name": "Jane Doe", "roles": ["radiologist"], "department": "neuro",
                      "mfa": True, "session_id": "s-1"},
             "client": {"ip": "10.0.0.5", "host": "ws-12", "remote": False},
             "patient": {"id": "MRN123", "name": "DOE^JOHN"},
             "study": {"uid": "1.2.840.1", "accession": "A123", "modality": "MR", "instances": 240},
             "destination": {"type": "dicom_node", "id": "EXT_AE", "external": True}, "detail": {"k": 1}}
TOKENS = [b"<", b">", b"/>", b"</AuditMessage>", b"<AuditMessage>", b'"', b"'", b"&", b"&amp;", b"&#0;",
          b"]]>", b"<![CDATA[", b"<!--", b"-->", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"\x00", b"\xff\xfe",
          b"\xef\xbb\xbf", b"\xc3\x28", b"\xed\xa0\x80", b"\n", b"\r\n", b"\n<13>", b"<999>", b"12 ", b"99999999 ",
          b"{", b"}", b"[", b"]", b":", b",", b"null", b"1e999", b"-0", b'"\\ud800"', b"\\u0000", b"NaN",
          b"9" * 40, b"\t", b" " * 64, b"%n%s", b"resourceType", b"AuditEvent", b"Bundle", b"2026-13-45T99:99:99Z"]
FORMATS = ("atna-xml", "syslog", "fhir", "json")


def seeds(fmt: str) -> list[bytes]:
    """Valid messages of one input format from the normalize fixtures (and a canonical event)."""
    if fmt == "atna-xml":
        return [p.read_bytes() for p in sorted(FIXTURES.glob("*.xml"))]
    if fmt == "syslog":
        return [p.read_bytes() for p in sorted(FIXTURES.glob("syslog_*.log"))]
    if fmt == "fhir":
        bundle = orjson.loads((FIXTURES / "fhir_r5_bundle.json").read_bytes())
        entries = [e["resource"] for e in bundle.get("entry", []) if isinstance(e, dict) and "resource" in e]
        return [orjson.dumps(bundle)] + [orjson.dumps(r) for r in entries]
    if fmt == "json":
        lines = [dict(CANONICAL, event_id=f"fz-{i}", action=a) for i, a in enumerate(("view", "export", "login"))]
        return [orjson.dumps(CANONICAL), b"\n".join(orjson.dumps(x) for x in lines), orjson.dumps(lines)]
    raise ValueError(fmt)


def mutate(data: bytes, rnd: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        n = len(out)
        i = rnd.randrange(n) if n else 0
        op = rnd.random()
        if op < 0.2 and n:
            out[i] = rnd.randrange(256)
        elif op < 0.3:
            del out[i:]
        elif op < 0.55:
            out[i:i] = rnd.choice(TOKENS)
        elif op < 0.7 and n:
            del out[i:i + rnd.randint(1, 64)]
        elif op < 0.8 and n:
            out[i:i] = out[i:i + rnd.randint(1, 256)]
        elif op < 0.87 and n:
            j = rnd.randrange(n)
            a, b = sorted((i, j))
            out[a:b] = out[a:b][::-1]
        elif op < 0.93:
            out += rnd.choice(TOKENS) + bytes(out[:rnd.randint(0, 300)])
        elif op < 0.97 and n:
            out[i:i + 8] = bytes(rnd.randrange(256) for _ in range(8))
        else:
            out = bytearray(out[i:]) if rnd.random() < 0.5 else bytearray()
    return bytes(out)


def messages(fmt: str, count: int, seed: int = 20261130) -> Iterator[bytes]:
    """`count` malformed messages of one format: mostly mutated fixtures, some raw noise."""
    rnd = random.Random(f"{seed}-{fmt}")
    base = seeds(fmt)
    for k in range(count):
        if k % 50 == 49:
            yield bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 300)))
        else:
            yield mutate(rnd.choice(base), rnd)
