"""The regional imaging-network held-out generator writes contract-valid, labelled, deterministic scenarios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "models" / "heldout" / "network" / "generate.py"
VAL = ROOT / "models" / "heldout" / "network" / "validate.py"
TYPES = {"bulk_export", "odd_hours", "patient_sweep", "export_destination", "role_permission", "missing_mfa",
         "inactive_user", "dormant_account", "failed_login_burst", "password_spray", "grant_then_export",
         "config_change", "watchlist_patient", "self_access", "same_surname", "break_glass", "expired_role"}
FILES = ("events.jsonl", "roster.csv", "watchlist.csv", "labels.jsonl", "meta.json")


def _gen(out: Path, seed: int = 5) -> None:
    subprocess.run([sys.executable, str(GEN), "--seed", str(seed), "--users", "120", "--days", "14",
                    "--start", "2026-03-02", "--tz", "-5", "--out", str(out), "--per-type", "1"],
                   check=True, capture_output=True)


def test_network_generator_valid_labelled_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _gen(a)
    r = subprocess.run([sys.executable, str(VAL), str(a)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    labels = [json.loads(x) for x in (a / "labels.jsonl").read_text().splitlines() if x.strip()]
    assert {x["type"] for x in labels} == TYPES
    ids = set()
    for line in (a / "events.jsonl").read_text().splitlines():
        ids.add(json.loads(line)["event_id"])
    for x in labels:
        assert x["event_ids"] and set(x["event_ids"]) <= ids
    first = (a / "events.jsonl").read_text().splitlines()[0]
    assert json.loads(first)["event_time"].endswith("-05:00")
    _gen(b)
    for f in FILES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_network_validator_rejects_bad_event(tmp_path):
    a = tmp_path / "a"
    _gen(a, seed=6)
    lines = (a / "events.jsonl").read_text().splitlines()
    e = json.loads(lines[3])
    e["action"] = "peek"
    lines[3] = json.dumps(e)
    (a / "events.jsonl").write_text("\n".join(lines) + "\n")
    r = subprocess.run([sys.executable, str(VAL), str(a)], capture_output=True, text=True)
    assert r.returncode == 1
