"""Inhibition: a firing source alert mutes target alerts that share its `equal` label values
(e.g. a critical alert about a user mutes that user's lower-severity alerts). An alert never
inhibits itself, and a resolved alert inhibits nothing."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from streamer.alert.config import InhibitRule
from streamer.alert.matchers import matches_all
from streamer.alert.model import AlertRecord


class Inhibitor:
    def __init__(self, rules: Iterable[InhibitRule] = ()):
        self.rules = tuple(rules)
        self._sources: list[dict[tuple, set[str]]] = [{} for _ in self.rules]

    def index(self, alerts: Iterable[AlertRecord]) -> None:
        """Index the firing alerts that can act as sources; call before `mutes`."""
        self._sources = [defaultdict(set) for _ in self.rules]
        for rec in alerts:
            if rec.status != "firing":
                continue
            for i, rule in enumerate(self.rules):
                if matches_all(rule.source_matchers, rec.labels):
                    self._sources[i][tuple(rec.labels.get(n, "") for n in rule.equal)].add(rec.fingerprint)

    def mutes(self, rec: AlertRecord) -> str | None:
        """Name of the rule inhibiting this alert, else None."""
        for i, rule in enumerate(self.rules):
            if not matches_all(rule.target_matchers, rec.labels):
                continue
            sources = self._sources[i].get(tuple(rec.labels.get(n, "") for n in rule.equal), ())
            if any(fp != rec.fingerprint for fp in sources):
                return rule.name
        return None
