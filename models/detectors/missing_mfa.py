"""Export, admin or permission change without MFA; remote access without MFA.

Publishing a study inside the hospital (`inside_actions`, e.g. share to the clinicians' web
portal or an internal DICOM node: `destination.external` false and a type in `inside_types`)
keeps the data where it was and needs no step-up; exports to media, e-mail, cloud or any
external destination do."""

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
            dest = ctx.get("destination") or {}
            if action in self.params.get("inside_actions", ()) and dest.get("external") is False \
                    and dest.get("type") in self.params.get("inside_types", ()):
                return []
            what = f"'{action}'"
        elif ctx["client"].get("remote") is True:
            what = f"remote '{action}'"
        else:
            return []
        summary = f"{ctx['user_id']} performed {what} without multi-factor authentication"
        return [self.hit(0.8, summary, [item("mfa", 0, 1, "rule")])]
