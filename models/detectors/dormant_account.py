"""Dormant account reactivated: first event after a long silence."""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import DAY


class DormantAccount(Detector):
    name = "dormant_account"

    def evaluate(self, ctx: dict) -> list[dict]:
        gap = ctx["gap_ms"] / DAY
        days = self.params["days"]
        if gap < days or ctx["action"] == "login_failed":
            return []
        score = min(0.6 + 0.4 * (gap - days) / (3 * days), 1.0)
        summary = f"{ctx['user_id']} is active again after {gap:.0f} days without any activity"
        return [self.hit(score, summary, [item("days_since_last_seen", gap, days, "rule")])]
