#!/usr/bin/env python3
"""generate.py -- patient-journey PACS access-log generator (held-out acceptance traffic).

Design (see README.md): patients arrive through ED visits, inpatient stays, booked outpatient
appointments and screening batches; each imaging order belongs to a specific referring physician
and is acquired by a technologist of the modality who is on shift, then read from a subspecialty
worklist by a radiologist on shift (day staff on site, evening/weekend on-call from home with MFA,
night teleradiology group remote).  Referring physicians then look at the results on their clinic
days / ward rounds / ED shifts.  Around that: tumour boards, research exports, film-library CD
burning, PACS administration (incl. planned night maintenance), compliance reporting, students.
Incidents are injected in the last ~40% of the window and labelled.

Usage:  generate.py --seed 101 --users 500 --days 49 --tz 1 --start 2026-01-05 --out DIR
"""
import argparse
import bisect
import csv
import datetime as dt
import json
import math
import os
import random
import sys
import time
from collections import defaultdict

try:
    import orjson

    def dumps(o):
        return orjson.dumps(o)
except Exception:  # pragma: no cover
    def dumps(o):
        return json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

DAY = 86400.0
HOUR = 3600.0
MIN = 60.0

SUBS = ["neuroradiology", "msk_radiology", "chest_radiology", "body_imaging", "breast_imaging",
        "nuclear_medicine"]
SUB_SHORT = {"neuroradiology": "neuro", "msk_radiology": "msk", "chest_radiology": "chest",
             "body_imaging": "body", "breast_imaging": "breast", "nuclear_medicine": "nm"}
SUB_WEIGHT = {"neuroradiology": .20, "msk_radiology": .17, "chest_radiology": .19,
              "body_imaging": .24, "breast_imaging": .11, "nuclear_medicine": .09}
SECONDARY = {"chest_radiology": "body_imaging", "body_imaging": "chest_radiology",
             "msk_radiology": "neuroradiology", "neuroradiology": "msk_radiology",
             "nuclear_medicine": "body_imaging", "breast_imaging": "body_imaging"}
# reads per 9h on-site shift (before jitter)
READ_CAP = {"neuroradiology": 65, "msk_radiology": 95, "chest_radiology": 110, "body_imaging": 60,
            "breast_imaging": 90, "nuclear_medicine": 45}

# exam: modality, reading subspecialty, instances range, bytes per instance range
EXAMS = {
    "CR_CHEST": ("CR", "chest_radiology", 1, 2, 8e6, 18e6),
    "CR_EXTREM": ("CR", "msk_radiology", 2, 4, 6e6, 15e6),
    "CR_SPINE": ("CR", "msk_radiology", 2, 3, 9e6, 20e6),
    "CT_HEAD": ("CT", "neuroradiology", 150, 400, 4.5e5, 5.5e5),
    "CTA_HEAD": ("CT", "neuroradiology", 400, 900, 4.5e5, 5.5e5),
    "CT_CHEST": ("CT", "chest_radiology", 250, 600, 4.5e5, 5.5e5),
    "CTPA": ("CT", "chest_radiology", 300, 700, 4.5e5, 5.5e5),
    "CT_ABD": ("CT", "body_imaging", 300, 900, 4.5e5, 5.5e5),
    "CT_CAP": ("CT", "body_imaging", 600, 1500, 4.5e5, 5.5e5),
    "CT_EXTREM": ("CT", "msk_radiology", 200, 600, 4.5e5, 5.5e5),
    "MR_BRAIN": ("MR", "neuroradiology", 400, 1500, 2e5, 5e5),
    "MR_SPINE": ("MR", "neuroradiology", 300, 900, 2e5, 5e5),
    "MR_KNEE": ("MR", "msk_radiology", 300, 700, 2e5, 5e5),
    "MR_SHOULDER": ("MR", "msk_radiology", 300, 700, 2e5, 5e5),
    "MR_LIVER": ("MR", "body_imaging", 400, 1200, 2e5, 5e5),
    "MR_PROSTATE": ("MR", "body_imaging", 400, 1000, 2e5, 5e5),
    "MR_BREAST": ("MR", "breast_imaging", 600, 1600, 2e5, 5e5),
    "US_ABD": ("US", "body_imaging", 20, 60, 3e5, 1.2e6),
    "US_RENAL": ("US", "body_imaging", 15, 40, 3e5, 1.2e6),
    "US_PELVIS": ("US", "body_imaging", 15, 50, 3e5, 1.2e6),
    "US_BREAST": ("US", "breast_imaging", 10, 40, 3e5, 1.2e6),
    "US_MSK": ("US", "msk_radiology", 10, 40, 3e5, 1.2e6),
    "MG_SCREEN": ("MG", "breast_imaging", 4, 4, 2.5e7, 5e7),
    "MG_DIAG": ("MG", "breast_imaging", 4, 8, 2.5e7, 5e7),
    "NM_BONE": ("NM", "nuclear_medicine", 4, 20, 5e5, 2e6),
    "NM_MPI": ("NM", "nuclear_medicine", 10, 40, 2e5, 1e6),
    "PET_CT": ("NM", "nuclear_medicine", 300, 800, 2e5, 6e5),
}
TECH_DEPT = {"CR": "general_radiography", "CT": "ct_imaging", "MR": "mr_imaging", "US": "ultrasound",
             "MG": "mammography", "NM": "nuclear_medicine"}
TECH_WEIGHT = {"CR": .30, "CT": .25, "MR": .18, "US": .15, "MG": .06, "NM": .06}

ED_MIX = {"CR_CHEST": 35, "CT_HEAD": 18, "CR_EXTREM": 20, "CT_ABD": 10, "US_ABD": 6, "CTPA": 4,
          "CTA_HEAD": 2, "CR_SPINE": 3, "CT_EXTREM": 2}
ED_PROFILE = [2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4.5, 5.5, 6, 6, 5.8, 5.6, 5.5, 5.5, 5.5, 5.6, 5.5, 5, 4.5,
              4, 3.2, 2.5]
INPT_DEPTS = {"internal_medicine": 30, "surgery": 25, "oncology": 12, "cardiology": 10,
              "neurology": 8, "pulmonology": 8, "orthopaedics": 7}
INPT_MIX = {
    "internal_medicine": {"CR_CHEST": 50, "CT_ABD": 15, "US_ABD": 20, "CT_HEAD": 5, "CT_CHEST": 10},
    "surgery": {"CR_CHEST": 30, "CT_ABD": 40, "US_ABD": 20, "CT_CHEST": 10},
    "oncology": {"CT_CAP": 35, "CR_CHEST": 30, "MR_BRAIN": 10, "US_ABD": 15, "PET_CT": 10},
    "cardiology": {"CR_CHEST": 60, "CTPA": 10, "NM_MPI": 10, "US_ABD": 20},
    "neurology": {"CT_HEAD": 40, "MR_BRAIN": 40, "MR_SPINE": 10, "CTA_HEAD": 10},
    "pulmonology": {"CR_CHEST": 55, "CT_CHEST": 35, "CTPA": 10},
    "orthopaedics": {"CR_EXTREM": 60, "CT_EXTREM": 20, "MR_KNEE": 10, "CR_SPINE": 10},
}
OUTPT_DAILY = {"MR_BRAIN": 25, "MR_SPINE": 18, "MR_KNEE": 14, "MR_SHOULDER": 8, "MR_LIVER": 8,
               "MR_PROSTATE": 8, "MR_BREAST": 4, "CT_CHEST": 25, "CT_ABD": 30, "CT_CAP": 35,
               "CT_HEAD": 10, "CT_EXTREM": 6, "CR_CHEST": 70, "CR_EXTREM": 70, "CR_SPINE": 25,
               "US_ABD": 55, "US_PELVIS": 25, "US_BREAST": 15, "US_MSK": 15, "US_RENAL": 20,
               "MG_DIAG": 15, "NM_BONE": 12, "PET_CT": 10, "NM_MPI": 10}
OUTPT_REF = {
    "MR_BRAIN": {"neurology": 6, "oncology": 2, "primary_care": 1},
    "MR_SPINE": {"neurology": 4, "orthopaedics": 4, "primary_care": 2},
    "MR_KNEE": {"orthopaedics": 8, "primary_care": 2}, "MR_SHOULDER": {"orthopaedics": 1},
    "MR_LIVER": {"internal_medicine": 2, "oncology": 2, "surgery": 1},
    "MR_PROSTATE": {"urology": 1}, "MR_BREAST": {"breast_surgery": 1},
    "CT_CHEST": {"pulmonology": 5, "oncology": 3, "primary_care": 1},
    "CT_ABD": {"internal_medicine": 3, "surgery": 3, "urology": 2, "oncology": 1},
    "CT_CAP": {"oncology": 1}, "CT_HEAD": {"neurology": 2, "primary_care": 1},
    "CT_EXTREM": {"orthopaedics": 1},
    "CR_CHEST": {"primary_care": 4, "pulmonology": 2, "cardiology": 2, "internal_medicine": 1,
                 "paediatrics": 1},
    "CR_EXTREM": {"orthopaedics": 5, "primary_care": 3, "paediatrics": 2},
    "CR_SPINE": {"orthopaedics": 2, "primary_care": 1},
    "US_ABD": {"internal_medicine": 3, "primary_care": 3, "paediatrics": 1, "surgery": 1},
    "US_PELVIS": {"obstetrics_gynaecology": 1}, "US_BREAST": {"breast_surgery": 1},
    "US_MSK": {"orthopaedics": 1}, "US_RENAL": {"urology": 2, "internal_medicine": 1},
    "MG_DIAG": {"breast_surgery": 1}, "NM_BONE": {"oncology": 2, "orthopaedics": 1},
    "PET_CT": {"oncology": 1}, "NM_MPI": {"cardiology": 1},
}
CLIN_DEPTS = {"primary_care": 14, "orthopaedics": 10, "oncology": 10, "neurology": 6,
              "internal_medicine": 8, "surgery": 6, "pulmonology": 5, "cardiology": 5, "urology": 4,
              "obstetrics_gynaecology": 5, "breast_surgery": 3, "paediatrics": 5}
ONC_DEPTS = {"oncology", "pulmonology", "neurology", "urology", "breast_surgery", "surgery"}
MOD_HOURS = {"MR": (7.5, 21.5), "CT": (8, 18), "CR": (8, 17.5), "US": (8, 17), "MG": (8.5, 15.5),
             "NM": (8.5, 15)}
BOARDS = [("thoracic", "chest_radiology", 1, 16.0), ("gi_hpb", "body_imaging", 2, 16.0),
          ("neuro_onc", "neuroradiology", 3, 8.0), ("breast", "breast_imaging", 4, 12.5),
          ("uro_onc", "body_imaging", 0, 16.5)]

DEST = {
    "DEID_GW": {"type": "dicom_node", "id": "DEID_GW", "external": False},
    "TEACHING": {"type": "dicom_node", "id": "TEACHING_FILE", "external": False},
    "PARTNER": {"type": "dicom_node", "id": "UNIHOSP_PACS", "external": True},
    "CD_FD": {"type": "media", "id": "CDBURN-FD-01", "external": False},
    "CD_FILM": {"type": "media", "id": "CDBURN-FILM-01", "external": False},
    "PORTAL": {"type": "web", "id": "CLINICIAN_PORTAL", "external": False},
}
PRINTERS = ["PRN-ORTHO-01", "PRN-ED-01", "PRN-ONC-02", "PRN-SURG-01"]

GIVEN = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
         "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
         "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
         "Margaret", "Paul", "Sandra", "Steven", "Ashley", "Andrew", "Emily", "Kenneth", "Donna",
         "Joshua", "Michelle", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Timothy",
         "Deborah", "Ronald", "Stephanie", "Jason", "Rebecca", "Anna", "Lukas", "Sofia", "Mateo",
         "Lucia", "Jonas", "Lea", "Felix", "Marie", "Elias", "Hannah", "Noah", "Emma", "Leon",
         "Mia", "Paul", "Clara", "Luis", "Carmen", "Jose", "Ana", "Pablo", "Elena", "Diego",
         "Isabel", "Marco", "Giulia", "Luca", "Chiara", "Pierre", "Camille", "Julien", "Chloe",
         "Ahmed", "Fatima", "Omar", "Aisha", "Ravi", "Priya", "Arjun", "Ananya", "Wei", "Mei",
         "Hiroshi", "Yuki", "Kenji", "Sakura", "Olga", "Ivan", "Piotr", "Katarzyna", "Jan", "Eva",
         "Lars", "Ingrid", "Sven", "Astrid", "Kwame", "Ama", "Tunde", "Ngozi", "Sean", "Siobhan"]
COMMON_SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
                   "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
                   "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
                   "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
                   "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
                   "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
                   "Carter", "Roberts", "Muller", "Schmidt", "Schneider", "Fischer", "Weber",
                   "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Rossi", "Russo", "Ferrari",
                   "Esposito", "Bianchi", "Romano", "Colombo", "Dubois", "Laurent", "Bernard",
                   "Moreau", "Petit", "Kowalski", "Nowak", "Wisniewski", "Patel", "Shah", "Singh",
                   "Kumar", "Chen", "Wang", "Li", "Zhang", "Liu", "Kim", "Park", "Tanaka", "Sato",
                   "Suzuki", "Ivanov", "Petrov", "Jansen", "Devries", "Novak", "Horvat", "Murphy",
                   "Kelly", "OBrien", "Walsh", "Byrne"]
SYL1 = ["Bra", "Kel", "Mor", "Vin", "Tal", "Dre", "Sor", "Lum", "Gav", "Hes", "Quin", "Ros", "Fen",
        "Tor", "Bel", "Cas", "Dal", "Ern", "Fal", "Gor", "Hal", "Isk", "Jor", "Kas", "Lan", "Mar",
        "Nor", "Ost", "Pel", "Rav", "Sten", "Thal", "Ulm", "Val", "Wes", "Yar", "Zel", "Ach", "Brun",
        "Cor", "Dun", "Elm", "Fro", "Gil", "Hob", "Ives", "Jas", "Kri", "Lod", "Mik"]
SYL2 = ["ando", "berg", "czyk", "dottir", "ello", "feld", "gaard", "hart", "ides", "janov", "kowsky",
        "lund", "mann", "nescu", "oglu", "quist", "rich", "sen", "stein", "tano", "ucci", "vic",
        "wood", "wski", "zadeh", "ford", "rook", "ley", "more", "ton", "ham", "eira", "oso", "ini",
        "anu", "ek", "ola", "ssen", "heim", "dahl"]
CITIES_AHEAD = ["sydney", "melbourne", "brisbane"]
CITIES_BEHIND = ["perth", "singapore", "manila"]

ALL_TYPES = ["bulk_export", "odd_hours", "patient_sweep", "export_destination", "role_permission",
             "missing_mfa", "inactive_user", "dormant_account", "failed_login_burst",
             "password_spray", "grant_then_export", "config_change", "watchlist_patient",
             "self_access", "same_surname", "break_glass", "expired_role"]


class _Skip(Exception):
    pass


def wchoice(r, d):
    keys = list(d.keys())
    return r.choices(keys, weights=[d[k] for k in keys])[0]


class Staff(object):
    def __init__(self, kind):
        self.kind = kind
        self.uid = None
        self.given = self.surname = self.name = None
        self.roles = []
        self.dept = None
        self.status = "active"
        self.end_day = None      # roster end_date (day index), may be outside window
        self.start_day = 0       # first day of (legit) activity
        self.last_day = None     # legit activity stops before this day
        self.temp = False
        self.in_roster = True
        self.subs = []
        self.rot = {}
        self.mod = None
        self.pattern = "day"
        self.workdays = {0, 1, 2, 3, 4}
        self.part_time = False
        self.oncall = False
        self.off = 0
        self.leave = set()
        self.leave_kind = None
        self.shift_change = None
        self.evening_remote = False
        self.shifts = {}
        self.items = []
        self.reserved = False
        self.flags = set()
        self.fav = {}
        self.home = None
        self.export_day = None


class Study(object):
    __slots__ = ("i", "uid", "acc", "exam", "mod", "sub", "pat", "t", "tech", "orderer", "kind",
                 "urgent", "rt", "reader", "inst", "bytes", "odept", "dct")


class Patient(object):
    __slots__ = ("i", "mrn", "sur", "given", "name", "cat", "emp", "studies", "ref", "dct", "sex")


class ReaderShift(object):
    __slots__ = ("start", "end", "uid", "subs", "urgent_only", "cap", "count", "pool", "reads",
                 "screen")


class Gen(object):
    def __init__(self, a):
        self.a = a
        self.r = random.Random(a.seed)
        self.N = a.users
        self.D = a.days
        self.tzh = a.tz
        self.scale = a.users / 500.0
        self.start = dt.date.fromisoformat(a.start)
        sign = "+" if a.tz >= 0 else "-"
        hh = int(abs(a.tz))
        mm = int(round((abs(a.tz) - hh) * 60))
        self.OFF = "%s%02d:%02d" % (sign, hh, mm)
        self.Z0 = int(math.ceil(a.incidents_from * self.D))
        self.staff = []
        self.by_uid = {}
        self.studies = []
        self.patients = []
        self.hosts = {}
        self.pools = defaultdict(list)
        self.incidents = []
        self.inc_items = defaultdict(list)
        self.used_surnames = set()
        self.mrn_set = set()
        self.seq_study = 0
        self.stats = {}
        self.stays_done = False
        self.tech_load = {}
        self.raw = []
        self.cur_type = None
        self.planned_uids = set()
        self.family = []
        self.family_of = {}

    # ------------------------------------------------------------------ calendar
    def cal(self):
        self.dates = {}
        for d in range(-40, self.D + 5):
            self.dates[d] = (self.start + dt.timedelta(days=d)).isoformat()
        self.wd0 = self.start.weekday()
        hol = set()
        for d in range(self.D):
            day = self.start + dt.timedelta(days=d)
            md = (day.month, day.day)
            if md in [(1, 1), (1, 6), (5, 1), (12, 25), (12, 26), (7, 4)]:
                hol.add(d)
            if day.month == 9 and day.weekday() == 0 and day.day <= 7:   # Labor Day
                hol.add(d)
            if day.month == 5 and day.weekday() == 0 and day.day > 24:    # Memorial Day
                hol.add(d)
        self.holidays = hol

    def wd(self, d):
        return (self.wd0 + d) % 7

    def workday(self, d):
        return self.wd(d) < 5 and d not in self.holidays

    def fmt(self, t):
        d = int(t // DAY)
        ms = int(round((t - d * DAY) * 1000.0))
        if ms >= 86400000:
            d += 1
            ms -= 86400000
        h, ms = divmod(ms, 3600000)
        m, ms = divmod(ms, 60000)
        s, ms = divmod(ms, 1000)
        return "%sT%02d:%02d:%02d.%03d%s" % (self.dates[d], h, m, s, ms, self.OFF)

    # ------------------------------------------------------------------ names
    def rare_surname(self):
        r = self.r
        for _ in range(100):
            s = r.choice(SYL1) + r.choice(SYL2)
            if r.random() < 0.3:
                s = r.choice(SYL1) + r.choice(SYL2)[:3] + r.choice(SYL2)
            if s not in self.used_surnames:
                self.used_surnames.add(s)
                return s
        return s

    def surname(self, rare_p=0.35):
        r = self.r
        if r.random() < rare_p:
            return self.rare_surname()
        n = len(COMMON_SURNAMES)
        i = min(n - 1, int(n * (r.random() ** 2.2)))
        return COMMON_SURNAMES[i]

    def new_uid(self, given, sur):
        base = (given[0] + sur).lower()
        base = "".join(c for c in base if c.isalpha())[:12]
        uid = base
        k = 2
        while uid in self.by_uid:
            uid = "%s%d" % (base, k)
            k += 1
        return uid

    # ------------------------------------------------------------------ staff
    def make_staff(self):
        r, N, D = self.r, self.N, self.D
        fr = [("rad", .065), ("resident", .022), ("telerad", .012), ("tech", .15), ("research", .008),
              ("ed", .05), ("inpt", .12), ("sched", .065), ("student", .05), ("admin", .01),
              ("comp", .008), ("gone", .02)]
        counts = {k: max(1, int(round(f * N))) for k, f in fr}
        self.k_night = max(2, int(round(3 * self.scale)))
        counts["telerad"] = max(4, int(math.ceil(self.k_night * 7 / 4.0)))
        counts["admin"] = max(3, counts["admin"])
        counts["comp"] = max(2, counts["comp"])
        counts["research"] = max(2, counts["research"])
        counts["clin"] = N - sum(counts.values())
        self.counts = counts
        order = ["rad", "resident", "telerad", "tech", "research", "ed", "inpt", "clin", "sched",
                 "student", "admin", "comp", "gone"]
        for kind in order:
            for i in range(counts[kind]):
                s = Staff(kind)
                s.given = r.choice(GIVEN)
                s.surname = self.surname()
                s.name = "%s %s" % (s.given, s.surname)
                s.uid = self.new_uid(s.given, s.surname)
                self.by_uid[s.uid] = s
                self.staff.append(s)
                self.setup_kind(s, i)
        # spread rota offsets evenly so that 24/7 services are always covered
        for grp_pred, cyc in ((lambda s: s.kind == "ed", 14), (lambda s: s.kind == "telerad", 7)):
            g = [s for s in self.staff if grp_pred(s)]
            for j, s in enumerate(g):
                s.off = int(round(j * cyc / float(len(g)))) % cyc
        for mod in TECH_DEPT:
            g = [s for s in self.staff if s.kind == "tech" and s.mod == mod and s.pattern == "rot"]
            for j, s in enumerate(g):
                s.off = int(round(j * 10 / float(len(g)))) % 10
        # roster-level life events for legit look-alikes
        core = [s for s in self.staff if s.kind in ("rad", "tech", "inpt", "clin", "sched", "ed",
                                                    "admin", "research") and not s.temp]
        r.shuffle(core)
        n_long = max(3, int(0.06 * len(core)))
        for s in core[:n_long]:
            if r.random() < 0.5:
                a = r.randint(2, max(3, self.Z0 - 22))
            else:
                a = r.randint(max(2, self.Z0 - 24), max(3, self.Z0 - 8))
            ln = r.randint(21, 28)
            s.leave |= set(range(a, a + ln))
            s.leave_kind = "long_leave"
            s.flags.add("long_leave")
        for s in core[n_long:n_long + int(0.15 * len(core))]:
            a = r.randint(0, D - 5)
            s.leave |= set(range(a, a + 7))
            s.flags.add("week_leave")
        rest = core[n_long + int(0.15 * len(core)):]
        # permanent shift changes
        cands = [s for s in rest if s.kind in ("tech", "rad") and s.pattern == "day"
                 and not s.part_time]
        for s in cands[:max(3, int(0.025 * N))]:
            c = r.randint(int(0.5 * D), int(0.75 * D))
            if s.kind == "tech":
                newp = r.choice(["eve", "night"]) if s.mod in ("CR", "CT") else "eve"
            else:
                newp = r.choice(["late", "weekend"])
            s.shift_change = (c, newp)
            s.flags.add("shift_change")
        rest = [s for s in rest if s.shift_change is None]
        # legit leavers / suspensions (no activity after end_date)
        for s in rest[-max(3, int(0.015 * N)):]:
            s.status = "terminated"
            s.end_day = r.randint(8, D - 3)
            s.last_day = s.end_day
            s.flags.add("leaver")
        for s in rest[-max(4, int(0.015 * N)) - 2:-max(3, int(0.015 * N))]:
            s.status = "suspended"
            s.end_day = r.randint(10, D - 3)
            s.last_day = s.end_day
            s.flags.add("suspended")

    def setup_kind(self, s, i):
        r, D = self.r, self.D
        k = s.kind
        if k == "rad":
            s.roles = ["radiologist"]
            sub = wchoice(r, SUB_WEIGHT)
            s.dept = sub
            s.subs = [sub]
            if r.random() < 0.3:
                s.subs.append(SECONDARY[sub])
            s.oncall = r.random() < 0.7
            p = r.random()
            s.pattern = "late" if p < 0.12 else "day"
            if r.random() < 0.12:
                s.part_time = True
                s.workdays = set(r.sample(range(5), r.choice([2, 3])))
            if r.random() < 0.2:
                s.flags.add("teaching_exporter")
            if r.random() < 0.1:
                s.flags.add("partner_exporter")
            if r.random() < 0.04:   # visiting fellow on fixed-term contract
                s.temp = True
                s.end_day = D + r.randint(10, 200)
        elif k == "resident":
            s.roles = ["radiologist"]
            home = wchoice(r, {x: SUB_WEIGHT[x] for x in SUBS if x != "nuclear_medicine"})
            s.dept = home
            s.subs = [home]
            months = sorted(set((self.start + dt.timedelta(days=d)).strftime("%Y-%m")
                                for d in range(D)))
            for m in months:
                s.rot[m] = home if r.random() < 0.15 else r.choice([x for x in SUBS if x != home])
            s.flags.add("resident")
        elif k == "telerad":
            s.roles = ["teleradiologist"]
            s.dept = "teleradiology"
            s.off = r.randint(0, 6)
            if r.random() < 0.25:
                s.temp = True
                s.end_day = D + r.randint(5, 120)
        elif k == "tech":
            s.roles = ["technologist"]
            s.mod = wchoice(r, TECH_WEIGHT)
            s.dept = TECH_DEPT[s.mod]
            if s.mod in ("CR", "CT"):
                s.pattern = "day" if r.random() < 0.35 else "rot"
            elif s.mod == "MR":
                s.pattern = "day" if r.random() < 0.6 else "eve"
                if r.random() < 0.3:
                    s.flags.add("saturday")
            else:
                s.pattern = "day"
            s.off = r.randint(0, 9)
            if s.pattern == "day" and r.random() < 0.12:
                s.part_time = True
                s.workdays = set(r.sample(range(5), r.choice([2, 3])))
            if r.random() < 0.05:
                s.temp = True
                s.end_day = D + r.randint(5, 150)
        elif k == "research":
            s.roles = ["technologist"]
            s.dept = "clinical_research"
            s.export_day = r.choice([1, 2, 3])
            s.subs = r.sample(["neuroradiology", "chest_radiology", "body_imaging",
                               "msk_radiology"], 2)
        elif k == "ed":
            s.roles = ["referring_physician"]
            s.dept = "emergency"
            s.off = r.randint(0, 13)
        elif k == "inpt":
            s.roles = ["referring_physician"]
            s.dept = wchoice(r, INPT_DEPTS)
            s.off = r.randint(0, 2)
            s.evening_remote = r.random() < 0.2
            s.flags.add("ward")
        elif k == "clin":
            s.roles = ["referring_physician"]
            s.dept = wchoice(r, self.clin_weights())
            s.workdays = set(r.sample(range(5), r.choice([2, 2, 3])))
            s.evening_remote = r.random() < 0.15
        elif k == "sched":
            s.roles = ["scheduler"]
            if r.random() < 0.4:
                s.dept = "film_library"
                s.flags.add("film")
            else:
                s.dept = "radiology_front_desk"
            s.pattern = "late" if r.random() < 0.25 else "day"
            if r.random() < 0.15:
                s.part_time = True
                s.workdays = set(r.sample(range(5), 3))
        elif k == "student":
            s.roles = ["student"]
            s.dept = r.choice(SUBS[:5])
            s.temp = True
            if r.random() < 0.3:
                s.start_day = r.randint(3, max(4, D - 12))
                s.flags.add("new_starter")
            if r.random() < 0.5:
                s.end_day = D + r.randint(3, 90)
            else:
                s.end_day = r.randint(s.start_day + 14, D + 20)
            s.last_day = min(s.end_day, D)
        elif k == "admin":
            s.roles = ["system_administrator"]
            s.dept = "imaging_informatics"
        elif k == "comp":
            s.roles = ["compliance_officer"]
            s.dept = "compliance"
            if r.random() < 0.3:
                s.part_time = True
                s.workdays = set(r.sample(range(5), 3))
        elif k == "gone":
            base = r.choice(["rad", "tech", "clin", "sched"])
            s.roles = {"rad": ["radiologist"], "tech": ["technologist"],
                       "clin": ["referring_physician"], "sched": ["scheduler"]}[base]
            s.dept = {"rad": r.choice(SUBS), "tech": r.choice(list(TECH_DEPT.values())),
                      "clin": wchoice(r, CLIN_DEPTS), "sched": "radiology_front_desk"}[base]
            s.status = r.choice(["terminated", "terminated", "terminated", "suspended"])
            s.end_day = -r.randint(5, 400)
            s.last_day = 0
        if s.temp and s.last_day is None:
            s.last_day = min(s.end_day, D) if s.end_day is not None else None

    def clin_weights(self):
        """Clinic physicians per department in proportion to the outpatient imaging they order."""
        if getattr(self, "_cw", None) is None:
            dem = defaultdict(float)
            for ex, n in OUTPT_DAILY.items():
                tot = float(sum(OUTPT_REF[ex].values()))
                for dept, w in OUTPT_REF[ex].items():
                    dem[dept] += n * w / tot
            dem["breast_surgery"] += 110 * 0.045 * 2
            base = sum(dem.values()) * 0.02
            self._cw = {d: dem.get(d, 0) + base for d in CLIN_DEPTS}
        return self._cw

    def active_day(self, s, d):
        if d < s.start_day:
            return False
        if s.last_day is not None and d >= s.last_day:
            return False
        if d in s.leave:
            return False
        return True

    # ------------------------------------------------------------------ incident planning
    def plan(self):
        """Reserve actors whose roster/lifecycle must be prepared before schedules exist."""
        r, D, Z0 = self.r, self.D, self.Z0
        n = self.a.per_type
        self.plan_actors = defaultdict(list)
        types = self.types

        def free(pred):
            c = [s for s in self.staff if not s.reserved and s.status == "active" and pred(s)
                 and not s.flags & {"long_leave", "week_leave", "shift_change", "leaver"}]
            return c

        if "inactive_user" in types:
            c = free(lambda s: s.kind in ("rad", "tech", "clin", "inpt", "sched", "admin", "ed")
                     and not s.temp)
            r.shuffle(c)
            n_known = n - max(1, n // 3)
            for j in range(n_known):
                s = c[j]
                s.reserved = True
                s.status = "terminated" if j % 3 != 2 else "suspended"
                s.end_day = r.randint(max(6, Z0 - 16), Z0 - 1)
                s.last_day = s.end_day
                self.plan_actors["inactive_user"].append(s)
        if "expired_role" in types:
            kinds = ["student", "student", "telerad", "tech", "rad", "student"]
            for j in range(n):
                kd = kinds[j % len(kinds)]
                c = free(lambda s: s.kind == kd and s.start_day == 0)
                if not c:
                    c = free(lambda s: s.kind == "student" and s.start_day == 0)
                s = r.choice(c)
                s.reserved = True
                s.temp = True
                s.end_day = r.randint(max(8, Z0 - 12), Z0 - 1)
                s.last_day = s.end_day
                self.plan_actors["expired_role"].append(s)
        if "dormant_account" in types:
            c = free(lambda s: s.kind in ("clin", "inpt", "tech", "rad", "sched") and not s.temp
                     and not s.part_time)
            r.shuffle(c)
            for j in range(n):
                s = c[j]
                s.reserved = True
                stop = r.randint(5, max(6, min(10, Z0 - 22)))
                s.last_day = stop
                s.flags.add("dormant")
                self.plan_actors["dormant_account"].append(s)

    # ------------------------------------------------------------------ schedules
    def add_shift(self, s, d, a, b, mode, pool, tag):
        s.shifts.setdefault(d, []).append((d * DAY + a * HOUR, d * DAY + b * HOUR, mode, pool, tag))

    def schedules(self):
        r, D = self.r, self.D
        for s in self.staff:
            if s.kind == "gone" or not s.in_roster:
                continue
            for d in range(D):
                if not self.active_day(s, d):
                    continue
                pat = s.pattern
                if s.shift_change and d >= s.shift_change[0]:
                    pat = s.shift_change[1]
                w = self.wd(d)
                wk = self.workday(d)
                j = r.uniform(-0.3, 0.3)
                k = s.kind
                if k in ("rad", "resident"):
                    pool = "rr:" + s.dept
                    if pat == "weekend":
                        if w in (3, 4, 5, 6):
                            self.add_shift(s, d, 9 + j, 19 + j, "onsite", pool, "day")
                        continue
                    if wk and (w in s.workdays):
                        if pat == "late":
                            self.add_shift(s, d, 11.5 + j, 20.5 + j, "onsite", pool, "day")
                        else:
                            self.add_shift(s, d, 8 + j, 17 + j, "onsite", pool, "day")
                elif k == "telerad":
                    if (d + s.off) % 7 < 4:
                        self.add_shift(s, d, 22 + j / 3, 32 + j / 3, "remote", "trad", "night")
                elif k == "tech":
                    pool = "con:" + s.mod
                    if pat == "rot":
                        code = "DDDEENNOOO"[(d + s.off) % 10]
                        if code == "D":
                            self.add_shift(s, d, 7, 15.5, "onsite", pool, "day")
                        elif code == "E":
                            self.add_shift(s, d, 15, 23.5, "onsite", pool, "eve")
                        elif code == "N":
                            self.add_shift(s, d, 23, 31.5, "onsite", pool, "night")
                    elif pat == "night":
                        if w in (6, 0, 1, 2, 3):
                            self.add_shift(s, d, 22.75, 31.25, "onsite", pool, "night")
                    elif pat == "eve":
                        if wk and w in s.workdays:
                            self.add_shift(s, d, 14 + j / 2, 22.5 + j / 2, "onsite", pool, "eve")
                    else:
                        if wk and w in s.workdays:
                            a0 = 7.5 if s.mod in ("US", "NM") else (7.75 if s.mod == "MG" else 7)
                            self.add_shift(s, d, a0 + j / 3, a0 + 8.5 + j / 3, "onsite", pool, "day")
                    if s.mod == "MR" and "saturday" in s.flags and w == 5 and (d // 7 + s.off) % 2:
                        self.add_shift(s, d, 8, 16, "onsite", pool, "sat")
                elif k == "research":
                    if wk:
                        self.add_shift(s, d, 8.5 + j, 16.5 + j, "onsite", "res", "day")
                elif k == "ed":
                    code = "DDONNOODOODDOO"[(d + s.off) % 14]
                    if code == "D":
                        self.add_shift(s, d, 7, 19.25, "onsite", "ed", "day")
                    elif code == "N":
                        self.add_shift(s, d, 19, 31.25, "onsite", "ed", "night")
                elif k == "inpt":
                    pool = "ward:" + s.dept
                    if wk:
                        self.add_shift(s, d, 7.5 + j, 17.5 + j, "onsite", pool, "ward")
                        if s.evening_remote and r.random() < 0.25:
                            self.add_shift(s, d, 19.5 + j, 21.5 + j, "remote", "home", "evening")
                    elif w >= 5 and ((d // 7) + s.off) % 3 == 0:
                        self.add_shift(s, d, 8 + j, 13 + j, "onsite", pool, "rounds")
                elif k == "clin":
                    pool = "clin:" + s.dept
                    if wk and w in s.workdays:
                        self.add_shift(s, d, 8.5 + j, 16.5 + j, "onsite", pool, "clinic")
                    elif wk and r.random() < 0.4:
                        self.add_shift(s, d, 13 + j, 17 + j, "onsite", pool, "office")
                    if wk and s.evening_remote and r.random() < 0.2:
                        self.add_shift(s, d, 19.5 + j, 21.5 + j, "remote", "home", "evening")
                elif k == "sched":
                    pool = "film" if "film" in s.flags else "fd"
                    if wk and w in s.workdays:
                        if pat == "late":
                            self.add_shift(s, d, 10 + j / 2, 18.5 + j / 2, "onsite", pool, "day")
                        else:
                            self.add_shift(s, d, 7.5 + j / 2, 16 + j / 2, "onsite", pool, "day")
                elif k == "student":
                    if wk:
                        self.add_shift(s, d, 9 + j, 15.5 + j, "onsite", "edu", "day")
                elif k == "admin":
                    if wk:
                        self.add_shift(s, d, 8 + j, 17 + j, "onsite", "adm", "day")
                elif k == "comp":
                    if wk and w in s.workdays:
                        self.add_shift(s, d, 9 + j, 17 + j, "onsite", "cmp", "day")
        # radiologist on-call rota (weekend/holiday days from home; weekday evenings from home)
        pool = [s for s in self.staff if s.kind == "rad" and s.oncall and not s.temp]
        last_used = {s.uid: -99 for s in pool}
        n_we = max(3, int(round(8 * self.scale)))
        n_ev = max(2, int(round(3 * self.scale)))
        for d in range(D):
            avail = [s for s in pool if self.active_day(s, d)]
            r.shuffle(avail)
            avail.sort(key=lambda s: last_used[s.uid])
            if not self.workday(d):
                chosen = avail[:n_we]
                for s in chosen:
                    last_used[s.uid] = d
                    if r.random() < 0.8:
                        self.add_shift(s, d, 8, 22, "remote", "home", "oncall")
                    else:
                        self.add_shift(s, d, 8, 22, "onsite", "rr:" + s.dept, "oncall")
            else:
                chosen = [s for s in avail if s.pattern != "late"][:n_ev]
                for s in chosen:
                    last_used[s.uid] = d - 2
                    self.add_shift(s, d, 17.5, 22.25, "remote", "home", "oncall")
        # admin night maintenance windows (planned, ticketed, MFA)
        admins = [s for s in self.staff if s.kind == "admin" and s.status == "active"]
        n_mw = max(3, D // 10)
        days = sorted(r.sample(range(3, D - 1), n_mw))
        if not any(d >= self.Z0 for d in days):
            days[-1] = r.randint(self.Z0, D - 2)
        self.maint = []
        for d in days:
            cands = [s for s in admins if self.active_day(s, d)]
            if not cands:
                continue
            s = r.choice(cands)
            remote = r.random() < 0.5
            self.add_shift(s, d, 22 + r.uniform(0, 1), 25 + r.uniform(0, 1.5),
                           "remote" if remote else "onsite", "home" if remote else "adm", "maint")
            self.maint.append((d, s.uid))
        # index: per group, per day -> shifts
        self.grp = defaultdict(lambda: defaultdict(list))
        for s in self.staff:
            for d, lst in s.shifts.items():
                for sh in lst:
                    if s.kind == "tech" and sh[4] != "maint":
                        self.grp["tech:" + s.mod][d].append((sh[0], sh[1], s))
                    elif s.kind == "ed":
                        self.grp["ed"][d].append((sh[0], sh[1], s))
                    elif s.kind == "inpt" and sh[2] == "onsite":
                        self.grp["inpt:" + s.dept][d].append((sh[0], sh[1], s))
                        self.grp["inpt"][d].append((sh[0], sh[1], s))

    def on_shift(self, g, t):
        d = int(t // DAY)
        G = self.grp[g]
        out = []
        for dd in (d - 1, d):
            for a, b, s in G.get(dd, ()):
                if a <= t < b:
                    out.append(s)
        return out

    def next_shift(self, g, t, horizon=4):
        """(time, staff) of first availability at or after t."""
        d = int(t // DAY)
        G = self.grp[g]
        cand = []
        for dd in range(d - 1, d + horizon):
            for a, b, s in G.get(dd, ()):
                if b <= t + 60:
                    continue
                cand.append((max(a, t), s))
            if cand and min(c[0] for c in cand) < (dd + 1) * DAY:
                break
        if not cand:
            return None
        e0 = min(c[0] for c in cand)
        near = [c for c in cand if c[0] < e0 + 45 * MIN]
        e, s = self.r.choice(near)
        return (max(e, e0), s)

    def shift_at(self, s, t):
        d = int(t // DAY)
        for dd in (d - 1, d):
            for sh in s.shifts.get(dd, ()):
                if sh[0] <= t < sh[1]:
                    return sh
        return None

    def pool_of(self, s, sh):
        if sh[3] == "home":
            return "home:" + s.uid
        return sh[3]

    # ------------------------------------------------------------------ hosts
    def make_hosts(self):
        r = self.r
        cnt = defaultdict(int)
        for s in self.staff:
            if s.kind in ("rad", "resident"):
                cnt["rr:" + s.dept] += 1
            elif s.kind == "tech":
                cnt["con:" + s.mod] += 1
            elif s.kind == "inpt":
                cnt["ward:" + s.dept] += 1
            elif s.kind == "clin":
                cnt["clin:" + s.dept] += 1
            elif s.kind == "ed":
                cnt["ed"] += 1
            elif s.kind == "sched":
                cnt["film" if "film" in s.flags else "fd"] += 1
            elif s.kind == "student":
                cnt["edu"] += 1
            elif s.kind == "admin":
                cnt["adm"] += 1
            elif s.kind == "comp":
                cnt["cmp"] += 1
            elif s.kind == "research":
                cnt["res"] += 1
            elif s.kind == "telerad":
                cnt["trad"] += 1
        for sub in SUBS:
            cnt["rr:" + sub] += 0
        cnt["conf"] = 2
        vlan = 10
        for key in sorted(cnt):
            n = cnt[key]
            if key.startswith("rr:"):
                nh = max(3, int(math.ceil(n * 0.7)))
                names = ["rr-%s-%02d" % (SUB_SHORT[key[3:]], i + 1) for i in range(nh)]
            elif key.startswith("con:"):
                nh = max(2, int(math.ceil(n / 3.0)))
                names = ["%s-con-%02d" % (key[4:].lower(), i + 1) for i in range(nh)]
            elif key.startswith("ward:") or key.startswith("clin:"):
                nh = max(2, int(math.ceil(n / 2.5)))
                pre = key.split(":")[0]
                dshort = key.split(":")[1][:6].replace("_", "")
                names = ["%s-%s-pc%02d" % (pre, dshort, i + 1) for i in range(nh)]
            elif key == "trad":
                nh = max(3, n)
                names = ["trad-ws-%02d" % (i + 1) for i in range(nh)]
            elif key == "conf":
                names = ["conf-mdt-01", "conf-mdt-02"]
            else:
                nh = max(2, int(math.ceil(n / 2.0)))
                names = ["%s-ws-%02d" % (key, i + 1) for i in range(nh)]
            vlan += 1
            for i, h in enumerate(names):
                if key == "trad":
                    info = {"ip": "203.0.113.%d" % (20 + i), "host": h, "remote": True,
                            "location": "telerad-" + self.trad_city}
                else:
                    north = (key in ("con:US", "con:CR") and i % 3 == 2) or \
                            (key.startswith("clin:") and i % 4 == 3)
                    site = 40 if north else 20
                    info = {"ip": "10.%d.%d.%d" % (site, vlan, 10 + i), "host": h, "remote": False,
                            "location": "north-clinic" if north else "main-campus"}
                self.pools[key].append(info)
        # personal remote hosts for everyone who may work from home
        for s in self.staff:
            ip = "%d.%d.%d.%d" % (r.choice([24, 31, 46, 62, 73, 81, 84, 94, 98, 109, 176, 188]),
                                   r.randint(1, 254), r.randint(1, 254), r.randint(2, 254))
            host = r.choice(["LAPTOP-", "DESKTOP-", "MBP-"]) + "".join(
                r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7))
            s.home = {"ip": ip, "host": host, "remote": True, "location": "remote-vpn"}
            self.pools["home:" + s.uid] = [s.home]

    def host_for(self, s, pool):
        lst = self.pools.get(pool)
        if not lst:
            lst = self.pools["adm"]
        if len(lst) == 1:
            return lst[0]
        f = s.fav.get(pool)
        if f is None:
            f = self.r.randrange(len(lst))
            s.fav[pool] = f
        if self.r.random() < 0.7:
            return lst[f]
        return self.r.choice(lst)

    # ------------------------------------------------------------------ patients / studies
    def new_mrn(self):
        while True:
            m = "MRN%07d" % self.r.randint(1000000, 9999999)
            if m not in self.mrn_set:
                self.mrn_set.add(m)
                return m

    def new_patient(self, cat=None, sur=None, given=None, priors=None, prior_subs=None):
        r = self.r
        p = Patient()
        p.i = len(self.patients)
        p.mrn = self.new_mrn()
        p.sur = sur or self.surname(0.4)
        p.given = given or r.choice(GIVEN)
        p.name = "%s^%s" % (p.sur.upper(), p.given.upper())
        p.cat = cat
        p.emp = None
        p.studies = []
        p.ref = {}
        p.dct = {"id": p.mrn, "name": p.name}
        self.patients.append(p)
        if priors is None:
            priors = 0 if r.random() < 0.5 else r.randint(1, 4)
        for _ in range(priors):
            if prior_subs:
                ex = r.choice(prior_subs)
            else:
                ex = r.choice(list(EXAMS.keys()))
            self.new_study(p, ex, -r.uniform(20, 1500) * DAY, None, None, "prior", False)
        return p

    def new_study(self, p, exam, t, tech, orderer, kind, urgent, odept=None):
        r = self.r
        m, sub, ilo, ihi, blo, bhi = EXAMS[exam]
        st = Study()
        st.i = len(self.studies)
        self.seq_study += 1
        st.uid = "1.2.826.0.1.3680043.10.%d.%d.%d" % (self.a.seed, 1000 + st.i,
                                                       r.randint(100000, 999999))
        st.acc = "A%d%07d" % (self.start.year % 100, 100000 + st.i * 7 + r.randint(0, 6))
        st.exam, st.mod, st.sub, st.pat = exam, m, sub, p.i
        st.t, st.tech, st.orderer, st.kind, st.urgent = t, tech, orderer, kind, urgent
        st.rt, st.reader = None, None
        st.inst = r.randint(ilo, ihi)
        st.bytes = int(st.inst * r.uniform(blo, bhi))
        st.odept = odept
        sens = "normal"
        if p.cat == "vip":
            sens = "vip"
        elif p.cat == "restricted":
            sens = "restricted"
        st.dct = {"uid": st.uid, "accession": st.acc, "modality": m, "department": sub,
                  "sensitivity": sens, "instances": st.inst, "bytes": st.bytes}
        self.studies.append(st)
        p.studies.append(st.i)
        return st

    def acquire(self, p, exam, t_order, orderer, kind, urgent, odept):
        """Find the technologist and acquisition time for an order; create the study."""
        r = self.r
        mod = EXAMS[exam][0]
        g = "tech:" + mod
        if kind in ("outpt", "screen"):
            ta = t_order
        else:
            ta = t_order + r.expovariate(1.0 / (25 * MIN if mod == "CR" else 45 * MIN)) + 5 * MIN
        techs = self.on_shift(g, ta)
        if not techs:
            ns = self.next_shift(g, ta)
            if ns is None:
                return None
            # orders that waited (e.g. ultrasound overnight / at the weekend) are worked off over
            # the first hours of the next session, not all at once
            spread = 4 * HOUR if ns[0] - ta > 3 * HOUR else 40 * MIN
            ta = ns[0] + r.uniform(5 * MIN, spread)
            techs = self.on_shift(g, ta) or [ns[1]]
        # load balancing: the least busy technologist on shift takes the patient
        load = self.tech_load
        day = int(ta // DAY)
        r.shuffle(techs)
        tech = min(techs, key=lambda s: load.get((s.uid, day), 0))
        load[(tech.uid, day)] = load.get((tech.uid, day), 0) + 1
        if ta >= self.D * DAY - 600:
            return None
        st = self.new_study(p, exam, ta, tech.uid, orderer.uid if orderer else None, kind, urgent,
                            odept)
        # technologist: modality worklist query + QC view (+ occasional demographic fix)
        pool = "con:" + mod
        tech.items.append((ta - r.uniform(60, 420), "query", -1, p.i, pool, None))
        if mod in ("CT", "MR", "NM") and r.random() < 0.3 and len(p.studies) > 1:
            pr = self.studies[p.studies[r.randrange(len(p.studies) - 1)]]
            tech.items.append((ta - r.uniform(30, 300), "view", pr.i, p.i, pool, None))
        tech.items.append((ta + r.uniform(3, 15) * MIN, "view", st.i, p.i, pool, None))
        if mod in ("CT", "MR") and r.random() < 0.4:
            tech.items.append((ta + r.uniform(16, 30) * MIN, "view", st.i, p.i, pool, None))
        if r.random() < 0.03:
            tech.items.append((ta + r.uniform(16, 25) * MIN, "edit", st.i, p.i, pool,
                               {"detail": {"change": r.choice(["demographics", "series_split",
                                                               "laterality"])}}))
        if odept in ONC_DEPTS or kind == "inpt" and odept == "oncology":
            self.board_pool[st.sub].append((ta, p.i))
        return st

    def pick_patient(self, p_reuse, sub=None, prior_subs=None, cat=None):
        r = self.r
        if self.patients and r.random() < p_reuse:
            for _ in range(4):
                p = self.patients[r.randrange(len(self.patients))]
                if p.cat is None:
                    return p
        return self.new_patient(prior_subs=prior_subs)

    def doc_for(self, dept, kind_list, p=None):
        r = self.r
        if p is not None and dept in p.ref:
            return self.by_uid[p.ref[dept]]
        c = self.docs.get((dept, kind_list))
        if not c:
            return None
        s = r.choice(c)
        if p is not None:
            p.ref[dept] = s.uid
        return s

    def journeys(self):
        r, D, sc = self.r, self.D, self.scale
        self.board_pool = defaultdict(list)
        self.docs = {}
        for s in self.staff:
            if s.kind in ("clin", "inpt"):
                self.docs.setdefault((s.dept, s.kind), []).append(s)
        # clinic docs also cover inpatients if a dept has no ward doctors
        for dept in INPT_DEPTS:
            if not self.docs.get((dept, "inpt")):
                self.docs[(dept, "inpt")] = self.docs.get((dept, "clin"), [])
        for dept in CLIN_DEPTS:
            if not self.docs.get((dept, "clin")):
                self.docs[(dept, "clin")] = self.docs.get((dept, "inpt"), []) or \
                    self.docs[("primary_care", "clin")]
        self.stays = []
        # seed onc pools with pre-window priors
        for _ in range(int(120 * sc)):
            sub = r.choice(["chest_radiology", "body_imaging", "neuroradiology", "breast_imaging"])
            ex = {"chest_radiology": "CT_CHEST", "body_imaging": "CT_CAP",
                  "neuroradiology": "MR_BRAIN", "breast_imaging": "MR_BREAST"}[sub]
            p = self.new_patient(priors=0)
            st = self.new_study(p, ex, -r.uniform(3, 40) * DAY, None, None, "prior", False)
            self.new_study(p, ex, st.t - r.uniform(60, 200) * DAY, None, None, "prior", False)
            p.ref["oncology"] = r.choice(self.docs[("oncology", "clin")]).uid
            self.board_pool[sub].append((st.t, p.i))
        # inpatient stays that started before the window
        for d in range(-8, 0):
            for _ in range(int(r.gauss(80 * sc, 6))):
                self.new_stay(d * DAY + r.uniform(8, 20) * HOUR, wchoice(r, INPT_DEPTS), None)
        for d in range(D):
            wk = self.workday(d)
            # ED
            lam = 380 * sc * (0.95 if not wk else 1.0)
            n = max(0, int(r.gauss(lam, math.sqrt(lam))))
            hrs = r.choices(range(24), weights=ED_PROFILE, k=n)
            for h in hrs:
                self.ed_visit(d * DAY + (h + r.random()) * HOUR)
            # elective admissions
            if wk:
                for _ in range(int(r.gauss(46 * sc, 4))):
                    self.new_stay(d * DAY + r.uniform(8, 16) * HOUR, wchoice(r, INPT_DEPTS), None)
            # outpatients
            if wk or self.wd(d) == 5:
                for exam, n0 in OUTPT_DAILY.items():
                    mod = EXAMS[exam][0]
                    if not wk and mod != "MR":
                        continue
                    lam = 1.15 * n0 * sc * (0.3 if not wk else 1.0)
                    k = max(0, int(r.gauss(lam, math.sqrt(lam))))
                    for _ in range(k):
                        self.outpatient(exam, d)
            # screening mammography batches Mon-Thu
            if wk and self.wd(d) <= 3:
                k = int(r.gauss(70 * sc, 6))
                for _ in range(k):
                    p = self.new_patient(priors=0)
                    p.sex = "F"
                    if r.random() < 0.7:
                        self.new_study(p, "MG_SCREEN", -r.uniform(600, 1200) * DAY, None, None,
                                       "prior", False)
                    t = d * DAY + r.uniform(8, 16) * HOUR
                    st = self.acquire(p, "MG_SCREEN", t, None, "screen", False, None)
                    if st and r.random() < 0.045:
                        t2 = (d + r.randint(7, 14)) * DAY + r.uniform(9, 15) * HOUR
                        if t2 < D * DAY - DAY:
                            doc = self.doc_for("breast_surgery", "clin", p)
                            for ex in ("MG_DIAG", "US_BREAST"):
                                self.acquire(p, ex, t2, doc, "outpt", False, "breast_surgery")
        # stays: daily follow-up imaging
        for stay in list(self.stays):
            self.run_stay(stay)
        self.stays_done = True

    def ed_visit(self, t, p=None):
        r = self.r
        if p is None:
            p = self.pick_patient(0.2)
        docs = self.on_shift("ed", t)
        if not docs:
            ns = self.next_shift("ed", t)
            if ns is None:
                return
            doc = ns[1]
        else:
            doc = r.choice(docs)
        k = r.choices([1, 2, 3], weights=[70, 25, 5])[0]
        exams = set(r.choices(list(ED_MIX), weights=list(ED_MIX.values()), k=k))
        t_o = t + r.uniform(15, 90) * MIN
        sts = []
        for ex in sorted(exams):
            st = self.acquire(p, ex, t_o, doc, "ed", True, "emergency")
            if st:
                sts.append(st)
        if r.random() < 0.25:
            self.new_stay(t + r.uniform(3, 8) * HOUR, wchoice(r, INPT_DEPTS), p, from_ed=True)
        return sts

    def new_stay(self, t, dept, p, from_ed=False):
        r = self.r
        if p is None:
            p = self.pick_patient(0.3)
        los = 1 + min(20, int(r.expovariate(1 / 4.0)))
        att = self.doc_for(dept, "inpt")
        if att is None:
            return
        stay = (t, los, dept, p, att, from_ed)
        self.stays.append(stay)
        if self.stays_done:
            self.run_stay(stay)
        return stay

    def run_stay(self, stay):
        r = self.r
        t0, los, dept, p, att, from_ed = stay
        d0 = int(t0 // DAY)
        mix = INPT_MIX[dept]
        for k in range(los):
            d = d0 + k
            if d >= self.D:
                break
            prob = 0.6 if k == 0 and not from_ed else (0.0 if k == 0 else 0.55)
            if d >= 0 and not self.workday(d) and k > 0:
                prob = 0.3
            if r.random() < prob:
                ex = wchoice(r, mix)
                t = d * DAY + r.uniform(7.5, 11.5) * HOUR if k > 0 else t0 + r.uniform(1, 3) * HOUR
                orderer = att
                if d >= 0 and not self.shift_at(att, t):
                    cov = self.on_shift("inpt:" + dept, t) or self.on_shift("inpt", t)
                    if cov:
                        orderer = r.choice(cov)
                if t < 0:
                    self.new_study(p, ex, t, None, orderer.uid, "prior", False)
                else:
                    self.acquire(p, ex, t, orderer, "inpt", True, dept)
            if d < 0:
                continue
            # ward rounds: attending (or covering colleague) reviews the patient's latest images
            doc = att if d in att.shifts else None
            if doc is None:
                cov = [x[2] for x in self.grp["inpt:" + dept].get(d, [])]
                if cov and r.random() < 0.6:
                    doc = r.choice(cov)
            if doc is not None and p.studies and r.random() < 0.65:
                sh = doc.shifts[d][0]
                tt = sh[0] + r.uniform(0.5, 3.5) * HOUR
                prior = [self.studies[i] for i in p.studies if self.studies[i].t < tt - HOUR]
                if prior:
                    prior.sort(key=lambda x: x.t)
                    pool = self.pool_of(doc, sh)
                    doc.items.append((tt, "query", -1, p.i, pool, None))
                    for j, st in enumerate(prior[-r.randint(1, 2):]):
                        doc.items.append((tt + 20 + j * r.uniform(30, 120), "view", st.i, p.i, pool,
                                          None))

    def outpatient(self, exam, d, p=None, doc=None):
        r = self.r
        mod = EXAMS[exam][0]
        lo, hi = MOD_HOURS[mod]
        if self.wd(d) == 5:
            lo, hi = 8, 16
        t = d * DAY + r.uniform(lo, hi) * HOUR
        dept = wchoice(r, OUTPT_REF[exam])
        if p is None:
            sub = EXAMS[exam][1]
            subs_ex = [e for e in EXAMS if EXAMS[e][1] == sub]
            p = self.pick_patient(0.35, prior_subs=subs_ex)
        if doc is None:
            doc = self.doc_for(dept, "clin", p)
        return self.acquire(p, exam, t, doc, "outpt", False, dept)

    # ------------------------------------------------------------------ special patients
    def special_patients(self):
        """Watchlist patients (VIP / restricted / employees) and their legit care journeys."""
        r, D, Z0 = self.r, self.D, self.Z0
        self.watch = []
        n_vip = max(8, int(10 * self.scale))
        n_res = max(12, int(16 * self.scale))
        self.vips, self.restricted, self.employees = [], [], []
        for i in range(n_vip + n_res):
            cat = "vip" if i < n_vip else "restricted"
            p = self.new_patient(cat=cat, priors=r.randint(0, 3))
            (self.vips if cat == "vip" else self.restricted).append(p)
            self.watch.append((p.mrn, cat, ""))
            # half of them get their care inside the incident zone
            d = r.randint(Z0 - 3, D - 3) if i % 2 == 0 else r.randint(1, D - 3)
            self.special_journey(p, d)
        # employees who are also patients (some with in-window imaging)
        emps = [s for s in self.staff if s.status == "active" and s.kind not in ("gone",)
                and s.in_roster]
        r.shuffle(emps)
        n_emp = max(10, int(0.04 * len(self.staff)))
        self.emp_patients = {}
        for s in emps[:n_emp]:
            p = self.new_patient(cat="employee", sur=s.surname, given=s.given,
                                 priors=r.randint(1, 3))
            p.emp = s.uid
            self.emp_patients[s.uid] = p
            self.employees.append(p)
            self.watch.append((p.mrn, "employee", s.uid))
            if r.random() < 0.6:
                self.special_journey(p, r.randint(1, D - 3))

    def special_journey(self, p, d):
        r = self.r
        kind = r.choice(["ed", "ed_admit", "outpt", "outpt"])
        if kind.startswith("ed"):
            t = d * DAY + r.uniform(0, 24) * HOUR
            self.ed_visit(t, p)
            if kind == "ed_admit":
                self.new_stay(t + 5 * HOUR, wchoice(self.r, INPT_DEPTS), p, from_ed=True)
        else:
            if not self.workday(d):
                d = d + (7 - self.wd(d)) % 7
            if d >= self.D - 1:
                d = self.D - 3
            exam = r.choice(["MR_BRAIN", "CT_CHEST", "CT_ABD", "US_ABD", "MR_KNEE", "CR_CHEST"])
            self.outpatient(exam, d, p=p)

    # ------------------------------------------------------------------ reading
    def month_of(self, d):
        return (self.start + dt.timedelta(days=d)).strftime("%Y-%m")

    def build_reader_shifts(self):
        r = self.r
        self.rs_by = {sub: defaultdict(list) for sub in SUBS}
        self.rshifts = []
        for s in self.staff:
            if s.kind not in ("rad", "resident", "telerad"):
                continue
            for d in sorted(s.shifts):
                for sh in s.shifts[d]:
                    a, b, mode, pool, tag = sh
                    hrs = (b - a) / HOUR
                    rs = ReaderShift()
                    rs.start, rs.end, rs.uid, rs.count, rs.reads = a, b, s.uid, 0, []
                    rs.pool = self.pool_of(s, sh)
                    rs.screen = False
                    if s.kind == "telerad":
                        rs.subs = set(SUBS) - {"breast_imaging"}
                        rs.urgent_only = True
                        rs.cap = int(hrs * r.uniform(5.0, 7.0))
                    elif tag == "oncall":
                        rs.subs = set(SUBS)
                        rs.urgent_only = True
                        rs.cap = int(hrs * r.uniform(6, 9))
                    elif s.kind == "resident":
                        sub = s.rot[self.month_of(d)]
                        rs.subs = {sub}
                        rs.urgent_only = False
                        rs.cap = int(READ_CAP[sub] * 0.5 * hrs / 9.0 * r.uniform(0.7, 1.3))
                        rs.pool = "rr:" + sub
                    else:
                        rs.subs = set(s.subs)
                        rs.urgent_only = False
                        rs.cap = int(READ_CAP[s.dept] * hrs / 9.0 * r.uniform(0.8, 1.15))
                    for sub in rs.subs:
                        self.rs_by[sub][d].append(rs)
                    self.rshifts.append(rs)

    def find_reader(self, sub, t0, urgent, exclude):
        r = self.r
        d0 = int(t0 // DAY)
        cover, nxt = [], None
        lists = self.rs_by[sub]
        for d in range(d0 - 1, d0 + 5):
            for rs in lists.get(d, ()):
                if rs.end - 600 <= t0 or (rs.urgent_only and not urgent) or rs.count >= rs.cap \
                        or rs.uid in exclude:
                    continue
                if rs.start <= t0:
                    cover.append(rs)
                elif nxt is None or rs.start < nxt.start:
                    nxt = rs
            if cover or (nxt is not None and nxt.start < (d + 1) * DAY):
                break
        if cover:
            w = [(rs.cap - rs.count) * (2.0 if sub in self.by_uid[rs.uid].subs[:1] else 1.0)
                 for rs in cover]
            rs = r.choices(cover, weights=w)[0]
            trd = t0 + (r.uniform(1, 40) * MIN if urgent else r.uniform(0, 120) * MIN)
        elif nxt is not None:
            rs = nxt
            trd = rs.start + r.uniform(2, 90) * MIN
        else:
            c = [rs for d in range(d0, d0 + 5) for rs in lists.get(d, ())
                 if rs.end > t0 and rs.uid not in exclude and not rs.urgent_only]
            if not c:
                return None, None
            self.stats["reads_over_capacity"] = self.stats.get("reads_over_capacity", 0) + 1
            rs = min(c, key=lambda x: (x.count / float(max(1, x.cap)), x.start))
            trd = max(t0, rs.start) + r.uniform(2, 60) * MIN
        trd = min(trd, rs.end - r.uniform(2, 12) * MIN)
        return rs, max(trd, rs.start + 60)

    def priors(self, p, t, sub, k):
        if k <= 0:
            return []
        c = [self.studies[i] for i in p.studies if self.studies[i].t < t - 1800]
        if not c:
            return []
        c.sort(key=lambda s: (s.sub == sub, s.t), reverse=True)
        return c[:k]

    def reads(self):
        r = self.r
        self.build_reader_shifts()
        order = sorted((st for st in self.studies if st.kind in ("ed", "inpt", "outpt", "screen")),
                       key=lambda s: s.t)
        unread = 0
        for st in order:
            ready = st.t + r.uniform(8, 25) * MIN
            n = 1
            if st.kind == "screen":
                d = int(st.t // DAY) + 1
                while not self.workday(d) and d < self.D + 5:
                    d += 1
                t0 = d * DAY + r.uniform(12.5, 15) * HOUR
                n = 2
            elif st.urgent:
                t0 = ready
            else:
                t0 = ready + r.uniform(0.3, 6) * HOUR
            ex = set()
            for k in range(n):
                rs, trd = self.find_reader(st.sub, t0, st.urgent, ex)
                if rs is None:
                    unread += 1
                    continue
                ex.add(rs.uid)
                rs.count += 1
                rs.reads.append([trd, st.i, k])
        self.stats["unread"] = unread
        # lay reads out sequentially and create the radiologists' events
        shift_opens = []
        for rs in self.rshifts:
            if not rs.reads:
                continue
            s = self.by_uid[rs.uid]
            rs.reads.sort()
            cur = -1e18
            opens = 0
            nq = 0
            for rd in rs.reads:
                t, si, k = rd
                t = max(t, cur + r.uniform(35, 100))
                st = self.studies[si]
                if t >= self.D * DAY - 60:
                    continue
                if k == 0:
                    st.rt, st.reader = t, s.uid
                p = self.patients[st.pat]
                if nq <= 0:
                    s.items.append((t - r.uniform(5, 20), "query", -1, -1, rs.pool,
                                    {"detail": {"query": "worklist"}}))
                    nq = r.randint(5, 15)
                nq -= 1
                s.items.append((t, "view", si, st.pat, rs.pool, None))
                opens += 1
                kp = 1 if st.kind == "screen" else r.choices([0, 1, 2, 3], weights=[35, 35, 20, 10])[0]
                tt = t
                for pr in self.priors(p, st.t, st.sub, kp):
                    tt += r.uniform(15, 70)
                    s.items.append((tt, "view", pr.i, st.pat, rs.pool, None))
                    opens += 1
                if st.kind != "screen" and r.random() < 0.35:
                    tt += r.uniform(30, 180)
                    s.items.append((tt, "annotate", si, st.pat, rs.pool, None))
                if r.random() < 0.015:
                    tt += r.uniform(20, 60)
                    s.items.append((tt, "share", si, st.pat, rs.pool, {"dest": DEST["PORTAL"]}))
                if "teaching_exporter" in s.flags and r.random() < 0.015:
                    tt += r.uniform(20, 60)
                    s.items.append((tt, "export", si, st.pat, rs.pool, {"dest": DEST["TEACHING"]}))
                if "partner_exporter" in s.flags and st.urgent and r.random() < 0.01:
                    tt += r.uniform(20, 60)
                    s.items.append((tt, "export", si, st.pat, rs.pool, {"dest": DEST["PARTNER"]}))
                cur = tt + r.uniform(20, 90)
            shift_opens.append(opens)
        shift_opens.sort()
        if shift_opens:
            self.stats["reader_shift_opens_p10_p50_p90"] = [
                shift_opens[len(shift_opens) // 10], shift_opens[len(shift_opens) // 2],
                shift_opens[9 * len(shift_opens) // 10]]

    # ------------------------------------------------------------------ referring physicians
    def doc_views(self, doc, t, st, pool, prior_k):
        r = self.r
        p = self.patients[st.pat]
        doc.items.append((t, "query", -1, st.pat, pool, None))
        tt = t + r.uniform(5, 40)
        doc.items.append((tt, "view", st.i, st.pat, pool, None))
        for pr in self.priors(p, st.t, st.sub, prior_k):
            tt += r.uniform(20, 90)
            doc.items.append((tt, "view", pr.i, st.pat, pool, None))
        if doc.kind == "clin" and r.random() < 0.02:
            doc.items.append((tt + 30, "print", st.i, st.pat, pool,
                              {"dest": {"type": "printer", "id": r.choice(PRINTERS),
                                        "external": False}}))

    def next_doc_shift(self, doc, t, days, tags):
        d0 = int(t // DAY)
        for d in range(d0, min(self.D, d0 + days)):
            for sh in doc.shifts.get(d, ()):
                if sh[4] in tags and sh[1] > t + 20 * MIN:
                    return sh
        return None

    def referrer_views(self):
        r = self.r
        self.doc_recent = defaultdict(list)
        for st in self.studies:
            if st.orderer is None or st.rt is None or st.t < 0:
                continue
            doc = self.by_uid[st.orderer]
            self.doc_recent[doc.uid].append((st.rt, st.i))
            if st.kind == "ed":
                t = st.t + r.uniform(10, 45) * MIN
                sh = self.shift_at(doc, t)
                if sh and r.random() < 0.75:
                    self.doc_views(doc, t, st, self.pool_of(doc, sh), 0)
                t = st.rt + r.uniform(10, 90) * MIN
                sh = self.shift_at(doc, t)
                if sh and r.random() < 0.45:
                    self.doc_views(doc, t, st, self.pool_of(doc, sh), 1)
            elif st.kind == "inpt":
                t = st.rt + r.uniform(15, 180) * MIN
                sh = self.shift_at(doc, t)
                if sh and r.random() < 0.8:
                    self.doc_views(doc, t, st, self.pool_of(doc, sh), r.randint(0, 1))
                elif r.random() < 0.6:
                    sh = self.next_doc_shift(doc, t, 4, ("ward", "rounds", "clinic", "office"))
                    if sh:
                        t = max(sh[0], t) + r.uniform(0.3, 3) * HOUR
                        if t < sh[1]:
                            self.doc_views(doc, t, st, self.pool_of(doc, sh), r.randint(0, 1))
            elif st.kind == "outpt":
                if r.random() < 0.87:
                    sh = self.next_doc_shift(doc, st.rt, 28, ("clinic", "office", "ward"))
                    if sh:
                        a = max(sh[0], st.rt + 30 * MIN)
                        t = a + r.uniform(0, 0.9) * (sh[1] - a)
                        self.doc_views(doc, t, st, self.pool_of(doc, sh),
                                       r.choices([0, 1, 2], weights=[40, 40, 20])[0])
        # evening remote look-ups from home (with MFA) by physicians who do that
        for s in self.staff:
            if s.kind not in ("clin", "inpt"):
                continue
            rec = sorted(self.doc_recent.get(s.uid, []))
            times = [x[0] for x in rec]
            for d, lst in s.shifts.items():
                for sh in lst:
                    if sh[4] != "evening":
                        continue
                    lo = bisect.bisect_left(times, sh[0] - 3 * DAY)
                    hi = bisect.bisect_left(times, sh[0])
                    c = rec[lo:hi]
                    if not c:
                        continue
                    t = sh[0] + r.uniform(0, 0.5) * HOUR
                    for _, si in r.sample(c, min(len(c), r.randint(1, 5))):
                        t += r.uniform(1, 8) * MIN
                        self.doc_views(s, t, self.studies[si], "home:" + s.uid, 0)

    # ------------------------------------------------------------------ other legit work
    def index_studies(self):
        special = set(p.i for p in self.patients if p.cat is not None)
        special |= set(p.i for p in getattr(self, "family", []))
        self.special_pats = special
        self.win = sorted((st for st in self.studies if st.t >= 0 and st.kind != "import"
                           and st.pat not in special), key=lambda s: s.t)
        self.win_t = [st.t for st in self.win]

    def recent(self, t, back, pred=None, k=None):
        lo = bisect.bisect_left(self.win_t, t - back)
        hi = bisect.bisect_left(self.win_t, t)
        if k is not None and hi - lo > 40 * k:
            # sample by rejection instead of filtering the whole range
            r = self.r
            got, seen = [], set()
            for _ in range(60 * k):
                j = r.randrange(lo, hi)
                if j in seen:
                    continue
                seen.add(j)
                st = self.win[j]
                if pred is None or pred(st):
                    got.append(st)
                    if len(got) >= k:
                        return got
        c = self.win[lo:hi]
        if pred is not None:
            c = [st for st in c if pred(st)]
        if k is not None and len(c) > k:
            c = self.r.sample(c, k)
        return c

    def legit_extras(self):
        r, D = self.r, self.D
        self.index_studies()
        self.watch_pats = self.vips + self.restricted + self.employees
        ticket = [40000 + r.randint(0, 5000)]

        def tk():
            ticket[0] += r.randint(1, 9)
            return "CHG%07d" % ticket[0]
        self.tk = tk
        # tumour boards / MDT meetings
        presenters = {}
        for name, sub, wday, hr in BOARDS:
            c = [s for s in self.staff if s.kind == "rad" and s.dept == sub and not s.part_time]
            r.shuffle(c)
            presenters[name] = c[:2]
        nboard = 0
        for d in range(D):
            if not self.workday(d):
                continue
            for name, sub, wday, hr in BOARDS:
                if self.wd(d) != wday:
                    continue
                pres = [s for s in presenters[name] if d in s.shifts and
                        any(sh[2] == "onsite" for sh in s.shifts[d])]
                if not pres:
                    continue
                s = pres[(d // 7) % len(pres)]
                tb = d * DAY + hr * HOUR
                cand = {}
                for tt, pi in self.board_pool[sub]:
                    if tb - 35 * DAY <= tt < tb - 2 * HOUR:
                        cand[pi] = 1
                cand = sorted(cand)
                if len(cand) < 10:
                    continue
                pats = r.sample(cand, min(len(cand), r.randint(15, 30)))
                nboard += 1
                # preparation earlier the same day on the reading-room workstation
                sh = s.shifts[d][0]
                tp = max(sh[0] + 20 * MIN, tb - r.uniform(2.5, 4) * HOUR)
                if hr < 10:
                    tp = sh[0] - 40 * MIN if sh[0] - 40 * MIN > d * DAY + 6.5 * HOUR else sh[0]
                for pi in pats:
                    p = self.patients[pi]
                    sts = self.priors(p, tb, sub, r.randint(1, 2))
                    for st in sts:
                        tp += r.uniform(20, 80)
                        s.items.append((tp, "view", st.i, pi, "rr:" + s.dept, None))
                # the meeting: conference-room PC, 15-30 patients in about an hour; the presenter
                # is not reading at the workstation meanwhile
                s.items = [it for it in s.items
                           if not (tb - 5 * MIN <= it[0] <= tb + 70 * MIN and it[4] != "conf")]
                t = tb + r.uniform(0, 5) * MIN
                step = 60 * MIN / len(pats)
                for pi in pats:
                    p = self.patients[pi]
                    s.items.append((t, "query", -1, pi, "conf", None))
                    tt = t
                    for st in self.priors(p, tb, sub, r.randint(1, 3)):
                        tt += r.uniform(8, 40)
                        s.items.append((tt, "view", st.i, pi, "conf", None))
                    t += step * r.uniform(0.7, 1.3)
        self.stats["tumour_boards"] = nboard
        # research coordinators: weekly approved export to the de-identification gateway
        for s in self.staff:
            if s.kind != "research":
                continue
            for d, lst in sorted(s.shifts.items()):
                sh = lst[0]
                # daily eligibility screening
                c = self.recent(sh[0], 3 * DAY, lambda st: st.sub in s.subs, r.randint(3, 12))
                t = sh[0] + r.uniform(0.5, 2) * HOUR
                for st in c:
                    t += r.uniform(1, 10) * MIN
                    s.items.append((t, "query", -1, st.pat, "res", None))
                    s.items.append((t + r.uniform(5, 30), "view", st.i, st.pat, "res", None))
                if self.wd(d) == s.export_day:
                    c = self.recent(sh[0], 30 * DAY, lambda st: st.sub in s.subs and st.kind
                                    in ("outpt", "inpt"), r.randint(20, 60))
                    t = d * DAY + r.uniform(13.5, 15) * HOUR
                    for st in c:
                        t += r.uniform(10, 40)
                        s.items.append((t, "export", st.i, st.pat, "res", {"dest": DEST["DEID_GW"]}))
        # schedulers: appointment look-ups, CD burning for patients, outside-CD imports
        outs = [st for st in self.win if st.kind == "outpt"]
        out_t = [st.t for st in outs]
        for s in self.staff:
            if s.kind != "sched":
                continue
            pool = "film" if "film" in s.flags else "fd"
            for d, lst in sorted(s.shifts.items()):
                sh = lst[0]
                lo = bisect.bisect_left(out_t, sh[0])
                hi = bisect.bisect_left(out_t, sh[0] + 3 * DAY)
                c = outs[lo:hi]
                nq = r.randint(25, 70) if pool == "fd" else r.randint(8, 20)
                for st in r.sample(c, min(len(c), nq)):
                    t = r.uniform(sh[0], sh[1])
                    s.items.append((t, "query", -1, st.pat, pool, None))
                if pool == "film":
                    c = self.recent(sh[0], 30 * DAY, lambda st: st.kind in ("outpt", "ed"),
                                    r.randint(2, 8))
                    for st in c:
                        t = r.uniform(sh[0], sh[1] - 600)
                        s.items.append((t, "query", -1, st.pat, pool, None))
                        s.items.append((t + r.uniform(30, 120), "export", st.i, st.pat, pool,
                                        {"dest": DEST["CD_FILM"]}))
                    for _ in range(r.randint(1, 4)):
                        p = self.patients[r.randrange(len(self.patients))]
                        if p.i in self.special_pats:
                            continue
                        ex = r.choice(["CT_HEAD", "MR_KNEE", "CT_CHEST", "MR_BRAIN", "CR_CHEST"])
                        t = r.uniform(sh[0], sh[1] - 600)
                        st = self.new_study(p, ex, t, None, None, "import", False)
                        s.items.append((t, "import", st.i, p.i, pool,
                                        {"detail": {"media": "CD", "origin": "outside_hospital"}}))
                elif r.random() < 0.3:
                    c = self.recent(sh[0], 20 * DAY, lambda st: st.kind == "outpt", 1)
                    for st in c:
                        t = r.uniform(sh[0], sh[1] - 600)
                        s.items.append((t, "export", st.i, st.pat, pool, {"dest": DEST["CD_FD"]}))
        # students: teaching views in their attachment's subspecialty
        for s in self.staff:
            if s.kind != "student":
                continue
            for d, lst in sorted(s.shifts.items()):
                sh = lst[0]
                pool = "edu" if r.random() < 0.5 else "rr:" + s.dept
                c = self.recent(sh[0], 4 * DAY, lambda st: st.sub == s.dept, r.randint(8, 35))
                t = sh[0] + r.uniform(0.2, 1) * HOUR
                for st in c:
                    t += r.uniform(2, 9) * MIN
                    if t > sh[1]:
                        break
                    s.items.append((t, "view", st.i, st.pat, pool, None))
        # compliance officers: audit reports and patient-level look-ups (no images)
        for s in self.staff:
            if s.kind != "comp":
                continue
            for d, lst in sorted(s.shifts.items()):
                sh = lst[0]
                for _ in range(r.randint(3, 10)):
                    s.items.append((r.uniform(sh[0], sh[1]), "other", -1, -1, "cmp",
                                    {"detail": {"operation": "audit_report",
                                                "report": r.choice(["vip_access", "break_glass",
                                                                    "export_log", "user_activity",
                                                                    "failed_logins"])}}))
                for _ in range(r.randint(0, 4)):
                    p = self.patients[r.randrange(len(self.patients))]
                    if p.i in self.special_pats:
                        continue
                    s.items.append((r.uniform(sh[0], sh[1]), "query", -1, p.i, "cmp",
                                    {"detail": {"query": "patient_audit"}}))
                # legit look-alike: compliance audits of watchlist patients (look-up, no images)
                if r.random() < 0.12 and self.watch_pats:
                    p = r.choice(self.watch_pats)
                    s.items.append((r.uniform(sh[0], sh[1]), "query", -1, p.i, "cmp",
                                    {"detail": {"query": "patient_audit", "audit_case": "watchlist"}}))
        # administrators
        admins = [s for s in self.staff if s.kind == "admin"]
        settings = [("routing.rule.CT_to_3DLAB", "disabled", "enabled"),
                    ("hanging_protocol.MR_KNEE", "v3", "v4"),
                    ("worklist.filter.body_imaging", "CT,MR", "CT,MR,US"),
                    ("prefetch.days", "30", "60"),
                    ("modality.ae.add", "", "CT3_NEW"),
                    ("tls.certificate", "2025-cert", "2026-cert"),
                    ("compression.lossless.MG", "false", "true"),
                    ("viewer.default_layout", "1x2", "2x2")]
        for s in admins:
            for d, lst in sorted(s.shifts.items()):
                for sh in lst:
                    if sh[4] == "maint":
                        continue
                    pool = self.pool_of(s, sh)
                    for _ in range(r.randint(4, 18)):
                        p = self.patients[r.randrange(len(self.patients))]
                        if p.i in self.special_pats:
                            continue
                        s.items.append((r.uniform(sh[0], sh[1]), "query", -1, p.i, pool,
                                        {"detail": {"query": "patient"}}))
                    for _ in range(r.randint(0, 3)):
                        c = self.recent(sh[0], 5 * DAY, None, 1)
                        for st in c:
                            s.items.append((r.uniform(sh[0], sh[1]), "edit", st.i, st.pat, pool,
                                            {"detail": {"change": "patient_merge",
                                                        "change_ticket": tk()}}))
                    if r.random() < 0.3:
                        c = self.recent(sh[0], 5 * DAY, None, r.randint(1, 2))
                        for st in c:
                            s.items.append((r.uniform(sh[0], sh[1]), "delete", st.i, st.pat, pool,
                                            {"detail": {"reason": "duplicate_study",
                                                        "change_ticket": tk()}}))
                    if r.random() < 0.15:
                        k, o, n = r.choice(settings)
                        s.items.append((r.uniform(sh[0] + HOUR, sh[1] - HOUR), "config_change", -1,
                                        -1, pool, {"detail": {"setting": k, "old_value": o,
                                                              "new_value": n,
                                                              "change_ticket": tk()}}))
        # planned night maintenance windows (ticket + MFA)
        for d, uid in self.maint:
            s = self.by_uid[uid]
            sh = [x for x in s.shifts[d] if x[4] == "maint"][0]
            pool = self.pool_of(s, sh)
            chg = tk()
            t = sh[0] + r.uniform(2, 10) * MIN
            for _ in range(r.randint(4, 12)):
                k = r.choice(["archive.tier_policy", "db.index.rebuild", "storage.volume.add",
                              "service.version", "routing.rule.reload", "cache.size_gb"])
                s.items.append((t, "config_change", -1, -1, pool,
                                {"detail": {"setting": k, "old_value": "a", "new_value": "b",
                                            "change_ticket": chg, "maintenance_window": True}}))
                t += r.uniform(1, 8) * MIN
            old = [st for st in self.studies if st.t < -300 * DAY and
                   st.pat not in self.special_pats]
            for st in r.sample(old, min(len(old), r.randint(100, 400))):
                t += r.uniform(5, 20)
                s.items.append((t, "archive", st.i, st.pat, pool,
                                {"detail": {"tier": "deep_archive", "change_ticket": chg}}))
            s.items.append((t + 60, "other", -1, -1, pool,
                            {"detail": {"operation": "service_restart", "change_ticket": chg}}))
        # onboarding / offboarding permission changes
        for s in self.staff:
            if s.kind == "student" and s.start_day > 0:
                self.admin_perm(s, s.start_day, "grant", ["student"], tk())
            if "leaver" in s.flags and s.end_day < D:
                self.admin_perm(s, s.end_day, "revoke", s.roles, tk())

    def admin_perm(self, target, d, op, roles, ticket):
        r = self.r
        for dd in range(d, d + 5):
            c = [s for s in self.staff if s.kind == "admin" and dd in s.shifts
                 and s.shifts[dd][0][4] != "maint" and not s.reserved]
            if c:
                s = r.choice(c)
                sh = s.shifts[dd][0]
                t = r.uniform(sh[0], min(sh[1], sh[0] + 3 * HOUR))
                if op == "grant":
                    t = min(t, dd * DAY + 8.7 * HOUR) if dd == d else t
                s.items.append((t, "permission_change", -1, -1, "adm",
                                {"target": {"id": target.uid, "roles": list(roles)},
                                 "detail": {"operation": op, "permission": "role:" + roles[0],
                                            "change_ticket": ticket}}))
                return

    # ------------------------------------------------------------------ incident helpers
    def care_relations(self):
        """patient index -> users who legitimately touched that patient (watchlist/family only).
        Legit traffic never contains self-access or relative access: remove any such accident."""
        own = {}
        for p in self.employees:
            own[p.emp] = {p.i}
        for uid, p in getattr(self, "family_of", {}).items():
            own.setdefault(uid, set()).add(p.i)
        removed = 0
        for uid, pis in own.items():
            s = self.by_uid[uid]
            n0 = len(s.items)
            s.items = [it for it in s.items if it[3] not in pis]
            removed += n0 - len(s.items)
        self.stats["removed_accidental_self_or_family_access"] = removed
        want = set(p.i for p in self.vips + self.restricted + self.employees + self.family)
        care = defaultdict(set)
        for st in self.studies:
            if st.pat in want:
                for u in (st.tech, st.orderer, st.reader):
                    if u:
                        care[st.pat].add(u)
        for s in self.staff:
            for it in s.items:
                if it[3] in want:
                    care[it[3]].add(s.uid)
        self.care = care

    def free(self, pred, allow_reserved=False):
        bad = {"long_leave", "week_leave", "shift_change", "leaver", "suspended", "dormant"}
        c = [s for s in self.staff if (allow_reserved or not s.reserved) and s.in_roster
             and s.status == "active" and s.kind != "gone" and not (s.flags & bad)
             and pred(s)]
        if not c and not allow_reserved:
            # small sites: reuse an actor already used by another incident type
            same = set(x["user_id"] for x in self.incidents if x["type"] == self.cur_type)
            c = [s for s in self.staff if s.in_roster and s.uid not in same
                 and s.status == "active" and s.kind != "gone" and not (s.flags & bad)
                 and s.uid not in self.planned_uids and pred(s)]
        return c

    def pick_admin(self, pred=None):
        use = defaultdict(int)
        for x in self.incidents:
            use[x["user_id"]] += 1
            use[x.get("granted_by")] += 1
        c = [s for s in self.staff if s.kind == "admin" and s.status == "active" and s.in_roster
             and (pred is None or pred(s))]
        self.r.shuffle(c)
        c.sort(key=lambda s: use[s.uid])
        return c[0] if c else None

    def take_pref(self, *preds):
        """First predicate with an unused actor wins; otherwise reuse (never within one type)."""
        for p in preds:
            c = [s for s in self.free(p) if not s.reserved]
            if c:
                return self.take(c)
        for p in preds:
            c = self.free(p)
            if c:
                return self.take(c)
        return None

    def take(self, cands):
        if not cands:
            return None
        s = self.r.choice(cands)
        s.reserved = True
        return s

    def zday(self, pred=None, tries=200):
        r = self.r
        for _ in range(tries):
            d = r.randint(self.Z0, self.D - 1)
            if pred is None or pred(d):
                return d
        return None

    def work_shift(self, s, d, tags=None):
        for sh in s.shifts.get(d, ()):
            if sh[2] == "onsite" and (tags is None or sh[4] in tags) and sh[4] != "maint":
                return sh
        return None

    def zone_shift(self, s, tags=None, min_hours=2.0):
        days = [d for d in range(self.Z0, self.D) if self.work_shift(s, d, tags)]
        days = [d for d in days if (self.work_shift(s, d, tags)[1] - self.work_shift(s, d, tags)[0])
                >= min_hours * HOUR and self.work_shift(s, d, tags)[1] < self.D * DAY - HOUR]
        if not days:
            return None, None
        d = self.r.choice(days)
        return d, self.work_shift(s, d, tags)

    def main_pool(self, s):
        for d in sorted(s.shifts):
            for sh in s.shifts[d]:
                if sh[2] == "onsite" and sh[4] != "maint":
                    return sh[3]
        return {"tech": "con:" + str(s.mod), "rad": "rr:" + str(s.dept), "clin": "clin:" + str(s.dept),
                "inpt": "ward:" + str(s.dept), "sched": "fd", "student": "edu", "admin": "adm",
                "comp": "cmp", "research": "res", "ed": "ed", "resident": "rr:" + str(s.dept),
                "telerad": "trad"}.get(s.kind, "adm")

    def usual_host(self, s):
        pool = self.main_pool(s)
        lst = self.pools[pool]
        f = s.fav.get(pool)
        if f is None:
            f = self.r.randrange(len(lst))
            s.fav[pool] = f
        return pool, lst[f]

    def is_day_only(self, s):
        if not s.shifts:
            return False
        for d, lst in s.shifts.items():
            for sh in lst:
                h0 = (sh[0] - d * DAY) / HOUR
                h1 = (sh[1] - d * DAY) / HOUR
                if h0 < 6.5 or h1 > 19.5 or self.wd(d) >= 5 or sh[2] != "onsite":
                    return False
        return True

    def new_inc(self, typ, s_uid, variant, **extra):
        k = sum(1 for x in self.incidents if x["type"] == typ) + 1
        iid = "INC-%s-%02d" % (typ, k)
        rec = {"incident_id": iid, "type": typ, "user_id": s_uid, "variant": variant}
        rec.update(extra)
        self.incidents.append(rec)
        return iid

    def add(self, s, t, action, st=None, pat=-1, pool=None, **f):
        si = st.i if st is not None else -1
        if st is not None and pat == -1:
            pat = st.pat
        s.items.append((t, action, si, pat, pool, f))

    def ext_ip(self):
        r = self.r
        return "%d.%d.%d.%d" % (r.choice([45, 77, 91, 103, 141, 156, 185, 193, 212]),
                                r.randint(1, 254), r.randint(1, 254), r.randint(2, 254))

    def ext_host(self):
        r = self.r
        return {"ip": self.ext_ip(), "host": r.choice(["DESKTOP-", "WIN-", "kali-", "PC-"]) +
                "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6)),
                "remote": True, "location": "remote-vpn"}

    def any_host(self, pool):
        return self.r.choice(self.pools[pool])

    def studies_for(self, s, t, k, back=10 * DAY):
        """Plausible studies for this user to open around time t."""
        r = self.r
        if s.kind in ("rad", "resident", "student"):
            pred = lambda st: st.sub == s.dept
        elif s.kind == "tech":
            pred = lambda st: st.mod == s.mod
        elif s.kind in ("clin", "inpt"):
            pred = lambda st: st.odept == s.dept
        elif s.kind == "ed":
            pred = lambda st: st.kind == "ed"
        elif s.kind == "research":
            pred = lambda st: st.sub in s.subs
        else:
            pred = None
        c = self.recent(t, back, pred)
        if len(c) < k:
            c = self.recent(t, 30 * DAY, pred) or self.recent(t, 30 * DAY)
        return r.sample(c, min(k, len(c)))

    def session_views(self, s, iid, t, n, pool, host=None, mfa=None, gap=(20, 150), studies=None,
                      annotate=0.0, query=0.3):
        r = self.r
        f = {"inc": iid}
        if self.need_sess(s, t, pool, host, mfa):
            f["sess"] = iid + ":%d" % int(t)
        if host is not None:
            f["host"] = host
        if mfa is not None:
            f["mfa"] = mfa
        sts = studies if studies is not None else self.studies_for(s, t, n)
        for st in sts:
            if r.random() < query:
                self.add(s, t, "query", None, st.pat, pool, **f)
                t += r.uniform(5, 20)
            self.add(s, t, "view", st, -1, pool, **f)
            if annotate and r.random() < annotate:
                self.add(s, t + r.uniform(30, 90), "annotate", st, -1, pool, **f)
            t += r.uniform(*gap)
        return t

    def unknown_account(self, uid, name, roles, dept):
        s = Staff("unknown")
        s.uid, s.name, s.roles, s.dept = uid, name, roles, dept
        s.in_roster = False
        s.reserved = True
        self.by_uid[uid] = s
        self.staff.append(s)
        ip = self.ext_ip()
        s.home = {"ip": ip, "host": "LAPTOP-" + uid.upper()[:7], "remote": True,
                  "location": "remote-vpn"}
        self.pools["home:" + uid] = [s.home]
        return s

    def need_sess(self, s, t, pool, host, mfa):
        """An incident gets its own login session unless it happens inside the user's normal
        on-shift session on the same workstation pool."""
        if host is not None or mfa is False:
            return True
        sh = self.shift_at(s, t)
        return sh is None or self.pool_of(s, sh) != pool

    def export_burst(self, s, iid, t, sts, pool, dest, gap=(8, 30), mfa=True, host=None, sess=True):
        f = {"inc": iid, "dest": dest}
        if sess and self.need_sess(s, t, pool, host, mfa):
            f["sess"] = iid
        if mfa is not None:
            f["mfa"] = mfa
        if host is not None:
            f["host"] = host
        for st in sts:
            self.add(s, t, "export", st, -1, pool, **f)
            t += self.r.uniform(*gap)
        return t

    def old_studies(self, pred, k):
        c = [st for st in self.studies if st.kind != "import" and st.pat not in self.special_pats
             and pred(st)]
        return self.r.sample(c, min(k, len(c)))

    # ------------------------------------------------------------------ family / employee set-up
    def plan_family(self):
        """same_surname incidents need a relative of the actor who is imaged inside the zone."""
        r = self.r
        self.family = []
        self.family_of = {}
        if "same_surname" not in self.types:
            return
        common = set(COMMON_SURNAMES)
        count = defaultdict(int)
        for s in self.staff:
            count[s.surname] += 1
        c = self.free(lambda s: s.kind in ("rad", "tech", "clin", "inpt", "ed", "resident")
                      and s.surname not in common and count[s.surname] == 1 and not s.temp)
        r.shuffle(c)
        for s in c[:self.a.per_type]:
            s.reserved = True
            p = self.new_patient(sur=s.surname, given=r.choice(GIVEN), priors=r.randint(1, 3))
            self.family.append(p)
            self.family_of[s.uid] = p
            d = r.randint(self.Z0 - 2, self.D - 4)
            self.special_journey(p, d)

    # ------------------------------------------------------------------ incidents
    def inject(self):
        self.index_studies()
        n = self.a.per_type
        self.planned_uids = set(s.uid for v in self.plan_actors.values() for s in v)
        self.planned_uids |= set(getattr(self, "family_of", {}).keys())
        import traceback
        for typ in self.types:
            self.cur_type = typ
            fn = getattr(self, "inc_" + typ)
            for i in range(n):
                for attempt in range(4):
                    before = len(self.incidents)
                    try:
                        fn(i)
                        break
                    except _Skip as e:
                        del self.incidents[before:]
                        sys.stderr.write("retry %s #%d (%s)\n" % (typ, i, e))
                    except Exception:
                        sys.stderr.write("FAILED %s #%d:\n%s" % (typ, i, traceback.format_exc()))
                        del self.incidents[before:]
                        break

    def inc_bulk_export(self, i):
        r = self.r
        v = i % 6
        if v in (0, 3, 4):
            flag = {0: "teaching_exporter", 3: None, 4: "partner_exporter"}[v]
            s = self.take(self.free(lambda s: s.kind == "rad" and (flag is None or flag in s.flags)))\
                or self.take(self.free(lambda s: s.kind == "rad"))
            d, sh = self.zone_shift(s, ("day",))
            if sh is None:
                raise _Skip("no shift")
            pool = sh[3]
            t = sh[0] + r.uniform(1, 5) * HOUR
            if v == 0:
                sts = self.old_studies(lambda st: st.sub in s.subs, r.randint(150, 300))
                iid = self.new_inc("bulk_export", s.uid, "radiologist exports %d studies to usual "
                                   "TEACHING_FILE node within ~1h" % len(sts))
                self.export_burst(s, iid, t, sts, pool, DEST["TEACHING"], (6, 20))
            elif v == 3:
                sts = self.old_studies(lambda st: True, r.randint(200, 400))
                dest = {"type": "cloud", "id": "s3://imgshare-%04d/upload" % r.randint(0, 9999),
                        "external": True}
                t = d * DAY + r.uniform(19, 21) * HOUR
                iid = self.new_inc("bulk_export", s.uid, "radiologist exports %d studies to a new "
                                   "cloud bucket in the evening from home" % len(sts))
                self.export_burst(s, iid, t, sts, "home:" + s.uid, dest, (4, 15))
            else:
                sts = self.old_studies(lambda st: st.mod in ("CT", "MR"), r.randint(80, 120))
                iid = self.new_inc("bulk_export", s.uid, "moderate: radiologist sends %d CT/MR studies"
                                   " to the usual partner hospital node in ~40 min" % len(sts))
                self.export_burst(s, iid, t, sts, pool, DEST["PARTNER"], (15, 35))
        elif v in (1, 5):
            s = self.take_pref(lambda s: s.kind == "research",
                               lambda s: "teaching_exporter" in s.flags)
            if v == 1:
                d = self.zday(lambda d: self.wd(d) == 5)
                t = d * DAY + r.uniform(19, 22) * HOUR
                sts = self.old_studies(lambda st: True, r.randint(400, 700))
                iid = self.new_inc("bulk_export", s.uid, "research coordinator exports %d studies to "
                                   "usual DEID_GW off-schedule on Saturday night from home" % len(sts))
                self.export_burst(s, iid, t, sts, "home:" + s.uid, DEST["DEID_GW"], (3, 10))
            else:
                d, sh = self.zone_shift(s)
                if sh is None:
                    raise _Skip("no shift")
                t = sh[0] + r.uniform(1, 4) * HOUR
                sts = self.old_studies(lambda st: True, r.randint(200, 300))
                dest = {"type": "dicom_node", "id": "EXT_RESEARCH_AE", "external": True}
                iid = self.new_inc("bulk_export", s.uid, "research coordinator exports %d studies to a"
                                   " new external DICOM node in ~15 min" % len(sts))
                self.export_burst(s, iid, t, sts, sh[3], dest, (2, 5))
        else:
            s = self.take(self.free(lambda s: s.kind == "sched" and "film" in s.flags))
            d, sh = self.zone_shift(s)
            if sh is None:
                raise _Skip("no shift")
            t = sh[0] + r.uniform(3, 5) * HOUR
            sts = self.old_studies(lambda st: st.kind in ("outpt", "ed", "prior"), r.randint(70, 140))
            iid = self.new_inc("bulk_export", s.uid, "film-library scheduler burns %d studies to the "
                               "usual CD burner in one afternoon" % len(sts))
            self.export_burst(s, iid, t, sts, sh[3], DEST["CD_FILM"], (40, 120))

    def inc_odd_hours(self, i):
        r = self.r
        v = i % 6
        kinds = {0: ("rad",), 1: ("rad", "clin"), 2: ("rad", "research"), 3: ("tech",),
                 4: ("clin",), 5: ("rad", "inpt")}[v]
        s = self.take(self.free(lambda s: s.kind in kinds and self.is_day_only(s)))
        if s is None:
            raise _Skip("no day-only actor")
        pool, host = self.usual_host(s)
        if v in (0, 3):
            d = self.zday(lambda d: self.wd(d) < 5)
            t = d * DAY + r.uniform(1, 3) * HOUR
            nv = r.randint(20, 40)
            iid = self.new_inc("odd_hours", s.uid, "day-shift %s active at %02d:00 on a weekday from "
                               "usual workstation, %d studies" % (s.roles[0], int(t % DAY // HOUR), nv))
            self.session_views(s, iid, t, nv, pool, host=host, mfa=False, gap=(30, 200))
        elif v == 1:
            d = self.zday(lambda d: self.wd(d) == 6)
            t = d * DAY + r.uniform(13, 16) * HOUR
            nv = r.randint(15, 30)
            iid = self.new_inc("odd_hours", s.uid, "weekday-only user works Sunday afternoon from "
                               "home (MFA ok), %d studies" % nv)
            self.session_views(s, iid, t, nv, "home:" + s.uid, mfa=True, gap=(40, 240))
        elif v == 2:
            d = self.zday(lambda d: self.wd(d) == 5)
            t = d * DAY + r.uniform(1.5, 3) * HOUR
            nv = r.randint(10, 25)
            iid = self.new_inc("odd_hours", s.uid, "day-only user active Saturday ~02:00 remotely "
                               "(MFA ok), %d studies" % nv)
            self.session_views(s, iid, t, nv, "home:" + s.uid, mfa=True, gap=(30, 200), query=0.8)
        elif v == 4:
            d = self.zday(lambda d: self.wd(d) < 4)
            t = d * DAY + r.uniform(23.2, 23.7) * HOUR
            nv = r.randint(12, 20)
            iid = self.new_inc("odd_hours", s.uid, "clinic physician on clinic PC 23:30-01:00 on a "
                               "weekday night, %d patients" % nv)
            self.session_views(s, iid, t, nv, pool, host=host, mfa=False, gap=(120, 360), query=1.0)
        else:
            d = self.zday(lambda d: self.wd(d) < 5)
            t = d * DAY + r.uniform(0.2, 1) * HOUR
            nv = r.randint(18, 30)
            iid = self.new_inc("odd_hours", s.uid, "day-only user active after midnight from home "
                               "(MFA ok), %d studies" % nv)
            self.session_views(s, iid, t, nv, "home:" + s.uid, mfa=True, gap=(40, 200))

    def inc_patient_sweep(self, i):
        r = self.r
        v = i % 6
        kinds = {0: ("clin",), 1: ("inpt",), 2: ("rad",), 3: ("tech",), 4: ("student",),
                 5: ("ed",)}[v]
        s = self.take(self.free(lambda s: s.kind in kinds and not s.temp or
                                (s.kind == "student" and s.kind in kinds and (s.end_day or 0) > self.D)))
        if s is None:
            raise _Skip("no actor")
        tags = ("day", "clinic", "ward", "night") if v != 5 else ("night", "day")
        d, sh = self.zone_shift(s, tags, min_hours=4)
        if sh is None:
            raise _Skip("no shift")
        pool = sh[3]
        t = sh[0] + r.uniform(0.5, 2) * HOUR
        other = lambda st: True
        if v == 0:
            pred, n, dur, what = (lambda st: st.odept == s.dept), r.randint(120, 200), 2.5, \
                "opens %d distinct patients of the whole own-department census in ~2.5h"
        elif v == 1:
            pred, n, dur, what = (lambda st: st.kind == "ed"), r.randint(70, 90), 1.5, \
                "moderate: ward physician opens %d ED patients (another department) in 90 min"
        elif v == 2:
            o = r.choice([x for x in SUBS if x not in s.subs])
            pred, n, dur, what = (lambda st: st.sub == o), r.randint(250, 350), 3.0, \
                "radiologist opens %d patients from another subspecialty (" + o + ") in 3h"
        elif v == 3:
            pred, n, dur, what = other, r.randint(120, 180), 2.0, \
                "technologist browses %d patients across all departments in 2h"
        elif v == 4:
            pred, n, dur, what = other, r.randint(130, 170), 2.0, \
                "student browses %d patients across departments"
        else:
            pred, n, dur, what = (lambda st: st.kind == "outpt" and st.odept == "oncology"), \
                r.randint(100, 150), 2.5, "ED physician on night shift opens %d oncology " \
                                          "outpatients never seen in ED"
        c = [st for st in self.studies if st.kind != "import" and pred(st) and st.t < t
             and st.pat not in self.special_pats]
        seen, sts = set(), []
        r.shuffle(c)
        for st in c:
            if st.pat not in seen:
                seen.add(st.pat)
                sts.append(st)
            if len(sts) >= n:
                break
        if len(sts) < 50:
            raise _Skip("too few patients")
        iid = self.new_inc("patient_sweep", s.uid, what % len(sts))
        gap = dur * HOUR / len(sts)
        self.session_views(s, iid, t, len(sts), pool, gap=(0.5 * gap, 1.5 * gap), studies=sts,
                           query=0.7)

    def exporter(self, v):
        if v in (1, 5):
            return self.take_pref(lambda s: s.kind == "research",
                                  lambda s: "teaching_exporter" in s.flags)
        if v == 2:
            return self.take(self.free(lambda s: s.kind == "sched" and "film" in s.flags))
        return self.take(self.free(lambda s: s.kind == "rad" and s.flags &
                                   {"teaching_exporter", "partner_exporter"})) or \
            self.take(self.free(lambda s: s.kind == "rad"))

    def inc_export_destination(self, i):
        r = self.r
        v = i % 6
        s = self.exporter(v)
        if s is None:
            raise _Skip("no exporter")
        d, sh = self.zone_shift(s)
        if sh is None:
            raise _Skip("no shift")
        t = sh[0] + r.uniform(1, 6) * HOUR
        given = s.given.lower()
        dests = {
            0: ({"type": "email", "id": "%s.%s%d@gmail.com" % (given, s.surname.lower(),
                                                             r.randint(70, 99)), "external": True},
                r.randint(2, 3), "radiologist e-mails %d studies to a personal webmail address"),
            1: ({"type": "cloud", "id": "gdrive:/shared/%s-%d" % (given, r.randint(1, 99)),
                 "external": True}, r.randint(5, 10), "research coordinator exports %d studies to "
                                                       "a personal cloud drive"),
            2: ({"type": "media", "id": "USB-%s-%06d" % (r.choice(["KINGSTON", "SANDISK", "WD"]),
                                                        r.randint(0, 999999)), "external": False},
                r.randint(2, 4), "film-library scheduler writes %d studies to a never-seen USB "
                                 "device instead of the CD burner"),
            3: ({"type": "dicom_node", "id": "AE_PRIVCLINIC%d" % r.randint(1, 9), "external": True},
                r.randint(3, 6), "radiologist sends %d studies to an unknown external DICOM node"),
            4: ({"type": "web", "id": "https://dicomshare-%d.example.net/upload" % r.randint(1, 99),
                 "external": True}, r.randint(1, 2), "radiologist uploads %d studies to an external"
                                                      " web sharing site"),
            5: ({"type": "dicom_node", "id": "CRO_TRIALS_AE", "external": True}, r.randint(8, 12),
                "research coordinator sends %d studies (not de-identified) to an external CRO "
                "node"),
        }
        dest, k, what = dests[v]
        sts = self.studies_for(s, t, k, back=20 * DAY)
        iid = self.new_inc("export_destination", s.uid, what % len(sts))
        self.export_burst(s, iid, t, sts, sh[3], dest, (20, 90), mfa=True, sess=False)

    def inc_role_permission(self, i):
        r = self.r
        v = i % 7
        kind = {0: "clin", 1: "inpt", 2: "tech", 3: "comp", 4: "student", 5: "sched", 6: "telerad"}[v]
        s = self.take(self.free(lambda s: s.kind == kind and (kind != "student" or
                                                             (s.end_day or 0) > self.D)))
        if s is None:
            raise _Skip("no actor " + kind)
        tags = None if kind != "telerad" else ("night",)
        if kind == "telerad":
            d = self.zday(lambda d: d in s.shifts)
            sh = s.shifts[d][0] if d is not None else None
        else:
            d, sh = self.zone_shift(s, tags)
        if sh is None:
            raise _Skip("no shift")
        pool = self.pool_of(s, sh)
        t = sh[0] + r.uniform(1, 5) * HOUR
        f = {"inc": None}
        if v == 0:
            sts = self.studies_for(s, t, r.randint(1, 3))
            iid = self.new_inc("role_permission", s.uid, "referring physician deletes %d studies"
                               % len(sts))
            for st in sts:
                self.add(s, t, "view", st, -1, pool)
                self.add(s, t + r.uniform(20, 60), "delete", st, -1, pool, inc=iid)
                t += r.uniform(60, 300)
        elif v == 1:
            sts = self.studies_for(s, t, r.randint(3, 6))
            iid = self.new_inc("role_permission", s.uid, "ward physician exports %d studies to the "
                               "front-desk CD burner" % len(sts))
            self.export_burst(s, iid, t, sts, pool, DEST["CD_FD"], (40, 120), mfa=True, sess=False)
        elif v == 2:
            sts = self.studies_for(s, t, r.randint(2, 5))
            iid = self.new_inc("role_permission", s.uid, "technologist deletes %d studies"
                               % len(sts))
            for st in sts:
                self.add(s, t, "delete", st, -1, pool, inc=iid,
                         detail={"reason": "user_request"})
                t += r.uniform(30, 200)
        elif v == 3:
            sts = self.recent(t, 10 * DAY, None, r.randint(6, 15))
            iid = self.new_inc("role_permission", s.uid, "compliance officer opens %d studies' "
                               "images" % len(sts))
            self.session_views(s, iid, t, 0, pool, studies=sts, gap=(40, 200), query=0.5)
        elif v == 4:
            sts = self.studies_for(s, t, r.randint(3, 8))
            iid = self.new_inc("role_permission", s.uid, "student edits/annotates %d studies and "
                               "deletes one" % len(sts))
            for j, st in enumerate(sts):
                self.add(s, t, "view", st, -1, pool)
                act = "edit" if j % 2 == 0 else "annotate"
                self.add(s, t + r.uniform(20, 90), act, st, -1, pool, inc=iid,
                         detail={"change": "report_text"} if act == "edit" else None)
                t += r.uniform(60, 240)
            self.add(s, t, "delete", sts[0], -1, pool, inc=iid)
        elif v == 5:
            sts = self.recent(t, 7 * DAY, lambda st: st.kind == "outpt", r.randint(10, 20))
            iid = self.new_inc("role_permission", s.uid, "front-desk scheduler opens %d studies' "
                               "images" % len(sts))
            self.session_views(s, iid, t, 0, pool, studies=sts, gap=(40, 200), query=0.6)
        else:
            tgt = r.choice([x for x in self.staff if x.kind == "telerad" and x is not s])
            iid = self.new_inc("role_permission", s.uid, "teleradiologist changes permissions of "
                               "a colleague")
            self.add(s, t, "permission_change", None, -1, pool, inc=iid, mfa=True,
                     target={"id": tgt.uid, "roles": ["teleradiologist", "system_administrator"]},
                     detail={"operation": "grant", "permission": "role:system_administrator"})

    def inc_missing_mfa(self, i):
        r = self.r
        v = i % 6
        if v in (0, 1):
            s = self.pick_admin()
            d, sh = self.zone_shift(s)
            if sh is None:
                raise _Skip("no shift")
            t = sh[0] + r.uniform(1, 6) * HOUR
            if v == 0:
                tgt = r.choice(self.free(lambda x: x.kind in ("clin", "inpt"), allow_reserved=True))
                iid = self.new_inc("missing_mfa", s.uid, "admin changes permissions on site "
                                   "without MFA")
                self.add(s, t, "permission_change", None, -1, sh[3], inc=iid, sess=iid, mfa=False,
                         target={"id": tgt.uid, "roles": tgt.roles},
                         detail={"operation": "grant", "permission": "role:" + tgt.roles[0],
                                 "change_ticket": self.tk()})
            else:
                t = d * DAY + r.uniform(19, 22) * HOUR
                iid = self.new_inc("missing_mfa", s.uid, "admin makes ticketed config changes "
                                   "remotely without MFA")
                for k in range(r.randint(1, 3)):
                    self.add(s, t, "config_change", None, -1, "home:" + s.uid, inc=iid, sess=iid,
                             mfa=False, detail={"setting": "routing.rule.reload", "old_value": "v1",
                                                "new_value": "v2", "change_ticket": self.tk()})
                    t += r.uniform(60, 400)
        elif v == 2:
            s = self.take(self.free(lambda s: s.kind == "rad" and s.oncall and any(
                sh[4] == "oncall" and sh[2] == "remote" for l in s.shifts.values() for sh in l)))
            d = self.zday(lambda d: self.workday(d) and d in s.shifts)
            t = d * DAY + r.uniform(19, 21) * HOUR
            iid = self.new_inc("missing_mfa", s.uid, "radiologist reads from home (VPN) without MFA")
            self.session_views(s, iid, t, r.randint(8, 20), "home:" + s.uid, mfa=False)
        elif v == 3:
            s = self.take_pref(lambda s: s.kind == "research",
                               lambda s: "teaching_exporter" in s.flags)
            d, sh = self.zone_shift(s)
            t = sh[0] + r.uniform(1, 5) * HOUR
            sts = self.studies_for(s, t, r.randint(10, 20), back=30 * DAY)
            dest = DEST["DEID_GW"] if s.kind == "research" else DEST["TEACHING"]
            iid = self.new_inc("missing_mfa", s.uid, "export of %d studies to the usual node "
                               "without MFA step-up" % len(sts))
            self.export_burst(s, iid, t, sts, sh[3], dest, (10, 40), mfa=False)
        elif v == 4:
            s = self.take(self.free(lambda s: s.kind == "sched" and "film" in s.flags))
            d, sh = self.zone_shift(s)
            t = sh[0] + r.uniform(1, 5) * HOUR
            sts = self.studies_for(s, t, r.randint(2, 4))
            iid = self.new_inc("missing_mfa", s.uid, "film library CD export without MFA step-up")
            self.export_burst(s, iid, t, sts, sh[3], DEST["CD_FILM"], (30, 90), mfa=False)
        else:
            s = self.take(self.free(lambda s: s.kind == "telerad" and not s.temp))
            d = self.zday(lambda d: d in s.shifts and d < self.D - 1)
            sh = s.shifts[d][0]
            t = sh[0] + r.uniform(0.5, 3) * HOUR
            sts = self.recent(t, 2 * DAY, lambda st: st.urgent, r.randint(10, 25))
            iid = self.new_inc("missing_mfa", s.uid, "teleradiologist remote session without MFA")
            self.session_views(s, iid, t, 0, "trad", studies=sts, mfa=False, annotate=0.3, query=0)

    def inc_inactive_user(self, i):
        r = self.r
        planned = self.plan_actors.get("inactive_user", [])
        if i < len(planned):
            s = planned[i]
            d = self.zday(lambda d: d > s.end_day and self.wd(d) < 5)
            if d is None:
                raise _Skip("no day")
            v = i % 4
            pool, host = self.usual_host(s)
            t = d * DAY + r.uniform(9, 16) * HOUR
            if v == 0:
                iid = self.new_inc("inactive_user", s.uid, "%s account used on site %d days after "
                                   "end_date" % (s.status, d - s.end_day))
                self.session_views(s, iid, t, r.randint(6, 20), pool, host=host, mfa=False)
            elif v == 1:
                t = d * DAY + r.uniform(19, 22) * HOUR
                iid = self.new_inc("inactive_user", s.uid, "%s account used remotely (VPN) after "
                                   "end_date" % s.status)
                self.session_views(s, iid, t, r.randint(10, 30), "home:" + s.uid, mfa=True)
            elif v == 2:
                iid = self.new_inc("inactive_user", s.uid, "%s account logs in and queries/opens "
                                   "patients" % s.status)
                self.session_views(s, iid, t, r.randint(5, 12), pool, host=host, query=1.0)
            else:
                hst = host
                for k in range(2):
                    self.raw.append((t - 90 + k * 20, s.uid, "login_failed", -1, -1, hst, None, None,
                                     None))
                iid = self.new_inc("inactive_user", s.uid, "%s account: failed logins then success "
                                   "and views" % s.status)
                self.session_views(s, iid, t, r.randint(5, 12), pool, host=host)
                # the two failed attempts belong to the incident as well
                self.raw[-2] = self.raw[-2][:8] + ({"inc": iid},)
                self.raw[-1] = self.raw[-1][:8] + ({"inc": iid},)
            return
        # unknown accounts that are not on the roster
        v = i % 2
        d = self.zday(lambda d: self.wd(d) < 5)
        if v == 0:
            s = self.unknown_account("pacs_test%d" % r.randint(1, 9), "PACS Test", ["system_administrator"],
                                     "imaging_informatics")
            t = d * DAY + r.uniform(10, 16) * HOUR
            host = self.any_host("adm")
            iid = self.new_inc("inactive_user", s.uid, "unknown account (not on roster) used from an "
                               "admin workstation: views and CD export")
            t = self.session_views(s, iid, t, r.randint(6, 12), "adm", host=host, mfa=True)
            sts = self.recent(t, 10 * DAY, None, r.randint(3, 6))
            f = {"inc": iid, "sess": iid + ":%d" % int(t - 1), "host": host, "mfa": True}
            for st in sts:
                t += r.uniform(20, 60)
                self.add(s, t, "export", st, -1, "adm", dest=DEST["CD_FD"], **f)
        else:
            base = r.choice([x for x in self.staff if x.kind == "rad"])
            s = self.unknown_account(base.uid + "_old", base.name, ["radiologist"], base.dept)
            t = d * DAY + r.uniform(18, 22) * HOUR
            iid = self.new_inc("inactive_user", s.uid, "unknown account resembling a real user "
                               "(%s) logs in remotely and opens studies" % base.uid)
            sts = self.recent(t, 5 * DAY, None, r.randint(10, 20))
            self.session_views(s, iid, t, 0, "home:" + s.uid, studies=sts, mfa=True)

    def inc_dormant_account(self, i):
        r = self.r
        planned = self.plan_actors.get("dormant_account", [])
        if i >= len(planned):
            raise _Skip("no planned actor")
        s = planned[i]
        v = i % 6
        lo = max(self.Z0, s.last_day + 22)
        d = self.zday(lambda d: d >= lo and (self.wd(d) < 5 or v == 5))
        if d is None:
            raise _Skip("window too short for dormancy")
        gap = d - s.last_day
        pool, host = self.usual_host(s)
        if v == 0:
            t = d * DAY + r.uniform(20, 22) * HOUR
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused from a remote host "
                               "never seen for this user" % gap)
            self.session_views(s, iid, t, r.randint(10, 25), "home:" + s.uid, mfa=True)
        elif v == 1:
            t = d * DAY + r.uniform(1.5, 3.5) * HOUR
            h = self.any_host("ed")
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused at night from an "
                               "ED workstation" % gap)
            sts = self.recent(t, 10 * DAY, None, r.randint(10, 20))
            self.session_views(s, iid, t, 0, "ed", host=h, studies=sts, mfa=False)
        elif v == 2:
            t = d * DAY + r.uniform(10, 15) * HOUR
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused on usual host to "
                               "export studies to CD" % gap)
            sts = self.recent(t, 20 * DAY, None, r.randint(8, 15))
            t = self.session_views(s, iid, t, 0, pool, host=host, studies=sts[:4], mfa=True)
            f = {"inc": iid, "sess": iid + ":%d" % int(t - 1), "host": host, "mfa": True}
            for st in sts:
                t += r.uniform(20, 80)
                self.add(s, t, "export", st, -1, pool, dest=DEST["CD_FD"], **f)
        elif v == 3:
            t = d * DAY + r.uniform(18, 23) * HOUR
            h = self.ext_host()
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused from an unknown "
                               "external IP, patient look-ups across departments" % gap)
            sts = self.recent(t, 15 * DAY, None, r.randint(30, 45))
            self.session_views(s, iid, t, 0, "home:" + s.uid, host=h, studies=sts, mfa=True,
                               query=1.0, gap=(20, 80))
        elif v == 4:
            t = d * DAY + r.uniform(9, 16) * HOUR
            npool = r.choice([k for k in self.pools if k.startswith("clin:") and k != pool])
            h = [x for x in self.pools[npool] if x["location"] == "north-clinic"] or self.pools[npool]
            h = r.choice(h)
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused in office hours "
                               "from another department's PC, other departments' patients" % gap)
            sts = self.recent(t, 10 * DAY, lambda st: st.odept != s.dept, r.randint(12, 25))
            self.session_views(s, iid, t, 0, npool, host=h, studies=sts, mfa=False)
        else:
            d = self.zday(lambda d: d >= lo and self.wd(d) >= 5)
            if d is None:
                raise _Skip("no weekend")
            t = d * DAY + r.uniform(10, 20) * HOUR
            iid = self.new_inc("dormant_account", s.uid, "silent %d days, reused on a weekend from "
                               "home" % (d - s.last_day))
            self.session_views(s, iid, t, r.randint(10, 20), "home:" + s.uid, mfa=True)

    def inc_failed_login_burst(self, i):
        r = self.r
        v = i % 6
        if v == 2:
            s = self.pick_admin()
        else:
            s = self.take(self.free(lambda s: s.kind in ("rad", "tech", "clin", "inpt", "sched",
                                                         "ed", "telerad")))
        d = self.zday()
        pool, host = self.usual_host(s)
        spec = {0: (r.randint(15, 30), 4, host, True, "failed logins from the usual workstation, "
                                                     "then success"),
                1: (r.randint(25, 60), 5, self.ext_host(), False, "failed logins from an external "
                                                                  "IP, no success"),
                2: (r.randint(20, 30), 6, self.ext_host(), True, "admin account: failed logins from"
                                                                 " an external IP, then success"),
                3: (r.randint(10, 12), 8, self.any_host(r.choice([k for k in self.pools if
                                                                 k.startswith("ward:")])), False,
                    "moderate: failed logins from a ward PC, no success"),
                4: (r.randint(35, 45), 10, self.any_host(r.choice([k for k in self.pools if
                                                                  k.startswith("rr:")])), True,
                    "failed logins from a reading-room PC the user never uses, then success"),
                5: (r.randint(12, 20), 4, self.ext_host(), False, "failed logins at night from an "
                                                                  "external IP")}[v]
        nf, mins, h, success, what = spec
        t = d * DAY + (r.uniform(2, 4) if v == 5 else r.uniform(8, 20)) * HOUR
        iid = self.new_inc("failed_login_burst", s.uid, "%d %s" % (nf, what))
        for k in range(nf):
            self.raw.append((t, s.uid, "login_failed", -1, -1, h, None, None, {"inc": iid}))
            t += mins * MIN / nf * r.uniform(0.5, 1.5)
        if success:
            sid = "s-%08x" % r.getrandbits(32)
            mfa = True if (h["remote"] or s.kind == "admin") else False
            self.raw.append((t + 3, s.uid, "login", -1, -1, h, mfa, sid, {"inc": iid}))
            tt = t + 30
            # the session opened by the guessed password is part of the incident
            for st in self.studies_for(s, t, r.randint(2, 6)):
                self.raw.append((tt, s.uid, "view", st.i, st.pat, h, mfa, sid, {"inc": iid}))
                tt += r.uniform(30, 120)
            self.raw.append((tt + 60, s.uid, "logout", -1, -1, h, mfa, sid, {"inc": iid}))

    def inc_password_spray(self, i):
        r = self.r
        v = i % 6
        roster = [s for s in self.staff if s.in_roster]
        if v == 0:
            h = self.any_host(r.choice([k for k in self.pools if k.startswith("clin:")]))
            users = r.sample(roster, r.randint(30, 50))
            per, mins, what = 1, r.uniform(4, 8), "internal clinic PC tries %d accounts"
        elif v == 1:
            h = self.ext_host()
            users = r.sample(roster, r.randint(40, 60))
            per, mins, what = 1, r.uniform(2, 4), "external IP tries %d account names " \
                                                  "(incl. non-existent)"
        elif v == 2:
            h = self.any_host(r.choice([k for k in self.pools if k.startswith("ward:")]))
            users = r.sample(roster, r.randint(20, 25))
            per, mins, what = 2, r.uniform(15, 20), "slow spray from a ward PC, %d accounts x2"
        elif v == 3:
            h = self.ext_host()
            users = r.sample(roster, r.randint(25, 40))
            per, mins, what = 1, r.uniform(3, 6), "external IP sprays %d accounts, one succeeds"
        elif v == 4:
            h = self.any_host(r.choice([k for k in self.pools if k.startswith("rr:")]))
            users = r.sample(roster, r.randint(25, 30))
            per, mins, what = 1, r.uniform(5, 10), "reading-room PC at night tries %d accounts"
        else:
            h = self.ext_host()
            h["location"] = "remote-vpn"
            users = r.sample(roster, r.randint(30, 35))
            per, mins, what = 1, r.uniform(8, 12), "VPN address tries %d accounts over ~10 min"
        names = [s.uid for s in users]
        if v == 1:
            names += ["admin", "administrator", "pacs", "radiology", "test", "guest", "support",
                      "dicom", "root", "service"]
            r.shuffle(names)
        d = self.zday()
        t = d * DAY + (r.uniform(0.5, 4) if v == 4 else r.uniform(7, 23)) * HOUR
        iid = self.new_inc("password_spray", None, what % len(names), client=h["ip"],
                           client_host=h["host"])
        for rep in range(per):
            for u in names:
                self.raw.append((t, u, "login_failed", -1, -1, h, None, None, {"inc": iid}))
                t += mins * MIN / (len(names) * per) * r.uniform(0.3, 1.7)
        if v == 3:
            u = names[-1]
            self.raw.append((t + 5, u, "login", -1, -1, h, True, "s-%08x" % r.getrandbits(32),
                             {"inc": iid}))

    def inc_grant_then_export(self, i):
        r = self.r
        v = i % 6
        adm = self.pick_admin()
        kind = {0: "clin", 1: "tech", 2: "admin", 3: "student", 4: "inpt", 5: "sched"}[v]
        if v == 2:
            s = adm = self.pick_admin()
        else:
            s = self.take(self.free(lambda s: s.kind == kind and (kind != "student" or
                                                                 (s.end_day or 0) > self.D)))
        if s is None:
            raise _Skip("no grantee")
        d, sh = self.zone_shift(s, None, min_hours=5)
        if sh is None:
            raise _Skip("no shift")
        tg = sh[0] + r.uniform(0.3, 2) * HOUR
        perm = "system_administrator" if v == 1 else "export"
        roles = list(s.roles) + (["system_administrator"] if v == 1 else [])
        ticket = self.tk() if v == 4 else None
        det = {"operation": "grant", "permission": perm}
        if ticket:
            det["change_ticket"] = ticket
        apool = "adm"
        ahost = None
        if v == 1:
            tg = d * DAY + r.uniform(6.5, 7.5) * HOUR   # granted early morning from home
            apool = "home:" + adm.uid
        gid = "INC-grant_then_export-%02d" % (sum(1 for x in self.incidents
                                                  if x["type"] == "grant_then_export") + 1)
        dests = {0: {"type": "dicom_node", "id": "EXT_AE_%04d" % r.randint(0, 9999), "external": True},
                 1: DEST["CD_FD"], 2: {"type": "cloud", "id": "onedrive:/pacs-%d" % r.randint(1, 99),
                                       "external": True},
                 3: {"type": "media", "id": "USB-SANDISK-%06d" % r.randint(0, 999999),
                     "external": False},
                 4: {"type": "email", "id": "%s.%s@outlook.com" % (s.given.lower(), s.surname.lower()),
                     "external": True},
                 5: {"type": "cloud", "id": "dropbox:/scans-%d" % r.randint(1, 99), "external": True}}
        ne = {0: r.randint(15, 40), 1: r.randint(40, 80), 2: r.randint(25, 35), 3: r.randint(8, 15),
              4: r.randint(8, 12), 5: r.randint(15, 25)}[v]
        what = {0: "admin grants export to a clinic physician, who exports %d studies to a new "
                   "external node ~2h later",
                1: "admin grants system_administrator to a technologist from home early morning; the "
                   "technologist exports %d studies to CD",
                2: "admin self-grants export and exports %d studies to a cloud drive",
                3: "admin grants export to a student, who writes %d studies to USB within 1h",
                4: "ticketed-looking grant of export to a ward physician; %d studies e-mailed ~4h "
                   "later",
                5: "admin grants export to a front-desk scheduler, who uploads %d studies to "
                   "Dropbox"}[v] % ne
        iid = self.new_inc("grant_then_export", s.uid, what, granted_by=adm.uid)
        assert iid == gid
        self.add(adm, tg, "permission_change", None, -1, apool, inc=iid, sess=iid + ":g", mfa=True,
                 target={"id": s.uid, "roles": roles}, detail=det)
        delay = {0: 2, 1: 2.5, 2: 0.2, 3: 1, 4: 4, 5: 2}[v] * HOUR * r.uniform(0.7, 1.2)
        te = max(tg + delay, sh[0] + 10 * MIN)
        te = min(te, sh[1] - 40 * MIN)
        sts = self.studies_for(s, te, ne, back=25 * DAY)
        self.export_burst(s, iid, te, sts, sh[3], dests[v], (15, 60), mfa=True, sess=True)

    def inc_config_change(self, i):
        r = self.r
        v = i % 6
        s = self.pick_admin()
        d, sh = self.zone_shift(s)
        if sh is None:
            raise _Skip("no shift")
        pool, host = self.usual_host(s)
        spec = {
            0: ([("audit.enabled", "true", "false")], d * DAY + r.uniform(23.3, 23.8) * HOUR,
                "audit logging disabled late evening, no ticket"),
            1: ([("retention.min_years", "10", "1")], sh[0] + r.uniform(2, 6) * HOUR,
                "study retention shortened from 10 years to 1, no ticket"),
            2: ([("deid.gateway.DEID_GW.profile", "basic_profile", "none")],
                sh[0] + r.uniform(2, 6) * HOUR, "de-identification profile disabled on research "
                                                "gateway, no ticket"),
            3: ([("routing.forward.add", "", "ALL_CT->EXT_CLOUD_AE"),
                 ("dicom.remote_ae.add", "", "EXT_CLOUD_AE@185.%d.%d.%d:104" % (
                     r.randint(1, 254), r.randint(1, 254), r.randint(1, 254)))],
                None, "auto-forward of all CT to a new external AE added on a Sunday, no ticket"),
            4: ([("auth.mfa.required_for_export", "true", "false")], sh[0] + r.uniform(1, 7) * HOUR,
                "MFA requirement for exports switched off, no ticket"),
            5: ([("audit.syslog.target", "10.20.5.15:6514", "185.%d.%d.%d:514" % (
                r.randint(1, 254), r.randint(1, 254), r.randint(1, 254))),
                 ("audit.level", "full", "minimal")], None,
                "audit syslog redirected to an external host and audit level reduced at night"),
        }[v]
        changes, t, what = spec
        p = pool
        h = host
        if v == 3:
            dd = self.zday(lambda d: self.wd(d) == 6)
            t = dd * DAY + r.uniform(10, 18) * HOUR
            p = "home:" + s.uid
            h = None
        elif v == 5:
            t = self.zday() * DAY + r.uniform(1, 4) * HOUR
            p = "home:" + s.uid
            h = None
        iid = self.new_inc("config_change", s.uid, what)
        for k, o, n in changes:
            f = dict(inc=iid, sess=iid, mfa=True,
                     detail={"setting": k, "old_value": o, "new_value": n})
            if h:
                f["host"] = h
            self.add(s, t, "config_change", None, -1, p, **f)
            t += r.uniform(30, 240)

    def watch_target(self, group, avoid):
        r = self.r
        c = [p for p in group if p.studies]
        r.shuffle(c)
        hi = (self.D - 5) * DAY
        c.sort(key=lambda p: (max(self.studies[si].t for si in p.studies) > hi,
                              -max(self.studies[si].t for si in p.studies)))
        for p in c:
            if p.i in self.used_watch:
                continue
            self.used_watch.add(p.i)
            return p
        return c[0] if c else None

    def inc_watchlist_patient(self, i):
        r = self.r
        if not hasattr(self, "used_watch"):
            self.used_watch = set()
        v = i % 6
        group = {0: self.vips, 1: self.vips, 2: self.restricted, 3: self.employees, 4: self.vips,
                 5: self.employees}[v]
        p = self.watch_target(group, None)
        care = self.care.get(p.i, set())
        last_t = max(self.studies[si].t for si in p.studies)
        kind = {0: "tech", 1: "sched", 2: "clin", 3: "rad", 4: "student", 5: "clin"}[v]

        def ok(s):
            if s.uid in care or s.kind != kind:
                return False
            if v == 0:
                mods = set(self.studies[si].mod for si in p.studies)
                return s.mod not in mods
            if v == 2:
                depts = set(self.studies[si].odept for si in p.studies)
                return s.dept not in depts
            if v == 3:
                return p.emp is not None and self.by_uid[p.emp].dept == s.dept and s.uid != p.emp
            if v == 4:
                return (s.end_day or 0) > self.D
            if v == 5:
                return s.evening_remote and s.uid != p.emp
            return True
        s = self.take(self.free(ok))
        if s is None and v == 3:
            s = self.take(self.free(lambda s: s.kind == "rad" and s.uid not in care
                                    and s.uid != p.emp))
        if s is None and v == 5:
            s = self.take(self.free(lambda s: s.kind == "clin" and s.uid not in care
                                    and s.uid != p.emp))
        if s is None:
            raise _Skip("no actor")
        start = max(self.Z0 * DAY, last_t + HOUR)
        d0 = int(start // DAY)
        if d0 > self.D - 2:
            d0 = self.Z0
        cat = p.cat
        if v == 5:
            days = [d for d in range(d0, self.D) if self.workday(d)]
            if not days:
                raise _Skip("no day")
            d = r.choice(days[:5])
            t = d * DAY + r.uniform(19.5, 22) * HOUR
            pool, mfa = "home:" + s.uid, True
            iid = self.new_inc("watchlist_patient", s.uid, "clinic physician opens a co-worker's "
                               "(employee patient) images from home, no care relation",
                               patient_id=p.mrn)
            f = {"inc": iid, "sess": iid, "mfa": True}
        else:
            days = [d for d in range(d0, self.D) if self.work_shift(s, d)] or \
                [d for d in range(self.Z0, self.D) if self.work_shift(s, d)]
            if not days:
                raise _Skip("no day")
            d = r.choice(days[:4])
            sh = self.work_shift(s, d)
            t = r.uniform(sh[0] + 30 * MIN, sh[1] - 40 * MIN)
            pool = sh[3]
            iid = self.new_inc("watchlist_patient", s.uid, {
                0: "technologist of another modality opens a VIP patient's studies",
                1: "front-desk scheduler looks up and opens a VIP patient's images",
                2: "physician of an unrelated department opens a restricted patient's studies",
                3: "radiologist opens a departmental colleague's (employee patient) studies",
                4: "student opens a VIP patient's studies"}[v], patient_id=p.mrn)
            f = {"inc": iid}
        sts = sorted((self.studies[si] for si in p.studies if self.studies[si].t < t - 30 * MIN),
                     key=lambda x: -x.t)[:r.randint(2, 4)]
        if not sts:
            raise _Skip("no study before access")
        self.add(s, t, "query", None, p.i, pool, **f)
        for st in sts:
            t += r.uniform(20, 120)
            self.add(s, t, "view", st, -1, pool, **f)

    def inc_self_access(self, i):
        r = self.r
        v = i % 6
        kinds = ("rad", "resident", "tech", "clin", "inpt", "ed")

        def ok(s):
            return s.kind in kinds and s.uid in self.emp_patients and \
                s.uid not in self.care.get(self.emp_patients[s.uid].i, set())
        s = self.take(self.free(ok))
        if s is None:
            s = self.take(self.free(lambda s: s.kind in kinds and s.uid in self.emp_patients))
        if s is None:
            raise _Skip("no employee-patient actor")
        p = self.emp_patients[s.uid]
        sts = sorted((self.studies[si] for si in p.studies), key=lambda x: -x.t)
        last_t = sts[0].t
        tags = None
        days = [d for d in range(max(self.Z0, int(last_t // DAY) + 1), self.D)
                if self.work_shift(s, d)]
        if not days:
            days = [d for d in range(self.Z0, self.D) if self.work_shift(s, d)]
        if not days:
            raise _Skip("no day")
        d = r.choice(days[:6])
        sh = self.work_shift(s, d)
        t = r.uniform(sh[0] + 20 * MIN, sh[1] - 40 * MIN)
        pool = sh[3]
        what = {0: "views own latest study during shift",
                1: "searches own name and opens own prior studies",
                2: "views and prints own study",
                3: "exports own study to the front-desk CD burner",
                4: "views own studies from home",
                5: "views own studies on two consecutive working days"}[v]
        iid = self.new_inc("self_access", s.uid, what, patient_id=p.mrn)
        f = {"inc": iid}
        if v == 0:
            self.add(s, t, "view", sts[0], -1, pool, **f)
        elif v == 1:
            self.add(s, t, "query", None, p.i, pool, **f)
            for st in sts[:r.randint(3, 5)]:
                t += r.uniform(20, 90)
                self.add(s, t, "view", st, -1, pool, **f)
        elif v == 2:
            self.add(s, t, "view", sts[0], -1, pool, **f)
            self.add(s, t + 60, "print", sts[0], -1, pool, dest={"type": "printer",
                                                                 "id": r.choice(PRINTERS),
                                                                 "external": False}, **f)
        elif v == 3:
            self.add(s, t, "view", sts[0], -1, pool, **f)
            self.add(s, t + 90, "export", sts[0], -1, pool, dest=DEST["CD_FD"], mfa=True,
                     sess=iid, **{"inc": iid})
        elif v == 4:
            t = d * DAY + r.uniform(20, 22) * HOUR
            f.update(sess=iid, mfa=True)
            self.add(s, t, "query", None, p.i, "home:" + s.uid, **f)
            for st in sts[:3]:
                t += r.uniform(20, 90)
                self.add(s, t, "view", st, -1, "home:" + s.uid, **f)
        else:
            self.add(s, t, "view", sts[0], -1, pool, **f)
            d2 = [x for x in days if x > d]
            if d2:
                sh2 = self.work_shift(s, d2[0])
                t2 = r.uniform(sh2[0] + 20 * MIN, sh2[1] - 40 * MIN)
                for st in sts[:2]:
                    self.add(s, t2, "view", st, -1, sh2[3], **f)
                    t2 += r.uniform(30, 90)

    def inc_same_surname(self, i):
        r = self.r
        v = i % 6
        actors = [self.by_uid[u] for u in sorted(self.family_of)]
        if i >= len(actors):
            raise _Skip("no family actor")
        s = actors[i]
        p = self.family_of[s.uid]
        care = self.care.get(p.i, set())
        if s.uid in care:
            sys.stderr.write("note: same_surname actor %s is in care team; still injected\n" % s.uid)
        sts = sorted((self.studies[si] for si in p.studies), key=lambda x: -x.t)
        win = [st for st in sts if st.t >= 0]
        t0 = max(win[0].t if win else self.Z0 * DAY, self.Z0 * DAY) + r.uniform(0.5, 3) * HOUR
        what = {0: "views a same-surname relative's ED/outpatient images from home that evening",
                1: "opens a same-surname relative's latest study during own shift",
                2: "opens a same-surname relative's study within an hour of acquisition",
                3: "searches the same-surname relative and opens current + prior studies",
                4: "views and prints a same-surname relative's study",
                5: "opens a same-surname relative's studies on two different days"}[v]
        iid = self.new_inc("same_surname", s.uid, what, patient_id=p.mrn,
                           patient_name=p.name)
        f = {"inc": iid}
        if v == 0:
            d = int(t0 // DAY)
            t = max(t0, d * DAY + 20 * HOUR)
            if t >= self.D * DAY - HOUR:
                t = t0
            f.update(sess=iid, mfa=True)
            self.add(s, t, "query", None, p.i, "home:" + s.uid, **f)
            for st in sts[:2]:
                t += r.uniform(30, 90)
                self.add(s, t, "view", st, -1, "home:" + s.uid, **f)
            return
        days = [d for d in range(int(t0 // DAY), self.D) if self.work_shift(s, d)]
        if not days:
            days = [d for d in range(self.Z0, self.D) if self.work_shift(s, d)]
        d = days[0]
        sh = self.work_shift(s, d)
        t = max(t0, sh[0] + 10 * MIN)
        if t > sh[1] - 20 * MIN:
            t = r.uniform(sh[0] + 10 * MIN, sh[1] - 30 * MIN)
        pool = sh[3]
        if v in (1, 2):
            self.add(s, t, "view", sts[0], -1, pool, **f)
        elif v == 3:
            self.add(s, t, "query", None, p.i, pool, **f)
            for st in sts[:3]:
                t += r.uniform(20, 90)
                self.add(s, t, "view", st, -1, pool, **f)
        elif v == 4:
            self.add(s, t, "view", sts[0], -1, pool, **f)
            self.add(s, t + 60, "print", sts[0], -1, pool,
                     dest={"type": "printer", "id": r.choice(PRINTERS), "external": False}, **f)
        else:
            self.add(s, t, "view", sts[0], -1, pool, **f)
            if len(days) > 1:
                sh2 = self.work_shift(s, days[1])
                t2 = r.uniform(sh2[0] + 20 * MIN, sh2[1] - 40 * MIN)
                for st in sts[:2]:
                    self.add(s, t2, "view", st, -1, sh2[3], **f)
                    t2 += r.uniform(30, 90)

    def inc_break_glass(self, i):
        r = self.r
        v = i % 6
        group = {0: self.restricted, 1: self.vips, 2: self.employees, 3: self.vips,
                 4: self.restricted, 5: self.vips}[v]
        p = self.watch_target(group, None)
        care = self.care.get(p.i, set())
        kind = {0: "telerad", 1: "sched", 2: "clin", 3: "tech", 4: "inpt", 5: "student"}[v]
        s = self.take(self.free(lambda s: s.kind == kind and s.uid not in care and s.uid != p.emp
                                and (kind != "student" or (s.end_day or 0) > self.D)))
        if s is None:
            raise _Skip("no actor")
        if kind == "telerad":
            d = self.zday(lambda d: d in s.shifts and d < self.D - 1)
            sh = s.shifts[d][0]
            t = sh[0] + r.uniform(3, 5) * HOUR
            pool = "trad"
        else:
            d, sh = self.zone_shift(s)
            if sh is None:
                raise _Skip("no shift")
            t = r.uniform(sh[0] + 30 * MIN, sh[1] - 60 * MIN)
            pool = sh[3]
        reason = {0: "emergency", 1: "", 2: "urgent clinical review", 3: "", 4: "covering colleague",
                  5: "teaching"}[v]
        sts = sorted((self.studies[si] for si in p.studies if self.studies[si].t < t - 30 * MIN),
                     key=lambda x: -x.t)[:r.randint(2, 6)]
        if not sts:
            raise _Skip("no study before access")
        who = {"telerad": "teleradiologist", "sched": "front-desk scheduler",
               "clin": "clinic physician", "tech": "technologist", "inpt": "ward physician",
               "student": "student"}[kind]
        iid = self.new_inc("break_glass", s.uid, "%s uses emergency override on a %s patient "
                           "(reason: %s) and opens %d studies" % (who, p.cat, reason or "none",
                                                                  len(sts)), patient_id=p.mrn)
        self.add(s, t, "emergency_access", sts[0], -1, pool, inc=iid,
                 detail={"reason": reason} if reason else {})
        for st in sts:
            t += r.uniform(20, 120)
            self.add(s, t, "view", st, -1, pool, inc=iid)

    def inc_expired_role(self, i):
        r = self.r
        planned = self.plan_actors.get("expired_role", [])
        if i >= len(planned):
            raise _Skip("no planned actor")
        s = planned[i]
        lo = max(self.Z0, s.end_day + 1)
        if s.kind == "telerad":
            d = self.zday(lambda d: d >= lo and d < self.D - 1 and (d + s.off) % 7 < 4)
            if d is None:
                d = self.zday(lambda d: d >= lo and d < self.D - 1)
            t = d * DAY + r.uniform(22.2, 23) * HOUR
            iid = self.new_inc("expired_role", s.uid, "locum teleradiologist reads remotely %d days"
                               " after contract end_date" % (d - s.end_day))
            sts = self.recent(t, DAY, lambda st: st.urgent, r.randint(15, 30))
            self.session_views(s, iid, t, 0, "trad", studies=sts, mfa=True, annotate=0.35, query=0)
            return
        d = self.zday(lambda d: d >= lo and self.workday(d))
        if d is None:
            raise _Skip("no day")
        pool = self.main_pool(s)
        t = d * DAY + r.uniform(9, 13) * HOUR
        if s.kind == "student" and i % 2 == 1:
            iid = self.new_inc("expired_role", s.uid, "student (temporary access) views from home %d "
                               "days after end_date" % (d - s.end_day))
            self.session_views(s, iid, d * DAY + r.uniform(19, 21) * HOUR, r.randint(8, 20),
                               "home:" + s.uid, mfa=True)
            return
        n = {"student": r.randint(10, 25), "tech": r.randint(10, 20), "rad": r.randint(20, 40)}.get(
            s.kind, 12)
        who = {"student": "student", "tech": "locum technologist",
               "rad": "visiting-fellow radiologist"}.get(s.kind, s.roles[0])
        iid = self.new_inc("expired_role", s.uid, "%s with fixed-term access keeps working %d days "
                           "after end_date" % (who, d - s.end_day))
        t = self.session_views(s, iid, t, n, pool, mfa=False, annotate=0.3 if s.kind == "rad" else 0)
        if s.kind == "student" and i % 3 == 0:
            d2 = self.zday(lambda x: x > d and self.workday(x))
            if d2:
                self.session_views(s, iid, d2 * DAY + r.uniform(9, 14) * HOUR, r.randint(5, 12),
                                   pool, mfa=False)

    # ------------------------------------------------------------------ sessions & output
    def sessionize(self):
        r = self.r
        STEPUP = {"export", "permission_change", "config_change", "delete", "archive"}
        recs = list(self.raw)
        app = recs.append
        for s in self.staff:
            if not s.items:
                continue
            items = sorted(s.items, key=lambda x: x[0])
            uid = s.uid
            sess = []

            def close(pool, skey, its):
                f0 = its[0][5] or {}
                host = f0.get("host") or self.host_for(s, pool)
                if "mfa" in f0:
                    mfa = f0["mfa"]
                else:
                    mfa = host["remote"] or s.kind == "admin" or any(it[1] in STEPUP for it in its)
                sid = "s-%08x" % r.getrandbits(32)
                incs = set((it[5] or {}).get("inc") for it in its)
                tag = {"inc": incs.pop()} if (len(incs) == 1 and None not in incs) else None
                first, last = its[0][0], its[-1][0]
                if its[0][1] != "login":
                    tl = first - r.uniform(2, 60)
                    if skey is None:
                        x = r.random()
                        nf = 1 if x < 0.025 else (r.randint(3, 5) if x < 0.029 else 0)
                        tf = tl
                        for _ in range(nf):
                            tf -= r.uniform(8, 40)
                            app((tf, uid, "login_failed", -1, -1, host, None, None, None))
                    app((tl, uid, "login", -1, -1, host, mfa, sid, tag))
                for it in its:
                    app((it[0], uid, it[1], it[2], it[3], host, mfa, sid, it[5]))
                if tag is not None or r.random() < 0.85:
                    app((last + r.uniform(5, 240), uid, "logout", -1, -1, host, mfa, sid, tag))

            cur_pool = cur_key = None
            cur = []
            last_t = -1e18
            for it in items:
                f = it[5]
                skey = f.get("sess") if f else None
                if (not cur or it[4] != cur_pool or skey != cur_key or
                        it[0] - last_t > (3 * HOUR if skey else 40 * MIN) or
                        (skey is None and r.random() < 0.003)):
                    if cur:
                        close(cur_pool, cur_key, cur)
                    cur, cur_pool, cur_key = [], it[4], skey
                cur.append(it)
                last_t = it[0]
            if cur:
                close(cur_pool, cur_key, cur)
        return recs

    def emit(self, out):
        r = self.r
        t0 = time.time()
        recs = self.sessionize()
        lo, hi = 0.0, self.D * DAY
        recs = [x for x in recs if lo <= x[0] < hi]
        keys = [x[0] + (r.uniform(1, 120) if r.random() < 0.005 else 0.0) for x in recs]
        order = sorted(range(len(recs)), key=keys.__getitem__)
        salt = r.getrandbits(40)
        mask = (1 << 40) - 1
        labels_ev = defaultdict(list)
        studies, patients, by_uid = self.studies, self.patients, self.by_uid
        fmt = self.fmt
        n_out = 0
        counts = defaultdict(int)
        user_days = set()
        with open(os.path.join(out, "events.jsonl"), "wb") as fo:
            buf = []
            for n, idx in enumerate(order):
                t, uid, act, si, pi, host, mfa, sid, f = recs[idx]
                eid = "pm-%010x" % ((n * 0x9E3779B97 + salt) & mask)
                s = by_uid.get(uid)
                outcome = "success"
                if act == "login_failed":
                    user = {"id": uid}
                    outcome = "minor_failure"
                else:
                    user = {"id": uid}
                    if s is not None:
                        if s.name:
                            user["name"] = s.name
                        user["roles"] = s.roles
                        if s.dept:
                            user["department"] = s.dept
                    user["mfa"] = bool(mfa)
                    user["session_id"] = sid
                ev = {"schema_version": 1, "event_id": eid, "event_time": fmt(t),
                      "source": "pacs-webviewer" if host["remote"] else "pacs-main",
                      "action": act, "outcome": outcome, "user": user, "client": host}
                if si >= 0:
                    st = studies[si]
                    ev["patient"] = patients[st.pat].dct
                    ev["study"] = st.dct
                elif pi >= 0:
                    ev["patient"] = patients[pi].dct
                inc = None
                if f:
                    inc = f.get("inc")
                    if "dest" in f:
                        ev["destination"] = f["dest"]
                    if "target" in f:
                        ev["target_user"] = f["target"]
                    if f.get("detail") is not None:
                        ev["detail"] = f["detail"]
                    if "outcome" in f:
                        ev["outcome"] = f["outcome"]
                if act == "login_failed":
                    ev["detail"] = {"reason": "invalid_password" if s is not None and s.in_roster
                                    else "unknown_user"}
                elif inc is None:
                    if act == "export" and r.random() < 0.005:
                        ev["outcome"] = "serious_failure"
                    elif act == "view" and r.random() < 0.001:
                        ev["outcome"] = "minor_failure"
                if act in ("export", "print", "share") and "destination" not in ev:
                    ev["destination"] = DEST["PORTAL"]
                if inc:
                    labels_ev[inc].append((t, eid))
                counts[act] += 1
                buf.append(dumps(ev))
                if len(buf) >= 20000:
                    fo.write(b"\n".join(buf) + b"\n")
                    buf = []
                n_out += 1
            if buf:
                fo.write(b"\n".join(buf) + b"\n")
        self.stats["events"] = n_out
        self.stats["events_by_action"] = dict(sorted(counts.items()))
        self.stats["emit_seconds"] = round(time.time() - t0, 1)
        # labels
        with open(os.path.join(out, "labels.jsonl"), "w") as fl:
            kept = []
            for inc in self.incidents:
                evs = sorted(labels_ev.get(inc["incident_id"], []))
                if not evs:
                    sys.stderr.write("WARNING: incident %s has no events, dropped\n"
                                     % inc["incident_id"])
                    continue
                rec = {"incident_id": inc["incident_id"], "type": inc["type"],
                       "user_id": inc["user_id"], "event_ids": [e for _, e in evs],
                       "start": fmt(evs[0][0]), "end": fmt(evs[-1][0]), "variant": inc["variant"]}
                s = self.by_uid.get(inc["user_id"]) if inc["user_id"] else None
                if s is not None:
                    rec["user_roles"] = s.roles
                    rec["user_department"] = s.dept
                    rec["user_in_roster"] = s.in_roster
                for k, v in inc.items():
                    if k not in rec and k not in ("incident_id",):
                        rec[k] = v
                rec["n_events"] = len(evs)
                kept.append(rec)
                fl.write(json.dumps(rec) + "\n")
        self.kept = kept

    def date_of(self, d):
        return (self.start + dt.timedelta(days=d)).isoformat()

    def write_context(self, out):
        with open(os.path.join(out, "roster.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["user_id", "name", "roles", "department", "status", "end_date"])
            for s in sorted((s for s in self.staff if s.in_roster), key=lambda s: s.uid):
                end = self.date_of(s.end_day) if s.end_day is not None else ""
                w.writerow([s.uid, s.name, ";".join(s.roles), s.dept, s.status, end])
        with open(os.path.join(out, "watchlist.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["patient_id", "category", "employee_user_id"])
            for row in sorted(self.watch):
                w.writerow(row)

    def write_meta(self, out, elapsed):
        a = self.a
        by_type = defaultdict(int)
        for x in self.kept:
            by_type[x["type"]] += 1
        look = {
            "long_leave_returners": sorted(s.uid for s in self.staff if "long_leave" in s.flags),
            "permanent_shift_changes": {s.uid: [self.date_of(s.shift_change[0]), s.shift_change[1]]
                                        for s in self.staff if s.shift_change},
            "legit_leavers_terminated": sorted(s.uid for s in self.staff if "leaver" in s.flags),
            "legit_suspended": sorted(s.uid for s in self.staff if "suspended" in s.flags),
            "maintenance_windows": [[self.date_of(d), u] for d, u in self.maint],
            "research_coordinators": sorted(s.uid for s in self.staff if s.kind == "research"),
            "teleradiologists": sorted(s.uid for s in self.staff if s.kind == "telerad"),
            "residents_rotating": sorted(s.uid for s in self.staff if s.kind == "resident"),
            "part_time": sorted(s.uid for s in self.staff if s.part_time),
            "new_starters": sorted(s.uid for s in self.staff if "new_starter" in s.flags),
            "vip_patients": [p.mrn for p in self.vips],
            "restricted_patients": [p.mrn for p in self.restricted],
        }
        meta = {
            "generator": "generate.py (patient-journey design)",
            "seed": a.seed, "users": a.users, "days": a.days, "tz_hours": a.tz,
            "utc_offset": self.OFF, "start": a.start, "end_exclusive": self.date_of(self.D),
            "incident_zone_start": self.date_of(self.Z0), "per_type": a.per_type,
            "types": self.types, "holidays": [self.date_of(d) for d in sorted(self.holidays)],
            "staff_counts": self.counts, "roster_rows": sum(1 for s in self.staff if s.in_roster),
            "patients": len(self.patients),
            "studies_in_window": sum(1 for s in self.studies if s.t >= 0),
            "incidents_by_type": dict(sorted(by_type.items())),
            "stats": self.stats, "teleradiology_location": self.trad_city,
            "legit_lookalikes": look, "generation_seconds": round(elapsed, 1),
            "conventions": {
                "login_failed": "outcome minor_failure, user object carries only id",
                "temporary_accounts": "status active with end_date = contract end (roster)",
                "permission_change": "target_user.roles = roles after the change; detail.operation "
                                     "grant|revoke, detail.permission, detail.change_ticket",
                "config_change": "detail.setting/old_value/new_value/change_ticket",
                "mfa": "user.mfa is per session (step-up at session start)",
            },
        }
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--days", type=int, required=True)
    ap.add_argument("--tz", type=float, default=0.0, help="UTC offset in hours of the site")
    ap.add_argument("--start", default="2026-01-05")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-type", type=int, default=6)
    ap.add_argument("--incidents-from", type=float, default=0.6,
                    help="incidents start at this fraction of the window (0.6: its last 40 %%; "
                         "lower puts them where the baselines are young)")
    ap.add_argument("--types", default=",".join(ALL_TYPES))
    a = ap.parse_args(argv)
    if a.days < 42:
        sys.stderr.write("warning: dormant_account needs >= 42 days; fewer days may skip it\n")
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a)
    g.types = [x for x in a.types.split(",") if x]
    g.trad_city = "sydney" if a.tz >= 0 else "bangalore"
    steps = [("calendar", g.cal), ("staff", g.make_staff), ("plan", g.plan),
             ("schedules", g.schedules), ("hosts", g.make_hosts), ("journeys", g.journeys),
             ("special_patients", g.special_patients), ("family", g.plan_family),
             ("reads", g.reads), ("referrer_views", g.referrer_views),
             ("legit_extras", g.legit_extras), ("care", g.care_relations), ("inject", g.inject)]
    for name, fn in steps:
        ts = time.time()
        fn()
        sys.stderr.write("%-18s %6.1fs\n" % (name, time.time() - ts))
    g.emit(a.out)
    g.write_context(a.out)
    el = time.time() - t0
    g.write_meta(a.out, el)
    sys.stderr.write("done: %d events, %d incidents, %.1fs -> %s\n"
                     % (g.stats["events"], len(g.kept), el, a.out))


if __name__ == "__main__":
    main()
