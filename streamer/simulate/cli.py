"""`streamer simulate` and `streamer evaluate`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SYSTEMS = ("engine", "static_thresholds", "halfspacetrees", "isolationforest")


def register(sub) -> None:
    p = sub.add_parser("simulate", help="write synthetic hospital traffic with labelled incidents",
                       description="Write events.jsonl (canonical events in event-time order), labels.jsonl "
                                   "(one incident a line), roster.csv and watchlist.csv into --out.")
    p.add_argument("--users", type=int, default=300, help="active staff (default 300)")
    p.add_argument("--days", type=int, default=14, help="days of traffic (default 14)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--incidents-per-type", type=int, default=3, help="incidents of every type (default 3)")
    p.add_argument("--start", default="2026-11-02", help="first day, ISO date (default 2026-11-02, a Monday)")
    p.add_argument("--warmup-days", type=int, default=None, help="days without incidents at the start")
    p.set_defaults(func=_simulate)

    p = sub.add_parser("evaluate", help="score the engine and baselines against labelled incidents",
                       description="Run the detection engine and the baselines (static thresholds, river "
                                   "HalfSpaceTrees, IsolationForest) over the same stream in event-time order; "
                                   "print per-type recall, precision, time to detect and false alerts per "
                                   "1,000 user-days; write report.json, pr_curves.png, score_distributions.png.")
    p.add_argument("--events", required=True, help="canonical events, JSON lines")
    p.add_argument("--labels", required=True, help="incident labels, JSON lines (streamer simulate)")
    p.add_argument("--roster", help="roster CSV for the engine")
    p.add_argument("--watchlist", help="watchlist CSV for the engine")
    p.add_argument("--out", required=True, type=Path, help="report folder")
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help=f"comma-separated subset of {','.join(SYSTEMS)} (default all)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNGs")
    p.set_defaults(func=_evaluate)


def _simulate(args: argparse.Namespace) -> int:
    from streamer.simulate.generate import simulate_to_dir
    if args.users < 8 or args.days < 1 or args.incidents_per_type < 0:
        print("streamer simulate: need --users >= 8, --days >= 1, --incidents-per-type >= 0", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    counts = simulate_to_dir(args.out, args.seed, args.users, args.days, args.incidents_per_type,
                             start=args.start, warmup_days=args.warmup_days)
    dt = time.perf_counter() - t0
    print(f"{counts['events']} events, {counts['incidents']} incidents, {counts['users']} users "
          f"({counts['roster']} in the roster), {counts['watchlist']} watchlist patients -> {args.out} "
          f"in {dt:.1f} s ({counts['events'] / dt:,.0f} events/s)", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from streamer.simulate.evaluate import evaluate_files, format_table
    systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
    bad = [s for s in systems if s not in SYSTEMS]
    if bad or not systems:
        print(f"streamer evaluate: unknown system(s) {bad}; choose from {', '.join(SYSTEMS)}", file=sys.stderr)
        return 1
    for path in (args.events, args.labels, args.roster, args.watchlist):
        if path and not Path(path).is_file():
            print(f"streamer evaluate: no such file: {path}", file=sys.stderr)
            return 1
    try:
        report = evaluate_files(args.events, args.labels, str(args.out), args.roster, args.watchlist,
                                systems, plots=not args.no_plots)
    except ValueError as exc:
        print(f"streamer evaluate: {exc}", file=sys.stderr)
        return 2
    print(format_table(report))
    print(f"report: {args.out / 'report.json'}", file=sys.stderr)
    return 0
