"""The rewind Faust relies on after it discards fetched records (rebalance, recovery) must also
work on partitions with no committed offset or offset 0: aiokafka's own seek_to_committed leaves
those where they are, and the discarded records were lost (tests/faults/test_rebalance.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from streamer.runtime.faust_fixes import seek_to_committed_or_start

pytestmark = [pytest.mark.kafka]


def test_rewind_reaches_records_of_partitions_without_a_commit(kafka_bootstrap):
    topic, group = f"fix-{uuid.uuid4().hex[:8]}", f"fix-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 2, 1)])

    async def run() -> dict:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        for p in (0, 1):
            for i in range(5):
                await producer.send_and_wait(topic, f"{p}-{i}".encode(), partition=p)
        await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
            consumer.assign([tp0, tp1])
            got = 0
            while got < 10:
                got += sum(len(r) for r in (await consumer.getmany(timeout_ms=1000)).values())
            assert await consumer.position(tp0) == 5 and await consumer.position(tp1) == 5
            # the records are thrown away unprocessed; nothing committed on tp0, offset 0 on tp1
            await consumer.commit({tp1: OffsetAndMetadata(0, "")})
            await consumer.seek_to_committed()                   # aiokafka's own: a no-op here
            before = (await consumer.position(tp0), await consumer.position(tp1))
            committed = await seek_to_committed_or_start(consumer)
            after = (await consumer.position(tp0), await consumer.position(tp1))
            await consumer.commit({tp0: OffsetAndMetadata(3, "")})
            await seek_to_committed_or_start(consumer)
            later = await consumer.position(tp0)
            return {"before": before, "after": after, "committed": committed, "later": later,
                    "tp0": tp0, "tp1": tp1}
        finally:
            await consumer.stop()

    try:
        out = asyncio.run(run())
    finally:
        admin.delete_topics([topic])
        admin.close()
    assert out["before"] == (5, 5), "aiokafka's seek_to_committed rewinds these now: the fix may be obsolete"
    assert out["after"] == (0, 0)
    assert out["committed"] == {out["tp0"]: None, out["tp1"]: 0}
    assert out["later"] == 3


def test_the_fix_is_installed_on_fausts_consumer_thread():
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    from streamer.runtime.app import create_app
    from streamer.settings import Settings

    create_app(Settings(app_id="fix-check"))
    assert AIOKafkaConsumerThread.seek_to_committed.__module__ == "streamer.runtime.faust_fixes"


def test_a_jump_in_delivered_offsets_is_read_again_not_counted_as_done():
    """Faust counts records it never delivered (a jump in offsets) as processed; ours seeks back
    to them before the next fetch, once; a second jump at the same offset (records gone from the
    log) falls back to Faust's handling."""
    from streamer.runtime.faust_fixes import reread_gap, reseek_pending

    tp = TopicPartition("t.raw", 1)

    class Stub:
        def __init__(self):
            self.sought, self.gaps = [], []

        def assignment(self):
            return {tp}

        async def seek(self, partition, offset):
            self.sought.append((partition, offset))

    async def fallback(consumer, tp_, start, end):
        consumer.gaps.append((start, end))

    async def run(c):
        await reread_gap(c, tp, 68, 71, fallback)     # 68, 69, 70 never delivered
        assert c.gaps == [] and c.sought == []         # nothing counted as done, nothing sought yet
        await reseek_pending(c)                        # before the next fetch
        await reseek_pending(c)                        # once
        await reread_gap(c, tp, 68, 75, fallback)     # the same hole again: really gone
        await reseek_pending(c)

    c = Stub()
    asyncio.run(run(c))
    assert c.sought == [(tp, 68)]
    assert c.gaps == [(68, 75)]


def test_the_gap_fix_is_installed_on_fausts_consumer():
    from faust.transport.consumer import Consumer

    from streamer.runtime.app import create_app
    from streamer.settings import Settings

    create_app(Settings(app_id="fix-check-2"))
    assert Consumer._add_gap.__module__ == "streamer.runtime.faust_fixes"
    assert Consumer.getmany.__module__ == "streamer.runtime.faust_fixes"


def test_records_missing_before_the_first_one_read_are_read_again():
    """Nothing read yet on a fresh partition (read offset None, nothing committed): the first
    record delivered must be the start of the log, else the partition is read again from it."""
    from collections import defaultdict

    from streamer.runtime.faust_fixes import check_first_offset, reseek_pending

    tp = TopicPartition("t.raw", 1)

    class Stub:
        def __init__(self, committed=None):
            self._read_offset = defaultdict(lambda: None)
            self._committed_offset = defaultdict(lambda: None, {tp: committed} if committed is not None else {})
            self.sought = []

        def assignment(self):
            return {tp}

        async def earliest_offsets(self, *tps):
            return {t: 0 for t in tps}

        async def seek(self, partition, offset):
            self.sought.append((partition, offset))

    async def nothing(*args):
        return None

    async def run(c, first):
        await check_first_offset(c, tp, first, nothing)
        await reseek_pending(c)

    fresh = Stub()
    asyncio.run(run(fresh, 1))          # offset 0 never delivered
    assert fresh.sought == [(tp, 0)]
    ok = Stub()
    asyncio.run(run(ok, 0))
    assert ok.sought == []
    resumed = Stub(committed=40)
    asyncio.run(run(resumed, 43))       # 40 committed, nothing read (a rewind leaves 39 read: Faust's own check)
    assert resumed.sought == [(tp, 40)]


def test_after_record_zero_only_a_real_jump_is_read_again():
    from collections import defaultdict

    from streamer.runtime.faust_fixes import check_first_offset, reseek_pending

    tp = TopicPartition("t.raw", 0)

    class Stub:
        _committed_offset = defaultdict(lambda: None)

        def __init__(self):
            self._read_offset = defaultdict(lambda: None, {tp: 0})
            self.sought = []

        def assignment(self):
            return {tp}

        async def seek(self, partition, offset):
            self.sought.append((partition, offset))

    async def nothing(*args):
        return None

    async def run(c, offset):
        await check_first_offset(c, tp, offset, nothing)
        await reseek_pending(c)

    c = Stub()
    asyncio.run(run(c, 1))
    assert c.sought == []
    asyncio.run(run(c, 4))
    assert c.sought == [(tp, 1)]


def test_records_handed_to_an_agent_during_the_rewind_survive_the_resume():
    """After a rebalance Faust resumes the flow and the stream partitions before its rewind to the
    committed offsets returns, then clears every agent queue when it resumes the flow again: the
    records fetched in between were thrown away after the fetch position had moved past them
    (raw records 49-51 of a fresh partition, tests/faults/test_rebalance.py). The resume keeps the
    current generation's records of committed topics and drops the rest as Faust does."""
    from faust.types.tuples import ConsumerMessage

    from streamer.runtime.app import create_app
    from streamer.settings import Settings

    async def run() -> tuple[list, list]:
        app = create_app(Settings(app_id="fix-check-4"))
        app.topics._acking_topics.add("t.raw")      # what subscribing the normalize agent does
        app.consumer_generation_id = 2

        def event(topic: str, offset: int, generation: int):
            message = ConsumerMessage(topic, 1, offset, 0.0, 0, None, b"k", b"v", None, generation_id=generation)
            return app.create_event(b"k", b"v", None, message)

        agent_queue = app.FlowControlQueue(maxsize=100, clear_on_resume=True)
        changelog_queue = app.FlowControlQueue(maxsize=100, clear_on_resume=True)
        app.flow_control.suspend()
        for e in (event("t.raw", 48, 1), event("t.raw", 49, 2), event("t.raw", 50, 2), event("t.raw", 51, 2)):
            agent_queue.put_nowait(e)                # 48 from before the rebalance: stale
        changelog_queue.put_nowait(event("t-user-state-changelog", 7, 2))   # no acks: Faust's rules
        app.flow_control.resume()
        return ([e.message.offset for e in agent_queue._queue], list(changelog_queue._queue))

    offsets, changelog = asyncio.run(run())
    assert offsets == [49, 50, 51]
    assert changelog == []


def test_the_resume_fix_is_installed():
    from mode.utils.queues import FlowControlEvent

    from streamer.runtime.app import create_app
    from streamer.settings import Settings

    create_app(Settings(app_id="fix-check-5"))
    assert FlowControlEvent.resume.__module__ == "streamer.runtime.faust_fixes"


def test_a_jump_right_after_a_rewind_is_read_again_from_the_committed_offset():
    """The live case: after the rewind to the committed offset 40, Faust's fetcher loop hands
    over 43 (40-42 were fetched before the seek took effect and dropped). The read offset is the
    last record delivered, and the loop re-reads from read offset + 1; after the rewind it must
    therefore be 39, not the committed offset (the next record to read): 40 would be skipped."""
    import types

    from streamer.runtime.app import create_app
    from streamer.runtime.faust_fixes import reseek_pending
    from streamer.settings import Settings

    tp = TopicPartition("t.raw", 1)

    async def run() -> tuple[list, list, object]:
        app = create_app(Settings(app_id="fix-check-6"))
        app.topics._acking_topics.add("t.raw")
        consumer = app.consumer
        sought, delivered = [], []
        fetcher = types.SimpleNamespace(_stopped=asyncio.Event())

        async def seek_to_committed():
            return {tp: 40}

        async def _seek(partition, offset):
            sought.append((partition, offset))

        async def callback(message):
            delivered.append(message.offset)

        async def getmany(timeout):
            fetcher._stopped.set()               # one batch, then the loop ends
            for offset in (43, 44):
                yield tp, types.SimpleNamespace(offset=offset, topic=tp.topic, key=b"k", value=b"v")

        consumer.seek_to_committed, consumer._seek = seek_to_committed, _seek
        consumer.callback, consumer.getmany = callback, getmany
        consumer.assignment = lambda: {tp}
        await consumer.perform_seek()             # the rewind after a rebalance
        await consumer._drain_messages(fetcher)   # Faust's fetcher loop and its jump check
        await reseek_pending(consumer)            # before the next fetch
        return sought, delivered, consumer._read_offset[tp]

    sought, delivered, read = asyncio.run(run())
    assert delivered == [43, 44]
    assert sought == [(tp, 40)], "the record at the committed offset was skipped"
    assert read == 39


def test_a_changelog_the_score_stage_writes_stays_in_the_producers_metadata(kafka_bootstrap):
    """aiokafka narrows a producer's metadata to the topics it tracks once a send to a topic it did
    not know adds one; a changelog known only from the first full refresh is then forgotten, and
    the next state write raises TypeError in the partitioner. wait_for_partitions has it tracked."""
    import types

    from streamer.runtime.faust_fixes import wait_for_partitions

    names = [f"fix-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    changelog, other = names[:2]
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(changelog, 2, 1), NewTopic(other, 2, 1)])

    async def narrowed(track: bool, new: str) -> tuple:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.client.force_metadata_update()           # every topic, none tracked
            assert producer.client.cluster.partitions_for_topic(changelog) == {0, 1}
            if track:
                await wait_for_partitions(types.SimpleNamespace(_ensure_producer=lambda: producer), changelog, 10)
            await producer.send_and_wait(other, b"x", key=b"k")     # known: changes nothing
            admin.create_topics([NewTopic(new, 2, 1)])              # created after the refresh
            await producer.send_and_wait(new, b"x", key=b"k")       # unknown: narrows the metadata
            try:
                return producer.client.cluster.partitions_for_topic(changelog), \
                    producer._partition(changelog, None, None, None, b"user-1", None)
            except TypeError as exc:
                return None, exc
        finally:
            await producer.stop()

    try:
        forgotten, error = asyncio.run(narrowed(False, names[2]))
        kept, partition = asyncio.run(narrowed(True, names[3]))
    finally:
        admin.delete_topics(names)
        admin.close()
    assert forgotten is None and isinstance(error, TypeError), \
        "aiokafka keeps a forgotten topic's metadata now: the fix may be obsolete"
    assert kept == {0, 1} and partition in (0, 1)
