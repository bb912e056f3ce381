"""`streamer demo`: the whole pipeline on the embedded default, no service to install.

An embedded Kafka-compatible broker (Tansu) on a free loopback port, the Faust worker as a
subprocess (exactly `streamer worker`) storing into embedded ClickHouse (chdb) under the work
folder, and a synthetic hospital's traffic with injected incidents (an odd-hours access and a bulk
export first, more later) produced into the raw topic. Alerts are shown as they arrive; at the end
(after --duration or Ctrl-C) a summary is read back from ClickHouse.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

from streamer.paths import var_dir

SEV_COLOR = {"low": "36", "medium": "33", "high": "31", "critical": "1;41"}
# one partition: the demo's stream is scored in event-time order, as `streamer replay` scores a
# file. With two, one partition's backlog of history could run days ahead of the other, and a
# user's peers had no history yet when their injected incident was scored (the odd-hours victim
# was then not judged)
DEMO_PARTITIONS = 1
INCIDENTS = ("odd_hours", "bulk_export", "patient_sweep", "failed_login_burst", "watchlist_patient",
             "missing_mfa")


def _c(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if sys.stdout.isatty() else text


def _worker_env(workdir: Path, bootstrap: str, roster: Path, watchlist: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "STREAMER_KAFKA_BOOTSTRAP": bootstrap,
        "STREAMER_TOPIC_PREFIX": "pacs.audit.",
        "STREAMER_APP_ID": "pacs-streamer-demo",
        "STREAMER_TOPIC_PARTITIONS": str(DEMO_PARTITIONS),
        "STREAMER_DATA_DIR": str(workdir / "worker"),
        "STREAMER_WORKER_WEB_PORT": "0",
        "STREAMER_CLICKHOUSE_TRANSPORT": "chdb",
        "STREAMER_CLICKHOUSE_CHDB_PATH": str(workdir / "chdb"),
        "STREAMER_ROSTER_FILE": str(roster),
        "STREAMER_WATCHLIST_FILE": str(watchlist),
        "STREAMER_KAFKA_REBALANCE_TIMEOUT": "3",
        "STREAMER_KAFKA_SESSION_TIMEOUT": "6",
        "STREAMER_SINK_BATCH_SECONDS": "0.5",
    })
    return env


def _print_alert(alert: dict, seen: dict) -> None:
    aid = alert.get("alert_id", "?")
    shown = seen.get(aid, {}).get("_shown_sev")
    alert["_shown_sev"] = alert.get("severity")
    seen[aid] = alert
    if shown == alert.get("severity"):
        return  # the same incident growing: shown once, counted in the summary
    sev = alert.get("severity", "?")
    tag = _c(f"{sev.upper():<8}", SEV_COLOR.get(sev, "0"))
    print(f"{tag} {alert.get('detector', '?'):<20} risk {alert.get('risk', 0):5.1f}  "
          f"{alert.get('summary', '')}", flush=True)


async def _run(workdir: Path, bootstrap: str, traffic, duration: float, stats: dict,
               drain_timeout: float = 120.0) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    consumer = AIOKafkaConsumer("pacs.audit.alerts", "pacs.audit.enriched", bootstrap_servers=bootstrap,
                                group_id=None, auto_offset_reset="earliest")
    await producer.start()
    seen: dict = stats["alerts"]

    async def consume():
        try:
            await _consume()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown, never silent: the summary would be wrong otherwise
            print(_c(f"!! reading alerts failed: {exc!r}", "31"), flush=True)
            raise

    async def _consume():
        for attempt in range(600):  # the worker creates the topic; wait for it
            try:
                await consumer.start()
                break
            except Exception:
                if attempt == 599:
                    raise
                await asyncio.sleep(0.5)
        async for msg in consumer:
            if msg.topic.endswith("enriched"):
                stats["scored"] += 1
                continue
            try:
                _print_alert(orjson.loads(msg.value), seen)
            except orjson.JSONDecodeError:
                pass

    async def produce():
        t0 = time.monotonic()
        last = t0
        async for event in traffic:
            await producer.send("pacs.audit.raw", key=event["user"]["id"].encode(), value=orjson.dumps(event))
            stats["produced"] += 1
            now = time.monotonic()
            if now - last > 10:
                last = now
                print(_c(f"-- {stats['produced']:,} events sent, {stats['scored']:,} scored, {len(seen)} alerts, "
                         f"hospital time {event['event_time'][:16]}", "2"), flush=True)
            if now - t0 > duration:
                break
        await producer.flush()

    cons = asyncio.create_task(consume())
    try:
        await produce()
        # let the worker drain: every event scored (bounded), then a few quiet seconds for alerts
        print(_c(f"-- traffic stopped after {stats['produced']:,} events; waiting for the worker to "
                 f"finish ({stats['scored']:,} scored)", "2"), flush=True)
        deadline = time.monotonic() + drain_timeout
        while stats["scored"] < stats["produced"] and time.monotonic() < deadline \
                and stats["worker"].poll() is None and not cons.done():
            await asyncio.sleep(0.5)
        if stats["worker"].poll() is not None:
            print(_c(f"!! the worker exited with code {stats['worker'].returncode}", "31"), flush=True)
        elif stats["scored"] < stats["produced"]:
            print(_c(f"!! the worker had scored {stats['scored']:,} of {stats['produced']:,} events after "
                     f"{drain_timeout:g} s", "31"), flush=True)
        while not await asyncio.to_thread(_sink_caught_up, bootstrap) and time.monotonic() < deadline \
                and stats["worker"].poll() is None:
            await asyncio.sleep(1.0)
        quiet, n = 0, len(seen)
        while quiet < 3 and stats["worker"].poll() is None:
            await asyncio.sleep(1)
            quiet = quiet + 1 if len(seen) == n else 0
            n = len(seen)
    finally:
        cons.cancel()
        await producer.stop()
        try:
            await consumer.stop()
        except Exception:
            pass


def _sink_caught_up(bootstrap: str) -> bool:
    """True when the worker's group has committed every offset of the enriched topic (stored)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        committed = admin.list_consumer_group_offsets("pacs-streamer-demo")
        admin.close()
        consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        tps = [TopicPartition("pacs.audit.enriched", p) for p in range(2)]
        ends = consumer.end_offsets(tps)
        consumer.close()
        return all(committed.get(tp) is not None and committed[tp].offset >= ends[tp] for tp in tps)
    except Exception:
        return False


def _summary(workdir: Path, stats: dict, labels: list) -> None:
    from streamer.settings import Settings
    from streamer.store import open_store

    print("\n" + _c("== summary", "1"))
    print(f"events produced: {stats['produced']:,}")
    alerts = stats["alerts"]
    by_det = Counter(a.get("detector") for a in alerts.values())
    print(f"alerts (incidents): {len(alerts)}  " + ", ".join(f"{k} {v}" for k, v in by_det.most_common()))
    for inc in labels:
        ids = set(inc.get("event_ids", []))
        hit = [a for a in alerts.values() if ids & set(a.get("event_ids", []))]
        mark = _c("detected", "32") if hit else _c("missed", "31")
        print(f"  injected {inc['type']:<20} user {inc['user_id']:<12} {mark}"
              + (f" by {', '.join(sorted({a['detector'] for a in hit}))}" if hit else ""))
    try:
        settings = Settings(clickhouse_transport="chdb", clickhouse_chdb_path=str(workdir / "chdb"))
        store = open_store(settings)
        events = store.table("events")
        rows = store.query(f"SELECT count() AS n, uniqExact(user_id) AS users FROM {events}")
        top = store.query(f"SELECT user_id, max(risk) AS risk FROM {events} GROUP BY user_id "
                          "ORDER BY risk DESC LIMIT 5")
        store.close()
        print(f"stored in embedded ClickHouse ({workdir / 'chdb'}): {rows[0]['n']:,} events of "
              f"{rows[0]['users']} users")
        print("top risk: " + ", ".join(f"{r['user_id']} {float(r['risk']):.0f}" for r in top))
    except Exception as exc:  # the summary must not hide the run's result
        print(f"(could not read the embedded ClickHouse: {exc})")


def run_demo(*, duration: float = 90.0, speed: float = 120.0, users: int = 60, seed: int = 1,
             workdir: str = "", history_days: int = 8) -> int:
    from streamer.runtime.embedded import EmbeddedBroker
    from streamer.runtime.topics import ensure_topics
    from streamer.settings import Settings
    from streamer.simulate.hospital import write_roster, write_watchlist
    from streamer.simulate.live import LiveTraffic

    wd = Path(workdir) if workdir else var_dir() / "demo"
    shutil.rmtree(wd, ignore_errors=True)
    wd.mkdir(parents=True)
    live = LiveTraffic(seed, speed, users=users, history_days=history_days, incidents=INCIDENTS)
    write_roster(live.sim.h, wd / "roster.csv")
    write_watchlist(live.sim.h, wd / "watchlist.csv")

    async def traffic():
        for due, event in live.schedule(time.monotonic):
            if due is not None:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield event

    print(_c(f"PACS access anomaly detection - demo ({users} users, {speed:g}x hospital time, "
             f"{duration:g} s)", "1"))
    stats: dict = {"produced": 0, "scored": 0, "alerts": {}}
    with EmbeddedBroker(log_file=wd / "broker.log") as broker:
        print(f"embedded broker (Tansu) on {broker.bootstrap}; embedded ClickHouse in {wd / 'chdb'}")
        env = _worker_env(wd, broker.bootstrap, wd / "roster.csv", wd / "watchlist.csv")
        ensure_topics(Settings(kafka_bootstrap=broker.bootstrap, topic_partitions=DEMO_PARTITIONS))
        log = open(wd / "worker.log", "wb")
        worker = subprocess.Popen([sys.executable, "-m", "streamer.cli", "worker", "--loglevel", "WARNING"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        stats["worker"] = worker
        print(f"worker pid {worker.pid} (log {wd / 'worker.log'}); sending {history_days} days of history (baselines), then live "
              f"traffic with injected incidents ...", flush=True)
        interrupted = False
        try:
            asyncio.run(_run(wd, broker.bootstrap, traffic(), duration, stats))
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: stopping")
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            log.close()
    failed = worker.returncode not in (0, -signal.SIGTERM, None) and not interrupted
    _summary(wd, stats, live.labels())
    if failed:
        print(f"the worker exited with {worker.returncode}; see {wd / 'worker.log'}")
        return 1
    return 0
