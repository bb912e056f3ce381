"""Password spray: failed logins for many distinct users from one client, quickly (`users` within
`window_minutes`) or low and slow (`slow_users` within `slow_window_minutes`, a few at a time to
stay under lockout thresholds). Failed logins of one client with pauses under `gap_minutes`
between them are one spray; the slow count is of the users of the current spray.

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
        p = self.params
        ms = ctx["ms"]
        window = int(p["window_minutes"] * 60_000)
        slow = int(p.get("slow_window_minutes", 0) * 60_000)
        n = ctx["shared"].note_failed(client, ctx["user_id"], ms, window, slow)
        gap = max(window, int(p.get("gap_minutes", 0) * 60_000))
        start, ids = ctx["shared"].note_spray(client, ms, ctx["event"].get("event_id") or "", gap)
        # the users of this spray only: a failed login two hours after a reported burst is not a
        # slow spray made of the burst's users
        n_slow = ctx["shared"].failed_between(client, max(ms - slow, start), ms + slow) if slow > window else 0
        limit = p["users"]
        if n >= limit:
            summary = (f"client {client} failed to log in as {n} different users within "
                       f"{p['window_minutes']} min (latest {ctx['user_id']})")
            hit = self.hit(n / (n + limit), summary, [item("failed_login_users", n, limit, "rule")])
        elif slow > window and n_slow >= p["slow_users"]:
            limit = p["slow_users"]
            summary = (f"client {client} failed to log in as {n_slow} different users within "
                       f"{p['slow_window_minutes'] / 60:g} h, a few at a time (latest {ctx['user_id']})")
            hit = self.hit(n_slow / (n_slow + limit),
                           summary, [item("failed_login_users_slow", n_slow, limit, "rule")])
        else:
            return []
        hit["actor"] = f"client:{client}"
        hit["related_event_ids"] = list(ids)
        return [hit]
