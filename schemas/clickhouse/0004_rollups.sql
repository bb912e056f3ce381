-- Rollups for dashboards, filled by materialized views on insert into events.
-- Counts are uniqExact states over event_id, so a duplicate that slips past the sink still counts
-- once; sums (bytes, instances) count a duplicate twice, which the sink's event_id check prevents.
-- Read them with the -Merge combinators, e.g.
--   SELECT hour, user_id, uniqExactMerge(events) FROM user_hourly GROUP BY hour, user_id
CREATE TABLE IF NOT EXISTS {{db}}.user_hourly
(
    hour DateTime('UTC'),
    user_id String,
    department {{LowCardinality(String)}},
    events AggregateFunction(uniqExact, String),
    patients AggregateFunction(uniqExact, String),
    exports AggregateFunction(uniqExactIf, String, UInt8),
    failures AggregateFunction(uniqExactIf, String, UInt8),
    off_hours AggregateFunction(uniqExactIf, String, UInt8),
    bytes AggregateFunction(sum, UInt64),
    max_score AggregateFunction(max, Float64),
    max_risk AggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, user_id, department)
{{TTL hour}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.user_hourly_mv TO {{db}}.user_hourly AS
SELECT
    toStartOfHour(toDateTime(event_time)) AS hour,
    user_id,
    user_department AS department,
    uniqExactState(event_id) AS events,
    uniqExactState(patient_id) AS patients,
    uniqExactIfState(event_id, toUInt8(action IN ('export', 'share', 'print'))) AS exports,
    uniqExactIfState(event_id, toUInt8(outcome != 'success')) AS failures,
    uniqExactIfState(event_id, toUInt8(toHour(toDateTime(event_time)) < 7 OR toHour(toDateTime(event_time)) >= 19)) AS off_hours,
    sumState(bytes) AS bytes,
    maxState(anomaly_score) AS max_score,
    maxState(risk) AS max_risk
FROM {{db}}.events
GROUP BY hour, user_id, department;

CREATE TABLE IF NOT EXISTS {{db}}.department_hourly
(
    hour DateTime('UTC'),
    department {{LowCardinality(String)}},
    events AggregateFunction(uniqExact, String),
    users AggregateFunction(uniqExact, String),
    patients AggregateFunction(uniqExact, String),
    exports AggregateFunction(uniqExactIf, String, UInt8),
    flagged AggregateFunction(uniqExactIf, String, UInt8),
    bytes AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, department)
{{TTL hour}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.department_hourly_mv TO {{db}}.department_hourly AS
SELECT
    toStartOfHour(toDateTime(event_time)) AS hour,
    user_department AS department,
    uniqExactState(event_id) AS events,
    uniqExactState(user_id) AS users,
    uniqExactState(patient_id) AS patients,
    uniqExactIfState(event_id, toUInt8(action IN ('export', 'share', 'print'))) AS exports,
    uniqExactIfState(event_id, toUInt8(severity NOT IN ('', 'none'))) AS flagged,
    sumState(bytes) AS bytes
FROM {{db}}.events
GROUP BY hour, department;

-- Data leaving the PACS (export, share, print): one row per event, deduplicated like events.
CREATE TABLE IF NOT EXISTS {{db}}.exports
(
    event_id String,
    event_time {{DateTime64(3)}},
    action {{LowCardinality(String)}},
    outcome {{LowCardinality(String)}},
    user_id String,
    user_department {{LowCardinality(String)}},
    patient_id String,
    study_uid String,
    modality {{LowCardinality(String)}},
    sensitivity {{LowCardinality(String)}},
    instances UInt32,
    bytes UInt64,
    dest_type {{LowCardinality(String)}},
    dest_id String,
    dest_external Nullable(UInt8),
    client_remote Nullable(UInt8),
    anomaly_score Float64,
    severity {{LowCardinality(String)}},
    ingest_time DateTime('UTC')
)
ENGINE = ReplacingMergeTree(ingest_time)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), user_id, event_time, event_id)
{{TTL toDateTime(event_time)}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.exports_mv TO {{db}}.exports AS
SELECT event_id, event_time, action, outcome, user_id, user_department, patient_id, study_uid,
       modality, sensitivity, instances, bytes, dest_type, dest_id, dest_external, client_remote,
       anomaly_score, severity, ingest_time
FROM {{db}}.events
WHERE action IN ('export', 'share', 'print');

-- Who touched this patient: the compliance "access review" and erasure read by patient_id.
CREATE TABLE IF NOT EXISTS {{db}}.access_by_patient
(
    patient_id String,
    event_time {{DateTime64(3)}},
    event_id String,
    action {{LowCardinality(String)}},
    outcome {{LowCardinality(String)}},
    user_id String,
    user_name String,
    user_department {{LowCardinality(String)}},
    study_uid String,
    sensitivity {{LowCardinality(String)}},
    client_remote Nullable(UInt8),
    severity {{LowCardinality(String)}},
    ingest_time DateTime('UTC')
)
ENGINE = ReplacingMergeTree(ingest_time)
PARTITION BY toYYYYMM(event_time)
ORDER BY (patient_id, event_time, event_id)
{{TTL toDateTime(event_time)}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.access_by_patient_mv TO {{db}}.access_by_patient AS
SELECT patient_id, event_time, event_id, action, outcome, user_id, user_name, user_department,
       study_uid, sensitivity, client_remote, severity, ingest_time
FROM {{db}}.events
WHERE patient_id != '';
