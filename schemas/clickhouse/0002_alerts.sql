-- Alerts (contract section 3). The detection engine re-emits an alert with the same alert_id while
-- its incident grows; every emission is a row with version = updated_time in ms, and
-- ReplacingMergeTree(version) keeps the latest per alert_id. Read through alerts_latest (FINAL).
-- PARTITION BY month of first_event_time (stable across versions of one alert, so versions
-- collapse within one partition); ORDER BY alert_id: lookups and collapsing are per alert.
CREATE TABLE IF NOT EXISTS {{db}}.alerts
(
    alert_id String,
    version UInt64,
    updated_time {{DateTime64(3)}},
    status {{LowCardinality(String)}},
    user_id String,
    detector {{LowCardinality(String)}},
    detectors Array(String),
    severity {{LowCardinality(String)}},
    score Float64,
    risk Float64,
    event_ids Array(String),
    event_count UInt32,
    first_event_time {{DateTime64(3)}},
    last_event_time {{DateTime64(3)}},
    summary String,
    explanation String,
    peer_group {{LowCardinality(String)}},
    incident String,
    department {{LowCardinality(String)}},
    label_names Array(String),
    label_values Array(String),
    ingest_time DateTime('UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(first_event_time)
ORDER BY alert_id
{{TTL toDateTime(first_event_time)}};

CREATE VIEW IF NOT EXISTS {{db}}.alerts_latest AS
SELECT * FROM {{db}}.alerts FINAL;

-- Triage history: every status change or feedback is a new row (nothing is overwritten, so the
-- review itself is auditable). status: open, acknowledged, investigating, resolved_true_positive,
-- resolved_false_positive, suppressed. alert_status_current gives the latest row per alert
-- (updated_at = time of that row; named apart from changed_at, which 18.16 would shadow).
CREATE TABLE IF NOT EXISTS {{db}}.alert_status
(
    alert_id String,
    changed_at {{DateTime64(3)}},
    status {{LowCardinality(String)}},
    owner String,
    note String,
    who String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(changed_at)
ORDER BY (alert_id, changed_at)
{{TTL toDateTime(changed_at)}};

CREATE VIEW IF NOT EXISTS {{db}}.alert_status_current AS
SELECT
    alert_id,
    argMax(status, changed_at) AS status,
    argMax(owner, changed_at) AS owner,
    argMax(note, changed_at) AS note,
    argMax(who, changed_at) AS who,
    max(changed_at) AS updated_at
FROM {{db}}.alert_status
GROUP BY alert_id;
