"""Injected incidents: one planner and one injector per type, labelled for evaluation.

Types are named like the detectors that should catch them (models/detectors). Some have subtypes
(e.g. inactive_user: terminated, suspended, unknown). Planning happens before traffic is
generated because some incidents change a user's normal life (a dormant account stays silent,
a terminated user stops working); injection adds the incident's events on its day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from streamer.simulate.hospital import (DAY_MS, HOUR_MS, IMAGING, KNOWN_DESTINATIONS, MINUTE_MS,
                                        ROGUE_DESTINATIONS, UNKNOWN_USER_IDS, Hospital, User)
from streamer.simulate.traffic import Traffic, fmt_ms

TYPES = ("bulk_export", "odd_hours", "patient_sweep", "export_destination", "role_permission", "missing_mfa",
         "inactive_user", "dormant_account", "failed_login_burst", "password_spray",
         "grant_then_export", "config_change", "watchlist_patient", "self_access", "break_glass",
         "expired_role")


@dataclass
class Incident:
    """One planned incident; `out` receives its (time, seq, event) tuples when injected."""
    type: str
    day: int
    t0: int
    user: User | None = None
    subtype: str = ""
    extra: dict = field(default_factory=dict)
    out: list = field(default_factory=list)

    def label(self, incident_id: str) -> dict:
        times = [t for t, _, _ in self.out]
        events = sorted(self.out, key=lambda x: (x[0], x[1]))
        return {"incident_id": incident_id, "type": self.type, "subtype": self.subtype,
                "user_id": self.extra.get("user_id") or (self.user.id if self.user else ""),
                "start_time": fmt_ms(min(times)), "end_time": fmt_ms(max(times)),
                "event_ids": [e["event_id"] for _, _, e in events],
                "description": self.extra.get("description", "")}


class Injector:
    """Plans incidents over a hospital and injects their events day by day."""

    def __init__(self, h: Hospital, tr: Traffic, rng: random.Random, warm: int):
        self.h, self.tr, self.rng, self.warm = h, tr, rng, warm
        self.taken: set = set()
        self.by_day: dict = {}
        self.incidents: list = []

    # --- helpers ----------------------------------------------------------------------------
    def day(self, weekday: bool = True, lo: int | None = None) -> int:
        lo = self.warm if lo is None else lo
        days = list(range(min(lo, self.h.days - 1), self.h.days))
        good = [d for d in days if self.h.weekday(d) < 5] if weekday else days
        return self.rng.choice(good or days)

    def at(self, day: int, h0: float, h1: float) -> int:
        return self.h.start_ms + day * DAY_MS + int(self.rng.uniform(h0, h1) * HOUR_MS)

    def user(self, pred) -> User | None:
        pool = [u for u in self.h.users if u.id not in self.taken and u.active_until > 10**5 and pred(u)]
        if not pool:
            pool = [u for u in self.h.users if u.id not in self.taken and pred(u)]
        if not pool:
            return None
        u = self.rng.choice(pool)
        self.taken.add(u.id)
        return u

    def add(self, inc: Incident | None) -> None:
        if inc is not None:
            self.incidents.append(inc)
            self.by_day.setdefault(inc.day, []).append(inc)

    def plan(self, kind: str, t0: int | None = None) -> None:
        """Plan one incident of `kind` (at `t0` when given, e.g. for the live demo)."""
        self.add(getattr(self, "_plan_" + kind)(t0))

    def inject(self, day: int) -> list:
        out = []
        for inc in self.by_day.get(day, ()):
            getattr(self, "_inject_" + inc.type)(inc, self.rng)
            out += inc.out
        return out

    def sess(self, inc: Incident, u: User, mfa: bool, remote: bool = False, host=None, k: int = 0):
        user, client = self.tr.session(u, inc.day, 100 + len(self.incidents) + k, mfa, remote, host)
        return user, client

    def studies(self, dept: str, n: int, rng: random.Random, distinct_patients: bool = False) -> list:
        pool = self.tr.today.get(dept, []) + self.tr.recent.get(dept, []) + self.h.prior_studies[dept]
        pool = [s for s in pool if not self.h.patients[s.patient_index][3]]
        if distinct_patients:
            seen, uniq = set(), []
            for s in pool:
                if s.patient_index not in seen:
                    seen.add(s.patient_index)
                    uniq.append(s)
            pool = uniq
        return rng.sample(pool, k=min(n, len(pool)))

    def _t(self, inc: Incident, h0: float, h1: float, weekday: bool = True) -> tuple:
        day = inc.day if inc.t0 else self.day(weekday)
        return day, inc.t0 or self.at(day, h0, h1)

    def _new(self, kind: str, t0: int | None, h0: float, h1: float, weekday: bool = True,
             pred=lambda u: True, subtype: str = "") -> Incident | None:
        u = self.user(pred)
        if u is None:
            return None
        day = self.h.day_of(t0) if t0 else self.day(weekday)
        return Incident(kind, day, t0 or self.at(day, h0, h1), u, subtype)

    def _views(self, inc, user, client, studies, t, rng, gap=(20, 120), action="view"):
        ev = self.tr.event
        for s in studies:
            ev(inc.out, t, action, user, client, s)
            t += int(rng.uniform(*gap) * 1000)
        return t

    def _login(self, inc, user, client, t):
        self.tr.event(inc.out, t, "login", user, client)
        return t + 20_000

    # --- bulk export ------------------------------------------------------------------------
    def _plan_bulk_export(self, t0):
        pred = (lambda u: u.role == "radiologist" and u.destinations and u.shift != "day") if t0 else \
            (lambda u: u.role == "radiologist" and u.destinations and u.shift == "day")
        inc = self._new("bulk_export", t0, 10, 14, pred=pred) or self._new(
            "bulk_export", t0, 10, 14, pred=lambda u: u.role == "radiologist")
        return inc

    def _inject_bulk_export(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, True)
        t = self._login(inc, user, client, inc.t0)
        kind, ident, ext = (u.destinations or KNOWN_DESTINATIONS["body imaging"])[0]
        n = rng.randint(80, 300)
        dests = {"type": kind, "id": ident, "external": ext}
        for s in self.studies(u.department if u.department in IMAGING else "body imaging", n, rng):
            self.tr.event(inc.out, t, "export", user, client, s, destination=dests)
            t += int(rng.uniform(3, 15) * 1000)
        self.tr.event(inc.out, t, "logout", user, client)
        inc.extra["description"] = f"{u.id} exported {n} studies to {ident} in one session"

    # --- odd hours --------------------------------------------------------------------------
    def _plan_odd_hours(self, t0):
        return self._new("odd_hours", t0, 1.5, 4.0, pred=lambda u: u.shift == "day" and not u.on_call and u.role in (
            "radiologist", "technologist", "referring_physician", "student"))

    def _inject_odd_hours(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        t = self._views(inc, user, client, self.studies(u.department if u.department in IMAGING else
                                                        "body imaging", rng.randint(4, 12), rng), t, rng)
        self.tr.event(inc.out, t, "logout", user, client)
        inc.extra["description"] = f"{u.id} ({u.shift} shift) worked at night on campus"

    # --- patient sweep ----------------------------------------------------------------------
    def _plan_patient_sweep(self, t0):
        return self._new("patient_sweep", t0, 9.5, 13, pred=lambda u: u.shift == "day" and u.role in (
            "radiologist", "referring_physician", "student", "technologist"))

    def _inject_patient_sweep(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        dept = rng.choice(IMAGING)
        studies = self.studies(dept, rng.randint(80, 200), rng, distinct_patients=True)
        t = self._views(inc, user, client, studies, t, rng, gap=(8, 30))
        self.tr.event(inc.out, t, "logout", user, client)
        inc.extra["description"] = f"{u.id} opened {len(studies)} distinct patients of {dept}"

    # --- first-time external destination ----------------------------------------------------
    def _plan_export_destination(self, t0):
        return self._new("export_destination", t0, 10, 15, pred=lambda u: u.role == "radiologist" and u.destinations
                         and u.shift == "day")

    def _inject_export_destination(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, True)
        t = self._login(inc, user, client, inc.t0)
        kind, ident, ext = rng.choice(ROGUE_DESTINATIONS)
        for s in self.studies(u.department, rng.randint(1, 4), rng):
            self.tr.event(inc.out, t, "export", user, client, s,
                          destination={"type": kind, "id": ident, "external": ext})
            t += int(rng.uniform(30, 200) * 1000)
        inc.extra["description"] = f"{u.id} exported to never-seen external {ident}"

    # --- action outside role ----------------------------------------------------------------
    _ROLE_ABUSE = {"technologist": ("export", "delete"), "referring_physician": ("annotate", "export", "delete"),
                   "compliance_officer": ("view",), "student": ("export", "delete"), "scheduler": ("view",)}

    def _plan_role_permission(self, t0):
        inc = self._new("role_permission", t0, 9.5, 15, pred=lambda u: u.role in self._ROLE_ABUSE
                        and u.shift == "day")
        if inc:
            inc.subtype = self.rng.choice(self._ROLE_ABUSE[inc.user.role])
        return inc

    def _inject_role_permission(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, True)
        t = self._login(inc, user, client, inc.t0)
        dept = u.department if u.department in IMAGING else rng.choice(IMAGING)
        dest = KNOWN_DESTINATIONS.get(dept, KNOWN_DESTINATIONS["body imaging"])[0]
        for s in self.studies(dept, rng.randint(1, 4), rng):
            extra = {"destination": {"type": dest[0], "id": dest[1], "external": dest[2]}} \
                if inc.subtype == "export" else {}
            self.tr.event(inc.out, t, inc.subtype, user, client, s, **extra)
            t += int(rng.uniform(30, 300) * 1000)
        inc.extra["description"] = f"{u.id} ({u.role}) did {inc.subtype}, not in the role's permissions"

    # --- missing MFA ------------------------------------------------------------------------
    def _plan_missing_mfa(self, t0):
        sub = ("export", "admin", "remote")[sum(i.type == "missing_mfa" for i in self.incidents) % 3]
        role = {"export": "radiologist", "admin": "system_administrator", "remote": "teleradiologist"}[sub]
        pred = (lambda u: u.role == role and (u.destinations or sub != "export"))
        if sub == "admin":
            day = self.day()
            while self.h.weekday(day) not in (1, 3) and any(self.h.weekday(d) in (1, 3)
                                                            for d in range(self.warm, self.h.days)):
                day = self.day()
            u = self.user(pred)
            return u and Incident("missing_mfa", day, self.at(day, 18.0, 19.5), u, sub)
        if sub == "remote":
            inc = self._new("missing_mfa", t0, 23, 23.9, weekday=False, pred=pred, subtype=sub)
            return inc or self._new("missing_mfa", t0, 10, 15, pred=lambda u: u.role == "radiologist", subtype=sub)
        return self._new("missing_mfa", t0, 10, 15, pred=pred, subtype=sub)

    def _inject_missing_mfa(self, inc, rng):
        u = inc.user
        if inc.subtype == "remote":
            host = u.hosts[0] if u.remote else self.tr.home(u)
            user, client = self.sess(inc, u, False, remote=True, host=host)
            t = self._login(inc, user, client, inc.t0)
            self._views(inc, user, client, self.studies(u.department, rng.randint(2, 6), rng), t, rng)
        elif inc.subtype == "admin":
            user, client = self.sess(inc, u, False)
            t = self._login(inc, user, client, inc.t0)
            target = self.rng.choice(self.h.users)
            self.tr.event(inc.out, t, "permission_change", user, client,
                          target_user={"id": target.id, "roles": target.roles, "department": target.department},
                          detail={"granted": ["worklist"], "ticket": f"CHG-{rng.randrange(10000, 99999)}"})
            self.tr.event(inc.out, t + 6 * MINUTE_MS, "config_change", user, client,
                          detail={"setting": "routing_rule", "ticket": f"CHG-{rng.randrange(10000, 99999)}"})
        else:
            user, client = self.sess(inc, u, False)
            t = self._login(inc, user, client, inc.t0)
            kind, ident, ext = u.destinations[0]
            for s in self.studies(u.department, rng.randint(1, 2), rng):
                self.tr.event(inc.out, t, "export", user, client, s,
                              destination={"type": kind, "id": ident, "external": ext})
                t += 60_000
        inc.extra["description"] = f"{u.id}: {inc.subtype} without MFA"

    # --- terminated / suspended / unknown user ----------------------------------------------
    def _plan_inactive_user(self, t0):
        sub = ("terminated", "suspended", "unknown")[sum(i.type == "inactive_user" for i in self.incidents) % 3]
        if sub == "unknown":
            day = self.h.day_of(t0) if t0 else self.day()
            ident = UNKNOWN_USER_IDS[sum(i.subtype == "unknown" for i in self.incidents) % len(UNKNOWN_USER_IDS)]
            ghost = User(10_000 + len(self.incidents), ident, "", "", "", "IT", "day", 0, 0,
                         ((f"body-ws-{self.rng.randrange(40, 60):02d}", f"10.11.0.{self.rng.randrange(60, 99)}"),))
            return Incident("inactive_user", day, t0 or self.at(day, 8, 20), ghost, sub)
        u = self.user(lambda u: u.role in ("radiologist", "technologist", "referring_physician", "student")
                      and not u.temporary)
        if u is None:
            return None
        end = self.rng.randint(self.warm, max(self.warm, self.h.days - 2))
        day = self.rng.randint(min(end + 1, self.h.days - 1), self.h.days - 1)
        u.active_until = min(u.active_until, end)
        u.status, u.end_date = sub, self.h.date_of_day(end)
        return Incident("inactive_user", day, t0 or self.at(day, 8, 18), u, sub)

    def _inject_inactive_user(self, inc, rng):
        u = inc.user
        if inc.subtype == "unknown":
            user = {"id": u.id, "mfa": False, "session_id": f"x{len(inc.out)}-{inc.day}"}
            client = {"ip": u.hosts[0][1], "host": u.hosts[0][0], "remote": False, "location": "main-campus"}
        else:
            user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        self.tr.event(inc.out, t, "query", user, client, detail={"object": "patient_studies"})
        self._views(inc, user, client, self.studies(rng.choice(IMAGING), rng.randint(2, 8), rng), t + 30_000, rng)
        inc.extra["description"] = f"activity of {inc.subtype} account {u.id}"

    # --- dormant account --------------------------------------------------------------------
    def _plan_dormant_account(self, t0):
        u = self.user(lambda u: u.shift == "day" and u.role in ("radiologist", "technologist",
                                                                  "referring_physician") and not u.vacation)
        if u is None:
            return None
        day = self.h.day_of(t0) if t0 else self.h.days - 1 - sum(i.type == "dormant_account" for i in self.incidents) % 2
        active = 2 if self.h.days >= 12 else 0
        u.silent = (active, max(day, active) + 1)
        u.active_until = min(u.active_until, day + 1)
        t = t0 or self.at(day, 9, 15)
        return Incident("dormant_account", day, t, u, extra={"gap_days": day - active})

    def _inject_dormant_account(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        dept = u.department if u.department in IMAGING else "body imaging"
        self._views(inc, user, client, self.studies(dept, rng.randint(3, 10), rng), t, rng)
        inc.extra["description"] = f"{u.id} active again after {inc.extra['gap_days']} silent days"

    # --- failed logins ----------------------------------------------------------------------
    def _plan_failed_login_burst(self, t0):
        return self._new("failed_login_burst", t0, 0, 24, weekday=False, pred=lambda u: u.role != "system_administrator")

    def _inject_failed_login_burst(self, inc, rng):
        u = inc.user
        outside = rng.random() < 0.5
        host = (f"unknown-{rng.randrange(100, 999)}", f"45.{rng.randrange(1, 250)}.{rng.randrange(250)}.9") \
            if outside else (f"body-ws-{rng.randrange(41, 60)}", f"10.11.0.{rng.randrange(100, 200)}")
        user, client = self.sess(inc, u, False, remote=outside, host=host)
        t = inc.t0
        for _ in range(rng.randint(8, 25)):
            self.tr.event(inc.out, t, "login_failed", user, client, outcome="minor_failure")
            t += int(rng.uniform(2, 12) * 1000)
        if rng.random() < 0.4:
            self.tr.event(inc.out, t, "login", user, client)
        inc.extra["description"] = f"failed-login burst on {u.id} from {host[1]}"

    def _plan_password_spray(self, t0):
        day = self.h.day_of(t0) if t0 else self.day(weekday=False)
        return Incident("password_spray", day, t0 or self.at(day, 0, 24))

    def _inject_password_spray(self, inc, rng):
        ip = f"185.{rng.randrange(1, 250)}.{rng.randrange(250)}.{rng.randrange(2, 250)}"
        client = {"ip": ip, "host": f"unknown-{ip.replace('.', '-')}", "remote": True, "location": "internet"}
        targets = rng.sample(self.h.users, k=min(len(self.h.users), rng.randint(15, 40)))
        t = inc.t0
        for u in targets:
            user = {"id": u.id, "mfa": False, "session_id": f"spray-{inc.day}-{u.index}"}
            for _ in range(rng.randint(1, 2)):
                self.tr.event(inc.out, t, "login_failed", user, client, outcome="minor_failure")
                t += int(rng.uniform(2, 20) * 1000)
        inc.extra.update(user_id=targets[0].id, description=f"{ip} tried {len(targets)} accounts")

    # --- permission grant then export -------------------------------------------------------
    def _plan_grant_then_export(self, t0):
        inc = self._new("grant_then_export", t0, 10, 14, pred=lambda u: u.role in (
            "technologist", "student", "scheduler", "referring_physician") and u.shift == "day")
        admin = [u for u in self.h.by_role.get("system_administrator", [])]
        if inc:
            inc.extra["admin"] = self.rng.choice(admin) if admin else inc.user
        return inc

    def _inject_grant_then_export(self, inc, rng):
        u, admin = inc.user, inc.extra["admin"]
        auser, aclient = self.sess(inc, admin, True, k=1)
        t = self._login(inc, auser, aclient, inc.t0)
        grant = rng.choice((["export"], ["export", "admin"], ["admin"]))
        self.tr.event(inc.out, t, "permission_change", auser, aclient,
                      target_user={"id": u.id, "roles": u.roles, "department": u.department},
                      detail={"granted": grant})
        user, client = self.sess(inc, u, True)
        t = self._login(inc, user, client, t + int(rng.uniform(20, 120) * MINUTE_MS))
        kind, ident, ext = rng.choice(sum(KNOWN_DESTINATIONS.values(), ()))
        for s in self.studies(u.department if u.department in IMAGING else "body imaging", rng.randint(3, 12), rng):
            self.tr.event(inc.out, t, "export", user, client, s, destination={"type": kind, "id": ident, "external": ext})
            t += int(rng.uniform(20, 90) * 1000)
        inc.extra["description"] = f"{admin.id} granted {grant} to {u.id}, who then exported"

    # --- configuration change outside the change window -------------------------------------
    def _plan_config_change(self, t0):
        day = self.h.day_of(t0) if t0 else self.day(weekday=False)
        hour = (1.0, 5.0) if self.h.weekday(day) < 5 else (9.0, 17.0)
        return self._new("config_change", t0 or self.at(day, *hour), 0, 0,
                         pred=lambda u: u.role == "system_administrator")

    def _inject_config_change(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, True)
        t = self._login(inc, user, client, inc.t0)
        for setting, value in rng.sample((("audit_logging", "disabled"), ("export_approval", "off"),
                                          ("retention_days", "1"), ("anonymous_access", "on")), k=rng.randint(1, 2)):
            self.tr.event(inc.out, t, "config_change", user, client, detail={"setting": setting, "value": value})
            t += int(rng.uniform(1, 5) * MINUTE_MS)
        inc.extra["description"] = f"{u.id} changed configuration outside the change window without a ticket"

    # --- watchlist patients -----------------------------------------------------------------
    def _plan_watchlist_patient(self, t0):
        sub = ("vip", "restricted", "employee")[sum(i.type == "watchlist_patient" for i in self.incidents) % 3]
        pats = [p for p, pt in enumerate(self.h.patients) if pt[3] == sub]
        if not pats:
            return None
        p = self.rng.choice(pats)
        home = self.h.patient_dept.get(p)
        inc = self._new("watchlist_patient", t0, 9, 16, subtype=sub, pred=lambda u: u.department != home
                        and u.id != self.h.patients[p][2] and u.shift == "day" and u.role in (
                            "radiologist", "technologist", "referring_physician", "student"))
        if inc:
            inc.extra["patient"] = p
        return inc

    def _inject_watchlist_patient(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        studies = self.h.studies_by_patient[inc.extra["patient"]]
        self._views(inc, user, client, [rng.choice(studies) for _ in range(rng.randint(1, 3))], t, rng)
        inc.extra["description"] = f"{u.id} opened a watchlist patient ({inc.subtype}) of another department"

    # --- self / same-surname access ---------------------------------------------------------
    def _plan_self_access(self, t0):
        sub = ("self", "same_surname")[sum(i.type == "self_access" for i in self.incidents) % 2]
        inc = self._new("self_access", t0, 9, 16, subtype=sub, pred=lambda u: u.shift == "day" and u.role in (
            "radiologist", "technologist", "referring_physician", "student"))
        if inc is None:
            return None
        u, h = inc.user, self.h
        first = u.first if sub == "self" else self.rng.choice([f for f in ("Anna", "Peter", "Rosa", "Luke")])
        p = len(h.patients)
        pat = {"id": f"MRN{9000000 + p}", "name": f"{u.surname.upper()}^{first.upper()}"}
        h.patients.append((pat, u.surname, u.id if sub == "self" else None, "employee" if sub == "self" else None))
        dept = u.department if u.department in IMAGING else "body imaging"
        if sub == "same_surname":  # a relative: not in the user's own department's work
            others = [d for d in IMAGING if d != u.department]
            dept = others[p % len(others)]  # (no draw from the rng: the rest of the stream stays the same)
        h.patient_dept[p] = dept
        if sub == "self":
            h.watchlist.append((pat["id"], "employee", u.id))
        h.new_study(self.rng, dept, p)
        inc.extra["patient"] = p
        return inc

    def _inject_self_access(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        s = self.h.studies_by_patient[inc.extra["patient"]][0]
        self._views(inc, user, client, [s] * rng.randint(1, 3), t, rng)
        inc.extra["description"] = f"{u.id} opened {'their own' if inc.subtype == 'self' else 'a same-surname'} record"

    # --- break-glass ------------------------------------------------------------------------
    def _plan_break_glass(self, t0):
        return self._new("break_glass", t0, 0, 24, weekday=False, pred=lambda u: u.role in (
            "referring_physician", "radiologist", "technologist"))

    def _inject_break_glass(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        cands = [p for p, pt in enumerate(self.h.patients) if pt[3] == "restricted"] or [0]
        studies = self.h.studies_by_patient.get(rng.choice(cands)) or self.studies("body imaging", 1, rng)
        s = studies[0]
        self.tr.event(inc.out, t, "emergency_access", user, client, s, detail={"reason": "emergency override"})
        self._views(inc, user, client, studies[:2], t + 15_000, rng)
        inc.extra["description"] = f"{u.id} used break-glass access"

    # --- temporary role used after its end date ---------------------------------------------
    def _plan_expired_role(self, t0):
        u = self.user(lambda u: u.temporary and u.role in ("student", "teleradiologist")) or \
            self.user(lambda u: u.role in ("student", "teleradiologist"))
        if u is None:
            return None
        end = self.rng.randint(self.warm, max(self.warm, self.h.days - 2))
        day = self.h.day_of(t0) if t0 else self.rng.randint(min(end + 1, self.h.days - 1), self.h.days - 1)
        u.temporary, u.status, u.end_date = True, "active", self.h.date_of_day(end)
        u.active_until = min(u.active_until, end)
        hours = (23.0, 23.8) if u.shift == "night" else (15, 16) if u.shift == "evening" else (9, 14)
        return Incident("expired_role", day, t0 or self.at(day, *hours), u)

    def _inject_expired_role(self, inc, rng):
        u = inc.user
        user, client = self.sess(inc, u, u.remote or rng.random() < u.mfa_habit)
        t = self._login(inc, user, client, inc.t0)
        self._views(inc, user, client, self.studies(u.department if u.department in IMAGING else "body imaging",
                                                    rng.randint(3, 8), rng), t, rng)
        inc.extra["description"] = f"{u.id}'s temporary {u.role} role ended {u.end_date}"

