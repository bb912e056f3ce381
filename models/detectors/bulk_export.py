"""Bulk download/export: studies, instances or bytes exported far above own and peer baseline."""

from __future__ import annotations

from models.detectors.base import Detector, fmt, over_baseline
from models.features import C_EXP, C_INST, C_KIB, EXPORT_ACTIONS

_CHECKS = (  # feature, counter, daily, key in params, unit
    ("exports_1h", C_EXP, False, "exports", "studies"),
    ("export_instances_1h", C_INST, False, "export_instances", "instances"),
    ("export_mib_1h", C_KIB, False, "export_mib", "MiB"),
    ("exports_24h", C_EXP, True, "exports", "studies"),
    ("export_mib_24h", C_KIB, True, "export_mib", "MiB"),
)


class BulkExport(Detector):
    name = "bulk_export"
    actions = EXPORT_ACTIONS

    def __init__(self, rule: dict) -> None:
        super().__init__(rule)
        self._daily = dict(self.params, minimum=self.params.get("minimum_24h", self.params["minimum"]))

    def evaluate(self, ctx: dict) -> list[dict]:
        if ctx["outcome"] != "success":
            return []
        best = None
        for feature, counter, daily, key, unit in _CHECKS:
            p = self._daily if daily else self.params
            if key not in p["minimum"]:
                continue
            found = over_baseline(ctx, feature, counter, daily, p, key)
            if found and (best is None or found[0] > best[0]):
                best = found + (feature, unit)
        if best is None:
            return []
        score, severity, explanation, feature, unit = best
        span = "hour" if feature.endswith("1h") else "24 h"
        usual = min((e["expected"] for e in explanation if e["baseline"] != "rule"), default=None)
        tail = f"; usual is {fmt(usual)} per {'hour' if span == 'hour' else 'day'}" if usual is not None else ""
        summary = (f"{ctx['user_id']} exported {fmt(ctx['features'][feature])} {unit} in the last "
                   f"{span}{tail}")
        return [self.hit(score, summary, explanation, severity)]
