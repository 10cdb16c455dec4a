"""The producer client: confluent-kafka's ``Producer`` API over the simulation.

The API is confluent-kafka's: ``Producer(config)``, ``produce(topic, value, key=...,
on_delivery=...)``, ``poll``, ``flush``, and ``init_transactions``,
``begin_transaction``, ``send_offsets_to_transaction``, ``commit_transaction``,
``abort_transaction``. Delivery callbacks run inside ``poll()`` and ``flush()``, as in
librdkafka. Blocking calls advance the simulation's virtual clock.

The work is done by three parts, one module each, named after the Java client's classes:
``accumulator.py`` (records into per-partition batches, the partitioner), ``sender.py``
(produce requests, in-flight limits, retries, sequence numbers and epochs) and
``txn_manager.py`` (the transactional API and its coordinator requests).
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from eoslib.accumulator import TP, Accumulator, DeliveryCallback, ProducerBatch
from eoslib.config import public, validate
from eoslib.context import SimContext, resolve
from eoslib.errors import KafkaError, KafkaException
from eoslib.messages import Message
from eoslib.sender import Sender
from eoslib.txn_manager import TransactionManager

__all__ = ["DeliveryCallback", "Producer"]


class Producer(Accumulator, Sender, TransactionManager):
    """A simulated Kafka producer (see module docstring)."""

    _ids = itertools.count(1)

    def __init__(self, config: dict[str, Any] | None = None, *,
                 sim: SimContext | None = None) -> None:
        self.sim = resolve(sim, config)
        conf = validate("producer", config)
        self.config = conf
        self.kernel = self.sim.kernel
        self.cluster = self.sim.cluster
        self.name = conf["client.id"] or self.sim.next_name("producer")
        self.lane = self.name
        self.idempotent: bool = conf["enable.idempotence"]
        self.txn_id: str | None = conf["transactional.id"]
        self.acks: str = conf["acks"]
        self.alive = True
        self.closed = False
        self.pid = -1
        self.epoch = -1
        self.txn_state = "UNINITIALIZED" if self.txn_id else "READY"
        self.txn_seq = -1
        self.txn_partitions: set[TP] = set()
        self.txn_offsets_added = False
        self.txn_error: KafkaError | None = None
        self.client: str = conf["client"]
        self._pending_api: str | None = None  # an API call whose request outlived it
        self._ops: dict[str, Any] = {}  # transactional requests still being retried
        self._last_retriable: str | None = None
        self._dr_fails = 0  # librdkafka: failed deliveries in this transaction
        self._end_sent = False
        self._bump_on_abort = False  # KIP-360: abort_transaction bumps the epoch
        self._maybe_registered: set[TP] = set()  # AddPartitionsToTxn with a lost answer
        self._adding: set[TP] = set()
        self._open: dict[TP, ProducerBatch] = {}
        self._queue: dict[TP, deque[ProducerBatch]] = {}
        self._inflight_broker: dict[int, int] = {}
        self._inflight_tp: dict[TP, int] = {}
        #: batches on the wire (a crash records them as outcome unknown in the history)
        self._on_wire: dict[int, ProducerBatch] = {}
        self._next_seq: dict[TP, int] = {}
        self._last_acked_seq: dict[TP, int] = {}
        #: Java: partition -> the sequence after an expired retry, unresolved until nothing is
        #: in flight (TransactionManager.partitionsWithUnresolvedSequences; sender.py)
        self._unresolved: dict[TP, int] = {}
        #: Java: id -> last sequence of a batch that expired in flight (its late answer)
        self._expired_wire: dict[int, int] = {}
        self._acked_msgid: dict[TP, int] = {}  # librdkafka rktp_eos.acked_msgid (seq_no)
        self._unsettled = 0  # messages produced but not yet completed
        self._callbacks: list[tuple[DeliveryCallback, KafkaError | None, Message]] = []
        self._seq_no = 0
        self._sticky: dict[str, int] = {}
        self._batch_ids = itertools.count(1)
        self._drain_scheduled = False
        self._flushing = False
        self._bump_pending = False  # KIP-360: bump our own epoch once nothing is in flight
        self._bump_reason = ""  # why, for the bump's trace label (Java: its log line)
        self._expiry_wake = -1.0  # Java: a drain is due then for a blocked batch's deadline
        self.stats = {"sent": 0, "retries": 0, "acked": 0, "failed": 0, "duplicates_acked": 0}
        if self.idempotent and not self.txn_id:
            self._request_pid()

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        return f"<Producer {self.name} pid={self.pid} epoch={self.epoch}>"

    def _alive(self) -> bool:
        return self.alive and not self.closed

    def _now(self) -> float:
        return self.kernel.now

    def _check_usable(self) -> None:
        if self.closed:
            raise KafkaException(KafkaError("_DESTROY", "Producer is closed"))
        if self.txn_state == "FATAL_ERROR":
            assert self.txn_error is not None
            raise KafkaException(self.txn_error)

    # ----------------------------------------------------------------- produce
    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                on_delivery: DeliveryCallback | None = None, callback: DeliveryCallback |
                None = None, headers: Any = None, timestamp: int = 0) -> None:
        """Queue a record for ``topic``. Returns at once; the outcome arrives through
        ``on_delivery(err, msg)`` during a later ``poll()`` or ``flush()``."""
        self._check_not_closed()
        if self.txn_id or self.txn_state == "FATAL_ERROR":
            self._check_produce()
        tp = (topic, self._choose_partition(topic, key, partition))
        self._append(tp, key, value, on_delivery or callback, _headers(headers))
        if self.txn_id and tp not in self.txn_partitions and tp not in self._adding:
            self._add_partition(tp)

    def __len__(self) -> int:
        return self._unsettled + len(self._callbacks)

    def poll(self, timeout: float | None = 0) -> int:
        """Serve queued delivery callbacks, waiting up to ``timeout`` seconds for one."""
        self._check_not_closed()
        if not self._callbacks and timeout:
            self.kernel.run_until(lambda: bool(self._callbacks), timeout * 1000)
        return self._serve_callbacks()

    def flush(self, timeout: float | None = None) -> int:
        """Send everything queued and wait for the outcomes (``timeout`` in seconds).
        Returns how many messages are still undelivered."""
        self._check_not_closed()
        self._flushing = True
        self._open.clear()
        self._kick()
        self.kernel.run_until(lambda: self._unsettled == 0 or not self._alive(),
                              None if timeout is None else timeout * 1000)
        self._flushing = False
        self._serve_callbacks()
        return self._unsettled

    def _record(self, f: str, outcome: str, **value: Any) -> None:
        """Record one op of this producer's process in the history."""
        self.sim.history.record(self._now(), self.sim.process_name(self), f, outcome, **value)

    def _check_not_closed(self) -> None:
        if self.closed:
            raise KafkaException(KafkaError("_DESTROY", "Producer is closed"))

    def _serve_callbacks(self) -> int:
        cbs, self._callbacks = self._callbacks, []
        for cb, err, msg in cbs:
            cb(err, msg)
        return len(cbs)

    def close(self) -> None:
        """Stop the producer. librdkafka (``rd_kafka_destroy``): undelivered messages are
        dropped and an open transaction is left to the coordinator's timeout. Java
        (``KafkaProducer.close``): the sender first sends what is queued and aborts an
        incomplete transaction ("Aborting incomplete transaction due to shutdown",
        ``Sender.run``); errors while doing so are not raised."""
        if self.closed:
            return
        if self.client == "java" and self._alive():
            try:
                if self.txn_id and self.txn_state in ("IN_TRANSACTION", "ABORTABLE_ERROR"):
                    self.abort_transaction()
                elif not self.txn_id:
                    self.flush()
            except KafkaException:
                pass  # "Catch these so as not to interfere with the rest of the shutdown"
        self._abandon("close")
        self.closed = True

    def crash(self) -> None:
        """The process dies: nothing more is sent or retried, callbacks never run.
        Requests already on the wire still reach the broker."""
        if self.alive:
            self._abandon("crash")
            self.alive = False

    def _abandon(self, why: str) -> None:
        for b in list(self._on_wire.values()):  # on the wire: it may be appended
            self._finish(b, KafkaError("_DESTROY", f"producer {why}"), -1, outcome="info",
                         callback=False)
        self._on_wire.clear()
        for q in self._queue.values():
            for b in q:
                self._finish(b, KafkaError("_DESTROY", f"producer {why}"), -1,
                             outcome="info" if b.maybe_appended else "fail", callback=False)
        for tp in list(self._queue):
            self._queue[tp].clear()
        self._open.clear()

    @property
    def effective_config(self) -> dict[str, Any]:
        """The configuration in force, defaults included."""
        return public(self.config)


def _headers(headers: Any) -> dict[str, Any] | None:
    """confluent-kafka's headers (a dict, or a list of (key, value) pairs) as a dict."""
    if headers is None:
        return None
    return dict(headers.items() if isinstance(headers, dict) else headers)
