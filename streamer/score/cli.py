"""`streamer replay`.

replay runs the agents' detection code (Engine.process_many) over a file of canonical events in
event-time order, event time as the clock. Input is read whole and sorted in memory.
Exit 0 when every line was used, 2 when some were rejected (reported on stderr), 1 on usage or
configuration errors.
"""

from __future__ import annotations

import argparse
import sys

import orjson

BATCH = 1000
FLUSH_EVERY = 20_000


def register(sub) -> None:
    p = sub.add_parser("replay", help="run the detectors over a file of canonical events")
    p.add_argument("--events", required=True, help="canonical events, JSON lines")
    p.add_argument("--roster", help="roster CSV (user_id,name,roles,department,status,end_date)")
    p.add_argument("--watchlist", help="watchlist CSV (patient_id,category,employee_user_id)")
    p.add_argument("--alerts-out", required=True, help="write the final version of every alert here")
    p.add_argument("--enriched-out", help="write every enriched event here")
    p.add_argument("--rules", help="rules folder (default: settings rules_dir or schemas/rules)")
    p.add_argument("--model", help="registry model name scored in batches (promoted version)")
    p.add_argument("--site-timezone", help="IANA zone of the hospital for working hours and weekends "
                                           "(default: settings site_timezone, else the rules' baseline.site_timezone)")
    p.set_defaults(func=replay_command)


def read_events(path: str, engine, errors) -> list[tuple[int, int, dict]]:
    """(event ms, line number, event) of every usable line; bad lines go to `errors`."""
    out = []
    with open(path, "rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                ev = orjson.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError("not a JSON object")
                user = ev.get("user")
                if not isinstance(user, dict) or not user.get("id"):
                    raise ValueError("event has no user.id")
                ms = engine._ms(ev["event_time"]) if "event_time" in ev else None
                if ms is None:
                    raise ValueError("event has no event_time")
            except (ValueError, TypeError) as exc:
                errors.append(f"{path}:{line_no}: {exc}")
                continue
            out.append((ms, line_no, ev))
    out.sort(key=lambda t: (t[0], t[1]))
    return out


def replay(engine, events: list[dict], enriched_out=None) -> dict[str, dict]:
    """Process events (already in event-time order); the final version of every alert by id."""
    alerts: dict[str, dict] = {}
    last_flush = 0
    ms = 0
    for start in range(0, len(events), BATCH):
        chunk = events[start:start + BATCH]
        for enriched, new in engine.process_many(chunk):
            for a in new:
                alerts[a["alert_id"]] = a
            if enriched_out is not None:
                enriched_out.write(orjson.dumps(enriched) + b"\n")
        ms = engine._ms(chunk[-1]["event_time"])
        if start - last_flush >= FLUSH_EVERY:
            last_flush = start
            for a in engine.flush(ms):
                alerts[a["alert_id"]] = a
    for a in engine.flush(ms):
        alerts[a["alert_id"]] = a
    return alerts


def replay_command(args: argparse.Namespace) -> int:
    from models.rules import load_rules
    from streamer.score.engine import Engine

    try:
        rules = load_rules(args.rules or _settings_rules())
        model = None
        if args.model:
            from models import registry
            model = registry.load(args.model)
        engine = Engine(rules, roster=args.roster, watchlist=args.watchlist, model=model,
                        site_timezone=args.site_timezone or _settings_timezone())
    except (OSError, ValueError) as exc:
        print(f"streamer replay: {exc}", file=sys.stderr)
        return 1
    errors: list[str] = []
    try:
        rows = read_events(args.events, engine, errors)
    except OSError as exc:
        print(f"streamer replay: {exc}", file=sys.stderr)
        return 1
    for msg in errors:
        print(msg, file=sys.stderr)
    events = [ev for _, _, ev in rows]
    enriched = open(args.enriched_out, "wb") if args.enriched_out else None
    try:
        alerts = replay(engine, events, enriched)
    finally:
        if enriched is not None:
            enriched.close()
    with open(args.alerts_out, "wb") as fh:
        for a in alerts.values():
            fh.write(orjson.dumps(a) + b"\n")
    print(f"replayed {len(events)} events, {len(alerts)} alerts"
          + (f", {len(errors)} lines rejected" if errors else ""), file=sys.stderr)
    return 2 if errors else 0


def _settings_timezone() -> str | None:
    try:
        from streamer.settings import get_settings
        return get_settings().site_timezone or None
    except Exception:  # invalid unrelated settings must not block an offline replay
        return None


def _settings_rules() -> str | None:
    try:
        from streamer.settings import get_settings
        return get_settings().rules_dir or None
    except Exception:  # invalid unrelated settings must not block an offline replay
        return None
