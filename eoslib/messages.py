"""The small value types of the client API, shaped like confluent-kafka's."""

from __future__ import annotations

from typing import Any

from eoslib.errors import KafkaError


class TopicPartition:
    """A (topic, partition, offset) triple, like ``confluent_kafka.TopicPartition``."""

    __slots__ = ("topic", "partition", "offset", "error")

    def __init__(self, topic: str, partition: int = -1, offset: int = -1001) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error: KafkaError | None = None

    def __repr__(self) -> str:
        t, p, o = self.topic, self.partition, self.offset
        return f"TopicPartition{{topic={t},partition={p},offset={o}}}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TopicPartition) and (self.topic, self.partition, self.offset) \
            == (other.topic, other.partition, other.offset)

    def __hash__(self) -> int:
        return hash((self.topic, self.partition, self.offset))


class Message:
    """A record returned by ``Consumer.poll`` or passed to a delivery callback."""

    __slots__ = ("_topic", "_partition", "_offset", "_key", "_value", "_error", "_timestamp",
                 "_writer", "_headers")

    def __init__(self, topic: str, partition: int, offset: int, key: Any, value: Any,
                 error: KafkaError | None = None, timestamp: float = 0.0) -> None:
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._key = key
        self._value = value
        self._error = error
        self._timestamp = timestamp
        #: (producer id, epoch, sequence) from the record's batch header, as fetched (the
        #: history records it so the checker identifies records; not in the public API)
        self._writer: tuple[int, int, int] | None = None
        self._headers: dict[str, Any] | None = None

    def topic(self) -> str:
        """The topic."""
        return self._topic

    def partition(self) -> int:
        """The partition."""
        return self._partition

    def offset(self) -> int:
        """The offset (-1 when unknown, e.g. a failed delivery)."""
        return self._offset

    def key(self) -> Any:
        """The key."""
        return self._key

    def value(self) -> Any:
        """The value."""
        return self._value

    def headers(self) -> list[tuple[str, Any]] | None:
        """The record's headers as (key, value) pairs, or None (confluent-kafka's shape)."""
        return None if self._headers is None else list(self._headers.items())

    def error(self) -> KafkaError | None:
        """The error, or None."""
        return self._error

    def timestamp(self) -> tuple[int, float]:
        """(TIMESTAMP_CREATE_TIME=1, virtual ms)."""
        return (1, self._timestamp)

    def __repr__(self) -> str:
        return (f"Message(topic={self._topic!r}, partition={self._partition}, "
                f"offset={self._offset}, key={self._key!r}, value={self._value!r}"
                + (f", error={self._error.name()}" if self._error else "") + ")")
