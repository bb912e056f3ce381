"""Streaming anomaly detection for PACS access audit logs.

Data flow, one sub-package per stage:

    ingest/     raw bytes from Kafka, syslog framing, rsyslog hand-off
    normalize/  DICOM/ATNA XML, RFC 3881, syslog, FHIR AuditEvent, JSON -> canonical events
    score/      per-user state, detectors and online models -> enriched events, candidate alerts
    alert/      fingerprint, group, inhibit, silence, dedup, notify
    store/      ClickHouse migrations and sinks (server and embedded chdb)
    runtime/    Faust app and agents, embedded broker, demo, local stack helpers
"""

__version__ = "0.1.0"
