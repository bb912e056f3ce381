"""`streamer dashboards check|build|push|render` and `streamer report access-review`."""

from __future__ import annotations

import argparse
import csv
import html
import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from streamer.paths import dashboards_dir
from streamer.timeutil import format_ms, parse_time

_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_when(text: str, now_ms: int) -> int:
    """'now', 'now-7d' (s, m, h, d, w) or an RFC 3339 time -> epoch ms."""
    m = _RELATIVE.match(text.strip())
    if m:
        return now_ms - (int(m.group(1)) * _UNIT_MS[m.group(2)] if m.group(1) else 0)
    return parse_time(text)


def time_range(dashboard: dict, start: str | None, end: str | None, now_ms: int) -> tuple[int, int]:
    """The range given, else the dashboard's default time picker range."""
    picker = dashboard.get("time", {})
    return (parse_when(start or picker.get("from", "now-24h"), now_ms),
            parse_when(end or picker.get("to", "now"), now_ms))


# --- check / build ------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    from streamer.dashboards.checks import check_folder

    results = check_folder(Path(args.dir))
    bad = 0
    for name, problems in sorted(results.items()):
        for problem in problems:
            print(f"{name}: {problem}")
        bad += len(problems)
    if bad:
        print(f"{bad} problem(s) in {len(results)} file(s)", file=sys.stderr)
        return 1
    print(f"{len(results)} dashboard(s) OK", file=sys.stderr)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from streamer.dashboards.build import write
    from streamer.dashboards.catalog import all_dashboards

    for path in write(all_dashboards(), Path(args.dir)):
        print(path)
    return 0


# --- push ---------------------------------------------------------------------------------------

def cmd_push(args: argparse.Namespace) -> int:
    from grafana_client.client import GrafanaException

    from streamer.dashboards.push import connect, push_all

    token = args.token or os.environ.get("GRAFANA_TOKEN", "")
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
    if not token:
        print("a Grafana token is needed (--token, --token-file or GRAFANA_TOKEN)", file=sys.stderr)
        return 1
    datasource = Path(args.datasource) if args.datasource else None
    try:
        pushed = push_all(connect(args.url, token), Path(args.dir), args.folder, args.message, datasource)
    except (GrafanaException, OSError, LookupError) as exc:
        print(f"push failed: {exc}", file=sys.stderr)
        return 1
    for p in pushed:
        print(f"{p.uid}\tversion {p.version}\t{args.url.rstrip('/')}{p.url}")
    return 0


# --- render -------------------------------------------------------------------------------------

@contextmanager
def sample_store(end_ms: int, days: int = 4):
    """A throw-away chdb store filled with the deterministic sample."""
    from streamer.dashboards.sample import Sample
    from streamer.store.chdb_store import ChdbStore

    with tempfile.TemporaryDirectory(prefix="pacs-sample-") as folder:
        store = ChdbStore(folder, "pacs_audit")
        try:
            store.migrate()
            Sample(end_ms, days=days).load(store)
            yield store
        finally:
            store.close()


@contextmanager
def configured_store():
    from streamer.settings import get_settings
    from streamer.store import open_store

    store = open_store(get_settings())
    try:
        yield store
    finally:
        store.close()


SAMPLE_END = "2026-11-23T00:00:00Z"


def cmd_render(args: argparse.Namespace) -> int:
    from streamer.dashboards.checks import dashboard_files, load
    from streamer.dashboards.render import render_dashboard
    from streamer.dashboards.run import run_dashboard

    dashboards = [load(p) for p in dashboard_files(Path(args.dir))]
    now_ms = parse_time(SAMPLE_END) if args.sample else int(time.time() * 1000)
    opener = sample_store(now_ms) if args.sample else configured_store()
    chosen = dict(v.split("=", 1) for v in args.var)
    failed = 0
    with opener as store:
        for d in dashboards:
            start, end = time_range(d, args.start, args.end, now_ms)
            picks = {k: v for k, v in chosen.items() if k != "user" or d["uid"] == "pacs-user-investigation"}
            if d["uid"] == "pacs-user-investigation" and args.sample:
                picks.setdefault("user", "mbrown")
            results = run_dashboard(d, store, start, end, picks)
            failed += sum(1 for r in results if r.error)
            subtitle = f"{format_ms(start)} to {format_ms(end)}" + (" - sample data" if args.sample else "")
            path = render_dashboard(d, results, Path(args.out) / f"{d['uid'].removeprefix('pacs-')}.png", subtitle)
            print(path)
    return 1 if failed else 0


# --- access review report -----------------------------------------------------------------------

def _cell(v) -> str:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)


def access_review_rows(store, start_ms: int, end_ms: int) -> list[tuple[str, list[dict]]]:
    """(section title, rows) for every panel of the access review dashboard."""
    from streamer.dashboards.checks import load
    from streamer.dashboards.run import run_dashboard

    dashboard = load(dashboards_dir() / "access-review.json")
    sections = []
    for r in run_dashboard(dashboard, store, start_ms, end_ms):
        if r.error:
            raise RuntimeError(f"{r.panel['title']}: {r.error}")
        sections.append((r.panel["title"], r.rows))
    return sections


def write_csv(sections, path: Path) -> None:
    """One row per finding: section, user_id, and the other columns as `name=value; ...`."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["section", "user_id", "details"])
        for title, rows in sections:
            for row in rows:
                details = "; ".join(f"{k}={_cell(v)}" for k, v in row.items() if k != "user_id")
                w.writerow([title, _cell(row.get("user_id")), details])


def write_html(sections, path: Path, start_ms: int, end_ms: int) -> None:
    out = ["<!doctype html><html><head><meta charset='utf-8'><title>PACS access review</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
           "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#eef}</style></head><body>",
           f"<h1>PACS access review</h1><p>{format_ms(start_ms)} to {format_ms(end_ms)}</p>"]
    for title, rows in sections:
        out.append(f"<h2>{html.escape(title)} ({len(rows)})</h2>")
        if not rows:
            out.append("<p>None.</p>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{html.escape(k)}</th>" for k in rows[0]) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row.values()) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    path.write_text("\n".join(out), encoding="utf-8")


def cmd_access_review(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".html", ".htm"):
        print("--out must end in .csv or .html", file=sys.stderr)
        return 1
    now_ms = parse_time(SAMPLE_END) if args.sample else int(time.time() * 1000)
    start, end = parse_when(args.start, now_ms), parse_when(args.end, now_ms)
    with (sample_store(now_ms) if args.sample else configured_store()) as store:
        sections = access_review_rows(store, start, end)
    if out.suffix.lower() == ".csv":
        write_csv(sections, out)
    else:
        write_html(sections, out, start, end)
    print(f"{out}: " + ", ".join(f"{title}: {len(rows)}" for title, rows in sections), file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboards", help="Grafana dashboards: check, build, push, render")
    dsub = p.add_subparsers(dest="dashboards_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 1)[1])
    folder = {"default": str(dashboards_dir()), "help": "folder of dashboard JSON files"}

    c = dsub.add_parser("check", help="validate every dashboard file; exit 1 on any problem")
    c.add_argument("--dir", **folder)
    c.set_defaults(func=cmd_check)

    b = dsub.add_parser("build", help="write the dashboard JSON files from the catalog")
    b.add_argument("--dir", **folder)
    b.set_defaults(func=cmd_build)

    u = dsub.add_parser("push", help="upload the dashboards to Grafana (folder, overwrite)")
    u.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example:3000")
    u.add_argument("--token", default="", help="service account token (or GRAFANA_TOKEN)")
    u.add_argument("--token-file", default="", help="file holding the token")
    u.add_argument("--folder", default="PACS audit", help="Grafana folder title (created when missing)")
    u.add_argument("--message", default="streamer dashboards push", help="version message")
    u.add_argument("--datasource", default="", help="also create/update the datasources of this "
                   "provisioning YAML (e.g. dashboards/provisioning/datasources/clickhouse.yaml)")
    u.add_argument("--dir", **folder)
    u.set_defaults(func=cmd_push)

    r = dsub.add_parser("render", help="PNG preview of every dashboard from its own queries")
    r.add_argument("--out", default=str(dashboards_dir() / "previews"), help="output folder")
    r.add_argument("--from", dest="start", default=None, help="range start (now-7d or RFC 3339); "
                   "default: each dashboard's own")
    r.add_argument("--to", dest="end", default=None, help="range end")
    r.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="variable value")
    r.add_argument("--sample", action="store_true", help="render from the built-in sample data "
                   "(a temporary chdb), not the configured store")
    r.add_argument("--dir", **folder)
    r.set_defaults(func=cmd_render)

    rep = sub.add_parser("report", help="compliance reports")
    rsub = rep.add_subparsers(dest="report_command", metavar="REPORT", parser_class=type(rep))
    rep.set_defaults(func=lambda args: (rep.print_help(sys.stderr), 1)[1])
    a = rsub.add_parser("access-review", help="inactive, terminated-but-active and privileged accounts")
    a.add_argument("--out", required=True, help="FILE.csv or FILE.html")
    a.add_argument("--from", dest="start", default="now-90d", help="range start (default now-90d)")
    a.add_argument("--to", dest="end", default="now", help="range end (default now)")
    a.add_argument("--sample", action="store_true", help="report on the built-in sample data")
    a.set_defaults(func=cmd_access_review)
