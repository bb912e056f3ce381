"""Permission change granting export or admin, followed by an export of the grantee.

The grant is remembered in ctx["shared"] (per process, keyed by the grantee) when a permission
change names a target user and its detail mentions export/admin (granting_words).
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import EXPORT_ACTIONS


class GrantThenExport(Detector):
    name = "grant_then_export"
    actions = EXPORT_ACTIONS | {"permission_change"}

    def evaluate(self, ctx: dict) -> list[dict]:
        p = self.params
        shared = ctx["shared"]
        if ctx["action"] == "permission_change":
            target = ctx["event"].get("target_user") or {}
            if ctx["outcome"] == "success" and target.get("id") and self._grants(ctx):
                shared.note_grant(target["id"], ctx["ms"], ctx["user_id"], ctx["event"]["event_id"])
            return []
        if ctx["outcome"] != "success":
            return []
        grant = shared.grant_for(ctx["user_id"])
        if not grant:
            return []
        ms, by, event_id = grant
        hours = (ctx["ms"] - ms) / 3_600_000
        if not 0 <= hours <= p["window_hours"]:
            return []
        summary = (f"{ctx['user_id']} exported data {hours:.1f} h after {by} granted them "
                   f"export/admin rights")
        hit = self.hit(0.95, summary, [item("hours_since_grant", hours, p["window_hours"], "rule")])
        hit["related_event_ids"] = [event_id]
        return [hit]

    def _grants(self, ctx: dict) -> bool:
        detail = str(ctx["event"].get("detail") or "").lower()
        return any(w in detail for w in self.params["granting_words"])
