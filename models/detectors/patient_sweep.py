"""Patient sweep: distinct patients (or studies) in an hour or a day far above baseline.

Clinical work follows the workflow: a study is acquired (import), read, then reviewed by the
referring team, so most records a user opens are of patients a colleague worked on shortly before
or whose study was imported shortly before, by anyone (a care episode, `care_hours`; the
technologist's import opens it, so their own checks of what they acquired are care too). A sweep
browses records outside it. The episode must be of the user's own department (the study's
department, when named; teleradiologists read for all): another department's current patients
are not the user's care. When at least `care_share` of
the user's recent openings (decayed, half-life `care_half_life_minutes`) were of patients in a care
episode, the volume is a busy shift (a weekend emergency list, a reading backlog) and the limits
are `care_factor` times higher; the ceiling is unchanged. A sweep confined to patients currently
in care needs that much more volume to alert.

Evidence: the alert names the record openings of the window (1 h or 24 h) that the engine kept
for the user (the latest `trail_len` openings of users who opened `trail_from` distinct patients
that day, in memory while the user is live), not only the event that tipped the count."""

from __future__ import annotations

from models.detectors.base import Detector, fmt, group_practice, item, over_baseline
from models.features import C_EXP, C_PAT, DAY, HOUR

_CHECKS = (("patients_1h", False, "hour"), ("patients_24h", True, "day"))


class PatientSweep(Detector):
    name = "patient_sweep"

    def export_batch(self, ctx: dict, daily: bool) -> bool:
        """True when most of the records counted were exported (`export_share` of the distinct
        patients of the clock hour or day are exports), in a batch of a size the user sent before
        (`peak_factor` x their largest) or several colleagues send (group_practice)."""
        p, st = self.params, ctx["state"]
        share = p.get("export_share")
        acc = st.day_acc if daily else st.hour_acc
        studies = acc[C_EXP]
        if not share or not studies or studies < share * acc[C_PAT]:
            return False
        peak = p.get("peak_factor")
        if peak and studies <= peak * st.peak(daily, C_EXP):
            return True
        return group_practice(ctx, p, daily)

    def evaluate(self, ctx: dict) -> list[dict]:
        if not ctx["patient_id"]:
            return []
        p = self.params
        share, n = ctx["state"].care_share()
        in_care = bool(p.get("care_factor")) and n >= p.get("care_min_openings", 10) \
            and share >= p["care_share"]
        # and the reverse: when almost none of the recent openings are in a care episode
        # (at most `out_share`) and the day's records came fast (the last hour holds at least
        # `out_burst` of the day's), the records are nobody's current patients, opened in a
        # burst, and the limits are `out_factor` x lower (never below the floor). A long busy
        # day spreads its patients over many hours
        f = ctx["features"]
        out_care = bool(p.get("out_factor")) and n >= p.get("care_min_openings", 10) \
            and share <= p.get("out_share", 0.0) \
            and f["patients_1h"] >= p.get("out_burst", 0.0) * f["patients_24h"]
        scale = p["care_factor"] if in_care else (p["out_factor"] if out_care else 1.0)
        # the light floor (light_minimum) is for openings mostly outside the care workflow, however
        # few the recent ones: a ward physician's 60 patients of a round, all in a colleague's care
        # and spread over the day, are work
        light_ok = not p.get("care_factor") or share < p["care_share"]
        best = None
        for feature, daily, span in _CHECKS:
            found = over_baseline(ctx, feature, C_PAT, daily, p, feature, scale, light_ok)
            if found and (best is None or found[0] > best[0]):
                best = found + (feature, span)
        if best is None:
            return []
        score, severity, explanation, feature, span = best
        if severity != "critical" and self.export_batch(ctx, feature.endswith("24h")):
            return []  # the records were opened by exporting a batch of a usual size
        usual = min((e["expected"] for e in explanation if e["baseline"] != "rule"), default=None)
        tail = f"; usual is {fmt(usual)} per {span}" if usual is not None else ""
        explanation = explanation + [item("in_care_share", share, p["care_share"], "peer")]
        summary = (f"{ctx['user_id']} opened records of {fmt(ctx['features'][feature])} distinct "
                   f"patients in the last {'hour' if span == 'hour' else '24 h'}{tail}")
        if not in_care:
            summary += f"; {share:.0%} of them in a colleague's care"
        hit = self.hit(score, summary, explanation, severity)
        trail = ctx.get("trail")
        if trail:  # the openings counted: the alert is about them, not only the one that tipped it
            since = ctx["ms"] - (DAY if span == "day" else HOUR)
            hit["related_event_ids"] = [eid for t, eid in trail if t >= since and eid]
        return [hit]
