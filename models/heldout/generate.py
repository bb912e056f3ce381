#!/usr/bin/env python3
"""Independent held-out generator of hospital PACS access traffic with labelled incidents.

Study-centric: every day each department produces studies (ED 24/7, others mostly day),
technologists on duty import them, radiologists/teleradiologists on duty read them,
referring physicians of the department look at them later.  Users have sessions
(login/logout, occasional typo failures), shifts, on-call nights, vacations, sparse
users, new hires, terminations, temp contracts, holidays.  Incidents are injected in the
last ~12 days and labelled in labels.jsonl.

Usage: python models/heldout/generate.py --seed 11 --users 400 --days 28 --start 2026-03-02 --tz 0 \
                     --deptset a --per-type 6 --out scenA
"""
import argparse, csv, json, math, os, random, datetime as dt
from collections import defaultdict

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
         "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
         "Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle "
         "Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward "
         "Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric "
         "Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin "
         "Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond "
         "Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia "
         "Nathan Joyce Henry Virginia Priya Wei Ahmed Fatima Kenji Olga Lars Ines Mateo Aisha Chen Ravi "
         "Sofia Yusuf Hana Tomasz Elif Diego Ngozi Arjun Mei Omar Leila").split()
COMMON_SURN = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
               "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
               "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
               "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Chen "
               "Muller Schmidt Kowalski Novak Rossi Dubois Silva Okafor Haddad Tanaka Ivanova").split()
SYL1 = "Bar Cal Dor Ell Fen Gar Hol Ist Jar Kel Lom Mar Nor Ost Pel Quin Ros Sal Tor Ulm Var Wes Yor Zan Ash Brim Cro Dal Eck Fitz".split()
SYL2 = "ton ley wick berg son ford man ridge well ski ov ez ini stein more field dale worth by holt ard ette".split()


def surname_pool(rng):
    syn = sorted({a + b for a in SYL1 for b in SYL2})
    rng.shuffle(syn)
    return COMMON_SURN, syn[:600]


DEPTSETS = {
    "a": {  # dept: (modalities, weight, 24/7?)
        "neuroradiology": (["MR", "CT"], 1.0, False),
        "emergency": (["CT", "CR", "US"], 1.4, True),
        "oncology": (["CT", "PT", "MR"], 1.0, False),
        "cardiology": (["CT", "XA", "US"], 0.9, False),
        "orthopedics": (["CR", "MR", "CT"], 1.0, False),
        "pediatrics": (["CR", "US", "MR"], 0.7, False),
        "outpatient_imaging": (["MG", "US", "CR", "MR"], 1.2, False),
    },
    "b": {
        "body_imaging": (["CT", "MR", "US"], 1.2, False),
        "trauma_center": (["CT", "CR"], 1.5, True),
        "breast_center": (["MG", "US", "MR"], 0.9, False),
        "interventional_radiology": (["XA", "CT"], 0.6, False),
        "musculoskeletal": (["CR", "MR"], 1.0, False),
        "nuclear_medicine": (["NM", "PT"], 0.5, False),
        "womens_health": (["US", "MG"], 0.8, False),
        "neurosciences": (["MR", "CT"], 1.0, False),
        "community_clinic_north": (["CR", "US", "CT"], 0.7, False),
    },
}
MOD_SIZE = {"MR": (150, 800, 0.5), "CT": (200, 1500, 0.5), "CR": (1, 4, 8), "US": (20, 80, 0.8),
            "MG": (4, 8, 25), "XA": (30, 300, 1.0), "PT": (200, 600, 0.2), "NM": (10, 60, 0.3)}

ROLEMIX = {
    "a": [("radiologist", .14), ("technologist", .22), ("referring_physician", .38), ("scheduler", .07),
          ("student", .08), ("teleradiologist", .04), ("system_administrator", .04), ("compliance_officer", .03)],
    "b": [("radiologist", .11), ("technologist", .27), ("referring_physician", .33), ("scheduler", .09),
          ("student", .10), ("teleradiologist", .06), ("system_administrator", .025), ("compliance_officer", .015)],
}
SHIFT_HOURS = {"day": (7, 10.0), "evening": (14, 9.0), "night": (22, 9.0)}


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.tz = a.tz
        self.start = dt.datetime.fromisoformat(a.start)
        self.days = a.days
        self.depts = DEPTSETS[a.deptset]
        self.events = []          # (utc_seconds, dict)
        self.labels = []
        self.evn = 0
        self.prefix = "%s%d" % (a.deptset, a.seed)
        self.epoch0 = (self.start - dt.datetime(1970, 1, 1)).total_seconds() - self.tz * 3600  # utc secs of local day0 00:00
        self.holidays = set(int(x) for x in a.holidays.split(",")) if a.holidays else set()
        self.inc_lo = self.days - 12

    # ---------- time helpers
    def T(self, day, hour):           # local day index + local hour -> utc seconds
        return self.epoch0 + day * 86400 + hour * 3600

    def fmt(self, t, utc=False):
        if utc or self.tz == 0:
            d = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=t)
            return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(round(t * 1000)) % 1000)
        d = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=t + self.tz * 3600)
        sign = "+" if self.tz >= 0 else "-"
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (int(round(t * 1000)) % 1000) + "%s%02d:00" % (sign, abs(self.tz))

    def weekday(self, day):
        return (self.start + dt.timedelta(days=day)).weekday()

    def is_off_day(self, day):
        return self.weekday(day) >= 5 or day in self.holidays

    # ---------- population
    def build(self):
        r = self.rng
        common, syn = surname_pool(r)
        self.common, self.syn = common, syn

        def surname():
            return r.choice(common) if r.random() < 0.45 else r.choice(syn)
        self.surname = surname
        roles = ROLEMIX[self.a.deptset]
        dlist = list(self.depts)
        self.users, used = [], set()
        n = self.a.users
        for i in range(n):
            x, acc = r.random(), 0
            for role, w in roles:
                acc += w
                if x < acc:
                    break
            fn, ln = r.choice(FIRST), surname()
            base = (fn[0] + ln).lower()
            uid, k = base, 2
            while uid in used:
                uid, k = "%s%d" % (base, k), k + 1
            used.add(uid)
            if role == "system_administrator":
                dept = "it_services" if self.a.deptset == "a" else "imaging_informatics"
            elif role == "compliance_officer":
                dept = "privacy_office" if self.a.deptset == "a" else "compliance"
            elif role == "teleradiologist":
                dept = "teleradiology" if self.a.deptset == "a" else "nighthawk_partners"
            else:
                dept = r.choices(dlist, [self.depts[d][1] for d in dlist])[0]
            if role in ("radiologist",):
                shift = r.choices(["day", "evening", "night"], [.72, .13, .15])[0]
            elif role == "technologist":
                shift = r.choices(["day", "evening", "night"], [.55, .25, .20] if self.a.deptset == "a" else [.45, .30, .25])[0]
            elif role == "referring_physician":
                shift = r.choices(["day", "evening"], [.85, .15])[0]
            elif role == "teleradiologist":
                shift = "night"
            else:
                shift = "day"
            if dept in ("emergency", "trauma_center") and role in ("radiologist", "technologist") and shift == "day" and r.random() < .3:
                shift = "night"
            u = dict(id=uid, name="%s %s" % (fn, ln), first=fn, last=ln, role=role, roles=[role], dept=dept,
                     shift=shift, status="active", end_date="", start_day=0, stop_day=self.days, kind="normal",
                     sparse=False, oncall=None, shift_change=None, vacation=None,
                     host="ws-%s-%03d" % (dept[:4], r.randint(1, 400)),
                     ip="10.%d.%d.%d" % (r.randint(1, 40), r.randint(0, 255), r.randint(2, 250)),
                     home_ip="%d.%d.%d.%d" % (r.choice([73, 98, 174, 24, 71]), r.randint(0, 255), r.randint(0, 255), r.randint(2, 250)),
                     mfa_local=r.random() < (1.0 if role in ("radiologist", "system_administrator", "teleradiologist") else .4),
                     remote_user=(role == "teleradiologist") or (role == "referring_physician" and r.random() < .08),
                     rate=r.lognormvariate(0, .35), dests=[])
            if role == "radiologist" and r.random() < .12:
                u["roles"] = ["radiologist", "teleradiologist"]
            if role == "radiologist" and shift == "day" and r.random() < .3:
                u["oncall"] = r.randint(0, 6)          # on call every 7th night from this offset
            if role in ("referring_physician", "student", "scheduler") and r.random() < (.25 if self.a.deptset == "a" else .35):
                u["sparse"] = True
                u["rate"] *= .5
            if role == "technologist" and shift == "day" and r.random() < .07:
                u["shift_change"] = r.randint(self.days // 3, self.days // 2)  # moves to night shift
            if r.random() < .12 and role not in ("system_administrator",):
                s = r.randint(2, self.days - 12)
                u["vacation"] = (s, s + r.randint(5, 9))
            if role == "student":
                u["end_date_day"] = self.days + r.randint(10, 120)
                u["end_date"] = self.daydate(u["end_date_day"])
            if role == "teleradiologist" and r.random() < .3:
                u["end_date_day"] = self.days + r.randint(5, 200)  # locum contract, still valid
                u["end_date"] = self.daydate(u["end_date_day"])
            self.users.append(u)
        self.byid = {u["id"]: u for u in self.users}
        self.roles_of = defaultdict(list)
        for u in self.users:
            self.roles_of[u["role"]].append(u)
        # terminated mid-window with legit activity before end (trap), suspended, terminated long ago
        normals = [u for u in self.users if u["role"] in ("technologist", "referring_physician", "scheduler", "radiologist")]
        r.shuffle(normals)
        k = max(3, n // 60)
        for u in normals[:k]:
            d = r.randint(5, self.days - 3)
            u.update(status="terminated", stop_day=d, end_date=self.daydate(d), kind="terminated_mid")
        for u in normals[k:k + max(2, n // 150)]:
            u.update(status="suspended", stop_day=0, end_date=self.daydate(-r.randint(5, 60)), kind="suspended")
        for u in normals[k + n // 150 + 2:k + n // 150 + 2 + max(4, n // 60)]:
            u.update(status="terminated", stop_day=0, end_date=self.daydate(-r.randint(10, 300)), kind="terminated_old")
        # new hires: start mid window, no history
        for u in normals[k + n // 150 + 2 + n // 60 + 4: k + n // 150 + 2 + n // 60 + 4 + max(3, n // 100)]:
            u.update(start_day=r.randint(self.days // 2, self.days - 4), kind="new_hire")
        # temp contracts ending mid-window (normal: they stop)
        temps = [u for u in self.users if u["role"] in ("student", "teleradiologist") and u["kind"] == "normal"]
        r.shuffle(temps)
        for u in temps[:max(2, n // 200)]:
            d = r.randint(8, self.days - 5)
            u.update(end_date_day=d, end_date=self.daydate(d), stop_day=d, kind="temp_ended")
        # destinations
        for d in self.depts:
            pass
        self.dept_dests = {}
        for d in self.depts:
            self.dept_dests[d] = [
                {"type": "media", "id": "CDBURN_%s" % d[:6].upper(), "external": False},
                {"type": "dicom_node", "id": "PARTNER_%s_AE" % r.choice(["STMARY", "CITYGEN", "UNIVHOSP", "VALLEYMED"]), "external": True},
                {"type": "dicom_node", "id": "3DLAB_%s" % d[:4].upper(), "external": False},
            ]
        for u in self.users:
            if u["role"] in ("radiologist", "teleradiologist"):
                u["dests"] = r.sample(self.dept_dests.get(u["dept"], self.dept_dests[dlist[0]]), 2)
        # patients
        self.patients = []
        self.pat_by_dept = defaultdict(list)
        npat = n * 45
        for i in range(npat):
            d = r.choices(dlist, [self.depts[x][1] for x in dlist])[0]
            p = dict(id="MRN%07d" % r.randint(1000000, 9999999) if r.random() < 0 else "MRN%07d" % (2000000 + i),
                     name="%s^%s" % (surname().upper(), r.choice(FIRST).upper()), dept=d, cat=None, emp=None)
            self.patients.append(p)
            self.pat_by_dept[d].append(p)
        # watchlist: VIP, restricted, employees
        self.watch = []
        for p in r.sample(self.patients, 25):
            p["cat"] = "vip"
            self.watch.append(p)
        for p in r.sample([q for q in self.patients if not q["cat"]], 35):
            p["cat"] = "restricted"
            self.watch.append(p)
        emps = r.sample([u for u in self.users if u["kind"] == "normal"], max(10, n // 25))
        for u in emps:
            d = r.choice(dlist)
            p = dict(id="MRN%07d" % (2000000 + len(self.patients)), name="%s^%s" % (u["last"].upper(), u["first"].upper()),
                     dept=d, cat="employee", emp=u["id"])
            u["patient"] = p
            self.patients.append(p)
            self.pat_by_dept[d].append(p)
            self.watch.append(p)

    def daydate(self, day):
        return (self.start + dt.timedelta(days=day)).date().isoformat()

    # ---------- events
    def new_id(self):
        self.evn += 1
        return "%s-%08x" % (self.prefix, self.evn * 2654435761 % (1 << 32)) + "-%d" % self.evn

    def ev(self, t, action, u, sess, patient=None, study=None, dest=None, target=None, outcome="success", detail=None):
        e = {"schema_version": 1, "event_id": self.new_id(), "event_time": self.fmt(t), "source": sess.get("source", "pacs-main"),
             "action": action, "outcome": outcome,
             "user": {"id": u["id"], "name": u["name"], "roles": list(u["roles"]), "department": u["dept"],
                      "mfa": sess["mfa"], "session_id": sess["sid"]},
             "client": {"ip": sess["ip"], "host": sess["host"], "remote": sess["remote"], "location": sess["loc"]}}
        if patient:
            e["patient"] = {"id": patient["id"], "name": patient["name"]}
        if study:
            e["study"] = {"uid": study["uid"], "accession": study["acc"], "modality": study["mod"], "department": study["dept"],
                          "sensitivity": study["sens"], "instances": study["inst"], "bytes": study["bytes"]}
        if dest:
            e["destination"] = dict(dest)
        if target:
            e["target_user"] = target
        if detail:
            e["detail"] = detail
        self.events.append((t, e))
        u.setdefault("_days", set()).add(int((t - self.epoch0) // 86400))
        return e

    def session(self, u, remote=None, mfa=None, ip=None, host=None):
        r = self.rng
        remote = u["remote_user"] if remote is None else remote
        s = {"sid": "s-%x" % r.getrandbits(40), "remote": remote,
             "ip": ip or (u["home_ip"] if remote else u["ip"]),
             "host": host or ("home-%s" % u["id"] if remote else u["host"]),
             "loc": "remote" if remote else ("main-campus" if r.random() < .85 else "satellite-clinic"),
             "mfa": (True if remote else u["mfa_local"]) if mfa is None else mfa}
        return s

    def mkstudy(self, p, t, dept=None):
        r = self.rng
        dept = dept or p["dept"]
        mods = self.depts.get(dept, (["CT"], 1, False))[0]
        mod = r.choice(mods)
        lo, hi, mb = MOD_SIZE[mod]
        inst = r.randint(lo, hi)
        st = {"uid": "1.2.840.%d.%d.%d" % (self.a.seed, int(t) % 100000000, r.getrandbits(30)), "acc": "A%08d" % r.randint(0, 99999999),
              "mod": mod, "dept": dept, "sens": "vip" if p["cat"] == "vip" else ("restricted" if p["cat"] == "restricted" else "normal"),
              "inst": inst, "bytes": int(inst * mb * 1048576 * r.uniform(.8, 1.2)), "t": t, "pat": p}
        return st

    def sessions_for(self, u, day):
        """list of (start_h, dur_h, remote) local-hour sessions for user on day."""
        r = self.rng
        if day < u["start_day"] or day >= u["stop_day"] or u["kind"] in ("dormant", "suspended", "terminated_old"):
            if not (u["kind"] == "dormant" and day < 3):
                return []
        if u["vacation"] and u["vacation"][0] <= day < u["vacation"][1]:
            return []
        shift = u["shift"]
        if u["shift_change"] is not None and day >= u["shift_change"]:
            shift = "night"
        off = self.is_off_day(day)
        role = u["role"]
        out = []
        if shift == "day":
            works = (not off and r.random() < .93) or (off and role in ("radiologist", "technologist") and r.random() < .15)
        else:  # evening/night: ~4.5 days/week irrespective of weekday
            works = r.random() < (.64 if shift == "night" else .68)
            if role == "teleradiologist":
                works = r.random() < .7
        if u["sparse"]:
            works = r.random() < .28 and not off
        if works:
            h0, L = SHIFT_HOURS[shift]
            s = h0 + r.uniform(-.5, .7)
            dur = L * r.uniform(.85, 1.1)
            if role in ("referring_physician", "scheduler", "student", "compliance_officer"):
                # a few shorter sessions
                k = 1 if u["sparse"] else r.randint(1, 3)
                for i in range(k):
                    ss = s + r.uniform(0, dur - 1.5)
                    out.append((ss, r.uniform(.3, 1.5 if u["sparse"] else 2.5), u["remote_user"] and r.random() < .5))
            else:
                out.append((s, dur, role == "teleradiologist"))
        if u["oncall"] is not None and (day - u["oncall"]) % 7 == 0 and u["kind"] == "normal" and day < u["stop_day"]:
            out.append((21.5 + r.uniform(0, 1), r.uniform(3, 5), True))    # on-call from home
        if role == "referring_physician" and u["remote_user"] and r.random() < .25:
            out.append((19 + r.uniform(0, 3), r.uniform(.2, .8), True))     # evening check from home
        return out

    def normal_traffic(self):
        r = self.rng
        dlist = list(self.depts)
        # sessions per day
        self.sess = defaultdict(list)   # (day, dept, role) -> [(t0,t1,u,sess)]
        allsess = []
        for u in self.users:
            for day in range(-1, self.days):
                for (h, L, rem) in self.sessions_for(u, day):
                    t0, t1 = self.T(day, h), self.T(day, h + L)
                    if t0 < self.T(0, 0):
                        continue
                    s = self.session(u, remote=rem)
                    s["t0"], s["t1"] = t0, t1
                    allsess.append((u, s))
                    key_dept = u["dept"]
                    self.sess[(day, key_dept, u["role"])].append((t0, t1, u, s))
                    if u["role"] == "teleradiologist" or "teleradiologist" in u["roles"] and rem:
                        self.sess[(day, "*tele*", "reader")].append((t0, t1, u, s))
        # login/logout
        for u, s in allsess:
            t = s["t0"]
            if r.random() < .04:
                for i in range(r.choice([1, 1, 1, 2])):
                    self.ev(t - r.uniform(5, 40), "login_failed", u, s, outcome="minor_failure", detail={"reason": "bad_password"})
            self.ev(t, "login", u, s)
            if r.random() < .8:
                self.ev(s["t1"], "logout", u, s)
        self.allsess = allsess
        # studies
        self.studies_by_dept = defaultdict(list)
        self.studies_by_pat = defaultdict(list)
        rads_in = defaultdict(int)
        for u in self.users:
            if u["role"] == "radiologist":
                rads_in[u["dept"]] += 1
        for day in range(self.days):
            off = self.is_off_day(day)
            for d in dlist:
                mods, w, allday = self.depts[d]
                base = 18 * max(1, rads_in[d]) * self.a.volume
                nst = int(base * (0.3 if off and not allday else 1.0) * r.uniform(.85, 1.15))
                for i in range(nst):
                    if allday:
                        hour = r.uniform(0, 24)
                    else:
                        hour = r.uniform(7, 19) if r.random() < .92 else r.uniform(19, 23)
                    t = self.T(day, hour)
                    pool = self.pat_by_dept[d]
                    p = r.choice(pool)
                    st = self.mkstudy(p, t, d)
                    self.studies_by_dept[d].append(st)
                    self.studies_by_pat[p["id"]].append(st)
                    self.process_study(st, day)
        # other role activity
        for u, s in allsess:
            self.side_activity(u, s)

    def pick_session(self, day, dept, role, t, horizon, excl=None):
        cands = []
        for dd in (day, day - 1, day + 1):
            for (t0, t1, u, s) in self.sess.get((dd, dept, role), ()):
                if t1 > t + 60 and t0 < t + horizon and u["id"] != excl:
                    cands.append((t0, t1, u, s))
        if not cands:
            return None
        return self.rng.choice(cands)

    def at(self, t, t0, t1):
        return min(max(t, t0 + 60), t1 - 30)

    def process_study(self, st, day):
        r = self.rng
        t, d, p = st["t"], st["dept"], st["pat"]
        # tech import
        c = self.pick_session(day, d, "technologist", t, 1800, p["emp"])
        if c:
            t0, t1, u, s = c
            ti = self.at(t + r.uniform(0, 600), t0, t1)
            self.ev(ti, "import", u, s, p, st)
            self.ev(ti + r.uniform(30, 300), "view", u, s, p, st)
            if r.random() < .05:
                self.ev(ti + r.uniform(300, 900), "edit", u, s, p, st, detail={"field": "PatientName"})
        # read
        c = self.pick_session(day, d, "radiologist", t, 6 * 3600, p["emp"])
        h = (t - self.epoch0) / 3600 % 24
        if (h >= 22 or h < 6 or c is None) and r.random() < .6:
            c2 = self.pick_session(day, "*tele*", "reader", t, 3 * 3600, p["emp"])
            c = c2 or c
        if c:
            t0, t1, u, s = c
            tr = self.at(t + r.uniform(600, 3 * 3600), t0, t1)
            if r.random() < .3:
                self.ev(tr - r.uniform(20, 90), "query", u, s, p, detail={"query": "patient_id"})
            for k in range(r.choice([1, 1, 2, 2, 3])):
                self.ev(tr + k * r.uniform(20, 200), "view", u, s, p, st)
            if r.random() < .5 and len(self.studies_by_pat[p["id"]]) > 1:
                prior = r.choice(self.studies_by_pat[p["id"]][:-1])
                self.ev(tr + r.uniform(60, 300), "view", u, s, p, prior)
            self.ev(tr + r.uniform(300, 900), "annotate", u, s, p, st)
            if r.random() < .012 and u["dests"]:
                self.ev(tr + r.uniform(900, 1500), "export", u, s, p, st, dest=r.choice(u["dests"]))
            st["reader"] = u["id"]
        # referring physicians
        for k in range(r.choice([0, 1, 1, 1, 2])):
            c = self.pick_session(day, d, "referring_physician", t + 4 * 3600, 24 * 3600, p["emp"])
            if c:
                t0, t1, u, s = c
                tv = self.at(t + r.uniform(3 * 3600, 20 * 3600), t0, t1)
                if tv > t:
                    self.ev(tv, "view", u, s, p, st)
                    if r.random() < .004:
                        self.ev(tv + 60, "print", u, s, p, st, dest={"type": "printer", "id": "PRN-%s" % d[:4].upper(), "external": False})
        # student
        if r.random() < .12:
            c = self.pick_session(day, d, "student", t, 8 * 3600, p["emp"])
            if c:
                t0, t1, u, s = c
                self.ev(self.at(t + r.uniform(1800, 8 * 3600), t0, t1), "view", u, s, p, st)

    def side_activity(self, u, s):
        r = self.rng
        t0, t1 = s["t0"], s["t1"]
        role = u["role"]
        L = (t1 - t0) / 3600
        if role == "scheduler":
            for i in range(int(r.uniform(6, 14) * L * u["rate"])):
                p = r.choice(self.pat_by_dept[u["dept"]])
                self.ev(r.uniform(t0, t1), "query", u, s, p, detail={"query": "worklist"})
        elif role in ("radiologist", "technologist", "referring_physician", "teleradiologist"):
            for i in range(int(r.uniform(0.5, 2) * L)):
                self.ev(r.uniform(t0, t1), "query", u, s, detail={"query": "worklist"})
        elif role == "system_administrator":
            for i in range(int(r.uniform(1, 3) * L)):
                self.ev(r.uniform(t0, t1), "query", u, s, detail={"query": "audit_log"})
            if r.random() < .25:
                self.ev(r.uniform(t0, t1), "config_change", u, s, detail={"setting": r.choice(
                    ["hanging_protocol.ct_chest", "worklist.filter.ed", "dicom_node.add:3DLAB_NEW", "viewer.default_preset",
                     "routing.rule.internal_ai", "printer.add:PRN-NEW"]), "change_ticket": "CHG%06d" % r.randint(0, 999999)})
            if r.random() < .2:
                tgt = r.choice(self.users)
                self.ev(r.uniform(t0, t1), "permission_change", u, s, target={"id": tgt["id"], "roles": list(tgt["roles"])},
                        detail={"change": r.choice(["password_reset", "unlock_account", "role_review"])})
        elif role == "compliance_officer":
            for i in range(int(r.uniform(1, 4) * L)):
                self.ev(r.uniform(t0, t1), "query", u, s, detail={"query": "access_report"})
        elif role == "student":
            pass

    # ---------- incidents
    def label(self, typ, u, evs, **kw):
        ts = sorted(e["event_time"] for e in evs)
        tt = sorted(self._t[e["event_id"]] for e in evs)
        d = {"incident_id": "%s-inc%03d" % (self.prefix, len(self.labels) + 1), "type": typ, "user_id": u["id"] if isinstance(u, dict) else u,
             "event_ids": [e["event_id"] for e in evs], "start": self.fmt(tt[0], utc=True), "end": self.fmt(tt[-1], utc=True)}
        d.update(kw)
        self.labels.append(d)

    def E(self, *a, **k):
        e = self.ev(*a, **k)
        self._t[e["event_id"]] = a[0]
        return e

    def pick(self, pred):
        c = [u for u in self.users if u["kind"] == "normal" and not u.get("inc") and pred(u)]
        u = self.rng.choice(c)
        u["inc"] = True
        return u

    def inc_day(self, u=None, workday=True):
        r = self.rng
        for _ in range(100):
            d = r.randint(self.inc_lo, self.days - 1)
            if workday and self.is_off_day(d):
                continue
            if u and u["vacation"] and u["vacation"][0] <= d < u["vacation"][1]:
                continue
            return d
        return self.days - 2

    def user_session_on(self, u, day):
        for (uu, s) in self.allsess:
            if uu is u and self.T(day, 0) <= s["t0"] < self.T(day + 1, 0):
                return s
        return None

    def workday_session(self, u):
        """an existing normal session of u in the incident window, else a fresh daytime one."""
        r = self.rng
        cands = [s for (uu, s) in self.allsess if uu is u and s["t0"] >= self.T(self.inc_lo, 0) and s["t1"] - s["t0"] > 1800]
        if cands:
            return r.choice(cands)
        d = self.inc_day(u)
        s = self.session(u, remote=False, mfa=True)
        s["t0"], s["t1"] = self.T(d, 9 + r.uniform(0, 3)), self.T(d, 15)
        self.E(s["t0"], "login", u, s)
        return s

    def rand_studies(self, dept, n, before):
        pool = [s for s in self.studies_by_dept[dept] if s["t"] < before]
        return self.rng.sample(pool, min(n, len(pool)))

    def incidents(self):
        r = self.rng
        self._t = {}
        N = self.a.per_type
        clin = ("radiologist", "technologist", "referring_physician")
        day_shift = lambda u: u["shift"] == "day" and u["oncall"] is None and u["shift_change"] is None and not u["sparse"] and not u["remote_user"]

        # dormant + expired users are set aside *before* normal traffic (see main); here inject their events
        for i in range(N):  # bulk_export
            u = self.pick(lambda u: u["role"] == "radiologist" and day_shift(u) and u["dests"])
            s = self.workday_session(u)
            t = s["t0"] + r.uniform(1200, 3600)
            k = r.choice([60, 120, 250, 400]) if i % 3 else r.randint(25, 40)
            sts = self.rand_studies(u["dept"], k, t)
            if i % 3 == 0:   # fewer studies but huge
                sts = [dict(x, inst=x["inst"] * 6 + 1500, bytes=x["bytes"] * 8 + 2 * 1024 ** 3) for x in sts]
            dest = r.choice(u["dests"])
            span = r.uniform(600, 2400)
            evs = [self.E(t + span * j / len(sts), "export", u, s, st["pat"], st, dest=dest) for j, st in enumerate(sts)]
            self.label("bulk_export", u, evs)
        for i in range(N):  # odd_hours
            u = self.pick(lambda u: u["role"] in clin + ("scheduler",) and day_shift(u) and u["status"] == "active")
            d = self.inc_day(u, workday=False)
            s = self.session(u, remote=False)
            t = self.T(d, r.uniform(2.5, 3.8))
            evs = [self.E(t, "login", u, s)]
            sts = self.rand_studies(u["dept"], r.randint(8, 25), t)
            for j, st in enumerate(sts):
                evs.append(self.E(t + 60 + j * r.uniform(40, 150), "view" if u["role"] != "scheduler" else "query", u, s, st["pat"], st if u["role"] != "scheduler" else None))
            evs.append(self.E(self._t[evs[-1]["event_id"]] + 120, "logout", u, s))
            self.label("odd_hours", u, evs)
        for i in range(N):  # patient_sweep
            u = self.pick(lambda u: u["role"] in ("referring_physician", "technologist", "radiologist") and day_shift(u))
            s = self.workday_session(u)
            t = s["t0"] + 600
            depts = [u["dept"]] if i % 2 == 0 else list(self.depts)
            pats = []
            for dd in depts:
                pats += [p for p in self.pat_by_dept[dd] if self.studies_by_pat[p["id"]]]
            pats = r.sample(pats, min(len(pats), r.randint(120, 300)))
            span = r.uniform(3600, 3 * 3600)
            evs = []
            for j, p in enumerate(pats):
                st = r.choice(self.studies_by_pat[p["id"]])
                evs.append(self.E(t + span * j / len(pats), "view", u, s, p, st))
            self.label("patient_sweep", u, evs, distinct_patients=len(pats))
        newd = [{"type": "cloud", "id": "dropbox.com", "external": True}, {"type": "email", "id": "drx.private@gmail.com", "external": True},
                {"type": "dicom_node", "id": "UNKNOWN_AE_77", "external": True}, {"type": "web", "id": "wetransfer.com", "external": True},
                {"type": "cloud", "id": "s3://imaging-research-bucket", "external": True}, {"type": "dicom_node", "id": "VENDOR_REMOTE_SVC", "external": True}]
        for i in range(N):  # export_destination
            u = self.pick(lambda u: u["role"] == "radiologist" and day_shift(u) and u["dests"])
            s = self.workday_session(u)
            t = s["t0"] + r.uniform(1800, 5400)
            sts = self.rand_studies(u["dept"], r.randint(1, 4), t)
            dest = newd[i % len(newd)]
            evs = [self.E(t + j * 90, "export", u, s, st["pat"], st, dest=dest) for j, st in enumerate(sts)]
            self.label("export_destination", u, evs)
        variants = [("referring_physician", "delete"), ("technologist", "delete"), ("compliance_officer", "view"),
                    ("student", "export"), ("scheduler", "view"), ("technologist", "export")]
        for i in range(N):  # role_permission
            role, act = variants[i % len(variants)]
            u = self.pick(lambda u: u["role"] == role and u["status"] == "active" and not u["remote_user"] and u["shift"] == "day")
            s = self.workday_session(u)
            s["mfa"] = True
            t = s["t0"] + r.uniform(600, 3600)
            dept = u["dept"] if u["dept"] in self.depts else r.choice(list(self.depts))
            sts = self.rand_studies(dept, r.randint(2, 6), t)
            dest = self.dept_dests[dept][0] if act == "export" else None
            evs = [self.E(t + j * 120, act, u, s, st["pat"], st, dest=dest) for j, st in enumerate(sts)]
            self.label("role_permission", u, evs, variant="%s_%s" % (role, act))
        for i in range(N):  # missing_mfa
            v = i % 3
            if v == 0:
                u = self.pick(lambda u: u["role"] == "radiologist" and day_shift(u) and u["dests"])
                d = self.inc_day(u)
                s = self.session(u, remote=False, mfa=False)
                t = self.T(d, r.uniform(9, 15))
                evs = [self.E(t, "login", u, s)]
                for j, st in enumerate(self.rand_studies(u["dept"], r.randint(1, 3), t)):
                    evs.append(self.E(t + 300 + j * 60, "export", u, s, st["pat"], st, dest=u["dests"][0]))
            elif v == 1:
                u = self.pick(lambda u: u["role"] in ("referring_physician", "radiologist") and day_shift(u))
                d = self.inc_day(u, workday=False)
                s = self.session(u, remote=True, mfa=False)
                t = self.T(d, r.uniform(18, 22))
                evs = [self.E(t, "login", u, s)]
                for j, st in enumerate(self.rand_studies(u["dept"], r.randint(3, 8), t)):
                    evs.append(self.E(t + 120 + j * 80, "view", u, s, st["pat"], st))
            else:
                u = self.pick(lambda u: u["role"] == "system_administrator")
                d = self.inc_day(u)
                s = self.session(u, remote=False, mfa=False)
                t = self.T(d, r.uniform(9, 16))
                tgt = r.choice(self.users)
                evs = [self.E(t, "login", u, s),
                       self.E(t + 200, "permission_change", u, s, target={"id": tgt["id"], "roles": tgt["roles"] + ["system_administrator"]},
                              detail={"change": "grant_role", "role": "system_administrator"})]
            self.label("missing_mfa", u, evs, variant=["export_no_mfa", "remote_no_mfa", "admin_no_mfa"][v])
        for i in range(N):  # inactive_user
            v = i % 3
            if v == 0:
                c = [u for u in self.users if u["kind"] == "terminated_mid" and not u.get("inc") and u["stop_day"] < self.days - 3]
                u = r.choice(c) if c else None
            elif v == 1:
                c = [u for u in self.users if u["kind"] in ("terminated_old", "suspended") and not u.get("inc")]
                u = r.choice(c) if c else None
            else:
                u = None
            if u is None:
                fn, ln = r.choice(FIRST), self.surname()
                u = dict(id=r.choice(["svc_", "tmp_", "", "x"]) + (fn[0] + ln).lower() + str(r.randint(10, 99)), name="%s %s" % (fn, ln),
                         roles=[r.choice(["radiologist", "technologist", "referring_physician"])], dept=r.choice(list(self.depts)),
                         ip="10.%d.%d.%d" % (r.randint(1, 40), r.randint(0, 255), r.randint(2, 250)), home_ip="81.2.%d.%d" % (r.randint(0, 255), r.randint(1, 250)),
                         host="ws-unknown-%d" % r.randint(1, 99), remote_user=False, mfa_local=False, vacation=None)
            u["inc"] = True
            d = r.randint(max(self.inc_lo, (u.get("stop_day") or 0) + 2), self.days - 1)
            s = self.session(u, remote=r.random() < .3)
            t = self.T(d, r.uniform(8, 20))
            evs = [self.E(t, "login", u, s)]
            dept = u["dept"] if u["dept"] in self.depts else r.choice(list(self.depts))
            for j, st in enumerate(self.rand_studies(dept, r.randint(3, 12), t)):
                evs.append(self.E(t + 60 + j * 100, "view", u, s, st["pat"], st))
            self.label("inactive_user", u, evs, variant=["terminated_recent", "terminated_old_or_suspended", "unknown_user"][v])
        for u in [x for x in self.users if x["kind"] == "dormant"]:  # dormant_account
            d = r.randint(max(self.inc_lo, 17), self.days - 1)
            s = self.session(u, remote=False)
            t = self.T(d, r.uniform(8, 17))
            evs = [self.E(t, "login", u, s)]
            for j, st in enumerate(self.rand_studies(u["dept"], r.randint(5, 20), t)):
                evs.append(self.E(t + 60 + j * 90, "view", u, s, st["pat"], st))
            self.label("dormant_account", u, evs, silent_days=d - 3)
        for i in range(N):  # failed_login_burst
            u = self.pick(lambda u: u["role"] in clin and u["status"] == "active")
            d = self.inc_day(u, workday=False)
            ext = i % 2 == 1
            s = self.session(u, remote=ext, ip="185.%d.%d.%d" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 250)) if ext else None)
            t = self.T(d, r.uniform(0, 24))
            k = r.randint(12, 40)
            span = r.uniform(90, 420)
            evs = [self.E(t + span * j / k, "login_failed", u, s, outcome="minor_failure", detail={"reason": "bad_password"}) for j in range(k)]
            if i % 3 == 0:
                s["mfa"] = True
                evs.append(self.E(t + span + 20, "login", u, s))
            self.label("failed_login_burst", u, evs, attempts=k)
        for i in range(N):  # password_spray
            d = self.inc_day(workday=False)
            ip = "%d.%d.%d.%d" % (r.choice([45, 91, 185, 10]), r.randint(0, 255), r.randint(0, 255), r.randint(1, 250))
            rem = not ip.startswith("10.")
            t = self.T(d, r.uniform(0, 24))
            tg = r.sample([u for u in self.users if u["status"] == "active"], r.randint(25, 70))
            span = r.uniform(600, 2400)
            evs = []
            for j, u in enumerate(tg):
                s = {"sid": "", "remote": rem, "ip": ip, "host": "unknown", "loc": "remote" if rem else "main-campus", "mfa": False}
                evs.append(self.E(t + span * j / len(tg), "login_failed", u, s, outcome="minor_failure", detail={"reason": "bad_password"}))
            self.label("password_spray", "ip:" + ip, evs, ip=ip, users=len(tg))
        for i in range(N):  # grant_then_export
            adm = r.choice(self.roles_of["system_administrator"])
            u = self.pick(lambda u: u["role"] in ("technologist", "scheduler", "referring_physician", "student") and u["shift"] == "day" and not u["sparse"] and u["status"] == "active")
            d = self.inc_day(u)
            sa = self.session(adm, remote=False, mfa=True)
            t = self.T(d, r.uniform(9, 13))
            g = [self.E(t, "permission_change", adm, sa, target={"id": u["id"], "roles": u["roles"] + (["system_administrator"] if i % 2 else ["radiologist"])},
                        detail={"change": "grant_role", "grant": "export" if i % 2 == 0 else "admin"})]
            s = self.session(u, remote=False, mfa=True)
            t2 = t + r.uniform(1800, 5 * 3600)
            dept = u["dept"] if u["dept"] in self.depts else r.choice(list(self.depts))
            sts = self.rand_studies(dept, r.randint(5, 40), t2)
            dest = r.choice(self.dept_dests[dept][1:2] + newd[:2])
            evs = g + [self.E(t2 + j * 45, "export", u, s, st["pat"], st, dest=dest) for j, st in enumerate(sts)]
            self.label("grant_then_export", u["id"], evs, granted_by=adm["id"])
        for i in range(N):  # config_change
            v = i % 4
            if v == 0:
                u = self.pick(lambda u: u["role"] in ("radiologist", "technologist") and day_shift(u))
                s = self.workday_session(u)
                t = s["t0"] + 1800
                detail = {"setting": "routing.rule.autoforward", "new": "EXT_ARCHIVE_AE"}
            else:
                u = r.choice(self.roles_of["system_administrator"])
                d = self.inc_day(workday=False)
                s = self.session(u, remote=True, mfa=True)
                t = self.T(d, r.uniform(1, 4.5)) if v != 3 else self.T(d, r.uniform(10, 15))
                detail = [None, {"setting": "audit.logging.enabled", "old": "true", "new": "false"},
                          {"setting": "retention.days", "old": "3650", "new": "7"},
                          {"setting": "security.mfa.required", "old": "true", "new": "false"}][v]
            evs = [self.E(t, "config_change", u, s, detail=detail)]
            if v == 1:
                evs.append(self.E(t + 300, "config_change", u, s, detail={"setting": "audit.export.siem", "old": "on", "new": "off"}))
            self.label("config_change", u, evs, variant=["non_admin", "audit_off_night", "retention_night", "mfa_disabled"][v])
        for i in range(N):  # watchlist_patient
            p = r.choice([q for q in self.watch if q["cat"] in ("vip", "restricted") or (q["cat"] == "employee" and i % 3 == 2)])
            u = self.pick(lambda u: u["role"] in clin + ("scheduler", "student") and u["dept"] in self.depts and u["dept"] != p["dept"] and u["id"] != p["emp"] and day_shift(u))
            s = self.workday_session(u)
            t = s["t0"] + r.uniform(600, 3600)
            sts = self.studies_by_pat[p["id"]] or [self.mkstudy(p, t - 86400 * 30)]
            evs = [self.E(t, "query", u, s, p, detail={"query": "patient_name"})]
            for j, st in enumerate(sts[:3]):
                evs.append(self.E(t + 60 + 60 * j, "view", u, s, p, st))
            self.label("watchlist_patient", u, evs, category=p["cat"], patient_id=p["id"])
        for i in range(N):  # self_access / same surname
            if i % 2 == 0:
                c = [u for u in self.users if u.get("patient") and not u.get("inc") and u["kind"] == "normal" and u["role"] != "system_administrator"]
                u = r.choice(c)
                u["inc"] = True
                p = u["patient"]
                var = "self"
            else:
                u = self.pick(lambda u: u["role"] in clin and day_shift(u))
                other = [d for d in self.depts if d != u["dept"]]
                p = dict(id="MRN%07d" % (2000000 + len(self.patients)), name="%s^%s" % (u["last"].upper(), r.choice(FIRST).upper()),
                         dept=r.choice(other), cat=None, emp=None)
                self.patients.append(p)
                var = "same_surname"
            s = self.workday_session(u)
            t = s["t0"] + r.uniform(600, 3600)
            sts = self.studies_by_pat[p["id"]] or [self.mkstudy(p, t - 86400 * r.randint(3, 60))]
            evs = [self.E(t, "query", u, s, p, detail={"query": "patient_name"})]
            for j, st in enumerate(sts[:3]):
                evs.append(self.E(t + 60 + 60 * j, "view", u, s, p, st))
            self.label("self_access", u, evs, variant=var, patient_id=p["id"])
        for i in range(N):  # break_glass
            u = self.pick(lambda u: u["role"] in clin and u["status"] == "active")
            d = self.inc_day(u, workday=False)
            s = self.workday_session(u) if i % 2 else self.session(u)
            if i % 2 == 0:
                s["t0"] = self.T(d, r.uniform(0, 24))
            t = s["t0"] + r.uniform(300, 1800)
            p = r.choice([q for q in self.watch if q["cat"] == "restricted"] if i % 2 else self.patients)
            sts = self.studies_by_pat[p["id"]] or [self.mkstudy(p, t - 86400 * 5)]
            evs = [self.E(t, "emergency_access", u, s, p, detail={"reason": r.choice(["trauma", "code stroke", "unconscious patient"])})]
            for j, st in enumerate(sts[:4]):
                evs.append(self.E(t + 30 + 60 * j, "view", u, s, p, st))
            self.label("break_glass", u, evs)
        for u in [x for x in self.users if x["kind"] == "expired"]:  # expired_role
            d = r.randint(u["end_date_day"] + 2, self.days - 1)
            s = self.session(u)
            t = self.T(d, 23 if u["shift"] == "night" else r.uniform(9, 15))
            evs = [self.E(t, "login", u, s)]
            dept = u["dept"] if u["dept"] in self.depts else r.choice([x for x, v in self.depts.items() if v[2]] or list(self.depts))
            for j, st in enumerate(self.rand_studies(dept, r.randint(4, 15), t)):
                evs.append(self.E(t + 60 + j * 120, "view", u, s, st["pat"], st))
                if u["role"] != "student" and j % 2 == 0:
                    evs.append(self.E(t + 100 + j * 120, "annotate", u, s, st["pat"], st))
            self.label("expired_role", u, evs, end_date=u["end_date"])

    def preassign(self):
        """Set aside dormant users and expired-temp users before normal traffic."""
        r = self.rng
        N = self.a.per_type
        c = [u for u in self.users if u["kind"] == "normal" and u["role"] in ("radiologist", "referring_physician", "technologist") and not u["sparse"] and u["vacation"] is None and u["oncall"] is None]
        for u in r.sample(c, N):
            u["kind"] = "dormant"
        c = [u for u in self.users if u["kind"] == "normal" and u["role"] in ("student", "teleradiologist")]
        for u in r.sample(c, min(N, len(c))):
            d = r.randint(max(5, self.inc_lo - 6), self.days - 6)
            u.update(kind="expired", end_date_day=d, end_date=self.daydate(d), stop_day=d)

    def write(self, out):
        os.makedirs(out, exist_ok=True)
        self.events.sort(key=lambda x: x[0])
        with open(os.path.join(out, "events.jsonl"), "w") as f:
            for t, e in self.events:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        with open(os.path.join(out, "labels.jsonl"), "w") as f:
            for l in self.labels:
                f.write(json.dumps(l) + "\n")
        with open(os.path.join(out, "roster.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["user_id", "name", "roles", "department", "status", "end_date"])
            for u in self.users:
                w.writerow([u["id"], u["name"], ";".join(u["roles"]), u["dept"], u["status"], u["end_date"]])
        with open(os.path.join(out, "watchlist.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["patient_id", "category", "employee_user_id"])
            for p in self.watch:
                w.writerow([p["id"], p["cat"], p["emp"] or ""])
        kinds = defaultdict(int)
        for u in self.users:
            kinds[u["kind"]] += 1
        meta = {"events": len(self.events), "users": len(self.users), "days": self.days, "incidents": len(self.labels),
                "user_kinds": kinds, "args": vars(self.a),
                "active_user_days": sum(len(u.get("_days", ())) for u in self.users)}
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(json.dumps(meta))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--start", default="2026-03-02")
    ap.add_argument("--tz", type=int, default=0, help="local UTC offset in hours; event_time written with that offset")
    ap.add_argument("--deptset", default="a", choices=sorted(DEPTSETS))
    ap.add_argument("--holidays", default="", help="comma list of day indexes treated as holidays")
    ap.add_argument("--per-type", type=int, default=6)
    ap.add_argument("--volume", type=float, default=1.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = Gen(a)
    g.build()
    g.preassign()
    g.normal_traffic()
    g.incidents()
    g.write(a.out)


if __name__ == "__main__":
    main()
