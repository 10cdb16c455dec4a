"""confluent-kafka's ``Message`` and ``TopicPartition``, and the logical offsets.

Shapes follow confluent-kafka 2.x (src/confluent_kafka/src/confluent_kafka.c): a message's
key and value are ``bytes`` (what a broker returns), ``partition()`` is None for an
unassigned partition and ``offset()`` None for a negative offset, ``headers()`` is a list of
``(str, bytes)`` pairs or None, ``timestamp()`` is ``(type, ms)``, ``len(msg)`` is the
value's length. A ``TopicPartition`` compares and hashes by topic and partition only.
"""

from __future__ import annotations

from typing import Any

from eoslib import messages as core
from eoslib.confluent_kafka.errors import KafkaError, lift

OFFSET_BEGINNING = -2
OFFSET_END = -1
OFFSET_STORED = -1000
OFFSET_INVALID = -1001
TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2


class TopicPartition(core.TopicPartition):
    """``TopicPartition(topic, partition=-1, offset=OFFSET_INVALID, metadata=None,
    leader_epoch=None)``, with ``error`` set by calls that report one per partition."""

    __slots__ = ("metadata", "leader_epoch")

    def __init__(self, topic: str, partition: int = -1, offset: int = OFFSET_INVALID,
                 metadata: str | None = None, leader_epoch: int | None = None) -> None:
        super().__init__(topic, partition, offset)
        self.metadata = metadata
        self.leader_epoch = leader_epoch

    def __repr__(self) -> str:
        return (f"TopicPartition{{topic={self.topic},partition={self.partition},"
                f"offset={self.offset},leader_epoch={self.leader_epoch},error={self.error}}}")

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, core.TopicPartition):
            return NotImplemented
        return (self.topic, self.partition) == (other.topic, other.partition)

    def __lt__(self, other: core.TopicPartition) -> bool:
        return (self.topic, self.partition) < (other.topic, other.partition)

    def __hash__(self) -> int:
        return hash(self.topic) ^ self.partition


def lift_tp(tp: core.TopicPartition) -> TopicPartition:
    """The simulator's ``TopicPartition`` as confluent-kafka's."""
    if isinstance(tp, TopicPartition):
        return tp
    out = TopicPartition(tp.topic, tp.partition, tp.offset)
    out.error = lift(tp.error)
    return out


class Message:
    """A consumed record, a delivery report or an event (``error()`` is not None)."""

    __slots__ = ("_topic", "_partition", "_offset", "_key", "_value", "_headers", "_error",
                 "_timestamp", "_latency", "_leader_epoch")

    def __init__(self, topic: str | None = None, partition: int | None = None,
                 offset: int | None = None, key: bytes | None = None,
                 value: bytes | None = None, headers: Any = None,
                 error: KafkaError | None = None,
                 timestamp: tuple[int, int] | None = None, latency: float | None = None,
                 leader_epoch: int | None = None) -> None:
        self._topic = topic
        self._partition = -1 if partition is None else partition
        self._offset = -1001 if offset is None else offset
        self._key = key
        self._value = value
        self._headers = headers
        self._error = error
        self._timestamp = timestamp or (TIMESTAMP_NOT_AVAILABLE, 0)
        self._latency = latency
        self._leader_epoch = leader_epoch

    def topic(self) -> str | None:
        """The topic."""
        return self._topic

    def partition(self) -> int | None:
        """The partition, or None when none was assigned (a failed delivery)."""
        return self._partition if self._partition != -1 else None

    def offset(self) -> int | None:
        """The offset, or None when unknown (a failed delivery)."""
        return self._offset if self._offset >= 0 else None

    def key(self) -> bytes | None:
        """The key (bytes)."""
        return self._key

    def value(self) -> bytes | None:
        """The value (bytes)."""
        return self._value

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        """The headers as ``(key, value)`` pairs, or None."""
        return self._headers

    def error(self) -> KafkaError | None:
        """None for a proper message; the error or event (``_PARTITION_EOF``) otherwise."""
        return self._error

    def timestamp(self) -> tuple[int, int]:
        """``(timestamp type, ms since the epoch)`` (see :mod:`eoslib.confluent_kafka`'s
        notes: the simulated log keeps the append time)."""
        return self._timestamp

    def latency(self) -> float | None:
        """Seconds from ``produce()`` to the delivery report (producer side only)."""
        return self._latency

    def leader_epoch(self) -> int | None:
        """The partition leader's epoch (not simulated: None)."""
        return self._leader_epoch

    def delivery_count(self) -> int | None:
        """Share consumers only: None."""
        return None

    def set_headers(self, headers: Any) -> None:
        """Replace the headers."""
        self._headers = headers

    def set_key(self, key: Any) -> None:
        """Replace the key."""
        self._key = key

    def set_value(self, value: Any) -> None:
        """Replace the value."""
        self._value = value

    def set_topic(self, topic: str) -> None:
        """Replace the topic."""
        self._topic = topic

    def set_error(self, error: KafkaError | None) -> None:
        """Replace the error."""
        self._error = error

    def __len__(self) -> int:
        return len(self._value) if self._value is not None else 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return False
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        err = f", error={self._error.name()}" if self._error is not None else ""
        return (f"<Message topic={self._topic!r} partition={self.partition()} "
                f"offset={self.offset()} key={self._key!r} value={self._value!r}{err}>")


def pairs(headers: dict[str, Any] | None) -> list[tuple[str, Any]] | None:
    """The simulator's headers (a dict) as confluent-kafka's list of pairs."""
    return None if headers is None else list(headers.items())
