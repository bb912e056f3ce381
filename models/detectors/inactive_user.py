"""Activity of a terminated or suspended user after the roster end_date (from the day after it;
no end_date: at once), or of a user not in the roster (only when a roster is loaded)."""

from __future__ import annotations

from models.detectors.base import Detector, item


class InactiveUser(Detector):
    name = "inactive_user"

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["action"] == "login_failed":
            return []  # rejected attempts are the login detectors' business
        row = ctx["roster"]
        if row is None:
            if not ctx["roster_loaded"]:
                return []
            summary = f"{ctx['user_id']} is not in the staff roster but performed '{ctx['action']}'"
            return [self.hit(0.85, summary, [item("roster_status", 0, 1, "rule")],
                             self.params.get("unknown_severity"))]
        status = row["status"]
        if status == "active" or (row["end_ms"] is not None and ctx["ms"] < row["end_ms"]):
            return []  # still employed until the end of end_date
        summary = f"{ctx['user_id']} is {status} in the roster but performed '{ctx['action']}'"
        return [self.hit(1.0, summary, [item("roster_status", 0, 1, "rule")])]
