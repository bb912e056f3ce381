"""Self access (own record: the watchlist's employee_user_id, or the patient's full name is the
user's) and same-surname access without a care relation.

A shared surname alone is common (frequent surnames, families treated where they work): it is
reported only when nothing explains the access - the study is not of the user's department and
the user is not a reader for every department (teleradiology) - and only when the record is
opened (view, annotate, edit, export, share, print), not in a search result. Without a study
department there is nothing to judge it by and it is reported.

Only openings count, for the own record too: the user's own row in a worklist or a search result,
or the import of their study by the technologist on duty, is not an opening. A patient with the
user's full name is their own record wherever it is, unless the hospital's watchlist maps its
employees' records (employee_user_id) and does not map this one to the user: then it is a namesake
(common names repeat in a large hospital) and is judged like a shared surname.
How common the surname is among the hospital's patients decides what explains it: a common one
(more than `surname_rare_share` of the patients seen, at least `surname_rare_min`) is explained
by a care relation - the user's department's study, a study department the user already worked
on (where studies are filed under the reading section: ward physicians see body imaging), or a
care episode (a colleague worked on the patient or a study of theirs was imported within the care
window); a rare one is most likely
kin, and is reported even then. Rarity is judged once `surname_min_patients` patients have been
counted (before that every surname would look rare). A surname carried by `surname_common_share`
of the patients or more (a confident estimate, see `frequent`) is chance even outside care."""

from __future__ import annotations

from models.detectors.base import Detector, item


def user_surname(name: str) -> str:
    """'Jane Doe' -> 'DOE'; 'Doe, Jane' -> 'DOE'; 'DOE^JANE' -> 'DOE'."""
    name = name.strip()
    if "^" in name:
        return name.split("^", 1)[0].strip().upper()
    if "," in name:
        return name.split(",", 1)[0].strip().upper()
    parts = name.split()
    return parts[-1].upper() if parts else ""


def patient_surname(name: str) -> str:
    """DICOM PN 'DOE^JOHN' -> 'DOE'; free text like user_surname."""
    return user_surname(name)


def given_name(name: str) -> str:
    """'Jane Doe' -> 'JANE'; 'Doe, Jane' -> 'JANE'; 'DOE^JANE' -> 'JANE' (first given name)."""
    name = name.strip()
    if "^" in name:
        rest = name.split("^", 2)[1] if name.count("^") else ""
    elif "," in name:
        rest = name.split(",", 1)[1]
    else:
        rest = " ".join(name.split()[:-1])
    parts = rest.replace("^", " ").split()
    return parts[0].upper().rstrip(".") if parts else ""


_OPENING = frozenset(("view", "annotate", "edit", "export", "share", "print"))


class SelfAccess(Detector):
    name = "self_access"

    def _care_relation(self, ctx: dict) -> bool:
        dept = ctx["study"].get("department")
        return bool(dept) and (dept == ctx["department"] or any(
            r in self.params["any_department_roles"] for r in ctx["roles"]))

    def frequent(self, shared, surname: str) -> bool:
        """True when the surname is carried by at least `surname_common_share` of the patients
        counted, with `surname_common_z` standard errors to spare (so a few hundred patients
        already show that 7 % of them are Smiths, while a surname of 0.8 % never passes):
        sharing it with a patient outside any care relation is what chance gives."""
        share = self.params.get("surname_common_share")
        n = shared.named
        if not share or n < 100:
            return False
        f = shared.surname_patients(surname) / n
        return f - self.params.get("surname_common_z", 2.0) * (f * (1 - f) / n) ** 0.5 >= share

    def evaluate(self, ctx: dict) -> list[dict]:
        pid = ctx["patient_id"]
        if not pid or ctx["outcome"] != "success":
            return []
        row = ctx["watch"]
        uid = ctx["user_id"]
        opening = ctx["action"] in _OPENING
        if row and row.get("employee_user_id") == uid:
            if not opening and not self.params.get("own_record_any_action", False):
                return []  # their own row in a worklist or search result, an import: not an opening
            summary = f"{uid} opened their own medical record (patient {pid})"
            return [self.hit(1.0, summary, [item("self_access", 1, 0, "rule")])]
        pname = (ctx["event"].get("patient") or {}).get("name")
        uname = ctx["user"].get("name") or (ctx["roster"] or {}).get("name")
        if not pname or not uname:
            return []
        s = user_surname(uname)
        if len(s) < 2 or s != patient_surname(pname):
            return []
        if not opening:
            return []  # a search result or an import is not an opening of the record
        first = given_name(uname)
        same_name = len(first) >= 2 and first == given_name(pname)
        cared = self._care_relation(ctx)
        shared = ctx["shared"]
        rare = shared.named >= self.params.get("surname_min_patients", 10000) and \
            shared.surname_patients(s) <= max(self.params.get("surname_rare_min", 1),
                                              shared.named * self.params.get("surname_rare_share", 0.0))
        worked = bool(ctx["study"].get("department")) and not ctx["features"].get("new_department", 1.0)
        explained = cared or (not rare and (ctx.get("episode") or worked))
        if same_name and not (explained and ctx.get("employees_listed")):
            summary = f"{uid} opened the record of patient {pid}, whose name is their own"
            return [self.hit(0.9, summary, [item("same_name", 1, 0, "rule")])]
        if not rare and explained:
            return []  # a common surname in the user's care work: chance, not kinship
        if self.frequent(shared, s):
            return []  # a surname this frequent among the patients: chance, wherever it is
        summary = f"{uid} opened the record of patient {pid} who shares their surname {s.title()}"
        return [self.hit(self.params["surname_score"], summary,
                         [item("same_surname", 1, 0, "rule")], self.params["surname_severity"])]
