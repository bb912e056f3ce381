"""Action outside the user's role permissions (role map as data, break-glass aware)."""

from __future__ import annotations

from models.detectors.base import Detector, item


class RolePermission(Detector):
    name = "role_permission"

    def evaluate(self, ctx: dict) -> list[dict]:
        perms = ctx["perms"]
        action = ctx["action"]
        needed = perms["actions"].get(action)
        if needed is None or ctx["outcome"] != "success":
            return []
        if action == "query" and not (ctx["patient_id"] or ctx["study"]):
            return []  # worklist / audit search, no patient data
        roles = ctx["roles"]
        if not roles:
            return []
        sets = perms["role_sets"]
        if any(needed in sets.get(r, ()) for r in roles):
            return []
        if action in perms["bg_actions"] and any(r in perms["bg_roles"] for r in roles):
            bg = ctx["state"].break_glass_ms
            if bg and 0 <= ctx["ms"] - bg <= perms["bg_window_ms"]:
                return []
        known = [r for r in roles if r in sets]
        if not known:
            return []  # unknown role names: nothing to judge against
        summary = (f"{ctx['user_id']} ({', '.join(roles)}) performed '{action}', which needs "
                   f"the '{needed}' permission their role does not have")
        return [self.hit(0.9, summary, [item(f"permission:{needed}", 1, 0, "rule")])]
