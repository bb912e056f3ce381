"""Pipeline metrics rows: the vocabulary the pipeline-health dashboard queries, per period."""

from streamer.runtime.app import metric_rows
from streamer.runtime.metrics import Metrics


def test_snapshot_rates_and_rows():
    m = Metrics()
    m.snapshot()
    m.inc("normalize.in", 100)
    m.inc("normalize.rejected", 4)
    m.inc("sink.events.rows", 90)
    m.inc("sink.events.retries", 2)
    m.gauge("sink.events.batch_ms", 12.5)
    m.inc("notify.parked", 3)          # receiver down at the first delivery
    m.inc("notify.retry.parked", 2)    # and still down at the retry
    m.inc("notify.errors", 1)          # a retry that failed inside the worker, put back
    m.inc("notify.failed", 1)          # given up: dead letter
    snap = m.snapshot()
    snap["period_s"] = 10.0
    snap["rates"] = {k: v / 10.0 for k, v in snap["counters"].items()}
    rows = metric_rows(snap, "w1", {"pacs.audit.events:0": 7})
    by = {(r["component"], r["metric"], r["label"]): r["value"] for r in rows}
    assert by[("normalize", "rows_per_s", "")] == 10.0
    assert by[("sink", "rows_per_s", "")] == 9.0
    assert by[("normalize", "dead_letters", "normalize.rejected")] == 4.0
    assert by[("sink", "retries", "events")] == 2.0
    assert by[("sink", "batch_latency_ms", "events")] == 12.5
    assert by[("notify", "retries", "parked")] == 5.0
    assert by[("notify", "retries", "worker errors")] == 1.0
    assert by[("notify", "dead_letters", "notify.failed")] == 1.0
    assert by[("consumer", "consumer_lag", "pacs.audit.events:0")] == 7
    assert {r["worker"] for r in rows} == {"w1"}


def test_second_snapshot_reports_only_the_new_period():
    m = Metrics()
    m.inc("score.events", 50)
    m.snapshot()
    snap = m.snapshot()
    assert snap["rates"]["score.events"] == 0.0
    assert snap["counters"]["score.events"] == 50
