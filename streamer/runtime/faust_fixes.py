"""Corrections to the Faust / aiokafka stack that protect data, installed before the app starts:
the rewind of partitions without a committed offset (below) and the re-read of records that were
never delivered to an agent (`reread_gap`).

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
"""

from __future__ import annotations

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
    if read == 0:  # record 0 read (or sought to): as Faust's rule, a jump is past offset 1
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


def install() -> None:
    """Patch Faust's consumer (idempotent)."""
    global _installed
    if _installed:
        return
    from faust.transport.consumer import Consumer
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

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

    Consumer._add_gap = _add_gap
    Consumer.getmany = getmany
    _installed = True
