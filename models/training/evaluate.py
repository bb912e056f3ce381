"""Compare models on a window of stored features with the evaluation harness, and report.

Each model scores every row; its alerts are the incidents the engine would open from those hits
(calibrate.AlertModel). The harness (streamer.simulate.evaluate) then scores them against incident
labels exactly as it scores the engine: recall, precision, time to detect, false alerts per 1,000
user-days, PR curves. Incident labels are the simulator's, or analysts' true-positive alerts
(data.incidents_from_labels). `write_report` adds ROC curves, score histograms and index.html.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import orjson

from models.training.calibrate import DEFAULT_GAP_MS, AlertModel
from streamer.timeutil import format_ms

BATCH = 5000


def score_dataset(model, ds, progress: bool = False) -> np.ndarray:
    """Scores of every row of `ds` with a registry model (LoadedModel), in batches."""
    from tqdm.auto import tqdm

    cols = [ds.feature_names.index(n) for n in model.feature_names]
    out = []
    for i in tqdm(range(0, len(ds), BATCH), desc=f"scoring {model.version}", unit="batch",
                  disable=not progress):
        rows = ds.X[i:i + BATCH][:, cols]
        groups = ds.groups[i:i + BATCH]
        out.append(np.asarray(model.score_batch(rows.tolist(), groups) if model.uses_groups
                              else model.score_batch(rows.tolist()), dtype=float))
    return np.concatenate(out) if out else np.zeros(0)


class Recorded:
    """A harness system replaying precomputed outputs: the alert emissions of each event."""

    def __init__(self, ds, scores: np.ndarray, threshold: float, gap_ms: int, name: str) -> None:
        am = AlertModel(ds.user_ids, ds.times, gap_ms)
        number = am.alerts(scores, threshold)
        self.out = {}
        for i in np.flatnonzero(number >= 0):
            aid = f"{name}:{ds.user_ids[i]}:{int(number[i])}"
            self.out[ds.event_ids[i]] = [{"alert_id": aid, "detector": "batch_model",
                                          "user_id": ds.user_ids[i], "event_ids": [ds.event_ids[i]]}]
        self.alerts = int(number.max() + 1)
        order = np.lexsort((np.asarray(ds.event_ids, dtype=object), ds.times))
        self.event_scores = scores[order].tolist()  # the harness's event-time order

    def process(self, event: dict) -> list:
        return self.out.get(event["event_id"], [])


def evaluate_candidate(ds, incidents: list[dict], models: dict, *, gap_ms: int = DEFAULT_GAP_MS,
                       warmup_end: int | None = None, out: Path | None = None,
                       progress: bool = False, plots: bool = True) -> dict:
    """Harness report of every model in `models` (name -> LoadedModel) over the rows of `ds`.

    With `out`: report.json and index.html there, and (with `plots`) pr_curves.png,
    score_distributions.png, roc_curves.png, score_histograms.png."""
    from streamer.simulate.evaluate import evaluate

    scores = {name: score_dataset(m, ds, progress) for name, m in models.items()}
    systems = {name: Recorded(ds, scores[name], m.threshold, gap_ms, name)
               for name, m in models.items()}
    events = [{"event_id": eid, "event_time": format_ms(int(t)), "user": {"id": u}}
              for eid, t, u in zip(ds.event_ids, ds.times, ds.user_ids)]
    report = evaluate(events, incidents, systems, warmup_end=warmup_end or int(ds.start), out=out,
                      plots=plots and out is not None)
    positive = {eid for inc in incidents for eid in inc["event_ids"]}
    y = np.asarray([eid in positive for eid in ds.event_ids])
    for name, m in models.items():
        sysrep = report["systems"][name]
        sysrep["model_version"] = m.version
        sysrep["threshold"] = m.threshold
        sysrep["event_metrics"] = event_metrics(y, scores[name])
    if out is not None:
        if plots:
            report["plots"] = report.get("plots", []) + write_plots(y, scores, Path(out))
        (Path(out) / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        write_html(report, Path(out))
    return report


def event_metrics(y: np.ndarray, s: np.ndarray) -> dict:
    """Per-event ROC AUC and average precision (None when a class is missing)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if not len(y) or y.all() or not y.any():
        return {"roc_auc": None, "average_precision": None, "positives": int(y.sum())}
    return {"roc_auc": round(float(roc_auc_score(y, s)), 4),
            "average_precision": round(float(average_precision_score(y, s)), 4),
            "positives": int(y.sum())}


def write_plots(y: np.ndarray, scores: dict, out: Path) -> list[str]:
    """roc_curves.png and score_histograms.png (normal vs incident events, log counts)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    out.mkdir(parents=True, exist_ok=True)
    files = []
    if y.any() and not y.all():
        fig, ax = plt.subplots(figsize=(6, 5))
        for name, s in scores.items():
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=name)
        ax.plot([0, 1], [0, 1], ls=":", c="grey")
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set(xlabel="false positive rate (events)", ylabel="true positive rate (events)",
               title="ROC")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "roc_curves.png", dpi=100)
        plt.close(fig)
        files.append("roc_curves.png")
    fig, axes = plt.subplots(len(scores), 1, figsize=(7, 2.4 * len(scores)), squeeze=False)
    bins = np.linspace(0, 1, 51)
    for ax, (name, s) in zip(axes[:, 0], scores.items()):
        ax.hist(s[~y], bins=bins, alpha=0.6, label="normal", log=True)
        if y.any():
            ax.hist(s[y], bins=bins, alpha=0.6, label="incident", log=True)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "score_histograms.png", dpi=100)
    plt.close(fig)
    files.append("score_histograms.png")
    return files


def write_html(report: dict, out: Path) -> Path:
    """A small self-contained page: per-model table, per-type table, the plots."""
    esc = html.escape
    rows = []
    for name, sysrep in report["systems"].items():
        o, e = sysrep["overall"], sysrep.get("event_metrics", {})
        rows.append("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in (
            name, sysrep.get("model_version", ""), sysrep.get("threshold", ""), o["alerts"], o["true"],
            o["false"], o["recall"], o["precision"], o["false_per_1000_user_days"],
            e.get("roc_auc"), e.get("average_precision"))) + "</tr>")
    types = []
    for name, sysrep in report["systems"].items():
        for t, m in sysrep["per_type"].items():
            types.append(f"<tr><td>{esc(name)}</td><td>{esc(t)}</td><td>{m['incidents']}</td>"
                         f"<td>{m['detected']}</td><td>{m['ttd_median_s']}</td></tr>")
    imgs = "".join(f'<figure><img src="{esc(p)}" alt="{esc(p)}"><figcaption>{esc(p)}</figcaption></figure>'
                   for p in report.get("plots", []))
    s = report["stream"]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Model evaluation</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}img{{max-width:48em}}</style></head>
<body><h1>Model evaluation</h1>
<p>{s['events']} events, {s['user_days']} user-days, {s['incidents']} incidents.
Matching: {esc(report['matching_rule'])}.</p>
<table><tr><th>model</th><th>version</th><th>threshold</th><th>alerts</th><th>true</th><th>false</th>
<th>recall</th><th>precision</th><th>false / 1,000 user-days</th><th>ROC AUC</th><th>AP</th></tr>
{''.join(rows)}</table>
<h2>Per incident type</h2>
<table><tr><th>model</th><th>type</th><th>incidents</th><th>detected</th><th>median time to detect (s)</th></tr>
{''.join(types)}</table>
<h2>Plots</h2>{imgs}</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
