"""Run `streamer worker` as a real subprocess against the local stack, for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path


def worker_env(tmp: Path, bootstrap: str, ch: dict | None, *, name: str = "", extra: dict | None = None) -> dict:
    """Environment of an isolated worker: own topic prefix, app id, database and data dir."""
    name = name or uuid.uuid4().hex[:8]
    env = dict(os.environ)
    env.update({
        "STREAMER_KAFKA_BOOTSTRAP": bootstrap,
        "STREAMER_TOPIC_PREFIX": f"t{name}.",
        "STREAMER_APP_ID": f"it-{name}",
        "STREAMER_TOPIC_PARTITIONS": "4",
        "STREAMER_DATA_DIR": str(tmp / "worker"),
        "STREAMER_WORKER_WEB_PORT": "0",
        "STREAMER_SINK_BATCH_SECONDS": "0.5",
    })
    if ch:
        env.update({
            "STREAMER_CLICKHOUSE_TRANSPORT": "native",
            "STREAMER_CLICKHOUSE_HOST": ch["host"],
            "STREAMER_CLICKHOUSE_PORT": str(ch["port"]),
            "STREAMER_CLICKHOUSE_DATABASE": f"it_{name}",
        })
    else:
        env.update({"STREAMER_CLICKHOUSE_TRANSPORT": "chdb", "STREAMER_CLICKHOUSE_CHDB_PATH": str(tmp / "chdb")})
    env.update(extra or {})
    return env


class WorkerProcess:
    def __init__(self, env: dict, log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streamer.cli", "worker", "--loglevel", "WARNING"],
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def recent_hour_ms(hours_back: int = 1) -> int:
    """The start of the UTC hour `hours_back` hours before now, in epoch ms: the event time of
    tests whose alerts must page. The alerting pipeline resolves an alert whose last event is
    older than resolve_timeout (24 h) on the wall clock, so a fixed date in a test pages on the
    day it was written and resolves on arrival a day later."""
    hour = 3_600_000
    return (int(time.time() * 1000) // hour - hours_back) * hour


def wait_for(predicate, timeout: float, interval: float = 0.5, what="condition"):
    """Poll `predicate` until truthy; `what` (text or a callable giving text) explains a time-out."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what} "
                         f"(last: {last!r})")
