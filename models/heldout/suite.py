"""Every evaluation scenario of models/EVALUATION.md in one command: generate what is missing,
replay it with the engine, score it, print one line per scenario, and compare with an earlier run.

    python models/heldout/suite.py [--only G,X1,s3] [--data var/heldout] [--out var/suite/NAME]
                                   [--jobs 2] [--compare var/suite/OLD/summary.json]

Scenarios are generated once into --data (same arguments, same bytes) and reused. Each run
writes, per scenario, alerts.jsonl and the scorer's score.json into --out, and summary.json
with one row per scenario: overall recall, the incident types below 0.95, false alerts per 1,000
active user-days and per detector. --compare names the scenarios whose recall or false alerts
per detector changed. The second and third generators' scenarios are scored with their own
scorers (models/heldout/score.py, models/heldout/journeys/score.py), the fourth's with the
second's; seeds 3 and 4 of `streamer simulate` with `streamer evaluate` (engine only).
A full run is about 40 minutes on two cores with --jobs 2.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GEN2, GEN3, GEN4 = HERE / "generate.py", HERE / "journeys" / "generate.py", HERE / "network" / "generate.py"

# name -> (generator, arguments); "simulate" scenarios are `streamer simulate` seeds
SCENARIOS: dict[str, tuple[str, str]] = {
    "A": ("gen2", "--seed 11 --users 400 --days 28"),
    "B": ("gen2", "--seed 23 --users 800 --days 21 --tz -5"),
    "C": ("gen2", "--seed 37 --users 600 --days 28 --start 2026-06-01 --tz 1 --deptset a --per-type 6 "
                  "--holidays 10 --volume 1.3"),
    "D": ("gen2", "--seed 53 --users 300 --days 35 --start 2026-01-05 --tz 0 --deptset b --per-type 6 "
                  "--holidays 20 --volume 1.0"),
    "E": ("gen2", "--seed 71 --users 500 --days 28 --start 2026-04-06 --tz -5 --deptset b --per-type 6 "
                  "--holidays 18 --volume 1.2"),
    "F": ("gen2", "--seed 89 --users 400 --days 42 --start 2026-09-07 --tz 2 --deptset a --per-type 6 "
                  "--holidays 14,28 --volume 1.1"),
    "J": ("gen2", "--seed 97 --users 600 --days 35 --start 2026-02-02 --tz -3 --deptset b --per-type 6 "
                  "--holidays 12 --volume 1.1"),
    "M": ("gen2", "--seed 113 --users 500 --days 42 --start 2026-05-04 --tz 5 --deptset a --per-type 6 "
                  "--holidays 8 --volume 1.0"),
    "O": ("gen2", "--seed 131 --users 550 --days 40 --start 2026-09-07 --tz -5 --deptset b --per-type 6 "
                  "--holidays 11 --volume 0.9"),
    "Q": ("gen2", "--seed 149 --users 450 --days 35 --tz 3 --deptset a --holidays 9"),
    "S": ("gen2", "--seed 167 --users 500 --days 40 --tz -7 --deptset b --holidays 17"),
    "T": ("gen2", "--seed 211 --users 150 --days 28 --start 2026-03-02 --tz 1 --deptset a --per-type 4 "
                  "--holidays 10 --volume 1.0"),
    "U": ("gen2", "--seed 223 --users 1200 --days 21 --start 2026-06-01 --tz -4 --deptset b --per-type 6 "
                  "--holidays 5 --volume 1.0"),
    "W": ("gen2", "--seed 229 --users 400 --days 56 --start 2026-01-05 --tz 1 --deptset b --per-type 6 "
                  "--holidays 30 --volume 0.8"),
    "G": ("gen3", "--seed 101 --users 500 --days 49 --tz 1 --start 2026-01-05"),
    "H": ("gen3", "--seed 202 --users 900 --days 42 --tz -6 --start 2026-08-03"),
    "I": ("gen3", "--seed 303 --users 700 --days 35 --tz 0 --start 2026-05-04"),
    "K": ("gen3", "--seed 404 --users 600 --days 42 --tz 9 --start 2026-08-03"),
    "L": ("gen3", "--seed 505 --users 800 --days 35 --tz -8 --start 2026-10-05"),
    "N": ("gen3", "--seed 606 --users 700 --days 42 --tz 2 --start 2026-03-02"),
    "P": ("gen3", "--seed 707 --users 650 --days 42 --tz -3 --start 2026-06-01"),
    "R": ("gen3", "--seed 808 --users 550 --days 42 --tz 8 --start 2026-02-02"),
    "V": ("gen3", "--seed 909 --users 250 --days 42 --tz 0 --start 2026-04-06"),
    "E0": ("gen3", "--seed 1111 --users 500 --days 35 --tz 1 --start 2026-02-02"),
    "E1": ("gen3", "--seed 1111 --users 500 --days 35 --tz 1 --start 2026-02-02 --incidents-from 0.3"),
    "X1": ("gen4", "--seed 1 --users 600 --days 42 --start 2026-03-02 --tz -5"),
    "X2": ("gen4", "--seed 2 --users 900 --days 35 --start 2026-09-07 --tz 1"),
    "X3": ("gen4", "--seed 3 --users 400 --days 49 --start 2026-01-12 --tz 9"),
    "s3": ("simulate", "--seed 3 --users 500 --days 21"),
    "s4": ("simulate", "--seed 4 --users 200 --days 35"),
}
GENERATORS = {"gen2": GEN2, "gen3": GEN3, "gen4": GEN4}


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "ab") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}; see {log}")


def generate(name: str, data: Path, log: Path) -> Path:
    """The scenario's folder, generated when its events are missing."""
    kind, args = SCENARIOS[name]
    folder = data / name
    if (folder / "events.jsonl").exists() and (folder / "labels.jsonl").exists():
        return folder
    if kind == "simulate":
        cmd = [sys.executable, "-m", "streamer.cli", "simulate", *args.split(), "--out", str(folder)]
    else:
        cmd = [sys.executable, str(GENERATORS[kind]), *args.split(), "--out", str(folder)]
    _run(cmd, log)
    return folder


def summarise(score: dict) -> dict:
    """One row from a scorer's JSON: recall, types below 0.95, false alerts (per detector)."""
    if "systems" in score:  # streamer evaluate
        eng = score["systems"]["engine"]
        types = {t: (v["incidents"], v["detected"]) for t, v in eng["per_type"].items()}
        false = {d: v["false"] for d, v in eng["per_detector"].items() if v["false"]}
        days = score["stream"]["user_days"]
    elif "per_type" in score:  # journeys/score.py
        types = {t: (v["count"], v["detected"]) for t, v in score["per_type"].items()}
        false = {d: v["false"] for d, v in score["per_detector"].items() if v["false"]}
        days = score["active_user_days"]
    else:  # heldout/score.py
        types = {t["type"]: (t["n"], t["hit"]) for t in score["types"]}
        false = {d: v["false"] for d, v in score["detectors"].items() if v["false"]}
        days = score["active_user_days"]
    n, hit = sum(v[0] for v in types.values()), sum(v[1] for v in types.values())
    return {"recall": round(hit / n, 3) if n else None,
            "below_095": {t: round(h / c, 2) for t, (c, h) in sorted(types.items()) if c and h / c < 0.95},
            "false_alerts": sum(false.values()),
            "false_per_1000_user_days": round(1000 * sum(false.values()) / days, 2) if days else None,
            "false_by_detector": dict(sorted(false.items(), key=lambda kv: (-kv[1], kv[0])))}


def run_one(name: str, data: Path, out: Path) -> dict:
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    log = dest / "log.txt"
    t0 = time.monotonic()
    folder = generate(name, data, log)
    kind = SCENARIOS[name][0]
    if kind == "simulate":
        _run([sys.executable, "-m", "streamer.cli", "evaluate", "--events", str(folder / "events.jsonl"),
              "--labels", str(folder / "labels.jsonl"), "--roster", str(folder / "roster.csv"),
              "--watchlist", str(folder / "watchlist.csv"), "--out", str(dest), "--systems", "engine",
              "--no-plots"], log)
        score = json.loads((dest / "report.json").read_text())
    else:
        _run([sys.executable, "-m", "streamer.cli", "replay", "--events", str(folder / "events.jsonl"),
              "--roster", str(folder / "roster.csv"), "--watchlist", str(folder / "watchlist.csv"),
              "--alerts-out", str(dest / "alerts.jsonl")], log)
        scorer = HERE / "journeys" / "score.py" if kind == "gen3" else HERE / "score.py"
        _run([sys.executable, str(scorer), "--dir", str(folder), "--alerts", str(dest / "alerts.jsonl"),
              "--json-out", str(dest / "score.json")], log)
        score = json.loads((dest / "score.json").read_text())
    row = summarise(score)
    row["seconds"] = round(time.monotonic() - t0, 1)
    return row


def compare(old: dict, new: dict) -> list[str]:
    """Lines naming each scenario whose recall or false alerts per detector changed."""
    out = []
    for name, row in new.items():
        before = old.get(name)
        if before is None:
            continue
        dets = sorted(set(before["false_by_detector"]) | set(row["false_by_detector"]))
        delta = {d: row["false_by_detector"].get(d, 0) - before["false_by_detector"].get(d, 0) for d in dets}
        delta = {d: v for d, v in delta.items() if v}
        if before["recall"] != row["recall"] or delta:
            out.append(f"{name}: recall {before['recall']} -> {row['recall']}, false alerts / 1k user-days "
                       f"{before['false_per_1000_user_days']} -> {row['false_per_1000_user_days']} "
                       f"{json.dumps(delta)}")
    return out


def line(name: str, row: dict) -> str:
    low = ", ".join(f"{t} {r:.2f}" for t, r in row["below_095"].items()) or "-"
    dets = ", ".join(f"{d} {n}" for d, n in list(row["false_by_detector"].items())[:4])
    return f"{name:3s} recall {row['recall']:.3f}  below 0.95: {low}  FA/1k {row['false_per_1000_user_days']}  ({dets})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma list of scenario names (default: all)")
    ap.add_argument("--data", default=str(ROOT / "var" / "heldout"), help="scenario folders")
    ap.add_argument("--out", default=str(ROOT / "var" / "suite" / time.strftime("%Y%m%d-%H%M%S")))
    ap.add_argument("--jobs", type=int, default=1, help="scenarios run at once (one core each)")
    ap.add_argument("--compare", help="summary.json of an earlier run")
    ap.add_argument("--list", action="store_true", help="print the scenarios and their arguments")
    a = ap.parse_args(argv)
    if a.list:
        for name, (kind, args) in SCENARIOS.items():
            print(f"{name:3s} {kind:8s} {args}")
        return 0
    names = a.only.split(",") if a.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; --list names them", file=sys.stderr)
        return 2
    old = json.loads(Path(a.compare).read_text()) if a.compare else None
    data, out = Path(a.data), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    failed = []
    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        futures = {n: pool.submit(run_one, n, data, out) for n in names}
        for n, fut in futures.items():
            try:
                rows[n] = fut.result()
            except RuntimeError as exc:
                failed.append(n)
                print(f"{n}: {exc}", file=sys.stderr)
                continue
            print(line(n, rows[n]), flush=True)
    (out / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"summary: {out / 'summary.json'}")
    if old is not None:
        changed = compare(old, rows)
        print("\n".join(changed) if changed else "no scenario changed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
