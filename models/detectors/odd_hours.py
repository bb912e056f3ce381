"""Odd hours: real activity at an hour of the day when this user does not work, and peers of the
same shift do not either.

Evidence, in order (the engine computes both features, see models/features.py):
  * own profile (hour_activity_self, once the user has `baseline.profile_min_days` active days):
    the share of the user's active days that included this hour (+-1 h);
  * peers (hour_activity_peer): the same share over the peer group's member-days of the user's
    shift class (day/evening/night); for a user without a profile, over all members of the group,
    so a new technologist at 03:00 is normal when the department has a night shift;
  * how often those peers as a group cover the hour (`peer_days`: share of calendar days on which
    one of them worked then), so the on-call nights day-shift radiologists take in turn are routine
    even though each of them works few (within 2 h: a rota's hours vary). Without
    `peer_min_days` calendar days of the group behind that share, nothing is judged. The rota
    explains the hour only while the user's own days are too few to show whether they take part:
    once they would have been expected to work `rota_expected` such nights (their active days x
    the rota's nights per member) and worked none, they are not on it.
  * for users of the evening or night class, the core hours of the group's day shift (`group_usual`)
    are the department's working day, not odd hours (a consultant classed "evening" by their home
    checks who also comes in at 10:00). A day-class user at night is judged as before.
A user without a profile whose group has too little history is not judged. Fires once the hour
holds `min_events` record accesses (views, exports, or distinct patients of queries and other
actions), not on a stray login.
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import C_EXP, C_PAT, C_VIEW, SHIFT_CLASSES


class OddHours(Detector):
    name = "odd_hours"

    def group_usual(self, ctx: dict) -> bool:
        """True when the hour (+-1 h) is within the core hours of the group's day shift: its share
        of the day-class member-days is at least `group_usual` x that of the day shift's busiest
        hour. Only for users of the evening and night classes: daytime, when the department is
        fully staffed, is not odd for them; a day-class user at night is still judged."""
        if ctx["hour_class"] not in (1, 2):
            return False
        gp = ctx.get("group_peer")
        n = gp.ddays[0] if gp is not None else 0
        if n < self.params.get("group_min_days", 60):
            return False
        row, h = gp.dhours[0], ctx["hour"]
        near = [max(row[i - 1], row[i], row[(i + 1) % 24]) for i in range(24)]
        return near[h] >= self.params["group_usual"] * max(near) > 0

    def evaluate(self, ctx: dict) -> list[dict]:
        acc = ctx["state"].hour_acc
        n = max(acc[C_VIEW] + acc[C_EXP], acc[C_PAT])
        p = self.params
        if n < p["min_events"] or ctx["late"]:
            return []
        f = ctx["features"]
        own, peer = f["hour_activity_self"], f["hour_activity_peer"]
        if own > p["self_max"] or peer < 0 or peer > p["peer_max"]:
            return []  # own habit, routine for the peers, or nothing to judge against
        k = ctx["hour_class"]
        hp = ctx["hour_peer"]
        if self.group_usual(ctx):
            return []  # the department's working day: not odd for its evening or night staff
        days = hp.day_share(k, ctx["hour"], p["peer_min_days"])
        if days < 0:
            return []  # the group is too young to judge
        if days > p["peer_days"]:
            # the group covers this hour on many days (an on-call rota): routine for a member,
            # unless the user's own days show they are not on it
            per_day = hp.ddays[k] / hp.n_cdays[k] if hp.n_cdays[k] else 0.0
            expected = ctx["state"].ddays * days / max(per_day, 1.0)
            if own != 0.0 or expected < p["rota_expected"]:
                return []
        explanation = [item("hour_activity_peer", peer, p["peer_max"], "peer")]
        who = f"other {ctx['peer_group']} staff"
        if own >= 0:
            explanation.insert(0, item("hour_activity_self", own, p["self_max"], "self"))
        if k < 3:
            who = f"other {SHIFT_CLASSES[k]}-shift {ctx['peer_group']} staff"
        score = 0.6 + 0.4 * (1 - max(own, 0.0) / p["self_max"]) * (1 - peer / p["peer_max"])
        when = ctx["event"]["event_time"][:16].replace("T", " ")
        summary = (f"{ctx['user_id']} made {n} accesses around {when} UTC, an hour when neither "
                   f"they nor {who} usually work")
        return [self.hit(score, summary, explanation)]
