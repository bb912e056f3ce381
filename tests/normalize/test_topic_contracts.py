"""One test over every topic contract in schemas/topics/ (folders added later included)."""

from __future__ import annotations

import json

import pytest

from streamer.normalize import normalize_bytes
from streamer.paths import schemas_dir

from .conftest import validator

# a folder without any file is not in git yet (work in progress), every other one is checked
TOPICS = sorted(p for p in (schemas_dir() / "topics").iterdir() if p.is_dir() and any(p.rglob("*.*")))
EXAMPLES = [(t, e) for t in TOPICS for e in sorted((t / "examples").glob("*")) if e.is_file()]


def test_contract_folders_found():
    assert {"raw", "events", "deadletter", "roster", "watchlist"} <= {t.name for t in TOPICS}


@pytest.mark.parametrize("topic", TOPICS, ids=lambda p: p.name)
def test_topic_has_schema_and_examples(topic):
    validator(topic / "schema.json")  # a valid 2020-12 schema whose $refs resolve
    assert [e for t, e in EXAMPLES if t == topic], f"{topic.name} has no examples"


@pytest.mark.parametrize("topic,example", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_its_schema(topic, example, event_validator):
    schema = json.loads((topic / "schema.json").read_text())
    if schema.get("x-encoding") == "bytes":
        result = normalize_bytes(example.read_bytes())
        assert not result.rejects, result.rejects
        assert result.events
        for event in result.events:
            event_validator.validate(event)
        return
    errors = [e.message for e in validator(topic / "schema.json").iter_errors(json.loads(example.read_bytes()))]
    assert not errors, errors


@pytest.mark.parametrize("bad", [
    {"event_id": "x", "event_time": "2026-11-30T03:00:00Z", "action": "look", "user": {"id": "a"}},
    {"event_id": "x", "event_time": "yesterday", "action": "view", "user": {"id": "a"}},
    {"event_id": "x", "event_time": "2026-11-30T03:00:00Z", "action": "view", "user": {}},
    {"event_id": "x", "event_time": "2026-11-30T03:00:00Z", "action": "view", "user": {"id": "a"}, "extra": 1},
])
def test_event_schema_rejects(bad):
    assert not validator(schemas_dir() / "topics" / "events" / "schema.json").is_valid(bad)
