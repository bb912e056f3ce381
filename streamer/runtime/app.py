"""The Faust application: thin agents that decode, call the stage functions and send.

    raw --normalize--> events --score--> enriched --sink--> ClickHouse (access_events)
            |                    |                 \
            v                    v                  sink-retry (ClickHouse down: parked, re-tried)
        deadletter            alerts --notify--> Alertmanager / PagerDuty / webhook (notify-retry)
                                     --sink----> ClickHouse (alerts)

Delivery is at-least-once. An exception inside a Faust agent acks (and commits) the event, so no
agent lets one escape: a record that cannot be processed goes to the dead-letter topic with the
reason, and a sink that cannot write parks its batch on sink-retry. Everything stored in ClickHouse
is deduplicated on its id, so the redeliveries of at-least-once never double count.
Agents that keep state run with concurrency 1 (faust-streaming #606).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import socket
import logging
import ssl
import time

import faust
import orjson

from streamer.runtime.metrics import METRICS
from streamer.settings import Settings
from streamer.timeutil import format_ms

NOTIFY_ATTEMPTS = 3  # pushes of one alert into a rebuilt pipeline before it is dead-lettered

log = logging.getLogger(__name__)


def _credentials(settings: Settings):
    proto = settings.kafka_security_protocol
    if proto == "PLAINTEXT":
        return None
    ctx = None
    if proto in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
        if settings.kafka_ssl_certfile:
            ctx.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None)
    if proto.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism, ssl_context=ctx)
    return faust.SSLCredentials(ctx)


def dead_letter(reason: str, value: bytes, *, stage: str, fmt: str = "", message=None) -> bytes:
    """A dead-letter record for a message a stage could not process (never loses the bytes)."""
    rec = {"reason": reason, "stage": stage, "format": fmt,
           "original_b64": base64.b64encode(value or b"").decode(),
           "rejected_at": format_ms(int(time.time() * 1000))}
    if message is not None:
        rec.update(topic=message.topic, partition=message.partition, offset=message.offset)
    return orjson.dumps(rec)


def create_app(settings: Settings, *, engine=None, store=None, pipeline=None) -> faust.App:
    """Build the app with its topics, tables and agents. `engine`, `store` and `pipeline` may be
    injected (tests); by default they are built from settings when the worker starts."""
    from streamer.runtime import faust_fixes

    faust_fixes.install()  # before the consumer exists: records discarded in a rebalance are read again
    stages = settings.stage_set()
    app = faust.App(
        settings.group_id(),
        broker=settings.faust_broker,
        broker_credentials=_credentials(settings),
        store=settings.table_store,
        datadir=settings.data_dir,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=500,
        broker_rebalance_timeout=settings.kafka_rebalance_timeout,
        broker_session_timeout=settings.kafka_session_timeout,
        broker_request_timeout=max(90.0, settings.kafka_session_timeout + 5),
        producer_linger=settings.producer_linger_seconds,
        # aiokafka's 16 KB default holds ~8 dead letters or ~16 enriched events: a produce request
        # per handful of records, and the sender's socket writes then cost more than the parsing
        producer_max_batch_size=512 * 1024,
        web_enabled=settings.worker_web_port > 0,
        web_port=settings.worker_web_port or 6066,
        web_bind="127.0.0.1",
        consumer_group_instance_id=settings.consumer_group_instance_id or None,
    )
    P = settings.topic_partitions

    def topic(name: str, keyed: bool = True):
        return app.topic(settings.topic(name), key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw",
                         partitions=P if keyed else 1)

    t_raw, t_events, t_enriched, t_alerts = (topic(n) for n in ("raw", "events", "enriched", "alerts"))
    t_dead, t_sink_retry = topic("deadletter", False), topic("sink-retry", False)
    t_notify_in, t_notify_retry = topic("notify-in"), topic("notify-retry")

    def agent(stage: str, channel):
        """app.agent for a stage this worker runs; otherwise the function is left unregistered."""
        return app.agent(channel) if stage in stages else (lambda fn: fn)

    user_state = None if "score" not in stages else app.Table("user-state", default=None, partitions=P, use_partitioner=True,
                           key_type=bytes, value_type=bytes)  # bytes -> "raw" codec

    # alert pipeline state and delivery log, one pipeline per partition (keys "p<partition>/...")
    alert_state = None if "notify" not in stages else app.Table("alert-state", default=None, partitions=P, key_type=str, value_type=bytes)
    delivered = None if "notify" not in stages else app.Table("notify-delivered", default=None, partitions=P, key_type=str, value_type=bytes)

    ctx: dict = {"engine": engine, "store": store, "pipeline": pipeline}
    # one thread owns the store: clickhouse-driver clients and chdb sessions are not thread-safe
    store_thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
    app.pacs = ctx  # type: ignore[attr-defined]  (tests and the demo look inside)

    # ---------------------------------------------------------------- normalize
    @agent("normalize", t_raw)
    async def normalize(stream):
        """Raw records in small batches (no table here, so take_events is safe); every record ends
        as canonical events or a dead letter carrying its topic/partition/offset and key."""
        from streamer.normalize import normalize_record

        async for batch in stream.take_events(settings.score_batch_size, within=settings.score_batch_seconds):
            n_events = n_dead = 0
            for ev in batch:
                msg = ev.message
                try:
                    events, dead = normalize_record(ev.value or b"", topic=msg.topic, partition=msg.partition,
                                                    offset=msg.offset, key=ev.key)
                except Exception as exc:  # the parser promises not to raise; belt and braces
                    log.exception("normalize failed at %s/%s/%s", msg.topic, msg.partition, msg.offset)
                    events, dead = [], []
                    await t_dead.send(key=ev.key, value=dead_letter(f"normalizer error: {exc!r}", ev.value,
                                                                    stage="normalize", message=msg))
                for e in events:
                    await t_events.send(key=e["user"]["id"].encode(), value=orjson.dumps(e))
                for d in dead:
                    await t_dead.send(key=ev.key, value=orjson.dumps(d))
                n_events += len(events)
                n_dead += len(dead)
            METRICS.inc("normalize.in", len(batch))
            METRICS.inc("normalize.events", n_events)
            METRICS.inc("normalize.rejected", n_dead)

    # ---------------------------------------------------------------- score
    loaded: set[bytes] = set()
    rescan = {"needed": True}

    @app.on_partitions_revoked.connect
    async def _forget(app_, revoked, **kwargs):  # state of users now owned elsewhere is stale
        loaded.clear()
        rescan["needed"] = True
        if ctx["engine"] is not None and hasattr(ctx["engine"], "forget_users"):
            ctx["engine"].forget_users()

    async def send_alert(key: bytes, value: bytes) -> None:
        """An alert goes to the public alerts topic (read by the sink and by SOC tools) and to the
        notification pipeline's own topic: one Faust consumer per topic, since a topic with two
        subscribing agents can wedge a rebalance (a reference left by a cleared queue)."""
        await t_alerts.send(key=key, value=value)
        await t_notify_in.send(key=key, value=value)

    @agent("score", t_events)
    async def score(stream):
        """Micro-batches (size/time bounded) so batch models score many events per call and each
        user's state is written once per batch. The state table uses the producer's partitioner
        on the raw user-id key: the same partition as the events topic (co-partitioned).
        Nothing may escape the loop (an exception acks the batch, with its effects unwritten):
        what a batch leaves behind is written by `emit_durably`, which never raises."""
        eng = ctx["engine"]
        clock = {"last_flush": time.monotonic(), "max_event_ms": 0}
        state_topic = user_state.changelog_topic.get_topic_name()

        async def emit(users, enriched: list[dict], alerts: list[tuple[bytes, dict]]) -> None:
            """The effects of scored events: their users' state, the enriched events, the alerts.
            All of it is written again when retried: a state row is the whole state, and enriched
            events and alerts are deduplicated on their ids downstream."""
            # the state writes pick their partition without waiting for metadata (faust_fixes)
            await faust_fixes.wait_for_partitions(app.producer, state_topic, timeout=10.0)
            for uid in users:
                user_state[uid.encode()] = eng.export_user(uid)  # partitioner-keyed: safe in take()
            for e in enriched:
                await t_enriched.send(key=e["user"]["id"].encode(), value=orjson.dumps(e))
            for key, a in alerts:
                await send_alert(key, orjson.dumps(a))

        async def emit_durably(users, enriched: list[dict], alerts: list[tuple[bytes, dict]]) -> None:
            """`emit` with retries and backoff, as the sinks write (the engine's state has moved on:
            the events are not scored again). After settings.sink_retry_seconds of failures the
            enriched events and alerts go to the dead-letter topic instead, explicit and counted;
            when even that fails, both are tried again. Never raises."""
            deadline, delay = time.monotonic() + settings.sink_retry_seconds, 0.2
            while True:
                try:
                    await emit(users, enriched, alerts)
                    return
                except Exception as exc:
                    METRICS.inc("score.retries")
                    if time.monotonic() + delay <= deadline:
                        log.warning("score: writing the results of %d events failed (%r); trying again",
                                    len(enriched), exc)
                    else:
                        log.error("score: the results of %d events could not be written for %.0f s (%r): "
                                  "dead-lettering them", len(enriched), settings.sink_retry_seconds, exc)
                        reason = f"score output not written: {exc!r}"
                        if await dead_letters([orjson.dumps(e) for e in enriched]
                                              + [orjson.dumps(a) for _, a in alerts], reason, "score-output"):
                            METRICS.inc("score.failed", len(enriched))
                            return
                        deadline = time.monotonic() + settings.sink_retry_seconds
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)

        async def dead_letters(values: list[bytes], reason: str, stage: str) -> bool:
            """Dead letters for `values`, True once Kafka has them all."""
            try:
                futs = [await t_dead.send(value=dead_letter(reason, v, stage=stage)) for v in values]
                await asyncio.gather(*futs)
                return True
            except Exception as exc:
                log.error("could not dead-letter %d records (%r)", len(values), exc)
                return False

        async def sweep() -> None:
            """Incidents idle past their gap resolve (event time is the clock). Runs after a batch,
            at most every 5 s, and at once after an assignment: users known only from the table
            (a restart, a rebalance) may have open incidents that no new event of theirs will close."""
            if not clock["max_event_ms"] or not (rescan["needed"] or time.monotonic() - clock["last_flush"] > 5.0):
                return
            clock["last_flush"] = time.monotonic()
            try:
                if rescan["needed"]:
                    rescan["needed"] = False
                    for key, blob in list(user_state.items()):
                        if key not in loaded and blob:
                            eng.import_user(key.decode(), blob)
                            loaded.add(key)
                resolved = eng.flush(clock["max_event_ms"])
            except Exception:
                log.exception("score: the sweep of idle incidents failed")
                METRICS.inc("score.sweep_errors")
                return
            if resolved:
                alerts = [(str(a.get("user_id", "")).encode(), a) for a in resolved]
                await emit_durably({key.decode() for key, _ in alerts}, [], alerts)

        async def score_batch(values: list[bytes]):
            """Parse, load state, score: (users, enriched, alerts), or None when nothing is left
            to write (every event dead-lettered)."""
            batch, users, batch_max_ms = [], set(), 0
            for value in values:
                try:
                    event = orjson.loads(value)
                    uid = event["user"]["id"]
                    ms = _event_ms(event)
                    if not isinstance(uid, str) or not uid or not ms:
                        raise ValueError("user.id and a valid event_time are required")
                except Exception as exc:
                    METRICS.inc("score.failed")
                    await t_dead.send(value=dead_letter(f"not a scorable event: {exc!r}", value, stage="score"))
                    continue
                batch.append(event)
                users.add(uid)
                batch_max_ms = max(batch_max_ms, ms)
            if not batch:
                return None
            try:
                for uid in users:
                    key = uid.encode()
                    if key not in loaded:
                        blob = user_state.get(key)
                        if blob:
                            eng.import_user(uid, blob)
                        loaded.add(key)
                results = eng.process_many(batch)
            except Exception as exc:
                log.exception("scoring failed for a batch of %d events", len(batch))
                METRICS.inc("score.failed", len(batch))
                for event in batch:
                    await t_dead.send(value=dead_letter(f"scoring failed: {exc!r}", orjson.dumps(event),
                                                        stage="score"))
                return None
            clock["max_event_ms"] = max(clock["max_event_ms"], batch_max_ms)  # event time parsed once, above
            enriched = [e for e, _ in results]
            alerts = [(e["user"]["id"].encode(), a) for e, found in results for a in found]
            return users, enriched, alerts

        async for values in stream.take(settings.score_batch_size, within=settings.score_batch_seconds):
            await sweep()
            try:
                scored = await score_batch(values)
            except Exception as exc:  # belt and braces: the dead letters above failed
                log.exception("score: a batch of %d events failed; dead-lettering it", len(values))
                METRICS.inc("score.failed", len(values))
                while not await dead_letters(values, f"score stage error: {exc!r}", "score"):
                    await asyncio.sleep(1.0)
                continue
            if scored is None:
                continue
            users, enriched, alerts = scored
            await emit_durably(users, enriched, alerts)
            METRICS.inc("score.events", len(enriched))
            METRICS.inc("score.alerts", len(alerts))
            await sweep()

    # ---------------------------------------------------------------- sinks
    async def _write(kind: str, rows: list[dict]) -> bool:
        """Insert with bounded retries off the event loop; False when the batch must be parked."""
        st = ctx["store"]
        insert = (lambda r: _insert_events_and_scores(st, r)) if kind == "events" else st.insert_alerts
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + settings.sink_retry_seconds
        delay = 0.2
        while True:
            t0 = time.perf_counter()
            try:
                await loop.run_in_executor(store_thread, insert, rows)
                METRICS.inc(f"sink.{kind}.rows", len(rows))
                METRICS.gauge(f"sink.{kind}.batch_ms", (time.perf_counter() - t0) * 1000)
                return True
            except Exception as exc:
                METRICS.inc(f"sink.{kind}.retries")
                if time.monotonic() + delay > deadline:
                    log.warning("ClickHouse insert of %d %s failed for %.0f s (%r): parking on sink-retry",
                                len(rows), kind, settings.sink_retry_seconds, exc)
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _park(kind: str, rows: list[dict]) -> bool:
        """Put a batch on sink-retry and wait until Kafka has it (not just queued)."""
        try:
            fut = await t_sink_retry.send(key=kind.encode(), value=orjson.dumps(
                {"kind": kind, "rows": rows, "parked_at": time.time()}))
            await fut
            METRICS.inc(f"sink.{kind}.parked", len(rows))
            return True
        except Exception as exc:
            log.error("could not park %d %s on sink-retry (%r); retrying the insert", len(rows), kind, exc)
            return False

    async def _sink(kind: str, batch: list[bytes]) -> None:
        """Write a batch or park it; returns only when the rows are durable somewhere."""
        rows = []
        for value in batch:
            try:
                rows.append(orjson.loads(value))
            except orjson.JSONDecodeError as exc:
                await t_dead.send(value=dead_letter(f"sink: not JSON: {exc}", value, stage=f"sink-{kind}"))
        while rows:
            if await _write(kind, rows) or await _park(kind, rows):
                return
            await asyncio.sleep(1.0)

    @agent("sink", t_enriched)
    async def sink_events(stream):
        async for batch in stream.take(settings.sink_batch_size, within=settings.sink_batch_seconds):
            await _sink("events", batch)

    @agent("sink", t_alerts)
    async def sink_alerts(stream):
        async for batch in stream.take(500, within=settings.sink_batch_seconds):
            await _sink("alerts", batch)

    @agent("sink", t_sink_retry)
    async def sink_retry(stream):
        async for value in stream:
            try:
                parked = orjson.loads(value)
                kind, rows = parked["kind"], parked["rows"]
            except Exception as exc:
                await t_dead.send(value=dead_letter(f"sink-retry: unreadable: {exc!r}", value, stage="sink-retry"))
                continue
            wait = parked.get("parked_at", 0) + settings.sink_retry_seconds / 4 - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, settings.sink_retry_seconds / 4))
            while True:
                if await _write(kind, rows):
                    METRICS.inc(f"sink.{kind}.recovered", len(rows))
                    break
                if await _park(kind, rows):
                    break
                await asyncio.sleep(1.0)

    # ---------------------------------------------------------------- notify
    services: dict = {}
    group_locks: dict = {}  # partition -> per-group delivery locks; outlive the services

    class _TopicQueue:
        """Retry queue / dead letter of the dispatcher on a Kafka topic (waits for the broker's ack)."""

        def __init__(self, t, partition: int | None):
            self.t, self.partition = t, partition

        async def put(self, parked: bytes) -> None:
            fut = await self.t.send(value=parked, partition=self.partition)
            await fut

    def service_for(partition: int):
        svc = services.get(partition)
        if svc is None:
            from streamer.alert.service import PrefixedState, build_service

            svc = build_service(settings, _TopicQueue(t_notify_retry, partition),
                                state=PrefixedState(alert_state, f"p{partition}/"),
                                delivered=PrefixedState(delivered, f"p{partition}/"),
                                alerting_dir=settings.alerting_dir or None,
                                locks=group_locks.setdefault(partition, {}))
            svc.dispatcher.dead_letter = _TopicQueue(t_dead, None)
            services[partition] = svc
        return svc

    @app.on_partitions_revoked.connect
    async def _drop_services(app_, revoked, **kwargs):
        for svc in services.values():
            await svc.dispatcher.close()
        services.clear()  # rebuilt from the recovered tables on the next event

    async def _drop_service(partition: int) -> None:
        """After a failure inside the worker: the partition's service is rebuilt from its tables
        at the next use."""
        METRICS.inc("notify.errors")
        stale = services.pop(partition, None)
        if stale is not None:
            await stale.dispatcher.close()

    @agent("notify", t_notify_in)
    async def notify(stream):
        """Alerts and clock ticks of one partition drive that partition's pipeline; table writes
        happen here, inside stream iteration, never in a timer (faust-streaming #497). A failure
        rebuilds the pipeline from its tables and tries the alert again before the dead letter
        (streamer.alert.notify.retry.push_alert)."""
        from streamer.alert.notify.retry import push_alert

        async for ev in stream.events():
            msg = ev.message
            try:
                alert = orjson.loads(ev.value)
                if not isinstance(alert, dict):
                    raise ValueError(f"a JSON object is expected, not {type(alert).__name__}")
            except ValueError as exc:  # orjson.JSONDecodeError included
                METRICS.inc("notify.failed")
                await t_dead.send(key=ev.key, value=dead_letter(f"alert pipeline: unreadable: {exc!r}", ev.value,
                                                                stage="notify", message=msg))
                continue

            async def step():
                svc = service_for(msg.partition)
                now_ms = int(time.time() * 1000)
                return await (svc.on_tick(now_ms) if "tick_ms" in alert else svc.on_alert(alert, now_ms))

            async def rebuild(exc: Exception) -> None:
                await _drop_service(msg.partition)

            async def to_dead_letter(reason: str) -> None:
                METRICS.inc("notify.failed")
                await t_dead.send(key=ev.key, value=dead_letter(reason, ev.value, stage="notify", message=msg))

            outcomes = await push_alert(alert, step=step, rebuild=rebuild, dead_letter=to_dead_letter,
                                        attempts=NOTIFY_ATTEMPTS)
            for _, outcome in outcomes or ():
                METRICS.inc(f"notify.{outcome}")

    async def tick():
        now = orjson.dumps({"tick_ms": int(time.time() * 1000)})
        for p in range(P):
            await t_notify_in.send(value=now, partition=p)

    @agent("notify", t_notify_retry)
    async def notify_retry(stream):
        """Parked notifications, tried again when due (rules: streamer.alert.notify.retry). A
        record is never dropped for an error of this worker: it is put back on notify-retry, and
        the event is finished only once Kafka has the copy."""
        from streamer.alert.notify.retry import retry_parked

        async for ev in stream.events():
            partition, msg = ev.message.partition, ev.message

            async def put_back(raw: bytes) -> None:
                await _TopicQueue(t_notify_retry, partition).put(raw)

            async def to_dead_letter(reason: str, raw: bytes) -> None:
                METRICS.inc("notify.failed")
                fut = await t_dead.send(value=dead_letter(reason, raw, stage="notify-retry", message=msg))
                await fut

            async def rebuild(exc: Exception) -> None:
                await _drop_service(partition)

            outcome = await retry_parked(ev.value, dispatcher=lambda: service_for(partition).dispatcher,
                                         put_back=put_back, dead_letter=to_dead_letter, on_crash=rebuild)
            METRICS.inc(f"notify.retry.{outcome.replace(' ', '_')}")

    # ---------------------------------------------------------------- context feeds
    async def context_feeds():
        """Every worker reads the whole roster and watchlist (compacted topics, no consumer group)."""
        from aiokafka import AIOKafkaConsumer

        from streamer.runtime.topics import aiokafka_config

        names = {settings.topic("roster"): "roster", settings.topic("watchlist"): "watchlist"}
        consumer = AIOKafkaConsumer(*names, group_id=None, auto_offset_reset="earliest",
                                    enable_auto_commit=False, **aiokafka_config(settings))
        await consumer.start()
        try:
            async for msg in consumer:
                try:
                    row = orjson.loads(msg.value)
                    eng = ctx["engine"]
                    (eng.update_roster if names[msg.topic] == "roster" else eng.update_watchlist)(row)
                    METRICS.inc(f"context.{names[msg.topic]}")
                except Exception as exc:
                    await t_dead.send(value=dead_letter(f"{names[msg.topic]} row rejected: {exc!r}",
                                                        msg.value, stage="context"))
        finally:
            await consumer.stop()

    @app.task
    async def _diagnostics():
        from streamer.runtime import diag

        diag.install(app)

    if "notify" in stages:
        app.timer(1.0)(tick)
    if "score" in stages:
        app.task(context_feeds)

    # ---------------------------------------------------------------- pipeline metrics
    worker_name = settings.consumer_group_instance_id or f"{socket.gethostname()}:{os.getpid()}"

    @app.timer(10.0)
    async def write_metrics():
        """Counters of the last period -> pipeline_metrics (the pipeline-health dashboard)."""
        snap = METRICS.snapshot()
        rows = metric_rows(snap, worker_name, _lag(app))
        if ctx["store"] is None or not rows:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(
                store_thread, ctx["store"].insert_rows, "pipeline_metrics", rows)
        except Exception as exc:  # metrics are best effort; the data path never waits on them
            log.warning("could not write pipeline metrics: %r", exc)

    @app.on_before_shutdown.connect
    async def _close_store(app_, **kwargs):
        if ctx["store"] is not None:
            await asyncio.get_running_loop().run_in_executor(store_thread, ctx["store"].close)

    return app


def _insert_events_and_scores(store, rows: list[dict]) -> int:
    """Enriched events, then the batch/shadow model scores they carry (model_scores table)."""
    n = store.insert_events(rows)
    if any("model_score" in r.get("enrichment", {}) or "shadow_score" in r.get("enrichment", {}) for r in rows):
        from models.training.scores import insert_scores

        insert_scores(store, rows)
    return n


def _lag(app) -> dict[str, int]:
    """Messages behind per 'topic:partition' of this worker's assignment."""
    out = {}
    consumer = getattr(app, "consumer", None)
    try:
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            pos = getattr(consumer, "_read_offset", {}).get(tp)
            if high is not None and pos is not None:
                out[f"{tp.topic}:{tp.partition}"] = max(0, high - pos - 1)
    except Exception:  # not started or no assignment yet
        pass
    return out


def metric_rows(snap: dict, worker: str, lag: dict[str, int]) -> list[dict]:
    """A METRICS snapshot as pipeline_metrics rows (metric vocabulary of the pipeline dashboard)."""
    from datetime import datetime, timezone

    at = datetime.fromtimestamp(int(snap["time"]), tz=timezone.utc)
    counters, rates, gauges = snap["counters"], snap["rates"], snap["gauges"]
    period = snap.get("period_s") or 10.0
    rows = []

    def row(component: str, metric: str, value: float, label: str = "") -> None:
        rows.append({"time": at, "worker": worker, "component": component, "metric": metric,
                     "label": label, "value": float(value)})

    for name, component in (("normalize.in", "normalize"), ("score.events", "score"),
                            ("sink.events.rows", "sink"), ("sink.alerts.rows", "sink-alerts"),
                            ("score.alerts", "alerts")):
        if name in rates:
            row(component, "rows_per_s", rates[name])
    for name in ("normalize.rejected", "score.failed", "notify.failed"):
        if rates.get(name):
            row(name.split(".")[0], "dead_letters", rates[name] * period, label=name)
    for kind in ("events", "alerts"):
        if rates.get(f"sink.{kind}.retries"):
            row("sink", "retries", rates[f"sink.{kind}.retries"] * period, label=kind)
        if rates.get(f"sink.{kind}.parked"):
            row("sink", "given_up", rates[f"sink.{kind}.parked"] * period, label=kind)
        if f"sink.{kind}.batch_ms" in gauges:
            row("sink", "batch_latency_ms", gauges[f"sink.{kind}.batch_ms"], label=kind)
    # notifications: parked (receiver down) and retries that failed inside the worker (put back)
    parked = rates.get("notify.parked", 0.0) + rates.get("notify.retry.parked", 0.0)
    if parked:
        row("notify", "retries", parked * period, label="parked")
    if rates.get("notify.errors"):
        row("notify", "retries", rates["notify.errors"] * period, label="worker errors")
    for label, value in lag.items():
        row("consumer", "consumer_lag", value, label=label)
    return rows


def _event_ms(event: dict) -> int:
    from streamer.timeutil import parse_time

    try:
        return parse_time(event["event_time"])
    except (KeyError, ValueError):
        return 0


def build_stages(settings: Settings, ctx: dict) -> None:
    """Engine and store, built once per worker process before the agents start (each only when
    a stage of this worker uses it: a normalize-only worker needs neither)."""
    stages = settings.stage_set()
    if ctx.get("engine") is None and "score" in stages:
        ctx["engine"] = build_engine(settings)
    if ctx.get("store") is None and "sink" in stages:
        from streamer.store import open_store

        ctx["store"] = open_store(settings)
        ctx["store"].migrate()


def build_engine(settings: Settings):
    from streamer.score.engine import Engine

    watcher = None
    if settings.model_name:
        from models.registry import ModelWatcher

        watcher = ModelWatcher(settings.model_name, settings.model_registry,
                               interval=settings.model_reload_seconds)
    rules = None
    if settings.rules_dir:
        from models.rules import load_rules

        rules = load_rules(settings.rules_dir)
    eng = Engine(rules, watcher=watcher, max_live_users=settings.live_users,
                 site_timezone=settings.site_timezone or None)
    if settings.roster_file:
        eng.load_roster_csv(settings.roster_file)
    if settings.watchlist_file:
        eng.load_watchlist_csv(settings.watchlist_file)
    return eng
