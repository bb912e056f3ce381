"""Deterministic sample data for every table the dashboards read: enriched events, alerts, triage
history, roster snapshots and pipeline metrics. Used for the PNG previews and the panel tests; the
same seed gives the same rows.

Contains a night-time bulk export, a terminated user still reading studies, a failed-login burst,
an administrator granting privileges and a break-glass access, over ordinary daytime traffic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from streamer.store.rows import ms_to_datetime
from streamer.timeutil import format_ms, parse_time

HOUR = 3_600_000
DAY = 24 * HOUR
DEPARTMENTS = ("neuroradiology", "body", "cardiology", "emergency")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    roles: tuple[str, ...]
    department: str
    status: str = "active"
    end_day: int | None = None  # day index (0 = first day) after which the roster says terminated
    active: bool = True         # generates traffic at all


def people() -> list[Person]:
    staff = []
    for i in range(16):
        dept = DEPARTMENTS[i % 4]
        role = ("radiologist", "technologist", "referring_physician", "student")[i // 4 % 4]
        staff.append(Person(f"u{i:02d}", f"User {i:02d}", (role,), dept))
    staff += [
        Person("admin1", "Ada Admin", ("system_administrator",), "it"),
        Person("admin2", "Bob Admin", ("system_administrator",), "it"),
        Person("comp1", "Cleo Compliance", ("compliance_officer",), "compliance"),
        Person("mbrown", "Mark Brown", ("radiologist",), "neuroradiology"),
        Person("tgone", "Tara Gone", ("technologist",), "body", "terminated", end_day=1),
        Person("ssusp", "Sam Suspended", ("student",), "emergency", "suspended", active=False),
        Person("idle1", "Ivy Idle", ("referring_physician",), "cardiology", active=False),
        Person("idle2", "Ian Idle", ("scheduler",), "emergency", active=False),
    ]
    return staff


def _severity(score: float) -> str:
    for limit, name in ((0.5, "none"), (0.7, "low"), (0.85, "medium"), (0.95, "high")):
        if score < limit:
            return name
    return "critical"


class Sample:
    """Rows for [end_ms - 2 * days, end_ms): the earlier half is the drift reference period."""

    def __init__(self, end_ms: int, days: int = 2, seed: int = 7):
        self.rng = random.Random(seed)
        self.end_ms = end_ms - end_ms % HOUR
        self.start_ms = self.end_ms - 2 * days * DAY
        self.people = people()
        self.events: list[dict] = []
        self.alerts: list[dict] = []
        self.status_rows: list[dict] = []
        self._seq = 0
        self._build_events()
        self._build_alerts()

    # --- events ---------------------------------------------------------------------------------
    def _event(self, p: Person, ms: int, action: str, score: float, detectors=(), **parts) -> dict:
        self._seq += 1
        night = ms % DAY < 7 * HOUR or ms % DAY >= 19 * HOUR
        base = {"events_1h": 12.0, "patients_1h": 6.0, "exports_1h": 0.3, "off_hours": 0.1,
                "remote": 0.1, "failed_logins_1h": 0.2}
        drift = 1.0 + 0.15 * (ms - self.start_ms) / (self.end_ms - self.start_ms)
        actual = {k: round(v * drift * self.rng.uniform(0.6, 1.4), 3) for k, v in base.items()}
        actual["off_hours"] = 1.0 if night else 0.0
        if action == "export":
            actual["exports_1h"] = parts.pop("exports_1h", 1.0)
        if action == "login_failed":
            actual["failed_logins_1h"] = parts.pop("failed_1h", 1.0)
        late = ms >= self.start_ms + (self.end_ms - self.start_ms) // 2
        event = {
            "schema_version": 1, "event_id": f"ev-{self._seq:06d}", "event_time": format_ms(ms),
            "source": "pacs-main", "action": action,
            "outcome": parts.pop("outcome", "success"),
            "user": {"id": p.id, "name": p.name, "roles": list(p.roles), "department": p.department,
                     "mfa": True, "session_id": f"s-{p.id}-{ms // DAY}"},
            "client": {"ip": f"10.0.{len(p.id)}.{self._seq % 200 + 1}", "host": f"ws-{p.id}",
                       "remote": parts.pop("remote", False), "location": "main-campus"},
            **parts,
            "enrichment": {
                "peer_group": f"{p.roles[0]}|{p.department}", "features": actual, "expected": base,
                "anomaly_score": round(score, 4),
                "model_version": "iforest-2026.11.15" if late else "iforest-2026.11.01",
                "detectors": list(detectors), "risk": round(min(100.0, score * 100), 1),
                "severity": _severity(score) if detectors or score >= 0.5 else "none",
            },
        }
        self.events.append(event)
        return event

    def _study(self, p: Person, n: int, sensitivity: str = "normal") -> dict:
        return {"patient": {"id": f"MRN{n:05d}", "name": f"PATIENT^{n}"},
                "study": {"uid": f"1.2.840.{n}.{n % 7}", "accession": f"A{n:05d}", "modality": "MR CT CR US".split()[n % 4],
                          "department": p.department, "sensitivity": sensitivity,
                          "instances": 100 + n % 300, "bytes": (100 + n % 300) * 520_000}}

    def _build_events(self) -> None:
        rng = self.rng
        for day in range(int((self.end_ms - self.start_ms) // DAY)):
            day_ms = self.start_ms + day * DAY
            for p in self.people:
                if not p.active or (p.end_day is not None and day > p.end_day + 1):
                    continue
                start = day_ms + (7 + rng.randint(0, 2)) * HOUR
                self._event(p, start, "login", rng.uniform(0.05, 0.3))
                for k in range(rng.randint(10, 22)):
                    ms = start + rng.randint(1, 9 * HOUR)
                    if p.roles[0] == "system_administrator":
                        action = rng.choice(["query", "config_change", "permission_change", "view"])
                        target = {"target_user": {"id": rng.choice(["u01", "u05"]), "roles": ["radiologist"]}}
                        self._event(p, ms, action, rng.uniform(0.1, 0.45), **(target if action == "permission_change" else {}))
                        continue
                    action = rng.choice(["view"] * 8 + ["annotate", "query", "export"])
                    extra = {}
                    if action == "export":
                        extra = {"destination": {"type": "dicom_node", "id": "REF_AE", "external": False}}
                    hit = [rng.choice(("peer_outlier", "off_hours_access"))] if rng.random() < 0.01 else []
                    score = rng.uniform(0.6, 0.9) if hit else rng.uniform(0.05, 0.55)
                    self._event(p, ms, action, score, hit, **self._study(p, rng.randint(1, 400)), **extra)
                if p.end_day is not None and day > p.end_day:  # terminated, still reading
                    for k in range(3):
                        self._event(p, start + (k + 1) * HOUR, "view", 0.9, ["terminated_access"],
                                    **self._study(p, 500 + k, "restricted"))
        end = self.end_ms
        night = end - DAY + 2 * HOUR  # 02:00 of the last day
        mb = next(p for p in self.people if p.id == "mbrown")
        for k in range(60):
            self._event(mb, night + k * 60_000, "export", 0.97, ["bulk_export", "off_hours_access"],
                        exports_1h=float(k + 1), remote=True,
                        destination={"type": "cloud", "id": "dropbox.example", "external": True},
                        **self._study(mb, 1000 + k, "vip" if k % 10 == 0 else "normal"))
        victim = next(p for p in self.people if p.id == "u03")
        for k in range(25):
            self._event(victim, end - 8 * HOUR + k * 20_000, "login_failed", 0.8 if k > 10 else 0.4,
                        ["failed_login_burst"] if k > 10 else [], outcome="minor_failure", failed_1h=float(k + 1))
        admin = next(p for p in self.people if p.id == "admin2")
        self._event(admin, end - 5 * HOUR, "permission_change", 0.88, ["privilege_change"],
                    target_user={"id": "mbrown", "roles": ["system_administrator"]})
        doc = next(p for p in self.people if p.id == "u04")
        self._event(doc, end - 3 * HOUR, "emergency_access", 0.75, ["peer_outlier"], **self._study(doc, 77, "vip"))
        self.events.sort(key=lambda e: e["event_time"])

    # --- alerts and triage ---------------------------------------------------------------------
    def _build_alerts(self) -> None:
        incidents: dict[tuple[str, str, int], list[dict]] = {}
        for e in self.events:
            for d in e["enrichment"]["detectors"]:
                day = (int(_ms(e)) - self.start_ms) // DAY
                incidents.setdefault((e["user"]["id"], d, day), []).append(e)
        owners = ["", "alice", "bob"]
        outcomes = ["resolved_true_positive", "resolved_false_positive", "investigating", "acknowledged", ""]
        for n, ((user, detector, _), events) in enumerate(sorted(incidents.items())):
            first, last = events[0], events[-1]
            enr = max((e["enrichment"] for e in events), key=lambda x: x["anomaly_score"])
            alert_id = f"al-{n:04d}"
            feature = {"bulk_export": "exports_1h", "failed_login_burst": "failed_logins_1h"}.get(detector, "off_hours")
            self.alerts.append({
                "alert_id": alert_id, "user_id": user, "detector": detector,
                "severity": enr["severity"] if enr["severity"] != "none" else "low",
                "score": enr["anomaly_score"], "risk": enr["risk"],
                "event_ids": [e["event_id"] for e in events],
                "first_event_time": first["event_time"], "last_event_time": last["event_time"],
                "updated_time": last["event_time"], "status": "firing",
                "summary": f"{user}: {len(events)} {detector.replace('_', ' ')} events",
                "explanation": [{"feature": feature, "value": last["enrichment"]["features"][feature],
                                 "expected": last["enrichment"]["expected"][feature], "baseline": "self"}],
                "labels": {"user_id": user, "detector": detector, "department": first["user"]["department"],
                           "severity": enr["severity"]},
                "peer_group": enr["peer_group"], "detectors": [detector], "incident": alert_id[-4:],
            })
            outcome = outcomes[n % len(outcomes)]
            opened = _ms(first) + 10 * 60_000
            self.status_rows.append(self._status(alert_id, opened, "open", "", "engine"))
            if outcome:
                owner = owners[n % 3] or "alice"
                self.status_rows.append(self._status(alert_id, opened + HOUR, "acknowledged", owner, owner))
                if outcome != "acknowledged":
                    self.status_rows.append(self._status(alert_id, opened + 2 * HOUR, outcome, owner, owner))

    @staticmethod
    def _status(alert_id: str, ms: int, status: str, owner: str, who: str) -> dict:
        return {"alert_id": alert_id, "changed_at": ms_to_datetime(ms), "status": status, "owner": owner,
                "note": "", "who": who}

    # --- context and metrics --------------------------------------------------------------------
    def roster_rows(self) -> list[dict]:
        rows = []
        for p in self.people:
            rows.append({"snapshot_time": ms_to_datetime(self.start_ms - DAY), "user_id": p.id, "name": p.name,
                         "roles": list(p.roles), "department": p.department,
                         "status": "active" if p.end_day is not None else p.status, "end_date": None})
            if p.end_day is not None:
                end = ms_to_datetime(self.start_ms + p.end_day * DAY)
                rows.append({**rows[-1], "snapshot_time": end, "status": p.status, "end_date": end.date()})
        return rows

    def metric_rows(self) -> list[dict]:
        rng, rows = random.Random(11), []
        nrng = random.Random(12)  # notifications: their own stream, the other series stay as they were
        for ms in range(self.start_ms, self.end_ms, 10 * 60_000):
            t = ms_to_datetime(ms)
            for worker in ("w1", "w2"):
                rate = 40 + 30 * rng.random()
                for component, factor in (("ingest", 1.0), ("normalize", 0.99), ("score", 0.99), ("sink", 0.98)):
                    rows.append(_metric(t, worker, component, "rows_per_s", "", rate * factor))
                rows.append(_metric(t, worker, "sink", "batch_latency_ms", "", rng.lognormvariate(3.5, 0.4)))
                rows.append(_metric(t, worker, "sink", "retries", "", float(rng.random() < 0.05)))
                rows.append(_metric(t, worker, "sink", "given_up", "", float(rng.random() < 0.005)))
                for part in range(2):
                    label = f"pacs.audit.events:{part + (2 if worker == 'w2' else 0)}"
                    rows.append(_metric(t, worker, "score", "consumer_lag", label, float(rng.randint(0, 40))))
            for reason in ("parse_error", "schema_violation"):
                if rng.random() < 0.3:
                    rows.append(_metric(t, "w1", "normalize", "dead_letters", reason, float(rng.randint(1, 4))))
            if nrng.random() < 0.1:  # a receiver briefly down: notifications parked, retried later
                rows.append(_metric(t, "w1", "notify", "retries", "parked", float(nrng.randint(1, 6))))
            if nrng.random() < 0.01:
                rows.append(_metric(t, "w1", "notify", "retries", "worker errors", 1.0))
        return rows

    def load(self, store) -> dict[str, int]:
        """Insert everything into a migrated store; returns rows per table."""
        return {
            "events": store.insert_events(self.events, ingest_ms=self.end_ms),
            "alerts": store.insert_alerts(self.alerts, ingest_ms=self.end_ms),
            "alert_status": store.insert_rows("alert_status", self.status_rows),
            "roster_snapshots": store.insert_rows("roster_snapshots", self.roster_rows()),
            "pipeline_metrics": store.insert_rows("pipeline_metrics", self.metric_rows()),
        }


def _ms(event: dict) -> int:
    return parse_time(event["event_time"])


def _metric(t, worker: str, component: str, metric: str, label: str, value: float) -> dict:
    return {"time": t, "worker": worker, "component": component, "metric": metric, "label": label,
            "value": round(value, 3)}
