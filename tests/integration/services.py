"""Private Apache Kafka and ClickHouse servers (own folder, free loopback ports) for tests that stop
or restart them. The shared stack's servers (19092, 19000) are never touched from here."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Private:
    """One server run by its docker/<name>/ctl.sh with a private environment."""

    script: Path
    env: dict

    def ctl(self, action: str, timeout: float = 240) -> subprocess.CompletedProcess:
        result = subprocess.run(["bash", str(self.script), action], env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if action != "status" and result.returncode != 0:
            raise AssertionError(f"{self.script.parent.name}/ctl.sh {action} failed ({result.returncode}):\n"
                                 f"{result.stderr[-3000:]}")
        return result

    def start(self):
        self.ctl("start")
        return self

    def stop(self) -> None:
        self.ctl("stop")

    def restart(self) -> None:
        self.ctl("restart")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class PrivateKafka(_Private):
    """A one-node KRaft broker with its data under `folder`; the jars are the shared stack's."""

    script = ROOT / "docker" / "kafka" / "ctl.sh"

    def __init__(self, folder: Path, heap: str = "-Xms128m -Xmx384m"):
        self.port, self.controller_port = free_port(), free_port()
        self.env = {**os.environ, "STREAMER_VAR_DIR": str(folder), "KAFKA_PORT": str(self.port),
                    "KAFKA_CONTROLLER_PORT": str(self.controller_port), "KAFKA_HEAP_OPTS": heap}
        shared_libs = ROOT / "var" / "kafka" / "libs"
        (folder / "kafka").mkdir(parents=True, exist_ok=True)
        if (shared_libs / ".complete").exists() and not (folder / "kafka" / "libs").exists():
            (folder / "kafka" / "libs").symlink_to(shared_libs)   # no second Maven resolution
        self.bootstrap = f"127.0.0.1:{self.port}"


class PrivateClickHouse(_Private):
    """A ClickHouse server with its data under `folder`; `info` is shaped like the
    `clickhouse_server` fixture (host, port, http_port)."""

    script = ROOT / "docker" / "clickhouse" / "ctl.sh"

    def __init__(self, folder: Path):
        self.port, self.http_port = free_port(), free_port()
        self.env = {**os.environ, "CLICKHOUSE_VAR": str(folder), "CLICKHOUSE_TCP_PORT": str(self.port),
                    "CLICKHOUSE_HTTP_PORT": str(self.http_port)}
        self.info = {"host": "127.0.0.1", "port": self.port, "http_port": self.http_port}
