"""The six PACS audit dashboards. Table names are unqualified: the datasource's defaultDatabase
(pacs_audit) applies. Every query reads only tables the migrations in schemas/clickhouse create."""

from __future__ import annotations

from streamer.dashboards.build import (
    DEPARTMENT, DETECTOR, SEVERITY, USER, bucket, dashboard, filters, panel, query_variable,
    severity_overrides,
)

INVESTIGATE = "/d/pacs-user-investigation/user-investigation?var-user=${__value.raw}&${__url_time_range}"
ALERT_FILTERS = filters(user="user_id", department="department", detector="detector", severity="severity")
EVENT_FILTERS = filters(user="user_id", department="user_department")
HOURLY_FILTERS = filters(user="user_id", department="department")
OPEN_STATES = "('', 'open', 'acknowledged', 'investigating')"
TRIAGE_JOIN = """ANY LEFT JOIN
(
  SELECT alert_id, status AS triage_status, owner
  FROM alert_status_current
) AS triage USING alert_id"""
AGE_HOURS = "(toUInt32($__toTime) - toUInt32(toDateTime(first_event_time))) / 3600"
WEEKDAYS = "['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']"


def _hour_columns() -> str:
    return ",\n  ".join(f"sumIf(events, toHour(hour) = {h}) AS `{h:02d}`" for h in range(24))


def soc_overview() -> dict:
    panels = [
        panel("stat", "Access events", f"""
SELECT sum(events) AS events
FROM (
  SELECT user_id, uniqExactMerge(events) AS events
  FROM user_hourly
  WHERE $__timeFilter(hour){HOURLY_FILTERS}
  GROUP BY hour, user_id
)""", w=6, h=4),
        panel("stat", "Active users", f"""
SELECT uniqExact(user_id) AS users
FROM user_hourly
WHERE $__timeFilter(hour){HOURLY_FILTERS}""", w=6, h=4),
        panel("stat", "Alerts", f"""
SELECT count() AS alerts
FROM alerts_latest
WHERE $__timeFilter(first_event_time){ALERT_FILTERS}""", w=6, h=4),
        panel("stat", "Open alerts", f"""
SELECT count() AS open_alerts
FROM alerts_latest
{TRIAGE_JOIN}
WHERE $__timeFilter(first_event_time) AND triage_status IN {OPEN_STATES}{ALERT_FILTERS}""",
              w=6, h=4, description="Alerts not yet resolved or suppressed in triage."),
        panel("timeseries", "Alerts by severity", f"""
SELECT {bucket('first_event_time')}, severity, count() AS alerts
FROM alerts_latest
WHERE $__timeFilter(first_event_time){ALERT_FILTERS}
GROUP BY time, severity
ORDER BY time""", bars=True, stacked=True, overrides=severity_overrides()),
        panel("timeseries", "Alerts by detector", f"""
SELECT {bucket('first_event_time')}, detector, count() AS alerts
FROM alerts_latest
WHERE $__timeFilter(first_event_time){ALERT_FILTERS}
GROUP BY time, detector
ORDER BY time""", bars=True, stacked=True),
        panel("table", "Top risky users", f"""
SELECT user_id, any(department) AS dept, round(maxMerge(max_risk), 1) AS risk,
  round(maxMerge(max_score), 3) AS max_score, uniqExactMerge(events) AS events,
  uniqExactIfMerge(exports) AS exports, uniqExactIfMerge(off_hours) AS off_hours
FROM user_hourly
WHERE $__timeFilter(hour){HOURLY_FILTERS}
GROUP BY user_id
ORDER BY risk DESC, events DESC
LIMIT 15""", description="Highest risk score reached in the range; click a user to investigate.",
              links={"user_id": INVESTIGATE}),
        panel("table", "Bulk exports", f"""
SELECT user_id, dest_type, dest_id, max(dest_external) AS external, count() AS exports,
  uniqExact(patient_id) AS patients, sum(instances) AS instances,
  round(sum(bytes) / 1e6, 1) AS megabytes, max(event_time) AS last_export
FROM exports
WHERE $__timeFilter(event_time){EVENT_FILTERS}
GROUP BY user_id, dest_type, dest_id
ORDER BY exports DESC, megabytes DESC
LIMIT 20""", description="Exports, shares and prints per user and destination, largest first.",
              links={"user_id": INVESTIGATE}),
        panel("table", "Access by hour and weekday (UTC)", f"""
SELECT {WEEKDAYS}[weekday] AS day,
  {_hour_columns()}
FROM (
  SELECT hour, toDayOfWeek(hour) AS weekday, uniqExactMerge(events) AS events
  FROM user_hourly
  WHERE $__timeFilter(hour){HOURLY_FILTERS}
  GROUP BY hour, user_id
)
GROUP BY weekday
ORDER BY weekday""", w=24, h=8, description="Access events per weekday (rows) and hour of day (columns).",
              options={"cellHeight": "sm"},
              overrides=[{"matcher": {"id": "byType", "options": "number"},
                          "properties": [{"id": "custom.cellOptions", "value": {"type": "color-background"}},
                                         {"id": "color", "value": {"mode": "continuous-GrYlRd"}}]}]),
        panel("timeseries", "Failed logins", f"""
SELECT {bucket('event_time')}, user_department AS department, count() AS failed_logins
FROM events
WHERE $__timeFilter(event_time) AND action = 'login_failed'{EVENT_FILTERS}
GROUP BY time, department
ORDER BY time""", bars=True, stacked=True),
        panel("table", "Open alerts, newest first", f"""
SELECT first_event_time, severity, detector, user_id, summary,
  if(triage_status = '', 'open', triage_status) AS triage, owner, alert_id
FROM alerts_latest
{TRIAGE_JOIN}
WHERE $__timeFilter(first_event_time) AND triage_status IN {OPEN_STATES}{ALERT_FILTERS}
ORDER BY first_event_time DESC
LIMIT 100""", links={"user_id": INVESTIGATE}),
    ]
    return dashboard("pacs-soc-overview", "SOC overview",
                     "Alerts, risky users, exports and access patterns across the PACS.",
                     panels, [USER, DEPARTMENT, DETECTOR, SEVERITY], time_from="now-7d", tags=("soc",))


def user_investigation() -> dict:
    user = query_variable("user", "User", (
        "SELECT DISTINCT user_id FROM user_hourly WHERE $__timeFilter(hour) ORDER BY user_id LIMIT 5000"),
        include_all=False, multi=False)
    me = "user_id = ${user:sqlstring}"
    panels = [
        panel("timeseries", "Access timeline", f"""
SELECT {bucket('event_time')}, action, count() AS events
FROM events
WHERE $__timeFilter(event_time) AND {me}
GROUP BY time, action
ORDER BY time""", w=16, bars=True, stacked=True),
        panel("stat", "Patients / studies / risk", f"""
SELECT uniqExactIf(patient_id, patient_id != '') AS patients,
  uniqExactIf(study_uid, study_uid != '') AS studies, round(max(risk), 1) AS max_risk
FROM events
WHERE $__timeFilter(event_time) AND {me}""", w=8),
        panel("barchart", "Actual vs baseline per feature", f"""
SELECT feature, round(max(actual), 2) AS peak, round(avg(actual), 2) AS mean,
  round(avg(expected), 2) AS baseline
FROM (
  SELECT feature, actual, expected_values[indexOf(expected_names, feature)] AS expected
  FROM events
  ARRAY JOIN feature_names AS feature, feature_values AS actual
  WHERE $__timeFilter(event_time) AND {me}
)
GROUP BY feature
ORDER BY feature""", description="Feature values the model saw for this user against the expected "
              "(self or peer baseline) at the time.", options={"xField": "feature"}),
        panel("table", "Patients and studies touched", f"""
SELECT patient_id, uniqExact(study_uid) AS studies, count() AS accesses,
  arrayStringConcat(groupUniqArray(action), ', ') AS actions,
  arrayStringConcat(groupUniqArray(sensitivity), ', ') AS sensitivity,
  min(event_time) AS first_access, max(event_time) AS last_access
FROM events
WHERE $__timeFilter(event_time) AND {me} AND patient_id != ''
GROUP BY patient_id
ORDER BY accesses DESC
LIMIT 200"""),
        panel("table", "Exports with destinations", f"""
SELECT event_time, action, dest_type, dest_id, dest_external AS external, client_remote AS remote,
  patient_id, study_uid, modality, instances, round(bytes / 1e6, 1) AS megabytes, severity
FROM exports
WHERE $__timeFilter(event_time) AND {me}
ORDER BY event_time DESC
LIMIT 200"""),
        panel("table", "Alerts with explanations", f"""
SELECT first_event_time, last_event_time, detector, severity, round(score, 3) AS score,
  round(risk, 1) AS risk, event_count, summary, explanation, status, alert_id
FROM alerts_latest
WHERE $__timeFilter(first_event_time) AND {me}
ORDER BY first_event_time DESC
LIMIT 100""", w=24, overrides=severity_overrides()),
        panel("table", "Explanation details", f"""
SELECT first_event_time, detector, alert_id, JSONExtractString(item, 'feature') AS feature,
  JSONExtractFloat(item, 'value') AS value, JSONExtractFloat(item, 'expected') AS expected,
  JSONExtractString(item, 'baseline') AS baseline
FROM alerts_latest
ARRAY JOIN JSONExtractArrayRaw(explanation) AS item
WHERE $__timeFilter(first_event_time) AND {me}
ORDER BY first_event_time DESC
LIMIT 200""", w=24, h=6, modern="JSONExtract functions, ClickHouse >= 19.14",
              description="Each alert's explanation, one row per feature."),
        panel("table", "Access log", f"""
SELECT event_time, action, outcome, patient_id, study_uid, modality, sensitivity, client_ip,
  client_remote AS remote, dest_id, round(anomaly_score, 3) AS score, severity,
  arrayStringConcat(detectors, ', ') AS detectors
FROM events
WHERE $__timeFilter(event_time) AND {me}
ORDER BY event_time DESC
LIMIT 500""", w=24, h=10),
    ]
    return dashboard("pacs-user-investigation", "User investigation",
                     "Everything one user did in the range; alerts link here with ?var-user=<id>.",
                     panels, [user], time_from="now-7d", tags=("soc",))


def alert_triage() -> dict:
    open_alerts = f"""FROM alerts_latest
{TRIAGE_JOIN}
WHERE $__timeFilter(first_event_time) AND triage_status IN {OPEN_STATES}{ALERT_FILTERS}"""
    reviewed = f"""FROM alerts_latest
ALL INNER JOIN
(
  SELECT alert_id, status AS triage_status
  FROM alert_status_current
  WHERE status IN ('resolved_true_positive', 'resolved_false_positive')
) AS triage USING alert_id
WHERE $__timeFilter(first_event_time){ALERT_FILTERS}"""
    panels = [
        panel("barchart", "Open alerts by age", f"""
SELECT multiIf(age < 1, '< 1h', age < 4, '1-4h', age < 24, '4-24h', age < 72, '1-3d', '> 3d') AS age_band,
  countIf(severity = 'critical') AS critical, countIf(severity = 'high') AS high,
  countIf(severity = 'medium') AS medium, countIf(severity = 'low') AS low
FROM (
  SELECT {AGE_HOURS} AS age, severity
  {open_alerts}
)
GROUP BY age_band
ORDER BY min(age)""", stacked=True, overrides=severity_overrides(),
              description="Age at the end of the range.", options={"xField": "age_band"}),
        panel("piechart", "Open alerts by severity", f"""
SELECT severity, count() AS alerts
{open_alerts}
GROUP BY severity
ORDER BY alerts DESC""", w=6, overrides=severity_overrides()),
        panel("bargauge", "Open alerts by owner", f"""
SELECT if(owner = '', 'unassigned', owner) AS assignee, count() AS alerts
{open_alerts}
GROUP BY assignee
ORDER BY alerts DESC
LIMIT 20""", w=6),
        panel("timeseries", "Status flow", f"""
SELECT {bucket('changed_at')}, status, count() AS changes
FROM alert_status
WHERE $__timeFilter(changed_at) AND alert_id IN (
  SELECT alert_id FROM alerts_latest WHERE 1 = 1{ALERT_FILTERS}
)
GROUP BY time, status
ORDER BY time""", bars=True, stacked=True, description="Triage status changes over time."),
        panel("table", "True / false positives per detector", f"""
SELECT detector, countIf(triage_status = 'resolved_true_positive') AS true_positives,
  countIf(triage_status = 'resolved_false_positive') AS false_positives,
  round(true_positives / count(), 3) AS tp_rate, round(false_positives / count(), 3) AS fp_rate
{reviewed}
GROUP BY detector
ORDER BY false_positives DESC""", unit="", description="Among alerts resolved in triage."),
        panel("table", "Triage queue", f"""
SELECT first_event_time, round({AGE_HOURS}, 1) AS age_hours, severity, detector, user_id,
  if(triage_status = '', 'open', triage_status) AS triage, if(owner = '', 'unassigned', owner) AS owner,
  summary, alert_id
{open_alerts}
ORDER BY multiIf(severity = 'critical', 0, severity = 'high', 1, severity = 'medium', 2, 3), first_event_time
LIMIT 200""", w=24, links={"user_id": INVESTIGATE}, overrides=severity_overrides()),
    ]
    return dashboard("pacs-alert-triage", "Alert triage", "Open alerts, who owns them, and how triage ends.",
                     panels, [USER, DEPARTMENT, DETECTOR, SEVERITY], time_from="now-7d", tags=("soc",))


def model_health() -> dict:
    detector_on_events = filters(detector="detector")
    panels = [
        panel("barchart", "Anomaly score distribution", """
SELECT toString(floor(anomaly_score * 20) / 20) AS score, countIf(severity IN ('', 'none')) AS normal,
  countIf(severity NOT IN ('', 'none')) AS flagged
FROM events
WHERE $__timeFilter(event_time)
GROUP BY score
ORDER BY score""", stacked=True, options={"xField": "score"}),
        panel("timeseries", "Score quantiles", f"""
SELECT {bucket('event_time')}, quantile(0.5)(anomaly_score) AS p50, quantile(0.9)(anomaly_score) AS p90,
  quantile(0.99)(anomaly_score) AS p99
FROM events
WHERE $__timeFilter(event_time)
GROUP BY time
ORDER BY time"""),
        panel("timeseries", "Detector hits per 1000 events", f"""
SELECT time, detector, round(hits * 1000 / total, 2) AS per_1000
FROM (
  SELECT {bucket('event_time')}, detector, count() AS hits
  FROM events
  ARRAY JOIN detectors AS detector
  WHERE $__timeFilter(event_time){detector_on_events}
  GROUP BY time, detector
) AS hits
ANY LEFT JOIN
(
  SELECT {bucket('event_time')}, count() AS total
  FROM events
  WHERE $__timeFilter(event_time)
  GROUP BY time
) AS totals USING time
ORDER BY time"""),
        panel("timeseries", "Feature / baseline ratio", f"""
SELECT {bucket('event_time')}, feature, round(avg(actual) / (avg(expected) + 0.001), 3) AS ratio
FROM (
  SELECT event_time, feature, actual, expected_values[indexOf(expected_names, feature)] AS expected
  FROM events
  ARRAY JOIN feature_names AS feature, feature_values AS actual
  WHERE $__timeFilter(event_time)
)
GROUP BY time, feature
ORDER BY time""", description="Mean feature value over its expected value; a lasting move away from 1 "
              "is drift."),
        panel("table", "Feature drift against the previous period", """
SELECT feature, round(avgIf(actual, event_time >= $__fromTime), 3) AS current_mean,
  round(avgIf(actual, event_time < $__fromTime), 3) AS previous_mean,
  round((current_mean - previous_mean) / (abs(previous_mean) + 0.001), 3) AS relative_change,
  countIf(event_time >= $__fromTime) AS current_events
FROM events
ARRAY JOIN feature_names AS feature, feature_values AS actual
WHERE event_time >= toDateTime(2 * toUInt32($__fromTime) - toUInt32($__toTime)) AND event_time <= $__toTime
GROUP BY feature
ORDER BY abs(relative_change) DESC""", description="Mean of each feature in the range against the "
              "window of the same length just before it."),
        panel("timeseries", "Precision from feedback", f"""
SELECT {bucket('updated_at')}, detector,
  round(countIf(triage_status = 'resolved_true_positive') / count(), 3) AS precision
FROM (
  SELECT alert_id, updated_at, status AS triage_status
  FROM alert_status_current
  WHERE $__timeFilter(updated_at) AND status IN ('resolved_true_positive', 'resolved_false_positive')
) AS resolved
ALL INNER JOIN
(
  SELECT alert_id, detector FROM alerts_latest WHERE 1 = 1{filters(detector='detector')}
) AS detectors USING alert_id
GROUP BY time, detector
ORDER BY time""", unit="percentunit", description="True positives among alerts resolved in each "
              "interval (by resolution time)."),
        panel("table", "Model versions in use", """
SELECT model_version, count() AS events, min(event_time) AS first_seen, max(event_time) AS last_seen,
  round(avg(anomaly_score), 4) AS mean_score
FROM events
WHERE $__timeFilter(event_time)
GROUP BY model_version
ORDER BY last_seen DESC""", w=24, h=6),
    ]
    return dashboard("pacs-model-health", "Model health",
                     "Score distributions, detector hit rates, drift and precision from analyst feedback.",
                     panels, [DETECTOR], time_from="now-7d", tags=("ml",))


def pipeline_health() -> dict:
    def per_worker(metric: str, agg: str, extra: str = "") -> str:
        return f"""
SELECT t AS time, component, sum(v) AS value
FROM (
  SELECT {bucket('time', 't')}, component, worker, {agg}(value) AS v
  FROM pipeline_metrics
  WHERE $__timeFilter(time) AND metric = '{metric}'{extra}
  GROUP BY t, component, worker
)
GROUP BY time, component
ORDER BY time"""

    panels = [
        panel("timeseries", "Events per second in and out", per_worker("rows_per_s", "avg"), unit="ops",
              description="Rows per second per component, summed over workers."),
        panel("timeseries", "Consumer lag", f"""
SELECT t AS time, topic, sum(lag) AS lag
FROM (
  SELECT {bucket('time', 't')}, splitByChar(':', label)[1] AS topic, label, max(value) AS lag
  FROM pipeline_metrics
  WHERE $__timeFilter(time) AND metric = 'consumer_lag'
  GROUP BY t, topic, label
)
GROUP BY time, topic
ORDER BY time""", description="Messages behind per topic (partitions summed)."),
        panel("timeseries", "Dead letters per second by reason", f"""
SELECT {bucket('time', 't')}, label AS reason, sum(value) / $__interval_s AS per_second
FROM pipeline_metrics
WHERE $__timeFilter(time) AND metric = 'dead_letters'
GROUP BY t, reason
ORDER BY t""", bars=True, stacked=True),
        panel("timeseries", "Sink batch latency", f"""
SELECT {bucket('time', 't')}, quantile(0.5)(value) AS p50, quantile(0.95)(value) AS p95, max(value) AS max
FROM pipeline_metrics
WHERE $__timeFilter(time) AND metric = 'batch_latency_ms' AND component = 'sink'
GROUP BY t
ORDER BY t""", unit="ms"),
        panel("timeseries", "Sink retries and batches given up", f"""
SELECT {bucket('time', 't')}, metric, sum(value) AS count
FROM pipeline_metrics
WHERE $__timeFilter(time) AND component = 'sink' AND metric IN ('retries', 'given_up')
GROUP BY t, metric
ORDER BY t""", bars=True, w=16),
        panel("stat", "Dead letters / given up", """
SELECT sumIf(value, metric = 'dead_letters') AS dead_letters, sumIf(value, metric = 'given_up') AS given_up
FROM pipeline_metrics
WHERE $__timeFilter(time) AND metric IN ('dead_letters', 'given_up')""", w=8),
        panel("timeseries", "Notifications parked and worker errors", f"""
SELECT {bucket('time', 't')}, label AS what, sum(value) AS count
FROM pipeline_metrics
WHERE $__timeFilter(time) AND component = 'notify' AND metric = 'retries'
GROUP BY t, what
ORDER BY t""", bars=True, w=24, description=(
            "parked: notifications a receiver (PagerDuty, Alertmanager, webhook) did not accept, "
            "kept on notify-retry and tried again; worker errors: retries that failed inside the "
            "worker and were put back. A steady rise of parked means a receiver is down.")),
    ]
    return dashboard("pacs-pipeline-health", "Pipeline health",
                     "Throughput, lag, dead letters and sink health from the worker's pipeline metrics.",
                     panels, [], time_from="now-6h", tags=("ops",))


ROSTER_LATEST = """(
  SELECT user_id, argMax(name, snapshot_time) AS name, argMax(department, snapshot_time) AS department,
    argMax(roles, snapshot_time) AS roles, argMax(status, snapshot_time) AS status,
    argMax(end_date, snapshot_time) AS end_date
  FROM roster_snapshots
  WHERE snapshot_time <= $__toTime
  GROUP BY user_id
) AS roster"""
ELEVATED = "('permission_change', 'config_change', 'emergency_access')"


def access_review() -> dict:
    panels = [
        panel("table", "Inactive accounts", f"""
SELECT user_id, name, department, arrayStringConcat(roles, ', ') AS roles,
  if(toUInt32(last_seen) = 0, 'never', toString(last_seen)) AS last_access
FROM {ROSTER_LATEST}
ANY LEFT JOIN
(
  SELECT user_id, max(hour) AS last_seen
  FROM user_hourly
  WHERE hour <= $__toTime
  GROUP BY user_id
) AS seen USING user_id
WHERE status = 'active' AND last_seen < $__fromTime{filters(user='user_id', department='department')}
ORDER BY last_seen, user_id""", description="Active in the roster, no access in the range: candidates "
              "for disabling.", links={"user_id": INVESTIGATE}),
        panel("table", "Terminated or suspended but active", f"""
SELECT user_id, any(name) AS full_name, any(status) AS roster_status, any(end_date) AS roster_end_date,
  count() AS accesses, uniqExact(patient_id) AS patients, min(event_time) AS first_access,
  max(event_time) AS last_access
FROM events
ALL INNER JOIN
{ROSTER_LATEST} USING user_id
WHERE $__timeFilter(event_time) AND status IN ('terminated', 'suspended')
  AND toDate(event_time) > ifNull(end_date, toDate('1970-01-01')){EVENT_FILTERS}
GROUP BY user_id
ORDER BY accesses DESC""", description="Accesses after the roster end date (or while suspended).",
              links={"user_id": INVESTIGATE}),
        panel("table", "Elevated privileges and their use", f"""
SELECT user_id, arrayStringConcat(argMax(user_roles, event_time), ', ') AS roles,
  countIf(action = 'permission_change') AS permission_changes,
  countIf(action = 'config_change') AS config_changes,
  countIf(action = 'emergency_access') AS emergency_access,
  countIf(action IN ('export', 'share', 'print')) AS exports,
  uniqExactIf(patient_id, patient_id != '') AS patients, count() AS events,
  max(event_time) AS last_access
FROM events
WHERE $__timeFilter(event_time)
  AND (has(user_roles, 'system_administrator') OR action IN {ELEVATED}){EVENT_FILTERS}
GROUP BY user_id
ORDER BY permission_changes + config_changes + emergency_access DESC, events DESC""", w=24,
              description="Administrators, and anyone who changed permissions or configuration or used "
              "emergency (break-glass) access.", links={"user_id": INVESTIGATE}),
        panel("table", "Privilege changes", f"""
SELECT event_time, user_id, action, outcome, target_user_id,
  arrayStringConcat(target_user_roles, ', ') AS target_roles, patient_id, client_ip
FROM events
WHERE $__timeFilter(event_time) AND action IN {ELEVATED}{EVENT_FILTERS}
ORDER BY event_time DESC
LIMIT 500""", w=24),
    ]
    return dashboard("pacs-access-review", "Access review",
                     "Periodic access review: inactive accounts, terminated-but-active accounts, elevated "
                     "privileges and how they are used.",
                     panels, [USER, DEPARTMENT], time_from="now-90d", tags=("compliance",))


def all_dashboards() -> list[dict]:
    return [soc_overview(), user_investigation(), alert_triage(), model_health(), pipeline_health(),
            access_review()]
