"""Synthetic hospital traffic with labelled incidents, and the evaluation harness.

- `Simulation(seed, users, days, incidents_per_type)`: `.events()` in event-time order, `.labels()`.
- `simulate_to_dir(out, ...)`: events.jsonl, labels.jsonl, roster.csv, watchlist.csv.
- `live_events(seed, speed, ...)` / `alive_events(...)`: the paced stream for the demo.
- `evaluate(events, labels, systems)`: per-type recall, precision, time to detect, false alerts.
"""

from streamer.simulate.generate import Simulation, simulate_to_dir
from streamer.simulate.incidents import TYPES as INCIDENT_TYPES
from streamer.simulate.live import LiveTraffic, alive_events, live_events

__all__ = ["INCIDENT_TYPES", "LiveTraffic", "Simulation", "alive_events", "live_events", "simulate_to_dir"]
