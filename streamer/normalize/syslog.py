"""Syslog transport of audit messages: framing (RFC 6587 / RFC 5425) and headers (RFC 5424, 3164).

Framing is recognised from the first bytes: `LEN SP <PRI>...` is octet counting, anything
else newline framing, where a line starting with `<PRI>` begins a message and the following
lines (a pretty-printed XML payload) continue it. A wrong declared length is reported with its
byte offset; reading resumes at the next frame header, so one bad frame loses nothing else.

The MSGID (`IHE+RFC-3881`, `IHE+DICOM`, `DICOM+RFC3881`, `ATNALOG`, `-`, ...) is not trusted to
name the payload format: the payload is recognised by content, the MSGID kept in `detail`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from streamer.normalize.common import ParseError, text

_OCTET_START = re.compile(rb"[ \t\r\n\x00]*\d{1,10} <")
_FRAME_HEAD = re.compile(rb"(?<![0-9])(\d{1,10}) (?=<\d{1,3}>)")
_PRI = re.compile(rb"<(\d{1,3})>")
_RFC3164_TIME = re.compile(rb"[A-Z][a-z]{2} [ 0-9]?[0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(?: [0-9]{4})? ")
_TAG = re.compile(rb"([^\s:\[\]<{]{1,64})(\[[^\]\s]{0,32}\])?: ?")
_PAYLOAD_START = re.compile(rb"<\?xml|<!--|<([A-Za-z_][\w.-]*:)?AuditMessage\b|\{")
_SKIP = b" \t\r\n\x00"
BOM = b"\xef\xbb\xbf"


def is_octet_counted(data: bytes) -> bool:
    return _OCTET_START.match(data) is not None


def looks_like(data: bytes) -> bool:
    return is_octet_counted(data) or _PRI.match(data.lstrip(BOM + _SKIP)) is not None


def frames(data: bytes) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(byte offset, message, None) per frame, or (byte offset, None, reason) for a bad one."""
    yield from (_octet_frames(data) if is_octet_counted(data) else _line_frames(data))


def _octet_frames(data: bytes) -> Iterator[tuple[int, bytes | None, str | None]]:
    pos, size = 0, len(data)
    while True:
        while pos < size and data[pos] in _SKIP:
            pos += 1
        if pos >= size:
            return
        m = _FRAME_HEAD.match(data, pos)
        if m is None:
            nxt = _resync(data, pos + 1)
            yield pos, None, f"expected an octet count ('LEN SP <PRI>') at byte {pos}, found {data[pos:pos + 16]!r}"
            pos = nxt
            continue
        length, start = int(m.group(1)), m.end()
        end = start + length
        if length == 0 or end > size or not _boundary(data, end):
            nxt = _resync(data, start)
            got = (nxt if nxt < size else size) - start
            where = "runs past the end of the input" if end > size else "does not end at a frame boundary"
            yield pos, None, (f"declared length {length} at byte {pos} {where} "
                              f"(next frame header found {got} bytes after the length)")
            pos = nxt
            continue
        yield start, data[start:end], None
        pos = end


def _boundary(data: bytes, end: int) -> bool:
    """True when `end` is the end of the input or the next frame header follows (after whitespace)."""
    while end < len(data) and data[end] in _SKIP:
        end += 1
    return end >= len(data) or _FRAME_HEAD.match(data, end) is not None


def _resync(data: bytes, pos: int) -> int:
    m = _FRAME_HEAD.search(data, pos)
    return m.start() if m else len(data)


def _line_frames(data: bytes) -> Iterator[tuple[int, bytes | None, str | None]]:
    start, parts, orphan = None, [], None
    offset = 0
    for line in data.split(b"\n"):
        here, offset = offset, offset + len(line) + 1
        body = line.rstrip(b"\r\x00")
        if _PRI.match(body.lstrip(BOM)):
            if start is not None:
                yield start, b"\n".join(parts), None
            start, parts = here, [body]
        elif start is not None:
            parts.append(body)
        elif body.strip(_SKIP + BOM) and orphan is None:
            orphan = here
    if orphan is not None:
        yield orphan, None, f"text at byte {orphan} before the first syslog header '<PRI>'"
    if start is not None:
        yield start, b"\n".join(parts), None


def parse_message(msg: bytes) -> tuple[dict, bytes]:
    """(header fields for `detail`, payload) of one syslog message; ParseError when malformed."""
    msg = msg.lstrip(BOM + _SKIP)
    m = _PRI.match(msg)
    if m is None:
        raise ParseError("syslog message does not start with '<PRI>'")
    pri = int(m.group(1))
    if pri > 191:
        raise ParseError(f"syslog priority {pri} is out of range (0-191)")
    rest = msg[m.end():]
    header = {"facility": pri >> 3, "severity": pri & 7}
    if rest[:2] == b"1 ":
        header["rfc"] = "5424"
        payload = _rfc5424(rest[2:], header)
    elif rest[:1] in (b"<", b"{") or rest[:3] == BOM:
        header["rfc"] = "none"
        payload = rest
    else:
        header["rfc"] = "3164"
        payload = _rfc3164(rest, header)
    payload = payload.strip(_SKIP)
    if payload.startswith(BOM):
        payload = payload[3:].lstrip(_SKIP)
    if payload and payload[:1] not in (b"<", b"{", b"["):
        found = _PAYLOAD_START.search(payload)
        if found:
            header["prefix"] = text(payload[:found.start()].decode("utf-8", "replace"))
            payload = payload[found.start():]
    if not payload:
        raise ParseError("syslog message has no payload (nothing after the header)")
    return {k: v for k, v in header.items() if v is not None}, payload


def _fields(rest: bytes, n: int) -> tuple[list[str | None], bytes]:
    out = []
    for _ in range(n):
        head, sep, rest = rest.partition(b" ")
        if not sep and not rest and not head:
            raise ParseError(f"RFC 5424 header is truncated after {len(out)} fields")
        value = head.decode("utf-8", "replace")
        out.append(None if value == "-" else text(value))
    return out, rest


def _rfc5424(rest: bytes, header: dict) -> bytes:
    (ts, host, app, procid, msgid), rest = _fields(rest, 5)
    header.update(time=ts, host=host, app=app, procid=procid, msgid=msgid)
    if rest.startswith(b"-"):
        return rest[1:]
    if not rest.startswith(b"["):
        raise ParseError("RFC 5424 STRUCTURED-DATA must be '-' or start with '['")
    i, size, quoted = 0, len(rest), False
    while i < size:
        c = rest[i:i + 1]
        if quoted:
            if c == b"\\":
                i += 1
            elif c == b'"':
                quoted = False
        elif c == b'"':
            quoted = True
        elif c == b"]" and rest[i + 1:i + 2] != b"[":
            header["structured_data"] = text(rest[:i + 1].decode("utf-8", "replace"))
            return rest[i + 1:]
        i += 1
    raise ParseError("RFC 5424 STRUCTURED-DATA is not closed with ']'")


def _rfc3164(rest: bytes, header: dict) -> bytes:
    m = _RFC3164_TIME.match(rest)
    if m:
        header["time"] = rest[:m.end()].decode("ascii", "replace").strip()
        rest = rest[m.end():]
        host, sep, after = rest.partition(b" ")
        if sep and not host.endswith(b":") and not host.startswith((b"<", b"{")):
            header["host"] = text(host.decode("utf-8", "replace"))
            rest = after
    t = _TAG.match(rest)
    if t:
        header["app"] = text(t.group(1).decode("utf-8", "replace"))
        rest = rest[t.end():]
    return rest
