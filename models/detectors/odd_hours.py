"""Odd hours: busy at an hour of the week when neither the user nor the peer group works.

The user's own hour-of-week profile decides when there is a week of history; the peer group's
shift pattern must agree (a night-shift technologist at 03:00 is normal for both). Fires once
the hour shows real activity (min_events), not on a single stray login.
"""

from __future__ import annotations

from models.detectors.base import Detector, item
from models.features import C_VIEW, C_EXP


class OddHours(Detector):
    name = "odd_hours"

    def evaluate(self, ctx: dict) -> list[dict]:
        st = ctx["state"]
        acc = st.hour_acc
        n = acc[C_VIEW] + acc[C_EXP]
        if n < self.params["min_events"] or ctx["late"]:
            return []
        f = ctx["features"]
        own, peer = f["hour_activity_self"], f["hour_activity_peer"]
        p = self.params
        if own < 0 and peer < 0:
            return []
        if (own >= 0 and own > p["self_max"]) or (peer >= 0 and peer > p["peer_max"]):
            return []
        explanation = []
        if own >= 0:
            explanation.append(item("hour_activity_self", own, 1.0, "self"))
        if peer >= 0:
            explanation.append(item("hour_activity_peer", peer, 1.0, "peer"))
        score = 0.6 + 0.4 * (1 - max(own, 0.0)) * (1 - min(max(peer, 0.0), 1.0))
        when = ctx["event"]["event_time"][:16].replace("T", " ")
        summary = (f"{ctx['user_id']} made {n} accesses around {when} UTC, an hour when neither "
                   f"they nor other {ctx['peer_group']} staff usually work")
        return [self.hit(score, summary, explanation)]
