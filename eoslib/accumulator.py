"""The producer's record accumulator: records gather into one batch per partition.

Java: ``RecordAccumulator`` and ``BuiltInPartitioner``; librdkafka: the partition message
queues of ``rdkafka_msg.c``. A batch closes when ``linger.ms`` passes or ``batch.size``
bytes fill it. A record without an explicit partition goes where the client's partitioner
puts it: Java hashes the key with murmur2; librdkafka's ``consistent_random`` hashes it with
CRC32; records without a key stick to one partition until its batch is sent (KIP-794).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from eoslib.errors import KafkaError, KafkaException
from eoslib.messages import Message
from eoslib.partitioner import crc32_partition, key_bytes, partition_for_key

TP = tuple[str, int]
DeliveryCallback = Callable[[KafkaError | None, Message], None]


def msg_size(key: Any, value: Any) -> int:
    """A record's size as batch.size counts it here: its value's and key's text."""
    return len(str(value)) + (len(str(key)) if key is not None else 0)


class PendingMessage:
    """One record waiting for its outcome, with its delivery callback."""

    __slots__ = ("seq_no", "key", "value", "cb", "txn_seq", "headers")

    def __init__(self, seq_no: int, key: Any, value: Any, cb: DeliveryCallback | None,
                 txn_seq: int | None, headers: dict[str, Any] | None = None) -> None:
        self.seq_no = seq_no
        self.key = key
        self.value = value
        self.cb = cb
        self.txn_seq = txn_seq
        self.headers = headers  # recorded in the history's send op (checker: lineage)


class ProducerBatch:
    """Records of one partition, sent and retried together under one base sequence."""

    __slots__ = ("tp", "msgs", "size", "created", "base_seq", "attempts", "ready_at",
                 "maybe_appended", "id", "epoch", "earlier", "parts")

    def __init__(self, tp: TP, created: float, bid: str) -> None:
        self.tp = tp
        self.msgs: list[PendingMessage] = []
        self.size = 0
        self.created = created
        self.base_seq = -1
        self.attempts = 0
        self.ready_at = 0.0
        self.maybe_appended = False
        self.id = bid
        self.epoch = -1
        #: (epoch, base sequence) it was sent under before a KIP-360 epoch bump re-sequenced
        #: it (recorded in the history: an earlier attempt may be in the log under them)
        self.earlier: list[tuple[int, int]] = []
        #: librdkafka, not idempotent: the queued batches this request's MessageSet was
        #: built from (``Sender._msgset``); on a failure each goes back on its own
        self.parts: list[ProducerBatch] | None = None


class Accumulator:
    """Mixin of :class:`~eoslib.producer.Producer` (whose state it uses): partition choice
    and batching."""

    def _choose_partition(self, topic: str, key: Any, partition: int | None) -> int:
        """The partition a record goes to, by the client's partitioner."""
        parts = self.cluster.partitions(topic)
        if partition is None or partition < 0:
            if key is not None and (self.config["client"] == "java" or key_bytes(key)):
                # Java: murmur2 (BuiltInPartitioner); librdkafka: consistent_random = CRC32
                # (rd_kafka_msg_partitioner_consistent_random, rdkafka_msg.c)
                partition = (partition_for_key(key, len(parts))
                             if self.config["client"] == "java"
                             else crc32_partition(key, len(parts)))
            elif len(parts) == 1:
                partition = 0
            else:  # sticky (KIP-794; librdkafka: rd_kafka_msg_sticky_partition for null or
                # empty keys): stay on one partition until its batch is sent
                partition = self._sticky.get(topic)
                if partition is None:
                    partition = self.sim.app_rng.randrange(len(parts))
                    self._sticky[topic] = partition
        elif partition >= len(parts):
            raise KafkaException(KafkaError("_UNKNOWN_PARTITION",
                                            f"{topic} has no partition {partition}"))
        return partition

    def _append(self, tp: TP, key: Any, value: Any, cb: DeliveryCallback | None,
                headers: dict[str, Any] | None = None) -> None:
        """Add a record to its partition's open batch (a new batch schedules a drain after
        ``linger.ms``); a full batch is closed and the sender woken."""
        self._seq_no += 1
        msg = PendingMessage(self._seq_no, key, value, cb,
                             self.txn_seq if self.txn_id else None, headers)
        b = self._open.get(tp)
        if b is None:
            b = self._open[tp] = ProducerBatch(tp, self._now(),
                                               f"{self.name}/b{next(self._batch_ids)}")
            self._queue.setdefault(tp, deque()).append(b)
            self.kernel.schedule(self.config["linger.ms"], self._drain)
        b.msgs.append(msg)
        b.size += msg_size(key, value)
        self._unsettled += 1
        if b.size >= self.config["batch.size"] or (
                self.client == "librdkafka" and len(b.msgs) >= self.config["batch.num.messages"]):
            del self._open[tp]
            self._kick()
