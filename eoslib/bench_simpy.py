"""The benchmark's at-least-once workload written idiomatically with SimPy, for comparison.

This is the same pipeline :mod:`eoslib.bench` runs through eoslib, at the same level of
detail, but built the way a SimPy user would build it: processes, ``Store``s, a
``Resource`` for the in-flight limit and ``event | timeout`` for request timeouts.

* The application process produces one record per ms into an accumulator. A batch stays
  open (and keeps growing) until the sender takes it, at the earliest ``linger.ms`` after
  its first record, as in eoslib and the Java client.
* The sender holds one of ``max.in.flight.requests.per.connection`` slots per request. A
  request travels ``latency`` ms to the broker; the broker appends the batch to its log (a
  list) and answers after ``latency`` ms, unless the answer is lost (drawn from a seeded
  ``random.Random`` with probability ``response_loss``, once per request).
* Responses are handed out in order per connection: a lost one blocks the later ones until
  ``request.timeout.ms``; then the connection is dropped, every request on it fails, and
  each batch is retried ``retry.backoff.ms`` later as a NEW append (no idempotence: a
  retry of a batch that landed is a duplicate). Retries go ahead of newer batches.
* A consumer group member fetches from its position up to the high watermark (at least one
  whole batch, up to ``max.poll.records``); an empty fetch answers after
  ``fetch.max.wait.ms``. After every poll it commits its position asynchronously (an
  OffsetCommit appended to the offsets log) and heartbeats every ``heartbeat.interval.ms``.
* History records (``send`` per record, ``poll``, ``commit``) are appended to a list, as
  the same :class:`eoslib.history.Op` tuples eoslib records, with the same values.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from eoslib.history import Op

TOPIC = "bench"
PROCESS_P = "producer"
PROCESS_C = "consumer"
_TIMEOUT = object()


@dataclass(slots=True)
class Batch:
    """Records gathered for one produce request."""

    created: float
    seq: int
    records: list[tuple[Any, Any, int]] = field(default_factory=list)  # (key, value, seq_no)
    size: int = 0
    closed: bool = False
    attempts: int = 0
    ready_at: float = 0.0


@dataclass(slots=True)
class LogBatch:
    """A batch in the broker's log."""

    base_offset: int
    records: list[tuple[Any, Any]]
    append_time: float = 0.0

    @property
    def last_offset(self) -> int:
        """Offset of the last record."""
        return self.base_offset + len(self.records) - 1


class Connection:
    """The client side of an ordered connection: requests in send order."""

    __slots__ = ("inflight", "closed")

    def __init__(self) -> None:
        self.inflight: deque[Request] = deque()
        self.closed = False


class Request:
    """One produce request in flight."""

    __slots__ = ("batch", "records", "lose", "conn", "done", "response")

    def __init__(self, env: simpy.Environment, batch: Batch, lose: bool,
                 conn: Connection) -> None:
        self.batch = batch
        self.records = [(k, v) for k, v, _ in batch.records]
        self.lose = lose
        self.conn = conn
        self.done = env.event()
        self.response: Any = None


class Model:
    """The whole at-least-once pipeline as SimPy processes (see module docstring)."""

    def __init__(self, n: int, seed: int = 0, *, response_loss: float = 0.05,
                 latency: float = 1.0, request_timeout: float = 1000.0,
                 retry_backoff: float = 100.0, linger: float = 5.0,
                 batch_size: int = 16384, max_inflight: int = 5, max_poll: int = 500,
                 fetch_wait: float = 500.0, heartbeat: float = 3000.0,
                 commit_timeout: float = 30_000.0) -> None:
        self.n = n
        self.env = simpy.Environment()
        # the same stream and the same three draws per produce request as eoslib's
        # FaultInjector, so that both runs lose the responses of the same requests
        self.rng = random.Random(random.Random(seed).getrandbits(64))
        self.response_loss = response_loss
        self.latency = latency
        self.request_timeout = request_timeout
        self.retry_backoff = retry_backoff
        self.linger = linger
        self.batch_size = batch_size
        self.max_poll = max_poll
        self.fetch_wait = fetch_wait
        self.heartbeat_ms = heartbeat
        self.commit_timeout = commit_timeout
        self.history: list[Op] = []
        # producer
        self.ready: simpy.PriorityStore = simpy.PriorityStore(self.env)
        self.slots = simpy.Resource(self.env, capacity=max_inflight)
        self.open: Batch | None = None
        self.conn = Connection()
        self.unsettled = 0
        self.unsent = 0  # batches queued for the sender (lingered or backing off)
        self.produced = 0
        self.producer_done = 0.0  # virtual time when every record was acknowledged
        self._batch_seq = 0
        self.stats = {"sent": 0, "retries": 0, "acked": 0}
        # broker
        self.inbox: simpy.Store = simpy.Store(self.env)
        self.log: list[LogBatch] = []
        self.leo = 0
        self.offsets_log: list[LogBatch] = []
        self.committed: dict[tuple[str, int], int] = {}
        self.last_heartbeat = 0.0
        # consumer
        self.position = 0
        self.buffer: deque[tuple[int, Any, Any]] = deque()
        self.polled = 0
        self.distinct: set[Any] = set()
        self.finished = self.env.event()
        for proc in (self.app(), self.sender(), self.broker(), self.consumer(),
                     self.heartbeats()):
            self.env.process(proc)

    # ---------------------------------------------------------------- history
    def record(self, process: str, f: str, outcome: str, **value: Any) -> None:
        """Append one history op (an :class:`eoslib.history.Op`, as eoslib records)."""
        self.history.append(Op(len(self.history), float(self.env.now), process, f, outcome,
                               value))

    # --------------------------------------------------------------- producer
    def app(self) -> Generator[simpy.Event, Any, None]:
        """Produce ``m0``..``m{n-1}``, one per ms."""
        for i in range(self.n):
            self.produce(None, f"m{i}")
            yield self.env.timeout(1.0)

    def produce(self, key: Any, value: Any) -> None:
        """Add a record to the open batch (a new batch lingers before it may be sent)."""
        b = self.open
        if b is None or b.closed:
            self._batch_seq += 1
            b = self.open = Batch(self.env.now, self._batch_seq)
            self.env.process(self._linger(b))
        self.produced += 1
        b.records.append((key, value, self.produced))
        b.size += len(str(value)) + (len(str(key)) if key is not None else 0)
        self.unsettled += 1
        if b.size >= self.batch_size:
            self.open = None

    def _linger(self, b: Batch) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.linger)
        if self.unsent == 0:  # nothing queued ahead of it: it closes now, sent or not
            self._close(b)
        self.unsent += 1
        yield self.ready.put(simpy.PriorityItem((b.created, b.seq), b))

    def _close(self, b: Batch) -> None:
        b.closed = True
        if self.open is b:
            self.open = None

    def sender(self) -> Generator[simpy.Event, Any, None]:
        """Take the oldest ready batch whenever an in-flight slot is free, and send it."""
        while True:
            slot = self.slots.request()
            yield slot
            item = yield self.ready.get()
            b: Batch = item.item
            if b.ready_at > self.env.now:  # a retry backing off blocks newer batches
                yield self.env.timeout(b.ready_at - self.env.now)
            self.unsent -= 1
            self._close(b)
            self.env.process(self._produce_request(b, slot))

    def _produce_request(self, b: Batch, slot: simpy.resources.resource.Request) -> Generator[
            simpy.Event, Any, None]:
        env = self.env
        b.attempts += 1
        self.stats["sent"] += 1
        if b.attempts > 1:
            self.stats["retries"] += 1
        if self.conn.closed:
            self.conn = Connection()
        rng = self.rng
        _, r2, _ = rng.random(), rng.random(), rng.random()
        req = Request(env, b, r2 < self.response_loss, self.conn)
        req.conn.inflight.append(req)
        env.process(self._to_broker(req))
        result = yield req.done | env.timeout(self.request_timeout)
        self.slots.release(slot)
        resp = result[req.done] if req.done in result else _TIMEOUT
        if resp is _TIMEOUT:  # ours timed out, or an earlier one's did and took the connection
            self._drop(req.conn)
            b.ready_at = env.now + self.retry_backoff
            self.unsent += 1
            self.ready.put(simpy.PriorityItem((b.created, b.seq), b))
            return
        base = resp["base_offset"]
        for i, (key, value, seq_no) in enumerate(b.records):
            self.stats["acked"] += 1
            self.record(PROCESS_P, "send", "ok", topic=TOPIC, partition=0, key=key,
                        value=value, offset=base + i, txn=None, txn_seq=None, error=None,
                        seq_no=seq_no)
        self.unsettled -= len(b.records)
        if self.unsettled == 0 and self.produced == self.n:
            self.producer_done = env.now

    def _drop(self, conn: Connection) -> None:
        """Request timeout: drop the connection; every request still on it fails."""
        conn.closed = True
        pending, conn.inflight = conn.inflight, deque()
        for r in pending:
            if not r.done.triggered:
                r.done.succeed(_TIMEOUT)

    def _to_broker(self, req: Request) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.latency)
        yield self.inbox.put(req)

    # ----------------------------------------------------------------- broker
    def broker(self) -> Generator[simpy.Event, Any, None]:
        """Handle produce requests one at a time, in arrival order."""
        while True:
            req: Request = yield self.inbox.get()
            if req.conn.closed:
                continue  # the client dropped the connection before it arrived
            base = self.leo
            self.log.append(LogBatch(base, req.records, self.env.now))
            self.leo = base + len(req.records)
            if not req.lose:
                self.env.process(self._respond(req, {"error": None, "base_offset": base}))

    def _respond(self, req: Request, resp: dict[str, Any]) -> Generator[
            simpy.Event, Any, None]:
        yield self.env.timeout(self.latency)
        conn = req.conn
        if req.done.triggered or conn.closed:
            return
        req.response = resp
        while conn.inflight and conn.inflight[0].response is not None:  # in order
            head = conn.inflight.popleft()
            if not head.done.triggered:
                head.done.succeed(head.response)

    def fetch(self, offset: int) -> list[LogBatch]:
        """Batches holding offsets from ``offset`` up to the high watermark."""
        log = self.log
        lo, hi = 0, len(log)
        while lo < hi:
            mid = (lo + hi) // 2
            if log[mid].last_offset < offset:
                lo = mid + 1
            else:
                hi = mid
        out: list[LogBatch] = []
        count = 0
        for i in range(lo, len(log)):
            if count >= self.max_poll:
                break
            out.append(log[i])
            count += len(log[i].records)
        return out

    # --------------------------------------------------------------- consumer
    def consumer(self) -> Generator[simpy.Event, Any, None]:
        """Fetch, poll, commit after every poll, until everything was read."""
        env = self.env
        while True:
            if not self.buffer:
                if self.unsettled == 0 and self.produced == self.n and \
                        self.position >= self.leo and len(self.distinct) == self.n:
                    self.finished.succeed()
                    return
                offset = self.position
                yield env.timeout(self.latency)
                batches = self.fetch(offset)
                if not batches:
                    yield env.timeout(self.latency + self.fetch_wait)
                    continue
                yield env.timeout(self.latency)
                self.buffer.extend(
                    (b.base_offset + i, k, v) for b in batches
                    for i, (k, v) in enumerate(b.records) if b.base_offset + i >= offset)
            out = []
            while self.buffer and len(out) < self.max_poll:
                out.append(self.buffer.popleft())
            self.position = out[-1][0] + 1
            self.polled += len(out)
            self.distinct.update(v for _, _, v in out)
            self.record(PROCESS_C, "poll", "ok",
                        records=[[TOPIC, 0, off, v] for off, _, v in out],
                        isolation="read_uncommitted", group="bench")
            env.process(self._commit({(TOPIC, 0): self.position}))

    def _commit(self, offsets: dict[tuple[str, int], int]) -> Generator[
            simpy.Event, Any, None]:
        env = self.env
        done = env.event()
        env.process(self._offset_commit_rpc(offsets, done))
        result = yield done | env.timeout(self.commit_timeout)
        outcome = "ok" if done in result else "info"
        self.record(PROCESS_C, "commit", outcome, group="bench",
                    offsets=[[t, p, o] for (t, p), o in offsets.items()], txn=None, auto=False)

    def _offset_commit_rpc(self, offsets: dict[tuple[str, int], int],
                           done: simpy.Event) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.latency)
        base = self.offsets_log[-1].last_offset + 1 if self.offsets_log else 0
        self.offsets_log.append(LogBatch(base, [(f"bench/{t}-{p}", o)
                                                for (t, p), o in offsets.items()]))
        self.committed.update(offsets)
        yield self.env.timeout(self.latency)
        done.succeed()

    def heartbeats(self) -> Generator[simpy.Event, Any, None]:
        """The group member's heartbeat."""
        while not self.finished.triggered:
            yield self.env.timeout(self.heartbeat_ms)
            self.last_heartbeat = self.env.now

    # -------------------------------------------------------------------- run
    def run(self) -> Model:
        """Run until the consumer has read the whole log."""
        self.env.run(until=self.finished)
        return self


def run_alo(n: int, seed: int = 0, response_loss: float = 0.05) -> Model:
    """Run the at-least-once pipeline for ``n`` records; returns the finished model."""
    return Model(n, seed, response_loss=response_loss).run()
