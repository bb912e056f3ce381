"""Dormant account reactivated: the first successful activity after `days` of silence, measured
from the user's own last successful activity (failed logins do not count), and longer than
`typical_gaps` times the user's own average gap between active days (part-time consultants and
students on rotation come back after weeks; an account used daily does not). A user this engine
has never seen is not judged: new hires and people back from leave would all look dormant."""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import DAY


class DormantAccount(Detector):
    name = "dormant_account"

    def evaluate(self, ctx: dict) -> list[dict]:
        gap = ctx["gap_ms"] / DAY
        p = self.params
        days = p["days"]
        if gap < days or ctx["action"] == "login_failed":
            return []
        st = ctx["state"]
        active = st.n_days  # closed active days
        if active >= p["min_active_days"] and st.first_ms:
            span = (st.ok_ms - ctx["gap_ms"] - st.first_ms) / DAY  # tenure before this silence
            days = max(days, p["typical_gaps"] * span / active)
            if gap < days:
                return []
        score = min(0.6 + 0.4 * (gap - days) / (3 * days), 1.0)
        summary = f"{ctx['user_id']} is active again after {gap:.0f} days without any activity"
        return [self.hit(score, summary, [item("days_since_last_seen", gap, days, "rule")])]
