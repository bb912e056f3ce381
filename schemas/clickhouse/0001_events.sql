-- Enriched access events: one row per canonical event, flattened, with the scoring enrichment.
--
-- Engine: ReplacingMergeTree(ingest_time). The sorting key ends with event_id, so a retried or
-- replayed copy of an event (same event_id, same user, same time) collapses on merge; readers that
-- need exact counts before merges use FINAL or uniqExact(event_id). The sink also skips event_ids
-- already stored (see streamer/store), so plain count() is exact in normal operation.
-- PARTITION BY month of event time: retention drops whole months; training and dashboard queries
-- read a time window and prune the other months.
-- ORDER BY (day, user, time, id): dashboards filter by a time window (the leading day prunes
-- granules), investigations read one user's timeline (user_id right after the day), training scans
-- days in order. Patient lookups use the access_by_patient table (0004).
-- event_time is DateTime64(3) where the server has it, else DateTime (seconds); event_ms always
-- holds the milliseconds so ordering within a second is exact on both.
CREATE TABLE IF NOT EXISTS {{db}}.events
(
    event_id String,
    event_time {{DateTime64(3)}},
    event_ms UInt16,
    schema_version UInt8,
    source {{LowCardinality(String)}},
    action {{LowCardinality(String)}},
    outcome {{LowCardinality(String)}},
    user_id String,
    user_name String,
    user_roles Array(String),
    user_department {{LowCardinality(String)}},
    user_mfa Nullable(UInt8),
    session_id String,
    client_ip String,
    client_host String,
    client_remote Nullable(UInt8),
    client_location {{LowCardinality(String)}},
    patient_id String,
    patient_name String,
    study_uid String,
    accession String,
    modality {{LowCardinality(String)}},
    study_department {{LowCardinality(String)}},
    sensitivity {{LowCardinality(String)}},
    instances UInt32,
    bytes UInt64,
    dest_type {{LowCardinality(String)}},
    dest_id String,
    dest_external Nullable(UInt8),
    target_user_id String,
    target_user_roles Array(String),
    detail String,
    peer_group {{LowCardinality(String)}},
    feature_names Array(String),
    feature_values Array(Float64),
    expected_names Array(String),
    expected_values Array(Float64),
    anomaly_score Float64,
    model_version {{LowCardinality(String)}},
    detectors Array(String),
    risk Float64,
    severity {{LowCardinality(String)}},
    ingest_time DateTime('UTC')
)
ENGINE = ReplacingMergeTree(ingest_time)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), user_id, event_time, event_id)
{{TTL toDateTime(event_time)}};
