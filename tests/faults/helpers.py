"""What the fault-injection tests share: a deterministic workload (rostered users plus terminated
"ghost" users whose every event extends one incident), a producer, exact ClickHouse counts, and a
systemd-like supervisor (Restart=always) for the worker process."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import orjson
from clickhouse_driver import Client
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from tests.integration.worker import WorkerProcess, recent_hour_ms, wait_for, worker_env

T0_MS = recent_hour_ms()  # recent: the alerts of these tests must page (not resolve on arrival)
ACTIVE = [f"user{i:02d}" for i in range(10)]


def ghosts(partitions: int, per_partition: int = 1) -> list[str]:
    """Terminated users whose keys land on every partition (murmur2, as the producers use)."""
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    i = 0
    while any(len(v) < per_partition for v in found.values()):
        name = f"ghost{i}"
        p = (murmur2(name.encode()) & 0x7FFFFFFF) % partitions
        if len(found[p]) < per_partition:
            found[p].append(name)
        i += 1
    return [g for p in sorted(found) for g in found[p]]


def write_roster(path: Path, ghost_ids: list[str]) -> Path:
    lines = ["user_id,name,roles,department,status,end_date"]
    lines += [f"{u},Staff {u},radiologist,neuroradiology,active," for u in ACTIVE]
    lines += [f"{g},Former {g},radiologist,neuroradiology,terminated,2026-10-01" for g in ghost_ids]
    path.write_text("\n".join(lines) + "\n")
    return path


def event(tag: str, i: int, user: str, *, action: str = "view", ms: int | None = None) -> dict:
    """A canonical event; event i of a run happens i seconds after T0 unless `ms` says otherwise."""
    t = T0_MS + i * 1000 if ms is None else ms
    return {
        "schema_version": 1, "event_id": f"{tag}-{i:06d}",
        "event_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1000)) + f".{t % 1000:03d}Z",
        "source": "pacs-main", "action": action,
        "outcome": "minor_failure" if action == "login_failed" else "success",
        "user": {"id": user, "roles": ["radiologist"], "department": "neuroradiology", "mfa": True},
        "patient": {"id": f"MRN{i % 97:04d}"},
        "study": {"uid": f"1.2.840.{i % 211}", "modality": "MR", "department": "neuroradiology"},
    }


def workload(tag: str, start: int, stop: int, ghost_ids: list[str], ghost_every: int = 10) -> list[dict]:
    """Events start..stop-1: every `ghost_every`-th belongs to a ghost (round robin), the rest to
    active users. Event times are one second apart, so each ghost's hits stay in one incident."""
    out = []
    for i in range(start, stop):
        if ghost_ids and i % ghost_every == 0:
            user = ghost_ids[(i // ghost_every) % len(ghost_ids)]
        else:
            user = ACTIVE[i % len(ACTIVE)]
        out.append(event(tag, i, user))
    return out


def produce(bootstrap: str, topic: str, events: list[dict]) -> None:
    """Send and wait for the broker's acknowledgement of every event."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", retries=10)
    try:
        for e in events:
            producer.send(topic, key=e["user"]["id"].encode(), value=orjson.dumps(e))
        producer.flush(60)
    finally:
        producer.close(10)


class Store:
    """Queries of one test database on a ClickHouse server; a closed server answers None."""

    def __init__(self, ch: dict, db: str):
        self.ch, self.db = ch, db
        self.client = Client(host=ch["host"], port=ch["port"], connect_timeout=3, send_receive_timeout=30)

    def query(self, sql: str):
        return self.client.execute(sql.replace("{db}", self.db))

    def ready(self) -> bool:
        try:
            return self.query("SELECT count() FROM system.tables WHERE database = '{db}' "
                              "AND name IN ('events', 'alerts')")[0][0] == 2
        except Exception:
            self.client.disconnect()
            return False

    def rows(self) -> int:
        """Distinct event ids stored so far (0 while the server is unreachable)."""
        try:
            return self.query("SELECT uniqExact(event_id) FROM {db}.events")[0][0]
        except Exception:
            self.client.disconnect()
            return 0

    def exact_counts(self) -> tuple[int, int, int]:
        """(uniqExact(event_id), count() FINAL, plain count()) of the events table."""
        unique = self.query("SELECT uniqExact(event_id) FROM {db}.events")[0][0]
        final = self.query("SELECT count() FROM {db}.events FINAL")[0][0]
        plain = self.query("SELECT count() FROM {db}.events")[0][0]
        return unique, final, plain

    def missing(self, ids: list[str]) -> list[str]:
        stored = {r[0] for r in self.query("SELECT DISTINCT event_id FROM {db}.events")}
        return [i for i in ids if i not in stored]

    def incidents(self, user: str, detector: str = "inactive_user") -> list[tuple[str, int]]:
        """(alert_id, highest event_count) of every alert of `user` by `detector`."""
        return self.query(f"SELECT alert_id, max(event_count) FROM {{db}}.alerts WHERE user_id = '{user}' "
                          f"AND detector = '{detector}' GROUP BY alert_id ORDER BY alert_id")

    def max_feature(self, user: str, feature: str) -> float:
        return self.query(f"SELECT max(feature_values[indexOf(feature_names, '{feature}')]) FROM {{db}}.events "
                          f"WHERE user_id = '{user}'")[0][0]

    def drop(self) -> None:
        try:
            self.query("DROP DATABASE IF EXISTS {db}")
        finally:
            self.client.disconnect()


def assert_exact(store: Store, expected_ids: list[str], what) -> None:
    """Every event stored, nothing twice after dedup: uniqExact(event_id) == count() FINAL == n."""
    n = len(expected_ids)
    wait_for(lambda: store.rows() >= n, 180, what=lambda: f"{n} rows in {store.db}.events; {what()}")
    unique, final, plain = store.exact_counts()
    assert store.missing(expected_ids) == []
    assert (unique, final) == (n, n), f"events in {n}, rows out uniq={unique} final={final} (plain {plain})"


def assert_incidents_continued(store: Store, ghost_events: dict[str, int]) -> None:
    """Each ghost's hits form ONE incident whose event_count is every one of its events: the
    user state was recovered from the changelog, not restarted (that would open a second alert)."""
    for user, n in ghost_events.items():
        got = wait_for(lambda: (rows := store.incidents(user)) and rows[-1][1] >= n and rows, 60,
                       what=lambda: f"alert of {user} counting {n} events: {store.incidents(user)}")
        assert len(got) == 1, f"{user}: the incident restarted after the fault: {got}"
        assert got[0][1] == n, f"{user}: event_count {got[0][1]} != {n} events"


def fault_env(tmp: Path, bootstrap: str, ch: dict, *, name: str = "", extra: dict | None = None) -> dict:
    """An isolated worker with short group timings, so a dead member leaves the group quickly."""
    tmp.mkdir(parents=True, exist_ok=True)
    return worker_env(tmp, bootstrap, ch, name=name, extra={
        "STREAMER_TOPIC_PARTITIONS": "2",
        "STREAMER_KAFKA_SESSION_TIMEOUT": "8",
        "STREAMER_KAFKA_REBALANCE_TIMEOUT": "15",
        "STREAMER_SINK_BATCH_SECONDS": "0.3",
        "STREAMER_SINK_BATCH_SIZE": "500",
        **(extra or {})})


class Supervisor:
    """Restart=always, RestartSec=2 for one worker: what an ops team's systemd unit does."""

    def __init__(self, env: dict, log_path: Path, restart_sec: float = 2.0):
        self.env, self.log_path, self.restart_sec = env, log_path, restart_sec
        self.worker = WorkerProcess(env, log_path).start()
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if not self.worker.alive():
                self.worker.stop()   # closes the log of the dead process
                if self._stop.wait(self.restart_sec):
                    return
                self.restarts += 1
                self.worker = WorkerProcess(self.env, self.log_path).start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.worker.stop()


class Timeline:
    """Elapsed seconds at each step of a scenario, printed (pytest -s shows them) for the report."""

    def __init__(self, name: str):
        self.name, self.t0, self.marks = name, time.monotonic(), []

    def __call__(self, step: str) -> None:
        self.marks.append((step, time.monotonic() - self.t0))
        print(f"[{self.name}] {self.marks[-1][1]:6.1f} s  {step}", flush=True)


def assignments(bootstrap: str, group: str, topic: str) -> list[list[int]]:
    """Partitions of `topic` held by each member of the consumer group (empty while rebalancing)."""
    from kafka import KafkaAdminClient

    logging.getLogger("kafka.admin").setLevel(logging.ERROR)  # Faust's metadata is not the standard one
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        desc = admin.describe_groups([group])[group]
    except ValueError:  # kafka-python cannot decode some Kafka 4.x fields mid-rebalance: try again
        return []
    finally:
        admin.close()
    if desc["group_state"] != "Stable":
        return []
    out = []
    for member in desc["members"]:
        parts = member["member_assignment"]["assigned_partitions"] if member["member_assignment"] else []
        out.append(sorted(p for a in parts if a["topic"] == topic for p in a["partitions"]))
    return out


def worker_lines(logs: list[Path], needles: list[str], limit: int = 200) -> str:
    """The lines of worker logs that contain any of `needles`, each prefixed with its log's name
    (the last `limit`), for a failure message."""
    out = []
    for path in logs:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        out += [f"{path.name}: {line}" for line in text.splitlines() if any(n in line for n in needles)]
    return "\n".join(out[-limit:]) or "(none)"


def fast_alerting(folder: Path) -> Path:
    """schemas/alerting with group_wait 1 s and group_interval 2 s on every route."""
    import shutil

    import yaml

    from streamer.paths import schemas_dir

    shutil.copytree(schemas_dir() / "alerting", folder)
    routes = yaml.safe_load((folder / "routes.yaml").read_text())

    def speed_up(route: dict) -> None:
        route.update(group_wait="1s", group_interval="2s")
        for child in route.get("routes", []):
            speed_up(child)
    speed_up(routes["route"])
    (folder / "routes.yaml").write_text(yaml.safe_dump(routes))
    return folder


class PacedProducer(threading.Thread):
    """Produces events at a steady rate in the background: traffic goes on while a fault happens."""

    def __init__(self, bootstrap: str, topic: str, events: list[dict], per_second: float):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.events, self.per_second = bootstrap, topic, events, per_second
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5, acks="all", retries=10)
            try:
                start = time.monotonic()
                for n, e in enumerate(self.events):
                    time.sleep(max(0.0, start + n / self.per_second - time.monotonic()))
                    producer.send(self.topic, key=e["user"]["id"].encode(), value=orjson.dumps(e))
                producer.flush(60)
            finally:
                producer.close(10)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def finish(self, timeout: float = 120) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the producer did not finish"
        if self.error is not None:
            raise self.error
