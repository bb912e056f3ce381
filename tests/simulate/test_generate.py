from __future__ import annotations

import csv
import json
from datetime import date

import orjson
import pytest
from jsonschema import Draft202012Validator

from streamer.paths import schemas_dir
from streamer.simulate.generate import Simulation, simulate_to_dir
from streamer.simulate.hospital import ROLES
from streamer.simulate.incidents import TYPES
from streamer.timeutil import parse_time

FILES = ("events.jsonl", "labels.jsonl", "roster.csv", "watchlist.csv")


def _events(path):
    return [orjson.loads(line) for line in (path / "events.jsonl").read_bytes().splitlines()]


def _labels(path):
    return [orjson.loads(line) for line in (path / "labels.jsonl").read_bytes().splitlines()]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, small_sim):
    out, _ = small_sim
    again = tmp_path / "again"
    simulate_to_dir(again, seed=11, users=40, days=4, incidents_per_type=1)
    for name in FILES:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other"
    simulate_to_dir(other, seed=12, users=40, days=4, incidents_per_type=1)
    assert (other / "events.jsonl").read_bytes() != (out / "events.jsonl").read_bytes()


def test_events_are_ordered_unique_and_valid_against_the_schema(small_sim):
    out, counts = small_sim
    events = _events(out)
    assert len(events) == counts["events"] > 1000
    validator = Draft202012Validator(json.loads((schemas_dir() / "event.schema.json").read_text()))
    for e in events:
        errors = list(validator.iter_errors(e))
        assert not errors, (e["event_id"], errors[0].message)
    times = [parse_time(e["event_time"]) for e in events]
    assert times == sorted(times)
    assert len({e["event_id"] for e in events}) == len(events)
    assert {r for e in events for r in e["user"].get("roles", [])} <= set(ROLES)


def test_every_incident_type_is_labelled_with_existing_events(small_sim):
    out, _ = small_sim
    events = {e["event_id"]: e for e in _events(out)}
    labels = _labels(out)
    assert sorted({lab["type"] for lab in labels}) == sorted(TYPES)
    assert len({lab["incident_id"] for lab in labels}) == len(labels)
    seen = set()
    for lab in labels:
        assert lab["event_ids"], lab
        assert not seen & set(lab["event_ids"]), "an event belongs to one incident"
        seen |= set(lab["event_ids"])
        times = [parse_time(events[i]["event_time"]) for i in lab["event_ids"]]
        assert min(times) == parse_time(lab["start_time"]) and max(times) == parse_time(lab["end_time"])
        if lab["type"] not in ("password_spray", "grant_then_export"):
            assert {events[i]["user"]["id"] for i in lab["event_ids"]} == {lab["user_id"]}, lab


def test_incident_shapes(small_sim):
    out, _ = small_sim
    events = {e["event_id"]: e for e in _events(out)}
    by_type = {}
    for lab in _labels(out):
        by_type.setdefault(lab["type"], []).append([events[i] for i in lab["event_ids"]])
    bulk = by_type["bulk_export"][0]
    assert sum(e["action"] == "export" for e in bulk) >= 80
    assert any(e["action"] == "emergency_access" for e in by_type["break_glass"][0])
    spray = by_type["password_spray"][0]
    assert len({e["client"]["ip"] for e in spray}) == 1 and len({e["user"]["id"] for e in spray}) >= 15
    assert all(e["action"] == "login_failed" for e in spray)
    assert any(e["action"] == "export" and e["user"]["mfa"] is False for e in by_type["missing_mfa"][0])
    grant = by_type["grant_then_export"][0]
    change = next(e for e in grant if e["action"] == "permission_change")
    assert grant[-1]["action"] == "export" and change["target_user"]["id"] == grant[-1]["user"]["id"]
    odd = by_type["odd_hours"][0]
    assert all(int(e["event_time"][11:13]) < 6 for e in odd)


def test_normal_traffic_keeps_its_promises(small_sim):
    """No break-glass, same-surname or own-record access outside the labelled incidents."""
    out, _ = small_sim
    labelled = {i for lab in _labels(out) for i in lab["event_ids"]}
    watch = {r["patient_id"]: r for r in csv.DictReader(open(out / "watchlist.csv"))}
    for e in _events(out):
        if e["event_id"] in labelled:
            continue
        assert e["action"] != "emergency_access"
        if "patient" in e and e["user"].get("name"):
            assert e["patient"]["name"].split("^")[0] != e["user"]["name"].split()[-1].upper(), e
            row = watch.get(e["patient"]["id"])
            assert not row or row["employee_user_id"] != e["user"]["id"]


def test_roster_and_watchlist_format(small_sim):
    out, _ = small_sim
    rows = list(csv.reader(open(out / "roster.csv", newline="")))
    assert rows[0] == ["user_id", "name", "roles", "department", "status", "end_date"]
    ids = set()
    for uid, name, roles, dept, status, end in rows[1:]:
        assert uid and uid not in ids and name and dept
        ids.add(uid)
        assert set(roles.split(";")) <= set(ROLES)
        assert status in ("active", "terminated", "suspended")
        if status != "active":
            date.fromisoformat(end)
        elif end:
            date.fromisoformat(end)   # temporary role
    statuses = {r[4] for r in rows[1:]}
    assert statuses == {"active", "terminated", "suspended"}
    assert any(r[4] == "active" and r[5] for r in rows[1:]), "temporary roles with an end date"
    w = list(csv.reader(open(out / "watchlist.csv", newline="")))
    assert w[0] == ["patient_id", "category", "employee_user_id"]
    assert {r[1] for r in w[1:]} == {"vip", "employee", "restricted"}
    for pid, cat, emp in w[1:]:
        assert pid and (emp in ids if cat == "employee" else emp == "")


def test_inactive_accounts_only_act_in_incidents(small_sim):
    out, _ = small_sim
    labelled = {i for lab in _labels(out) for i in lab["event_ids"]}
    roster = {r["user_id"]: r for r in csv.DictReader(open(out / "roster.csv"))}
    for e in _events(out):
        r = roster.get(e["user"]["id"])
        if e["event_id"] in labelled or r is None and e["action"] == "login_failed":
            continue
        assert r is not None, e
        if r["end_date"]:
            assert e["event_time"][:10] < r["end_date"], e


def test_rejects_bad_sizes():
    with pytest.raises(ValueError):
        Simulation(users=3)
    with pytest.raises(ValueError):
        Simulation(users=20, days=2, types=("no_such_type",))
