"""Clean traffic (Sigma style): incident-free simulated hospital traffic raises only the alerts
listed as known false positives in schemas/rules/known_false_positives.yaml, and few of them."""

from __future__ import annotations

import orjson
import pytest
import yaml

from models.rules import rules_dir
from streamer.score.engine import Engine
from streamer.simulate.generate import simulate_to_dir

STREAMS = yaml.safe_load((rules_dir() / "known_false_positives.yaml").read_text())["clean_streams"]


@pytest.mark.parametrize("stream", STREAMS, ids=[s["name"] for s in STREAMS])
def test_clean_stream_raises_only_known_false_positives(stream, tmp_path):
    g = stream["generator"]
    simulate_to_dir(tmp_path, seed=g["seed"], users=g["users"], days=g["days"], incidents_per_type=0)
    engine = Engine(roster=str(tmp_path / "roster.csv"), watchlist=str(tmp_path / "watchlist.csv"))
    alerts = {}
    with open(tmp_path / "events.jsonl", "rb") as fh:
        for line in fh:
            for a in engine.process(orjson.loads(line))[1]:
                alerts[a["alert_id"]] = a
    known = {(k["detector"], k["user_id"]) for k in stream["known"]}
    unknown = [(a["detector"], a["user_id"], a["summary"]) for a in alerts.values()
               if (a["detector"], a["user_id"]) not in known]
    assert unknown == []
    assert len(alerts) <= stream["max_alerts"]
