from __future__ import annotations

import argparse

import orjson
import pytest

from streamer.simulate import cli
from streamer.simulate.evaluate import evaluate, evaluate_files, format_table


def ev(eid, user, action, time):
    return {"event_id": eid, "event_time": f"2026-11-0{time}Z", "action": action, "user": {"id": user}}


EVENTS = [
    ev("e5", "u2", "view", "2T10:00:00.000"),      # deliberately out of order: the harness sorts
    ev("e1", "u1", "view", "2T10:00:00.000"),
    ev("e2", "u1", "view", "2T10:01:00.000"),
    ev("e3", "u1", "export", "2T10:02:00.000"),
    ev("e4", "u1", "export", "2T10:03:00.000"),
    ev("e6", "u2", "login_failed", "2T11:00:00.000"),
    ev("e7", "u2", "view", "3T09:00:00.000"),
]
LABELS = [
    {"incident_id": "inc-1", "type": "bulk_export", "user_id": "u1", "start_time": "2026-11-02T10:02:00.000Z",
     "end_time": "2026-11-02T10:03:00.000Z", "event_ids": ["e3", "e4"]},
    {"incident_id": "inc-2", "type": "odd_hours", "user_id": "u2", "start_time": "2026-11-03T09:00:00.000Z",
     "end_time": "2026-11-03T09:00:00.000Z", "event_ids": ["e7"]},
]


class TinyRules:
    """Alerts on the second export of a user, on any failed login, and on u2's first view."""

    def __init__(self):
        self.exports, self.seen = {}, []

    def process(self, e):
        self.seen.append(e["event_id"])
        uid, alerts = e["user"]["id"], []
        if e["action"] == "export":
            ids = self.exports.setdefault(uid, [])
            ids.append(e["event_id"])
            if len(ids) >= 2:
                alerts.append({"alert_id": f"A-{uid}", "detector": "bulk_export", "event_ids": list(ids)})
        if e["action"] == "login_failed":
            alerts.append({"alert_id": "B", "detector": "failed_login_burst", "event_ids": [e["event_id"]]})
        if e["event_id"] == "e5":
            alerts.append({"alert_id": "C", "detector": "bulk_export", "event_ids": ["e5"]})
        return {"enrichment": {"anomaly_score": 1.0 if e["action"] == "export" else 0.0}}, alerts


class ListOnly:
    """Returns plain alert lists and re-emits one alert id: counted once."""

    def process(self, e):
        if e["event_id"] in ("e3", "e4"):
            return [{"alert_id": "X", "detector": "x", "event_ids": [e["event_id"]]}]
        return []


def test_metrics_on_a_toy_case_computed_by_hand():
    tiny = TinyRules()
    report = evaluate(EVENTS, LABELS, {"tiny": tiny, "list": ListOnly()}, warmup_end=0)
    assert tiny.seen == ["e5", "e1", "e2", "e3", "e4", "e6", "e7"]  # event-time order, stable
    assert report["stream"]["user_days"] == 3                      # (u1,d2) (u2,d2) (u2,d3)
    tiny_r = report["systems"]["tiny"]
    bulk, odd = tiny_r["per_type"]["bulk_export"], tiny_r["per_type"]["odd_hours"]
    assert (bulk["recall"], bulk["recall_own"], bulk["precision"], bulk["false_alerts"]) == (1.0, 1.0, 0.5, 1)
    assert bulk["ttd_median_s"] == 60.0                           # emitted at e4, incident starts at e3
    assert (odd["recall"], odd["precision"], odd["missed"]) == (0.0, None, ["inc-2"])
    overall = tiny_r["overall"]
    assert (overall["alerts"], overall["true"], overall["false"]) == (3, 1, 2)
    assert overall["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert overall["false_per_1000_user_days"] == pytest.approx(666.667, abs=1e-3)
    assert overall["recall"] == 0.5
    lst = report["systems"]["list"]
    assert lst["overall"]["alerts"] == 1 and lst["overall"]["false"] == 0
    assert lst["per_type"]["bulk_export"]["ttd_median_s"] == 0.0
    assert lst["per_type"]["bulk_export"]["recall_own"] == 0.0
    table = format_table(report)
    assert "bulk_export" in table and "odd_hours" in table


def test_baselines_and_plots_on_a_small_simulation(small_sim, tmp_path):
    out, _ = small_sim
    report = evaluate_files(str(out / "events.jsonl"), str(out / "labels.jsonl"), str(tmp_path),
                            systems=("static_thresholds", "halfspacetrees", "isolationforest"))
    static = report["systems"]["static_thresholds"]["per_type"]
    assert static["bulk_export"]["recall"] == 1.0
    assert static["password_spray"]["recall"] == 1.0
    assert static["self_access"]["recall"] == 0.0     # counts cannot see who the patient is
    for name in ("halfspacetrees", "isolationforest"):
        assert report["systems"][name]["overall"]["alerts"] > 0
    assert (tmp_path / "pr_curves.png").stat().st_size > 1000
    assert (tmp_path / "score_distributions.png").stat().st_size > 1000
    saved = orjson.loads((tmp_path / "report.json").read_bytes())
    assert saved["systems"].keys() == report["systems"].keys()


def test_cli_evaluate_with_the_engine(small_sim, tmp_path, capsys):
    out, _ = small_sim
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["evaluate", "--events", str(out / "events.jsonl"), "--labels",
                              str(out / "labels.jsonl"), "--roster", str(out / "roster.csv"), "--watchlist",
                              str(out / "watchlist.csv"), "--out", str(tmp_path), "--no-plots",
                              "--systems", "engine,static_thresholds"])
    assert args.func(args) == 0
    assert "recall (all)" in capsys.readouterr().out
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert report["systems"]["engine"]["overall"]["alerts"] > 0
    bad = parser.parse_args(["evaluate", "--events", "nope.jsonl", "--labels", "x", "--out", str(tmp_path)])
    assert bad.func(bad) == 1
    labels = tmp_path / "bad_labels.jsonl"
    labels.write_text((out / "labels.jsonl").read_text().splitlines()[0] + "\n"
                      + '{"incident_id": "x", "type": "odd_hours", "event_ids": ["e"]}\n')
    bad = parser.parse_args(["evaluate", "--events", str(out / "events.jsonl"), "--labels", str(labels),
                             "--out", str(tmp_path / "r2"), "--no-plots", "--systems", "engine"])
    assert bad.func(bad) == 2
    assert f"{labels}:2: bad label: missing start_time (or start)" in capsys.readouterr().err


def test_cli_simulate(tmp_path):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["simulate", "--users", "20", "--days", "1", "--seed", "5", "--out",
                              str(tmp_path), "--incidents-per-type", "1"])
    assert args.func(args) == 0
    for name in ("events.jsonl", "labels.jsonl", "roster.csv", "watchlist.csv"):
        assert (tmp_path / name).stat().st_size > 0
    args = parser.parse_args(["simulate", "--users", "2", "--out", str(tmp_path)])
    assert args.func(args) == 1
