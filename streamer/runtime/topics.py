"""The Kafka topics the service uses, created explicitly (never by auto-creation).

Keyed topics that feed tables (events, enriched, alerts) share `topic_partitions` with the table
changelogs: Faust's co-partitioning rule. Context feeds are compacted so a restarted worker reads
the latest roster and watchlist. Internal Faust topics (changelogs) are created by Faust itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from streamer.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str          # logical name; full name is settings.topic(name)
    keyed: bool        # partitions = settings.topic_partitions when True
    compacted: bool = False
    retention_ms: int | None = None
    doc: str = ""


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("raw", keyed=True, doc="bytes as the PACS / rsyslog sent them (ATNA XML, syslog, FHIR, JSON)"),
    TopicSpec("events", keyed=True, doc="canonical access events, key = user id"),
    TopicSpec("deadletter", keyed=False, doc="rejected input with reason, format and original bytes"),
    TopicSpec("enriched", keyed=True, doc="canonical events + features, scores, detectors, risk"),
    TopicSpec("alerts", keyed=True, doc="alerts (contract section 3), key = user id"),
    TopicSpec("roster", keyed=False, compacted=True, doc="HR / identity roster, key = user id"),
    TopicSpec("watchlist", keyed=False, compacted=True, doc="VIP / employee / restricted patients, key = patient id"),
    TopicSpec("control", keyed=False, doc="model promotions and reload commands"),
    TopicSpec("sink-retry", keyed=False, doc="batches a ClickHouse sink could not write yet"),
    TopicSpec("notify-retry", keyed=True, doc="notifications a receiver did not accept yet"),
    TopicSpec("notify-in", keyed=True, retention_ms=86_400_000,
              doc="alerts for the notification pipeline plus clock ticks to every partition (groups "
                  "flush inside stream iteration); the alerts topic keeps one consumer, the sink"),
)


def partitions_of(spec: TopicSpec, settings: Settings) -> int:
    return settings.topic_partitions if spec.keyed else 1


def admin_config(settings: Settings) -> dict:
    """kafka-python client arguments (security) from settings."""
    cfg: dict = {"bootstrap_servers": settings.kafka_bootstrap.split(","),
                 "security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol.startswith("SASL"):
        cfg.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                   sasl_plain_username=settings.kafka_sasl_username,
                   sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        cfg.update(ssl_cafile=settings.kafka_ssl_cafile or None,
                   ssl_certfile=settings.kafka_ssl_certfile or None,
                   ssl_keyfile=settings.kafka_ssl_keyfile or None, ssl_check_hostname=True)
    return cfg


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics; fail loudly when an existing keyed topic has the wrong partition count."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(request_timeout_ms=int(timeout_s * 1000), **admin_config(settings))
    try:
        existing = set(admin.list_topics())
        wanted = {settings.topic(s.name): s for s in TOPICS}
        new = []
        for full, spec in wanted.items():
            if full in existing:
                continue
            configs = {"cleanup.policy": "compact"} if spec.compacted else {}
            if spec.retention_ms:
                configs["retention.ms"] = str(spec.retention_ms)
            new.append(NewTopic(full, partitions_of(spec, settings), settings.topic_replication,
                                topic_configs=configs))
        if new:
            try:
                admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
            except TopicAlreadyExistsError:
                pass
            log.info("created topics: %s", ", ".join(t.name for t in new))
        mismatched = []
        for meta in admin.describe_topics([t for t, s in wanted.items() if s.keyed]):
            if meta.get("error_code"):
                continue
            n = len(meta["partitions"])
            if n != settings.topic_partitions:
                mismatched.append(f"{meta.get('name') or meta.get('topic')} has {n} partitions, settings say {settings.topic_partitions}")
        if mismatched:
            raise RuntimeError("topic partition counts do not match STREAMER_TOPIC_PARTITIONS "
                               "(tables need co-partitioned input): " + "; ".join(mismatched))
        return [t.name for t in new]
    finally:
        admin.close()


def aiokafka_config(settings: Settings) -> dict:
    """aiokafka client arguments (security) from settings."""
    cfg: dict = {"bootstrap_servers": settings.kafka_bootstrap,
                 "security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        import ssl

        ctx = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        if settings.kafka_ssl_certfile:
            ctx.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None)
        cfg["ssl_context"] = ctx
    if settings.kafka_security_protocol.startswith("SASL"):
        cfg.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                   sasl_plain_username=settings.kafka_sasl_username,
                   sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    return cfg
