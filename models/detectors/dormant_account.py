"""Dormant account reactivated: the first successful activity after a long silence of the account,
measured from the user's own last successful activity (failed logins do not count). A user this
engine has never seen is not judged: new hires and people back from leave would all look dormant.

A silence is judged in three steps (thresholds and their reasons in detectors.yaml):
  * shorter than `days`: never (a week or two of leave with its weekends);
  * `long_days` or more: always (well beyond any annual leave);
  * in between, only when the silence is improbable for this account's own rhythm: with `n` active
    days out of the `w` days the account could be observed (from its first activity, or from the
    start of this engine's observation if earlier: a user silent since we started watching was
    silent), the chance of `g` more silent days under a flat prior on its daily activity rate
    (Laplace) is prod_{i<g} (w - n + 1 + i) / (w + 2 + i); it must be below `p_max`. Part-time
    consultants, students on rotation and schedulers seen on a day or two come back after weeks;
    an account used daily does not. Then, because a real leave interrupts an established rhythm
    (two or three weeks off happen to every full-time employee every year), the return must
    also show either
      - a short history: the silence is at least `history_ratio` times as long as everything the
        account did before it (an account used for a few days and then left for weeks: the
        orphaned accounts of rotations, locums and tests that attackers reuse), or
      - a sign that whoever returns is not the usual user: a client host or IP the account never
        used, remote access by an account never used remotely, no MFA for an account that always
        had it, or an hour of day the user does not work (own share <= `odd_hour_share`).
    Without either, the return is still reported, at `quiet_severity` (low) and a lower score: a
    leave and a reused account of an established user look the same in the audit trail.
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import DAY


def silence_chance(active: float, observed: float, gap_days: float) -> float:
    """Chance that an account active on `active` of `observed` days stays silent `gap_days` more
    days, with a flat prior on its daily activity rate (rule of succession)."""
    n = min(max(active, 0.0), observed)
    p = 1.0
    for i in range(int(gap_days)):
        p *= (observed - n + 1 + i) / (observed + 2 + i)
        if p < 1e-12:
            break
    return p


class DormantAccount(Detector):
    name = "dormant_account"

    def signs(self, ctx: dict) -> list[str]:
        """What in the returning event says it may not be the usual user."""
        out = []
        if ctx.get("new_host"):
            out.append("a client host or IP never used by the account")
        client, user = ctx.get("client") or {}, ctx.get("user") or {}
        if client.get("remote") is True and not ctx.get("seen_remote"):
            out.append("remote access, never used by the account before")
        if user.get("mfa") is False and not ctx.get("seen_no_mfa"):
            out.append("no MFA, which the account always had")
        own = ctx["features"].get("hour_activity_self", -1.0)
        if 0 <= own <= self.params["odd_hour_share"]:
            out.append("an hour of day the user does not work")
        return out

    def evaluate(self, ctx: dict) -> list[dict]:
        gap = ctx["gap_ms"] / DAY
        p = self.params
        days = p["days"]
        if gap < days or ctx["action"] == "login_failed":
            return []
        st = ctx["state"]
        last = st.ok_ms - ctx["gap_ms"]  # last activity before the silence
        why = ""
        if gap < p["long_days"]:
            start = min(st.first_ms or last, ctx.get("obs_start") or last)
            observed = (last - start) / DAY + 1.0
            active = max(st.n_days, st.ddays)  # closed active days (those without alerts)
            chance = silence_chance(active, observed, gap)
            if chance > p["p_max"]:
                return []  # the account's own rhythm explains the silence
            span = (last - (st.first_ms or last)) / DAY + 1.0
            if gap >= p["history_ratio"] * span:
                why = f"; before it the account was active for only {span:.0f} days"
            else:
                signs = self.signs(ctx)
                if not signs:
                    # an established user back, as they always work: most often a leave, but a
                    # reused account looks the same from the logs, so it is reported at the
                    # `quiet_severity` (triage queue, no page) rather than dropped
                    score = min(0.4 + 0.2 * (gap - days) / (3 * days), 0.6)
                    summary = (f"{ctx['user_id']} is active again after {gap:.0f} days without any "
                               "activity, from a known client at their usual hours (a return from "
                               "leave looks like this; check with the roster or HR)")
                    return [self.hit(score, summary, [item("days_since_last_seen", gap, days, "rule")],
                                     severity=p.get("quiet_severity", "low"))]
                why = "; it comes back with " + ", ".join(signs)
        score = min(0.6 + 0.4 * (gap - days) / (3 * days), 1.0)
        summary = f"{ctx['user_id']} is active again after {gap:.0f} days without any activity{why}"
        return [self.hit(score, summary, [item("days_since_last_seen", gap, days, "rule")])]
