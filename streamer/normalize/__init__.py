"""Normalize: raw audit records (DICOM/ATNA XML, syslog, FHIR AuditEvent, canonical JSON) ->
canonical events (contracts.md section 1) and rejects with a reason.

>>> r = normalize_bytes(b'{"event_id": "e1", "event_time": "2026-11-30T04:00:00+01:00", '
...                     b'"action": "view", "user": {"id": "jdoe"}, "ward": "4B"}')
>>> r.events[0]["event_time"], r.events[0]["detail"], r.rejects
('2026-11-30T03:00:00.000Z', {'ward': '4B'}, [])
>>> normalize_bytes(b'{"event_id": "e2"}').rejects[0].reason
'missing required field(s): event_time, action, user.id'
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field

import orjson

from streamer.normalize import atna, canonical, fhir, syslog
from streamer.normalize.common import ParseError
from streamer.timeutil import format_ms

FORMATS = ("auto", "atna-xml", "syslog", "fhir", "json")
_WS = b" \t\r\n\x00"
_LINE_PRI = re.compile(rb"\n<\d{1,3}>")
_XML_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?AuditMessage\s*>")

__all__ = ["FORMATS", "Reject", "Result", "detect_format", "normalize_bytes", "normalize_record"]


@dataclass(frozen=True, slots=True)
class Reject:
    """A record (or part of one) that did not become an event."""
    position: str   # "line 3", "byte 120", "document 2 at byte 512", "entry 4"
    reason: str
    format: str


@dataclass(slots=True)
class Result:
    events: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def detect_format(data: bytes) -> str:
    """atna-xml, syslog, json (canonical or FHIR, decided per record) or unknown."""
    if syslog.is_octet_counted(data):
        return "syslog"
    head = data[:64].lstrip(syslog.BOM + _WS)
    if syslog.looks_like(head):
        return "syslog"
    if head.startswith(b"<"):
        return "atna-xml"
    if head.startswith((b"{", b"[")):
        return "json"
    if _LINE_PRI.search(data[:4096]):  # junk line(s) before syslog messages
        return "syslog"
    return "unknown"


def normalize_bytes(data: bytes, fmt: str = "auto", source: str | None = None) -> Result:
    """Parse every record in `data`; never raises for bad input, every failure is a Reject."""
    result = Result()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    data = bytes(data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            result.rejects.append(Reject("byte 0", f"UTF-16 byte order mark but invalid UTF-16: {exc}",
                                         fmt if fmt != "auto" else "unknown"))
            return result
    if not data.strip(syslog.BOM + _WS):
        result.rejects.append(Reject("byte 0", "empty input", fmt if fmt != "auto" else "unknown"))
        return result
    kind = detect_format(data) if fmt == "auto" else fmt
    try:
        if kind == "syslog":
            _syslog(data, source, result)
        elif kind == "atna-xml":
            _xml(data, source, result, None)
        elif kind in ("json", "fhir"):
            _json(data, source, result, None, only=None if fmt == "auto" else kind)
        else:
            result.rejects.append(Reject("byte 0", f"unrecognised format (starts with {data[:24]!r}); "
                                         "expected DICOM audit XML, syslog, FHIR or canonical JSON", "unknown"))
    except Exception as exc:  # a parser bug must not lose the record: it becomes a reject
        result.rejects.append(Reject("byte 0", f"internal error: {type(exc).__name__}: {exc}", kind))
    if not result.events and not result.rejects:
        result.rejects.append(Reject("byte 0", "no audit record found in the input", kind))
    return result


def _guard(result: Result, position: str, fmt: str, parse, *args) -> list[dict]:
    try:
        events = parse(*args)
    except ParseError as exc:
        result.rejects.append(Reject(position, str(exc), fmt))
        return []
    except Exception as exc:
        result.rejects.append(Reject(position, f"internal error: {type(exc).__name__}: {exc}", fmt))
        return []
    result.events.extend(events)
    return events


def _at(where: str | None, inner: str) -> str:
    """Position of a record inside a syslog frame: 'byte 120, line 2'."""
    return f"{where}, {inner}" if where else inner


def _xml(data: bytes, source: str | None, result: Result, where: str | None) -> None:
    docs, start = [], 0
    for m in _XML_END.finditer(data):
        docs.append((start, data[start:m.end()]))
        start = m.end()
    if data[start:].strip(_WS):
        docs.append((start, data[start:]))
    for n, (offset, doc) in enumerate(docs, 1):
        position = (where or f"byte {offset}") if len(docs) == 1 else \
            _at(where, f"document {n} at byte {offset}")
        _guard(result, position, "atna-xml", atna.parse, doc, source)


def _json(data: bytes, source: str | None, result: Result, where: str | None, only: str | None) -> None:
    body = data.lstrip(syslog.BOM + _WS)
    try:
        records = [(where or "line 1", orjson.loads(body))]
        if isinstance(records[0][1], list):
            records = [(_at(where, f"item {i}"), r) for i, r in enumerate(records[0][1])]
    except orjson.JSONDecodeError as exc:
        first = body.split(b"\n", 1)[0].strip(_WS)
        if b"\n" in body.strip(_WS) and not _is_json(first):  # one pretty-printed document
            result.rejects.append(Reject(where or "line 1", f"invalid JSON: {exc}", only or "json"))
            return
        records = []
        for n, line in enumerate(data.split(b"\n"), 1):
            line = line.strip(syslog.BOM + _WS)
            if not line:
                continue
            try:
                records.append((_at(where, f"line {n}"), orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                result.rejects.append(Reject(_at(where, f"line {n}"), f"invalid JSON: {exc}", only or "json"))
    for position, obj in records:
        is_fhir = fhir.is_fhir(obj)
        if only == "fhir" and not is_fhir:
            result.rejects.append(Reject(position, "not a FHIR AuditEvent or Bundle (resourceType "
                                         f"{obj.get('resourceType') if isinstance(obj, dict) else None!r})", "fhir"))
        elif only == "json" and is_fhir:
            result.rejects.append(Reject(position, "a FHIR resource, not a canonical event "
                                         "(use --format fhir or auto)", "json"))
        elif is_fhir:
            _guard(result, position, "fhir", _fhir, obj, source, result, position)
        else:
            _guard(result, position, "json", lambda o, s: [canonical.parse(o, s)], obj, source)


def _is_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _fhir(obj: dict, source: str | None, result: Result, position: str) -> list[dict]:
    events, rejects = fhir.parse(obj, source)
    result.rejects.extend(Reject(_at(position, where), reason, "fhir") for where, reason in rejects)
    return events


def _syslog(data: bytes, source: str | None, result: Result) -> None:
    for offset, msg, error in syslog.frames(data):
        if error is not None:
            result.rejects.append(Reject(f"byte {offset}", error, "syslog"))
            continue
        where = f"byte {offset}"
        try:
            header, payload = syslog.parse_message(msg)
        except ParseError as exc:
            result.rejects.append(Reject(f"byte {offset}", str(exc), "syslog"))
            continue
        inner = Result()
        kind = detect_format(payload)
        if kind == "atna-xml":
            _xml(payload, source, inner, where)
        elif kind == "json":
            _json(payload, source, inner, where, only=None)
        else:
            inner.rejects.append(Reject(f"byte {offset}", "syslog payload is neither DICOM audit XML nor "
                                        f"JSON (starts with {payload[:24]!r})", "syslog"))
        if not inner.events and not inner.rejects:
            inner.rejects.append(Reject(where, "syslog payload holds no audit record", kind))
        for event in inner.events:
            event.setdefault("detail", {})["syslog"] = header
            if not event.get("source") and header.get("host"):
                event["source"] = header["host"]
        result.events.extend(inner.events)
        result.rejects.extend(inner.rejects)


def normalize_record(value: bytes, *, topic: str, partition: int, offset: int, key: bytes | None,
                     source: str | None = None) -> tuple[list[dict], list[dict]]:
    """(canonical events, dead-letter dicts) for one raw Kafka message. Never raises."""
    try:
        if value is None or not isinstance(value, (bytes, bytearray, memoryview)):
            result = Result(rejects=[Reject("record", f"record value is {type(value).__name__}, not bytes",
                                            "unknown")])
        else:
            result = normalize_bytes(bytes(value), "auto", source)
    except Exception as exc:
        result = Result(rejects=[Reject("record", f"internal error: {type(exc).__name__}: {exc}", "unknown")])
    for event in result.events:  # lineage: the raw record each stored event came from
        detail = event.get("detail")
        if isinstance(detail, dict):
            detail["ingest"] = {"topic": topic, "partition": partition, "offset": offset}
        elif detail is None:
            event["detail"] = {"ingest": {"topic": topic, "partition": partition, "offset": offset}}
    if not result.rejects:
        return result.events, []
    try:
        original = base64.b64encode(bytes(value)).decode("ascii") if value is not None else ""
    except Exception:
        original = ""
    key_b64 = base64.b64encode(bytes(key)).decode("ascii") if isinstance(key, (bytes, bytearray)) else None
    now = format_ms(int(time.time() * 1000))
    dead = [{"reason": r.reason, "format": r.format, "position": r.position, "original_b64": original,
             "topic": topic, "partition": partition, "offset": offset, "key_b64": key_b64,
             "rejected_at": now} for r in result.rejects]
    return result.events, dead
