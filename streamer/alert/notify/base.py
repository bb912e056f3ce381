"""Delivery with retries: exponential backoff for a bounded time, then the retry queue.

A notification is never lost (what cannot be delivered in time is parked on the retry queue,
the notify-retry topic in the worker) and never delivered twice by this process (a delivery log
of notification ids; receivers also get the id as an idempotency key).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, MutableMapping, Protocol

import aiohttp
import orjson

from streamer.alert.notification import Notification

log = logging.getLogger(__name__)

_WAITING = "waiting for seq"
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool = True, retry_after_s: float = 0.0):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Request:
    """One HTTP POST a sender wants made."""

    url: str
    body: bytes
    headers: Mapping[str, str]


class Sender(Protocol):
    type: str

    def request(self, n: Notification, now_ms: int) -> Request:
        """Build the POST for a notification (pure; signing happens here)."""


@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float = 0.5
    factor: float = 2.0
    max_backoff_s: float = 30.0
    give_up_after_s: float = 20.0  # then park on the retry queue
    timeout_s: float = 10.0  # per request
    jitter: float = 0.1

    def backoff(self, attempt: int) -> float:
        """Delay before attempt `attempt + 1` (attempt counts from 1)."""
        base = min(self.max_backoff_s, self.initial_s * self.factor ** (attempt - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


class RetryQueue(Protocol):
    async def put(self, parked: bytes) -> None:
        """Store a parked notification (bytes of `park_record`) for a later attempt."""


class MemoryRetryQueue:
    """Retry queue kept in memory (tests, demo)."""

    def __init__(self):
        self.items: list[bytes] = []

    async def put(self, parked: bytes) -> None:
        self.items.append(parked)


class DeliveryLog:
    """Ids of notifications already delivered (receiver/notification id -> delivery time in ms).

    Backed by `store` when given (a Faust table in the worker, so it survives restarts), else
    by memory. `prune` forgets entries older than a retention; memory-only logs also keep at
    most `capacity` entries.
    """

    def __init__(self, store: MutableMapping[str, bytes] | None = None, capacity: int = 100_000):
        self.capacity = capacity
        self._store = store
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._seqs: dict[str, int] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._ids or (self._store is not None and key in self._store)

    def add(self, key: str, now_ms: int = 0) -> None:
        if self._store is not None:
            self._store[key] = str(now_ms).encode()
            return
        self._ids[key] = now_ms
        self._ids.move_to_end(key)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def latest_seq(self, receiver: str, group_key: str) -> int:
        """Highest notification sequence number settled for `receiver` in this group (-1: none):
        delivered, or given up as permanent on the dead letter. Notifications are settled in seq
        order (see `Dispatcher.deliver`), so every lower one of the group is settled too."""
        key = f"seq/{receiver}/{group_key}"
        raw = self._store.get(key) if self._store is not None else self._seqs.get(key)
        return int(raw) if raw is not None else -1

    def note_seq(self, receiver: str, group_key: str, seq: int) -> None:
        if seq <= self.latest_seq(receiver, group_key):
            return
        key = f"seq/{receiver}/{group_key}"
        if self._store is not None:
            self._store[key] = str(seq).encode()
        else:
            self._seqs[key] = seq

    def prune(self, now_ms: int, keep_ms: int) -> int:
        """Forget deliveries older than keep_ms; returns how many were forgotten."""
        source = self._store if self._store is not None else self._ids
        # "seq-pending/" keys: ordering records of older versions, never pruned as deliveries
        old = [k for k, v in list(source.items()) if not k.startswith(("seq/", "seq-pending/")) and int(v) + keep_ms < now_ms]
        for k in old:
            del source[k]
        return len(old)


def park_record(n: Notification, *, attempts: int, error: str, permanent: bool, now_ms: int,
                not_before_ms: int) -> bytes:
    """Bytes put on the retry queue: the notification plus why and when to try again."""
    return orjson.dumps({"notification": orjson.loads(n.to_bytes()), "attempts": attempts,
                         "error": error, "permanent": permanent, "parked_ms": now_ms,
                         "not_before_ms": not_before_ms})


def unpark(raw: bytes) -> tuple[Notification, dict]:
    rec = orjson.loads(raw)
    return Notification(**rec.pop("notification")), rec


def wait_seconds(raw: bytes, now_ms: int) -> float:
    """How long a retry consumer should wait before redelivering this parked record."""
    return max(0.0, (orjson.loads(raw)["not_before_ms"] - now_ms) / 1000)


async def post(session: aiohttp.ClientSession, req: Request, timeout_s: float) -> None:
    """POST and classify the outcome; raises DeliveryError."""
    try:
        async with session.post(req.url, data=req.body, headers=dict(req.headers),
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            if 200 <= resp.status < 300:
                await resp.read()
                return
            text = (await resp.text(errors="replace"))[:200]
            retry_after = resp.headers.get("Retry-After", "")
            raise DeliveryError(f"HTTP {resp.status} from {req.url}: {text}",
                                retryable=resp.status in RETRYABLE_STATUS,
                                retry_after_s=float(retry_after) if retry_after.isdigit() else 0.0)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__} posting to {req.url}: {exc}") from exc


class Dispatcher:
    """Sends notifications through the sender of their receiver type.

    `deliver` returns "delivered", "duplicate" (already delivered by this dispatcher) or
    "parked" (handed to the retry queue after the retry budget; a request the receiver rejects
    as invalid is parked at once, marked permanent, on `dead_letter` when given).
    """

    def __init__(self, senders: Mapping[str, Sender], retry_queue: RetryQueue, *,
                 policy: RetryPolicy = RetryPolicy(), delivered: DeliveryLog | None = None,
                 dead_letter: RetryQueue | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 locks: dict | None = None):
        self.senders = dict(senders)
        self.retry_queue = retry_queue
        self.dead_letter = dead_letter
        self.policy = policy
        self.delivered = delivered if delivered is not None else DeliveryLog()
        self.sleep, self.clock, self.wall_ms = sleep, clock, wall_ms
        self._session: aiohttp.ClientSession | None = None
        # one lock per (receiver, group); the worker passes a dict that outlives the dispatcher,
        # so a delivery still running on a dispatcher dropped at a rebalance is serialized too
        self.locks: dict = locks if locks is not None else {}
        # notifications parked behind an earlier one of their group, by (receiver, group) and seq:
        # sent as soon as the earlier one is delivered (the retry queue holds their durable copy)
        self._waiting: dict[tuple[str, str], dict[int, tuple[Notification, int]]] = {}
        self.counts = {"delivered": 0, "duplicate": 0, "parked": 0, "attempts": 0, "superseded": 0}

    async def __aenter__(self) -> "Dispatcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _lock(self, n: Notification) -> asyncio.Lock:
        lock = self.locks.get((n.receiver, n.group_key))
        if lock is None:
            lock = self.locks[(n.receiver, n.group_key)] = asyncio.Lock()
        return lock

    async def deliver(self, n: Notification, *, attempts_before: int = 0, from_retry: bool = False) -> str:
        """Send one notification (retrying for the policy's budget); see the class docstring.

        Order per (receiver, group) is kept: a notification is sent only when the one before it
        (seq - 1) is settled in the delivery log (delivered, or dead-lettered as permanent).
        Otherwise it is parked behind it: the earlier one is on the retry queue, or in the hands of
        a worker that died (then the new owner re-creates it from the notification log, or finds
        its parked record). A resolve never reaches PagerDuty before its trigger, and a parked
        trigger never re-opens a resolved incident. The rule depends only on the delivery log,
        which is written after the receiver's answer, never on a "queued" mark written after the
        park: that mark could be lost with a killed worker (its table write still in the producer
        buffer while the parked record was already in Kafka), and a newer notification would then
        overtake, and drop as superseded, one the receiver never got.

        Deliveries of one group are serialized (the alert agent and the retry agent both deliver),
        so a notification is never sent twice at the same time by the two paths."""
        async with self._lock(n):
            outcome = await self._deliver(n, attempts_before)
            if outcome == "delivered":
                await self._deliver_waiting(n)
            return outcome

    async def _deliver_waiting(self, n: Notification) -> None:
        """After `n` reached the receiver, send the notifications of its group that were parked
        waiting for it, in seq order, at once (their records on the retry queue stay as the
        durable copy and are found delivered when they come round). Called with the group's lock."""
        waiting = self._waiting.get((n.receiver, n.group_key))
        while waiting:
            nxt = waiting.pop(min(waiting))
            if await self._deliver(nxt[0], nxt[1]) != "delivered":
                break
        if not waiting:
            self._waiting.pop((n.receiver, n.group_key), None)

    def due_now(self, parked: bytes) -> bool:
        """A parked record the retry consumer need not wait for: it was waiting behind an earlier
        notification of its group that is settled by now, or it is settled itself."""
        try:
            n, meta = unpark(parked)
        except Exception:
            return True  # unreadable: the caller's error path handles it at once
        settled = self.delivered.latest_seq(n.receiver, n.group_key)
        return n.seq <= max(settled, 0) + 1 and (str(meta.get("error", "")).startswith(_WAITING)
                                                 or n.seq <= settled)

    async def _deliver(self, n: Notification, attempts_before: int) -> str:
        key = f"{n.receiver}/{n.notification_id}"
        if key in self.delivered:
            self.counts["duplicate"] += 1
            log.info("notify %s (seq %d) to %s: already delivered", n.notification_id, n.seq, n.receiver)
            return "duplicate"
        settled = self.delivered.latest_seq(n.receiver, n.group_key)
        if n.seq <= settled:
            # the log has a newer settled notification of the group although this one was never
            # delivered: a left-over copy (its delivery record pruned) or a group whose sequence
            # restarted; sending it could re-open what was closed
            self.counts["superseded"] += 1
            log.warning("notify %s (seq %d) to %s superseded: seq %d of its group already settled",
                        n.notification_id, n.seq, n.receiver, settled)
            return "superseded"
        if n.seq > max(settled, 0) + 1:
            # an earlier notification of the group has not reached the receiver yet: stay behind
            # it (a redelivered one too: a retry that failed again went to the back of the queue)
            group = self._waiting.setdefault((n.receiver, n.group_key), {})
            if n.seq not in group and len(group) < 1000:
                group[n.seq] = (n, attempts_before)
            return await self._park(n, attempts_before, f"{_WAITING} {max(settled, 0) + 1} of its group", False)
        sender = self.senders.get(n.receiver_type)
        if sender is None:
            return await self._park(n, attempts_before, f"no sender for type {n.receiver_type!r}", True)
        started, attempt = self.clock(), 0
        while True:
            attempt += 1
            self.counts["attempts"] += 1
            try:
                req = sender.request(n, self.wall_ms())
                if req.url:
                    await post(self._http(), req, self.policy.timeout_s)
                else:
                    _log_only(n)
            except DeliveryError as exc:
                delay = max(self.policy.backoff(attempt), exc.retry_after_s)
                elapsed = self.clock() - started
                if not exc.retryable or elapsed + delay > self.policy.give_up_after_s:
                    return await self._park(n, attempts_before + attempt, str(exc), not exc.retryable)
                log.info("notify %s to %s failed (attempt %d), retrying in %.1fs: %s",
                         n.notification_id, n.receiver, attempt, delay, exc)
                await self.sleep(delay)
                continue
            self.delivered.add(key, self.wall_ms())
            self.delivered.note_seq(n.receiver, n.group_key, n.seq)
            self.counts["delivered"] += 1
            log.info("notify %s (seq %d) delivered to %s at attempt %d", n.notification_id, n.seq,
                     n.receiver, attempts_before + attempt)
            return "delivered"

    async def _park(self, n: Notification, attempts: int, error: str, permanent: bool) -> str:
        now = self.wall_ms()
        log.warning("notify %s to %s parked after %d attempt(s)%s: %s", n.notification_id, n.receiver,
                    attempts, " (permanent)" if permanent else "", error)
        queue = self.dead_letter if permanent and self.dead_letter is not None else self.retry_queue
        await queue.put(park_record(
            n, attempts=attempts, error=error, permanent=permanent, now_ms=now,
            not_before_ms=now + int(self.policy.max_backoff_s * 1000)))
        if queue is not self.retry_queue:
            # given up for good (explicit dead letter): settled, the rest of its group goes on
            self.delivered.note_seq(n.receiver, n.group_key, n.seq)
        self.counts["parked"] += 1
        return "parked"

    async def redeliver(self, parked: bytes) -> str:
        """Try a notification from the retry queue again (the caller waits until not_before_ms;
        see `wait_seconds`). Parked again if the receiver is still down."""
        n, meta = unpark(parked)
        return await self.deliver(n, attempts_before=int(meta.get("attempts", 0)), from_retry=True)


def _log_only(n: Notification) -> None:
    """Receivers without a URL (demo, development) write one line per notification."""
    first = n.alerts[0]["annotations"] if n.alerts else {}
    log.log(logging.DEBUG if n.is_repeat else logging.WARNING, "[%s] %s %s: %s %s", n.receiver, n.status.upper(), n.group_labels,
                first.get("summary", ""), first.get("dashboard", ""))
