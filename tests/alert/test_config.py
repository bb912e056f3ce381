"""The alerting data files, matchers and durations; doctests of the alert modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

from streamer.alert.config import load_config, parse_duration
from streamer.alert.matchers import parse_matcher
from streamer.alert.model import AlertRecord, fingerprint

from .alerttools import T0, make_alert

MAX_SILENCE_MS = 366 * 86_400_000


def test_project_alerting_data_loads_and_pages_only_high_and_critical():
    config = load_config(page_min_severity="high")
    for severity, pages in (("low", False), ("medium", False), ("high", True), ("critical", True)):
        receivers = {r.receiver for r in config.route.match({"severity": severity, "user_id": "u"})}
        assert ("oncall-pagerduty" in receivers) is pages, severity
        assert "soc-webhook" in receivers  # every alert reaches the case queue


def test_page_threshold_comes_from_settings():
    config = load_config(page_min_severity="critical")
    assert "oncall-pagerduty" not in {r.receiver for r in config.route.match({"severity": "high"})}


def test_project_silences_are_bounded_and_explained():
    for s in load_config().silences:
        assert 0 < s.ends_ms - s.starts_ms <= MAX_SILENCE_MS, f"{s.id}: a silence lasts at most a year"
        assert len(s.reason) >= 10 and s.created_by


@pytest.mark.parametrize("broken,match", [
    ("routes.yaml", "unknown receiver"),
    ("silences.yaml", "reason"),
])
def test_bad_data_is_rejected_with_its_place(alerting_dir, broken, match):
    path = alerting_dir / broken
    if broken == "routes.yaml":
        path.write_text(path.read_text().replace("receiver: pager", "receiver: nobody"))
    else:
        path.write_text(path.read_text().replace("    reason: Approved research export for IRB protocol 114.\n", ""))
    with pytest.raises(ValueError, match=match):
        load_config(alerting_dir)


@pytest.mark.parametrize("text,labels,hit", [
    ('user_id="jdoe"', {"user_id": "jdoe"}, True),
    ('user_id!="jdoe"', {"user_id": "jdoe"}, False),
    ('severity=~"high|critical"', {"severity": "critical"}, True),
    ('severity=~"high"', {"severity": "highest"}, False),  # anchored
    ('department!~"neuro.*"', {}, True),  # missing label is ""
    ('role="a \\"quoted\\" value"', {"role": 'a "quoted" value'}, True),
])
def test_matchers(text, labels, hit):
    assert parse_matcher(text).matches(labels) is hit


@pytest.mark.parametrize("bad", ["user_id", 'user_id=="x"', 'severity=~"("', '1abc="x"'])
def test_bad_matchers(bad):
    with pytest.raises(ValueError):
        parse_matcher(bad)


def test_durations():
    assert parse_duration("1d2h") == 93_600_000
    for bad in ("5 minutes", "", "5x", "m5"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_fingerprint_ignores_severity_and_growth():
    a = AlertRecord.from_alert(make_alert(severity="high", n=1))
    b = AlertRecord.from_alert(make_alert(severity="critical", n=400, t=T0 + 60_000, first=T0))
    c = AlertRecord.from_alert(make_alert(user="asmith"))
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert fingerprint({"a": "x", "b": ""}, ["a", "b"]) == fingerprint({"a": "x"}, ["b", "a"])


def test_record_round_trips_through_bytes():
    rec = AlertRecord.from_alert(make_alert(n=500), grafana_url="http://g")
    assert AlertRecord.from_bytes(rec.to_bytes()) == rec
    assert len(rec.alert["event_ids"]) == 100 and rec.alert["event_count"] == 500


@pytest.mark.parametrize("module", ["streamer.alert.matchers", "streamer.alert.model", "streamer.alert.config"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed
