-- Context snapshots as the worker saw them (roster and watchlist feeds), for investigations
-- ("was this user terminated at the time?") and for training features. Append-only; one row per
-- user (or patient) per snapshot. ORDER BY the key first: lookups are per user / patient.
CREATE TABLE IF NOT EXISTS {{db}}.roster_snapshots
(
    snapshot_time DateTime('UTC'),
    user_id String,
    name String,
    roles Array(String),
    department {{LowCardinality(String)}},
    status {{LowCardinality(String)}},
    end_date Nullable(Date)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(snapshot_time)
ORDER BY (user_id, snapshot_time)
{{TTL snapshot_time}};

CREATE TABLE IF NOT EXISTS {{db}}.watchlist_snapshots
(
    snapshot_time DateTime('UTC'),
    patient_id String,
    category {{LowCardinality(String)}},
    employee_user_id String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(snapshot_time)
ORDER BY (patient_id, snapshot_time)
{{TTL snapshot_time}};

-- Erasure requests and what they removed: the auditor is audited. patient_ref is a SHA-256 of the
-- erased id (never the id itself), so the log proves the erasure without keeping the identifier.
-- table_names / table_rows are parallel arrays: rows removed per table.
CREATE TABLE IF NOT EXISTS {{db}}.erasure_log
(
    erasure_id String,
    requested_at DateTime('UTC'),
    completed_at DateTime('UTC'),
    requested_by String,
    reason String,
    patient_ref String,
    table_names Array(String),
    table_rows Array(UInt64),
    status {{LowCardinality(String)}}
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(requested_at)
ORDER BY (requested_at, erasure_id);

-- Pipeline metrics written by the worker, long format: one row per (time, worker, component,
-- metric, label). metric examples: rows_per_s, batch_latency_ms, retries, dead_letters (label =
-- reason), given_up, consumer_lag (label = topic/partition). Kept one year where TTL exists.
CREATE TABLE IF NOT EXISTS {{db}}.pipeline_metrics
(
    time DateTime('UTC'),
    worker {{LowCardinality(String)}},
    component {{LowCardinality(String)}},
    metric {{LowCardinality(String)}},
    label String,
    value Float64
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (metric, component, time)
-- @if version >= 19.6
TTL time + INTERVAL 1 YEAR
-- @endif
;
