"""Normal behaviour of the hospital's staff, one user-day at a time, as canonical events.

Each role has its shift, its sessions (login, work, logout), its actions and its habits:
radiologists read their department's recent studies (views, priors, annotations, reports, a few
exports to known destinations with MFA), technologists acquire and check studies, referring
physicians look at their patients' images, students view, schedulers query worklists, compliance
officers query audit logs, system administrators check the system, grant ordinary permissions with
a ticket and change configuration in the Tuesday/Thursday 18:00-20:00 change window. Day-shift
radiologists take on-call nights from home (remote, MFA). Weekends are quieter.

Normal traffic never touches a patient with the user's own surname or the user's own record, and
only the owning department opens watchlist patients' studies; those are the incidents' business.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from streamer.simulate.hospital import (DAY_MS, HOUR_MS, IMAGING, MINUTE_MS, Hospital, Study, User)

SOURCE = "pacs-main"
_PREFIX: dict = {}
CAN_EXPORT = {"radiologist"}


_D2 = [f"{i:02d}" for i in range(60)]
_D3 = [f".{i:03d}Z" for i in range(1000)]


def fmt_ms(ms: int) -> str:
    """Epoch ms -> canonical 'YYYY-MM-DDTHH:MM:SS.mmmZ' (cached per day: fast)."""
    day, rem = divmod(ms, DAY_MS)
    prefix = _PREFIX.get(day)
    if prefix is None:
        prefix = _PREFIX[day] = datetime.fromtimestamp(day * 86400, tz=timezone.utc).strftime("%Y-%m-%dT")
    s, milli = divmod(rem, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return prefix + _D2[h] + ":" + _D2[m] + ":" + _D2[s] + _D3[milli]


SHIFT = {  # start hour range, length hours range
    "day": ((7.0, 8.5), (8.0, 9.5)),
    "evening": ((14.5, 15.5), (8.0, 8.5)),
    "night": ((22.0, 23.0), (8.0, 9.0)),
}


class Traffic:
    """Builds events. `events` lists are of (time ms, sequence, event dict); ids come later."""

    def __init__(self, h: Hospital, seed: int):
        self.h = h
        self.seed = seed
        self.seq = 0
        self.today: dict = {}
        self.recent: dict = {}
        self.oncall: dict = {}
        self.pools: dict = {}
        for u in h.users:
            if u.on_call:
                self.oncall.setdefault(u.department, []).append(u)

    # --- primitives -------------------------------------------------------------------------
    def rng(self, *key: int) -> random.Random:
        n = self.seed
        for k in key:
            n = n * 1_000_003 + k
        return random.Random(n)

    def event(self, out: list, t: int, action: str, user: dict, client: dict, study: Study | None = None,
              outcome: str = "success", **parts) -> dict:
        self.seq += 1
        e = {"schema_version": 1, "event_id": "", "event_time": fmt_ms(t), "source": SOURCE,
             "action": action, "outcome": outcome, "user": user, "client": client}
        if study is not None:
            e["patient"] = study.patient
            e["study"] = study.study
        for k, v in parts.items():
            if v is not None:
                e[k] = v
        out.append((t, self.seq, e))
        return e

    def session(self, u: User, day: int, k: int, mfa: bool, remote: bool = False, host: tuple | None = None,
                location: str | None = None) -> tuple:
        """(user dict, client dict) for one session of `u`."""
        user = {"id": u.id, "name": u.name, "roles": u.roles, "department": u.department, "mfa": mfa,
                "session_id": f"s{u.index}-{day}-{k}"}
        host = host or u.hosts[k % len(u.hosts)]
        client = {"ip": host[1], "host": host[0], "remote": remote or u.remote,
                  "location": location or ("remote-vpn" if remote or u.remote else "main-campus")}
        return user, client

    def home(self, u: User) -> tuple:
        return (f"home-{u.id}", f"203.0.113.{u.index % 250 + 2}")

    # --- studies of the day -----------------------------------------------------------------
    def begin_day(self, day: int) -> None:
        """Acquire the day's new studies in every department (deterministic per day)."""
        h = self.h
        rng = self.rng(999_983, day)
        weekend = h.weekday(day) >= 5
        self.recent = self.today
        self.today = {}
        for dept in IMAGING:
            readers = len(h.by_dept_role.get((dept, "radiologist"), ())) + len(
                h.by_dept_role.get((dept, "teleradiologist"), ()))
            techs = len(h.by_dept_role.get((dept, "technologist"), ()))
            n = max(15, 22 * readers + 6 * techs + 3 * len(h.by_dept_role.get((dept, "referring_physician"), ())))
            if weekend and dept != "emergency radiology":
                n //= 3
            studies = []
            for _ in range(n):
                p = rng.randrange(len(h.patients))
                while h.patient_dept.get(p, dept) != dept:
                    p = rng.randrange(len(h.patients))
                studies.append(h.new_study(rng, dept, p))
            self.today[dept] = studies
        self.pools = {d: self.today[d] + self.recent.get(d, []) for d in self.today}

    def pick_study(self, rng: random.Random, u: User, dept: str | None = None) -> Study:
        """A recent study of the department that this user may open in normal work."""
        dept = dept or u.department
        if dept not in self.today:
            dept = rng.choice(IMAGING)
        pool = self.pools[dept]
        n, rand, patients = len(pool), rng.random, self.h.patients
        for _ in range(20):
            s = pool[int(rand() * n)]
            _pat, surname, emp, category = patients[s.patient_index]
            if surname == u.surname or emp == u.id or (category and (u.role == "student" or u.department != dept)):
                continue
            return s
        return self.h.prior_studies[dept][0]

    # --- one user-day -----------------------------------------------------------------------
    def available(self, u: User, day: int) -> bool:
        """Employed, not on vacation and not silent (dormant) on `day`."""
        if not u.active_from <= day < u.active_until:
            return False
        if u.vacation and u.vacation[0] <= day < u.vacation[1]:
            return False
        return not (u.silent and u.silent[0] <= day < u.silent[1])

    def works(self, u: User, day: int, rng: random.Random) -> bool:
        if not self.available(u, day):
            return False
        if self.h.weekday(day) >= 5:
            return rng.random() < u.weekend_rate
        return rng.random() < (0.93 if u.shift == "day" else 0.8)

    def user_day(self, u: User, day: int) -> list:
        """All normal events of `u` on simulation day `day` (a night shift runs into the next day)."""
        out: list = []
        rng = self.rng(u.index, day)
        base = self.h.start_ms + day * DAY_MS
        if u.on_call and self.available(u, day):
            self._on_call(u, day, base, rng, out)
        if not self.works(u, day, rng):
            return out
        (s0, s1), (l0, l1) = SHIFT[u.shift]
        start = base + int(rng.uniform(s0, s1) * HOUR_MS)
        end = start + int(rng.uniform(l0, l1) * HOUR_MS)
        if u.role in ("student", "scheduler", "compliance_officer", "referring_physician"):
            end = start + int(rng.uniform(5.0, 8.0) * HOUR_MS)
        # a break splits the shift into two sessions
        cut = start + int((end - start) * rng.uniform(0.4, 0.6))
        parts = ((start, cut), (cut + int(rng.uniform(20, 50) * MINUTE_MS), end)) if rng.random() < 0.6 \
            else ((start, end),)
        for k, (a, b) in enumerate(parts):
            self._session(u, day, k, a, b, rng, out)
        if u.role == "system_administrator" and self.h.weekday(day) in (1, 3) and u.index % 2 == day % 2:
            self._change_window(u, day, base, rng, out)
        return out

    def _login(self, u: User, user: dict, client: dict, t: int, rng: random.Random, out: list) -> int:
        r = rng.random()
        for _ in range(2 if r < 0.005 else 1 if r < 0.035 else 0):  # typos
            self.event(out, t, "login_failed", user, client, outcome="minor_failure")
            t += int(rng.uniform(4, 25) * 1000)
        self.event(out, t, "login", user, client)
        return t + int(rng.uniform(5, 60) * 1000)

    def _session(self, u: User, day: int, k: int, a: int, b: int, rng: random.Random, out: list) -> None:
        role = u.role
        exports = role in CAN_EXPORT and u.destinations and rng.random() < 0.3
        mfa = exports or u.remote or role == "system_administrator" or rng.random() < u.mfa_habit
        user, client = self.session(u, day, k, mfa)
        t = self._login(u, user, client, a, rng, out)
        work = getattr(self, "_work_" + role)
        while t < b:
            t = work(u, user, client, t, rng, out, exports)
        if rng.random() < 0.8:
            self.event(out, min(t, b + 10 * MINUTE_MS), "logout", user, client)

    def _on_call(self, u: User, day: int, base: int, rng: random.Random, out: list) -> None:
        team = self.oncall.get(u.department, [])
        if not team or team[day % len(team)] is not u or rng.random() < 0.45:
            return
        user, client = self.session(u, day, 9, True, remote=True, host=self.home(u), location="home")
        t = self._login(u, user, client, base + int(rng.uniform(0.5, 4.5) * HOUR_MS), rng, out)
        for _ in range(rng.randint(1, 3)):
            t = self._work_radiologist(u, user, client, t, rng, out, False,
                                       dept=rng.choice((u.department, "emergency radiology")))
        self.event(out, t, "logout", user, client)

    def _change_window(self, u: User, day: int, base: int, rng: random.Random, out: list) -> None:
        user, client = self.session(u, day, 8, True)
        t = self._login(u, user, client, base + int(rng.uniform(18.0, 18.5) * HOUR_MS), rng, out)
        for _ in range(rng.randint(1, 4)):
            t += int(rng.uniform(5, 25) * MINUTE_MS)
            setting = rng.choice(("routing_rule", "storage_tier", "worklist_filter", "hanging_protocol",
                                  "ae_title_table", "compression"))
            self.event(out, t, "config_change", user, client,
                       detail={"setting": setting, "ticket": f"CHG-{rng.randrange(10000, 99999)}"})
        self.event(out, t + 5 * MINUTE_MS, "logout", user, client)

    # --- work units per role: each returns the time after the unit --------------------------
    def _work_radiologist(self, u, user, client, t, rng, out, exports, dept=None):
        s = self.pick_study(rng, u, dept)
        self.event(out, t, "view", user, client, s)
        if rng.random() < 0.4:
            t += int(rng.uniform(20, 120) * 1000)
            self.event(out, t, "view", user, client, s)
        if rng.random() < 0.3:
            priors = self.h.studies_by_patient.get(s.patient_index, ())
            if len(priors) > 1:
                t += int(rng.uniform(20, 90) * 1000)
                self.event(out, t, "view", user, client, priors[rng.randrange(len(priors))])
        if rng.random() < 0.4:
            t += int(rng.uniform(1, 4) * MINUTE_MS)
            self.event(out, t, "annotate", user, client, s)
        if rng.random() < 0.85:
            t += int(rng.uniform(2, 6) * MINUTE_MS)
            self.event(out, t, "edit", user, client, s, detail={"object": "report"})
        if exports and rng.random() < 0.08:
            kind, ident, external = u.destinations[rng.randrange(len(u.destinations))]
            t += int(rng.uniform(20, 90) * 1000)
            self.event(out, t, "export", user, client, s,
                       destination={"type": kind, "id": ident, "external": external})
        return t + int(rng.uniform(3, 10) * MINUTE_MS)

    def _work_teleradiologist(self, u, user, client, t, rng, out, exports):
        return self._work_radiologist(u, user, client, t, rng, out, False)

    def _work_technologist(self, u, user, client, t, rng, out, exports):
        s = self.pick_study(rng, u)
        self.event(out, t, "import", user, client, s)
        t += int(rng.uniform(1, 5) * MINUTE_MS)
        self.event(out, t, "view", user, client, s)
        r = rng.random()
        if r < 0.35:  # measurements, or sending the checked study to the archive
            t += int(rng.uniform(1, 3) * MINUTE_MS)
            self.event(out, t, "annotate" if r < 0.2 else "archive", user, client, s)
        return t + int(rng.uniform(12, 30) * MINUTE_MS)

    def _work_referring_physician(self, u, user, client, t, rng, out, exports):
        s = self.pick_study(rng, u)
        self.event(out, t, "query", user, client, patient=s.patient, detail={"object": "patient_studies"})
        t += int(rng.uniform(10, 60) * 1000)
        for _ in range(rng.randint(1, 2)):
            self.event(out, t, "view", user, client, s)
            t += int(rng.uniform(1, 4) * MINUTE_MS)
        return t + int(rng.uniform(20, 60) * MINUTE_MS)

    def _work_student(self, u, user, client, t, rng, out, exports):
        s = self.pick_study(rng, u)
        for _ in range(rng.randint(1, 3)):
            self.event(out, t, "view", user, client, s)
            t += int(rng.uniform(1, 6) * MINUTE_MS)
        return t + int(rng.uniform(10, 40) * MINUTE_MS)

    def _work_scheduler(self, u, user, client, t, rng, out, exports):
        s = self.pick_study(rng, u)
        self.event(out, t, "query", user, client, patient=s.patient, detail={"object": "worklist"})
        return t + int(rng.uniform(4, 20) * MINUTE_MS)

    def _work_compliance_officer(self, u, user, client, t, rng, out, exports):
        self.event(out, t, "query", user, client,
                   detail={"object": "audit_log", "filter": rng.choice(("department", "user", "date_range"))})
        return t + int(rng.uniform(20, 70) * MINUTE_MS)

    def _work_system_administrator(self, u, user, client, t, rng, out, exports):
        r = rng.random()
        if r < 0.06 and self.h.weekday(self.h.day_of(t)) < 5:
            target = self.h.users[rng.randrange(len(self.h.users))]
            self.event(out, t, "permission_change", user, client,
                       target_user={"id": target.id, "roles": target.roles, "department": target.department},
                       detail={"granted": [rng.choice(("view", "worklist", "teaching_files"))],
                               "ticket": f"CHG-{rng.randrange(10000, 99999)}"})
        elif r < 0.07:
            s = self.pick_study(rng, u, rng.choice(IMAGING))
            self.event(out, t, "delete", user, client, s,
                       detail={"reason": "duplicate study", "ticket": f"INC-{rng.randrange(10000, 99999)}"})
        else:
            self.event(out, t, "query", user, client,
                       detail={"object": rng.choice(("system_status", "queue", "storage", "interfaces"))})
        return t + int(rng.uniform(20, 60) * MINUTE_MS)
