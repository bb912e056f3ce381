"""The online model's verdict as a detector: the current hour is far from the user's own
multivariate baseline (peer-primed for new users); see models/online.py."""

from __future__ import annotations

from models.detectors.base import Detector, group_practice
from models.features import COUNTERS, PEAK_COUNTERS

_PEAKED = {f"{COUNTERS[c]}_hour": c for c in PEAK_COUNTERS}


class OnlineModel(Detector):
    name = "online_model"

    def evaluate(self, ctx: dict) -> list[dict]:
        score = ctx["score"]
        if score < self.params["threshold"] or ctx["late"]:
            return []
        if sum(ctx["state"].hour_acc[:1] + ctx["state"].hour_acc[3:4]) < self.params["min_events"]:
            return []
        explanation = ctx["score_explanation"]
        top = explanation[0] if explanation else None
        if top and top["feature"] in _PEAKED:
            c, value = _PEAKED[top["feature"]], top["value"]
            factor = self.params.get("peak_factor")
            if factor and value <= factor * ctx["state"].peak(False, c):
                return []  # an export volume the user has moved in an hour before (bulk_export.peak_factor)
            if group_practice(ctx, self.params, False):
                return []  # one several colleagues move (bulk_export.group_peak_members)
        what = (f"{top['feature']} {top['value']:.0f} vs usual {top['expected']:.0f}"
                if top else "its mix of activity")
        summary = f"{ctx['user_id']}'s activity this hour is unusual for them ({what})"
        return [self.hit(score, summary, explanation)]
