"""Break-glass / emergency access: always reviewed."""

from __future__ import annotations

from models.detectors.base import Detector, item


class BreakGlass(Detector):
    name = "break_glass"

    def evaluate(self, ctx: dict) -> list[dict]:
        detail = ctx["event"].get("detail") or {}
        if ctx["action"] != "emergency_access" and detail.get("break_glass") is not True:
            return []
        reason = detail.get("reason")
        summary = f"{ctx['user_id']} used emergency (break-glass) access" + (
            f": {reason}" if reason else "" ) + (
            f" to patient {ctx['patient_id']}" if ctx["patient_id"] else "")
        return [self.hit(0.7, summary, [item("break_glass", 1, 0, "rule")])]
