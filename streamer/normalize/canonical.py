"""Canonical event JSON (contracts.md section 1) in: validated, time made canonical, extras kept.

Null values count as absent. Unknown top-level fields move into `detail` under their own name, unknown fields of the nested
objects under `<object>.<field>` (e.g. `user.badge`), so nothing is dropped and the event still
matches schemas/event.schema.json.
"""

from __future__ import annotations

from typing import Any

from streamer.normalize.common import FIELDS, ParseError, event_time, problems


def parse(obj: Any, source: str | None = None) -> dict:
    """The canonical form of one event object; ParseError naming every problem."""
    if not isinstance(obj, dict):
        raise ParseError(f"event must be a JSON object, got {type(obj).__name__}")
    missing = [n for n in ("event_id", "event_time", "action") if n not in obj]
    user = obj.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"].strip():
        missing.append("user.id")
    if missing:
        raise ParseError(f"missing required field(s): {', '.join(missing)}")
    detail = obj.get("detail", {})
    if not isinstance(detail, dict):
        raise ParseError(f"'detail' must be an object, got {type(detail).__name__}")
    event: dict = {"schema_version": 1}
    extra: dict = {}
    for name, value in obj.items():
        spec = FIELDS.get(name)
        if value is None:  # null means absent
            continue
        if spec is None:
            extra[name] = value
        elif isinstance(spec, dict) and isinstance(value, dict):
            known = {k: v for k, v in value.items() if k in spec and v is not None}
            extra.update({f"{name}.{k}": v for k, v in value.items() if k not in spec})
            event[name] = known
        else:
            event[name] = value
    if not isinstance(event["event_time"], str):
        raise ParseError(f"'event_time' must be a string, got {type(event['event_time']).__name__}")
    event["event_time"] = event_time(event["event_time"])
    if extra:
        event["detail"] = {**extra, **detail}
    if source and not event.get("source"):
        event["source"] = source
    errors = problems(event)
    if errors:
        raise ParseError("; ".join(errors))
    return event
