"""Timeline tests of the alert pipeline with an injected clock (now_ms arguments)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .alerttools import M, S, T0, by_receiver, make_alert, run

from streamer.alert.pipeline import STAGES, Pipeline


def test_stage_order_is_written_down():
    assert STAGES == ("fingerprint", "route", "group", "silence", "inhibit", "dedup", "notify")


def test_first_notification_after_group_wait(pipeline):
    notes = run(pipeline, [(T0, make_alert())], until=T0 + 10 * M)
    pages = by_receiver(notes, "pager")
    assert len(pages) == 1
    t, n = pages[0]
    assert T0 + 30 * S <= t <= T0 + 31 * S
    assert n.status == "firing" and n.receiver_type == "pagerduty"
    assert [a["labels"]["alert_id"] for a in n.alerts] == ["a1"]
    assert len(by_receiver(notes, "soc")) == 1


def test_alerts_arriving_within_group_wait_share_one_notification(pipeline):
    pushes = [(T0, make_alert("a1")), (T0 + 10 * S, make_alert("a2", detector="off_hours"))]
    pages = by_receiver(run(pipeline, pushes, until=T0 + 4 * M), "pager")
    assert len(pages) == 1
    assert sorted(a["labels"]["alert_id"] for a in pages[0][1].alerts) == ["a1", "a2"]


def test_new_alert_in_flushed_group_waits_for_group_interval(pipeline):
    pushes = [(T0, make_alert("a1")), (T0 + 2 * M, make_alert("a2", detector="off_hours"))]
    pages = by_receiver(run(pipeline, pushes, until=T0 + 20 * M), "pager")
    assert len(pages) == 2
    t2, n2 = pages[1]
    assert t2 == T0 + 30 * S + 5 * M  # next group_interval tick after the first flush
    assert {a["labels"]["alert_id"] for a in n2.alerts} == {"a1", "a2"}
    assert not n2.is_repeat


def test_repeat_interval(pipeline):
    notes = run(pipeline, [(T0 + k * 10 * M, make_alert(t=T0 + k * 10 * M)) for k in range(30)],
                until=T0 + 5 * 60 * M, step=30 * S)
    pages = by_receiver(notes, "pager")
    # first page after group_wait, then one repeat every 2h (on a group_interval tick)
    assert [round((t - T0) / M, 1) for t, _ in pages] == [0.5, 120.5, 240.5]
    assert [n.is_repeat for _, n in pages] == [False, True, True]
    assert len(by_receiver(notes, "soc")) == 2  # soc repeats every 4h


def test_low_severity_does_not_page(pipeline):
    notes = run(pipeline, [(T0, make_alert(severity="medium"))], until=T0 + 10 * M)
    assert by_receiver(notes, "pager") == []
    assert len(by_receiver(notes, "soc")) == 1


def test_escalation_pages_once_and_pager_gets_the_resolve(pipeline):
    pushes = [(T0, make_alert(severity="medium")),
              (T0 + 3 * M, make_alert(severity="high", t=T0 + 3 * M, first=T0)),
              (T0 + 20 * M, make_alert(severity="high", t=T0 + 20 * M, first=T0, status="resolved"))]
    notes = run(pipeline, pushes, until=T0 + 40 * M)
    pages = by_receiver(notes, "pager")
    assert [n.status for _, n in pages] == ["firing", "resolved"]
    assert T0 + 3 * M + 30 * S <= pages[0][0] <= T0 + 3 * M + 31 * S
    assert pages[1][1].dedup_key == pages[0][1].dedup_key


def test_resolved_notification_then_group_is_gone(pipeline):
    pushes = [(T0, make_alert()), (T0 + 6 * M, make_alert(t=T0 + 6 * M, status="resolved", first=T0))]
    notes = run(pipeline, pushes, until=T0 + 30 * M)
    pages = by_receiver(notes, "pager")
    assert [n.status for _, n in pages] == ["firing", "resolved"]
    t, n = pages[1]
    assert T0 + 6 * M < t <= T0 + 30 * S + 10 * M
    assert n.alerts[0]["ends_ms"] == T0 + 6 * M
    assert pipeline.groups == {} and pipeline.alerts == {}
    # only the group's sequence is kept (a tombstone), so its next notifications get new ids
    assert [(e.firing, e.resolved) for e in pipeline.nflog.values()] == [([], [])] * len(pipeline.nflog)


def test_a_group_that_forms_again_continues_its_sequence_and_is_delivered(pipeline):
    import asyncio

    from streamer.alert.notify.base import DeliveryLog, Dispatcher, MemoryRetryQueue, Request

    first = [(T0, make_alert()), (T0 + 6 * M, make_alert(t=T0 + 6 * M, status="resolved", first=T0))]
    later = T0 + 3 * 60 * M  # the same user and detector again, a new incident
    second = [(later, make_alert("a2", t=later)),
              (later + 6 * M, make_alert("a2", t=later + 6 * M, status="resolved", first=later))]
    notes = run(pipeline, first, until=T0 + 30 * M) + run(pipeline, second, until=later + 30 * M)
    pages = by_receiver(notes, "pager")
    assert [n.status for _, n in pages] == ["firing", "resolved", "firing", "resolved"]
    assert [n.seq for _, n in pages] == [1, 2, 3, 4]
    assert len({n.notification_id for _, n in pages}) == 4

    class Sender:
        type = "pagerduty"

        def request(self, n, now_ms):
            return Request("", b"", {})  # no URL: written to the log, counts as delivered

    disp = Dispatcher({"pagerduty": Sender()}, MemoryRetryQueue(), delivered=DeliveryLog())
    outcomes = [asyncio.run(disp.deliver(n)) for _, n in pages]
    assert outcomes == ["delivered"] * 4


def test_alert_resolved_before_group_wait_sends_nothing(pipeline):
    pushes = [(T0, make_alert()), (T0 + 10 * S, make_alert(t=T0 + 10 * S, status="resolved"))]
    assert run(pipeline, pushes, until=T0 + 30 * M) == []
    assert pipeline.alerts == {}


def test_resolve_timeout_resolves_a_silent_alert(pipeline):
    notes = run(pipeline, [(T0, make_alert())], until=T0 + 80 * M, step=30 * S)
    pages = by_receiver(notes, "pager")
    assert [n.status for _, n in pages] == ["firing", "resolved"]
    assert pages[1][1].alerts[0]["ends_ms"] == T0 + 60 * M


def test_inhibition_critical_mutes_lower_alerts_of_same_user(pipeline):
    pushes = [(T0, make_alert("a1", severity="high")),
              (T0 + 1 * S, make_alert("a2", detector="vip_snooping", severity="critical")),
              (T0 + 2 * S, make_alert("b1", user="other", severity="high"))]
    notes = run(pipeline, pushes, until=T0 + 3 * M)
    jdoe = [n for _, n in by_receiver(notes, "pager") if n.group_labels["user_id"] == "jdoe"]
    assert len(jdoe) == 1
    assert [a["labels"]["alert_id"] for a in jdoe[0].alerts] == ["a2"]
    other = [n for _, n in by_receiver(notes, "pager") if n.group_labels["user_id"] == "other"]
    assert [a["labels"]["alert_id"] for a in other[0].alerts] == ["b1"]
    assert pipeline.muted  # a1 is recorded as inhibited


def test_inhibition_lifts_when_the_critical_alert_resolves(pipeline):
    pushes = [(T0, make_alert("a1", severity="high")),
              (T0, make_alert("a2", detector="vip_snooping", severity="critical")),
              (T0 + 2 * M, make_alert("a2", detector="vip_snooping", severity="critical",
                                      t=T0 + 2 * M, first=T0, status="resolved"))]
    pages = by_receiver(run(pipeline, pushes, until=T0 + 12 * M), "pager")
    assert [(n.status, [a["labels"]["alert_id"] for a in n.alerts]) for _, n in pages] == [
        ("firing", ["a2"]), ("firing", ["a1", "a2"])]
    assert pages[1][1].alerts[1]["ends_ms"]  # the critical one reported as resolved


def test_silence_mutes_until_expiry(pipeline):
    # irb-114 silences research_svc bulk exports from 03:00 to 04:00
    pushes = [(T0 + k * 10 * M, make_alert("r1", user="research_svc", t=T0 + k * 10 * M, first=T0))
              for k in range(9)]
    notes = run(pipeline, pushes, until=T0 + 90 * M, step=30 * S)
    pages = by_receiver(notes, "pager")
    assert len(pages) == 1
    t, n = pages[0]
    assert T0 + 60 * M <= t <= T0 + 65 * M  # first flush after the silence ended
    assert pipeline.silencer.expired(T0 + 61 * M)[0].id == "irb-114"


def test_silence_does_not_match_other_detectors(pipeline):
    notes = run(pipeline, [(T0, make_alert("r2", user="research_svc", detector="vip_snooping"))],
                until=T0 + 2 * M)
    assert len(by_receiver(notes, "pager")) == 1


def test_incident_storm_one_page(pipeline):
    """One user, 500 updates of the same incident over an hour, escalating: one page."""
    pushes = []
    for k in range(500):
        t = T0 + k * 7 * S
        pushes.append((t, make_alert("storm", severity="critical" if k > 250 else "high",
                                     t=t, first=T0, n=k + 1)))
    notes = run(pipeline, pushes, until=T0 + 70 * M, step=5 * S)
    pages = by_receiver(notes, "pager")
    assert len(pages) == 1
    assert pages[0][1].alerts[0]["alert"]["event_count"] == 5  # the latest version at group_wait (t=28s)
    assert len(pipeline.alerts) == 1


def test_out_of_order_update_is_ignored(pipeline):
    pipeline.push(make_alert(t=T0 + 5 * M, first=T0, n=50), T0 + 5 * M)
    pipeline.push(make_alert(t=T0 + 1 * M, first=T0, n=3), T0 + 5 * M)
    [rec] = pipeline.alerts.values()
    assert rec.alert["event_count"] == 50


def test_restore_between_two_notifications_no_duplicate_page(config):
    first = Pipeline(config)
    table: dict[str, bytes] = {}

    def persist(p):
        for k, v in p.drain_changes().items():
            if v is None:
                table.pop(k, None)
            else:
                table[k] = v

    notes = run(first, [(T0, make_alert())], until=T0 + 2 * M)
    persist(first)
    assert len(by_receiver(notes, "pager")) == 1
    restored = Pipeline(config)
    restored.import_state(table.items())
    later = run(restored, [(T0 + 3 * M, make_alert(t=T0 + 3 * M, first=T0, n=9)),
                           (T0 + 4 * M, make_alert("a2", detector="off_hours", t=T0 + 4 * M))],
                until=T0 + 12 * M)
    pages = by_receiver(later, "pager")
    # only the notification for the new alert a2, at the group_interval tick; no repeat of a1
    assert len(pages) == 1
    assert pages[0][0] == T0 + 30 * S + 5 * M
    assert pages[0][1].seq == 2
    assert restored.export_state().keys() == {**table, **{k: v for k, v in restored.drain_changes().items() if v}}.keys()


def test_fresh_pipeline_without_state_would_page_again(config):
    """Control for the restore test: without the state the same alert pages again."""
    run(Pipeline(config), [(T0, make_alert())], until=T0 + 2 * M)
    notes = run(Pipeline(config), [(T0 + 3 * M, make_alert(t=T0 + 3 * M, first=T0))], until=T0 + 12 * M)
    assert len(by_receiver(notes, "pager")) == 1


def test_notification_ids_are_deterministic_and_distinct(config):
    a = run(Pipeline(config), [(T0, make_alert())], until=T0 + 2 * M)
    b = run(Pipeline(config), [(T0, make_alert())], until=T0 + 2 * M)
    assert [n.notification_id for _, n in a] == [n.notification_id for _, n in b]
    assert len({n.notification_id for _, n in a}) == len(a) == 2


def test_annotations_carry_summary_explanation_and_dashboard_link(pipeline):
    [(_, n)] = by_receiver(run(pipeline, [(T0, make_alert(n=412, first=T0 - 4 * M))],
                               until=T0 + M), "pager")
    ann = n.alerts[0]["annotations"]
    assert ann["summary"] == "jdoe exported 412 studies; usual is 0-3 a day"
    assert ann["description"] == "exports_1h=412 (expected 1.2, baseline self)"
    assert ann["dashboard"] == (
        "http://grafana.test/d/pacs-user-investigation/user-investigation?var-user=jdoe"
        f"&from={T0 - 19 * M}&to={T0 + 15 * M}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["high", "critical"])), min_size=1, max_size=150),
       resolve=st.booleans())
def test_any_storm_of_one_incident_pages_once(config, steps, resolve):
    """Whatever the rhythm and escalation of one incident's updates (within repeat_interval)."""
    t, pushes = T0, []
    for k, (gap_s, severity) in enumerate(steps):
        t += gap_s * S
        pushes.append((t, make_alert("inc", severity=severity, t=t, first=T0, n=k + 1)))
    if resolve:
        pushes.append((t + S, make_alert("inc", t=t + S, first=T0, status="resolved")))
    pages = by_receiver(run(Pipeline(config), pushes, until=t + 20 * M), "pager")
    firing = [n for _, n in pages if n.status == "firing"]
    resolved = [n for _, n in pages if n.status == "resolved"]
    resolved_within_group_wait = resolve and t + S - pushes[0][0] <= 30 * S  # seen before the flush
    assert len(firing) == (0 if resolved_within_group_wait else 1)
    assert len(resolved) == (1 if resolve and firing else 0)
