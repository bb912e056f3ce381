"""Action outside the user's role permissions (role map as data, break-glass aware).

A permission that `practice_users` other members of the user's group (role + department) have
used before is the group's practice (film-library staff with a scheduler's role importing outside
studies and burning CDs, research coordinators with a technologist's role exporting to the
de-identification gateway): the role map is behind the hospital's reality, which the access
review should settle, and one alert per user would bury the SOC. The first users of the group are
reported; an excursion of one user never becomes a practice. In a small group the roster lists
(`practice_share`), half of its other members are enough: both research coordinators of a
two-person group exporting is their practice after the first one's alert.

A deletion by a user whose role acquires studies (holds the import permission), of a study
they imported themselves at most `own_import_hours` before, as this process saw it, is the
acquisition's own quality control: the technologist rejecting a series they just acquired
(IHE IOCM, "rejected for quality reasons"). Someone else's study, or an old one, is judged."""

from __future__ import annotations

import math

from models.detectors.base import Detector, item
from models.features import HOUR


class RolePermission(Detector):
    name = "role_permission"

    def practice_needed(self, size: int) -> int:
        """Other users of the group who must have used the permission before it is the group's
        practice: `practice_users`, or in a group the roster lists with `size` members, at least
        `practice_share` of its other members if fewer (two research coordinators both export;
        never fewer than one)."""
        need = self.params.get("practice_users", 3)
        share = self.params.get("practice_share", 0.0)
        if share and size >= 2:
            need = min(need, max(1, math.ceil(share * (size - 1))))
        return need

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
        memo = perms.get("granted")  # (permission, roles) -> granted (load_rules makes it)
        key = (needed, roles if type(roles) is tuple else tuple(roles))
        granted = memo.get(key) if memo is not None else None
        if granted is None:
            granted = any(needed in sets.get(r, ()) for r in roles)
            if memo is not None and len(memo) < 4096:
                memo[key] = granted
        if granted:
            return []
        if action in perms["bg_actions"] and any(r in perms["bg_roles"] for r in roles):
            bg = ctx["state"].break_glass_ms
            if bg and 0 <= ctx["ms"] - bg <= perms["bg_window_ms"]:
                return []
        known = [r for r in roles if r in sets]
        if not known:
            return []  # unknown role names: nothing to judge against
        own = ctx.get("own_import_ms", -1)
        if action == "delete" and 0 <= own <= self.params.get("own_import_hours", 0) * HOUR \
                and any("import" in sets.get(r, ()) for r in roles):
            return []  # rejecting a series of the user's own fresh acquisition (docstring)
        others = ctx["shared"].note_practice(ctx["peer_group"], needed, ctx["user_id"])
        if others >= self.practice_needed(ctx.get("group_size", 0)):
            return []  # the group's practice (see the module docstring)
        summary = (f"{ctx['user_id']} ({', '.join(roles)}) performed '{action}', which needs "
                   f"the '{needed}' permission their role does not have")
        return [self.hit(0.9, summary, [item(f"permission:{needed}", 1, 0, "rule")])]
