"""Self access (own record, via the watchlist's employee_user_id) and same-surname access."""

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


class SelfAccess(Detector):
    name = "self_access"

    def evaluate(self, ctx: dict) -> list[dict]:
        pid = ctx["patient_id"]
        if not pid or ctx["outcome"] != "success":
            return []
        row = ctx["watch"]
        uid = ctx["user_id"]
        if row and row.get("employee_user_id") == uid:
            summary = f"{uid} opened their own medical record (patient {pid})"
            return [self.hit(1.0, summary, [item("self_access", 1, 0, "rule")])]
        pname = (ctx["event"].get("patient") or {}).get("name")
        uname = ctx["user"].get("name") or (ctx["roster"] or {}).get("name")
        if not pname or not uname:
            return []
        s = user_surname(uname)
        if len(s) < 2 or s != patient_surname(pname):
            return []
        summary = f"{uid} opened the record of patient {pid} who shares their surname {s.title()}"
        return [self.hit(self.params["surname_score"], summary,
                         [item("same_surname", 1, 0, "rule")], self.params["surname_severity"])]
