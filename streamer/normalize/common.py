"""Pieces every parser shares: the canonical event check, ids, addresses, the parse error."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from streamer.timeutil import canonical_time

ACTIONS = frozenset((
    "view", "annotate", "edit", "delete", "archive", "export", "share", "print", "query", "import",
    "login", "logout", "login_failed", "permission_change", "config_change", "emergency_access", "other"))
OUTCOME_VALUES = frozenset(("success", "minor_failure", "serious_failure", "major_failure"))
SENSITIVITIES = frozenset(("normal", "restricted", "vip"))
DESTINATION_TYPES = frozenset(("dicom_node", "media", "email", "web", "printer", "cloud", "other"))

# Known fields of the canonical event: top level and nested objects (name -> type check).
_STR, _BOOL, _INT, _ROLES = "str", "bool", "int", "roles"
FIELDS: dict[str, dict[str, str] | str] = {
    "schema_version": _INT, "event_id": _STR, "event_time": _STR, "source": _STR, "action": _STR,
    "outcome": _STR,
    "user": {"id": _STR, "name": _STR, "roles": _ROLES, "department": _STR, "mfa": _BOOL, "session_id": _STR},
    "client": {"ip": _STR, "host": _STR, "remote": _BOOL, "location": _STR},
    "patient": {"id": _STR, "name": _STR},
    "study": {"uid": _STR, "accession": _STR, "modality": _STR, "department": _STR, "sensitivity": _STR,
              "instances": _INT, "bytes": _INT},
    "destination": {"type": _STR, "id": _STR, "external": _BOOL},
    "target_user": {"id": _STR, "name": _STR, "roles": _ROLES, "department": _STR},
    "detail": "object",
}
ENUMS = {("action",): ACTIONS, ("outcome",): OUTCOME_VALUES, ("study", "sensitivity"): SENSITIVITIES,
         ("destination", "type"): DESTINATION_TYPES}
MAX_FIELD = 4096  # longest accepted text value; longer values are truncated by the parsers

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


class ParseError(ValueError):
    """A record that cannot become a canonical event; the message is the human reason."""


def text(value: Any) -> str | None:
    """Trimmed text without control characters, None when empty."""
    if value is None:
        return None
    s = _CTRL.sub(" ", str(value)).strip()
    return s[:MAX_FIELD] or None


def digest_id(prefix: str, raw: bytes) -> str:
    """Deterministic event id for formats without one: a redelivered record keeps its id."""
    return f"{prefix}-{hashlib.sha256(raw).hexdigest()[:20]}"


_DICOM_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


def event_time(value: Any) -> str:
    """Canonical time or ParseError with the offending value. Besides RFC 3339 / ISO 8601, the
    DICOM DT form some older systems send (`20261130030000.123+0100`) is accepted."""
    s = text(value)
    if not s:
        raise ParseError("event time is missing")
    if (m := _DICOM_DT.match(s)):
        y, mo, d, h, mi, sec, frac, tz = m.groups()
        s = f"{y}-{mo}-{d}T{h}:{mi}:{sec or '00'}{frac or ''}{tz or 'Z'}"
    try:
        return canonical_time(s)
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"event time {s[:64]!r} is not a valid RFC 3339 / ISO 8601 time") from exc


def client_of(address: Any, type_code: Any = None) -> tuple[dict, str | None]:
    """(client dict, junk) from a network address as PACS send it (IP, host, `ip:port`, junk).

    `remote` is set for IP addresses only: true when the address is public (not private,
    loopback, link-local or shared), which is how a hospital network looks from the PACS.
    """
    raw = text(address)
    if not raw:
        return {}, None
    parts = raw.strip("[]\"' ").split()  # "[[]]", "' '": nothing left once unquoted
    s = parts[0] if parts else raw
    ip = _ip(s)
    if ip is None and s.count(":") == 1:  # host:port or ipv4:port
        ip = _ip(s.rsplit(":", 1)[0])
        s = s.rsplit(":", 1)[0] if ip is None and s.rsplit(":", 1)[1].isdigit() else s
    if ip is None and s.startswith("[") and "]" in s:
        ip = _ip(s[1:s.index("]")])
    if ip is not None:
        return {"ip": str(ip), "remote": _public(ip)}, None
    if _HOST.match(s) and str(type_code or "1") != "2":
        return {"host": s.rstrip(".").lower()}, None
    return {}, raw


def is_public(address: str) -> bool:
    """True when `address` is a public IP address: outside the hospital network (`remote`)."""
    ip = _ip(address)
    return ip is not None and _public(ip)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_private


def _ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(s.split("%")[0])
    except ValueError:
        parts = s.split(".")  # zero-padded dotted quads: 010.000.000.005
        if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
            return ipaddress.ip_address(".".join(str(int(p)) for p in parts))
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def prune(value: Any) -> Any:
    """Drop None, empty strings, empty lists and empty dicts (missing parts are omitted)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != "" and v != [] and v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value if v is not None]
    return value


def finish(event: dict) -> dict:
    """Pruned event with its keys in contract order (readable JSON lines)."""
    event = prune(event)
    return {k: event[k] for k in FIELDS if k in event}


def problems(event: Any, extras: bool = False) -> list[str]:
    """Everything that keeps `event` from being a canonical event (empty list when valid).
    `extras`: unknown fields are no problem (canonical.parse moves them into `detail`)."""
    if not isinstance(event, dict):
        return [f"event must be a JSON object, got {type(event).__name__}"]
    out = [f"required field {name!r} is missing" for name in ("event_id", "event_time", "action")
           if name not in event]
    user = event.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"].strip():
        out.append("required field 'user.id' is missing or empty")
    for name, value in event.items():
        spec = FIELDS.get(name)
        if spec is None:
            if not extras:
                out.append(f"unknown field {name!r} (extra fields belong in 'detail')")
        elif isinstance(spec, dict):
            if not isinstance(value, dict):
                out.append(f"{name!r} must be an object")
                continue
            for sub, subval in value.items():
                if sub not in spec:
                    if not extras:
                        out.append(f"unknown field '{name}.{sub}' (extra fields belong in 'detail')")
                elif type(subval) is not _PLAIN.get(spec[sub]) and \
                        (err := _type_error(spec[sub], subval)):
                    out.append(f"'{name}.{sub}' {err}")
        elif type(value) is not _PLAIN.get(spec) and (err := _type_error(spec, value)):
            out.append(f"{name!r} {err}")
    if event.get("schema_version", 1) != 1:
        out.append(f"schema_version {event.get('schema_version')!r} is not supported (expected 1)")
    if isinstance(event.get("event_id"), str) and not event["event_id"].strip():
        out.append("'event_id' is empty")
    for path, allowed in ENUMS.items():
        value = event
        for p in path:
            value = value.get(p) if isinstance(value, dict) else None
        if isinstance(value, str) and value not in allowed:
            out.append(f"'{'.'.join(path)}' {value!r} is not one of {', '.join(sorted(allowed))}")
    return out


_PLAIN = {_STR: str, _BOOL: bool}  # kinds a plain type check settles (the common case, no call)


def _type_error(kind: str, value: Any) -> str | None:
    if kind == _STR:
        return None if isinstance(value, str) else f"must be a string, got {type(value).__name__}"
    if kind == _BOOL:
        return None if isinstance(value, bool) else f"must be true or false, got {type(value).__name__}"
    if kind == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"must be a non-negative integer, got {value!r}"[:120]
    if kind == _ROLES:
        ok = isinstance(value, list) and all(isinstance(r, str) for r in value)
        return None if ok else "must be a list of strings"
    return None if isinstance(value, dict) else "must be an object"
