"""One record of the retry queue (notify-retry), tried again: what the worker's retry agent does.

The agent only supplies the pieces that need Faust (the partition's dispatcher, the topic sends);
the rules live here, where they are tested without a broker:

- a record unreadable as a parked notification goes to the dead letter at once;
- a record not yet due waits, at most `max_wait_s` at a time (a long sleep inside an agent would
  hold up a rebalance), then is tried;
- when the retry fails inside the worker (anything but the receiver's answer, which the dispatcher
  handles: a Kafka send refused during a rebalance, a table read, a bug), the record is put back on
  the retry queue with the failure counted in it, and the caller rebuilds the dispatcher; a record
  that failed `max_crashes` times this way goes to the dead letter instead. The put is repeated
  with backoff until the queue has it: the caller finishes the event (and may commit its offset)
  only after a copy is stored, so a notification is never dropped for an error of the worker.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Awaitable, Callable

import orjson

from streamer.alert.notify.base import Dispatcher, unpark, wait_seconds

log = logging.getLogger(__name__)

MAX_CRASHES = 5


async def retry_parked(raw: bytes, *, dispatcher: Callable[[], Dispatcher],
                       put_back: Callable[[bytes], Awaitable[None]],
                       dead_letter: Callable[[str, bytes], Awaitable[None]],
                       on_crash: Callable[[Exception], Awaitable[None]] | None = None,
                       max_wait_s: float = 5.0, max_crashes: int = MAX_CRASHES,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                       wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> str:
    """Try one parked record again. Returns the dispatcher's outcome ("delivered", "duplicate",
    "parked", "superseded"), or "unreadable", "put back", "dead letter"."""
    try:
        unpark(raw)
    except Exception as exc:
        await dead_letter(f"notify-retry: unreadable: {exc!r}", raw)
        return "unreadable"
    try:
        d = dispatcher()
        wait = 0.0 if d.due_now(raw) else wait_seconds(raw, wall_ms())
        if wait > 0:
            await sleep(min(wait, max_wait_s))
        return await d.redeliver(raw)
    except Exception as exc:
        log.exception("notification retry failed inside the worker; putting the record back")
        if on_crash is not None:
            await on_crash(exc)
        rec = orjson.loads(raw)
        rec["crashes"] = int(rec.get("crashes", 0)) + 1
        rec["error"] = f"retry failed in the worker: {exc!r}"
        rec["not_before_ms"] = wall_ms() + int(max_wait_s * 1000)
        again = orjson.dumps(rec)
        final = rec["crashes"] >= max_crashes
        for attempt in itertools.count(1):
            try:
                if final:
                    await dead_letter(f"notify-retry: failed {rec['crashes']} times in the worker, "
                                      f"last {exc!r}", again)
                else:
                    await put_back(again)
                return "dead letter" if final else "put back"
            except Exception as send_exc:
                log.error("could not store a parked notification again (attempt %d): %r", attempt, send_exc)
                await sleep(min(30.0, 0.5 * 2 ** attempt))
    raise AssertionError("unreachable")


async def push_alert(alert: dict, *, step: Callable[[], Awaitable[list]],
                     rebuild: Callable[[Exception], Awaitable[None]],
                     dead_letter: Callable[[str], Awaitable[None]], attempts: int = 3,
                     sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> list | None:
    """One message of the alert agent (an alert, or a clock tick: {"tick_ms": ...}) through the
    partition's pipeline: `step()` runs it and returns the delivery outcomes.

    A rejected alert (ValueError: not an alert) goes to the dead letter at once. Any other failure
    rebuilds the pipeline from its tables (`rebuild`) and runs the step again, up to `attempts`
    times, before the alert is dead-lettered: the failed pipeline may have numbered notifications
    it neither delivered, parked nor persisted, and the rebuilt one numbers them again (a group
    is delivered in seq order; a gap would hold the rest back). A tick is never dead-lettered: the
    next one replaces it. Returns the outcomes, or None when the message was given up."""
    for attempt in range(1, attempts + 1):
        try:
            return await step()
        except Exception as exc:
            log.exception("alert pipeline failed (attempt %d of %d)", attempt, attempts)
            await rebuild(exc)
            if isinstance(exc, ValueError) or attempt == attempts:
                if "tick_ms" not in alert:
                    await dead_letter(f"alert pipeline: {exc!r}")
                return None
            await sleep(0.5 * 2 ** attempt)
    return None
