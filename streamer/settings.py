"""Typed settings: one field per knob, each read from its environment variable `STREAMER_<NAME>`.

Secrets are `SecretStr` (masked when printed) and may also come from files: set
`STREAMER_SECRETS_DIR` to a folder holding one file per secret, named like its environment
variable (e.g. `STREAMER_CLICKHOUSE_PASSWORD`; Docker/Kubernetes secrets mount this way). `streamer check-config` prints the effective configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamer.paths import var_dir


STAGES = ("normalize", "score", "sink", "notify")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_log_levels(spec: str) -> dict[str, str]:
    """'name=LEVEL,name=LEVEL' (STREAMER_LOG_LEVELS) -> {logger name: level}; ValueError names
    the malformed entry."""
    levels: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, level = item.partition("=")
        if not sep or not name.strip() or level.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"{item!r} is not logger=LEVEL with LEVEL one of {', '.join(LOG_LEVELS)}")
        levels[name.strip()] = level.strip().upper()
    return levels


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STREAMER_",
        env_file=os.environ.get("STREAMER_ENV_FILE"),
        secrets_dir=os.environ.get("STREAMER_SECRETS_DIR"),
        extra="ignore",
        validate_default=True,
    )

    # --- Kafka -----------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated host:port.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol.")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*.")
    kafka_sasl_username: str = Field("", description="SASL user name.")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), description="SASL password (secret).")
    kafka_ssl_cafile: str = Field("", description="CA bundle (PEM) that signed the brokers' certificates.")
    kafka_ssl_certfile: str = Field("", description="Client certificate (PEM) for mutual TLS.")
    kafka_ssl_keyfile: str = Field("", description="Client private key (PEM) for mutual TLS.")
    topic_prefix: str = Field("pacs.audit.", description="Prefix of every topic name the service uses.")
    topic_partitions: int = Field(4, ge=1, le=1024, description=(
        "Partitions of the keyed topics (events, enriched) and of every table changelog: they must "
        "match for co-partitioning. Caps the number of workers that share the load."))
    topic_replication: int = Field(1, ge=1, le=7, description="Replication factor of topics the service creates.")

    # --- Faust worker ----------------------------------------------------------------------
    app_id: str = Field("pacs-streamer", description="Faust application id (consumer group, changelog topic names).")
    data_dir: str = Field(str(var_dir() / "worker"), description="Faust data dir; one per worker process.")
    table_store: str = Field("memory://", description="Faust table store: memory:// or rocksdb:// (production).")
    worker_web_port: int = Field(6066, ge=0, le=65535, description="Faust web port (metrics, health); 0 disables.")
    kafka_rebalance_timeout: float = Field(60.0, gt=0, le=600, description=(
        "Seconds a consumer-group rebalance may take (members must rejoin within it). Lower it on a "
        "single-worker deployment or the embedded broker to start faster."))
    kafka_session_timeout: float = Field(30.0, gt=0, le=600, description=(
        "Seconds without heartbeats before the broker drops a worker from the group."))
    log_levels: str = Field("", description=(
        "Levels of single loggers over the worker's --loglevel, comma-separated, e.g. "
        "'streamer.alert=INFO,aiokafka=ERROR' (notification deliveries are logged at INFO)."))
    consumer_group_instance_id: str = Field("", description="Static membership id; set one per worker to avoid rebalances on restart.")

    # --- ClickHouse --------------------------------------------------------------------------
    clickhouse_transport: Literal["native", "chdb"] = Field(
        "chdb", description="native: clickhouse-driver to a server; chdb: embedded engine in a local folder.")
    clickhouse_host: str = Field("127.0.0.1", description="ClickHouse server host (native transport).")
    clickhouse_port: int = Field(9000, ge=1, le=65535, description="ClickHouse native port (9440 with TLS).")
    clickhouse_user: str = Field("default", description="ClickHouse user.")
    clickhouse_password: SecretStr = Field(SecretStr(""), description="ClickHouse password (secret).")
    clickhouse_database: str = Field("pacs_audit", description="ClickHouse database of every table.")
    clickhouse_secure: bool = Field(False, description="TLS to ClickHouse (native protocol).")
    clickhouse_ca_certs: str = Field("", description="CA bundle that signed the ClickHouse server certificate.")
    clickhouse_chdb_path: str = Field(str(var_dir() / "chdb"), description="Folder of the embedded chdb database.")
    retention_years: int = Field(7, ge=1, le=30, description="Years of audit history kept (HIPAA: 6; typical 5-10).")
    sink_batch_size: int = Field(5000, ge=1, description="Rows per ClickHouse insert at most.")
    sink_batch_seconds: float = Field(1.0, gt=0, description="Longest wait before a partial batch is inserted.")
    sink_retry_seconds: float = Field(20.0, gt=0, description=(
        "How long a sink retries one batch before parking it on the sink-retry topic "
        "(must stay well under the rebalance timeout)."))

    # --- Privacy -------------------------------------------------------------------------------
    pseudonymise: bool = Field(False, description="Replace patient ids and names with a keyed HMAC before storage.")
    pseudonym_key: SecretStr = Field(SecretStr(""), description="HMAC key for pseudonymisation (secret).")

    # --- Detection and models --------------------------------------------------------------
    rules_dir: str = Field("", description="Folder of detector rules; empty: schemas/rules in the project.")
    site_timezone: str = Field("", description=(
        "IANA time zone of the hospital (e.g. Europe/Berlin) for working hours, shifts, odd hours and "
        "weekends; overrides baseline.site_timezone of the rules; empty: the rules' value."))
    model_registry: str = Field(str(var_dir() / "models"), description="Folder of trained model artifacts.")
    model_name: str = Field("", description=(
        "Registry model scored in batches by the worker (promote/rollback are picked up live); "
        "empty: online models only."))
    model_reload_seconds: float = Field(5.0, gt=0, description="How often the worker checks the registry for a promoted model.")
    score_batch_size: int = Field(500, ge=1, le=10000, description="Events scored per batch at most (batch models score a batch in one call).")
    live_users: int = Field(20_000, ge=100, description=(
        "Users whose detection state is kept as live objects (~8 KB each); less recently active "
        "users are kept serialised (~300 B) and loaded again on their next event."))
    producer_linger_seconds: float = Field(0.02, ge=0, le=1, description=(
        "How long the producer waits to fill a batch before sending (each of the two Kafka hops "
        "of an event adds up to this much latency; more batching at high rates)."))
    score_batch_seconds: float = Field(0.02, gt=0, le=5, description="Longest wait to fill a scoring batch (adds to alert latency).")
    stages: str = Field("normalize,score,sink,notify", description=(
        "Agents this worker runs (comma list of normalize, score, sink, notify). A worker with a "
        "subset joins its own consumer group (app id + stage names), so parsers can be scaled "
        "apart from the scoring workers without the two kinds sharing partitions."))
    roster_file: str = Field("", description="Roster CSV loaded at start (the roster topic updates it).")
    watchlist_file: str = Field("", description="Watchlist CSV loaded at start (the watchlist topic updates it).")

    # --- Alerting ------------------------------------------------------------------------------
    alertmanager_url: str = Field("", description="Alertmanager base URL; alerts are POSTed to /api/v2/alerts.")
    pagerduty_url: str = Field("https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint.")
    pagerduty_routing_key: SecretStr = Field(SecretStr(""), description="PagerDuty integration (routing) key (secret).")
    webhook_url: str = Field("", description="Generic webhook receiving alerts as JSON.")
    webhook_secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key signing webhook bodies (secret).")
    grafana_url: str = Field("http://127.0.0.1:3000", description="Grafana base URL used in alert links.")
    notify_retry_seconds: float = Field(5.0, gt=0, le=60, description=(
        "How long one notification is retried before it is parked on notify-retry (the notify "
        "agent waits meanwhile, so keep it short)."))
    alerting_dir: str = Field("", description="Folder of routes.yaml, silences.yaml, inhibit.yaml; empty: schemas/alerting.")
    page_min_severity: Literal["low", "medium", "high", "critical"] = Field(
        "high", description="Lowest severity that pages (PagerDuty, Alertmanager).")

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, v: str) -> str:
        hosts = [h.strip() for h in v.removeprefix("kafka://").split(",") if h.strip()]
        if not hosts:
            raise ValueError("at least one host:port is needed")
        for h in hosts:
            host, sep, port = h.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{h!r} is not host:port")
        return ",".join(hosts)

    @field_validator("site_timezone")
    @classmethod
    def _site_timezone(cls, v: str) -> str:
        v = v.strip()
        if v:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone {v!r}") from None
        return v

    @field_validator("log_levels")
    @classmethod
    def _log_levels(cls, v: str) -> str:
        parse_log_levels(v)
        return v.strip()

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: str) -> str:
        names = [n.strip() for n in v.split(",") if n.strip()]
        unknown = sorted(set(names) - set(STAGES))
        if unknown or not names:
            raise ValueError(f"stages must be a comma list of {', '.join(STAGES)}; got {v!r}")
        return ",".join(n for n in STAGES if n in names)

    def stage_set(self) -> frozenset[str]:
        return frozenset(self.stages.split(","))

    def group_id(self) -> str:
        """Faust app id: the configured one for a full worker, suffixed for a subset of stages."""
        if self.stage_set() == frozenset(STAGES):
            return self.app_id
        return f"{self.app_id}-" + "-".join(n for n in STAGES if n in self.stage_set())

    def topic(self, name: str) -> str:
        """Full topic name of a logical topic (raw, events, deadletter, enriched, alerts, ...)."""
        return f"{self.topic_prefix}{name}"

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{h}" for h in self.kafka_bootstrap.split(","))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def describe(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(field, environment variable, value with secrets masked, description) for every field."""
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "********" if value.get_secret_value() else "(unset)"
        else:
            shown = str(value)
        rows.append((name, f"STREAMER_{name.upper()}", shown, field.description or ""))
    return rows


def _check_config(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        print("configuration is invalid:", file=sys.stderr)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            print(f"  STREAMER_{field.upper()}: {err['msg']} (got {err.get('input')!r})", file=sys.stderr)
        return 1
    width = max(len(r[1]) for r in describe(settings))
    for name, env, shown, desc in describe(settings):
        print(f"{env:<{width}}  {shown}" + (f"    # {desc}" if args.explain else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-config", help="print the effective configuration (secrets masked)")
    p.add_argument("--explain", action="store_true", help="add each setting's description")
    p.set_defaults(func=_check_config)
