"""Small deterministic hospital traffic for tests, examples and benchmarks (not the evaluation
generator): a handful of departments, day and night shifts, weekends off for day staff.

>>> evs = week(n_users=6, days=1, seed=1)
>>> evs[0]["schema_version"], all(a["event_time"] <= b["event_time"] for a, b in zip(evs, evs[1:]))
(1, True)
"""

from __future__ import annotations

import random

from streamer.timeutil import format_ms, parse_time

START = parse_time("2026-11-02T00:00:00.000Z")  # a Monday
HOUR = 3_600_000

# role, department, shift start hour (UTC), shift hours, works weekends, views per hour, exports/day
PROFILES = (
    ("radiologist", "neuroradiology", 8, 9, False, 14, 1.0),
    ("radiologist", "body", 8, 9, False, 16, 0.5),
    ("technologist", "ct", 7, 8, True, 10, 0.0),
    ("technologist", "ct", 22, 8, True, 8, 0.0),     # night shift
    ("referring_physician", "cardiology", 9, 8, False, 3, 0.0),
    ("teleradiologist", "neuroradiology", 21, 9, True, 12, 0.0),
    ("student", "body", 9, 6, False, 4, 0.0),
)


def user(uid: str, role: str, dept: str, name: str | None = None, mfa: bool = True) -> dict:
    return {"id": uid, "name": name or f"User {uid.title()}", "roles": [role], "department": dept,
            "mfa": mfa}


def event(eid: str, ms: int, who: dict, action: str = "view", *, outcome: str = "success",
          patient: str | None = None, study: dict | None = None, **parts) -> dict:
    """A canonical event; `parts` adds client/destination/target_user/detail/patient_name."""
    ev = {"schema_version": 1, "event_id": eid, "event_time": format_ms(ms), "source": "test",
          "action": action, "outcome": outcome, "user": dict(who),
          "client": parts.pop("client", {"ip": "10.0.0.5", "host": "ws-1", "remote": False})}
    if patient:
        ev["patient"] = {"id": patient}
        if "patient_name" in parts:
            ev["patient"]["name"] = parts.pop("patient_name")
    if study:
        ev["study"] = study
    ev.update(parts)
    return ev


def users(n_users: int) -> list[tuple[dict, tuple]]:
    out = []
    for i in range(n_users):
        prof = PROFILES[i % len(PROFILES)]
        out.append((user(f"u{i:03d}", prof[0], prof[1]), prof))
    return out


def week(n_users: int = 20, days: int = 7, seed: int = 7, start: int = START) -> list[dict]:
    """Ordinary traffic of `n_users` over `days`, sorted by event time."""
    rng = random.Random(seed)
    events = []
    n = 0
    for who, (role, dept, begin, length, weekends, rate, exports) in users(n_users):
        pool = [f"P{dept[:3].upper()}{k:04d}" for k in range(400)]
        host = f"ws-{who['id']}"
        for day in range(days):
            if not weekends and day % 7 >= 5:
                continue
            t0 = start + day * 24 * HOUR + begin * HOUR
            t = t0 + rng.randrange(0, 20 * 60_000)
            events.append(event(f"e{n}", t, who, "login", client={"ip": "10.1.0.1", "host": host}))
            n += 1
            for h in range(length):
                for _ in range(max(0, int(rng.gauss(rate, rate / 3)))):
                    ms = t0 + h * HOUR + rng.randrange(HOUR)
                    pid = rng.choice(pool)
                    study = {"uid": f"1.2.{pid}.{rng.randrange(3)}", "modality": "CT",
                             "department": dept, "sensitivity": "normal", "instances": 300,
                             "bytes": 150 << 20}
                    events.append(event(f"e{n}", ms, who, "view", patient=pid, study=study,
                                        client={"ip": "10.1.0.1", "host": host}))
                    n += 1
            for _ in range(int(exports + rng.random())):
                ms = t0 + rng.randrange(length * HOUR)
                pid = rng.choice(pool)
                study = {"uid": f"1.2.{pid}.0", "department": dept, "instances": 300,
                         "bytes": 150 << 20}
                events.append(event(f"e{n}", ms, who, "export", patient=pid, study=study,
                                    destination={"type": "dicom_node", "id": "PACS_B",
                                                 "external": False},
                                    client={"ip": "10.1.0.1", "host": host}))
                n += 1
            if rng.random() < 0.1:
                events.append(event(f"e{n}", t - 60_000, who, "login_failed", outcome="minor_failure",
                                    client={"ip": "10.1.0.1", "host": host}))
                n += 1
    events.sort(key=lambda e: e["event_time"])
    return events


def come_back(engine, eid: str, ms: int, who: dict, action: str = "login", records: int = 3,
              **parts) -> list[dict]:
    """A return to work: `action` at `ms`, then `records` views of distinct patients a minute
    apart from the same client; the final version of every alert raised on the way."""
    alerts = {a["alert_id"]: a for a in engine.process(event(eid, ms, who, action, **parts))[1]}
    extra = {"client": parts["client"]} if "client" in parts else {}
    for i in range(records):
        for a in engine.process(event(f"{eid}-v{i}", ms + (i + 1) * 60_000, who, patient=f"{eid}-P{i}",
                                      study={"uid": f"{eid}-s{i}"}, **extra))[1]:
            alerts[a["alert_id"]] = a
    return list(alerts.values())
