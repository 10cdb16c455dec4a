"""``confluent_kafka.Producer`` over the simulated producer (librdkafka's semantics).

The simulated :class:`eoslib.producer.Producer` (with ``client=librdkafka``) does the work;
this class gives it confluent-kafka 2.x's surface: configuration by dict and/or keywords
with librdkafka's key names (:mod:`eoslib.confluent_kafka.keys`), keys and values as bytes,
delivery reports as :class:`~eoslib.confluent_kafka.message.Message` with the produce time,
latency and offset, ``error_cb``, ``BufferError`` when ``queue.buffering.max.messages``
await delivery, ``timeout=-1`` as "no limit", ``list_topics`` and ``purge``. Topics that do
not exist are created on first produce (see :mod:`eoslib.confluent_kafka.backend`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib import producer as core_producer
from eoslib.config import Key, coerce
from eoslib.confluent_kafka import backend as backends
from eoslib.confluent_kafka.admin import ClusterMetadata, cluster_id, metadata
from eoslib.confluent_kafka.errors import KafkaError, lift
from eoslib.confluent_kafka.keys import translate
from eoslib.confluent_kafka.message import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Message,
    TopicPartition,
    pairs,
)
from eoslib.confluent_kafka.surface import api, conf_of, headers_of, ms, to_bytes, wait

DeliveryCallback = Callable[[KafkaError | None, Message], None]


class Producer(core_producer.Producer):
    """``Producer(config)`` / ``Producer(**config)`` as in confluent-kafka (see module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        conf = conf_of(args, kwargs)
        self._backend = backends.resolve(conf)
        core_conf, handled, self.not_simulated = translate("producer", conf, "producer")
        super().__init__(core_conf, sim=self._backend.sim)
        self._dr_cb: DeliveryCallback | None = _callable(handled, "on_delivery")
        self._error_cb = _callable(handled, "error_cb")
        self._only_errors = coerce(Key("delivery.report.only.error", "bool", False),
                                   handled.get("delivery.report.only.error", False))
        self._max_queue = coerce(Key("queue.buffering.max.messages", "int", 100000,
                                     minimum=0),
                                 handled.get("queue.buffering.max.messages", 100000))
        self._reported_fatal = False
        self._backend.adopt(self)
        # a program may make a new producer in the same process (e.g. after an abort): go on
        # numbering its transactions and messages, as the checker keys a transaction by
        # (process, txn_seq) and orders a process's sends by seq_no
        sim, me = self._backend.sim, self._backend.sim.process_name(self)
        mine = [op.value for op in sim.history if op.process == me]
        self.txn_seq = max((v["txn_seq"] for v in mine if v.get("txn_seq") is not None),
                           default=-1)
        self._seq_no = max((v["seq_no"] for v in mine if v.get("seq_no") is not None),
                           default=0)

    # ----------------------------------------------------------------- produce
    @api("produce")
    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                on_delivery: DeliveryCallback | None = None,
                callback: DeliveryCallback | None = None, timestamp: int = 0,
                headers: Any = None) -> None:
        """Queue a record; its delivery report comes to ``on_delivery(err, msg)`` (or
        ``callback``, or the configured ``on_delivery``) from a later ``poll``/``flush``."""
        if not isinstance(topic, str):
            raise TypeError(f"argument 'topic' must be str, not {type(topic).__name__}")
        if not isinstance(partition, int):
            raise TypeError("'str' object cannot be interpreted as an integer")
        v, k, hs = to_bytes(value, "value"), to_bytes(key, "key"), headers_of(headers)
        if self._max_queue and len(self) >= self._max_queue:
            raise BufferError(KafkaError(KafkaError._QUEUE_FULL).str())
        cb = on_delivery or callback or self._dr_cb
        sent_at = self._backend.sim.now
        report = self._report(cb, sent_at, timestamp, hs) if cb is not None else None
        if not self._backend.ensure_topic(topic):
            self._check_usable()
            if report is not None:
                err = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)  # the broker's answer
                self._callbacks.append((report, err,
                                        core_producer.Message(topic, -1, -1, k, v, err)))
            return
        super().produce(topic, v, k, partition, on_delivery=report, headers=hs)
        self._backend.active()

    def _report(self, cb: DeliveryCallback, sent_at: float, timestamp: int,
                hs: dict[str, Any] | None) -> Callable[[Any, Any], None]:
        """The simulator's delivery callback that calls ``cb`` the confluent-kafka way."""

        def report(err: Any, msg: Any) -> None:
            e = lift(err)
            if e is None and self._only_errors:
                return
            now = self._backend.sim.now
            ts = (TIMESTAMP_NOT_AVAILABLE, -1) if e is not None else (
                TIMESTAMP_CREATE_TIME, timestamp or backends.EPOCH_MS + round(sent_at))
            cb(e, Message(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(),
                          pairs(hs), e, ts, latency=(now - sent_at) / 1000))

        return report

    def produce_batch(self, topic: str, messages: list[dict[str, Any]], partition: int = -1,
                      callback: DeliveryCallback | None = None,
                      on_delivery: DeliveryCallback | None = None) -> int:
        """Produce each ``{"value":..., "key":..., "partition":..., "headers":...}``;
        returns how many were queued."""
        n = 0
        for m in messages:
            self.produce(topic, m.get("value"), m.get("key"), m.get("partition", partition),
                         on_delivery=on_delivery or callback, headers=m.get("headers"))
            n += 1
        return n

    # ------------------------------------------------------------ poll, flush
    @api("poll", counted=bool)
    def poll(self, timeout: float | None = -1) -> int:
        """Serve delivery reports and client errors, waiting up to ``timeout`` seconds
        (-1/None: until one is served); returns how many were served."""
        served = self._serve_errors() + core_producer.Producer.poll(self, 0)
        if not served and ms(timeout) != 0:
            wait(self._backend, lambda: bool(self._callbacks), ms(timeout))
            served = core_producer.Producer.poll(self, 0)
        return served

    @api("flush")
    def flush(self, timeout: float | None = -1) -> int:
        """Send everything queued and serve the delivery reports, waiting up to ``timeout``
        seconds (-1/None: no limit); returns how many messages are still undelivered."""
        limit = ms(timeout)
        core_producer.Producer.flush(self, None if limit is None else limit / 1000)
        self._serve_errors()
        return len(self)

    def _serve_errors(self) -> int:
        """Call ``error_cb`` with the client errors since the last serve: a fatal error as
        librdkafka reports it (``_FATAL``, rd_kafka_set_fatal_error0 in src/rdkafka.c)."""
        if self.txn_state != "FATAL_ERROR" or self._reported_fatal or self.txn_error is None:
            return 0
        self._reported_fatal = True
        if self._error_cb is None:
            return 0
        e = lift(self.txn_error)
        assert e is not None
        self._error_cb(KafkaError(KafkaError._FATAL, f"Fatal error: {e.str()}", fatal=True))
        return 1

    @api("purge")
    def purge(self, in_queue: bool = True, in_flight: bool = True,
              blocking: bool = True) -> None:
        """Fail the messages still queued (``_PURGE_QUEUE``); their reports come from the
        next ``poll``. In-flight requests are not purged: they complete as sent."""
        if not in_queue:
            return
        for q in self._queue.values():
            while q:
                self._finish(q.popleft(), KafkaError(KafkaError._PURGE_QUEUE), -1,
                             outcome="fail")
        self._open.clear()

    # ----------------------------------------------------------- transactions
    @api("init_transactions")
    def init_transactions(self, timeout: float | None = -1) -> None:
        """Get the producer id and epoch for ``transactional.id`` (fences older ones)."""
        super().init_transactions(_s(timeout))

    @api("begin_transaction")
    def begin_transaction(self) -> None:
        """Start a transaction."""
        super().begin_transaction()

    @api("send_offsets_to_transaction")
    def send_offsets_to_transaction(self, positions: list[TopicPartition],
                                    group_metadata: Any, timeout: float | None = -1) -> None:
        """Add the consumer's positions to the transaction."""
        super().send_offsets_to_transaction(positions, group_metadata, _s(timeout))

    @api("commit_transaction")
    def commit_transaction(self, timeout: float | None = -1) -> None:
        """Flush and commit the transaction."""
        super().commit_transaction(_s(timeout))
        self._serve_errors()

    @api("abort_transaction")
    def abort_transaction(self, timeout: float | None = -1) -> None:
        """Abort the transaction."""
        super().abort_transaction(_s(timeout))

    # ----------------------------------------------------------------- the rest
    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """The cluster's metadata (all topics, or ``topic``)."""
        return metadata(self._backend.sim, topic)

    def cluster_id(self) -> str:
        """The simulated cluster's id."""
        return cluster_id(self._backend.sim)

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """Not simulated (the simulated brokers need no authentication)."""

    @api("close")
    def close(self, timeout: float | None = -1) -> bool:
        """Flush, then stop the producer."""
        if not self.closed:
            core_producer.Producer.flush(self, _s(timeout))
            super().close()
        return True

    def __len__(self) -> int:
        return core_producer.Producer.__len__(self)

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _s(timeout: float | None) -> float | None:
    """A confluent-kafka timeout (-1/None: none) as the simulator's (None: none)."""
    return None if timeout is None or timeout < 0 else timeout


def _callable(handled: dict[str, Any], key: str) -> Any:
    """A configured callback, checked as confluent-kafka checks it."""
    cb = handled.get(key)
    if cb is not None and not callable(cb):
        raise TypeError(f"expected {key} property as a callable function")
    return cb
