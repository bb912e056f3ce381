"""Panel results agree with the same figures computed in Python from the sample's rows."""

from __future__ import annotations

from collections import Counter

import pytest

from streamer.dashboards.checks import load
from streamer.dashboards.run import run_dashboard
from streamer.paths import dashboards_dir
from streamer.timeutil import parse_time


def _results(store, time_range, name, chosen=None):
    dashboard = load(dashboards_dir() / name)
    return {r.panel["title"]: r for r in run_dashboard(dashboard, store, *time_range, chosen)}


def _in_range(time_text, time_range):
    return time_range[0] <= parse_time(time_text) <= time_range[1]


@pytest.fixture(scope="module")
def soc(chdb_store, time_range):
    return _results(chdb_store, time_range, "soc-overview.json")


@pytest.fixture(scope="module")
def triage(chdb_store, time_range):
    return _results(chdb_store, time_range, "alert-triage.json")


def _last_status(sample):
    last = {}
    for row in sorted(sample.status_rows, key=lambda r: r["changed_at"]):
        last[row["alert_id"]] = row
    return last


def test_stats(soc, sample, time_range):
    events = [e for e in sample.events if _in_range(e["event_time"], time_range)]
    alerts = [a for a in sample.alerts if _in_range(a["first_event_time"], time_range)]
    last = _last_status(sample)
    still_open = [a for a in alerts if last.get(a["alert_id"], {}).get("status", "open")
                  in ("open", "acknowledged", "investigating")]
    assert soc["Access events"].rows == [{"events": len(events)}]
    assert soc["Active users"].rows == [{"users": len({e["user"]["id"] for e in events})}]
    assert soc["Alerts"].rows == [{"alerts": len(alerts)}]
    assert soc["Open alerts"].rows == [{"open_alerts": len(still_open)}]
    assert 0 < len(still_open) < len(alerts)
    assert sorted(r["alert_id"] for r in soc["Open alerts, newest first"].rows) == \
        sorted(a["alert_id"] for a in still_open)


def test_bulk_export_on_top(soc):
    top = soc["Bulk exports"].rows[0]
    assert (top["user_id"], top["dest_id"], top["exports"], top["external"]) == ("mbrown", "dropbox.example", 60, 1)
    assert soc["Top risky users"].rows[0]["user_id"] == "mbrown"


def test_alerts_by_severity_sum_to_the_total(soc):
    assert sum(r["alerts"] for r in soc["Alerts by severity"].rows) == soc["Alerts"].rows[0]["alerts"]


def test_heatmap_counts_every_event(soc):
    total = sum(v for row in soc["Access by hour and weekday (UTC)"].rows for k, v in row.items() if k != "day")
    assert total == soc["Access events"].rows[0]["events"]


def test_true_false_positives(triage, sample, time_range):
    last = _last_status(sample)
    expected = Counter()
    for a in sample.alerts:
        status = last.get(a["alert_id"], {}).get("status")
        if _in_range(a["first_event_time"], time_range) and status in ("resolved_true_positive",
                                                                          "resolved_false_positive"):
            expected[(a["detector"], status)] += 1
    rows = triage["True / false positives per detector"].rows
    got = Counter()
    for r in rows:
        got[(r["detector"], "resolved_true_positive")] += r["true_positives"]
        got[(r["detector"], "resolved_false_positive")] += r["false_positives"]
        assert r["tp_rate"] + r["fp_rate"] == pytest.approx(1.0, abs=0.002)
    assert +got == expected


def test_investigation_shows_only_that_user(chdb_store, time_range, sample):
    results = _results(chdb_store, time_range, "user-investigation.json", {"user": "mbrown"})
    mine = [e for e in sample.events if e["user"]["id"] == "mbrown" and _in_range(e["event_time"], time_range)]
    assert len(results["Access log"].rows) == len(mine)
    assert sum(r["events"] for r in results["Access timeline"].rows) == len(mine)
    assert {r["detector"] for r in results["Alerts with explanations"].rows} == {"bulk_export", "off_hours_access"}
    peak = {r["feature"]: r["peak"] for r in results["Actual vs baseline per feature"].rows}
    assert peak["exports_1h"] == 60.0
