"""Silences and allowlists: data with matchers, a validity window and a reason.

Silencer and Inhibitor share one interface: `mutes(...) -> str | None` (the id of what mutes).
"""

from __future__ import annotations

from typing import Iterable, Mapping

from streamer.alert.config import Silence
from streamer.alert.matchers import matches_all


class Silencer:
    def __init__(self, silences: Iterable[Silence] = ()):
        self.silences: dict[str, Silence] = {s.id: s for s in silences}

    def add(self, silence: Silence) -> None:
        self.silences[silence.id] = silence

    def mutes(self, labels: Mapping[str, str], now_ms: int) -> str | None:
        """Id of an active silence matching these labels, else None."""
        for s in self.silences.values():
            if s.active(now_ms) and matches_all(s.matchers, labels):
                return s.id
        return None

    def expired(self, now_ms: int) -> list[Silence]:
        return [s for s in self.silences.values() if s.ends_ms <= now_ms]
