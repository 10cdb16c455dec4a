"""The consumer client: groups, positions, fetching with an isolation level, commits.

The API is confluent-kafka's: ``Consumer(config)``, ``subscribe``/``assign``, ``poll``,
``consume``, ``commit``, ``committed``, ``position``, ``seek``, ``close``,
``consumer_group_metadata``. ``poll`` timeouts are in seconds of virtual time.

Behaviour follows the Java client where it matters for exactly-once:

* ``isolation.level=read_uncommitted`` (the Java default) reads up to the high watermark,
  aborted records included; ``read_committed`` reads up to the last stable offset and
  drops aborted transactions with :func:`eoslib.isolation.read_committed_filter`;
* auto-commit (``enable.auto.commit``, every ``auto.commit.interval.ms``) commits, at the
  start of a ``poll``, the position reached by the previous polls;
* a group member that does not call ``poll`` within ``max.poll.interval.ms`` leaves the
  group; one that stops heartbeating (a crash) is removed after ``session.timeout.ms``;
  either way a rebalance hands its partitions to others and its later commits fail;
* ``abort_transaction`` does NOT rewind the consumer (KAFKA-17582): seek back yourself.

The group protocol and commits live in ``consumer_coordinator.py``, fetching and positions
in ``fetcher.py``.
"""


from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eoslib.config import public, validate
from eoslib.consumer_coordinator import ConsumerCoordinator
from eoslib.context import SimContext, resolve
from eoslib.errors import KafkaError, KafkaException
from eoslib.fetcher import Fetcher
from eoslib.isolation import FetchFilter, read_committed_filter, read_uncommitted_filter
from eoslib.messages import Message, TopicPartition

TP = tuple[str, int]
INFINITE_POLL_MS = 300_000.0


@dataclass(frozen=True)
class GroupMetadata:
    """What ``consumer_group_metadata()`` returns: the group and this member's place."""

    group_id: str
    generation_id: int
    member_id: str
    group_instance_id: str | None = None


class Consumer(ConsumerCoordinator, Fetcher):
    """A simulated Kafka consumer (see module docstring)."""

    def __init__(self, config: dict[str, Any] | None = None, *,
                 sim: SimContext | None = None) -> None:
        self.sim = resolve(sim, config)
        conf = validate("consumer", config)
        self.config = conf
        self.kernel = self.sim.kernel
        self.cluster = self.sim.cluster
        self.name = conf["client.id"] or self.sim.next_name("consumer")
        self.lane = self.name
        self.group_id: str | None = conf["group.id"]
        self.isolation: str = conf["isolation.level"]
        self.alive = True
        self.closed = False
        self._subscription: list[str] = []
        self._on_assign: Callable[..., None] | None = None
        self._on_revoke: Callable[..., None] | None = None
        self._assignment: list[TP] = []
        self._pending_assignment: tuple[int, list[TP]] | None = None
        self._manual = False
        self.member_id = ""
        self.generation = -1
        self._joined = False
        self._fatal: KafkaError | None = None
        self._fetch_error: KafkaError | None = None  # raised by the next consume()
        self._positions: dict[TP, int | None] = {}
        self._buffers: dict[TP, deque[tuple[int, Any, Any, Any]]] = {}  # + writer id
        self._next_fetch: dict[TP, int] = {}
        self._fetching: set[TP] = set()
        self._eof_at: dict[TP, int] = {}  # enable.partition.eof: end offset last reported
        self._stored: dict[TP, int] = {}  # store_offsets() (enable.auto.offset.store=false)
        self._on_lost: Callable[..., None] | None = None
        self._lost = False  # the group took the assignment away: on_lost, not on_revoke
        self._last_poll = self.kernel.now
        self._next_auto_commit = self.kernel.now + conf["auto.commit.interval.ms"]
        self.client = conf["client"]
        if self.client == "librdkafka" and conf["enable.auto.commit"] and self.group_id:
            # librdkafka: a background timer commits the stored offsets, poll or no poll
            # (rdkafka_cgrp.c rd_kafka_cgrp_offset_commit_tmr_cb; CONFIGURATION.md
            # enable.auto.commit / enable.auto.offset.store)
            self.kernel.schedule(conf["auto.commit.interval.ms"], self._auto_commit_timer)
        self._rr = 0
        self.fetch_filter: FetchFilter = (read_committed_filter if self.isolation ==
                                          "read_committed" else read_uncommitted_filter)
        self.stats = {"polled": 0, "commits": 0, "failed_commits": 0, "rebalances": 0}

    def __repr__(self) -> str:
        return f"<Consumer {self.name} group={self.group_id} {self.isolation}>"

    def _alive(self) -> bool:
        return self.alive and not self.closed

    def _check_open(self) -> None:
        if self._fatal is not None:
            raise KafkaException(self._fatal)
        if self.closed:
            raise KafkaException(KafkaError("_STATE", "Consumer closed"))
        if not self.alive:
            raise KafkaException(KafkaError("_DESTROY", "Consumer crashed"))

    # -------------------------------------------------------------- assignment
    def subscribe(self, topics: list[str], on_assign: Callable[..., None] | None = None,
                  on_revoke: Callable[..., None] | None = None,
                  on_lost: Callable[..., None] | None = None) -> None:
        """Join ``group.id`` for ``topics``; partitions are assigned at the next poll."""
        self._check_open()
        if not self.group_id:
            raise KafkaException(KafkaError("_INVALID_ARG", "subscribe() needs group.id"))
        for t in topics:
            self.cluster.partitions(t)
        self._subscription = list(topics)
        self._on_assign, self._on_revoke, self._on_lost = on_assign, on_revoke, on_lost
        self._manual = False

    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read exactly these partitions, outside any group rebalancing."""
        self._check_open()
        self._manual = True
        self._assignment = []
        for tp in partitions:
            self.cluster.partition(tp.topic, tp.partition)
            key = (tp.topic, tp.partition)
            self._assignment.append(key)
            self._positions[key] = tp.offset if tp.offset >= 0 else None
            self._eof_at.pop(key, None)
            self._buffers[key] = deque()

    def assignment(self) -> list[TopicPartition]:
        """The partitions currently assigned."""
        return [TopicPartition(t, p) for t, p in self._assignment]

    def unsubscribe(self) -> None:
        """Leave the group."""
        if self._joined and self.group_id:
            self.cluster.group_coordinator.leave(self.group_id, self.member_id)
        self._joined = False
        self._subscription = []
        self._assignment = []

    # ------------------------------------------------------------------- poll
    def poll(self, timeout: float | None = None) -> Message | None:
        """Return the next record, waiting up to ``timeout`` seconds (None: until one
        arrives; the simulation gives up after 300 s of virtual time)."""
        msgs = self.consume(1, timeout)
        return msgs[0] if msgs else None

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[Message]:
        """Return up to ``num_messages`` records, waiting up to ``timeout`` seconds."""
        self._check_open()
        if num_messages < 1:
            raise KafkaException(KafkaError("_INVALID_ARG", f"num_messages={num_messages}: "
                                            "must be at least 1"))
        kernel = self.kernel
        self._last_poll = kernel.now
        if self._fetch_error is not None:
            err, self._fetch_error = self._fetch_error, None
            raise KafkaException(err)
        if self._subscription and not self._joined:
            self._join()
        if self.client == "java" and self.config["enable.auto.commit"] and self.group_id and \
                kernel.now >= self._next_auto_commit:
            self._next_auto_commit = kernel.now + self.config["auto.commit.interval.ms"]
            self._auto_commit()
        wait = INFINITE_POLL_MS if timeout is None or timeout < 0 else timeout * 1000
        deadline = kernel.now + wait
        positions, buffers = self._positions, self._buffers
        while True:
            if self._pending_assignment is not None:
                self._apply_assignment()
            # the common case inline: every position known and nothing buffered (then
            # _init_positions has nothing to do and _take returns no records)
            idle = True
            for tp in self._assignment:
                if positions.get(tp) is None or buffers.get(tp):
                    idle = False
                    break
            if idle:
                out = []
            else:
                self._init_positions()
                out = self._take(num_messages)
            if out or not (self.alive and not self.closed):
                break
            self._fetch_all()  # like librdkafka's fetcher, fetching goes on between polls
            if kernel.now >= deadline:
                break
            # wait for data, a rebalance, or an (empty) fetch answer - then fetch again
            kernel.run_until(self._wait_fetching if self._fetching else self._wait_idle,
                             deadline - kernel.now)
        self._last_poll = kernel.now
        if not out:
            return out
        events, out = out, [m for m in out if m._error is None]  # EOF events are no records
        if out:
            self.stats["polled"] += len(out)
            self.sim.history.record(
                self.kernel.now, self.sim.process_name(self), "poll", "ok",
                records=[[m._topic, m._partition, m._offset, m._value] for m in out],
                isolation=self.isolation, group=self.group_id,
                **poll_meta(out))
            first, last = out[0], out[-1]
            self.kernel.emit(self.lane, "poll", f"{len(out)} from {first.topic()}-"
                             f"{first.partition()} @{first.offset()}..{last.offset()}",
                             data=self._poll_data(out))
        return events

    def _wait_idle(self) -> bool:
        """What ends a poll's wait: a rebalance, data, or the consumer's end (checked after
        every event: the buffers are read inline)."""
        if self._pending_assignment is not None or not (self.alive and not self.closed):
            return True
        buffers = self._buffers
        for tp in self._assignment:
            if buffers.get(tp):
                return True
        return False

    def _wait_fetching(self) -> bool:
        """As :meth:`_wait_idle`, or every fetch in flight answered (fetch again)."""
        return not self._fetching or self._wait_idle()

    def _poll_data(self, out: list[Message]) -> dict[str, Any] | None:
        """The structured part of a poll's trace event: what was handed out, and the
        position of every assigned partition afterwards."""
        if not self.kernel.tracing:
            return None
        return {"group": self.group_id, "isolation": self.isolation,
                "records": [[f"{m.topic()}-{m.partition()}", m.offset(), str(m.value())]
                            for m in out],
                "positions": {f"{t}-{i}": p for (t, i), p in self._positions.items()
                              if p is not None}}

    # ----------------------------------------------------------------- offsets
    def position(self, partitions: list[TopicPartition] | None = None) -> list[TopicPartition]:
        """The next offset the application will receive, per partition."""
        parts = partitions if partitions is not None else self.assignment()
        out = []
        for tp in parts:
            pos = self._positions.get((tp.topic, tp.partition))
            out.append(TopicPartition(tp.topic, tp.partition, -1001 if pos is None else pos))
        return out

    def seek(self, partition: TopicPartition) -> None:
        """Set the next offset to read for ``partition.topic``-``partition.partition``."""
        self._check_open()
        key = (partition.topic, partition.partition)
        if key not in self._assignment:
            raise KafkaException(KafkaError("_STATE", f"seek: {key[0]}-{key[1]} is not "
                                            "assigned to this consumer"))
        self._positions[key] = partition.offset
        self._next_fetch[key] = partition.offset
        self._eof_at.pop(key, None)
        self._buffers[key] = deque()
        self.kernel.emit(self.lane, "seek", f"seek {key[0]}-{key[1]} to {partition.offset}",
                         data={"group": self.group_id,
                               "positions": {f"{key[0]}-{key[1]}": partition.offset}}
                         if self.kernel.tracing else None)

    def committed(self, partitions: list[TopicPartition],
                  timeout: float | None = None) -> list[TopicPartition]:
        """The group's committed offsets, waiting while a transaction's offsets for these
        partitions are pending (UNSTABLE_OFFSET_COMMIT) when the client asks for stable
        offsets: the Java client always does (ConsumerCoordinator.sendOffsetFetchRequest,
        requireStable=true), librdkafka only under ``isolation.level=read_committed``
        (rd_kafka_committed in rdkafka.c, rdkafka_assignment.c)."""
        self._check_open()
        keys = [(tp.topic, tp.partition) for tp in partitions]
        got = self._fetch_committed(keys, timeout)
        return [TopicPartition(t, p, -1001 if got.get((t, p)) is None else got[(t, p)])
                for t, p in keys]

    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None,
               asynchronous: bool = True) -> list[TopicPartition] | None:
        """Commit offsets (default: the current positions). With ``asynchronous=False``
        wait and raise on failure (e.g. ILLEGAL_GENERATION after a rebalance)."""
        self._check_open()
        if not self.group_id:
            raise KafkaException(KafkaError("_INVALID_ARG", "commit() needs group.id"))
        if message is not None:
            offs = {(message.topic(), message.partition()): message.offset() + 1}
        elif offsets is not None:
            offs = {(tp.topic, tp.partition): tp.offset for tp in offsets}
        else:
            offs = self._commit_offsets()
            if self._assignment_lost():
                # out of the group: the commit fails here, no OffsetCommit is sent
                # (librdkafka rd_kafka_cgrp_offsets_commit: "Not committing assigned offsets:
                # assignment lost"; Java ConsumerCoordinator.sendOffsetCommitRequest:
                # CommitFailedException, which has no error code: named as librdkafka's)
                assert self.group_id is not None
                self.kernel.emit(self.lane, "commit", "commit() failed: _ASSIGNMENT_LOST (out "
                                 "of the group: nothing sent)", flag="error")
                self._record_commit(self.sim.process_name(self), self.group_id, offs, "fail",
                                    False, "_ASSIGNMENT_LOST")
                raise KafkaException(KafkaError(
                    "_ASSIGNMENT_LOST", "Offset commit cannot be completed since the consumer "
                    "is not part of an active group for auto partition assignment; it is "
                    "likely that the consumer was kicked out of the group "
                    "(CommitFailedException)" if self.client == "java" else
                    "Local: Group partition assignment lost"))
        if not offs:
            raise KafkaException(KafkaError("_STATE", "commit(): no offsets to commit"))
        return self._send_commit(offs, wait=not asynchronous)

    def store_offsets(self, message: Message | None = None,
                      offsets: list[TopicPartition] | None = None) -> None:
        """Store the offset to commit for a partition: ``message``'s offset + 1, or each of
        ``offsets``; auto-commit, ``commit()`` and ``close()`` commit what is stored.
        librdkafka (``rd_kafka_offsets_store``): needs ``enable.auto.offset.store=false``."""
        self._check_open()
        if (message is None) == (offsets is None):
            raise ValueError("expected either message or offsets" if message is None
                             else "message and offsets are mutually exclusive")
        if self.config["enable.auto.offset.store"]:
            raise KafkaException(KafkaError("_INVALID_ARG", "StoreOffsets failed: Local: "
                                            "Invalid argument or configuration (set "
                                            "enable.auto.offset.store=false)"))
        if message is not None:
            if message.error() is not None:
                raise KafkaException(KafkaError("_INVALID_ARG", "Cannot store offsets for "
                                                f"message with error: '{message.error()}'"))
            offs = [(message.topic(), message.partition(), message.offset() + 1)]
        else:
            offs = [(tp.topic, tp.partition, tp.offset) for tp in offsets or ()]
        for t, p, o in offs:
            if (t, p) not in self._assignment:
                raise KafkaException(KafkaError("_STATE", f"StoreOffsets failed: {t}-{p} is "
                                                "not assigned to this consumer"))
            self._stored[(t, p)] = o

    def consumer_group_metadata(self) -> GroupMetadata:
        """The group metadata to pass to ``send_offsets_to_transaction``."""
        if not self.group_id:
            raise KafkaException(KafkaError("_INVALID_ARG", "consumer has no group.id"))
        return GroupMetadata(self.group_id, self.generation if not self._manual else -1,
                             self.member_id, self.config["group.instance.id"])

    def get_watermark_offsets(self, partition: TopicPartition,
                              cached: bool = False) -> tuple[int, int]:
        """(low, high): high is the HW, or the LSO for read_committed consumers."""
        p = self.cluster.partition(partition.topic, partition.partition)
        return 0, (p.lso if self.isolation == "read_committed" else p.hw)

    def close(self) -> None:
        """Leave the group. With ``enable.auto.commit`` the consumed position is committed
        first, synchronously (Java: ``ConsumerCoordinator.close`` ->
        ``maybeAutoCommitOffsetsSync``; librdkafka commits its stored offsets on close too).
        A failed final commit is not raised (Java: "consistent with async auto-commit
        failures, we do not propagate the exception"; librdkafka reports it to the commit
        callback)."""
        if self.closed:
            return
        if self.config["enable.auto.commit"] and self.group_id and self.alive and \
                self._joined:
            offs = self._commit_offsets()
            if offs:
                try:
                    self._send_commit(offs, wait=True, auto=True)
                except KafkaException as e:
                    self.kernel.emit(self.lane, "error", f"close: final commit failed: "
                                     f"{e.error.name()}")
        if self._joined and self.group_id and self.alive and \
                self.config["group.instance.id"] is None:
            # a static member sends no LeaveGroup: its partitions wait for it to come back
            self.cluster.group_coordinator.leave(self.group_id, self.member_id, "closed")
        self.closed = True

    def crash(self) -> None:
        """The process dies: no more heartbeats; the group notices after
        ``session.timeout.ms``."""
        self.alive = False

    @property
    def effective_config(self) -> dict[str, Any]:
        """The configuration in force, defaults included."""
        return public(self.config)


def poll_meta(out: list[Message]) -> dict[str, Any]:
    """The history's ``writers`` (and ``headers``, when a record has any) of a poll."""
    meta: dict[str, Any] = {"writers": [list(w) if (w := m._writer) else None for m in out]}
    if any(m._headers is not None for m in out):
        meta["headers"] = [m._headers for m in out]
    return meta
