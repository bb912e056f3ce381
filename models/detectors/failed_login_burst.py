"""Failed-login burst of one user."""

from __future__ import annotations

from models.detectors.base import Detector, item


class FailedLoginBurst(Detector):
    name = "failed_login_burst"
    actions = frozenset(("login_failed", "login"))

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["action"] == "login" and ctx["outcome"] == "success":
            return []
        n = ctx["features"]["failed_logins_1h"]
        limit = self.params["threshold_1h"]
        if n < limit:
            return []
        summary = f"{ctx['user_id']} had {n:.0f} failed logins in the last hour"
        return [self.hit(n / (n + limit), summary, [item("failed_logins_1h", n, limit, "rule")])]
