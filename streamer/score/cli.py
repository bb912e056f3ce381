"""`streamer replay`.

replay runs the agents' detection code (Engine.process_many) over a file of canonical events in
event-time order, event time as the clock. The input file is scanned once for event times and
then read back in event-time order, a batch at a time: memory holds 24 bytes per event (time,
position, length), not the events, so a scenario of tens of millions of events replays in the
memory of its detection state.
Exit 0 when every line was used, 2 when some were rejected (reported on stderr), 1 on usage or
configuration errors.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
from array import array

import numpy as np
import orjson

from streamer.normalize.common import problems

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


def _parse(line: bytes, engine) -> tuple[int, dict]:
    """(event ms, event) of one line; ValueError/TypeError with the reason when it is unusable."""
    ev = orjson.loads(line)
    if not isinstance(ev, dict):
        raise ValueError("not a JSON object")
    user = ev.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        raise ValueError("event has no user.id")
    if "event_time" not in ev:
        raise ValueError("event has no event_time")
    # the agents' normalize stage rejects these to the dead-letter topic; here they are reported
    # and skipped, not left to fail inside a detector (a list where an address belongs)
    errors = problems(ev, extras=True)
    if errors:
        raise ValueError("; ".join(errors))
    return engine._ms(ev["event_time"]), ev


class EventFile:
    """A file of canonical events (JSON lines) in event-time order, without holding the events:
    one pass records each usable line's event time, offset and length (bad lines go to `errors`
    as "path:line: reason"); `batches` then parses them again in order of (event time, line),
    reading through a memory map, so the resident cost is 24 bytes per event and the page cache."""

    def __init__(self, path: str, engine, errors: list) -> None:
        self.path = path
        self._fh = open(path, "rb")
        size = os.fstat(self._fh.fileno()).st_size
        self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        times, offsets, lengths = array("q"), array("q"), array("q")
        mm, pos, line_no = self._mm, 0, 0
        if mm[:3] == b"\xef\xbb\xbf":
            pos = 3  # a UTF-8 byte order mark (files saved by some Windows tools): not part of line 1
        try:
            while pos < size:
                nl = mm.find(b"\n", pos)
                end = size if nl < 0 else nl
                line_no += 1
                line = mm[pos:end]
                if line.strip():
                    try:
                        ms, _ = _parse(line, engine)
                    except (ValueError, TypeError) as exc:
                        errors.append(f"{path}:{line_no}: {exc}")
                    else:
                        times.append(ms)
                        offsets.append(pos)
                        lengths.append(end - pos)
                pos = end + 1
        except BaseException:
            self.close()
            raise
        t = np.frombuffer(times, dtype=np.int64) if len(times) else np.zeros(0, np.int64)
        # stable: equal times keep their file order (offsets grow with line numbers)
        self._order = None if bool(np.all(t[1:] >= t[:-1])) else np.argsort(t, kind="stable")
        self._offsets, self._lengths = offsets, lengths
        self._engine = engine

    def __len__(self) -> int:
        return len(self._offsets)

    def batches(self, size: int = BATCH):
        """Lists of at most `size` events, in event-time order."""
        mm, offs, lens, order = self._mm, self._offsets, self._lengths, self._order
        n = len(offs)
        for start in range(0, n, size):
            idx = range(start, min(start + size, n)) if order is None else order[start:start + size]
            out = []
            for i in idx:
                o = offs[i]
                out.append(orjson.loads(mm[o:o + lens[i]]))
            yield out

    def close(self) -> None:
        if isinstance(self._mm, mmap.mmap):
            self._mm.close()
        self._fh.close()

    def __enter__(self) -> "EventFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def replay(engine, events, enriched_out=None) -> dict[str, dict]:
    """Process events (a list already in event-time order, or an EventFile); the final version of
    every alert by id."""
    alerts: dict[str, dict] = {}
    last_flush = 0
    ms = 0
    if isinstance(events, EventFile):
        chunks = events.batches(BATCH)
    else:
        chunks = (events[i:i + BATCH] for i in range(0, len(events), BATCH))
    start = -BATCH
    for chunk in chunks:
        start += BATCH
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
        events = EventFile(args.events, engine, errors)
    except OSError as exc:
        print(f"streamer replay: {exc}", file=sys.stderr)
        return 1
    for msg in errors:
        print(msg, file=sys.stderr)
    enriched = open(args.enriched_out, "wb") if args.enriched_out else None
    try:
        alerts = replay(engine, events, enriched)
    finally:
        events.close()
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
