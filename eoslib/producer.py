"""The producer client: batching, sequence numbers, retries, and the transactional API.

The API is confluent-kafka's: ``Producer(config)``, ``produce(topic, value, key=...,
on_delivery=...)``, ``poll``, ``flush``, and ``init_transactions``,
``begin_transaction``, ``send_offsets_to_transaction``, ``commit_transaction``,
``abort_transaction``. Delivery callbacks run inside ``poll()`` and ``flush()``, as in
librdkafka. Blocking calls advance the simulation's virtual clock.

What it models, following the Java client (``Sender``, ``RecordAccumulator``,
``TransactionManager``):

* records gather into one batch per partition until ``linger.ms`` passes or
  ``batch.size`` bytes fill it; at most ``max.in.flight.requests.per.connection``
  requests wait for answers per broker;
* with idempotence each batch gets the partition's next sequence number when first sent
  and keeps it on every retry; retries of a partition go out in sequence order, one at a
  time, so the broker's 5-batch cache can recognise them;
* without idempotence a retry is a new append (a duplicate, if the first one landed), and
  with more than one request in flight a retry can land behind a later batch (reordering);
* a request unanswered after ``request.timeout.ms`` is retried after ``retry.backoff.ms``
  while ``retries`` and ``delivery.timeout.ms`` allow; then the delivery fails;
* ``acks=0`` does not wait for the broker at all.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from eoslib.config import public, validate
from eoslib.context import SimContext, resolve
from eoslib.errors import KafkaError, KafkaException
from eoslib.messages import Message, TopicPartition
from eoslib.partitioner import crc32_partition, key_bytes, partition_for_key

TP = tuple[str, int]
DeliveryCallback = Callable[[KafkaError | None, Message], None]

SEQ_SPACE = 2147483648  # sequences wrap from Integer.MAX_VALUE to 0
RETRIABLE = {"NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS",
             "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "UNKNOWN_TOPIC_OR_PART"}
ABORTABLE = {"INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE", "OUT_OF_ORDER_SEQUENCE_NUMBER",
             "TRANSACTION_ABORTABLE", "UNKNOWN_PRODUCER_ID", "_MSG_TIMED_OUT"}


class _Msg:
    __slots__ = ("seq_no", "key", "value", "cb", "txn_seq")

    def __init__(self, seq_no: int, key: Any, value: Any, cb: DeliveryCallback | None,
                 txn_seq: int | None) -> None:
        self.seq_no = seq_no
        self.key = key
        self.value = value
        self.cb = cb
        self.txn_seq = txn_seq


class _Batch:
    __slots__ = ("tp", "msgs", "size", "created", "base_seq", "attempts", "ready_at",
                 "maybe_appended", "id", "epoch")

    def __init__(self, tp: TP, created: float, bid: str) -> None:
        self.tp = tp
        self.msgs: list[_Msg] = []
        self.size = 0
        self.created = created
        self.base_seq = -1
        self.attempts = 0
        self.ready_at = 0.0
        self.maybe_appended = False
        self.id = bid
        self.epoch = -1


class Producer:
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
        self._adding: set[TP] = set()
        self._open: dict[TP, _Batch] = {}
        self._queue: dict[TP, deque[_Batch]] = {}
        self._inflight_broker: dict[int, int] = {}
        self._inflight_tp: dict[TP, int] = {}
        self._next_seq: dict[TP, int] = {}
        self._last_acked_seq: dict[TP, int] = {}
        self._unsettled = 0  # messages produced but not yet completed
        self._callbacks: list[tuple[DeliveryCallback, KafkaError | None, Message]] = []
        self._seq_no = 0
        self._sticky: dict[str, int] = {}
        self._batch_ids = itertools.count(1)
        self._drain_scheduled = False
        self._flushing = False
        self._bump_pending = False  # KIP-360: bump our own epoch once nothing is in flight
        self.stats = {"sent": 0, "retries": 0, "acked": 0, "failed": 0, "duplicates_acked": 0}
        if self.idempotent and not self.txn_id:
            self._request_pid()

    # ------------------------------------------------------------------ basics
    @property
    def transaction_version(self) -> int:
        """The transaction version this producer's transactions use: the cluster's finalized
        ``transaction.version`` feature, capped by what the client speaks (the producer key
        ``transaction.version``)."""
        return min(int(self.config["transaction.version"]),
                   int(self.cluster.config["transaction.version"]))

    def __repr__(self) -> str:
        return f"<Producer {self.name} pid={self.pid} epoch={self.epoch}>"

    def _alive(self) -> bool:
        return self.alive and not self.closed

    def _now(self) -> float:
        return self.kernel.now

    def _state_error(self, what: str) -> KafkaException:
        return KafkaException(KafkaError(
            "_STATE", f"Operation not valid in state {self._txn_state_name()}: {what}"))

    def _txn_state_name(self) -> str:
        return {"UNINITIALIZED": "Init", "INITIALIZING": "WaitPID", "READY": "Ready",
                "IN_TRANSACTION": "InTransaction", "COMMITTING": "BeginCommit",
                "ABORTING": "BeginAbort", "ABORTABLE_ERROR": "AbortableError",
                "FATAL_ERROR": "FatalError"}[self.txn_state]

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
        self._check_usable()
        if self.txn_id:
            if self.txn_state == "ABORTABLE_ERROR":
                assert self.txn_error is not None
                raise KafkaException(self.txn_error)
            if self.txn_state != "IN_TRANSACTION":
                raise self._state_error("produce() outside a transaction: call "
                                        "begin_transaction() first")
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
        tp = (topic, partition)
        self._seq_no += 1
        msg = _Msg(self._seq_no, key, value, on_delivery or callback,
                   self.txn_seq if self.txn_id else None)
        b = self._open.get(tp)
        if b is None:
            b = self._open[tp] = _Batch(tp, self._now(), f"{self.name}/b{next(self._batch_ids)}")
            self._queue.setdefault(tp, deque()).append(b)
            self.kernel.schedule(self.config["linger.ms"], self._drain)
        b.msgs.append(msg)
        b.size += len(str(value)) + (len(str(key)) if key is not None else 0)
        self._unsettled += 1
        if b.size >= self.config["batch.size"]:
            del self._open[tp]
            self._kick()
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
        """Stop the producer; undelivered messages are dropped (as after ``purge``)."""
        if not self.closed:
            self._abandon("close")
            self.closed = True

    def crash(self) -> None:
        """The process dies: nothing more is sent or retried, callbacks never run.
        Requests already on the wire still reach the broker."""
        if self.alive:
            self._abandon("crash")
            self.alive = False

    def _abandon(self, why: str) -> None:
        for q in self._queue.values():
            for b in q:
                self._finish(b, KafkaError("_DESTROY", f"producer {why}"), -1,
                             outcome="info" if b.maybe_appended else "fail", callback=False)
        for tp in list(self._queue):
            self._queue[tp].clear()
        self._open.clear()

    # ------------------------------------------------------------------ sender
    def _kick(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self.kernel.schedule(0, self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if not self._alive():
            return
        if self.idempotent and self.pid < 0:
            return
        if self._bump_pending:
            if any(self._inflight_tp.values()):
                return  # wait for in-flight requests before bumping the epoch
            self._bump_epoch()
        now = self._now()
        linger = self.config["linger.ms"]
        max_inflight = self.config["max.in.flight.requests.per.connection"]
        for tp, q in self._queue.items():
            while q:
                b = q[0]
                if b.ready_at > now:
                    break
                if self._open.get(tp) is b:
                    if now < b.created + linger and not self._flushing:
                        break
                    del self._open[tp]
                if self.txn_id and tp not in self.txn_partitions:
                    break
                p = self.cluster.partition(*tp)
                broker = p.leader if p.leader is not None else -1
                if self._inflight_broker.get(broker, 0) >= max_inflight:
                    break
                if self.idempotent and b.attempts > 0 and self._inflight_tp.get(tp, 0) > 0:
                    break  # retries go one at a time, in sequence order
                if now - b.created > self.config["delivery.timeout.ms"]:
                    q.popleft()
                    self._finish(b, KafkaError("_MSG_TIMED_OUT"), -1,
                                 outcome="info" if b.maybe_appended else "fail")
                    continue
                q.popleft()
                if self._sticky.get(tp[0]) == tp[1]:
                    del self._sticky[tp[0]]  # the next unkeyed record picks a new partition
                self._send(b, broker)

    def _send(self, b: _Batch, broker: int) -> None:
        tp = b.tp
        if self.idempotent and b.base_seq < 0:
            b.base_seq = self._next_seq.get(tp, 0)
            self._next_seq[tp] = (b.base_seq + len(b.msgs)) % SEQ_SPACE
            b.epoch = self.epoch
        retry = b.attempts > 0
        b.attempts += 1
        self.stats["sent"] += 1
        if retry:
            self.stats["retries"] += 1
        vals = ",".join(str(m.value) for m in b.msgs[:3]) + ("..." if len(b.msgs) > 3 else "")
        seq = f" seq={b.base_seq}" if b.base_seq >= 0 else ""
        label = f"{vals}{seq}"
        self.kernel.emit(self.lane, "retry" if retry else "send", f"{label} -> {tp[0]}-{tp[1]}",
                         ref=b.id, data={"tp": f"{tp[0]}-{tp[1]}", "pid": self.pid,
                                         "epoch": b.epoch if b.base_seq >= 0 else self.epoch,
                                         "seq": b.base_seq, "count": len(b.msgs),
                                         "values": [str(m.value) for m in b.msgs]}
                         if self.kernel.tracing else None)
        if self.acks == "0":
            # fire and forget: the outcome is reported as success with no offset
            self.cluster.network.call(self.lane, "produce", broker,
                                      self._handler(b, broker, label), lambda r: None,
                                      timeout=self.config["request.timeout.ms"],
                                      client_alive=self._alive, label=label, ref=b.id,
                                      to=f"partition {tp[0]}-{tp[1]}")
            self._finish(b, None, -1)
            return
        self._inflight_broker[broker] = self._inflight_broker.get(broker, 0) + 1
        self._inflight_tp[tp] = self._inflight_tp.get(tp, 0) + 1
        self.cluster.network.call(
            self.lane, "produce", broker, self._handler(b, broker, label),
            lambda resp: self._on_response(b, broker, resp),
            timeout=self.config["request.timeout.ms"],
            on_timeout=lambda: self._on_timeout(b, broker),
            client_alive=self._alive, label=label, ref=b.id, to=f"partition {tp[0]}-{tp[1]}",
        )

    def _handler(self, b: _Batch, broker: int, label: str) -> Callable[..., None]:
        req = {"topic": b.tp[0], "partition": b.tp[1],
               "records": [(m.key, m.value) for m in b.msgs], "pid": self.pid,
               "epoch": b.epoch if b.base_seq >= 0 else self.epoch,
               "seq": b.base_seq, "transactional": self.txn_id is not None,
               "txn_id": self.txn_id, "acks": self.acks, "label": label, "ref": b.id}
        return lambda respond: self.cluster.handle_produce(req, broker, respond)

    def _done_inflight(self, b: _Batch, broker: int) -> None:
        self._inflight_broker[broker] -= 1
        self._inflight_tp[b.tp] -= 1

    def _on_response(self, b: _Batch, broker: int, resp: dict[str, Any]) -> None:
        self._done_inflight(b, broker)
        err = resp.get("error")
        if err is None:
            if b.base_seq >= 0:
                last = (b.base_seq + len(b.msgs) - 1) % SEQ_SPACE
                if last > self._last_acked_seq.get(b.tp, -1) or last < b.base_seq:
                    self._last_acked_seq[b.tp] = last
            if resp.get("duplicate"):
                self.stats["duplicates_acked"] += 1
            self.kernel.emit(self.lane, "ack", f"offset {resp['base_offset']}"
                             + (" (duplicate: original offset)" if resp.get("duplicate") else ""),
                             ref=b.id)
            self._finish(b, None, resp["base_offset"])
        else:
            self.kernel.emit(self.lane, "error", f"{err}", flag="error", ref=b.id)
            self._on_error(b, err)
        self._kick()

    def _on_timeout(self, b: _Batch, broker: int) -> None:
        self._done_inflight(b, broker)
        b.maybe_appended = True
        self.kernel.emit(self.lane, "timeout", f"no answer in {self.config['request.timeout.ms']}"
                         " ms: the broker may have appended", flag="error", ref=b.id)
        self._on_error(b, "REQUEST_TIMED_OUT")
        self._kick()

    def _on_error(self, b: _Batch, err: str) -> None:
        retriable = err in RETRIABLE
        if err == "OUT_OF_ORDER_SEQUENCE_NUMBER" and self.idempotent:
            # an earlier batch of this partition is still unsettled: retry in order
            earlier = any(x.base_seq >= 0 and x.base_seq < b.base_seq
                          for x in self._queue.get(b.tp, ())) or self._inflight_tp.get(b.tp, 0)
            retriable = bool(earlier)
            if not earlier and not self.txn_id:
                # the Java client retries every OOOS of an idempotent producer; when the
                # batch is the next one after the last acknowledged (a real gap: the broker
                # lost our state), it first bumps its own epoch (KIP-360). Otherwise it
                # retries until delivery.timeout.ms fails the batch.
                last = self._last_acked_seq.get(b.tp, -1)
                if b.base_seq == (last + 1) % SEQ_SPACE:
                    self._bump_pending = True
                retriable = True
        if retriable and b.attempts <= self.config["retries"] and \
                self._now() - b.created < self.config["delivery.timeout.ms"]:
            b.ready_at = self._now() + self.config["retry.backoff.ms"]
            q = self._queue[b.tp]
            # retries go back in sequence (creation) order, ahead of newer batches
            pos = 0
            while pos < len(q) and q[pos].created <= b.created and q[pos] is not b:
                pos += 1
            q.insert(pos, b)
            self.kernel.schedule(self.config["retry.backoff.ms"], self._kick)
            return
        if retriable and self._now() - b.created >= self.config["delivery.timeout.ms"]:
            err = "_MSG_TIMED_OUT"
        outcome = "info" if b.maybe_appended else "fail"
        self._finish(b, KafkaError(err, txn_requires_abort=self.txn_id is not None
                                   and err in ABORTABLE), -1, outcome=outcome)
        if self.txn_id and self.txn_state == "IN_TRANSACTION":
            self._set_abortable(KafkaError(err, txn_requires_abort=True))

    def _finish(self, b: _Batch, err: KafkaError | None, base_offset: int, *,
                outcome: str = "ok", callback: bool = True) -> None:
        topic, part = b.tp
        for i, m in enumerate(b.msgs):
            off = base_offset + i if base_offset >= 0 else -1
            if err is None:
                self.stats["acked"] += 1
            else:
                self.stats["failed"] += 1
            self.sim.history.record(
                self._now(), self.sim.process_name(self), "send", "ok" if err is None else outcome,
                topic=topic, partition=part, key=m.key, value=m.value,
                offset=off if off >= 0 else None, txn=self.txn_id, txn_seq=m.txn_seq,
                error=err.name() if err else None, seq_no=m.seq_no)
            if callback and m.cb is not None:
                self._callbacks.append((m.cb, err, Message(topic, part, off, m.key, m.value, err,
                                                           self._now())))
        self._unsettled -= len(b.msgs)
        b.msgs = []

    def _bump_epoch(self) -> None:
        """KIP-360: a new epoch for the same producer id; unacknowledged batches get fresh
        sequence numbers from 0 under it."""
        self._bump_pending = False
        self.epoch += 1
        self._next_seq.clear()
        self._last_acked_seq.clear()
        for q in self._queue.values():
            for b in q:
                b.base_seq = -1
        self.kernel.emit(self.lane, "fence", f"bumped own epoch to {self.epoch} (KIP-360); "
                         "sequences restart at 0")

    # ------------------------------------------------------------- producer id
    def _request_pid(self) -> None:
        """InitProducerId for an idempotent producer; retried until it succeeds (the only
        errors it can get, CONCURRENT_TRANSACTIONS and NOT_COORDINATOR, are retriable)."""

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            self.cluster.txn_coordinator.handle_init_producer_id(
                self.txn_id, self.config["transaction.timeout.ms"], respond,
                self.transaction_version)

        def on_resp(resp: dict[str, Any]) -> None:
            if resp["error"]:
                self.kernel.schedule(self.config["retry.backoff.ms"], self._request_pid)
                return
            self.pid, self.epoch = resp["pid"], resp["epoch"]
            self._next_seq.clear()
            self.kernel.emit(self.lane, "ack", f"InitProducerId: pid={self.pid} "
                             f"epoch={self.epoch}", data={"pid": self.pid, "epoch": self.epoch})
            self._kick()

        # no transactional.id: any live broker answers (the least loaded; here the first)
        broker = min(self.cluster.alive) if self.txn_id is None and self.cluster.alive else 0
        self.cluster.network.call(self.lane, "init_pid", broker, handler, on_resp,
                                  timeout=self.config["request.timeout.ms"],
                                  on_timeout=self._request_pid, client_alive=self._alive,
                                  label="InitProducerId",
                                  to=None if self.txn_id else f"broker {broker}")

    # ------------------------------------------------------------ transactions
    def _coordinator_call(self, api: str, handler: Callable[..., None], label: str,
                          timeout_s: float | None) -> dict[str, Any]:
        """Send a request to the transaction coordinator and wait for its answer,
        retrying CONCURRENT_TRANSACTIONS and lost requests like the client does."""
        result: dict[str, Any] = {}
        deadline = self._now() + (self.config["max.block.ms"] if timeout_s is None
                                  else timeout_s * 1000)

        def attempt() -> None:
            def on_resp(resp: dict[str, Any]) -> None:
                if resp.get("error") in ("CONCURRENT_TRANSACTIONS", "NOT_COORDINATOR") \
                        and self._now() < deadline:
                    self.kernel.schedule(self.config["retry.backoff.ms"], attempt)
                    return
                result.update(resp)

            def on_timeout() -> None:
                if self._now() < deadline:
                    self.kernel.schedule(self.config["retry.backoff.ms"], attempt)

            self.cluster.network.call(self.lane, api, 0, handler, on_resp,
                                      timeout=self.config["request.timeout.ms"],
                                      on_timeout=on_timeout, client_alive=self._alive,
                                      label=label)

        attempt()
        self.kernel.run_until(lambda: bool(result) or not self._alive(),
                              max(0.0, deadline - self._now()))
        if not self._alive():
            raise KafkaException(KafkaError("_DESTROY", "producer crashed"))
        if not result:
            raise KafkaException(KafkaError("_TIMED_OUT", f"{label} timed out", retriable=True))
        return result

    def _fenced(self, err: str) -> KafkaException:
        e = KafkaError("_FENCED", f"{err}: producer {self.name} (transactional.id="
                       f"{self.txn_id}) was fenced by a newer instance with the same "
                       "transactional.id or by a transaction timeout; close it",
                       fatal=True)
        self.txn_state = "FATAL_ERROR"
        self.txn_error = e
        self._record( "fenced", "ok", txn=self.txn_id,
                                error=err)
        self.kernel.emit(self.lane, "fence", f"fenced ({err})", flag="fenced")
        return KafkaException(e)

    def _require_txn(self, op: str) -> None:
        self._check_usable()
        if not self.txn_id:
            raise KafkaException(KafkaError(
                "_STATE", f"{op}: the transactional API requires transactional.id to be set"))

    def init_transactions(self, timeout: float | None = None) -> None:
        """Get the producer id and a new epoch for ``transactional.id``, fencing any
        older instance and aborting its open transaction."""
        self._require_txn("init_transactions")
        if self.txn_state != "UNINITIALIZED":
            raise self._state_error("init_transactions() may be called once")
        self.txn_state = "INITIALIZING"

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            self.cluster.txn_coordinator.handle_init_producer_id(
                self.txn_id, self.config["transaction.timeout.ms"], respond,
                self.transaction_version)

        try:
            resp = self._coordinator_call("init_pid", handler, "InitProducerId", timeout)
        except KafkaException:
            self.txn_state = "UNINITIALIZED"
            raise
        if resp["error"]:
            self.txn_state = "UNINITIALIZED"
            raise KafkaException(KafkaError(resp["error"]))
        self.pid, self.epoch = resp["pid"], resp["epoch"]
        self._next_seq.clear()
        self.txn_state = "READY"
        self.kernel.emit(self.lane, "ack", f"init_transactions: pid={self.pid} epoch={self.epoch}",
                         data={"pid": self.pid, "epoch": self.epoch, "txn_id": self.txn_id})

    def begin_transaction(self) -> None:
        """Start a transaction (client-local; the coordinator hears of it at the first
        write or offset commit)."""
        self._require_txn("begin_transaction")
        if self.txn_state != "READY":
            raise self._state_error("begin_transaction() needs a ready producer (after "
                                    "init_transactions, and not inside a transaction)")
        self.txn_state = "IN_TRANSACTION"
        self.txn_seq += 1
        self.txn_partitions = set()
        self._adding = set()
        self.txn_offsets_added = False
        self.txn_error = None

    def _add_partition(self, tp: TP) -> None:
        self._adding.add(tp)
        txn_seq = self.txn_seq

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            self.cluster.txn_coordinator.handle_add_partitions(
                self.txn_id, self.pid, self.epoch, [tp], respond)

        def on_resp(resp: dict[str, Any]) -> None:
            self._adding.discard(tp)
            if txn_seq != self.txn_seq:
                return
            err = resp["error"]
            if err in ("CONCURRENT_TRANSACTIONS", "NOT_COORDINATOR"):
                self.kernel.schedule(self.config["retry.backoff.ms"], self._add_partition, tp)
                self._adding.add(tp)
                return
            if err in ("PRODUCER_FENCED", "INVALID_PRODUCER_ID_MAPPING"):
                self._fenced(err)
                self._fail_queued(KafkaError("_FENCED", err, fatal=True))
                return
            if err:
                self._set_abortable(KafkaError(err, txn_requires_abort=True))
                self._fail_queued(KafkaError(err, txn_requires_abort=True))
                return
            self.txn_partitions.add(tp)
            self._kick()

        def on_timeout() -> None:
            self._adding.discard(tp)
            if txn_seq == self.txn_seq and self.txn_state == "IN_TRANSACTION":
                self._add_partition(tp)

        self.cluster.network.call(self.lane, "add_partitions", 0, handler, on_resp,
                                  timeout=self.config["request.timeout.ms"],
                                  on_timeout=on_timeout, client_alive=self._alive,
                                  label=f"AddPartitionsToTxn {tp[0]}-{tp[1]}")

    def _set_abortable(self, err: KafkaError) -> None:
        if self.txn_state in ("IN_TRANSACTION", "COMMITTING"):
            self.txn_state = "ABORTABLE_ERROR"
            self.txn_error = err

    def _fail_queued(self, err: KafkaError) -> None:
        for q in self._queue.values():
            while q:
                self._finish(q.popleft(), err, -1, outcome="fail")
        self._open.clear()

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], group_metadata: Any,
                                    timeout: float | None = None) -> None:
        """Add the consumer's positions (the NEXT offsets to read) to the transaction:
        they commit with it, or vanish if it aborts."""
        self._require_txn("send_offsets_to_transaction")
        if self.txn_state == "ABORTABLE_ERROR":
            assert self.txn_error is not None
            raise KafkaException(self.txn_error)
        if self.txn_state != "IN_TRANSACTION":
            raise self._state_error("send_offsets_to_transaction() outside a transaction")
        if group_metadata is None or not hasattr(group_metadata, "group_id"):
            raise KafkaException(KafkaError("_INVALID_ARG", "group_metadata must come from "
                                            "consumer.consumer_group_metadata()"))
        gm = group_metadata
        resp = self._coordinator_call(
            "add_offsets",
            lambda respond: self.cluster.txn_coordinator.handle_add_offsets(
                self.txn_id, self.pid, self.epoch, gm.group_id, respond),
            f"AddOffsetsToTxn {gm.group_id}", timeout)
        if resp["error"] in ("PRODUCER_FENCED", "INVALID_PRODUCER_ID_MAPPING"):
            raise self._fenced(resp["error"])
        if resp["error"]:
            err = KafkaError(resp["error"], txn_requires_abort=True)
            self._set_abortable(err)
            raise KafkaException(err)
        self.txn_offsets_added = True
        offs = {(tp.topic, tp.partition): tp.offset for tp in offsets if tp.offset >= 0}
        result: dict[str, Any] = {}

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            respond({"error": self.cluster.group_coordinator.txn_commit(
                gm.group_id, self.pid, self.epoch, gm.generation_id, gm.member_id, offs)})

        self.cluster.network.call(self.lane, "txn_offset_commit", 0, handler, result.update,
                                  timeout=self.config["request.timeout.ms"],
                                  on_timeout=lambda: result.update(error="REQUEST_TIMED_OUT"),
                                  client_alive=self._alive, label="TxnOffsetCommit")
        self.kernel.run_until(lambda: bool(result) or not self._alive())
        if not self._alive():
            raise KafkaException(KafkaError("_DESTROY", "producer crashed"))
        err = result["error"]
        self._record( "commit", "ok" if err is None else "fail",
                                group=gm.group_id,
                                offsets=[[t, p, o] for (t, p), o in offs.items()],
                                txn=self.txn_id, txn_seq=self.txn_seq)
        if err:
            e = KafkaError(err, f"{err}: the consumer group moved on (rebalance); this "
                           "transaction must be aborted", txn_requires_abort=True)
            self._set_abortable(e)
            raise KafkaException(e)

    def commit_transaction(self, timeout: float | None = None) -> None:
        """Flush, then ask the coordinator to commit. Raises the abortable error of any
        failed send (call ``abort_transaction`` then), or a fatal ``_FENCED``."""
        self._end_txn(True, timeout)

    def abort_transaction(self, timeout: float | None = None) -> None:
        """Drop unsent records and ask the coordinator to abort the transaction."""
        self._end_txn(False, timeout)

    def _end_txn(self, commit: bool, timeout: float | None) -> None:
        op = "commit_transaction" if commit else "abort_transaction"
        self._require_txn(op)
        ok_states = ("IN_TRANSACTION", "COMMITTING") if commit else (
            "IN_TRANSACTION", "ABORTABLE_ERROR", "ABORTING")
        if self.txn_state == "ABORTABLE_ERROR" and commit:
            assert self.txn_error is not None
            raise KafkaException(self.txn_error)
        if self.txn_state not in ok_states:
            raise self._state_error(f"{op}() without an open transaction")
        purged_sequenced = False  # did an abort drop batches that had sequence numbers?
        if commit:
            self.flush(timeout)
            if self.txn_state == "ABORTABLE_ERROR":
                assert self.txn_error is not None
                raise KafkaException(self.txn_error)
            if self.txn_state == "FATAL_ERROR":
                assert self.txn_error is not None
                raise KafkaException(self.txn_error)
            self.txn_state = "COMMITTING"
        else:
            purged_sequenced = any(b.base_seq >= 0 for q in self._queue.values() for b in q)
            self._fail_queued(KafkaError("_STATE", "purged by abort_transaction"))
            self.kernel.run_until(lambda: self._unsettled == 0 or not self._alive())
            self.txn_state = "ABORTING"
        # an AddPartitionsToTxn still in flight may yet open the transaction: wait for it
        self.kernel.run_until(lambda: not self._adding or not self._alive(),
                              self.config["request.timeout.ms"])
        result = "commit" if commit else "abort"
        if not self.txn_partitions and not self.txn_offsets_added:
            # nothing reached the coordinator: complete locally, as the Java client does
            self.txn_state = "READY"
            self._record( "txn_end", "ok", txn=self.txn_id,
                                    txn_seq=self.txn_seq, result=result,
                                    decided_at=self._now())
            return
        try:
            resp = self._coordinator_call(
                "end_txn",
                lambda respond: self.cluster.txn_coordinator.handle_end_txn(
                    self.txn_id, self.pid, self.epoch, commit, respond),
                f"EndTxn({result})", timeout)
        except KafkaException as e:
            if self._alive():
                self._record( "txn_end", "info",
                                        txn=self.txn_id, txn_seq=self.txn_seq, result=result)
            raise e
        err = resp["error"]
        if err in ("PRODUCER_FENCED", "INVALID_PRODUCER_ID_MAPPING"):
            self._record( "txn_end", "fail", txn=self.txn_id,
                                    txn_seq=self.txn_seq, result=result, error=err)
            raise self._fenced(err)
        if err:
            self._record( "txn_end", "fail", txn=self.txn_id,
                                    txn_seq=self.txn_seq, result=result, error=err)
            raise KafkaException(KafkaError(err))
        self._record( "txn_end", "ok", txn=self.txn_id,
                                txn_seq=self.txn_seq, result=result,
                                decided_at=resp.get("decided_at", self._now()))
        if resp.get("epoch", self.epoch) != self.epoch or resp.get("pid", self.pid) != self.pid:
            # TV2: the next transaction's epoch, or after epoch exhaustion a new producer id
            # with epoch 0 (TransactionManager adopts the EndTxn response's id and epoch)
            self.pid = resp.get("pid", self.pid)
            self.epoch = resp["epoch"]
            self._next_seq.clear()
            self._last_acked_seq.clear()
        elif not commit and purged_sequenced:
            # TV1: batches with sequence numbers were dropped, so the broker's next expected
            # sequence is unknown; like the Java client, get a new epoch (InitProducerId)
            init = self._coordinator_call(
                "init_pid", lambda respond: self.cluster.txn_coordinator.handle_init_producer_id(
                    self.txn_id, self.config["transaction.timeout.ms"], respond,
                    self.transaction_version), "InitProducerId (epoch bump)",
                None)
            if init["error"]:
                raise self._fenced(init["error"])
            self.pid, self.epoch = init["pid"], init["epoch"]
            self._next_seq.clear()
            self._last_acked_seq.clear()
        self.txn_state = "READY"
        self.kernel.emit(self.lane, "ack", f"{result} of transaction {self.txn_seq} done")

    @property
    def effective_config(self) -> dict[str, Any]:
        """The configuration in force, defaults included."""
        return public(self.config)

