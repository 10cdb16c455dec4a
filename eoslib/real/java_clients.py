"""Apache Kafka's Java client, shaped like confluent-kafka for the experiments' scripts.

:class:`JavaProducer` and :class:`JavaConsumer` turn the calls the scripts make
(``produce``, ``flush``, ``init_transactions``, ``consume``, ``committed``...) into steps of
a :class:`~eoslib.real.java_driver.JavaDriver`, where the real ``KafkaProducer`` and
``KafkaConsumer`` run them. What differs from confluent-kafka is the Java client's and is
kept: ``consume()`` is one ``KafkaConsumer.poll`` and returns what it returns (up to
``max.poll.records``); ``flush()`` has no timeout in Java (``delivery.timeout.ms`` bounds it).
A failed call raises :class:`JavaKafkaException` whose ``args[0]`` (a :class:`JavaKafkaError`)
answers ``name()`` (Kafka's error name for the Java exception), ``fatal()``,
``txn_requires_abort()``, ``retriable()`` and ``java_class()``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eoslib.messages import TopicPartition
from eoslib.real.java_driver import JavaDriver, JavaStepError

DeliveryCallback = Callable[[Any, Any], None]


class JavaKafkaError:
    """A Java client exception, with confluent-kafka's ``KafkaError`` questions."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error

    def name(self) -> str:
        """Kafka's error name for the exception (``Errors.forException``), e.g.
        ``PRODUCER_FENCED``; ``UNKNOWN_SERVER_ERROR`` for a non-Kafka exception."""
        return str(self.error.get("name"))

    def java_class(self) -> str:
        """The exception's simple class name, e.g. ``ProducerFencedException``."""
        return str(self.error.get("class", "")).rsplit(".", 1)[-1]

    def str(self) -> str:
        return str(self.error.get("message"))

    def fatal(self) -> bool:
        """The producer's transaction manager is in its fatal state (close it)."""
        return bool(self.error.get("fatal"))

    def txn_requires_abort(self) -> bool:
        """The producer's transaction manager holds an abortable error."""
        return bool(self.error.get("abortable"))

    def retriable(self) -> bool:
        return bool(self.error.get("retriable"))

    def __str__(self) -> str:
        name = "" if self.name() == "UNKNOWN_SERVER_ERROR" else f" ({self.name()})"
        return f"{self.java_class()}{name}: {self.str()}"


class JavaKafkaException(Exception):
    """Raised by a Java client call; ``args[0]`` is the :class:`JavaKafkaError`."""

    def __init__(self, error: JavaKafkaError) -> None:
        super().__init__(error)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class JavaMessage:
    """A record the Java consumer returned (or a delivery report), confluent-kafka shaped."""

    _topic: str
    _partition: int
    _offset: int
    _key: str | None
    _value: str | None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> str | None:
        return self._key

    def value(self) -> str | None:
        return self._value

    def error(self) -> None:
        return None


@dataclass(frozen=True)
class JavaGroupMetadata:
    """What ``consumer_group_metadata()`` hands to ``send_offsets_to_transaction``: the
    consumer, whose ``groupMetadata()`` the driver reads at that moment."""

    consumer: str


def _call(driver: JavaDriver, op: str, **fields: Any) -> dict[str, Any]:
    try:
        return driver.call(op, **fields)
    except JavaStepError as e:
        raise JavaKafkaException(JavaKafkaError(e.error)) from None


class JavaProducer:
    """A ``KafkaProducer`` in ``driver`` (create it through the env)."""

    _ids = itertools.count(1)

    def __init__(self, driver: JavaDriver, conf: dict[str, Any], name: str | None = None) -> None:
        self.driver = driver
        self.name = name or f"producer-{next(self._ids)}"
        self._callbacks: dict[int, DeliveryCallback | None] = {}
        self._tags = itertools.count(1)
        #: every delivery report as the driver gave it (``error``, ``offset``, ``elapsed_ms``
        #: from ``send()`` to the report...), in the order reported
        self.reports: list[dict[str, Any]] = []
        _call(driver, "producer", name=self.name, conf=conf, timeout_s=60)

    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                on_delivery: DeliveryCallback | None = None,
                callback: DeliveryCallback | None = None) -> None:
        tag = next(self._tags)
        self._callbacks[tag] = on_delivery or callback
        _call(self.driver, "produce", client=self.name, topic=topic, tag=tag,
              key=_text(key), value=_text(value),
              partition=None if partition is None or partition < 0 else partition)

    def _deliver(self, answer: dict[str, Any]) -> int:
        reports = answer.get("deliveries") or []
        self.reports += reports
        for d in reports:
            cb = self._callbacks.pop(d.get("tag"), None)
            if cb is None:
                continue
            err = None if d["error"] is None else JavaKafkaError(d["error"])
            cb(err, JavaMessage(d["topic"], d["partition"], d["offset"], d["key"], d["value"]))
        return len(reports)

    def poll(self, timeout: float | None = 0) -> int:
        return self._deliver(_call(self.driver, "deliveries", client=self.name))

    def flush(self, timeout: float | None = None) -> int:
        """``KafkaProducer.flush()`` (no timeout in Java: ``delivery.timeout.ms`` bounds
        it); serves the delivery callbacks; returns 0."""
        wait = 120 if timeout is None else timeout + 60
        self._deliver(_call(self.driver, "flush", client=self.name, timeout_s=wait))
        return 0

    def init_transactions(self, timeout: float | None = None) -> None:
        _call(self.driver, "init_transactions", client=self.name, timeout_s=_wait(timeout))

    def begin_transaction(self) -> None:
        _call(self.driver, "begin_transaction", client=self.name)

    def commit_transaction(self, timeout: float | None = None) -> None:
        self._deliver(_call(self.driver, "commit_transaction", client=self.name,
                            timeout_s=_wait(timeout)))

    def abort_transaction(self, timeout: float | None = None) -> None:
        self._deliver(_call(self.driver, "abort_transaction", client=self.name,
                            timeout_s=_wait(timeout)))

    def send_offsets_to_transaction(self, offsets: list[Any], group_metadata: JavaGroupMetadata,
                                    timeout: float | None = None) -> None:
        _call(self.driver, "send_offsets", client=self.name, consumer=group_metadata.consumer,
              offsets=[[tp.topic, tp.partition, tp.offset] for tp in offsets],
              timeout_s=_wait(timeout))

    def state(self) -> dict[str, Any]:
        """The client's own producer id, epoch and whether it speaks transaction version 2
        (read from its transaction manager)."""
        a = _call(self.driver, "client_state", client=self.name)
        return {k: a.get(k) for k in ("producer_id", "epoch", "tv2", "fatal", "abortable")}

    def close(self, timeout: float = 5.0) -> None:
        _call(self.driver, "close", client=self.name, timeout_ms=int(timeout * 1000))


class JavaConsumer:
    """A ``KafkaConsumer`` in ``driver`` (create it through the env)."""

    _ids = itertools.count(1)

    def __init__(self, driver: JavaDriver, conf: dict[str, Any], name: str | None = None) -> None:
        self.driver = driver
        self.name = name or f"consumer-{next(self._ids)}"
        _call(driver, "consumer", name=self.name, conf=conf, timeout_s=60)

    def subscribe(self, topics: list[str]) -> None:
        _call(self.driver, "subscribe", client=self.name, topics=list(topics))

    def rebalance_events(self) -> list[dict[str, Any]]:
        """Assignments and revocations seen since the last call (a subscribed consumer),
        each revocation with the group's committed offsets read inside
        ``onPartitionsRevoked``: ``{"event", "at_ms", "partitions": [[t, p, committed]]}``."""
        return _call(self.driver, "rebalances", client=self.name)["events"]

    def assign(self, partitions: list[Any]) -> None:
        _call(self.driver, "assign", client=self.name,
              partitions=[[tp.topic, tp.partition, tp.offset if tp.offset >= 0 else None]
                          for tp in partitions])

    def assignment(self) -> list[TopicPartition]:
        a = _call(self.driver, "assignment", client=self.name)
        return [TopicPartition(t, p) for t, p in a["partitions"]]

    def consume(self, num_messages: int = 1, timeout: float | None = None) -> list[JavaMessage]:
        """One ``KafkaConsumer.poll(timeout)``: every record it returns (at most
        ``max.poll.records``; ``num_messages`` is confluent-kafka's and not used)."""
        ms = int((1.0 if timeout is None or timeout < 0 else timeout) * 1000)
        a = _call(self.driver, "poll", client=self.name, timeout_ms=ms)
        return [JavaMessage(*r) for r in a["records"]]

    def position(self, partitions: list[Any] | None = None) -> list[TopicPartition]:
        parts = None if partitions is None else [[tp.topic, tp.partition] for tp in partitions]
        a = _call(self.driver, "position", client=self.name, partitions=parts)
        return [TopicPartition(t, p, o) for t, p, o in a["positions"]]

    def seek(self, partition: Any) -> None:
        _call(self.driver, "seek", client=self.name, topic=partition.topic,
              partition=partition.partition, offset=partition.offset)

    def committed(self, partitions: list[Any],
                  timeout: float | None = None) -> list[TopicPartition]:
        """``KafkaConsumer.committed`` (-1001 where nothing is committed, as in
        confluent-kafka)."""
        ms = int((30 if timeout is None else timeout) * 1000)
        a = _call(self.driver, "committed", client=self.name, timeout_ms=ms,
                  partitions=[[tp.topic, tp.partition] for tp in partitions])
        return [TopicPartition(t, p, -1001 if o is None else o) for t, p, o in a["committed"]]

    def commit(self, message: Any = None, offsets: list[Any] | None = None,
               asynchronous: bool = True) -> None:
        """``commitSync`` (the scripts commit synchronously: ``asynchronous=False``)."""
        if asynchronous:
            raise ValueError("the Java env commits synchronously: pass asynchronous=False")
        if message is not None:
            offsets = [TopicPartition(message.topic(), message.partition(), message.offset() + 1)]
        _call(self.driver, "commit", client=self.name, timeout_ms=30000,
              offsets=None if offsets is None else
              [[tp.topic, tp.partition, tp.offset] for tp in offsets])

    def consumer_group_metadata(self) -> JavaGroupMetadata:
        return JavaGroupMetadata(self.name)

    def close(self, timeout: float = 10.0) -> None:
        _call(self.driver, "close", client=self.name, timeout_ms=int(timeout * 1000))


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return v.decode() if isinstance(v, bytes) else str(v)


def _wait(timeout: float | None) -> float:
    """How long Python waits for a blocking transaction call: the client's own bound
    (``max.block.ms``) plus a margin."""
    return 60.0 if timeout is None else timeout + 30.0
