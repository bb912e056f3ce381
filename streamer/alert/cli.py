"""`streamer alerts ...`: triage from the terminal, and a check of the alerting configuration.

  streamer alerts list [--status S ...|--all] [--user U] [--severity S ...] [--since 24h] [--json]
  streamer alerts ack ALERT_ID [--investigating] [--owner O] [--note N]
  streamer alerts resolve ALERT_ID --label tp|fp [--owner O] [--note N]
  streamer alerts suppress ALERT_ID --note N
  streamer alerts check-config [--dir DIR]

ack and resolve also acknowledge / resolve the PagerDuty incident of the alert when a routing
key is configured (a failure there is reported; the case change is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time

import aiohttp
import orjson

from streamer.alert import cases
from streamer.alert.config import load_config, parse_duration
from streamer.alert.model import AlertRecord
from streamer.alert.notify import pagerduty
from streamer.alert.notify.base import Request, RetryPolicy, post
from streamer.alert.pipeline import Pipeline
from streamer.timeutil import format_ms, parse_time


def _settings():
    from streamer.settings import get_settings
    return get_settings()


def _store():
    from streamer.store import open_store
    return open_store(_settings())


def _now_ms() -> int:
    return int(time.time() * 1000)


def _since(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return _now_ms() - parse_duration(text)
    except ValueError:
        return parse_time(text)


def _list(args: argparse.Namespace) -> int:
    statuses = cases.STATUSES if args.all else (args.status or cases.ACTIVE)
    store = _store()
    try:
        rows = cases.list_cases(store, statuses=statuses, user=args.user or "", severities=args.severity or (),
                                since_ms=_since(args.since), limit=args.limit)
    finally:
        store.close()
    for r in rows:
        if args.json:
            sys.stdout.buffer.write(cases.to_json(r) + b"\n")
        else:
            last = r["last_event_time"]
            last = format_ms(int(last.timestamp() * 1000)) if hasattr(last, "timestamp") else str(last)
            print(f"{r['alert_id']}  {r['severity']:<8} {r['case_status']:<24} {r['owner'] or '-':<10} "
                  f"{r['user_id']:<12} {r['detector']:<18} {last}  {r['summary']}")
    if not rows and not args.json:
        print("no alerts", file=sys.stderr)
    return 0


def _change(args: argparse.Namespace, status: str, pagerduty_action: str | None) -> int:
    store = _store()
    try:
        row = cases.change(store, args.alert_id, status, owner=args.owner or "", note=args.note or "",
                           who=args.who or getpass.getuser(), now_ms=_now_ms())
        alert = cases.get_alert(store, args.alert_id)
    except cases.CaseError as exc:
        print(f"streamer alerts: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"{row['alert_id']}: {row['status']}" + (f" (owner {row['owner']})" if row["owner"] else ""))
    if pagerduty_action and alert is not None and not args.no_page:
        _pagerduty(alert, pagerduty_action)
    return 0


def _pagerduty(alert_row: dict, action: str) -> None:
    """Acknowledge or resolve the PagerDuty incidents of the groups this alert belongs to."""
    settings = _settings()
    key = settings.pagerduty_routing_key.get_secret_value()
    if not key:
        return
    config = load_config(page_min_severity=settings.page_min_severity)
    labels = AlertRecord.from_alert(cases.alert_from_row(alert_row),
                                    fingerprint_labels=config.fingerprint_labels).labels
    dedup = [k for receiver, k in Pipeline(config).dedup_keys(labels).items()
             if config.receivers[receiver].type == "pagerduty"]

    async def send():
        async with aiohttp.ClientSession() as session:
            for k in dedup:
                body = orjson.dumps(pagerduty.action(action, k, key))
                await post(session, Request(settings.pagerduty_url, body, {"Content-Type": "application/json"}),
                           RetryPolicy().timeout_s)

    try:
        asyncio.run(send())
    except Exception as exc:  # noqa: BLE001 - the case change stands; tell the analyst
        print(f"streamer alerts: PagerDuty {action} failed: {exc}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        config = load_config(args.dir, page_min_severity=settings.page_min_severity,
                             grafana_url=settings.grafana_url)
    except (ValueError, OSError) as exc:
        print(f"alerting configuration is invalid: {exc}", file=sys.stderr)
        return 1
    for route in config.route.walk():
        depth = route.id.count(".")
        what = " ".join(str(m) for m in route.matchers)
        if route.min_severity:
            what = (what + f" severity>={route.min_severity}").strip()
        print(f"{'  ' * depth}{route.id} -> {route.receiver} ({config.receivers[route.receiver].type}) "
              f"[{what or 'all'}] group_by={','.join(route.group_by)} "
              f"wait={route.group_wait_ms}ms interval={route.group_interval_ms}ms "
              f"repeat={route.repeat_interval_ms}ms{' continue' if route.continue_ else ''}")
    now = _now_ms()
    for s in config.silences:
        state = "active" if s.active(now) else "expired" if s.ends_ms <= now else "pending"
        print(f"silence {s.id} [{' '.join(map(str, s.matchers))}] until {format_ms(s.ends_ms)} ({state}): {s.reason}")
    for r in config.inhibit_rules:
        print(f"inhibit {r.name}: [{' '.join(map(str, r.source_matchers))}] mutes "
              f"[{' '.join(map(str, r.target_matchers))}] equal={','.join(r.equal)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list and triage alerts; check the alerting configuration")
    cmds = p.add_subparsers(dest="alerts_command", metavar="ACTION", parser_class=type(p))

    ls = cmds.add_parser("list", help="alerts with their case status, newest first")
    ls.add_argument("--status", action="append", choices=cases.STATUSES,
                    help="case status to show (repeatable; default: open, acknowledged, investigating)")
    ls.add_argument("--all", action="store_true", help="every status")
    ls.add_argument("--user", help="only this user id")
    ls.add_argument("--severity", action="append", choices=("low", "medium", "high", "critical"))
    ls.add_argument("--since", help="last event within this duration (24h, 7d) or after this time")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true", help="JSON lines")
    ls.set_defaults(func=_list)

    def common(q):
        q.add_argument("alert_id")
        q.add_argument("--owner", help="assignee (kept when omitted)")
        q.add_argument("--note", help="analyst note")
        q.add_argument("--who", help="who makes the change (default: login name)")
        q.add_argument("--no-page", action="store_true", help="do not update the PagerDuty incident")

    ack = cmds.add_parser("ack", help="acknowledge an alert (or mark it as under investigation)")
    common(ack)
    ack.add_argument("--investigating", action="store_true", help="status investigating instead of acknowledged")
    ack.set_defaults(func=lambda a: _change(a, "investigating" if a.investigating else "acknowledged", "acknowledge"))

    res = cmds.add_parser("resolve", help="close an alert as true or false positive")
    common(res)
    res.add_argument("--label", required=True, choices=sorted(cases.LABELS), help="tp: true positive, fp: false positive")
    res.set_defaults(func=lambda a: _change(a, cases.LABELS[a.label], "resolve"))

    sup = cmds.add_parser("suppress", help="close an alert as expected activity (say why in --note)")
    common(sup)
    sup.set_defaults(func=lambda a: _change(a, "suppressed", "resolve") if a.note else _need_note())

    chk = cmds.add_parser("check-config", help="check routes, silences and inhibition rules; print the routing tree")
    chk.add_argument("--dir", help="folder with routes.yaml, silences.yaml, inhibit.yaml (default: schemas/alerting)")
    chk.set_defaults(func=_check)
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 1)[1])


def _need_note() -> int:
    print("streamer alerts suppress: --note is required (why is this activity expected?)", file=sys.stderr)
    return 1
