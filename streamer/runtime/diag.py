"""State dump of a running worker, for an on-call engineer facing a stalled consumer.

`kill -USR2 <worker pid>` writes to the worker's log: every asyncio task with its stack, and the
consumer's view of the group (assigned, active and paused partitions, positions, committed offsets,
table recovery). Patient data never appears here: stacks show code, offsets show numbers."""

from __future__ import annotations

import asyncio
import io
import logging
import signal

log = logging.getLogger("streamer.diag")


def consumer_state(app) -> dict:
    out: dict = {}
    try:
        consumer = app.consumer
        out["assigned"] = sorted(f"{tp.topic}/{tp.partition}" for tp in consumer.assignment())
        out["active"] = sorted(f"{tp.topic}/{tp.partition}" for tp in getattr(consumer, "_active_partitions", None) or ())
        out["paused"] = sorted(f"{tp.topic}/{tp.partition}" for tp in getattr(consumer, "_paused_partitions", ()) or ())
        out["buffers_suspended"] = not app.flow_control.is_active()
        thread = getattr(consumer, "_thread", None)
        inner = getattr(thread, "_consumer", None)
        if inner is not None:
            out["aiokafka_paused"] = sorted(f"{tp.topic}/{tp.partition}" for tp in inner.paused())
            pos = {}
            for tp in inner.assignment():
                try:
                    pos[f"{tp.topic}/{tp.partition}"] = inner._subscription.subscription.assignment.state_value(tp).position
                except Exception:
                    pass
            out["positions"] = pos
        out["committed"] = {f"{tp.topic}/{tp.partition}": off for tp, off in
                            (getattr(consumer, "_committed_offset", None) or {}).items()}
        out["acked_pending"] = {f"{tp.topic}/{tp.partition}": len(v) for tp, v in
                                (getattr(consumer, "_acked", None) or {}).items() if v}
        rec = app.tables.recovery
        out["recovery"] = {"active_remaining": str(getattr(rec, "active_remaining_total", lambda: "?")()),
                           "in_recovery": bool(getattr(rec, "in_recovery", False)),
                           "signal_recovery_start": getattr(rec, "signal_recovery_start", None) is not None}
        out["rebalancing"] = bool(getattr(app, "rebalancing", False))
        out["unassigned"] = bool(getattr(app, "unassigned", False))
    except Exception as exc:  # a dump must never take the worker down
        out["error"] = repr(exc)
    return out


def dump(app) -> str:
    buf = io.StringIO()
    buf.write(f"consumer: {consumer_state(app)}\n")
    for task in asyncio.all_tasks():
        buf.write(f"--- task {task.get_name()} {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=buf)
    return buf.getvalue()


def install(app) -> None:
    """Called from inside the running worker (an app task)."""
    loop = asyncio.get_running_loop()

    def _on_signal() -> None:
        log.warning("state dump requested (SIGUSR2)\n%s", dump(app))

    try:
        loop.add_signal_handler(signal.SIGUSR2, _on_signal)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / no signals
        log.debug("SIGUSR2 state dump not available here")
