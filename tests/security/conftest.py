"""Secured services for the security tests: a second Apache Kafka broker with SSL (mutual TLS) and
SASL_SSL/SCRAM-SHA-512 listeners, and a private ClickHouse server with a TLS native port, both with
certificates from a test CA made by openssl (docker/kafka/secure.sh, docker/clickhouse/tls.sh).
A service started here is stopped at the end of the session; one already running is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("STREAMER_REQUIRE_SERVICES") == "1"
if str(ROOT) not in sys.path:   # tests.integration helpers, also under a bare `pytest`
    sys.path.insert(0, str(ROOT))


def _script_env(script: str) -> dict:
    out = subprocess.run(["bash", str(ROOT / script), "env"], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _service(script: str, what: str):
    status = subprocess.run(["bash", str(ROOT / script), "status"], capture_output=True)
    started = False
    if status.returncode != 0 or script.endswith("secure.sh"):   # secure.sh start also (re)creates the user
        run = subprocess.run(["bash", str(ROOT / script), "start"], capture_output=True, text=True, timeout=240)
        if run.returncode != 0:
            msg = f"{what} could not start ({script} start): {run.stderr[-1500:]}"
            pytest.fail(msg) if REQUIRE else pytest.skip(msg)
        started = status.returncode != 0
    return started


@pytest.fixture(scope="session")
def secure_kafka(kafka_bootstrap) -> dict:
    """STREAMER_* variables of a client on the SASL_SSL listener, plus `ssl_bootstrap` (mutual TLS),
    `certs` (folder of ca.pem, client.pem, client.key) and `password` (the SCRAM password)."""
    started = _service("docker/kafka/secure.sh", "the secured Kafka broker")
    env = _script_env("docker/kafka/secure.sh")
    certs = Path(env["STREAMER_KAFKA_SSL_CAFILE"]).parent
    secrets = Path(env["STREAMER_SECRETS_DIR"])
    yield {"env": env, "ssl_bootstrap": "127.0.0.1:19194", "certs": certs,
           "password": (secrets / "streamer_kafka_sasl_password").read_text().strip()}
    if started:
        subprocess.run(["bash", str(ROOT / "docker/kafka/secure.sh"), "stop"], capture_output=True)


@pytest.fixture(scope="session")
def tls_clickhouse(clickhouse_server) -> dict:
    """STREAMER_* variables of a client of the TLS ClickHouse server, plus `password`."""
    started = _service("docker/clickhouse/tls.sh", "the TLS ClickHouse server")
    env = _script_env("docker/clickhouse/tls.sh")
    yield {"env": env, "password": (Path(env["STREAMER_SECRETS_DIR"]) / "streamer_clickhouse_password")
           .read_text().strip()}
    if started:
        subprocess.run(["bash", str(ROOT / "docker/clickhouse/tls.sh"), "stop"], capture_output=True)
