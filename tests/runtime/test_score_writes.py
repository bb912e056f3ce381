"""The score stage never lets an exception escape (Faust acks a batch whose agent raised, with its
effects unwritten): its state writes wait for the producer's metadata of the changelog, and what a
batch leaves behind is written again until it is written, or dead-lettered. Faust's own agent
runs here (test_context) with aiokafka's real producer, never started: its metadata knows no
topic, as when the producer had forgotten the user-state changelog (tests/faults/test_rebalance.py
lost 799 and 800 events to the TypeError this raises)."""

from __future__ import annotations

import asyncio

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import PartitionMetadata

from streamer.runtime.app import create_app
from streamer.settings import Settings


class Engine:
    """Scores every event, no alert; the state of a user is the number of its events."""

    def __init__(self):
        self.seen: dict[str, int] = {}

    def import_user(self, uid, blob):
        self.seen[uid] = int(blob)

    def export_user(self, uid):
        return str(self.seen.get(uid, 0)).encode()

    def process_many(self, batch):
        for e in batch:
            self.seen[e["user"]["id"]] = self.seen.get(e["user"]["id"], 0) + 1
        return [({**e, "enrichment": {}}, []) for e in batch]

    def flush(self, ms):
        return []

    def forget_users(self):
        pass


def event(i: int, user: str = "u1") -> bytes:
    return orjson.dumps({"event_id": f"e{i}", "event_time": "2026-12-07T08:00:00Z", "user": {"id": user}})


def run_score(events: list[bytes], *, fail_sends=None, changelog_known=False, retry_seconds=20.0):
    """Put `events` through the score agent; returns (topic, value) of every record sent and the
    user-state table. `fail_sends(topic)` may raise to fail a send; `changelog_known`: the
    producer's metadata knows the user-state changelog from the start."""
    sent = []

    async def run():
        app = create_app(Settings(app_id="score-writes", stages="score", table_store="memory://",
                                  sink_retry_seconds=retry_seconds), engine=Engine())
        producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9")   # never started: no metadata
        app.producer._producer = producer

        async def metadata_answer(topic):  # what the broker answers to a metadata request
            producer.client.cluster._partitions[topic] = {
                p: PartitionMetadata(topic, p, 1, [1], [1], 0) for p in range(2)}
            return producer.client.cluster.partitions_for_topic(topic)

        async def track(topic):  # aiokafka's add_topic, answered at once
            producer.client._topics.add(topic)
            return True

        producer.client._wait_on_metadata, producer.client.add_topic = metadata_answer, track
        table = app.tables["user-state"]
        if changelog_known:
            await metadata_answer(table.changelog_topic.get_topic_name())

        async def send(topic, key, value, partition, timestamp, headers, *, transactional_id=None):
            if fail_sends is not None:
                fail_sends(topic)
            sent.append((topic, value))
            fut = asyncio.get_running_loop().create_future()
            fut.set_result(None)
            return fut

        async def started():
            return None

        app.producer.send, app.producer.maybe_start = send, started   # the Faust producer "runs"
        async with app.agents["streamer.runtime.app.score"].test_context() as agent:
            for value in events:
                await agent.put(value)
            await asyncio.sleep(0.2)
            for _ in range(100):   # retries back off 0.2 s, 0.4 s...
                if sum(t.endswith("enriched") or t.endswith("deadletter") for t, _ in sent) >= len(events):
                    break
                await asyncio.sleep(0.1)
        return dict(table.items())

    state = asyncio.run(run())
    return sent, state


def enriched_ids(sent) -> list[str]:
    return [orjson.loads(v)["event_id"] for t, v in sent if t.endswith("enriched")]


def test_the_state_write_waits_for_the_changelogs_metadata():
    """The producer's metadata does not know the changelog: the write waits for it instead of
    raising TypeError inside the agent (which acked the event: no enriched output, no state)."""
    sent, state = run_score([event(1), event(2)])
    assert enriched_ids(sent) == ["e1", "e2"]
    assert state == {b"u1": b"2"}


def test_a_failing_write_is_tried_again_and_the_agent_goes_on():
    failures = []

    def once(topic):
        if topic.endswith("enriched") and not failures:
            failures.append(topic)
            raise RuntimeError("broker gone for a moment")

    sent, state = run_score([event(1), event(2, "u2")], fail_sends=once, changelog_known=True)
    assert failures
    assert sorted(set(enriched_ids(sent))) == ["e1", "e2"]   # e1 written again, e2 after it
    assert state == {b"u1": b"1", b"u2": b"1"}


def test_results_that_cannot_be_written_end_as_dead_letters():
    def always(topic):
        if topic.endswith("enriched"):
            raise RuntimeError("enriched topic refused")

    sent, state = run_score([event(1)], fail_sends=always, changelog_known=True, retry_seconds=0.5)
    dead = [orjson.loads(v) for t, v in sent if t.endswith("deadletter")]
    assert [d["stage"] for d in dead] == ["score-output"]
    assert "enriched topic refused" in dead[0]["reason"]
    # the state row is written before the outputs: a refused topic does not cost the user's state
    assert state == {b"u1": b"1"}
