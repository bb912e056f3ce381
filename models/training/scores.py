"""Rows of the `model_scores` table (migration 0005) from enriched events.

The engine writes `model_score` / `model_version` (promoted model; it alerted when "batch_model" is
among the event's detectors) and `shadow_score` / `shadow_model_version` / `shadow_alert` (candidate
in shadow mode) into the enrichment; these functions turn them into rows and store them.
"""

from __future__ import annotations

from streamer.store.rows import ms_to_datetime
from streamer.timeutil import parse_time


def score_rows(enriched: list[dict], ingest_ms: int) -> list[dict]:
    """One row per (event, model role) that carries a score; events without one give none."""
    rows = []
    now = ms_to_datetime(ingest_ms // 1000 * 1000)
    for e in enriched:
        enr = e.get("enrichment") or {}
        base = None
        for role, score, version, alerted in (
                ("primary", "model_score", "model_version", "batch_model" in enr.get("detectors", ())),
                ("shadow", "shadow_score", "shadow_model_version", bool(enr.get("shadow_alert")))):
            if score not in enr:
                continue
            if base is None:
                base = {"event_id": str(e["event_id"]), "event_time": ms_to_datetime(parse_time(e["event_time"])),
                        "user_id": str(e["user"]["id"]), "peer_group": str(enr.get("peer_group", ""))}
            rows.append({**base, "model_version": str(enr.get(version, "")), "role": role,
                         "score": float(enr[score]), "over_threshold": int(alerted), "ingest_time": now})
    return rows


def insert_scores(store, enriched: list[dict], ingest_ms: int | None = None) -> int:
    """Store the model scores of enriched events; returns rows written."""
    import time

    rows = score_rows(enriched, int(time.time() * 1000) if ingest_ms is None else ingest_ms)
    return store.insert_rows("model_scores", rows)


def compare(store, start_ms: int, end_ms: int) -> list[dict]:
    """Per model version and role over a window: events scored, over threshold, mean score."""
    return store.query(
        f"SELECT model_version, role, count() AS events, sum(over_threshold) AS over_threshold, "
        f"avg(score) AS mean_score FROM {store.table('model_scores')} "
        "WHERE event_time >= toDateTime(%(lo)s, 'UTC') AND event_time < toDateTime(%(hi)s, 'UTC') "
        "GROUP BY model_version, role ORDER BY model_version, role",
        {"lo": ms_to_datetime(start_ms // 1000 * 1000), "hi": ms_to_datetime(-(-end_ms // 1000) * 1000)})
