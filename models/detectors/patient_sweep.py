"""Patient sweep: distinct patients (or studies) in an hour or a day far above baseline."""

from __future__ import annotations

from models.detectors.base import Detector, fmt, over_baseline
from models.features import C_PAT

_CHECKS = (("patients_1h", False, "hour"), ("patients_24h", True, "day"))


class PatientSweep(Detector):
    name = "patient_sweep"

    def evaluate(self, ctx: dict) -> list[dict]:
        if not ctx["patient_id"]:
            return []
        best = None
        for feature, daily, span in _CHECKS:
            found = over_baseline(ctx, feature, C_PAT, daily, self.params, feature)
            if found and (best is None or found[0] > best[0]):
                best = found + (feature, span)
        if best is None:
            return []
        score, severity, explanation, feature, span = best
        usual = min((e["expected"] for e in explanation if e["baseline"] != "rule"), default=None)
        tail = f"; usual is {fmt(usual)} per {span}" if usual is not None else ""
        summary = (f"{ctx['user_id']} opened records of {fmt(ctx['features'][feature])} distinct "
                   f"patients in the last {'hour' if span == 'hour' else '24 h'}{tail}")
        return [self.hit(score, summary, explanation, severity)]
