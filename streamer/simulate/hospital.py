"""A synthetic hospital, built deterministically from a seed: departments, staff, hosts, patients,
studies, the roster and the watchlist.

Hospital local time is UTC in the simulation: shift hours below are UTC hours.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

DEPARTMENTS = ("neuroradiology", "body imaging", "emergency radiology", "cardiology", "oncology",
               "orthopaedics", "pediatrics", "IT", "compliance")
IMAGING = DEPARTMENTS[:7]            # departments that own studies
READING = DEPARTMENTS[:3] + ("cardiology", "pediatrics")   # where radiologists sit
CLINICAL = ("emergency radiology", "cardiology", "oncology", "orthopaedics", "pediatrics")

ROLES = ("radiologist", "technologist", "referring_physician", "system_administrator",
         "compliance_officer", "teleradiologist", "student", "scheduler")
ROLE_SHARE = {"radiologist": 0.20, "technologist": 0.25, "referring_physician": 0.25,
              "system_administrator": 0.03, "compliance_officer": 0.02, "teleradiologist": 0.05,
              "student": 0.08, "scheduler": 0.12}

MODALITIES = {
    "neuroradiology": ("MR", "MR", "CT"), "body imaging": ("CT", "CT", "MR", "US"),
    "emergency radiology": ("CR", "CT", "DX", "CT"), "cardiology": ("XA", "US", "MR"),
    "oncology": ("PT", "CT", "MR"), "orthopaedics": ("CR", "DX", "MR"), "pediatrics": ("CR", "US", "MR"),
}
# modality -> (min instances, max instances, bytes per instance)
MODALITY_SIZE = {"MR": (150, 1500, 262_144), "CT": (100, 1800, 525_312), "CR": (1, 4, 9_437_184),
                 "DX": (1, 4, 12_582_912), "US": (20, 90, 786_432), "XA": (40, 400, 1_048_576),
                 "PT": (200, 700, 131_072)}

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
         "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony "
         "Betty Mark Sandra Paul Ashley Steven Emily Andrew Donna Joshua Michelle Kevin Carol Brian "
         "Amanda Omar Fatima Wei Mei Raj Priya Ahmed Leila Kenji Yuki Lars Ingrid Pierre Claire Diego "
         "Lucia Ivan Olga Kwame Ama Sven Astrid Tomas Elena Mateo Sofia Hugo Chloe Arjun Ananya").split()
SURNAMES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
            "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
            "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
            "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
            "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
            "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
            "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
            "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
            "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
            "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
            "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
            "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
            "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt "
            "Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer "
            "Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant "
            "Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight "
            "Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado "
            "Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence "
            "Sandoval Okafor Mensah Haddad Nakamura Sato Larsen Dubois Novak Ivanova Kowalski Rossi").split()

# Export destinations every department knows (legitimate, seen before the simulation starts).
KNOWN_DESTINATIONS = {
    "neuroradiology": (("dicom_node", "NEURO_CONF_AE", False), ("media", "CD_BURNER_NEURO", False),
                       ("dicom_node", "UNIV_NEURO_AE", True)),
    "body imaging": (("dicom_node", "TUMOR_BOARD_AE", False), ("media", "CD_BURNER_MAIN", False),
                     ("dicom_node", "REGIONAL_HOSP_AE", True)),
    "emergency radiology": (("dicom_node", "TRAUMA_CENTER_AE", True), ("media", "CD_BURNER_ER", False)),
    "cardiology": (("dicom_node", "CARDIO_PACS_AE", False), ("dicom_node", "HEART_INST_AE", True)),
    "pediatrics": (("dicom_node", "CHILDRENS_HOSP_AE", True), ("media", "CD_BURNER_MAIN", False)),
}
ROGUE_DESTINATIONS = (("cloud", "dropbox.com/s/x7q2", True), ("email", "gmail.com", True),
                      ("web", "wetransfer.com", True), ("dicom_node", "UNKNOWN_AE_4471", True),
                      ("media", "USB_REMOVABLE", True), ("cloud", "drive.google.com", True))
UNKNOWN_USER_IDS = ("admin", "pacsadmin", "test01", "tmp_user", "svc_export", "guest", "radadmin",
                    "olduser1", "scanner", "support")


@dataclass(slots=True)
class User:
    """One member of staff as the PACS and the roster know them."""
    index: int
    id: str
    first: str
    surname: str
    role: str
    department: str
    shift: str                      # day, evening, night
    weekend_rate: float             # chance of working a given weekend day
    mfa_habit: float                # chance an on-campus session uses MFA
    hosts: tuple                    # ((host, ip), ...) usual workstations
    remote: bool = False            # works from outside the network (teleradiology)
    destinations: tuple = ()        # usual export destinations
    status: str = "active"
    end_date: date | None = None
    temporary: bool = False
    active_from: int = 0            # first simulation day with normal activity
    active_until: int = 10**6       # first simulation day without normal activity
    silent: tuple = ()              # (from_day, until_day) ranges without normal activity
    vacation: tuple = ()            # (from_day, until_day)
    on_call: bool = False

    @property
    def name(self) -> str:
        return f"{self.first} {self.surname}"

    @property
    def roles(self) -> list:
        return [self.role]


@dataclass(slots=True)
class Study:
    """A study with its shared event sub-dicts (`patient`, `study`), built once."""
    patient: dict
    study: dict
    patient_index: int
    department: str


@dataclass
class Hospital:
    """Everything the traffic generator draws from. Build with `build_hospital(seed, users, ...)`."""
    seed: int
    start_ms: int
    days: int
    users: list
    by_role: dict
    by_dept_role: dict
    patients: list                  # [(patient dict, surname, employee_user_id|None, category|None)]
    studies_by_patient: dict        # patient index -> [Study]
    prior_studies: dict             # department -> [Study] (history before the simulation)
    watchlist: list                 # [(patient_id, category, employee_user_id)]
    roster_only: list = field(default_factory=list)   # users with no activity (left, suspended, dormant)
    patient_dept: dict = field(default_factory=dict)  # watchlist patient index -> its one department
    next_study: int = 0

    def day_of(self, ms: int) -> int:
        return (ms - self.start_ms) // DAY_MS

    def date_of_day(self, day: int) -> date:
        return (datetime.fromtimestamp(self.start_ms / 1000, tz=timezone.utc) + timedelta(days=day)).date()

    def weekday(self, day: int) -> int:
        return self.date_of_day(day).weekday()

    def new_study(self, rng: random.Random, department: str, patient_index: int | None = None) -> Study:
        """A new study acquired in `department` (for a random or given patient)."""
        if patient_index is None:
            patient_index = rng.randrange(len(self.patients))
        pat, _surname, _emp, category = self.patients[patient_index]
        modality = rng.choice(MODALITIES[department])
        lo, hi, per = MODALITY_SIZE[modality]
        instances = rng.randint(lo, hi)
        self.next_study += 1
        n = self.next_study
        study = {"uid": f"1.2.826.0.1.3680043.10.{self.seed % 10000}.{n}", "accession": f"A{n:08d}",
                 "modality": modality, "department": department,
                 "sensitivity": category if category in ("vip", "restricted") else "normal",
                 "instances": instances, "bytes": instances * per}
        s = Study(pat, study, patient_index, department)
        self.studies_by_patient.setdefault(patient_index, []).append(s)
        return s


def _user_id(first: str, surname: str, taken: set) -> str:
    base = (first[0] + surname).lower()
    uid, n = base, 1
    while uid in taken:
        n += 1
        uid = f"{base}{n}"
    taken.add(uid)
    return uid


def _hosts(rng: random.Random, dept: str, n: int = 2) -> tuple:
    d = DEPARTMENTS.index(dept)
    tag = dept.split()[0][:5].lower()
    return tuple((f"{tag}-ws-{k:02d}", f"10.{10 + d}.{k // 250}.{k % 250 + 2}")
                 for k in (rng.randrange(1, 40) for _ in range(n)))


def _role_plan(users: int) -> list:
    """Roles for `users` staff, in ROLE_SHARE proportions, every role present at least once."""
    counts = {r: max(1, int(users * share)) for r, share in ROLE_SHARE.items()}
    order = sorted(ROLE_SHARE, key=ROLE_SHARE.get, reverse=True)
    i = 0
    while sum(counts.values()) < users:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts.values()) > users and max(counts.values()) > 1:
        counts[max(order, key=counts.get)] -= 1
    return [r for r in ROLES for _ in range(counts[r])]


def _department(rng: random.Random, role: str) -> str:
    if role in ("radiologist",):
        return rng.choices(READING, weights=(4, 5, 4, 1, 1))[0]
    if role == "teleradiologist":
        return rng.choice(READING[:3])
    if role == "technologist":
        return rng.choices(IMAGING, weights=(3, 4, 4, 2, 2, 2, 2))[0]
    if role in ("referring_physician", "scheduler", "student"):
        return rng.choice(CLINICAL + (("neuroradiology", "body imaging") if role == "student" else ()))
    return "IT" if role == "system_administrator" else "compliance"


def _shift(rng: random.Random, role: str, dept: str) -> str:
    if role == "teleradiologist":
        return "night" if rng.random() < 0.8 else "evening"
    if role == "technologist":
        return rng.choices(("day", "evening", "night"), weights=(6, 2, 2))[0]
    if role == "radiologist" and dept == "emergency radiology":
        return rng.choices(("day", "evening", "night"), weights=(5, 3, 2))[0]
    if role == "radiologist":
        return "day" if rng.random() < 0.88 else "evening"
    return "day"


def build_hospital(seed: int, users: int, days: int, start: str = "2026-11-02") -> Hospital:
    """Build the hospital: `users` active staff plus a few roster-only accounts, patients, studies."""
    rng = random.Random(seed * 7919 + 17)
    start_dt = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    start_ms = int(start_dt.timestamp() * 1000)
    taken: set = set(UNKNOWN_USER_IDS)
    staff = []
    for i, role in enumerate(_role_plan(users)):
        first, surname = rng.choice(FIRST), rng.choice(SURNAMES)
        dept = _department(rng, role)
        shift = _shift(rng, role, dept)
        weekend = {"day": 0.12, "evening": 0.45, "night": 0.55}[shift]
        if role in ("student", "scheduler", "compliance_officer"):
            weekend = 0.0
        remote = role == "teleradiologist"
        if remote:
            hosts = ((f"telerad-{first[0].lower()}{surname.lower()}-laptop",
                      f"198.51.100.{rng.randrange(2, 250)}"),)
        else:
            hosts = _hosts(rng, dept, 1 if role in ("system_administrator", "compliance_officer") else 2)
        dests = ()
        if role == "radiologist" and dept in KNOWN_DESTINATIONS:
            known = KNOWN_DESTINATIONS[dept]
            dests = tuple(rng.sample(known, k=min(len(known), rng.randint(1, 2))))
        mfa = 1.0 if role == "system_administrator" else rng.choice((0.05, 0.3, 0.9, 1.0))
        u = User(i, _user_id(first, surname, taken), first, surname, role, dept, shift, weekend, mfa,
                 hosts, remote, dests)
        u.on_call = role == "radiologist" and shift == "day" and dept != "emergency radiology"
        staff.append(u)
    # normal life events: vacations, temporary roles that end, people who leave mid-way
    for u in staff:
        if days >= 7 and rng.random() < 0.10:
            a = rng.randrange(0, days - 3)
            u.vacation = (a, a + rng.randint(2, 4))
        if u.role in ("student", "teleradiologist") and rng.random() < 0.3:
            u.temporary = True
            u.end_date = (start_dt + timedelta(days=days + rng.randint(5, 120))).date()
    movers = [u for u in staff if u.role not in ("system_administrator", "compliance_officer")]
    for u in rng.sample(movers, k=max(1, len(movers) // 100)) if days >= 4 else ():
        end = rng.randrange(days // 2, days)
        u.active_until = end
        u.end_date = (start_dt + timedelta(days=end)).date()
        u.status = "active" if u.temporary else "terminated"
    # roster-only accounts: left before the start, suspended, dormant (on leave, stale)
    extra = []
    for status, n in (("terminated", max(2, users // 40)), ("suspended", max(1, users // 150)),
                      ("active", max(2, users // 50))):
        for _ in range(n):
            role = rng.choice(ROLES[:3] + ("student",))
            first, surname = rng.choice(FIRST), rng.choice(SURNAMES)
            dept = _department(rng, role)
            u = User(len(staff) + len(extra), _user_id(first, surname, taken), first, surname, role, dept,
                     "day", 0.1, 0.5, _hosts(rng, dept), status=status, active_until=-1)
            if status != "active":
                u.end_date = (start_dt - timedelta(days=rng.randint(3, 400))).date()
            extra.append(u)
    # patients: some of them members of staff, VIPs, restricted
    n_pat = max(2000, users * 20)
    patients = []
    for p in range(n_pat):
        first, surname = rng.choice(FIRST), rng.choice(SURNAMES)
        patients.append(({"id": f"MRN{1000000 + p * 7 + seed % 7:07d}", "name": f"{surname.upper()}^{first.upper()}"},
                         surname, None, None))
    watch, watch_idx = [], []
    for k in range(max(6, n_pat // 200)):
        p = rng.randrange(n_pat)
        pat, surname, _, _ = patients[p]
        if patients[p][3]:
            continue
        cat = ("vip", "restricted", "employee")[k % 3]
        emp = None
        if cat == "employee":
            u = rng.choice(staff)
            emp, surname = u.id, u.surname
            pat = {"id": pat["id"], "name": f"{u.surname.upper()}^{u.first.upper()}"}
        patients[p] = (pat, surname, emp, cat)
        watch.append((pat["id"], cat, emp or ""))
        watch_idx.append(p)
    h = Hospital(seed, start_ms, days, staff, {}, {}, patients, {}, {}, watch, extra)
    for u in staff:
        h.by_role.setdefault(u.role, []).append(u)
        h.by_dept_role.setdefault((u.department, u.role), []).append(u)
    # study history: every department has prior studies; watchlist patients keep to one department
    for dept in IMAGING:
        h.prior_studies[dept] = [h.new_study(rng, dept) for _ in range(150)]
    for p in watch_idx:
        dept = rng.choice(IMAGING)
        h.patient_dept[p] = dept
        for _ in range(rng.randint(1, 2)):
            h.prior_studies[dept].append(h.new_study(rng, dept, p))
    return h


def write_roster(h: Hospital, path: Path) -> None:
    """Roster CSV (contracts.md section 2): user_id,name,roles,department,status,end_date."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("user_id", "name", "roles", "department", "status", "end_date"))
        for u in h.users + h.roster_only:
            w.writerow((u.id, u.name, ";".join(u.roles), u.department, u.status,
                        u.end_date.isoformat() if u.end_date else ""))


def write_watchlist(h: Hospital, path: Path) -> None:
    """Watchlist CSV (contracts.md section 2): patient_id,category,employee_user_id."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("patient_id", "category", "employee_user_id"))
        for row in h.watchlist:
            w.writerow(row)
