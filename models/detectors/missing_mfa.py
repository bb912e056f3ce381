"""Export, admin or permission change without MFA; remote access without MFA."""

from __future__ import annotations

from models.detectors.base import Detector, item


class MissingMfa(Detector):
    name = "missing_mfa"

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["user"].get("mfa") is not False or ctx["outcome"] != "success":
            return []
        action = ctx["action"]
        if action in ("login_failed", "logout"):
            return []
        if action in self.params["actions"]:
            what = f"'{action}'"
        elif ctx["client"].get("remote") is True:
            what = f"remote '{action}'"
        else:
            return []
        summary = f"{ctx['user_id']} performed {what} without multi-factor authentication"
        return [self.hit(0.8, summary, [item("mfa", 0, 1, "rule")])]
