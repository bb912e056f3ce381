#!/usr/bin/env python3
"""Held-out traffic generator: a regional imaging network sharing one enterprise PACS.

python models/heldout/network/generate.py --seed 1 --users 600 --days 42 --start 2026-03-02 \
    --tz -5 --out var/net/X1 [--per-type 6]

Writes events.jsonl, roster.csv, watchlist.csv, labels.jsonl and meta.json into --out.
Designed from docs/contracts.md and hospital practice only (see README.md in this folder).
Everything is driven by seeded random.Random instances; no set iteration, no hash(), so the
same arguments give the same bytes.
"""
from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import math
import os
import random
import sys
import time

import orjson

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR

# ----------------------------------------------------------------------------------------------
# static world
# ----------------------------------------------------------------------------------------------
# code, location, kind, subnet octet, share of exams, open hours (outpatient)
SITES = [
    ("SMH", "st-marys-hospital", "hospital", 10, 0.31),
    ("NGH", "northgate-general", "hospital", 20, 0.25),
    ("RCH", "riverside-community", "hospital", 30, 0.17),
    ("LIC", "lakeview-imaging-centre", "outpatient", 40, 0.14),
    ("EIC", "eastside-imaging-centre", "outpatient", 50, 0.13),
]
SITE = {s[0]: s for s in SITES}
HOSPITALS = [s[0] for s in SITES if s[2] == "hospital"]
OUTPATIENT = [s[0] for s in SITES if s[2] == "outpatient"]
# Northgate's audit records arrive through an older ATNA bridge that drops study department and
# modality (and sometimes the host name).
ATNA_SITE = "NGH"

SECTIONS = {
    "neuroradiology": (["CT", "MR"], 0.15),
    "body_imaging": (["CT", "MR", "US"], 0.20),
    "thoracic_imaging": (["CR", "CT"], 0.13),
    "musculoskeletal": (["CR", "MR"], 0.13),
    "breast_imaging": (["MG", "US"], 0.08),
    "pediatric_radiology": (["CR", "US", "MR"], 0.05),
    "nuclear_medicine": (["NM", "PT"], 0.05),
    "interventional_radiology": (["XA", "CT"], 0.03),
    "emergency_radiology": (["CT", "CR", "US"], 0.14),
    "cardiac_imaging": (["CT", "MR"], 0.04),
}
SECTION_NAMES = list(SECTIONS)
# technologist modality groups -> modalities they acquire, exams per shift, sites
TECH_GROUPS = {
    "radiology-ct": (["CT"], (18, 38)),
    "radiology-mri": (["MR"], (8, 16)),
    "radiology-ultrasound": (["US"], (12, 24)),
    "radiology-xray": (["CR", "DX"], (28, 60)),
    "radiology-mammography": (["MG"], (18, 34)),
    "radiology-nuclear": (["NM", "PT"], (6, 14)),
    "radiology-angio": (["XA"], (4, 9)),
}
TECH_GROUP_W = [0.24, 0.16, 0.16, 0.26, 0.08, 0.05, 0.05]
OUTPATIENT_GROUPS = ["radiology-ct", "radiology-mri", "radiology-ultrasound", "radiology-xray",
                     "radiology-mammography"]
MOD_SECTION = {}
for _s, (_mods, _w) in SECTIONS.items():
    for _m in _mods:
        MOD_SECTION.setdefault(_m, []).append((_s, _w))
MOD_SECTION["DX"] = MOD_SECTION["CR"]
MOD_SIZE = {  # instances range, bytes per instance
    "CT": ((150, 1400), 525_000), "MR": ((200, 1800), 140_000), "US": ((20, 90), 620_000),
    "CR": ((1, 4), 9_500_000), "DX": ((1, 4), 12_000_000), "MG": ((4, 8), 48_000_000),
    "NM": ((2, 40), 260_000), "PT": ((300, 900), 260_000), "XA": ((40, 400), 1_050_000),
}
REFERRING = {
    "neuroradiology": ["neurology", "neurosurgery", "emergency_medicine", "oncology"],
    "body_imaging": ["gastroenterology", "general_surgery", "oncology", "urology", "internal_medicine"],
    "thoracic_imaging": ["pulmonology", "internal_medicine", "oncology", "cardiology", "primary_care"],
    "musculoskeletal": ["orthopedics", "rheumatology", "primary_care", "emergency_medicine"],
    "breast_imaging": ["breast_surgery", "obstetrics_gynecology", "primary_care"],
    "pediatric_radiology": ["pediatrics"],
    "nuclear_medicine": ["oncology", "cardiology", "endocrinology"],
    "interventional_radiology": ["vascular_surgery", "oncology", "urology"],
    "emergency_radiology": ["emergency_medicine"],
    "cardiac_imaging": ["cardiology"],
}
REF_DEPTS = ["emergency_medicine", "internal_medicine", "oncology", "neurology", "neurosurgery",
             "orthopedics", "general_surgery", "gastroenterology", "urology", "pulmonology",
             "cardiology", "primary_care", "rheumatology", "breast_surgery", "obstetrics_gynecology",
             "pediatrics", "endocrinology", "vascular_surgery"]
REF_DEPT_W = [0.13, 0.12, 0.09, 0.05, 0.03, 0.08, 0.07, 0.04, 0.04, 0.05, 0.07, 0.09, 0.02, 0.02,
              0.03, 0.04, 0.02, 0.01]

# surnames: a head of common ones (same-surname pairs occur naturally) and a long tail
COMMON_SURNAMES = """SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ
HERNANDEZ LOPEZ GONZALEZ WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE
HARRIS SANCHEZ CLARK RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL
FLORES GREEN ADAMS NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS PATEL KIM CHEN WANG
SINGH KHAN MURPHY COOK ROGERS MORGAN""".split()
TAIL_A = ["OKON", "LIND", "BHATTA", "VAN DER", "KOWAL", "FITZ", "ABER", "HAL", "STRAND", "MOR",
          "DEL", "ACHTER", "BERG", "CZAR", "DU", "EL", "FERRA", "GOLD", "HOLM", "IVAN", "JAROS",
          "KAL", "LAUR", "MAC", "NORD", "OST", "PRZY", "QUIN", "ROSEN", "SZ", "TRE", "UR", "VAS",
          "WIN", "YAM", "ZAN", "AKIN", "BALD", "CAS", "DRAG"]
TAIL_B = ["KWO", "QVIST", "CHARYA", "MEER", "SKI", "GERALD", "NATHY", "VORSEN", "BERG", "EAU",
          "GADO", "MANN", "NECKI", "BOIS", "SAYED", "NTINO", "STEIN", "GREN", "OVIC", "ZEK", "ANDO",
          "ETTE", "DOCH", "ENDORF", "WICZ", "ARI", "HOLT", "AVICH", "OTO", "ETTI", "ORU", "ISTA"]
GIVEN = """JAMES MARY ROBERT PATRICIA JOHN JENNIFER MICHAEL LINDA DAVID ELIZABETH WILLIAM BARBARA
RICHARD SUSAN JOSEPH JESSICA THOMAS SARAH CHARLES KAREN CHRISTOPHER LISA DANIEL NANCY MATTHEW BETTY
ANTHONY SANDRA MARK MARGARET DONALD ASHLEY STEVEN KIMBERLY ANDREW EMILY PAUL DONNA JOSHUA MICHELLE
KENNETH CAROL KEVIN AMANDA BRIAN MELISSA GEORGE DEBORAH TIMOTHY STEPHANIE RONALD REBECCA JASON SHARON
EDWARD LAURA JEFFREY CYNTHIA RYAN DOROTHY JACOB AMY GARY KATHLEEN NICHOLAS ANGELA ERIC SHIRLEY
JONATHAN BRENDA STEPHEN EMMA LARRY ANNA JUSTIN PAMELA SCOTT NICOLE BRANDON SAMANTHA PRIYA WEI
OLUWASEUN ANIL FATIMA HIROSHI INGRID MATEO SOFIA LUCA AMARA""".split()


def tail_surnames():
    out = []
    for a in TAIL_A:
        for b in TAIL_B:
            out.append((a + b).replace(" ", ""))
    return out


# ----------------------------------------------------------------------------------------------
class Net:
    def __init__(self, seed, users, days, start, tz, per_type):
        self.seed, self.n_users, self.D, self.tz, self.per_type = seed, users, days, tz, per_type
        self.start = dt.date.fromisoformat(start)
        self.R = lambda name: random.Random(f"net-{seed}-{name}")
        self.rng = self.R("main")
        self.idrng = self.R("ids")
        self.jrng = self.R("jitter")
        self.events = []          # (t_ms_local, seq, dict)
        self.seq = 0
        self.used_ids = set()
        self.labels = []
        self.sess_n = 0
        self.acc_n = 0
        self.uid_n = 0
        self.weekday0 = self.start.weekday()
        self.inc_day0 = int(math.ceil(days * 0.6))
        self.holidays = self._holidays()

    # ---------------- helpers
    def wd(self, d):
        return (self.weekday0 + d) % 7

    def is_weekend(self, d):
        return self.wd(d) >= 5

    def _holidays(self):
        r = self.R("hol")
        hs = []
        for d in range(3, self.D - 1):
            if self.wd(d) == 0 and r.random() < 0.12:
                hs.append(d)
        return hs[:2]

    def off_day(self, d):
        return self.is_weekend(d) or d in self.holidays

    def new_id(self):
        while True:
            x = "%012x" % self.idrng.getrandbits(48)
            if x not in self.used_ids:
                self.used_ids.add(x)
                return "pn-" + x

    def new_session(self):
        self.sess_n += 1
        return "S%07d" % (self.sess_n * 7919 % 10_000_019)

    # ---------------- people & patients
    def surname(self, r, tail_p=0.5):
        if r.random() < 1 - tail_p:
            return r.choices(COMMON_SURNAMES, cum_weights=self.common_cum)[0]
        return self.tails[r.randrange(len(self.tails))]

    def build_patients(self):
        r = self.R("patients")
        self.tails = tail_surnames()
        acc, self.common_cum = 0.0, []
        for i in range(len(COMMON_SURNAMES)):   # Zipf-like: Smith ~5 % of the common head
            acc += 1.0 / (i + 1) ** 0.6
            self.common_cum.append(acc)
        n = max(4000, self.n_users * 55)
        site_w = [s[4] for s in SITES]
        self.patients = []
        self.pat_by_site = {s[0]: [] for s in SITES}
        for i in range(n):
            home = r.choices(HOSPITALS + OUTPATIENT, weights=site_w)[0]
            sur = self.surname(r, 0.45)
            sex = r.random() < 0.5
            p = {"id": "MRN%07d" % (1_200_000 + i * 37 % 8_800_000 + i), "sur": sur,
                 "name": "%s^%s" % (sur, r.choice(GIVEN)), "home": home, "sens": "normal",
                 "cat": None, "emp": None, "peds": r.random() < 0.09, "hist": None,
                 "w": r.paretovariate(2.2), "studies": [], "sex": sex}
            self.patients.append(p)
            self.pat_by_site[home].append(p)
        # watchlist: VIPs (public figures, board members), restricted (protected records)
        self.watch = []
        for p in r.sample(self.patients, max(6, n // 450)):
            p["cat"], p["sens"] = "vip", "vip"
            p["w"] *= 2.5
            self.watch.append(p)
        for p in r.sample(self.patients, max(10, n // 260)):
            if p["cat"]:
                continue
            p["cat"], p["sens"] = "restricted", "restricted"
            p["w"] *= 2.0
            self.watch.append(p)
        self.pat_cum = {}
        for s, lst in self.pat_by_site.items():
            acc, c = 0.0, []
            for p in lst:
                acc += p["w"]
                c.append(acc)
            self.pat_cum[s] = c

    def pick_patient(self, r, site, peds=None):
        lst, c = self.pat_by_site[site], self.pat_cum[site]
        for _ in range(4):
            p = lst[bisect.bisect_left(c, r.random() * c[-1])]
            if peds is None or p["peds"] == peds:
                return p
        return p

    def mk_user_id(self, given, sur, prefix=""):
        base = prefix + (given[0] + sur).lower().replace(" ", "")[:12]
        uid, k = base, 1
        while uid in self.user_by_id:
            k += 1
            uid = "%s%d" % (base, k)
        return uid

    def build_users(self):
        r = self.R("users")
        U = self.n_users
        self.users, self.user_by_id = [], {}
        plan = [("system_administrator", max(3, round(U * 0.018))),
                ("compliance_officer", max(2, round(U * 0.008))),
                ("film_clerk", max(2, round(U * 0.006))),
                ("research", max(2, round(U * 0.006))),
                ("teleradiologist", max(4, round(U * 0.03))),
                ("radiologist", max(8, round(U * 0.12))),
                ("technologist", max(12, round(U * 0.23))),
                ("scheduler", max(4, round(U * 0.075))),
                ("student", max(5, round(U * 0.085)))]
        used = sum(n for _, n in plan)
        plan.append(("referring_physician", max(10, U - used - 1)))
        for kind, n in plan:
            for i in range(n):
                self.add_user(r, kind, i)
        # one integration service account (prior prefetch / autorouting to the archive)
        self.add_user(r, "service", 0)

    def add_user(self, r, kind, i):
        given, sur = r.choice(GIVEN), self.surname(r, 0.5)
        u = {"kind": kind, "given": given, "sur": sur, "name": "%s %s" % (given.title(), sur.title()),
             "status": "active", "end_date": "", "hire": 0, "last": self.D, "vac": None,
             "part": False, "sparse": False, "float": False, "shift": "day", "phase": r.randrange(7),
             "wkphase": r.randrange(5), "remote_ip": "%d.%d.%d.%d" % (r.choice([24, 67, 73, 98, 174, 71]),
                                                                    r.randrange(256), r.randrange(256),
                                                                    r.randrange(1, 255)),
             "hold": False, "oncall": r.random() < 0.6}
        prefix = ""
        if kind == "radiologist":
            u["roles"] = ["radiologist"]
            u["dept"] = r.choices(SECTION_NAMES, weights=[SECTIONS[s][1] for s in SECTION_NAMES])[0]
            u["site"] = r.choices(HOSPITALS + OUTPATIENT, weights=[0.36, 0.26, 0.18, 0.1, 0.1])[0]
            x = r.random()
            u["shift"] = "day" if x < 0.8 else ("evening" if x < 0.9 else "night")
            if u["shift"] == "night" or u["dept"] == "emergency_radiology" and r.random() < 0.4:
                u["site"] = "SMH"
            u["part"] = r.random() < 0.18
            u["board"] = None
            if u["dept"] in ("body_imaging", "thoracic_imaging", "neuroradiology", "breast_imaging") \
                    and r.random() < 0.3:
                u["board"] = (r.randrange(5), r.choice([7 * 60 + 30, 12 * 60, 16 * 60]))
        elif kind == "teleradiologist":
            u["roles"] = ["teleradiologist"]
            u["dept"] = "nightwatch-teleradiology"
            u["site"] = "TELE"
            u["shift"] = "night"
            prefix = "nw."
            u["tele_ip"] = "198.51.100.%d" % (10 + i)
        elif kind == "technologist":
            u["roles"] = ["technologist"]
            u["float"] = r.random() < 0.12
            if u["float"]:
                u["dept"] = r.choice(["radiology-ct", "radiology-xray", "radiology-ultrasound", "radiology-mri"])
                u["sites"] = r.sample(HOSPITALS + OUTPATIENT, r.randint(2, 4))
                u["site"] = u["sites"][0]
            else:
                u["dept"] = r.choices(list(TECH_GROUPS), weights=TECH_GROUP_W)[0]
                opts = HOSPITALS + (OUTPATIENT if u["dept"] in OUTPATIENT_GROUPS else [])
                u["site"] = r.choice(opts)
            x = r.random()
            u["shift"] = "day" if x < 0.62 else ("evening" if x < 0.84 else "night")
            if u["site"] in OUTPATIENT and u["shift"] == "night":
                u["shift"] = "evening"
            u["part"] = r.random() < 0.2
        elif kind == "referring_physician":
            u["roles"] = ["referring_physician"]
            u["dept"] = r.choices(REF_DEPTS, weights=REF_DEPT_W)[0]
            u["site"] = r.choices(HOSPITALS + OUTPATIENT, weights=[0.38, 0.3, 0.22, 0.05, 0.05])[0]
            if u["site"] in OUTPATIENT:
                u["site"] = r.choice(HOSPITALS)
            if u["dept"] == "emergency_medicine":
                u["shift"] = "ed"
            elif u["dept"] == "internal_medicine" and r.random() < 0.5:
                u["shift"] = "hospitalist"
            else:
                u["shift"] = "clinic"
                u["clinic_days"] = sorted(r.sample(range(5), r.choice([2, 3, 3, 4, 4, 5])))
            u["sparse"] = r.random() < 0.12
            u["webviewer"] = r.random() < 0.55
        elif kind == "scheduler":
            u["roles"] = ["scheduler"]
            u["dept"] = "patient-access"
            u["site"] = r.choices(HOSPITALS + OUTPATIENT, weights=[0.3, 0.25, 0.2, 0.13, 0.12])[0]
            u["part"] = r.random() < 0.15
        elif kind == "student":
            u["roles"] = ["student"]
            u["dept"] = r.choice(["radiology-residency", "medical-school", "radiology-residency"])
            u["site"] = r.choice(HOSPITALS[:2])
            u["rot"] = [r.choice(SECTION_NAMES) for _ in range(8)]
            u["rot_len"] = r.choice([14, 21, 28])
            u["rot_off"] = r.randrange(u["rot_len"])
            if u["dept"] == "radiology-residency" and r.random() < 0.3:
                u["shift"] = "resident_night"
        elif kind == "system_administrator":
            u["roles"] = ["system_administrator"]
            u["dept"] = r.choice(["imaging-informatics", "imaging-informatics", "it-infrastructure"])
            u["site"] = "SMH"
        elif kind == "compliance_officer":
            u["roles"] = ["compliance_officer"]
            u["dept"] = "privacy-office"
            u["site"] = "SMH"
        elif kind == "film_clerk":
            u["roles"] = ["technologist"]
            u["dept"] = "film-library"
            u["site"] = HOSPITALS[i % len(HOSPITALS)]
        elif kind == "research":
            u["roles"] = ["radiologist"] if i == 0 else ["technologist"]
            u["dept"] = "imaging-research"
            u["site"] = "SMH"
        elif kind == "service":
            u["roles"] = ["system_administrator"]
            u["dept"] = "it-integration"
            u["site"] = "DC"
            u["given"], u["sur"], u["name"] = "SVC", "PREFETCH", "Prior Prefetch Service"
            u["id"] = "svc_prefetch"
        if "id" not in u:
            u["id"] = self.mk_user_id(given, sur, prefix)
        u["host_n"] = r.randint(1, 60)
        self.users.append(u)
        self.user_by_id[u["id"]] = u
        return u

    def lifecycle(self):
        """vacations, new hires, leavers, locums, sparse users (legitimate roster dynamics)."""
        r = self.R("life")
        D = self.D
        clin = [u for u in self.users if u["kind"] in ("radiologist", "technologist", "referring_physician",
                                                      "scheduler", "teleradiologist", "student")]
        clin = [u for u in clin if u["id"] not in self.taken]
        for u in clin:
            if r.random() < 0.3:
                L = r.randint(14, 21)
                s = r.randint(-7, D - 5)
                u["vac"] = (s, s + L)
        others = [u for u in self.users if u["kind"] in ("system_administrator", "compliance_officer", "film_clerk")]
        for u in others:
            if r.random() < 0.25:
                s = r.randint(0, D - 10)
                u["vac"] = (s, s + r.randint(7, 14))
        pool = list(clin)
        r.shuffle(pool)
        k = 0
        n_hire = max(2, round(len(clin) * 0.04))
        for u in pool[k:k + n_hire]:
            u["hire"] = r.randint(4, D - 6)
            u["vac"] = None
            u["newhire"] = True
        k += n_hire
        n_term = max(2, round(len(clin) * 0.025))
        for u in pool[k:k + n_term]:
            e = r.randint(5, D - 2)
            u["last"] = e
            u["status"] = "terminated"
            u["end_date"] = self.date(e).isoformat()
        k += n_term
        for u in pool[k:k + max(1, len(clin) // 250)]:
            e = r.randint(8, D - 3)
            u["last"] = e
            u["status"] = "suspended"
            u["end_date"] = self.date(e).isoformat()
        k += max(1, len(clin) // 250)
        # locums: active with a contract end date after the window
        for u in pool[k:k + max(2, round(len(clin) * 0.03))]:
            if u["kind"] in ("radiologist", "technologist"):
                u["end_date"] = self.date(D + r.randint(3, 70)).isoformat()
                u["locum"] = True
                if r.random() < 0.5:
                    u["hire"] = r.randint(0, D // 2)
        k += max(2, round(len(clin) * 0.03))
        # HR lag: still 'active' with a past end date, but they really stopped working then
        for u in pool[k:k + max(1, len(clin) // 300)]:
            e = r.randint(3, D - 8)
            u["last"] = e
            u["end_date"] = self.date(e).isoformat()
            u["hr_lag"] = True
        k += max(1, len(clin) // 300)
        # employees who are also patients of the network
        emp = r.sample([u for u in clin], max(4, len(clin) // 30))
        for i, u in enumerate(emp):
            p = self.make_patient(r, u["sur"], u["given"], u["site"] if u["site"] in SITE else "SMH")
            p["cat"], p["emp"] = "employee", u["id"]
            p["w"] = 3.0
            u["patient"] = p
            self.watch.append(p)
        self.rebuild_cum()

    def make_patient(self, r, sur, given, site):
        i = len(self.patients)
        p = {"id": "MRN%07d" % (1_200_000 + i * 37 % 8_800_000 + i), "sur": sur,
             "name": "%s^%s" % (sur, given), "home": site, "sens": "normal",
             "cat": None, "emp": None, "peds": False, "hist": None, "w": 1.0, "studies": [],
             "sex": r.random() < 0.5}
        self.patients.append(p)
        self.pat_by_site[site].append(p)
        return p

    def rebuild_cum(self):
        for s, lst in self.pat_by_site.items():
            acc, c = 0.0, []
            for p in lst:
                acc += p["w"]
                c.append(acc)
            self.pat_cum[s] = c

    def date(self, d):
        return self.start + dt.timedelta(days=d)

    # ---------------- clients
    def site_client(self, site, kind, n):
        code, loc, _, oct_, _ = SITE[site]
        seg = {"rr": 4, "ct": 8, "mr": 9, "us": 10, "xr": 11, "mg": 12, "nm": 13, "xa": 14, "cl": 20,
               "ws": 24, "ed": 30, "fl": 40, "sc": 44}[kind]
        return {"ip": "10.%d.%d.%d" % (oct_, seg, 10 + n % 200), "host": "%s-%s-%02d" % (code.lower(), kind, n % 99 + 1),
                "remote": False, "location": loc}

    def remote_client(self, u):
        return {"ip": u["remote_ip"], "remote": True, "location": "remote-vpn"}

    def tech_kind(self, dept):
        return {"radiology-ct": "ct", "radiology-mri": "mr", "radiology-ultrasound": "us", "radiology-xray": "xr",
                "radiology-mammography": "mg", "radiology-nuclear": "nm", "radiology-angio": "xa"}.get(dept, "ws")

    # ---------------- event construction
    def emit(self, t, u, action, sess=None, cl=None, pat=None, st=None, outcome="success", dest=None,
             target=None, detail=None, mfa=None, dept=None, source=None, label=None):
        e = {"schema_version": 1, "event_id": self.new_id(), "event_time": None}
        site_atna = cl is not None and cl.get("location") == SITE[ATNA_SITE][1]
        e["source"] = source or ("atna-ngh" if site_atna else "pacs-ent")
        e["action"] = action
        e["outcome"] = outcome
        ud = {"id": u["id"]}
        if u.get("name"):
            ud["name"] = u["name"]
        if u.get("roles"):
            ud["roles"] = u["roles"]
        dd = dept or u.get("dept")
        if dd:
            ud["department"] = dd
        if mfa is None and sess is not None:
            mfa = sess[1]
        if mfa is not None and not (site_atna and mfa is False):
            ud["mfa"] = mfa
        if sess is not None:
            ud["session_id"] = sess[0]
        e["user"] = ud
        if cl is not None:
            c = dict(cl)
            if site_atna and self.rng.random() < 0.3:
                c.pop("host", None)
            e["client"] = c
        if pat is not None:
            e["patient"] = {"id": pat["id"], "name": pat["name"]}
        if st is not None:
            s = {"uid": st["uid"], "accession": st["acc"]}
            if not site_atna and not st["nometa"]:
                s["modality"] = st["mod"]
                s["department"] = st["sec"]
            s["sensitivity"] = st["pat"]["sens"]
            if action in ("view", "export", "import", "share", "archive", "print"):
                s["instances"] = st["inst"]
                s["bytes"] = st["bytes"]
            e["study"] = s
        if dest is not None:
            e["destination"] = dest
        if target is not None:
            e["target_user"] = target
        if detail:
            e["detail"] = detail
        self.seq += 1
        self.events.append((int(t) + self.jrng.randint(0, 999), self.seq, e))
        if label is not None:
            label.append(e)
        return e

    def new_study(self, r, pat, mod, sec, site, t, past=False):
        self.uid_n += 1
        self.acc_n += 1
        (lo, hi), bpi = MOD_SIZE[mod]
        inst = r.randint(lo, hi)
        st = {"uid": "1.2.826.0.1.3680043.10.%d.%d.%d" % (543, 7000 + self.seed % 1000, self.uid_n * 13 + 1),
              "acc": "%s%08d" % (site[:1] if site in SITE else "P", 20_000_000 + self.acc_n * 7 % 9_999_991),
              "mod": mod, "sec": sec, "pat": pat, "site": site, "t": t, "inst": inst,
              "bytes": int(inst * bpi * r.uniform(0.8, 1.2)), "reads": 0, "nometa": r.random() < 0.06,
              "ref": None, "by": []}
        return st

    def priors(self, r, pat):
        if pat["hist"] is None:
            pat["hist"] = []
            for _ in range(r.choice([0, 0, 1, 1, 2, 3, 5])):
                mod = r.choice(["CT", "MR", "CR", "US", "CR"])
                sec = r.choice(MOD_SECTION[mod])[0]
                pat["hist"].append(self.new_study(r, pat, mod, sec, pat["home"], -r.randint(30, 1500) * DAY, True))
        return pat["hist"]

    # ---------------- sessions
    def login(self, r, u, t, cl, mfa, d=None):
        sid = (self.new_session(), mfa)
        t += r.randint(0, 50) * 1000
        if r.random() < 0.035:  # typo
            for k in range(r.choice([1, 1, 1, 2])):
                self.emit(t - r.randint(8, 40) * 1000 * (k + 1), u, "login_failed", None, cl,
                          outcome="minor_failure", detail={"reason": "bad_password"})
        if d is not None and u.get("pwexp") == d and not u.get("pwexp_done"):
            u["pwexp_done"] = True
            for k in range(r.randint(1, 3)):
                self.emit(t - (k + 1) * r.randint(20, 90) * 1000, u, "login_failed", None, cl,
                          outcome="minor_failure", detail={"reason": "password_expired"})
            self.emit(t - 5000, u, "other", None, cl, detail={"operation": "password_change"})
        self.emit(t, u, "login", sid, cl)
        return sid

    def logout(self, r, u, t, sid, cl):
        if r.random() < 0.75:
            self.emit(t, u, "logout", sid, cl)

    # ---------------- schedules
    def away(self, u, d):
        if d < u["hire"] or d >= u["last"]:
            return True
        v = u["vac"]
        if v and v[0] <= d < v[1]:
            return True
        if u.get("dormant_until") is not None and u.get("dormant_from", 0) <= d:
            return True
        return False

    def works(self, r, u, d):
        """returns shift (start_min, end_min, site) or None"""
        if self.away(u, d):
            return None
        k, sh = u["kind"], u["shift"]
        wd, off = self.wd(d), self.off_day(d)
        if k == "teleradiologist":
            if ((d + u["phase"]) // 7) % 2 == 0:
                return (22 * 60 + r.randint(-20, 20), 31 * 60 + r.randint(-15, 30), "TELE")
            return None
        if k in ("radiologist", "technologist"):
            site = u["site"]
            if u["float"]:
                site = u["sites"][r.randrange(len(u["sites"]))]
            if off:
                if site in OUTPATIENT:
                    if wd == 5 and (d // 7 + u["wkphase"]) % 3 == 0 and d not in self.holidays:
                        return (8 * 60 + r.randint(-10, 10), 14 * 60 + r.randint(-10, 20), site)
                    return None
                if (d // 7 + u["wkphase"]) % (4 if k == "technologist" else 5) != 0:
                    return None
            else:
                if u["part"] and (wd + u["phase"]) % 5 >= 3:
                    return None
                if k == "technologist" and (wd + u["phase"]) % 7 == 6 and r.random() < 0.5:
                    return None  # rota day off in lieu of weekend
                if r.random() < 0.03:
                    return None  # sick / admin day
            if sh == "day":
                s = (7 * 60 if k == "technologist" else 7 * 60 + 45) + r.randint(-20, 25)
                return (s, s + (8 * 60 + 30 if k == "technologist" else 9 * 60 + 30) + r.randint(-20, 60), site)
            if sh == "evening":
                s = 15 * 60 + r.randint(-15, 20)
                return (s, s + 8 * 60 + 30 + r.randint(-10, 40), site)
            s = 23 * 60 + r.randint(-20, 10) if k == "technologist" else 22 * 60 + r.randint(-15, 15)
            if k == "radiologist" and (d + u["phase"]) % 7 >= 4:
                return None
            return (s, s + 8 * 60 + 30 + r.randint(-10, 30), site)
        if k == "referring_physician":
            if u["sparse"]:
                if off or r.random() > 0.14:
                    return None
                s = 9 * 60 + r.randint(-60, 300)
                return (s, s + r.randint(20, 120), u["site"])
            if sh == "ed":
                if (d + u["phase"]) % 7 in (0, 3, 5, 6):
                    return None
                kind = (d // 7 + u["phase"]) % 3
                s = [7 * 60, 15 * 60, 23 * 60][kind] + r.randint(-15, 15)
                return (s, s + 10 * 60 + r.randint(0, 60), u["site"])
            if sh == "hospitalist":
                if ((d + u["phase"]) // 7) % 2 == 1:
                    return None
                s = 7 * 60 + r.randint(-10, 30)
                return (s, s + 11 * 60 + r.randint(0, 60), u["site"])
            if off or wd not in u["clinic_days"] or r.random() < 0.05:
                return None
            s = 8 * 60 + r.randint(-30, 60)
            return (s, s + 8 * 60 + r.randint(0, 150), u["site"])
        if k == "scheduler":
            if off:
                if u["site"] in OUTPATIENT and wd == 5 and (d // 7 + u["wkphase"]) % 3 == 0:
                    return (7 * 60 + 45, 13 * 60 + 30, u["site"])
                return None
            if u["part"] and (wd + u["phase"]) % 5 >= 3:
                return None
            s = 7 * 60 + r.randint(-15, 60)
            return (s, s + 8 * 60 + r.randint(0, 45), u["site"])
        if k == "student":
            if u["shift"] == "resident_night":
                if (d // 7 + u["wkphase"]) % 4 == 0 and (d + u["phase"]) % 7 < 5:
                    return (21 * 60 + r.randint(-15, 15), 31 * 60 + r.randint(0, 40), "SMH")
            if off:
                return None
            if r.random() < 0.08:
                return None
            s = 8 * 60 + r.randint(-20, 40)
            return (s, s + 8 * 60 + r.randint(-60, 60), u["site"])
        if k in ("system_administrator", "compliance_officer", "film_clerk", "research"):
            if off:
                return None
            if k == "research" and r.random() < 0.35:
                return None
            s = 8 * 60 + r.randint(-45, 75)
            return (s, s + 8 * 60 + r.randint(-30, 90), u["site"])
        return None

    # ---------------- legitimate traffic
    def simulate(self):
        r = self.R("sim")
        self.worklist = {s: [] for s in SECTION_NAMES}   # (t, study) sorted per day
        self.wl_t = {s: [] for s in SECTION_NAMES}
        self.inbox = {}
        self.ref_by_dept = {}
        for u in self.users:
            if u["kind"] == "referring_physician":
                self.ref_by_dept.setdefault(u["dept"], []).append(u)
            if r.random() < 0.5:
                u["pwexp"] = r.randrange(self.D)
        self.recent_studies = []
        by_kind = {}
        for u in self.users:
            by_kind.setdefault(u["kind"], []).append(u)
        self.by_kind = by_kind
        for d in range(self.D):
            base = d * DAY
            shifts = {}
            for u in self.users:
                if u["kind"] == "service":
                    continue
                w = self.works(r, u, d)
                if w:
                    shifts[u["id"]] = w
            self.today = shifts
            self.day_tech(r, d, base, shifts)
            for s in SECTION_NAMES:
                pairs = sorted(self.worklist[s], key=lambda x: x[0])
                self.worklist[s] = [p for p in pairs if p[0] > base - 3 * DAY]
                self.wl_t[s] = [p[0] for p in self.worklist[s]]
            self.day_service(r, d, base)
            for u in by_kind.get("radiologist", []):
                self.day_radiologist(r, u, d, base, shifts.get(u["id"]))
            for kind, day in (("teleradiologist", self.day_telerad), ("student", self.day_student),
                              ("referring_physician", self.day_referring), ("scheduler", self.day_scheduler),
                              ("film_clerk", self.day_clerk), ("research", self.day_research),
                              ("system_administrator", self.day_admin),
                              ("compliance_officer", self.day_compliance)):
                for u in by_kind.get(kind, []):
                    if u["id"] in shifts:
                        day(r, u, d, base, shifts[u["id"]])
            self.day_admin_lifecycle(r, d, base)

    def section_for(self, r, mod, site, minute):
        opts = MOD_SECTION[mod]
        if site in HOSPITALS and mod in ("CT", "CR", "DX", "US") and (minute < 7 * 60 or minute > 19 * 60 or r.random() < 0.2):
            return "emergency_radiology"
        secs = [o[0] for o in opts if not (site in OUTPATIENT and o[0] == "emergency_radiology")]
        ws = [o[1] for o in opts if not (site in OUTPATIENT and o[0] == "emergency_radiology")]
        return r.choices(secs, weights=ws)[0]

    def day_tech(self, r, d, base, shifts):
        for u in self.by_kind.get("technologist", []):
            w = shifts.get(u["id"])
            if not w:
                continue
            s0, s1, site = w
            mods, (lo, hi) = TECH_GROUPS[u["dept"]]
            n = r.randint(lo, hi)
            if site in HOSPITALS and s0 > 20 * 60:
                n = max(2, n // 2)
            if self.off_day(d):
                n = max(2, int(n * 0.6))
            kind = self.tech_kind(u["dept"])
            cl = self.site_client(site, kind, u["host_n"] % 4 + (SITE[site][3]))
            t = base + s0 * MIN + r.randint(0, 9) * MIN
            end = base + s1 * MIN
            sid = self.login(r, u, t, cl, False, d)
            step = max(6 * MIN, (end - t) // (n + 1))
            t += r.randint(2, 8) * MIN
            for i in range(n):
                if t > end:
                    break
                minute = (t - base) // MIN % 1440
                mod = mods[0] if len(mods) == 1 or r.random() < 0.8 else mods[1]
                sec = self.section_for(r, mod, site, minute)
                peds = sec == "pediatric_radiology"
                pat = self.pick_patient(r, site, peds if peds else None)
                if r.random() < 0.3 and site in HOSPITALS:
                    pat = self.pick_patient(r, r.choice(HOSPITALS))
                while pat["emp"] == u["id"]:
                    pat = self.pick_patient(r, site)
                st = self.new_study(r, pat, mod, sec, site, t)
                if r.random() < 0.4:
                    self.emit(t - r.randint(1, 5) * MIN, u, "query", sid, cl, pat=pat,
                              detail={"query": "modality_worklist"})
                self.emit(t, u, "import", sid, cl, pat=pat, st=st)
                st["by"].append(u["id"])
                if r.random() < 0.35:
                    self.emit(t + r.randint(1, 4) * MIN, u, "view", sid, cl, pat=pat, st=st)
                x = r.random()
                if x < 0.04:
                    self.emit(t + r.randint(2, 9) * MIN, u, "edit", sid, cl, pat=pat, st=st,
                              detail={"field": r.choice(["patient_name", "birth_date", "accession", "laterality"])})
                elif x < 0.047:
                    self.emit(t + r.randint(2, 9) * MIN, u, "delete", sid, cl, pat=pat, st=st,
                              detail={"scope": "series", "reason": "qc_reject"})
                self.add_to_worklist(r, st, pat)
                t += step + r.randint(-step // 3, step // 3)
            self.logout(r, u, end + r.randint(0, 15) * MIN, sid, cl)

    def add_to_worklist(self, r, st, pat):
        pat["studies"].append(st)
        self.worklist[st["sec"]].append((st["t"], st))
        deps = REFERRING[st["sec"]]
        dep = r.choice(deps)
        refs = self.ref_by_dept.get(dep)
        if refs:
            same = [x for x in refs if x["site"] == st["site"]]
            ref = r.choice(same) if same and r.random() < 0.7 else r.choice(refs)
            if ref["id"] == pat["emp"]:
                ref = refs[(refs.index(ref) + 1) % len(refs)]
            if ref["id"] != pat["emp"]:
                st["ref"] = ref["id"]
                self.inbox.setdefault(ref["id"], []).append(st)
        self.recent_studies.append(st)
        if len(self.recent_studies) > 30000:
            self.recent_studies = self.recent_studies[-20000:]

    def pick_worklist(self, r, sec, t, maxage=30 * HOUR):
        ts = self.wl_t[sec]
        hi = bisect.bisect_right(ts, t - 8 * MIN)
        lo = bisect.bisect_left(ts, t - maxage)
        if hi <= lo:
            return None
        best = None
        for _ in range(4):
            st = self.worklist[sec][r.randrange(lo, hi)][1]
            if st["reads"] == 0:
                return st
            best = st
        return best

    def read_study(self, r, u, sid, cl, t, st, dept=None):
        pat = st["pat"]
        if pat["emp"] == u["id"]:
            return  # staff do not read their own exams (a colleague does)
        st["reads"] += 1
        st["by"].append(u["id"])
        if r.random() < 0.003:  # study still being retrieved from the long-term archive
            self.emit(t - r.randint(5, 40) * 1000, u, "view", sid, cl, pat=pat, st=st, dept=dept, outcome="minor_failure",
                      detail={"reason": "study_offline_retrieving"})
        self.emit(t, u, "view", sid, cl, pat=pat, st=st, dept=dept)
        if r.random() < 0.45:
            hs = self.priors(r, pat) + [x for x in pat["studies"] if x is not st and x["t"] < st["t"]]
            if hs:
                self.emit(t + r.randint(20, 120) * 1000, u, "view", sid, cl, pat=pat, st=r.choice(hs), dept=dept)
        if u.get("dept") == "medical-school":
            return  # medical students have view-only access (residents annotate and export teaching cases)
        if r.random() < 0.3:
            self.emit(t + r.randint(2, 6) * MIN, u, "annotate", sid, cl, pat=pat, st=st, dept=dept)
        x = r.random()
        if x < 0.008:
            self.emit(t + r.randint(3, 8) * MIN, u, "export", sid, cl, pat=pat, st=st, dept=dept,
                      dest={"type": "dicom_node", "id": "TEACHING_FILE", "external": False},
                      detail={"deidentified": True}, mfa=True)  # exports need step-up MFA
        elif x < 0.02:
            self.emit(t + r.randint(3, 8) * MIN, u, "share", sid, cl, pat=pat, st=st, dept=dept,
                      dest={"type": "web", "id": "referrer-portal", "external": False}, mfa=True)
        elif x < 0.024:
            self.emit(t + r.randint(3, 8) * MIN, u, "print", sid, cl, pat=pat, st=st, dept=dept,
                      dest={"type": "printer", "id": "%s-prn-rr" % st["site"].lower() if st["site"] in SITE else "prn",
                            "external": False})

    def reading_block(self, r, u, sid, cl, t0, t1, n, secs, dept=None, maxage=30 * HOUR):
        if n <= 0:
            return
        step = max(2 * MIN, (t1 - t0) // n)
        t = t0
        for i in range(n):
            sec = secs[0] if r.random() < 0.8 else r.choice(secs)
            st = self.pick_worklist(r, sec, t, maxage)
            if st is None:
                st = self.pick_worklist(r, r.choice(SECTION_NAMES), t, maxage)
            if st is not None:
                self.read_study(r, u, sid, cl, t, st, dept)
            t += step + r.randint(-step // 3, step // 3)
            if t > t1:
                break

    def day_radiologist(self, r, u, d, base, w):
        if w:
            s0, s1, site = w
            cl = self.site_client(site, "rr", u["host_n"] % 12 + 1)
            t0, t1 = base + s0 * MIN, base + s1 * MIN
            secs = [u["dept"], "emergency_radiology"] if u["shift"] == "night" or self.off_day(d) else [u["dept"]]
            if u["shift"] == "night":
                secs = ["emergency_radiology", u["dept"]]
            n = r.randint(40, 120) if not u["part"] else r.randint(30, 80)
            if self.off_day(d):
                n = r.randint(25, 60)
            # sessions broken by lunch / conferences
            cut = t0 + (t1 - t0) * r.uniform(0.4, 0.6)
            sid = self.login(r, u, t0, cl, False, d)
            self.reading_block(r, u, sid, cl, t0 + 2 * MIN, int(cut), n // 2, secs)
            self.logout(r, u, int(cut) + 2 * MIN, sid, cl)
            t2 = int(cut) + r.randint(30, 60) * MIN
            sid = self.login(r, u, t2, cl, False)
            self.reading_block(r, u, sid, cl, t2 + MIN, t1, n - n // 2, secs)
            self.logout(r, u, t1 + r.randint(1, 20) * MIN, sid, cl)
            # tumour board preparation / conference on a fixed weekday
            if u.get("board") and self.wd(d) == u["board"][0] and not self.off_day(d):
                tb = base + u["board"][1] * MIN - 70 * MIN
                cb = self.site_client(site, "cl", 90 + u["host_n"] % 5)
                sid = self.login(r, u, tb, cb, False)
                k = r.randint(15, 30)
                pool = [x for x in self.recent_studies[-6000:] if x["sec"] in (u["dept"], "nuclear_medicine", "body_imaging")
                        and x["t"] < tb - HOUR]
                tt = tb + MIN
                for _ in range(k):
                    if not pool:
                        break
                    st = r.choice(pool)
                    if st["pat"]["emp"] == u["id"]:
                        continue
                    self.emit(tt, u, "view", sid, cl=cb, pat=st["pat"], st=st, detail={"context": "tumour_board"})
                    if r.random() < 0.5:
                        hs = self.priors(r, st["pat"])
                        if hs:
                            self.emit(tt + 40_000, u, "view", sid, cl=cb, pat=st["pat"], st=r.choice(hs))
                    tt += r.randint(1, 4) * MIN
                self.logout(r, u, tt + 5 * MIN, sid, cb)
        # on-call from home (evening), MFA via VPN
        if (u["oncall"] and u["shift"] == "day" and not self.away(u, d)
                and (d + u["phase"] * 3) % 11 == 0 and not u["part"]):
            cl = self.remote_client(u)
            t0 = base + r.randint(19 * 60, 21 * 60) * MIN
            sid = self.login(r, u, t0, cl, True, d)
            self.reading_block(r, u, sid, cl, t0 + MIN, t0 + r.randint(90, 200) * MIN, r.randint(3, 15),
                               ["emergency_radiology", u["dept"]], maxage=6 * HOUR)
            self.logout(r, u, t0 + 220 * MIN, sid, cl)

    def day_telerad(self, r, u, d, base, w):
        s0, s1, _ = w
        cl = {"ip": u["tele_ip"], "host": "nightwatch-ws%02d" % (u["host_n"] % 30 + 1), "remote": True,
              "location": "nightwatch-telerad"}
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, True, d)
        self.reading_block(r, u, sid, cl, t0 + MIN, t1, r.randint(35, 90),
                           ["emergency_radiology", "neuroradiology", "body_imaging"], maxage=10 * HOUR)
        self.logout(r, u, t1 + 3 * MIN, sid, cl)

    def day_student(self, r, u, d, base, w):
        s0, s1, site = w
        sec = u["rot"][((d + u["rot_off"]) // u["rot_len"]) % len(u["rot"])]
        cl = self.site_client(site, "rr", 40 + u["host_n"] % 10)
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, False, d)
        dept = sec if u["dept"] == "radiology-residency" else u["dept"]
        secs = [sec] if u["shift"] != "resident_night" or s0 < 20 * 60 else ["emergency_radiology", sec]
        n = r.randint(5, 25) if u["dept"] == "medical-school" else r.randint(20, 55)
        self.reading_block(r, u, sid, cl, t0 + 5 * MIN, t1, n, secs, dept=dept)
        self.logout(r, u, t1, sid, cl)

    def day_referring(self, r, u, d, base, w):
        s0, s1, site = w
        if u.get("webviewer"):
            cl = {"ip": "10.%d.%d.%d" % (SITE[site][3], 60 + u["host_n"] % 8, 20 + u["host_n"]), "remote": False,
                  "location": SITE[site][1]}
        else:
            cl = self.site_client(site, "ed" if u["shift"] == "ed" else "cl", u["host_n"])
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        # a share of clinicians review results from home in the evening (VPN + MFA)
        remote = r.random() < 0.06 and u["shift"] == "clinic"
        if remote:
            cl = self.remote_client(u)
            t0 = base + r.randint(19 * 60, 22 * 60) * MIN
            t1 = t0 + r.randint(15, 50) * MIN
        sid = self.login(r, u, t0, cl, remote, d)
        box = self.inbox.get(u["id"], [])
        ready = [st for st in box if st["t"] < t0 - 30 * MIN]
        rest = [st for st in box if st["t"] >= t0 - 30 * MIN]
        cap = r.randint(2, 20) if u["shift"] == "clinic" else r.randint(8, 30)
        if u["sparse"]:
            cap = r.randint(1, 6)
        todo = ready[-cap:] if len(ready) > cap else ready
        left = ready[:-cap] if len(ready) > cap else []
        self.inbox[u["id"]] = [st for st in left if st["t"] > t0 - 7 * DAY][-40:] + rest
        if len(todo) < cap and self.recent_studies and u["shift"] == "ed":
            # ED: patients in the department right now
            for st in self.recent_studies[-400:]:
                if st["site"] == site and st["sec"] == "emergency_radiology" and t0 < st["t"] < t1 and r.random() < 0.25:
                    todo.append(st)
        todo = [st for st in todo if st["pat"]["emp"] != u["id"]]
        todo.sort(key=lambda s: s["t"])
        t = t0 + r.randint(2, 20) * MIN
        span = max(MIN, (t1 - t) // max(1, len(todo)))
        for st in todo:
            tt = max(t, st["t"] + 20 * MIN)
            if tt > t1 + 60 * MIN:
                continue
            self.emit(tt, u, "view", sid, cl, pat=st["pat"], st=st)
            st["by"].append(u["id"])
            if r.random() < 0.25:
                hs = self.priors(r, st["pat"])
                if hs:
                    self.emit(tt + r.randint(30, 200) * 1000, u, "view", sid, cl, pat=st["pat"], st=r.choice(hs))
            if r.random() < 0.01:
                self.emit(tt + 2 * MIN, u, "print", sid, cl, pat=st["pat"], st=st,
                          dest={"type": "printer", "id": "%s-prn-%s" % (site.lower(), u["dept"][:6]), "external": False})
            t = tt + r.randint(span // 2, span + span // 2)
        self.logout(r, u, max(t, t1) + r.randint(0, 10) * MIN, sid, cl)

    def day_scheduler(self, r, u, d, base, w):
        s0, s1, site = w
        cl = self.site_client(site, "sc", u["host_n"] % 20)
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, False, d)
        n = r.randint(25, 80) if not u["part"] else r.randint(10, 35)
        step = (t1 - t0) // (n + 1)
        t = t0 + 3 * MIN
        for _ in range(n):
            pat = self.pick_patient(r, site if r.random() < 0.8 else r.choice(HOSPITALS))
            if pat["emp"] == u["id"]:
                continue
            self.emit(t, u, "query", sid, cl, pat=pat, detail={"query": r.choice(["patient_lookup", "order_status", "prior_exams"])})
            t += step + r.randint(-step // 2, step // 2)
        self.logout(r, u, t1, sid, cl)

    def day_clerk(self, r, u, d, base, w):
        s0, s1, site = w
        cl = self.site_client(site, "fl", 1 + u["host_n"] % 2)
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, True, d)
        n = r.randint(6, 22)
        t = t0 + 10 * MIN
        step = (t1 - t0) // (n + 1)
        pool = [x for x in self.recent_studies[-8000:] if x["site"] == site and x["t"] < t0 - DAY // 2]
        for _ in range(n):
            if not pool:
                break
            st = r.choice(pool)
            pat = st["pat"]
            if pat["emp"] == u["id"]:
                continue
            self.emit(t, u, "query", sid, cl, pat=pat, detail={"query": "release_of_information"})
            sts = [st] + ([r.choice(self.priors(r, pat))] if self.priors(r, pat) and r.random() < 0.3 else [])
            for x in sts:
                self.emit(t + r.randint(2, 6) * MIN, u, "export", sid, cl, pat=pat, st=x,
                          dest={"type": "media", "id": "%s-cdburn-01" % site.lower(), "external": True},
                          detail={"request": "patient_copy", "roi_ticket": "ROI-%06d" % r.randrange(10 ** 6)})
            t += step
        for _ in range(r.randint(2, 10)):  # outside CDs brought by patients
            pat = self.pick_patient(r, site)
            if pat["emp"] == u["id"]:
                continue
            st = self.new_study(r, pat, r.choice(["CT", "MR", "CR"]), "body_imaging", site, t)
            st["sec"] = self.section_for(r, st["mod"], "LIC", 600)
            self.emit(t1 - r.randint(10, 120) * MIN, u, "import", sid, cl, pat=pat, st=st,
                      detail={"origin": "outside_media"})
        self.logout(r, u, t1, sid, cl)

    def day_research(self, r, u, d, base, w):
        s0, s1, site = w
        cl = {"ip": "10.10.70.%d" % (20 + u["host_n"] % 5), "host": "smh-research-%02d" % (1 + u["host_n"] % 3),
              "remote": False, "location": SITE["SMH"][1]}
        t0 = base + s0 * MIN
        sid = self.login(r, u, t0, cl, True, d)
        t = t0 + 5 * MIN
        pool = [x for x in self.recent_studies[-15000:] if x["t"] < t0 - DAY]
        big = self.wd(d) in (1, 3) and r.random() < 0.35 and len(pool) > 100 and d > 3
        nq = r.randint(5, 20) if not big else r.randint(60, 250)
        chosen = [pool[r.randrange(len(pool))] for _ in range(nq)] if pool else []
        chosen = [x for x in chosen if x["pat"]["emp"] != u["id"]]
        for st in chosen:
            self.emit(t, u, "query", sid, cl, pat=st["pat"], detail={"query": "cohort_search", "protocol": "IRB-2024-0%d" % (31 + u["host_n"] % 3)})
            t += r.randint(3, 20) * 1000
        if big:
            for st in chosen:
                self.emit(t, u, "export", sid, cl, pat=st["pat"], st=st,
                          dest={"type": "dicom_node", "id": "RESEARCH_DEID_GW", "external": False},
                          detail={"deidentified": True, "protocol": "IRB-2024-0%d" % (31 + u["host_n"] % 3)})
                t += r.randint(5, 40) * 1000
        self.logout(r, u, base + s1 * MIN, sid, cl)

    def day_admin(self, r, u, d, base, w):
        s0, s1, _ = w
        cl = {"ip": "10.0.12.%d" % (30 + u["host_n"] % 20), "host": "it-adm-%02d" % (u["host_n"] % 20 + 1),
              "remote": False, "location": "smh-datacentre"}
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, True, d)
        t = t0
        for _ in range(r.randint(3, 15)):
            t += r.randint(10, 50) * MIN
            self.emit(t, u, "query", sid, cl, detail={"query": r.choice(["system_status", "dicom_queue", "audit_log", "user_list"])})
        if r.random() < 0.45:
            for _ in range(r.randint(1, 3)):
                tt = t0 + r.randint(30, max(31, (t1 - t0) // MIN - 10)) * MIN
                self.emit(tt, u, "config_change", sid, cl, detail={
                    "ticket": "CHG%07d" % r.randrange(10 ** 7),
                    "setting": r.choice(["hanging_protocol", "routing_rule", "ae_title", "worklist_filter",
                                         "storage_tier", "viewer_preset", "prefetch_rule"])})
        if r.random() < 0.1:  # troubleshooting a viewer problem on a study (ticketed)
            old = [x for x in self.recent_studies[-3000:] if x["t"] < t0 and x["pat"]["emp"] != u["id"]]
            st = r.choice(old) if old else None
            if st:
                self.emit(t0 + r.randint(60, 300) * MIN, u, "view", sid, cl, pat=st["pat"], st=st,
                          detail={"ticket": "INC%07d" % r.randrange(10 ** 7)})
        self.logout(r, u, t1, sid, cl)
        # after-hours on-call admin from home (rare, MFA)
        if r.random() < 0.04:
            rc = self.remote_client(u)
            tt = base + r.randint(20 * 60, 23 * 60) * MIN
            sid = self.login(r, u, tt, rc, True)
            self.emit(tt + 3 * MIN, u, "query", sid, rc, detail={"query": "dicom_queue"})
            self.emit(tt + 9 * MIN, u, "config_change", sid, rc, detail={"ticket": "INC%07d" % r.randrange(10 ** 7),
                                                                       "setting": "routing_rule", "emergency_change": True})
            self.logout(r, u, tt + 20 * MIN, sid, rc)

    def day_admin_lifecycle(self, r, d, base):
        admins = [a for a in self.by_kind.get("system_administrator", []) if a["id"] in self.today]
        if not admins:
            return
        for u in self.users:
            ev = None
            if u.get("newhire") and u["hire"] - 1 == d:
                ev = ("grant", u["roles"])
            elif u["status"] in ("terminated", "suspended") and u["last"] == d:
                ev = ("revoke", [])
            if ev:
                a = r.choice(admins)
                cl = {"ip": "10.0.12.%d" % (30 + a["host_n"] % 20), "host": "it-adm-%02d" % (a["host_n"] % 20 + 1),
                      "remote": False, "location": "smh-datacentre"}
                self.emit(base + r.randint(9 * 60, 16 * 60) * MIN, a, "permission_change", (self.new_session(), True), cl,
                          target={"id": u["id"], "roles": ev[1]},
                          detail={"change": ev[0], "ticket": "REQ%07d" % r.randrange(10 ** 7)})

    def day_service(self, r, d, base):
        u = self.user_by_id["svc_prefetch"]
        cl = {"ip": "10.0.5.21", "host": "int-engine-01", "remote": False, "location": "smh-datacentre"}
        sid = ("svc-" + str(d), None)
        for s in SECTION_NAMES:
            for t, st in self.worklist[s]:
                if base <= t < base + DAY and r.random() < 0.12:
                    self.emit(t - r.randint(20, 120) * MIN - r.randint(0, 59) * 1000, u, "query", sid, cl, pat=st["pat"],
                              detail={"query": "prior_prefetch"})

    # ---------------- compliance
    def day_compliance(self, r, u, d, base, w):
        s0, s1, _ = w
        cl = self.site_client("SMH", "ws", 70 + u["host_n"] % 5)
        t0, t1 = base + s0 * MIN, base + s1 * MIN
        sid = self.login(r, u, t0, cl, True, d)
        t = t0
        for _ in range(r.randint(3, 18)):
            t += r.randint(5, 40) * MIN
            if r.random() < 0.3 and self.watch:
                p = r.choice(self.watch)
                self.emit(t, u, "query", sid, cl, pat=p, detail={"query": "audit_log", "report": "patient_access_history"})
            else:
                self.emit(t, u, "query", sid, cl, detail={"query": "audit_log", "report": r.choice(
                    ["user_activity", "after_hours", "exports", "break_glass_review"])})
        self.logout(r, u, t1, sid, cl)

    # ------------------------------------------------------------------------------------------
    # incidents
    # ------------------------------------------------------------------------------------------
    def plan_incidents(self):
        """Pick actors whose roster state must exist before the legitimate simulation."""
        r = self.R("plan")
        D, K = self.D, self.per_type
        lo = self.inc_day0
        self.plan = {}
        taken = set()

        def pick(kinds, n, pred=lambda u: True):
            c = [u for u in self.users if u["kind"] in kinds and u["id"] not in taken and pred(u)]
            out = r.sample(c, min(n, len(c)))
            for u in out:
                taken.add(u["id"])
            return out

        clinical = ("radiologist", "referring_physician", "technologist", "student", "scheduler")
        # inactive_user: terminated/suspended accounts that come back (plus unknown accounts)
        ina = pick(clinical, K, lambda u: u["status"] == "active" and not u.get("end_date"))
        for i, u in enumerate(ina):
            if i % 3 == 2:
                u["last"] = r.randint(lo - 6, D - 4)
                u["status"] = "suspended"
            else:
                u["last"] = r.randint(max(5, lo - 10), D - 4)
                u["status"] = "terminated"
            u["end_date"] = self.date(u["last"]).isoformat()
            u["hold"] = True
        self.plan["inactive_user"] = ina
        # dormant accounts: active first days, silent for weeks
        dor = pick(("radiologist", "referring_physician", "student", "scheduler", "technologist"), K,
                   lambda u: u["status"] == "active" and not u.get("end_date") and u["shift"] in ("day", "clinic", "hospitalist")
                   and not u["sparse"] and not u["part"])
        for u in dor:
            u["dormant_from"] = r.randint(4, 7) if D >= 30 else r.randint(1, 2)   # a few working days first
            gap = 22 if D >= 30 else max(5, D // 2)
            u["dormant_until"] = r.randint(min(D - 1, max(lo, u["dormant_from"] + gap)), D - 1)
            u["vac"] = None
        self.plan["dormant_account"] = dor
        # expired temporary role: locums/visiting residents whose end_date passed, status still active
        exp = pick(("radiologist", "technologist", "student", "referring_physician"), K,
                   lambda u: u["status"] == "active" and not u.get("end_date"))
        for u in exp:
            u["last"] = r.randint(max(6, lo - 8), D - 4)
            u["end_date"] = self.date(u["last"]).isoformat()
            u["locum"] = True
            u["vac"] = None
        self.plan["expired_role"] = exp
        self.taken = taken

    def inc_window(self, r):
        return r.randint(self.inc_day0, self.D - 1)

    def label(self, typ, u, evs, variant):
        evs = sorted(evs, key=lambda e: self._t(e))
        n = sum(1 for x in self.labels if x["type"] == typ) + 1
        self.labels.append({"incident_id": "NET-%s-%02d" % (typ.upper().replace("_", "")[:10], n), "type": typ,
                            "user_id": u["id"] if isinstance(u, dict) else u,
                            "event_ids": [e["event_id"] for e in evs], "_t0": self._t(evs[0]), "_t1": self._t(evs[-1]),
                            "variant": variant})

    def _t(self, e):
        return self.ev_t[e["event_id"]]

    def worked_day(self, r, u, shiftpref=True):
        """a day in the incident window the user worked (by their schedule) else any window day"""
        rr = random.Random(f"wd-{self.seed}-{u['id']}")
        days = list(range(self.inc_day0, self.D))
        rr.shuffle(days)
        for d in days:
            if not self.away(u, d) and not self.off_day(d):
                return d
        return days[0]

    def user_client(self, u, site=None):
        if u["kind"] == "teleradiologist":
            return {"ip": u["tele_ip"], "host": "nightwatch-ws%02d" % (u["host_n"] % 30 + 1), "remote": True,
                    "location": "nightwatch-telerad"}
        site = site or (u["site"] if u["site"] in SITE else "SMH")
        k = u["kind"]
        kind = {"radiologist": "rr", "technologist": self.tech_kind(u["dept"]), "referring_physician": "cl",
                "scheduler": "sc", "student": "rr", "film_clerk": "fl"}.get(k, "ws")
        return self.site_client(site, kind, u["host_n"] % 12 + 1)

    def care_exam(self, r, p, site, day, exclude):
        """a legitimate exam of patient p: acquired by a technologist on duty, read by a radiologist on duty"""
        ok = lambda x: not self.away(x, day) and x["id"] not in exclude
        techs = [x for x in self.by_kind["technologist"] if x["site"] == site and x["shift"] == "day" and ok(x)] or \
            [x for x in self.by_kind["technologist"] if ok(x)]
        tech = r.choice(techs)
        mod = r.choice(TECH_GROUPS[tech["dept"]][0])
        te = day * DAY + r.randint(8 * 60, 15 * 60) * MIN + r.randint(0, 59) * 1000
        st = self.new_study(r, p, mod, self.section_for(r, mod, site, 600), site, te)
        p["studies"].append(st)
        tsite = tech["site"] if tech["site"] in SITE else site
        self.emit(te, tech, "import", None, self.site_client(site, self.tech_kind(tech["dept"]), tech["host_n"] % 4 + SITE[tsite][3]),
                  pat=p, st=st)
        st["by"].append(tech["id"])
        rads = [x for x in self.by_kind["radiologist"] if x["dept"] == st["sec"] and x["shift"] == "day" and ok(x)] or \
            [x for x in self.by_kind["radiologist"] if x["shift"] == "day" and ok(x)]
        rad = r.choice(rads)
        self.emit(te + r.randint(30, 240) * MIN, rad, "view", None, self.site_client(rad["site"], "rr", rad["host_n"] % 12 + 1),
                  pat=p, st=st)
        st["by"].append(rad["id"])
        return st

    def pick_studies(self, r, n, pred=lambda s: True, before=None):
        pool = [s for s in self.all_studies if pred(s) and (before is None or s["t"] < before)]
        if not pool:
            pool = self.all_studies
        if n >= len(pool):
            return list(pool)
        return r.sample(pool, n)

    def inject(self):
        r = self.R("inject")
        D, K = self.D, self.per_type
        self.all_studies = []
        for p in self.patients:
            for s in p["studies"]:
                self.all_studies.append(s)
        self.all_studies.sort(key=lambda s: s["t"])
        # index event times for labels
        self.ev_t = {}
        taken = self.taken
        pool = lambda kinds, pred=lambda u: True: [u for u in self.users if u["kind"] in kinds and u["id"] not in taken
                                                    and u["status"] == "active" and not u.get("end_date") and pred(u)]

        def take(kinds, pred=lambda u: True):
            c = pool(kinds, pred)
            u = r.choice(c)
            taken.add(u["id"])
            return u

        def lbl(typ, u, evs, var):
            self.label(typ, u, evs, var)

        def at(d, minute):
            return d * DAY + int(minute * MIN) + r.randint(0, 59) * 1000

        def mk(t, u, action, sess, cl, L, **kw):
            e = self.emit(t, u, action, sess, cl, **kw)
            self.ev_t[e["event_id"]] = int(t)
            L.append(e)
            return e

        ext_dests = [{"type": "cloud", "id": "dropbox.com", "external": True},
                     {"type": "email", "id": "gmail.com", "external": True},
                     {"type": "dicom_node", "id": "OUTSIDE_AE_MEDIMG", "external": True},
                     {"type": "web", "id": "wetransfer.com", "external": True},
                     {"type": "media", "id": "usb-mass-storage", "external": True},
                     {"type": "cloud", "id": "drive.google.com", "external": True},
                     {"type": "dicom_node", "id": "LEGALSVC_AE", "external": True}]
        clin_kinds = ("radiologist", "referring_physician", "technologist", "student")

        # 1 bulk_export
        for i in range(K):
            u = take(("radiologist", "referring_physician", "technologist", "teleradiologist"))
            d = self.worked_day(r, u)
            var = ["burst_usb", "burst_external_node", "drip_day", "burst_cloud", "moderate_media", "night_burst"][i % 6]
            n = {"burst_usb": r.randint(80, 300), "burst_external_node": r.randint(150, 500), "drip_day": r.randint(30, 60),
                 "burst_cloud": r.randint(40, 120), "moderate_media": r.randint(25, 45), "night_burst": r.randint(60, 200)}[var]
            dest = {"burst_usb": ext_dests[4], "burst_external_node": ext_dests[2], "drip_day": ext_dests[2],
                    "burst_cloud": ext_dests[0], "moderate_media": {"type": "media", "id": "%s-cdburn-01" % u["site"].lower()
                                                                    if u["site"] in SITE else "cd", "external": True},
                    "night_burst": ext_dests[5]}[var]
            cl = self.user_client(u) if u["kind"] != "teleradiologist" else {"ip": u["tele_ip"], "host": "nightwatch-ws01", "remote": True, "location": "nightwatch-telerad"}
            t = at(d, r.randint(10 * 60, 16 * 60) if var != "night_burst" else r.randint(23 * 60 + 10, 23 * 60 + 50))
            if u["kind"] == "teleradiologist":
                t = at(d, r.randint(23 * 60, 26 * 60))
            L = []
            sess = (self.new_session(), u["kind"] == "teleradiologist")
            mk(t, u, "login", sess, cl, L)
            sts = self.pick_studies(r, n, lambda s: s["sec"] == u["dept"] or r.random() < 0.2, before=t)
            span = 8 * HOUR if var == "drip_day" else r.randint(8, 45) * MIN
            for j, st in enumerate(sts):
                mk(t + MIN + span * j // len(sts) + r.randint(0, 20000), u, "export", sess, cl, L, pat=st["pat"], st=st, dest=dest)
            lbl("bulk_export", u, L, var)

        # 2 odd_hours
        for i in range(K):
            var = ["day_radiologist_3am", "scheduler_sunday_night", "referring_2am_remote", "technologist_offsite_4am",
                   "student_night", "day_radiologist_3am_remote"][i % 6]
            kind = {"day_radiologist_3am": "radiologist", "scheduler_sunday_night": "scheduler",
                    "referring_2am_remote": "referring_physician", "technologist_offsite_4am": "technologist",
                    "student_night": "student", "day_radiologist_3am_remote": "radiologist"}[var]
            u = take((kind,), lambda u: u["shift"] in ("day", "clinic") and not u["sparse"] and not u["part"] and not u.get("newhire"))
            d = self.worked_day(r, u)
            if var == "scheduler_sunday_night":
                d = next((x for x in range(self.D - 1, self.inc_day0 - 1, -1) if self.wd(x) == 6), d)
            t = at(d, r.randint(1 * 60 + 30, 4 * 60 + 30))
            remote = "remote" in var
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            L = []
            mk(t, u, "login", sess, cl, L)
            n = r.randint(8, 35)
            tt = t + MIN
            for _ in range(n):
                st = self.pick_studies(r, 1, before=tt)[0]
                act = "query" if kind == "scheduler" else "view"
                mk(tt, u, act, sess, cl, L, pat=st["pat"], st=None if act == "query" else st)
                tt += r.randint(40, 240) * 1000
            mk(tt + MIN, u, "logout", sess, cl, L)
            lbl("odd_hours", u, L, var)

        # 3 patient_sweep
        for i in range(K):
            var = ["referring_sweep", "student_sweep", "scheduler_sweep", "technologist_sweep", "radiologist_other_site", "slow_referring_sweep"][i % 6]
            kind = {"referring_sweep": "referring_physician", "student_sweep": "student", "scheduler_sweep": "scheduler",
                    "technologist_sweep": "technologist", "radiologist_other_site": "radiologist",
                    "slow_referring_sweep": "referring_physician"}[var]
            u = take((kind,), lambda u: not u.get("newhire"))
            d = self.worked_day(r, u)
            n = {"referring_sweep": r.randint(90, 250), "student_sweep": r.randint(80, 200), "scheduler_sweep": r.randint(250, 600),
                 "technologist_sweep": r.randint(90, 200), "radiologist_other_site": r.randint(160, 320),
                 "slow_referring_sweep": r.randint(60, 110)}[var]
            t = at(d, r.randint(9 * 60, 14 * 60))
            cl = self.user_client(u)
            sess = (self.new_session(), False)
            L = []
            mk(t, u, "login", sess, cl, L)
            pats, pp = [], set()
            while len(pats) < n:
                p = self.patients[r.randrange(len(self.patients))]
                if p["id"] not in pp and p["studies"] and min(x["t"] for x in p["studies"]) < t:
                    pp.add(p["id"])
                    pats.append(p)
            span = (6 * HOUR if var == "slow_referring_sweep" else r.randint(40, 150) * MIN)
            for j, p in enumerate(pats):
                tt = t + MIN + span * j // n
                if kind == "scheduler":
                    mk(tt, u, "query", sess, cl, L, pat=p, detail={"query": "patient_lookup"})
                else:
                    st = r.choice([x for x in p["studies"] if x["t"] < t])
                    mk(tt, u, "view", sess, cl, L, pat=p, st=st)
            lbl("patient_sweep", u, L, var)

        # 4 export_destination
        for i in range(K):
            var = ["personal_email", "cloud_share", "unknown_external_ae", "web_transfer", "usb", "legal_firm_ae"][i % 6]
            dest = {"personal_email": ext_dests[1], "cloud_share": ext_dests[5], "unknown_external_ae": ext_dests[2],
                    "web_transfer": ext_dests[3], "usb": ext_dests[4], "legal_firm_ae": ext_dests[6]}[var]
            u = take(("radiologist", "referring_physician"))
            d = self.worked_day(r, u)
            t = at(d, r.randint(8 * 60, 18 * 60))
            cl = self.user_client(u)
            sess = (self.new_session(), True)
            L = []
            n = r.randint(1, 5)
            for j, st in enumerate(self.pick_studies(r, n, lambda s: s["sec"] == u["dept"] or s.get("ref") == u["id"], before=t)):
                mk(t + j * r.randint(30, 300) * 1000, u, "export", sess, cl, L, pat=st["pat"], st=st, dest=dest)
            lbl("export_destination", u, L, var)

        # 5 role_permission
        for i in range(K):
            var = ["referring_delete", "scheduler_export", "compliance_view_images", "student_delete", "technologist_permission_change", "referring_edit"][i % 6]
            kind = {"referring_delete": "referring_physician", "scheduler_export": "scheduler", "compliance_view_images": "compliance_officer",
                    "student_delete": "student", "technologist_permission_change": "technologist", "referring_edit": "referring_physician"}[var]
            c = pool((kind,))
            if not c:
                c = pool(("referring_physician",))
                var = "referring_delete"
                kind = "referring_physician"
            u = r.choice(c)
            taken.add(u["id"])
            d = self.worked_day(r, u)
            t = at(d, r.randint(9 * 60, 17 * 60))
            cl = self.user_client(u) if kind != "compliance_officer" else self.site_client("SMH", "ws", 70 + u["host_n"] % 5)
            sess = (self.new_session(), kind == "compliance_officer")
            L = []
            n = r.randint(1, 12)
            sts = self.pick_studies(r, n, before=t)
            for j, st in enumerate(sts):
                tt = t + j * r.randint(20, 200) * 1000
                if var in ("referring_delete", "student_delete"):
                    mk(tt, u, "delete", sess, cl, L, pat=st["pat"], st=st, detail={"scope": "study"})
                elif var == "scheduler_export":
                    mk(tt, u, "export", sess, cl, L, pat=st["pat"], st=st, dest={"type": "media", "id": "%s-sc-usb" % u["site"].lower(), "external": True})
                elif var == "compliance_view_images":
                    mk(tt, u, "view", sess, cl, L, pat=st["pat"], st=st)
                elif var == "referring_edit":
                    mk(tt, u, "edit", sess, cl, L, pat=st["pat"], st=st, detail={"field": "report_status"})
                else:
                    tgt = r.choice([x for x in self.users if x["kind"] == "technologist"])
                    mk(tt, u, "permission_change", sess, cl, L, target={"id": tgt["id"], "roles": ["technologist", "system_administrator"]},
                       detail={"change": "grant"})
                    break
            lbl("role_permission", u, L, var)

        # 6 missing_mfa
        for i in range(K):
            var = ["export_no_mfa", "admin_config_no_mfa", "permission_change_no_mfa", "remote_access_no_mfa", "remote_export_no_mfa", "admin_remote_no_mfa"][i % 6]
            kind = "system_administrator" if "admin" in var or "permission" in var else r.choice(["radiologist", "referring_physician"])
            c = pool((kind,)) or [x for x in self.users if x["kind"] == kind]
            u = r.choice(c)
            taken.add(u["id"])
            d = self.worked_day(r, u)
            L = []
            sess = (self.new_session(), False)
            t = at(d, r.randint(9 * 60, 16 * 60))
            if var == "export_no_mfa":
                cl = self.user_client(u)
                for j, st in enumerate(self.pick_studies(r, r.randint(1, 4), lambda s: s["sec"] == u["dept"], before=t)):
                    mk(t + j * MIN, u, "export", sess, cl, L, pat=st["pat"], st=st,
                       dest={"type": "dicom_node", "id": "TEACHING_FILE", "external": False})
            elif var in ("admin_config_no_mfa", "admin_remote_no_mfa"):
                cl = {"ip": "10.0.12.%d" % (30 + u["host_n"] % 20), "host": "it-adm-%02d" % (u["host_n"] % 20 + 1),
                      "remote": False, "location": "smh-datacentre"} if var == "admin_config_no_mfa" else self.remote_client(u)
                if var == "admin_remote_no_mfa":
                    t = at(d, r.randint(20 * 60, 23 * 60))
                mk(t, u, "login", sess, cl, L)
                mk(t + 4 * MIN, u, "config_change", sess, cl, L, detail={"ticket": "CHG%07d" % r.randrange(10 ** 7), "setting": r.choice(["routing_rule", "ae_title"])})
            elif var == "permission_change_no_mfa":
                cl = {"ip": "10.0.12.%d" % (30 + u["host_n"] % 20), "host": "it-adm-%02d" % (u["host_n"] % 20 + 1),
                      "remote": False, "location": "smh-datacentre"}
                tgt = r.choice([x for x in self.users if x["kind"] == "radiologist"])
                mk(t, u, "permission_change", sess, cl, L, target={"id": tgt["id"], "roles": tgt["roles"] + ["system_administrator"]},
                   detail={"change": "grant", "ticket": "REQ%07d" % r.randrange(10 ** 7)})
            else:
                cl = self.remote_client(u)
                t = at(d, r.randint(19 * 60, 22 * 60))
                mk(t, u, "login", sess, cl, L)
                sts = self.pick_studies(r, r.randint(3, 12), lambda s: s.get("ref") == u["id"] or s["sec"] == u["dept"], before=t)
                for j, st in enumerate(sts):
                    mk(t + (j + 1) * r.randint(60, 200) * 1000, u, "view", sess, cl, L, pat=st["pat"], st=st)
                if var == "remote_export_no_mfa":
                    mk(t + 40 * MIN, u, "export", sess, cl, L, pat=sts[0]["pat"], st=sts[0], dest={"type": "web", "id": "referrer-portal", "external": False})
            lbl("missing_mfa", u, L, var)

        # 7 inactive_user
        for i, u in enumerate(self.plan["inactive_user"]):
            var = "suspended_account_used" if u["status"] == "suspended" else ("terminated_login_remote" if i % 2 else "terminated_views_onsite")
            d = r.randint(max(u["last"] + 1, self.inc_day0), D - 1)
            remote = "remote" in var
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            t = at(d, r.randint(8 * 60, 22 * 60))
            L = []
            mk(t, u, "login", sess, cl, L)
            for j, st in enumerate(self.pick_studies(r, r.randint(1, 15), before=t)):
                mk(t + (j + 1) * r.randint(40, 200) * 1000, u, "view", sess, cl, L, pat=st["pat"], st=st)
            lbl("inactive_user", u, L, var)
        # unknown accounts (not in roster at all)
        for j in range(max(1, K // 3)):
            ghost = {"id": ["vendor_tmp%02d" % (j + 1), "pacsadmin_old", "test.user%d" % j][j % 3], "name": None, "roles": None, "dept": None}
            d = self.inc_window(r)
            t = at(d, r.randint(0, 24 * 60 - 30))
            cl = {"ip": "10.%d.24.%d" % (r.choice([10, 20, 30]), r.randint(100, 250)), "remote": False, "location": r.choice(SITES)[1]}
            sess = (self.new_session(), None)
            L = []
            mk(t, ghost, "login", sess, cl, L)
            for k, st in enumerate(self.pick_studies(r, r.randint(2, 10), before=t)):
                mk(t + (k + 1) * r.randint(30, 120) * 1000, ghost, "view" if k % 3 else "query", sess, cl, L, pat=st["pat"], st=st)
            lbl("inactive_user", ghost["id"], L, "unknown_account")

        # 8 dormant_account
        for i, u in enumerate(self.plan["dormant_account"]):
            var = ["sudden_sweep", "night_export", "remote_reactivation", "quiet_reactivation_views", "query_burst", "sudden_sweep"][i % 6]
            d = u["dormant_until"]
            t = at(d, r.randint(1 * 60, 5 * 60) if var == "night_export" else r.randint(8 * 60, 20 * 60))
            remote = var == "remote_reactivation"
            cl = self.remote_client(u) if remote else self.user_client(u, r.choice(HOSPITALS))
            sess = (self.new_session(), remote)
            L = []
            mk(t, u, "login", sess, cl, L)
            n = {"sudden_sweep": r.randint(40, 120), "night_export": r.randint(10, 40), "remote_reactivation": r.randint(10, 30),
                 "quiet_reactivation_views": r.randint(6, 15), "query_burst": r.randint(30, 80)}[var]
            for k, st in enumerate(self.pick_studies(r, n, before=t)):
                tt = t + (k + 1) * r.randint(20, 90) * 1000
                if var == "night_export":
                    mk(tt, u, "export", sess, cl, L, pat=st["pat"], st=st, dest={"type": "media", "id": "usb-mass-storage", "external": True})
                elif var == "query_burst":
                    mk(tt, u, "query", sess, cl, L, pat=st["pat"], detail={"query": "patient_lookup"})
                else:
                    mk(tt, u, "view", sess, cl, L, pat=st["pat"], st=st)
            lbl("dormant_account", u, L, var)

        # 9 failed_login_burst
        for i in range(K):
            var = ["burst_then_success", "burst_locked", "slow_hour", "remote_burst", "burst_then_success_night", "burst_locked"][i % 6]
            u = take(("radiologist", "referring_physician", "technologist", "scheduler", "system_administrator"))
            d = self.inc_window(r)
            t = at(d, r.randint(0, 24 * 60 - 60) if "night" not in var else r.randint(60, 300))
            cl = self.remote_client(u) if var == "remote_burst" else self.user_client(u)
            if var == "remote_burst":
                cl = {"ip": "185.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randint(1, 254)), "remote": True, "location": "remote-vpn"}
            L = []
            n = r.randint(8, 40)
            span = HOUR if var == "slow_hour" else r.randint(1, 6) * MIN
            for k in range(n):
                mk(t + span * k // n, u, "login_failed", None, cl, L, outcome="minor_failure",
                   detail={"reason": "bad_password" if k < n - 1 or "locked" not in var else "account_locked"})
            if "success" in var:
                sess = (self.new_session(), False)
                mk(t + span + 30_000, u, "login", sess, cl, L)
            lbl("failed_login_burst", u, L, var)

        # 10 password_spray
        actives = [u for u in self.users if u["status"] == "active" and u["kind"] not in ("service",)]
        for i in range(K):
            var = ["internal_ws_fast", "vpn_slow", "internal_ws_one_success", "kiosk_low_and_slow", "vpn_fast", "internal_ws_fast"][i % 6]
            d = self.inc_window(r)
            t = at(d, r.randint(0, 24 * 60 - 120))
            if var.startswith("vpn"):
                cl = {"ip": "45.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randint(1, 254)), "remote": True, "location": "remote-vpn"}
            else:
                s = r.choice(SITES)
                cl = {"ip": "10.%d.%d.%d" % (s[3], r.choice([20, 24, 30]), r.randint(100, 250)), "host": "%s-kiosk-%02d" % (s[0].lower(), r.randint(1, 30)),
                      "remote": False, "location": s[1]}
            n = r.randint(10, 45)
            victims = r.sample(actives, n)
            span = r.randint(2, 15) * MIN if "fast" in var else r.randint(60, 180) * MIN
            L = []
            for k, v in enumerate(victims):
                for a in range(r.choice([1, 1, 2])):
                    mk(t + span * k // n + a * 4000, v, "login_failed", None, cl, L, outcome="minor_failure", detail={"reason": "bad_password"})
            if "success" in var:
                v = victims[-1]
                sess = (self.new_session(), False)
                mk(t + span + 20_000, v, "login", sess, cl, L)
                st = self.pick_studies(r, 1, before=t + span)[0]
                mk(t + span + 90_000, v, "view", sess, cl, L, pat=st["pat"], st=st)
            lbl("password_spray", cl["ip"], L, var)

        # 11 grant_then_export
        admins = [u for u in self.users if u["kind"] == "system_administrator"]
        for i in range(K):
            var = ["grant_export_role_then_bulk", "grant_admin_then_export", "self_grant_then_export", "grant_then_single_external",
                   "grant_then_export_next_day", "grant_export_role_then_bulk"][i % 6]
            a = r.choice(admins)
            u = a if var == "self_grant_then_export" else take(("referring_physician", "technologist", "student", "scheduler"))
            d = self.inc_window(r)
            if var == "grant_then_export_next_day" and d == D - 1:
                d -= 1
            t = at(d, r.randint(9 * 60, 18 * 60))
            acl = {"ip": "10.0.12.%d" % (30 + a["host_n"] % 20), "host": "it-adm-%02d" % (a["host_n"] % 20 + 1),
                   "remote": False, "location": "smh-datacentre"}
            L = []
            granted = "system_administrator" if "admin" in var else "export"
            mk(t, a, "permission_change", (self.new_session(), True), acl, L,
               target={"id": u["id"], "roles": list(u["roles"]) + [granted]},
               detail={"change": "grant", "privilege": granted})
            t2 = t + (r.randint(22, 30) * HOUR if var == "grant_then_export_next_day" else r.randint(5, 120) * MIN)
            cl = self.user_client(u) if u is not a else acl
            sess = (self.new_session(), u is a)
            n = 1 if var == "grant_then_single_external" else r.randint(5, 80)
            dest = r.choice(ext_dests)
            for k, st in enumerate(self.pick_studies(r, n, before=t2)):
                mk(t2 + k * r.randint(10, 60) * 1000, u, "export", sess, cl, L, pat=st["pat"], st=st, dest=dest)
            lbl("grant_then_export", u, L, var)

        # 12 config_change
        for i in range(K):
            var = ["unticketed_audit_disable", "night_routing_to_external", "retention_shortened", "unticketed_from_workstation",
                   "non_admin_config", "anonymization_off"][i % 6]
            if var == "non_admin_config":
                u = take(("technologist", "radiologist"))
            else:
                u = r.choice(admins)
            d = self.inc_window(r)
            t = at(d, r.randint(1 * 60, 5 * 60) if var == "night_routing_to_external" else r.randint(8 * 60, 19 * 60))
            if var in ("unticketed_from_workstation", "non_admin_config"):
                cl = self.user_client(u, r.choice(HOSPITALS)) if var == "non_admin_config" else self.site_client(r.choice(HOSPITALS), "cl", r.randint(1, 60))
            else:
                cl = {"ip": "10.0.12.%d" % (30 + u["host_n"] % 20), "host": "it-adm-%02d" % (u["host_n"] % 20 + 1),
                      "remote": False, "location": "smh-datacentre"}
            sess = (self.new_session(), True)
            L = []
            setting = {"unticketed_audit_disable": ("audit_logging", {"old": "enabled", "new": "disabled"}),
                       "night_routing_to_external": ("routing_rule", {"new": "forward_all->OUTSIDE_AE_MEDIMG"}),
                       "retention_shortened": ("retention_policy", {"old": "10y", "new": "30d"}),
                       "unticketed_from_workstation": ("ae_title", {"new": "ADD EXT_AE 203.0.113.77:104"}),
                       "non_admin_config": ("routing_rule", {"new": "auto_forward CT->USB_AE"}),
                       "anonymization_off": ("deidentification_profile", {"old": "strict", "new": "none"})}[var]
            det = {"setting": setting[0]}
            det.update(setting[1])
            mk(t, u, "config_change", sess, cl, L, detail=det)
            if r.random() < 0.5:
                mk(t + r.randint(2, 10) * MIN, u, "config_change", sess, cl, L, detail={"setting": setting[0], "note": "follow-up"})
            lbl("config_change", u, L, var)

        # 13 watchlist_patient
        watch = [p for p in self.watch if p["studies"] and p["cat"] in ("vip", "restricted")]
        emp_pats = [p for p in self.watch if p["studies"] and p["cat"] == "employee"]
        for i in range(K):
            var = ["vip_curiosity", "restricted_other_dept", "employee_colleague", "vip_remote", "restricted_scheduler_query", "vip_multiple_studies"][i % 6]
            kind = "scheduler" if var == "restricted_scheduler_query" else r.choice(["referring_physician", "technologist", "radiologist", "student"])
            if var == "employee_colleague" and emp_pats:
                p = r.choice(emp_pats)
            else:
                cands = [x for x in watch if x["cat"] == ("restricted" if "restricted" in var else "vip")] or watch
                p = r.choice(cands)
            treat = set(s.get("ref") for s in p["studies"]) | set(x["site"] for x in p["studies"])
            for s_ in p["studies"]:
                treat.update(s_["by"])
            if pool((kind,), lambda u: u["id"] not in treat and u["site"] not in treat and u["id"] != p.get("emp")):
                u = take((kind,), lambda u: u["id"] not in treat and u["site"] not in treat and u["id"] != p.get("emp"))
            else:
                u = take((kind,), lambda u: u["id"] not in treat and u["id"] != p.get("emp"))
            d = self.worked_day(r, u)
            t = max(at(d, r.randint(9 * 60, 17 * 60)), min(x["t"] for x in p["studies"]) + HOUR)
            remote = var == "vip_remote"
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            L = []
            done = [x for x in p["studies"] if x["t"] < t - 30 * MIN]
            sts = done if var == "vip_multiple_studies" else [r.choice(done)]
            for k, st in enumerate(sts[:6]):
                if kind == "scheduler":
                    mk(t + k * 40_000, u, "query", sess, cl, L, pat=p, detail={"query": "patient_lookup"})
                else:
                    mk(t + k * r.randint(30, 120) * 1000, u, "view", sess, cl, L, pat=p, st=st)
            lbl("watchlist_patient", u, L, var)

        # 14 self_access
        emps = [u for u in self.users if u.get("patient") and u["id"] not in taken and u["status"] == "active"]
        for i in range(K):
            var = ["own_results_onsite", "own_results_remote", "own_prior_history"][i % 3]
            if not emps:
                break
            u = emps.pop(r.randrange(len(emps)))
            taken.add(u["id"])
            p = u["patient"]
            d = self.worked_day(r, u)
            if not p["studies"] or min(x["t"] for x in p["studies"]) > at(d, 8 * 60):
                # the employee had an exam a few days earlier (legitimate care events)
                site = u["site"] if u["site"] in SITE else "SMH"
                self.care_exam(r, p, site, max(0, d - r.randint(1, 5)), taken | {u["id"]})
            t = max(at(d, r.randint(8 * 60, 18 * 60)), max(x["t"] for x in p["studies"]) + 2 * HOUR)
            remote = var == "own_results_remote"
            if remote:
                t = at(d, r.randint(19 * 60, 23 * 60))
                t = max(t, max(x["t"] for x in p["studies"]) + 2 * HOUR)
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            L = []
            for k, st in enumerate(sorted(p["studies"], key=lambda x: x["t"])[-3:] + (self.priors(r, p)[:2] if var == "own_prior_history" else [])):
                mk(t + k * r.randint(40, 150) * 1000, u, "view", sess, cl, L, pat=p, st=st)
            lbl("self_access", u, L, var)

        # 15 same_surname
        sur_count = {}
        for p in self.patients:
            sur_count[p["sur"]] = sur_count.get(p["sur"], 0) + 1
        cands = [u for u in self.users if u["kind"] in clin_kinds and u["id"] not in taken and u["status"] == "active"
                 and not u.get("end_date") and u["sur"] not in COMMON_SURNAMES and sur_count.get(u["sur"], 0) <= 40]
        r.shuffle(cands)
        cands.sort(key=lambda u: -sur_count.get(u["sur"], 0))   # rarest surnames are popped first
        for i in range(K):
            if not cands:
                break
            u = cands.pop()
            taken.add(u["id"])
            var = ["relative_results", "relative_history_browse", "relative_remote"][i % 3]
            d = self.worked_day(r, u)
            site = r.choice(HOSPITALS + OUTPATIENT)
            p = self.make_patient(r, u["sur"], r.choice(GIVEN), site)
            # the relative's legitimate exam, a few days before
            st = self.care_exam(r, p, site, max(0, d - r.randint(1, 6)), taken | {u["id"]})
            te = st["t"]
            remote = var == "relative_remote"
            t = at(d, r.randint(19 * 60, 23 * 60) if remote else r.randint(8 * 60, 18 * 60))
            t = max(t, te + 3 * HOUR)
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            L = []
            sts = [st] + (self.priors(r, p) if var == "relative_history_browse" else [])
            for k, x in enumerate(sts[:5]):
                mk(t + k * r.randint(40, 160) * 1000, u, "view", sess, cl, L, pat=p, st=x)
            lbl("same_surname", u, L, var)

        # 16 break_glass
        for i in range(K):
            var = ["restricted_record_night", "vip_record", "break_glass_then_browse", "non_ed_user", "restricted_record_day", "vip_record"][i % 6]
            u = take(("referring_physician", "radiologist", "technologist", "student"))
            d = self.worked_day(r, u)
            cands = [x for x in watch if x["cat"] == ("vip" if "vip" in var else "restricted")] or watch
            p = r.choice(cands)
            t = at(d, r.randint(0, 5 * 60) if "night" in var else r.randint(9 * 60, 18 * 60))
            t = max(t, min(x["t"] for x in p["studies"]) + HOUR)
            cl = self.user_client(u)
            sess = (self.new_session(), False)
            L = []
            mk(t, u, "emergency_access", sess, cl, L, pat=p, detail={"reason": r.choice(["emergency", "patient in ED", "urgent consult", "other"])})
            for k, st in enumerate([x for x in p["studies"] if x["t"] < t - 30 * MIN][:3]):
                mk(t + (k + 1) * r.randint(30, 90) * 1000, u, "view", sess, cl, L, pat=p, st=st)
            if var == "break_glass_then_browse":
                for k, st in enumerate(self.pick_studies(r, r.randint(3, 8), lambda s: s["pat"]["cat"] is not None, before=t)):
                    mk(t + (k + 5) * r.randint(60, 120) * 1000, u, "view", sess, cl, L, pat=st["pat"], st=st)
            lbl("break_glass", u, L, var)

        # 17 expired_role
        for i, u in enumerate(self.plan["expired_role"]):
            var = ["locum_after_contract", "visiting_resident_after_rotation", "locum_remote_after_contract"][i % 3]
            d = r.randint(max(u["last"] + 1, self.inc_day0), D - 1)
            remote = "remote" in var
            cl = self.remote_client(u) if remote else self.user_client(u)
            sess = (self.new_session(), remote)
            t = at(d, r.randint(8 * 60, 20 * 60))
            L = []
            mk(t, u, "login", sess, cl, L)
            for k, st in enumerate(self.pick_studies(r, r.randint(2, 25), lambda s: s["sec"] == u["dept"] or r.random() < 0.3, before=t)):
                mk(t + (k + 1) * r.randint(40, 240) * 1000, u, "view", sess, cl, L, pat=st["pat"], st=st)
            lbl("expired_role", u, L, var)

    # ------------------------------------------------------------------------------------------
    def fmt_time(self, t):
        tz = self.tz
        d, rem = divmod(t, DAY)
        ds = self._dcache.get(d)
        if ds is None:
            ds = self.date(d).isoformat()
            self._dcache[d] = ds
        ms = rem % 1000
        s = rem // 1000
        return "%sT%02d:%02d:%02d.%03d%s" % (ds, s // 3600, s // 60 % 60, s % 60, ms, self.suffix)

    def write(self, out):
        os.makedirs(out, exist_ok=True)
        self._dcache = {}
        if self.tz == 0:
            self.suffix = "Z"
        else:
            h = abs(self.tz)
            self.suffix = "%s%02d:%02d" % ("-" if self.tz < 0 else "+", int(h), int(round((h - int(h)) * 60)))
        lo, hi = 0, self.D * DAY
        self.events.sort(key=lambda x: (x[0], x[1]))
        # clip to the window (incidents/logins right at the edges)
        dropped = set()
        kept = []
        for t, s, e in self.events:
            if t < lo or t >= hi:
                dropped.add(e["event_id"])
                continue
            kept.append((t, e))
        tmap = {}
        with open(os.path.join(out, "events.jsonl"), "wb") as f:
            buf = []
            for t, e in kept:
                e["event_time"] = self.fmt_time(t)
                tmap[e["event_id"]] = e["event_time"]
                buf.append(orjson.dumps(e))
                if len(buf) >= 5000:
                    f.write(b"\n".join(buf) + b"\n")
                    buf = []
            if buf:
                f.write(b"\n".join(buf) + b"\n")
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
        n_lab = 0
        with open(os.path.join(out, "labels.jsonl"), "wb") as f:
            for lab in self.labels:
                ids = [x for x in lab["event_ids"] if x not in dropped]
                if not ids:
                    continue
                rec = {"incident_id": lab["incident_id"], "type": lab["type"], "user_id": lab["user_id"], "event_ids": ids,
                       "start": tmap[ids[0]], "end": tmap[ids[-1]], "variant": lab["variant"]}
                f.write(orjson.dumps(rec) + b"\n")
                n_lab += 1
        return len(kept), n_lab


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--days", type=int, default=42)
    ap.add_argument("--start", default="2026-03-02")
    ap.add_argument("--tz", type=float, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-type", type=int, default=6)
    a = ap.parse_args(argv)
    t0 = time.time()
    tz = int(a.tz) if float(a.tz).is_integer() else a.tz
    g = Net(a.seed, a.users, a.days, a.start, tz, a.per_type)
    g.build_patients()
    g.build_users()
    g.plan_incidents()
    g.lifecycle()
    g.simulate()
    g.inject()
    n, nl = g.write(a.out)
    types = {}
    for l in g.labels:
        types[l["type"]] = types.get(l["type"], 0) + 1
    meta = {"generator": "models/heldout/network/generate.py", "seed": a.seed, "users": a.users, "roster_users": len(g.users),
            "days": a.days, "start": a.start, "tz": a.tz, "per_type": a.per_type, "events": n, "incidents": nl,
            "incident_types": types, "incident_window_start": g.date(g.inc_day0).isoformat(),
            "sites": [{"code": s[0], "location": s[1], "kind": s[2], "subnet": "10.%d.0.0/16" % s[3]} for s in SITES],
            "holidays": [g.date(d).isoformat() for d in g.holidays], "patients": len(g.patients),
            "watchlist": len(g.watch),
            "expired_role_convention": "roster status active with an end_date before the incident; events after end_date are the incident"}
    with open(os.path.join(a.out, "meta.json"), "wb") as f:
        f.write(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    print("wrote %d events, %d incidents, %d roster users to %s in %.1fs" % (n, nl, len(g.users), a.out, time.time() - t0),
          file=sys.stderr)


if __name__ == "__main__":
    main()
