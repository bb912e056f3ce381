"""Configuration change of the PACS without a change ticket in its detail."""

from __future__ import annotations

from models.detectors.base import Detector, item, names_ticket


class ConfigChange(Detector):
    name = "config_change"
    actions = frozenset(("config_change",))

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["outcome"] != "success":
            return []
        if names_ticket(ctx["event"], self.params.get("ticket_keys", ())):
            return []
        detail = ctx["event"].get("detail") or {}
        what = detail.get("setting") or detail.get("object") or "a setting"
        summary = f"{ctx['user_id']} changed PACS configuration ({what}) without a change ticket"
        return [self.hit(0.6, summary, [item("config_change", 1, 0, "rule")])]
