"""First-time export to an external destination or to a risky destination type."""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import EXPORT_ACTIONS


class ExportDestination(Detector):
    name = "export_destination"
    actions = EXPORT_ACTIONS

    def evaluate(self, ctx: dict) -> list[dict]:
        dest = ctx["destination"]
        if not dest or not ctx["new_destination"]:
            return []
        external = dest.get("external") is True
        kind = dest.get("type", "other")
        if not external and kind not in self.params["risky_types"]:
            return []
        score = 0.9 if external and kind in self.params["risky_types"] else 0.75
        severity = "high" if external and kind in self.params["risky_types"] else None
        where = f"external {kind}" if external else kind
        summary = (f"{ctx['user_id']} sent data to {where} destination {dest.get('id', '?')} "
                   f"for the first time")
        return [self.hit(score, summary, [item("new_destination", 1, 0, "self")], severity)]
