-- Batch-model scores per event: the promoted model ("primary") and a candidate in shadow mode
-- ("shadow", scored beside it, never alerting), so a candidate is compared on live traffic before
-- it is promoted. `over_threshold` = the score reached the model's threshold (for the primary
-- model: it alerted; for a shadow: it would have). Written from enriched events by
-- models.training.scores.insert_scores.
-- ReplacingMergeTree(ingest_time): a replayed event collapses onto its row per model and role.
-- ORDER BY (day, model_version, role, event_id): comparisons read one model over a window.
CREATE TABLE IF NOT EXISTS {{db}}.model_scores
(
    event_id String,
    event_time {{DateTime64(3)}},
    user_id String,
    peer_group {{LowCardinality(String)}},
    model_version {{LowCardinality(String)}},
    role {{LowCardinality(String)}},
    score Float64,
    over_threshold UInt8,
    ingest_time DateTime('UTC')
)
ENGINE = ReplacingMergeTree(ingest_time)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), model_version, role, event_id)
{{TTL toDateTime(event_time)}};
