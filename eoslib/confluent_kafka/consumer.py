"""``confluent_kafka.Consumer`` over the simulated consumer (librdkafka's semantics).

The simulated :class:`eoslib.consumer.Consumer` (``client=librdkafka``) does the work; this
class gives it confluent-kafka 2.x's surface: ``group.id`` required, librdkafka's key names,
messages with bytes keys and values, ``_PARTITION_EOF`` events (``enable.partition.eof``),
``on_assign``/``on_revoke``/``on_lost`` called with this consumer and lists of
:class:`~eoslib.confluent_kafka.message.TopicPartition`, ``assign()`` inside ``on_assign``
to choose start offsets, logical offsets (``OFFSET_BEGINNING``...), ``on_commit``,
``store_offsets``, ``RuntimeError("Consumer closed")`` after ``close()``. A subscription to a
topic that does not exist yields librdkafka's ``UNKNOWN_TOPIC_OR_PART`` consumer error (or,
with ``allow.auto.create.topics=true``, creates it); a ``^regex`` subscription is matched
against the topics that exist when ``subscribe`` is called.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from eoslib import consumer as core_consumer
from eoslib.config import Key, coerce
from eoslib.confluent_kafka import backend as backends
from eoslib.confluent_kafka.admin import ClusterMetadata, cluster_id, metadata
from eoslib.confluent_kafka.errors import KafkaError, KafkaException, lift
from eoslib.confluent_kafka.keys import translate
from eoslib.confluent_kafka.message import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    Message,
    TopicPartition,
    lift_tp,
    pairs,
)
from eoslib.confluent_kafka.surface import UNBOUNDED_MS, api, conf_of, ms

Rebalance = Callable[[Any, list[TopicPartition]], None]


class Consumer(core_consumer.Consumer):
    """``Consumer(config)`` / ``Consumer(**config)`` as in confluent-kafka (see module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        conf = conf_of(args, kwargs)
        if "group.id" not in conf:
            raise ValueError("Failed to create consumer: group.id must be set")
        self._backend = backends.resolve(conf)
        core_conf, handled, self.not_simulated = translate("consumer", conf, "consumer")
        super().__init__(core_conf, sim=self._backend.sim)
        self._on_commit = handled.get("on_commit")
        self._error_cb = handled.get("error_cb")
        self._auto_create = coerce(Key("allow.auto.create.topics", "bool", False),
                                   handled.get("allow.auto.create.topics", False))
        self._events: deque[Message] = deque()  # consumer errors to hand out at the next poll
        self._commits: deque[tuple[KafkaError | None, list[TopicPartition]]] = deque()
        self._in_rebalance = False
        self._backend.adopt(self)

    def _check_closed(self) -> None:
        if self.closed:
            raise RuntimeError("Consumer closed")

    # ------------------------------------------------------------ assignment
    @api("subscribe")
    def subscribe(self, topics: list[str], on_assign: Rebalance | None = None,
                  on_revoke: Rebalance | None = None, on_lost: Rebalance | None = None) -> None:
        """Join ``group.id`` for ``topics`` (``^regex`` patterns matched now)."""
        self._check_closed()
        existing = self._backend.sim.cluster.topics
        names: list[str] = []
        for t in topics:
            if t.startswith("^"):
                names.extend(n for n in sorted(existing) if re.search(t, n) and n not in names)
            elif t in existing or (self._auto_create and self._backend.ensure_topic(t)):
                names.append(t)
            else:
                self._events.append(Message(t, error=KafkaError(
                    KafkaError.UNKNOWN_TOPIC_OR_PART, f"Subscribed topic not available: {t}: "
                    "Broker: Unknown topic or partition")))
        super().subscribe(names, on_assign=self._rebalance(on_assign),
                          on_revoke=self._rebalance(on_revoke), on_lost=self._rebalance(on_lost))
        self._user_revoke = on_revoke

    def _rebalance(self, cb: Rebalance | None) -> Callable[..., None] | None:
        """A rebalance callback that gets this consumer and confluent-kafka's TopicPartitions
        (inside it, ``assign()`` sets the start offsets of the group's assignment)."""
        if cb is None:
            return None

        def call(_: Any, parts: list[Any]) -> None:
            self._in_rebalance = True
            try:
                cb(self, [lift_tp(tp) for tp in parts])
            finally:
                self._in_rebalance = False

        return call

    @api("assign")
    def assign(self, partitions: list[TopicPartition]) -> None:
        """Read exactly these partitions (from their offsets, logical ones included); inside
        ``on_assign``: the start offsets of the group's assignment."""
        self._check_closed()
        if self._in_rebalance:
            for tp in partitions:
                key = (tp.topic, tp.partition)
                if key in self._assignment:
                    pos = self._positions[key] = self._absolute(key, tp.offset)
                    self._buffers[key] = deque()
                    if pos is not None:
                        self._next_fetch[key] = pos
            return
        parts = [TopicPartition(tp.topic, tp.partition,
                                self._absolute((tp.topic, tp.partition), tp.offset) or -1001)
                 for tp in partitions if self._known(tp.topic)]
        super().assign(parts)

    def _known(self, topic: str) -> bool:
        """Whether ``topic`` exists (else a consumer error is queued, as librdkafka's)."""
        if topic in self._backend.sim.cluster.topics:
            return True
        self._events.append(Message(topic, error=KafkaError(
            KafkaError.UNKNOWN_TOPIC_OR_PART, f"{topic}: Broker: Unknown topic or partition")))
        return False

    def _absolute(self, key: tuple[str, int], offset: int) -> int | None:
        """A logical offset as an absolute one; None: from the committed offset."""
        if offset == OFFSET_BEGINNING:
            return 0
        if offset == OFFSET_END:
            p = self.cluster.partition(*key)
            return p.lso if self.isolation == "read_committed" else p.hw
        return offset if offset >= 0 else None

    @api("unassign")
    def unassign(self) -> None:
        """Stop reading every assigned partition."""
        self._check_closed()
        self._assignment = []

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        """Add partitions to a manual assignment (cooperative rebalancing is not
        simulated)."""
        self._check_closed()
        if self._subscription:
            raise KafkaException(KafkaError(KafkaError._NOT_IMPLEMENTED, "incremental_assign "
                                            "with subscribe(): cooperative rebalancing is "
                                            "not simulated"))
        self.assign([*self.assignment(), *partitions])

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        """Remove partitions from a manual assignment."""
        self._check_closed()
        drop = {(tp.topic, tp.partition) for tp in partitions}
        self._assignment = [tp for tp in self._assignment if tp not in drop]

    def assignment(self) -> list[TopicPartition]:
        """The partitions currently assigned."""
        self._check_closed()
        return [TopicPartition(t, p) for t, p in self._assignment]

    @api("unsubscribe")
    def unsubscribe(self) -> None:
        """Leave the group (``on_revoke`` is called with the assignment first)."""
        self._check_closed()
        self._revoke_all()
        super().unsubscribe()

    def _revoke_all(self) -> None:
        revoke = getattr(self, "_user_revoke", None)
        if revoke is not None and self._subscription and self._assignment and self.alive:
            revoke(self, self.assignment())

    # ----------------------------------------------------------------- poll
    @api("poll", counted=lambda m: m is not None)
    def poll(self, timeout: float | None = None) -> Message | None:
        """The next message or event, waiting up to ``timeout`` seconds (None/-1: until one
        comes; see :func:`eoslib.confluent_kafka.surface.wait`)."""
        out = self._consume(1, timeout)
        return out[0] if out else None

    @api("consume", counted=bool)
    def consume(self, num_messages: int = 1, timeout: float | None = -1) -> list[Message]:
        """Up to ``num_messages`` messages or events, waiting up to ``timeout`` seconds."""
        if not isinstance(num_messages, int) or not 1 <= num_messages <= 1000000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        return self._consume(num_messages, timeout)

    def _consume(self, n: int, timeout: float | None) -> list[Message]:
        self._check_closed()
        self._serve_commits()
        out: list[Message] = []
        while self._events and len(out) < n:
            out.append(self._events.popleft())
        if out:
            return out
        b = self._backend
        limit = ms(timeout)
        if limit is None and b.idle_exit_s is None and b.max_s is None:
            limit = UNBOUNDED_MS
        deadline = None if limit is None else self.kernel.now + limit
        while True:
            left = None if deadline is None else max(0.0, (deadline - self.kernel.now) / 1000)
            got = core_consumer.Consumer.consume(self, n, b.wait_slice_s(left))
            if got or not self._alive() or (deadline is not None
                                            and self.kernel.now >= deadline):
                break
            self._idle(b)
        if not got:
            self._idle(b)
        self._serve_commits()
        out = [self._message(m) for m in got]
        if out:
            self._backend.active()
        return out

    def _idle(self, b: backends.Backend) -> None:
        """An empty poll: idle time for the backend's bound, unless the consumer still
        waits for the group to give it partitions (a rebalance is progress, not idleness:
        e.g. a restarted member waits out its dead predecessor's session.timeout.ms)."""
        if self._subscription and not self._assignment:
            b.active()
        b.checkpoint()

    def _message(self, m: Any) -> Message:
        """A fetched record (or event) as confluent-kafka hands it out."""
        if m.error() is not None:
            return Message(m.topic(), m.partition(), m.offset(), error=lift(m.error()))
        ts = (TIMESTAMP_CREATE_TIME, backends.EPOCH_MS + round(self._append_time(m)))
        return Message(m.topic(), m.partition(), m.offset(), _raw(m.key()), _raw(m.value()),
                       pairs(m._headers), None, ts)

    def _append_time(self, m: Any) -> float:
        """When the record's batch was appended (virtual ms): the simulated log keeps no
        producer timestamp, so this stands for the record's CreateTime."""
        log = self.cluster.partition(m.topic(), m.partition()).log
        i = bisect.bisect_right([b.base_offset for b in log], m.offset()) - 1
        return log[i].append_time if i >= 0 else 0.0

    def _record_commit(self, process: str, group: str, offs: dict[Any, int], outcome: str,
                       auto: bool, error: str | None = None) -> None:
        super()._record_commit(process, group, offs, outcome, auto, error)
        if self._on_commit is not None:
            err = None if outcome == "ok" else lift(core_consumer.KafkaError(
                error or "REQUEST_TIMED_OUT"))
            self._commits.append((err, [TopicPartition(t, p, o) for (t, p), o in offs.items()]))

    def _serve_commits(self) -> None:
        """``on_commit(err, partitions)`` for each commit completed since the last poll."""
        while self._commits:
            err, parts = self._commits.popleft()
            self._on_commit(err, parts)  # type: ignore[misc]

    # -------------------------------------------------------------- offsets
    @api("position")
    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        """The offset of the last message returned + 1, per partition."""
        self._check_closed()
        return [lift_tp(tp) for tp in super().position(partitions)]

    @api("committed")
    def committed(self, partitions: list[TopicPartition],
                  timeout: float | None = -1) -> list[TopicPartition]:
        """The group's committed offsets (``OFFSET_INVALID`` where none)."""
        self._check_closed()
        t = ms(timeout)
        return [lift_tp(tp) for tp in super().committed(partitions,
                                                         None if t is None else t / 1000)]

    @api("seek")
    def seek(self, partition: TopicPartition) -> None:
        """Set the next offset to read (absolute or logical) of an assigned partition."""
        self._check_closed()
        key = (partition.topic, partition.partition)
        off = self._absolute(key, partition.offset) if key in self._assignment else 0
        super().seek(TopicPartition(partition.topic, partition.partition,
                                    off if off is not None else 0))
        sim = self._backend.sim  # the checker's nonmonotonic_poll: a re-read after a seek
        sim.history.record(sim.now, sim.process_name(self), "seek", "ok",
                           topic=partition.topic, partition=partition.partition,
                           offset=off if off is not None else 0)

    @api("store_offsets")
    def store_offsets(self, message: Message | None = None,
                      offsets: list[TopicPartition] | None = None) -> None:
        """Store ``message``'s offset + 1 (or ``offsets``) for the next commit."""
        self._check_closed()
        super().store_offsets(message, offsets)

    @api("commit", counted=None)
    def commit(self, message: Message | None = None,
               offsets: list[TopicPartition] | None = None,
               asynchronous: bool = True) -> list[TopicPartition] | None:
        """Commit ``message``'s offset + 1, ``offsets``, or the stored/current offsets;
        synchronously with ``asynchronous=False`` (then the committed list is returned)."""
        self._check_closed()
        if message is not None and offsets is not None:
            raise ValueError("message and offsets are mutually exclusive")
        if message is None and offsets is None and not self._commit_offsets():
            raise KafkaException(KafkaError(KafkaError._NO_OFFSET))  # rd_kafka_commit's answer
        got = super().commit(message, offsets, asynchronous)
        return None if got is None else [lift_tp(tp) for tp in got]

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float | None = None,
                              cached: bool = False) -> tuple[int, int]:
        """(low, high) offsets of ``partition`` (high: the LSO under read_committed)."""
        self._check_closed()
        return super().get_watermark_offsets(partition, cached)

    def memberid(self) -> str | None:
        """This member's id in the group, or None."""
        self._check_closed()
        return self.member_id or None

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """The cluster's metadata (all topics, or ``topic``)."""
        self._check_closed()
        return metadata(self._backend.sim, topic)

    def cluster_id(self) -> str:
        """The simulated cluster's id."""
        return cluster_id(self._backend.sim)

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Not simulated (the simulated brokers need no authentication)."""

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Not simulated: raises ``_NOT_IMPLEMENTED``."""
        raise KafkaException(KafkaError(KafkaError._NOT_IMPLEMENTED, "pause() is not "
                                        "simulated"))

    resume = pause

    def offsets_for_times(self, partitions: list[TopicPartition],
                          timeout: float = -1) -> list[TopicPartition]:
        """Not simulated: raises ``_NOT_IMPLEMENTED``."""
        raise KafkaException(KafkaError(KafkaError._NOT_IMPLEMENTED, "offsets_for_times() "
                                        "is not simulated (the log keeps no timestamps)"))

    @api("close")
    def close(self) -> None:
        """Revoke (``on_revoke``), commit what auto-commit would, leave the group."""
        if self.closed:
            return
        self._revoke_all()
        super().close()
        self._serve_commits()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _raw(v: Any) -> bytes | None:
    """A stored key or value as bytes (records written by the simulator's own clients may
    hold str)."""
    if v is None or isinstance(v, bytes):
        return v
    return str(v).encode("utf-8")
