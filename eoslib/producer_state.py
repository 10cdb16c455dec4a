"""The broker's per-partition producer state and its duplicate check.

For every producer id that wrote to a partition the leader keeps a
:class:`ProducerStateEntry`: the current epoch, the metadata of the last
:data:`BATCHES_TO_RETAIN` (5) batches, and the first offset of the producer's open
transaction. :func:`kafka_duplicate_check` is Kafka's rule for an incoming batch
(``ProducerStateEntry.findDuplicateBatch`` then ``ProducerAppendInfo.checkSequence``):

* lower epoch than stored                      -> ``INVALID_PRODUCER_EPOCH``
* same epoch, (first_seq, last_seq) cached      -> duplicate: ack with the ORIGINAL offsets
* same epoch, first_seq == last stored seq + 1  -> append
* same epoch, anything else (gap, evicted dup)  -> ``OUT_OF_ORDER_SEQUENCE_NUMBER``
* higher epoch, first_seq == 0                  -> append, cache cleared
* higher epoch, first_seq != 0                  -> ``OUT_OF_ORDER_SEQUENCE_NUMBER``
* no state for the producer                     -> append (any sequence accepted; a
  transactions-v2 producer's verified write must start at 0: :func:`tv2_first_sequence`)

The check is a plain function so an exercise can swap in a learner's own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

BATCHES_TO_RETAIN = 5
INT_MAX = 2147483647


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """What the broker remembers of one appended batch."""

    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int


@dataclass(slots=True)
class ProducerStateEntry:
    """One producer's state on one partition."""

    producer_id: int
    epoch: int
    batches: deque[BatchMetadata] = field(
        default_factory=lambda: deque(maxlen=BATCHES_TO_RETAIN)
    )
    current_txn_first_offset: int | None = None
    coordinator_epoch: int = -1  # of the last marker written (ProducerStateEntry.coordinatorEpoch)

    @property
    def last_seq(self) -> int:
        """The last sequence appended under the current epoch, or -1."""
        return self.batches[-1].last_seq if self.batches else -1

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        """The cached batch with exactly this epoch and sequence range, if any."""
        if epoch != self.epoch:
            return None
        for b in self.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return b
        return None

    def add(self, meta: BatchMetadata) -> None:
        """Remember an appended batch; the oldest of 5 is evicted (FIFO)."""
        self.batches.append(meta)


@dataclass(frozen=True, slots=True)
class IncomingBatch:
    """The idempotence-relevant fields of a batch arriving at a leader."""

    producer_id: int
    epoch: int
    first_seq: int
    count: int

    @property
    def last_seq(self) -> int:
        """``first_seq + count - 1`` (wrapping at Integer.MAX_VALUE)."""
        return (self.first_seq + self.count - 1) % (INT_MAX + 1)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with an incoming batch: ``append``, ``duplicate`` or ``error``."""

    action: str
    error: str | None = None
    duplicate_of: BatchMetadata | None = None
    reason: str = ""


APPEND = Verdict("append")

DuplicateCheck = Callable[[ProducerStateEntry | None, IncomingBatch], Verdict]


def in_sequence(last_seq: int, next_seq: int) -> bool:
    """``ProducerAppendInfo.inSequence``: next == last + 1, or wrap to 0 after MAX."""
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT_MAX)


def tv2_first_sequence(producer_id: int, first_seq: int) -> Verdict:
    """The verdict on a transactions-v2 producer's first batch to a partition where it has
    no state, when that batch does not start at sequence 0 (Kafka 4.x
    ProducerAppendInfo.checkSequence: "For transactions v2 idempotent producers, reject
    non-zero sequences when there is no producer ID state", ``verificationStateEntry
    .supportsEpochBump() && appendFirstSeq != 0 && currentEntry.isEmpty()``). Other
    producers with no state may start anywhere (:func:`kafka_duplicate_check`). Checked on
    Kafka 4.1.1: tests/test_rules_java_refused_first_batch_on_kafka.py (txn-tv2)."""
    return Verdict("error", "OUT_OF_ORDER_SEQUENCE_NUMBER",
                   reason=f"Invalid sequence number for producer {producer_id}: {first_seq} "
                          "(incoming seq. number). Expected sequence 0 for transactions v2 "
                          "idempotent producer with no existing state.")


def kafka_duplicate_check(entry: ProducerStateEntry | None, batch: IncomingBatch) -> Verdict:
    """Kafka's verdict for ``batch`` given the producer's ``entry`` (None if unknown)."""
    if entry is None:
        return APPEND
    if batch.epoch < entry.epoch:
        return Verdict(
            "error", "INVALID_PRODUCER_EPOCH",
            reason=f"epoch {batch.epoch} is older than the current epoch {entry.epoch}",
        )
    dup = entry.find_duplicate(batch.epoch, batch.first_seq, batch.last_seq)
    if dup is not None:
        return Verdict(
            "duplicate", duplicate_of=dup,
            reason=f"seq {batch.first_seq}..{batch.last_seq} already at offset {dup.first_offset}",
        )
    if batch.epoch > entry.epoch:
        if batch.first_seq != 0:
            return Verdict(
                "error", "OUT_OF_ORDER_SEQUENCE_NUMBER",
                reason=f"Invalid sequence number for new epoch {batch.epoch}: {batch.first_seq}",
            )
        return APPEND
    if in_sequence(entry.last_seq, batch.first_seq):  # last_seq is -1 with no batch
        return APPEND
    return Verdict(
        "error", "OUT_OF_ORDER_SEQUENCE_NUMBER",
        reason=f"expected seq {entry.last_seq + 1}, got {batch.first_seq}",
    )
