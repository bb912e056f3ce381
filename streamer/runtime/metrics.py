"""Process-local counters of every stage, flushed periodically to the pipeline metrics table and
shown by `streamer demo`. Plain ints: cheap on the hot path."""

from __future__ import annotations

import time
from collections import Counter


class Metrics:
    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.gauges: dict[str, float] = {}
        self.started = time.time()
        self._last: Counter[str] = Counter()
        self._last_t = self.started

    def inc(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def gauge(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def snapshot(self) -> dict:
        """Counters, gauges and per-second rates since the previous snapshot."""
        now = time.time()
        dt = max(now - self._last_t, 1e-6)
        rates = {k: (v - self._last.get(k, 0)) / dt for k, v in self.counters.items()}
        self._last, self._last_t = Counter(self.counters), now
        return {"time": now, "period_s": dt, "counters": dict(self.counters), "gauges": dict(self.gauges),
                "rates": rates}


METRICS = Metrics()
