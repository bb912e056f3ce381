"""The third (patient-journey) generator of models/heldout/journeys: its own contract check passes,
events follow the event schema, every incident type is labelled with events that exist, the
engine reads its context files, and its scorer matches alerts by event ids."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from streamer.score.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "models" / "heldout" / "journeys"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("journeys") / "s"
    subprocess.run([sys.executable, str(HERE / "generate.py"), "--seed", "5", "--users", "120", "--days", "21",
                    "--tz", "1", "--out", str(out)], check=True, capture_output=True)
    return out


def test_the_contract_check_passes_and_labels_name_real_events(scenario):
    res = subprocess.run([sys.executable, str(HERE / "validate.py"), str(scenario)], capture_output=True, text=True)
    assert res.returncode == 0 and "no contract violations" in res.stdout, res.stdout[-2000:]
    schema = json.loads((ROOT / "schemas" / "event.schema.json").read_text())
    events = [json.loads(x) for x in (scenario / "events.jsonl").read_text().splitlines()]
    assert len(events) > 20_000
    validator = jsonschema.Draft202012Validator(schema)
    for ev in events[::41]:
        validator.validate(ev)
    ids = {ev["event_id"] for ev in events}
    assert len(ids) == len(events)
    labels = [json.loads(x) for x in (scenario / "labels.jsonl").read_text().splitlines()]
    assert len(Counter(lab["type"] for lab in labels)) >= 15
    for lab in labels:
        assert lab["event_ids"] and set(lab["event_ids"]) <= ids, lab["incident_id"]


def test_context_files_load_into_the_engine(scenario):
    eng = Engine(roster=str(scenario / "roster.csv"), watchlist=str(scenario / "watchlist.csv"))
    assert len(eng.roster) >= 100 and eng.watchlist


def test_scorer_matches_by_event_ids_and_counts_false_alerts(scenario, tmp_path):
    labels = [json.loads(x) for x in (scenario / "labels.jsonl").read_text().splitlines()]
    alerts = [{"alert_id": f"a{i}", "detector": lab["type"], "user_id": lab.get("user_id") or "x",
               "event_ids": lab["event_ids"][-1:], "first_event_time": lab["end"], "last_event_time": lab["end"],
               "summary": "", "severity": "medium"} for i, lab in enumerate(labels[1:])]
    alerts.append({"alert_id": "noise", "detector": "odd_hours", "user_id": "x", "event_ids": ["not-an-incident"],
                   "first_event_time": labels[0]["end"], "last_event_time": labels[0]["end"], "summary": "",
                   "severity": "low"})
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in alerts))
    subprocess.run([sys.executable, str(HERE / "score.py"), "--dir", str(scenario), "--alerts", str(path),
                    "--json-out", str(tmp_path / "score.json")], check=True, capture_output=True, text=True)
    score = json.loads((tmp_path / "score.json").read_text())
    assert [m["incident_id"] if isinstance(m, dict) else m for m in score["missed"]] == [labels[0]["incident_id"]]
    assert score["alerts"]["false"] == 1
