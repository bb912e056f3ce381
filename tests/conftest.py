"""Shared fixtures. Real-infrastructure tests carry a marker (kafka, clickhouse, rsyslog) and
use the services that `docker/stack.sh start` runs on loopback. When STREAMER_REQUIRE_SERVICES=1
(set by .ci/run) a missing service fails the test instead of skipping it."""

from __future__ import annotations

import os
import socket

import pytest

REQUIRE = os.environ.get("STREAMER_REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    msg = f"{service} not reachable at {host}:{port} (start it with: bash docker/stack.sh start)"
    if REQUIRE:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """host:port of the real Apache Kafka broker of the local stack."""
    bootstrap = os.environ.get("STACK_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    _need("Apache Kafka", host, int(port))
    return bootstrap


@pytest.fixture(scope="session")
def clickhouse_server() -> dict:
    """Connection parameters of the real ClickHouse server of the local stack."""
    host = os.environ.get("STACK_CLICKHOUSE_HOST", "127.0.0.1")
    port = int(os.environ.get("STACK_CLICKHOUSE_PORT", "19000"))
    _need("ClickHouse server", host, port)
    return {"host": host, "port": port, "http_port": int(os.environ.get("STACK_CLICKHOUSE_HTTP_PORT", "18123"))}


INFRA_MARKERS = ("kafka", "clickhouse", "rsyslog", "embedded")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped real-infrastructure test is a failure: nothing is silently not tested."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE and report.skipped and not hasattr(report, "wasxfail") \
            and any(item.get_closest_marker(m) for m in INFRA_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"real-infrastructure test skipped in CI: {report.longrepr}"
