"""Export to an external or risky destination that neither the user nor their department uses.

A destination is the department's when `dept_users` other members of the department (or
`hospital_users` other users anywhere) have sent to it before: the first time a radiologist uses
the partner hospital's DICOM node the whole department sends to is not an alert. A risky type
(`risky_types`: e-mail, cloud, web) needs `risky_users` other users of the department, so one
colleague's leak does not make the channel usual. A device type (`device_types`: removable
media) is judged in a department that writes to such devices as a practice (`device_practice`
exports of that type before): there, a device is the hospital's when anyone else used it before.
The film library's CD burner is; a USB stick nobody in the hospital ever wrote to, instead of it,
is not. A department's first use of the medium at all (the oncology burner used once a quarter)
tells nothing. Until a department
has made `learn_exports` exports (or `learn_days` have passed since its first export: small
departments), its destination list is still being learned and only the risky types alert. Memory is in
ctx["shared"] (per process, see streamer/score/engine.py Shared).
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import EXPORT_ACTIONS


class ExportDestination(Detector):
    name = "export_destination"
    actions = EXPORT_ACTIONS

    def evaluate(self, ctx: dict) -> list[dict]:
        dest = ctx["destination"]
        if not dest or not dest.get("id") or ctx["outcome"] != "success":
            return []
        p = self.params
        external = dest.get("external") is True
        kind = dest.get("type", "other")
        # the hospital's own web portal (flagged internal) is not a risky channel; a web upload is
        risky = kind in p["risky_types"] and not (dest.get("external") is False
                                                  and kind in p.get("internal_safe_types", ()))
        device = kind in p.get("device_types", ()) and not external and not risky and \
            ctx["shared"].kind_exports(ctx["department"], kind) >= p.get("device_practice", 10)
        dept_users, all_users, dept_exports = ctx["shared"].note_destination(
            ctx["department"], str(dest["id"]), ctx["user_id"], ctx["ms"], kind)
        if not ctx["new_destination"] or not (external or risky or device):
            return []
        if risky:
            if dept_users >= p["risky_users"]:
                return []  # a channel the department really uses
        elif device:
            if all_users:
                return []  # a device of the hospital's (a department's CD burner)
        elif dept_users >= p["dept_users"] or all_users >= p["hospital_users"]:
            return []  # the department's (or the hospital's) usual destination
        if not risky and dept_exports < p["learn_exports"] \
                and ctx["ms"] - ctx["shared"].dept_first(ctx["department"], ctx["ms"]) < p["learn_days"] * 86_400_000:
            return []  # still learning what the department routinely sends where
        score = 0.9 if external and risky else 0.6 if device else 0.75
        severity = "high" if external and risky else None
        where = f"external {kind}" if external else kind
        summary = (f"{ctx['user_id']} sent data to {where} destination {dest['id']}, which neither "
                   f"they nor {ctx['department']} used before")
        if device:
            summary = (f"{ctx['user_id']} wrote data to {kind} device {dest['id']}, which nobody in the "
                       f"hospital used before")
            users = item("destination_users_hospital", all_users, 1, "peer")
        else:
            users = item("destination_users_department", dept_users,
                         p["risky_users"] if risky else p["dept_users"], "peer")
        return [self.hit(score, summary, [item("new_destination", 1, 0, "self"), users], severity)]
