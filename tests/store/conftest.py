"""Stores for the storage tests: chdb in a temporary folder, and the real ClickHouse server
(a fresh database per test, dropped afterwards)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from streamer.store.chdb_store import ChdbStore
from streamer.store.native import NativeStore
from streamer.store.rows import Pseudonymiser

CTL = Path(__file__).resolve().parents[2] / "docker" / "clickhouse" / "ctl.sh"


def build_event(i: int, user: str = "jdoe", patient: str = "MRN1", action: str = "view",
               time: str | None = None) -> dict:
    """A complete enriched event (contract section 1 + enrichment)."""
    return {
        "schema_version": 1, "event_id": f"ev-{i}",
        "event_time": time or f"2026-11-30T03:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
        "source": "pacs-main", "action": action, "outcome": "success",
        "user": {"id": user, "name": "Jane Doe", "roles": ["radiologist"], "department": "neuroradiology",
                 "mfa": True, "session_id": "s-1"},
        "client": {"ip": "10.0.0.5", "host": "ws-12", "remote": False, "location": "main-campus"},
        "patient": {"id": patient, "name": f"DOE^{patient}"},
        "study": {"uid": f"1.2.840.{i}", "accession": "A123", "modality": "MR", "department": "neuroradiology",
                  "sensitivity": "normal", "instances": 240, "bytes": 1000},
        "destination": {"type": "dicom_node", "id": "EXT_AE", "external": True},
        "detail": {"note": "x"},
        "enrichment": {"peer_group": "radiologist|neuroradiology", "features": {"exports_1h": 2.0, "views_1h": 5.0},
                       "anomaly_score": 0.25, "model_version": "m1", "detectors": [], "risk": 10.0,
                       "severity": "none", "expected": {"exports_1h": 1.0}},
    }


def _chdb(tmp_path, **kwargs) -> ChdbStore:
    return ChdbStore(str(tmp_path / "chdb"), "pacs_test", **kwargs)


def _native(server: dict, **kwargs) -> NativeStore:
    db = "t_" + uuid.uuid4().hex[:12]
    return NativeStore(server["host"], server["port"], db, **kwargs)


@pytest.fixture
def chdb_store(tmp_path):
    store = _chdb(tmp_path)
    yield store
    store.close()


@pytest.fixture
def native_store(clickhouse_server):
    store = _native(clickhouse_server)
    yield store
    store.execute(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


@pytest.fixture(params=["chdb", pytest.param("native", marks=pytest.mark.clickhouse)])
def store_factory(request, tmp_path):
    """Callable(**store kwargs) -> a new empty store of the parametrized transport."""
    made = []

    def factory(**kwargs):
        if request.param == "chdb":
            store = _chdb(tmp_path, **kwargs)
        else:
            store = _native(request.getfixturevalue("clickhouse_server"), **kwargs)
        made.append(store)
        return store

    yield factory
    for store in made:
        if store.transport == "native":
            store.execute(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()


@pytest.fixture
def store(store_factory):
    return store_factory()


@pytest.fixture
def make_event():
    """build_event(i, user=, patient=, action=, time=) -> enriched event dict."""
    return build_event


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser([b"current-key", b"retired-key"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServer:
    """A ClickHouse server of our own (own folder and ports), so a test may stop and start it."""

    def __init__(self, folder: Path):
        self.env = {**os.environ, "CLICKHOUSE_VAR": str(folder), "CLICKHOUSE_TCP_PORT": str(_free_port()),
                    "CLICKHOUSE_HTTP_PORT": str(_free_port())}
        self.port = int(self.env["CLICKHOUSE_TCP_PORT"])

    def ctl(self, action: str) -> subprocess.CompletedProcess:
        result = subprocess.run(["bash", str(CTL), action], env=self.env, capture_output=True, text=True,
                                timeout=120)
        if action != "status" and result.returncode != 0:
            raise AssertionError(f"ctl.sh {action} failed: {result.stderr}")
        return result


@pytest.fixture
def private_server(tmp_path_factory, clickhouse_server):
    """A second, private server (needs clickhouse-server installed, like the shared one)."""
    if not shutil.which("clickhouse-server") and not Path("/usr/sbin/clickhouse-server").exists():
        msg = "clickhouse-server is not installed"
        pytest.fail(msg) if os.environ.get("STREAMER_REQUIRE_SERVICES") == "1" else pytest.skip(msg)
    server = PrivateServer(tmp_path_factory.mktemp("chserver"))
    server.ctl("start")
    yield server
    server.ctl("stop")
