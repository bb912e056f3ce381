"""Inhibition: a firing source alert mutes target alerts that share its `equal` label values
(e.g. a critical alert about a user mutes that user's lower-severity alerts). An alert never
inhibits itself, and a resolved alert inhibits nothing. The source index is kept up to date
alert by alert (`update` / `discard`), so checking a target costs one lookup per rule."""

from __future__ import annotations

from collections import defaultdict

from streamer.alert.config import InhibitRule
from streamer.alert.matchers import matches_all
from streamer.alert.model import AlertRecord


class Inhibitor:
    def __init__(self, rules=()):
        self.rules: tuple[InhibitRule, ...] = tuple(rules)
        self._sources: list[dict[tuple, set[str]]] = [defaultdict(set) for _ in self.rules]
        self._where: dict[str, list[tuple[int, tuple]]] = {}  # fingerprint -> (rule, key) entries

    def update(self, rec: AlertRecord) -> None:
        """Index the alert's current version as a source (or drop it when resolved)."""
        self.discard(rec.fingerprint)
        if rec.status != "firing":
            return
        entries = []
        for i, rule in enumerate(self.rules):
            if matches_all(rule.source_matchers, rec.labels):
                key = tuple(rec.labels.get(n, "") for n in rule.equal)
                self._sources[i][key].add(rec.fingerprint)
                entries.append((i, key))
        if entries:
            self._where[rec.fingerprint] = entries

    def discard(self, fp: str) -> None:
        for i, key in self._where.pop(fp, ()):
            bucket = self._sources[i].get(key)
            if bucket is not None:
                bucket.discard(fp)
                if not bucket:
                    del self._sources[i][key]

    def mutes(self, rec: AlertRecord) -> str | None:
        """Name of the rule inhibiting this alert, else None."""
        for i, rule in enumerate(self.rules):
            if not matches_all(rule.target_matchers, rec.labels):
                continue
            sources = self._sources[i].get(tuple(rec.labels.get(n, "") for n in rule.equal), ())
            if any(fp != rec.fingerprint for fp in sources):
                return rule.name
        return None
