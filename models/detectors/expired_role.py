"""A temporary role (roster end_date) used after its end date."""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import DAY


class ExpiredRole(Detector):
    name = "expired_role"

    def evaluate(self, ctx: dict) -> list[dict]:
        row = ctx["roster"]
        if not row or row["status"] != "active" or row["end_ms"] is None:
            return []
        if ctx["ms"] < row["end_ms"] or ctx["action"] == "login_failed":
            return []
        days = (ctx["ms"] - row["end_ms"]) / DAY
        summary = (f"{ctx['user_id']} used role {', '.join(row['roles']) or '?'} "
                   f"{days:.0f} days after it ended on {row['end_date']}")
        return [self.hit(0.9, summary, [item("days_after_end_date", days, 0, "rule")])]
