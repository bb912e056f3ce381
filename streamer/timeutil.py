"""Event-time helpers shared by every stage: canonical time is UTC, millisecond precision.

>>> format_ms(parse_time("2026-11-30T04:00:00.5+01:00"))
'2026-11-30T03:00:00.500Z'
>>> parse_time("2026-11-30T03:00:00.123Z")
1796007600123
"""

from __future__ import annotations

from datetime import datetime, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_time(value: str) -> int:
    """RFC 3339 / ISO 8601 text -> epoch milliseconds (UTC). Raises ValueError on bad input.

    Fast path for the canonical form `YYYY-MM-DDTHH:MM:SS.mmmZ`; otherwise accepts offsets,
    missing seconds, missing fraction, lowercase t/z, space instead of T, more than 6 digits.
    A time without zone is taken as UTC.
    """
    if not isinstance(value, str):
        raise ValueError(f"time must be a string, got {type(value).__name__}")
    s = value.strip()
    if len(s) == 24 and s[10] == "T" and s[23] == "Z" and s[19] == ".":
        try:
            dt = datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]),
                          int(s[17:19]), int(s[20:23]) * 1000, tzinfo=timezone.utc)
            return int((dt - _EPOCH).total_seconds() * 1000)
        except ValueError:
            pass
    if not s:
        raise ValueError("empty time")
    t = s.replace(" ", "T", 1) if len(s) > 10 and s[10] == " " else s
    t = t[:10] + "T" + t[11:] if len(t) > 10 and t[10] in "t" else t
    if t[-1] in "zZ":
        t = t[:-1] + "+00:00"
    # trim fractional digits beyond microseconds: fromisoformat accepts at most 6
    dot = t.find(".", 19)
    if dot != -1:
        end = dot + 1
        while end < len(t) and t[end].isdigit():
            end += 1
        frac = t[dot + 1:end][:6]
        t = t[:dot] + ("." + frac if frac else "") + t[end:]
    try:
        dt = datetime.fromisoformat(t)
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 time: {value!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round((dt - _EPOCH).total_seconds() * 1000))


def format_ms(ms: int) -> str:
    """Epoch milliseconds -> canonical `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def canonical_time(value: str) -> str:
    """Normalise any accepted time text to the canonical form."""
    return format_ms(parse_time(value))
