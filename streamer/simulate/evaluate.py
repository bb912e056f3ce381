"""Evaluation harness: run detectors over a labelled stream and score them per incident type.

Matching rule: an alert matches an incident when the alert's `event_ids` name at least one of the
incident's `event_ids`. Alerts re-emitted with the same `alert_id` are one alert whose event ids
accumulate; it is a true alert if any of its emissions matched an incident, else a false alert.

Per system and incident type:
- recall: share of incidents matched by at least one alert (any detector);
- recall_own: share matched by an alert of the detector named like the type (when there is one);
- precision: for the detector named like the type, true alerts / all its alerts;
- time to detect: event time of the first matching alert's emission (the event time of the event
  being processed when it was emitted) minus the incident's start, in seconds;
- false alerts per 1,000 user-days: false alerts / active user-days (distinct user and UTC day
  pairs in the stream) x 1000, overall and per detector.
Precision-recall curves use each system's per-event score on the events after the warm-up, an
event being positive when it belongs to an incident.

Any object with `process(event)` works as a system: it returns `(enriched, alerts)` (alerts is a
list of dicts with at least `event_ids` and `detector`) or just a list of alerts; an optional
`flush(now_ms)` returns the alerts still pending at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import orjson

from streamer.timeutil import parse_time

MATCHING_RULE = ("an alert matches an incident when its event_ids name at least one of the "
                 "incident's event_ids; re-emissions of one alert_id count as one alert")


def _start(label: dict) -> str:
    """Incident start: `start_time` (streamer simulate) or `start` (models/heldout/generate.py)."""
    return label.get("start_time") or label["start"]


def read_labels(path) -> list:
    """Incident labels; ValueError naming the file and line of the first unusable one."""
    out = []
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                lab = orjson.loads(line)
                if not isinstance(lab, dict):
                    raise ValueError("not a JSON object")
                missing = [k for k in ("incident_id", "type", "event_ids") if k not in lab]
                if not (lab.get("start_time") or lab.get("start")):
                    missing.append("start_time (or start)")
                if missing:
                    raise ValueError(f"missing {', '.join(missing)}")
                if not isinstance(lab["event_ids"], list):
                    raise ValueError("event_ids must be a list")
                parse_time(_start(lab))
            except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
                raise ValueError(f"{path}:{no}: bad label: {exc}") from None
            out.append(lab)
    return out


def read_jsonl(path) -> list:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def in_time_order(events: list) -> tuple:
    """(events sorted by event time, stable, and their epoch ms)."""
    times = [parse_time(e["event_time"]) for e in events]
    order = sorted(range(len(events)), key=times.__getitem__)
    return [events[i] for i in order], [times[i] for i in order]


class Run:
    """What one system did on the stream."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.first: dict = {}        # incident id -> first matching emission ms
        self.by: dict = {}           # incident id -> set of detectors that matched it
        self.alerts: dict = {}       # alert id -> [detector, set of matched incident ids]
        self.scores: list = []
        self.seconds = 0.0
        self.events = 0

    def take(self, alerts: list, ms: int, ev_index: dict) -> None:
        for a in alerts:
            aid = a.get("alert_id") or f"{a.get('detector')}:{a.get('user_id')}:{a.get('first_event_time')}"
            rec = self.alerts.get(aid)
            if rec is None:
                rec = self.alerts[aid] = [a.get("detector", "?"), set()]
            for eid in a.get("event_ids") or ():
                for inc in ev_index.get(eid, ()):
                    rec[1].add(inc)
                    self.by.setdefault(inc, set()).add(rec[0])
                    if inc not in self.first:
                        self.first[inc] = ms


def run_system(name: str, system, events: list, times: list, ev_index: dict) -> Run:
    """Feed every event (in the given order) to `system`; collect alerts and per-event scores."""
    run = Run(name)
    process = system.process
    t0 = time.perf_counter()
    for e, ms in zip(events, times):
        out = process(e)
        if isinstance(out, tuple):
            enriched, alerts = out
            enr = (enriched or {}).get("enrichment") if isinstance(enriched, dict) else None
            run.scores.append(float(enr.get("anomaly_score", 0.0)) if enr else np.nan)
        else:
            alerts = out
            run.scores.append(np.nan)
        if alerts:
            run.take(alerts, ms, ev_index)
    flush = getattr(system, "flush", None)
    if flush is not None and times:
        run.take(flush(times[-1]) or [], times[-1], ev_index)
    run.seconds = time.perf_counter() - t0
    run.events = len(events)
    if getattr(system, "event_scores", None) is not None:
        run.scores = list(system.event_scores)
    return run


def score_runs(runs: list, labels: list, events: list, times: list, warmup_end: int) -> dict:
    """The JSON report for `runs` over `labels`."""
    user_days = len({(e["user"]["id"], ms // 86_400_000) for e, ms in zip(events, times)})
    types = sorted({lab["type"] for lab in labels})
    start = {lab["incident_id"]: parse_time(_start(lab)) for lab in labels}
    report = {"matching_rule": MATCHING_RULE,
              "stream": {"events": len(events), "incidents": len(labels), "user_days": user_days,
                         "warmup_end": warmup_end,
                         "incidents_per_type": {t: sum(lab["type"] == t for lab in labels) for t in types}},
              "systems": {}}
    for run in runs:
        per_det: dict = {}
        for det, matched in run.alerts.values():
            d = per_det.setdefault(det, {"alerts": 0, "true": 0, "false": 0})
            d["alerts"] += 1
            d["true" if matched else "false"] += 1
        for d in per_det.values():
            d["precision"] = round(d["true"] / d["alerts"], 4)
            d["false_per_1000_user_days"] = round(1000 * d["false"] / max(1, user_days), 3)
        per_type = {}
        for t in types:
            incs = [lab["incident_id"] for lab in labels if lab["type"] == t]
            hit = [i for i in incs if i in run.first]
            own = [i for i in incs if t in run.by.get(i, ())]
            ttd = sorted((run.first[i] - start[i]) / 1000 for i in hit)
            det = per_det.get(t)
            per_type[t] = {"incidents": len(incs), "detected": len(hit),
                           "recall": round(len(hit) / len(incs), 4) if incs else None,
                           "recall_own": round(len(own) / len(incs), 4) if incs else None,
                           "precision": det["precision"] if det else None,
                           "false_alerts": det["false"] if det else 0,
                           "ttd_median_s": round(float(np.median(ttd)), 1) if ttd else None,
                           "ttd_max_s": round(ttd[-1], 1) if ttd else None,
                           "missed": sorted(set(incs) - set(hit))}
        n_alerts = len(run.alerts)
        n_false = sum(1 for _, m in run.alerts.values() if not m)
        report["systems"][run.name] = {
            "overall": {"alerts": n_alerts, "true": n_alerts - n_false, "false": n_false,
                        "precision": round((n_alerts - n_false) / n_alerts, 4) if n_alerts else None,
                        "recall": round(len(run.first) / len(labels), 4) if labels else None,
                        "false_per_1000_user_days": round(1000 * n_false / max(1, user_days), 3),
                        "events_per_second": round(run.events / run.seconds) if run.seconds else None},
            "per_type": per_type, "per_detector": per_det}
    return report


def format_table(report: dict) -> str:
    """Per-type recall / precision / median time to detect, one column group per system."""
    systems = list(report["systems"])
    types = list(report["stream"]["incidents_per_type"])
    head = f"{'incident type':<20} {'n':>3} " + " ".join(f"{s[:22]:>22}" for s in systems)
    sub = f"{'':<20} {'':>3} " + " ".join(f"{'rec  prec   ttd(s)':>22}" for _ in systems)
    lines = [head, sub, "-" * len(head)]

    def cell(v, fmt):
        return format(v, fmt) if v is not None else "-".rjust(len(format(0.0, fmt)))
    for t in types:
        row = f"{t:<20} {report['stream']['incidents_per_type'][t]:>3} "
        for s in systems:
            m = report["systems"][s]["per_type"][t]
            row += f"{cell(m['recall'], '5.2f')} {cell(m['precision'], '5.2f')} {cell(m['ttd_median_s'], '8.0f')}".rjust(23)
        lines.append(row)
    lines.append("-" * len(head))
    for key, label in (("recall", "recall (all)"), ("precision", "precision (all)"),
                       ("false_per_1000_user_days", "false /1000 user-days"), ("alerts", "alerts"),
                       ("events_per_second", "events/s")):
        row = f"{label:<24} "
        for s in systems:
            v = report["systems"][s]["overall"][key]
            row += f"{'-' if v is None else v:>22} "
        lines.append(row.rstrip())
    lines.append(f"user-days: {report['stream']['user_days']}; matching: {report['matching_rule']}")
    return "\n".join(lines)


def plot(runs: list, positive: np.ndarray, keep: np.ndarray, out: Path) -> list:
    """pr_curves.png and score_distributions.png from the per-event scores after warm-up."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve

    usable = []
    for run in runs:
        s = np.asarray(run.scores, dtype=float)
        if len(s) != len(keep):
            continue
        s = s[keep]
        ok = ~np.isnan(s)
        if ok.sum() and positive[ok].any() and (~positive[ok]).any():
            usable.append((run.name, s[ok], positive[ok]))
    files = []
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, s, y in usable:
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, label=f"{name} (AP {average_precision_score(y, s):.3f})")
    ax.set_xlabel("recall (incident events)")
    ax.set_ylabel("precision")
    ax.set_title("Per-event precision-recall after warm-up")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "pr_curves.png", dpi=100)
    plt.close(fig)
    files.append(out / "pr_curves.png")
    fig, axes = plt.subplots(len(usable) or 1, 1, figsize=(7, 2.4 * max(1, len(usable))), squeeze=False)
    for ax, (name, s, y) in zip(axes[:, 0], usable):
        bins = np.linspace(min(s.min(), 0.0), max(s.max(), 1e-9), 50)
        ax.hist(s[~y], bins=bins, alpha=0.6, density=True, label="normal")
        ax.hist(s[y], bins=bins, alpha=0.6, density=True, label="incident")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "score_distributions.png", dpi=100)
    plt.close(fig)
    files.append(out / "score_distributions.png")
    return files


def default_warmup_end(labels: list, times: list) -> int:
    """Before the first incident, and at most the first 30 % of the stream."""
    if not times:
        return 0
    cap = times[min(len(times) - 1, int(len(times) * 0.3))]
    first = min((parse_time(_start(lab)) for lab in labels), default=cap)
    return min(first, cap)


def build_systems(names: list, warmup_end: int, roster: str | None, watchlist: str | None) -> dict:
    """Instantiate the named systems: engine, static_thresholds, halfspacetrees, isolationforest."""
    from streamer.simulate.baselines import (HalfSpaceTreesBaseline, IsolationForestBaseline,
                                             StaticThresholds)
    systems = {}
    for name in names:
        if name == "engine":
            from streamer.score.engine import Engine
            engine = Engine()
            if roster:
                engine.load_roster_csv(roster)
            if watchlist:
                engine.load_watchlist_csv(watchlist)
            systems[name] = engine
        elif name == "static_thresholds":
            systems[name] = StaticThresholds()
        elif name == "halfspacetrees":
            systems[name] = HalfSpaceTreesBaseline(warmup_end)
        elif name == "isolationforest":
            systems[name] = IsolationForestBaseline(warmup_end)
        else:
            raise ValueError(f"unknown system {name!r}")
    return systems


def evaluate(events: list, labels: list, systems: dict, *, warmup_end: int | None = None,
             out: Path | None = None, plots: bool = True, log=None) -> dict:
    """Run every system over `events` (sorted by event time here) and return the report.

    `systems` maps a name to an object with `process(event)`, or to a callable
    `factory(warmup_end) -> object` (called once the warm-up end is known). With `out`, writes
    report.json and (with `plots`) the PNGs there.
    """
    events, times = in_time_order(events)
    warmup_end = default_warmup_end(labels, times) if warmup_end is None else warmup_end
    ev_index: dict = {}
    for lab in labels:
        for eid in lab["event_ids"]:
            ev_index.setdefault(eid, []).append(lab["incident_id"])
    runs = []
    for name, system in systems.items():
        if not hasattr(system, "process") and callable(system):
            system = system(warmup_end)
        if log:
            log(f"running {name} over {len(events)} events")
        runs.append(run_system(name, system, events, times, ev_index))
    report = score_runs(runs, labels, events, times, warmup_end)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if plots and events:
            keep = np.asarray([ms >= warmup_end for ms in times])
            positive = np.asarray([e["event_id"] in ev_index for e in events])[keep]
            report["plots"] = [p.name for p in plot(runs, positive, keep, out)]
        (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def evaluate_files(events: str, labels: str, out: str, roster: str | None = None,
                   watchlist: str | None = None, systems: tuple = ("engine", "static_thresholds",
                                                                    "halfspacetrees", "isolationforest"),
                   plots: bool = True) -> dict:
    """`streamer evaluate`: files in, report.json + PNGs out, table returned in report["table"]."""
    evs, labs = read_jsonl(events), read_labels(labels)
    _, times = in_time_order(evs)
    warmup_end = default_warmup_end(labs, times)
    built = build_systems(list(systems), warmup_end, roster, watchlist)
    report = evaluate(evs, labs, built, warmup_end=warmup_end, out=Path(out), plots=plots,
                      log=lambda m: print(m, file=sys.stderr))
    return report
