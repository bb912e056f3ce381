"""models/heldout/suite.py: small scenarios of the second and third generators run end to end
(generate, replay, score), the summary row read from each scorer's output, and a change between
two runs named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from models.heldout import suite

ROOT = Path(__file__).resolve().parents[2]

TINY = {"tiny2": ("gen2", "--seed 5 --users 100 --days 21 --per-type 1"),
        "tiny3": ("gen3", "--seed 5 --users 120 --days 21 --per-type 1")}


def test_a_small_scenario_of_each_scorer_runs_end_to_end_and_a_change_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "SCENARIOS", {**suite.SCENARIOS, **TINY})
    out = tmp_path / "run1"
    assert suite.main(["--only", "tiny2,tiny3", "--data", str(tmp_path / "data"), "--out", str(out),
                       "--jobs", "2"]) == 0
    rows = json.loads((out / "summary.json").read_text())
    assert set(rows) == {"tiny2", "tiny3"}
    for name, row in rows.items():
        labels = (tmp_path / "data" / name / "labels.jsonl").read_text().splitlines()
        assert 0.0 <= row["recall"] <= 1.0 and len(labels) >= 16
        # the row's false alerts are the scorer's, summed over its detectors
        assert row["false_alerts"] == sum(row["false_by_detector"].values())
        assert (out / name / "alerts.jsonl").stat().st_size > 0
    # the same code gives the same alerts: nothing named; one detector more gives a line
    changed = json.loads(json.dumps(rows))
    assert suite.compare(rows, changed) == []
    changed["tiny3"]["false_by_detector"]["odd_hours"] = changed["tiny3"]["false_by_detector"].get("odd_hours", 0) + 1
    lines = suite.compare(rows, changed)
    assert len(lines) == 1 and lines[0].startswith("tiny3:") and '"odd_hours": 1' in lines[0]


def test_the_seeds_are_read_from_streamer_evaluates_report():
    report = {"systems": {"engine": {
        "per_type": {"odd_hours": {"incidents": 3, "detected": 2}, "bulk_export": {"incidents": 3, "detected": 3}},
        "per_detector": {"odd_hours": {"false": 4}, "bulk_export": {"false": 0}}}},
        "stream": {"user_days": 2000}}
    row = suite.summarise(report)
    assert row["recall"] == round(5 / 6, 3) and row["below_095"] == {"odd_hours": 0.67}
    assert row["false_by_detector"] == {"odd_hours": 4} and row["false_per_1000_user_days"] == 2.0


def test_an_unknown_scenario_is_refused_with_the_list_named(capsys):
    assert suite.main(["--only", "nope"]) == 2
    assert "unknown scenario(s): nope" in capsys.readouterr().err
    listed = subprocess.run([sys.executable, str(ROOT / "models" / "heldout" / "suite.py"), "--list"],
                            capture_output=True, text=True, check=True).stdout
    assert all(f"\n{n} " in "\n" + listed for n in ("X1", "G", "A", "s3"))
