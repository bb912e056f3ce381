"""Password spray: failed logins for many distinct users from one client.

Cross-user memory lives in ctx["shared"] (per process): with several workers each sees the
users of its own partitions, so the threshold is reached per worker. One spray is one incident
of its actor, the client (`user_id` "client:<address>"), not of its victims: one alert whichever
victim's failed login carries it, naming every failed login of the spray seen so far, and no risk
added to the victims.
"""

from __future__ import annotations

from models.detectors.base import Detector, item


class PasswordSpray(Detector):
    name = "password_spray"
    actions = frozenset(("login_failed", "login"))

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["action"] == "login" and ctx["outcome"] == "success":
            return []
        client = ctx["client"].get("ip") or ctx["client"].get("host")
        if not client:
            return []
        window = int(self.params["window_minutes"] * 60_000)
        n = ctx["shared"].note_failed(client, ctx["user_id"], ctx["ms"], window)
        _, ids = ctx["shared"].note_spray(client, ctx["ms"], ctx["event"].get("event_id") or "", window)
        limit = self.params["users"]
        if n < limit:
            return []
        summary = (f"client {client} failed to log in as {n} different users within "
                   f"{self.params['window_minutes']} min (latest {ctx['user_id']})")
        hit = self.hit(n / (n + limit), summary, [item("failed_login_users", n, limit, "rule")])
        hit["actor"] = f"client:{client}"
        hit["related_event_ids"] = list(ids)
        return [hit]
