"""Corrections to the Faust / aiokafka stack that protect data, installed before the app starts:
the rewind of partitions without a committed offset (below), the re-read of records that were
never delivered to an agent (`reread_gap`) from the right offset after a seek
(`last_read_before`), and the records delivered during that rewind, which Faust threw away
(`keep_current_records`); and the producer metadata a table write needs (`wait_for_partitions`,
called by the score stage before it writes user state).

Rewind of partitions that have no committed offset
--------------------------------------------------
Faust throws away records it fetched while its flow is stopped (during a rebalance, a table
recovery) and then calls ``perform_seek()`` to fetch them again from the committed offsets. That
seek is aiokafka's ``seek_to_committed()``, which does nothing for a partition whose committed
offset is missing or 0 (``if offset and offset > 0``). On such a partition (a new deployment, a
new partition, a group that has not committed yet) the fetch position stays after the discarded
records, and they are never processed: the first records of a fresh partition were lost when a
rebalance came soon after them (found by tests/faults/test_rebalance.py: the survivor's first 47
raw records were fetched, discarded, skipped, and later committed past).

The replacement seeks every assigned partition to its committed offset, 0 included, and a
partition without one back to where a fresh assignment would start (the beginning, under the
``earliest`` reset policy the worker uses). Records fetched twice are processed twice, which the
at-least-once pipeline already absorbs (ClickHouse deduplicates on ids, alerts on alert ids).

Records handed to an agent while that rewind is running (`keep_current_records`)
-------------------------------------------------------------------------------
After a rebalance Faust's recovery resumes the flow, resumes the stream partitions, and only then
awaits ``perform_seek()`` (a round trip to the consumer thread per partition). Meanwhile the
fetcher keeps handing records to the agents' queues; those fetched after the seek took effect
move the fetch position past them. When the seek returns, Faust resets its read offsets and
``flow_control.resume()`` clears every agent queue: the records an agent had not taken yet are
thrown away, and nothing reads them again. Faust's jump check does not see the hole when the
fetcher loop, which was in the middle of handing over a record, writes that record's offset as
the read offset after the reset; and on a partition with nothing committed yet (the first minutes
of a deployment) Faust's guard against committing over a hole is off (``if committed_offset:``),
so the next acks commit past it. tests/faults/test_rebalance.py lost raw records 49-51 of a fresh
partition this way, when worker b joined while the first records arrived (normalize was busy
with a batch, so they were still queued). The replacement resume keeps what the queues hold of
the current generation on topics whose offsets Faust commits, and drops the rest (records from
before the rebalance, changelog records, stream outboxes) as Faust does. A kept record may be
delivered again after the rewind; processed twice is the at-least-once contract.

Table writes and the producer's metadata (`wait_for_partitions`)
----------------------------------------------------------------
A table with ``use_partitioner=True`` (user-state) picks the changelog partition at the write,
synchronously: Faust calls aiokafka's partitioner, which reads the producer's metadata and raises
``TypeError: 'NoneType' object is not iterable`` for a topic that metadata does not know. The
producer starts out knowing every topic, but aiokafka narrows it: a send to a topic it does not
know adds that topic to the ones it tracks, and from then on a refresh asks for the tracked
topics only and forgets the others. A changelog Faust creates at start-up can be missing from the
refresh it forces after the creation (that refresh may be in flight already, and a topic just
created is not always in the next metadata answer: 1 in 20 here), so the first write to it
narrows the metadata, and the user-state changelog, never sent to through ``send()``, is
forgotten for good: each later state write raised, the score agent crashed on every batch and
Faust acked them (tests/faults/test_rebalance.py lost 799 and 800 events, the crashes starting
right after the first notification was delivered, the first write to the notify-delivered
changelog). Other topics recover by themselves (``send()`` waits for their metadata and has it
tracked). The score stage now has the producer track the state changelog before its first write,
so no refresh forgets it, and waits for its metadata whenever it is missing.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)
_installed = False


async def seek_to_committed_or_start(consumer) -> dict:
    """Like ``AIOKafkaConsumer.seek_to_committed()`` for all assigned partitions, without the gap:
    committed offset 0 is sought too, and no committed offset means the reset policy's start."""
    partitions = consumer._subscription.assigned_partitions()
    committed: dict = {}
    to_start = []
    for tp in partitions:
        offset = await consumer.committed(tp)
        committed[tp] = offset
        if offset is not None and offset >= 0:
            consumer._fetcher.seek_to(tp, offset)
        else:
            to_start.append(tp)
    if to_start:
        policy = getattr(consumer, "_auto_offset_reset", "earliest")
        if policy == "earliest":
            await consumer.seek_to_beginning(*to_start)
        elif policy == "latest":
            log.warning("no committed offset for %s and reset policy 'latest': records fetched before "
                        "this seek are not read again", sorted(map(str, to_start)))
    return committed


def last_read_before(position):
    """The read offset to store after a seek to `position`. Faust's fetcher loop keeps, per
    partition, the offset of the last record it delivered to an agent and takes a record above
    read offset + 1 for a jump (re-read from read offset + 1, `reread_gap`). But its seeks
    (``perform_seek()`` after a rebalance or a recovery, ``seek()``) store the position itself,
    the *next* record to read: a jump right after a rewind to committed offset 40 was re-read
    from 41, and record 40 was skipped; a single missing record (41 delivered first) was not
    even seen as a jump. The record before the position is what has been read; a position of 0
    (or none) leaves nothing read, where `check_first_offset` takes over."""
    return position - 1 if position is not None and position > 0 else None


async def reread_gap(consumer, tp, offset_from: int, offset_to: int, fallback) -> None:
    """Faust's reaction to a jump in the offsets it receives (records `offset_from`..`offset_to`-1
    never delivered to an agent) is to count them as done: right for compacted or transactional
    topics, silent loss for ours, where a jump only means the fetcher dropped records (the
    rebalance test lost 3 records in the middle of a partition this way). Instead the partition
    is sought back to `offset_from` before the next fetch, and the records are processed (those
    after them a second time; storage deduplicates). A jump that comes back at the same offset
    after that (records really gone: retention) falls back to Faust's handling, logged."""
    tried = consumer.__dict__.setdefault("_streamer_gap_tried", {})
    if tried.get(tp) == offset_from:
        log.error("records %d-%d of %s/%d are missing from the log itself; skipped", offset_from,
                  offset_to - 1, tp.topic, tp.partition)
        await fallback(consumer, tp, offset_from, offset_to)
        return
    tried[tp] = offset_from
    consumer.__dict__.setdefault("_streamer_reseek", {})[tp] = offset_from
    log.warning("records %d-%d of %s/%d were not delivered by the fetcher; reading them again",
                offset_from, offset_to - 1, tp.topic, tp.partition)


async def check_first_offset(consumer, tp, offset: int, fallback) -> None:
    """Faust looks for a jump only once it has read a record of the partition (read offset > 0):
    the first records of a partition with nothing read yet could be dropped unnoticed (the
    rebalance test lost offset 0 of a fresh partition). The first record delivered must be the
    committed offset, or the start of the log when nothing is committed."""
    read = consumer._read_offset[tp]
    if read:
        return  # Faust's own check applies (patched by reread_gap)
    if read == 0:  # record 0 read (or a seek to offset 1): a jump is past offset 1
        if offset > 1:
            await reread_gap(consumer, tp, 1, offset, fallback)
        return
    expected = consumer._committed_offset[tp]
    if expected is None:
        try:
            expected = (await consumer.earliest_offsets(tp)).get(tp)
        except Exception as exc:  # cannot tell: let the record through as Faust would
            log.warning("could not read the start offset of %s/%d: %r", tp.topic, tp.partition, exc)
            return
    if expected is not None and offset > expected:
        await reread_gap(consumer, tp, expected, offset, fallback)


async def reseek_pending(consumer) -> None:
    """Seek the partitions `reread_gap` marked back to their first undelivered record."""
    pending = consumer.__dict__.get("_streamer_reseek")
    while pending:
        tp, offset = pending.popitem()
        if tp in consumer.assignment():
            await consumer.seek(tp, offset)


async def wait_for_partitions(producer, topic: str, timeout: float) -> None:
    """Make sure the metadata of Faust's `producer` knows `topic` before a write that computes its
    partition on the spot (see the module docstring); no await may come between this and the
    writes. The topic is tracked from the first call on, so no later refresh forgets it (nor
    leaves its records stuck in the producer, whose sender has no leader for them)."""
    client = producer._ensure_producer().client  # Faust's Producer -> AIOKafkaProducer's client
    if topic not in client._topics:
        await asyncio.wait_for(client.add_topic(topic), timeout)
    if client.cluster.partitions_for_topic(topic) is None:
        log.warning("the producer's metadata does not know %s; waiting for it before writing", topic)
        await asyncio.wait_for(client._wait_on_metadata(topic), timeout)


def is_current_record(item) -> bool:
    """An event of the current consumer generation from a topic whose offsets Faust commits: a
    record this worker owns and has already fetched past, so dropping it loses it."""
    message, app = getattr(item, "message", None), getattr(item, "app", None)
    if message is None or app is None or getattr(message, "generation_id", None) is None:
        return False
    return message.generation_id == app.consumer_generation_id and app.topics.acks_enabled_for(message.topic)


def keep_current_records(flow_control) -> None:
    """``FlowControlEvent.resume()`` without throwing away the records of the current generation
    still waiting in an agent's queue (see the module docstring). A queue holding none of them is
    cleared exactly as before; from the others only the rest (older generations) is dropped."""
    flow_control._suspend.clear()
    flow_control._resume.set()
    for queue in list(flow_control._queues):
        items = queue._queue
        kept = [item for item in items if is_current_record(item)]
        if not kept:
            queue.clear()
        elif len(kept) < len(items):
            items.clear()
            items.extend(kept)


def install() -> None:
    """Patch Faust's consumer (idempotent)."""
    global _installed
    if _installed:
        return
    from faust.transport.consumer import Consumer, ensure_TP
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
    from mode.utils.queues import FlowControlEvent

    async def seek_to_committed(self):
        return await self.call_thread(seek_to_committed_or_start, self._ensure_consumer())

    AIOKafkaConsumerThread.seek_to_committed = seek_to_committed

    original_add_gap, original_getmany = Consumer._add_gap, Consumer.getmany

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        # Faust passes the offset of the record that revealed the jump as the end (inclusive)
        await reread_gap(self, tp, offset_from, offset_to, original_add_gap)

    async def no_gap(consumer, tp, start, end):  # records gone before the first one read
        return None

    async def getmany(self, timeout: float):
        await reseek_pending(self)
        async for tp, message in original_getmany(self, timeout):
            if not self._read_offset[tp] and self.app.topics.acks_enabled_for(message.topic):
                await check_first_offset(self, tp, message.offset, no_gap)
            yield tp, message

    async def perform_seek(self) -> None:
        # Faust's, with the read offsets of the record before each position (last_read_before)
        committed = await self.seek_to_committed()
        self._read_offset.update({tp: last_read_before(offset) for tp, offset in committed.items()})
        self._committed_offset.update({ensure_TP(tp): offset or None
                                       for tp, offset in committed.items() if offset is not None})

    async def seek(self, partition, offset: int) -> None:
        await self._seek(partition, offset)
        self._read_offset[ensure_TP(partition)] = last_read_before(offset)

    Consumer._add_gap = _add_gap
    Consumer.getmany = getmany
    Consumer.perform_seek = perform_seek
    Consumer.seek = seek
    FlowControlEvent.resume = keep_current_records
    _installed = True
