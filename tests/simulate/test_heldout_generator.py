"""The second (study-centric) generator of models/heldout: canonical events the schema accepts,
context files the engine reads, every incident type labelled with events that exist; its scorer
matches alerts to incidents by event ids and counts the rest as false alerts."""

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
GEN, SCORE = ROOT / "models" / "heldout" / "generate.py", ROOT / "models" / "heldout" / "score.py"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("heldout") / "s"
    subprocess.run([sys.executable, str(GEN), "--seed", "5", "--users", "80", "--days", "21", "--per-type", "1",
                    "--tz", "-5", "--out", str(out)], check=True, capture_output=True)
    return out


def test_events_follow_the_contract_and_labels_name_real_events(scenario):
    schema = json.loads((ROOT / "schemas" / "event.schema.json").read_text())
    lines = (scenario / "events.jsonl").read_text().splitlines()
    events = [json.loads(x) for x in lines]
    assert len(events) > 5000
    validator = jsonschema.Draft202012Validator(schema)
    for ev in events[::37]:
        validator.validate(ev)
    assert all(ev["event_time"].endswith("-05:00") for ev in events[::101])
    ids = {ev["event_id"] for ev in events}
    assert len(ids) == len(events), "event ids are unique"
    labels = [json.loads(x) for x in (scenario / "labels.jsonl").read_text().splitlines()]
    assert len(Counter(lab["type"] for lab in labels)) == 16
    for lab in labels:
        assert lab["event_ids"] and set(lab["event_ids"]) <= ids, lab["incident_id"]


def test_context_files_load_into_the_engine(scenario):
    eng = Engine(roster=str(scenario / "roster.csv"), watchlist=str(scenario / "watchlist.csv"))
    assert len(eng.roster) >= 80 and eng.watchlist
    assert {r["status"] for r in eng.roster.values()} >= {"active", "terminated"}


def test_scorer_matches_by_event_ids_and_counts_false_alerts(scenario, tmp_path):
    labels = [json.loads(x) for x in (scenario / "labels.jsonl").read_text().splitlines()]
    alerts = [{"alert_id": f"a{i}", "detector": lab["type"], "event_ids": lab["event_ids"][-1:],
               "last_event_time": lab["end"]} for i, lab in enumerate(labels[1:])]
    alerts.append({"alert_id": "noise", "detector": "odd_hours", "event_ids": ["not-an-incident"],
                   "last_event_time": labels[0]["end"]})
    path = tmp_path / "alerts.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in alerts))
    res = subprocess.run([sys.executable, str(SCORE), "--dir", str(scenario), "--alerts", str(path),
                          "--json-out", str(tmp_path / "score.json")], check=True, capture_output=True, text=True)
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["missed"] == [labels[0]["incident_id"]]
    assert score["false_total"] == 1 and score["detectors"]["odd_hours"]["false"] == 1
    assert "TOTAL alerts=16 matched=15 false=1" in res.stdout


def test_reduced_forms_leave_out_the_optional_fields_and_keep_the_rest(scenario, tmp_path):
    """models/heldout/strip_fields.py (EVALUATION Round 14): each form drops what it says, keeps
    every event and the context files, and what is left is still a canonical event."""
    from streamer.normalize.common import problems
    tool = ROOT / "models" / "heldout" / "strip_fields.py"
    src = [json.loads(x) for x in (scenario / "events.jsonl").read_text().splitlines()]
    for form in ("a", "c"):
        out = tmp_path / form
        subprocess.run([sys.executable, str(tool), str(scenario), str(out), form], check=True)
        got = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
        assert [e["event_id"] for e in got] == [e["event_id"] for e in src]
        assert (out / "labels.jsonl").read_bytes() == (scenario / "labels.jsonl").read_bytes()
        assert (out / "roster.csv").exists() and (out / "watchlist.csv").exists()
        assert all(problems(e) == [] for e in got)
        assert not any("department" in (e.get("study") or {}) or "name" in (e.get("patient") or {})
                       for e in got)
        studies = [e["study"] for e in got if e.get("study")]
        assert studies and all("uid" in s for s in studies)
        if form == "a":
            assert any("roles" in e["user"] for e in got)
        else:
            assert not any("roles" in e["user"] or "department" in e["user"] for e in got)
            assert all(set(s) == {"uid"} for s in studies)
