"""PNG previews drawn from the panels' own queries, and the access-review report."""

from __future__ import annotations

import csv
from contextlib import contextmanager

import matplotlib.image as mpimg
import pytest

from streamer.cli import main
from streamer.dashboards import commands
from streamer.dashboards.checks import load
from streamer.dashboards.render import render_dashboard
from streamer.dashboards.run import run_dashboard
from streamer.paths import dashboards_dir

# Between them these two use every panel type the dashboards have (stat, timeseries as lines and
# bars, table, heatmap table, barchart, piechart, bargauge); the machine is small, so not all six.
RENDERED = ("soc-overview.json", "alert-triage.json")


@pytest.mark.parametrize("name", RENDERED)
def test_render_draws_every_panel(chdb_store, time_range, tmp_path, name):
    dashboard = load(dashboards_dir() / name)
    results = run_dashboard(dashboard, chdb_store, *time_range)
    path = render_dashboard(dashboard, results, tmp_path / "d.png", "test", dpi=50)
    image = mpimg.imread(path)
    assert path.stat().st_size > 20_000
    height, width = image.shape[:2]
    assert width > 900 and height > 400
    # each panel's area holds ink, not just the white background
    rows_total = max(r.panel["gridPos"]["y"] + r.panel["gridPos"]["h"] for r in results) + 2.3
    for r in results:
        g = r.panel["gridPos"]
        top = int((1.5 + g["y"] + 1.2) / rows_total * height)
        bottom = int((1.5 + g["y"] + g["h"] - 0.5) / rows_total * height)
        left, right = int(g["x"] / 24 * width) + 10, int((g["x"] + g["w"]) / 24 * width) - 10
        area = image[top:bottom, left:right, :3]
        assert area.std() > 0.02, f"{r.panel['title']} looks empty"


@contextmanager
def _fixed(store):
    yield store


def test_access_review_csv_and_html(chdb_store, sample, time_range, tmp_path, monkeypatch):
    monkeypatch.setattr(commands, "configured_store", lambda: _fixed(chdb_store))
    start, end = (commands.format_ms(t) for t in time_range)
    out = tmp_path / "review.csv"
    assert main(["report", "access-review", "--out", str(out), "--from", start, "--to", end]) == 0
    rows = list(csv.DictReader(out.open()))
    by_section = {}
    for r in rows:
        by_section.setdefault(r["section"], []).append(r)
    inactive = {r["user_id"] for r in by_section["Inactive accounts"]}
    assert inactive >= {"idle1", "idle2"} and "ssusp" not in inactive  # suspended is not active
    assert [r["user_id"] for r in by_section["Terminated or suspended but active"]] == ["tgone"]
    (end_row,) = [r for r in sample.roster_rows() if r["user_id"] == "tgone" and r["end_date"]]
    after = [e for e in sample.events if e["user"]["id"] == "tgone"
             and time_range[0] <= commands.parse_time(e["event_time"]) <= time_range[1]
             and e["event_time"][:10] > end_row["end_date"].isoformat()]
    details = by_section["Terminated or suspended but active"][0]["details"]
    assert "roster_status=terminated" in details and f"accesses={len(after)};" in details and after
    elevated = {r["user_id"] for r in by_section["Elevated privileges and their use"]}
    assert {"admin1", "admin2", "u04"} <= elevated
    html_out = tmp_path / "review.html"
    assert main(["report", "access-review", "--out", str(html_out), "--from", start, "--to", end]) == 0
    text = html_out.read_text()
    assert "<h2>Inactive accounts" in text and "tgone" in text
    assert main(["report", "access-review", "--out", str(tmp_path / "r.txt")]) == 1
