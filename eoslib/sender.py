"""The producer's sender: produce requests, in-flight limits, answers, retries, epochs.

Java: ``Sender`` (with the idempotence parts of ``TransactionManager``); librdkafka: the
broker thread's produce path (``rdkafka_broker.c``, ``rdkafka_request.c``) and
``rdkafka_idempotence.c``. What it models:

* at most ``max.in.flight.requests.per.connection`` requests wait for answers per broker;
* with idempotence each batch gets the partition's next sequence number when first sent
  and keeps it on every retry; retries of a partition go out in sequence order, one at a
  time, so the broker's 5-batch cache can recognise them (Java: the lowest sequence goes
  even while later batches are in flight, ``_lower_on_wire``);
* Java: a batch fails at ``delivery.timeout.ms`` even in flight, and an expired retry
  leaves its partition's sequence unresolved until nothing is in flight
  (``sender_java_expiry.py``);
* without idempotence a retry is a new append (a duplicate, if the first one landed), and
  with more than one request in flight a retry can land behind a later batch (reordering);
* librdkafka builds each request's MessageSet from the partition queue when it sends
  (``_msgset``): a non-idempotent producer's retries are re-batched with whatever waits
  behind them (up to ``batch.num.messages``/``batch.size``), each message counting its
  own retries; Java re-sends each batch as it was (``Sender.completeBatch`` ->
  ``reenqueueBatch``);
* a request timeout drops the connection (``network.py``), failing every request in flight
  on it (librdkafka ``socket.max.fails``=1, ``rd_kafka_broker_timeout_scan``; Java
  ``NetworkClient.handleTimedOutRequests``). Not modelled: librdkafka scans for timeouts
  once a second, so its timeouts fire up to 1 s late;
* a request unanswered after the client's request timeout (Java ``request.timeout.ms``,
  librdkafka ``socket.timeout.ms``) is retried while ``retries`` and
  ``delivery.timeout.ms`` allow, after a backoff that doubles from ``retry.backoff.ms``
  up to ``retry.backoff.max.ms`` (``backoff.py``); then the delivery fails;
* ``acks=0`` does not wait for the broker at all;
* an idempotent producer without ``transactional.id`` gets its producer id from any broker
  and bumps its own epoch after a sequence gap (KIP-360);
* librdkafka's idempotent producer answers OUT_OF_ORDER_SEQUENCE_NUMBER by the request's
  position (fatal for the head-of-line or a rewound one; re-enqueued with an epoch bump for
  a later one) and reports earlier queued messages delivered when a later request is acked
  (implicit acks): ``sender_rdk_idempotence.py``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from eoslib.accumulator import TP, ProducerBatch, msg_size
from eoslib.backoff import rdk_jitter, retry_backoff_ms
from eoslib.config import request_timeout_ms
from eoslib.errors import KafkaError, timed_out_name
from eoslib.messages import Message
from eoslib.sender_java_expiry import JavaExpiry
from eoslib.sender_rdk_idempotence import SEQ_SPACE, RdkIdempotence

RETRIABLE = {"NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS",
             "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "UNKNOWN_TOPIC_OR_PART"}
ABORTABLE = {"INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE", "OUT_OF_ORDER_SEQUENCE_NUMBER",
             "TRANSACTION_ABORTABLE", "UNKNOWN_PRODUCER_ID", "_MSG_TIMED_OUT"}


class Sender(RdkIdempotence, JavaExpiry):
    """Mixin of :class:`~eoslib.producer.Producer` (whose state it uses): turns queued
    batches into produce requests and handles their answers."""

    def _request_timeout(self) -> float:
        """How long the client waits for an answer before it gives the request up: Java
        ``request.timeout.ms``; librdkafka ``socket.timeout.ms`` (its ``request.timeout.ms``
        is the broker's wait for acks, CONFIGURATION.md)."""
        return float(request_timeout_ms(self.config))

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
        if self._unresolved:  # Java: Sender.runOnce starts with maybeResolveSequences
            self._resolve_sequences()
        if self._bump_pending:
            if any(self._inflight_tp.values()):
                return  # wait for in-flight requests before bumping the epoch
            self._bump_epoch()
        now = self._now()
        if self.txn_state == "FATAL_ERROR" and not self.txn_id:
            self._hold_after_fatal(now)
            return
        linger = self.config["linger.ms"]
        max_inflight = self.config["max.in.flight.requests.per.connection"]
        unresolved = self._unresolved
        java, delivery = self.client == "java", self.config["delivery.timeout.ms"]
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
                if self.txn_id and self.txn_state not in ("IN_TRANSACTION", "COMMITTING"):
                    # nothing is sent once the transaction is aborting or failed
                    # (librdkafka rd_kafka_txn_may_send_msg; Java: Sender.maybeAbortBatches
                    # aborts the undrained batches)
                    if self.client == "java" or not b.maybe_appended:
                        q.popleft()
                        self._finish(b, KafkaError("_PURGE_QUEUE", "Local: Purged in queue: "
                                                   "the transaction is being aborted"), -1,
                                     outcome="info" if b.maybe_appended else "fail")
                        continue
                    # librdkafka keeps a possibly-persisted retry until message.timeout.ms
                    if now - b.created <= self.config["delivery.timeout.ms"]:
                        self.kernel.schedule(b.created + self.config["delivery.timeout.ms"]
                                             - now + 1, self._kick)
                        break
                if java and now - b.created >= delivery:
                    # RecordAccumulator.expiredBatches: every deque's head at its deadline
                    # (hasReachedDeliveryTimeout), whether or not it could be sent
                    q.popleft()
                    if b.attempts and b.base_seq >= 0:
                        self._mark_unresolved(b)  # an expired retry (sendProducerData)
                        self._kick()  # the next loop resolves it
                    self._fail_expired(b)
                    continue
                p = self.cluster.partition(*tp)
                broker = p.leader if p.leader is not None else -1
                if self._inflight_broker.get(broker, 0) >= max_inflight:
                    if java:
                        self._wake_at(b.created + delivery)
                    break
                if self.idempotent and b.attempts > 0 and self._inflight_tp.get(tp, 0) > 0 \
                        and (not java or self._lower_on_wire(b)):
                    if java:
                        self._wake_at(b.created + delivery)
                    break  # retries go one at a time, in sequence order
                if now - b.created > delivery:  # librdkafka (Java: above)
                    q.popleft()
                    expired = self._expired(b)
                    self._finish(b, expired, -1,
                                 outcome="info" if b.maybe_appended else "fail")
                    self._after_final_failure(b, expired.name())
                    continue
                if unresolved and b.base_seq < 0 and tp in unresolved:
                    # Java, RecordAccumulator.shouldStopDrainBatchesForPartition: "Don't
                    # drain any new batches while the state of previous sequence numbers is
                    # unknown" (SenderTest.testExpiryOfFirstBatchShouldNotCauseUnresolved...)
                    self._wake_at(b.created + delivery)
                    break
                q.popleft()
                if self._sticky.get(tp[0]) == tp[1]:
                    del self._sticky[tp[0]]  # the next unkeyed record picks a new partition
                if self.client == "librdkafka" and q:
                    b = self._msgset(tp, q, b, now)
                self._send(b, broker)

    def _wake_at(self, t: float) -> None:
        """Java: a batch that cannot be sent yet still expires at its deadline ``t``: the
        sender polls no longer than the accumulator's next expiry
        (Sender.sendProducerData: ``accumulator.nextExpiryTimeMs()``)."""
        if self._expiry_wake <= self._now() or t < self._expiry_wake:
            self._expiry_wake = t
            self.kernel.schedule(t - self._now(), self._kick)

    def _lower_on_wire(self, b: ProducerBatch) -> bool:
        """Java: a retry waits while a batch of its partition with a lower sequence is in
        flight; the partition's first sequence in flight goes even while later first
        attempts are out (RecordAccumulator.shouldStopDrainBatchesForPartition:
        ``first.baseSequence() != firstInFlightSequence``; SenderTest.
        testIdempotenceWithMultipleInflightsRetriedInOrder). librdkafka sends no retry
        while its partition has a request out."""
        tp, seq = b.tp, b.base_seq
        return any(x.tp == tp and x.base_seq < seq for x in self._on_wire.values())

    def _msgset(self, tp: TP, q: deque[ProducerBatch], b: ProducerBatch,
                now: float) -> ProducerBatch:
        """librdkafka builds each MessageSet from the partition's queue when it sends
        (``rd_kafka_msgset_writer_write_msgq``, src/rdkafka_msgset_writer.c): after the
        head ``b`` it takes the next messages in order until ``batch.num.messages`` or
        ``batch.size`` is reached or a message is still backing off (``ts_backoff >
        now``). A failed request's messages go back into that queue in order
        (``rd_kafka_toppar_retry_msgq`` -> ``rd_kafka_msgq_insert_msgq``,
        src/rdkafka_partition.c), so a non-idempotent producer's retries are re-batched
        with whatever else waits. The idempotent producer rebuilds a sent batch's exact
        span ("When reconstructing a batch to retry make sure the original message
        sequence span matches", same writer; the span is stored by
        ``rd_kafka_handle_idempotent_Produce_error``), so only never-sent batches merge."""
        if self.idempotent and b.attempts > 0:
            return b
        max_n, max_bytes = self.config["batch.num.messages"], self.config["batch.size"]
        parts, n, size = [b], len(b.msgs), b.size
        while q and n < max_n and size < max_bytes:
            nxt = q[0]
            if nxt.ready_at > now or (self.idempotent and nxt.attempts > 0):
                break
            take, taken = 0, 0
            for m in nxt.msgs:  # the writer stops before the message that overflows
                m_size = msg_size(m.key, m.value)
                if n + take >= max_n or size + taken + m_size > max_bytes:
                    break
                take += 1
                taken += m_size
            if take == 0:
                break
            size += taken
            if take < len(nxt.msgs):  # the rest waits in the queue as its own batch
                rest = ProducerBatch(tp, nxt.created, f"{self.name}/b{next(self._batch_ids)}")
                rest.msgs, nxt.msgs = nxt.msgs[take:], nxt.msgs[:take]
                rest.size, nxt.size = nxt.size - taken, taken
                for a in ("attempts", "ready_at", "maybe_appended"):
                    setattr(rest, a, getattr(nxt, a))
                if self._open.get(tp) is nxt:
                    self._open[tp] = rest
                q[0] = rest
            else:
                q.popleft()
                if self._open.get(tp) is nxt:
                    del self._open[tp]  # the writer takes what is queued, lingering or not
            parts.append(nxt)
            n += take
        if len(parts) == 1:
            return b
        m = ProducerBatch(tp, b.created, b.id)
        m.msgs = [x for p in parts for x in p.msgs]
        m.size = size
        m.attempts = max(p.attempts for p in parts)  # a retry if any record was sent before
        m.maybe_appended = any(p.maybe_appended for p in parts)
        if not self.idempotent:
            for p in parts:
                p.attempts += 1  # each message counts its own retries (rkm retries)
            m.parts = parts
        return m

    def _send(self, b: ProducerBatch, broker: int) -> None:
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
                                      timeout=self._request_timeout(),
                                      client_alive=self._alive, label=label, ref=b.id,
                                      to=f"partition {tp[0]}-{tp[1]}")
            self._finish(b, None, -1)
            return
        self._inflight_broker[broker] = self._inflight_broker.get(broker, 0) + 1
        self._inflight_tp[tp] = self._inflight_tp.get(tp, 0) + 1
        self._on_wire[id(b)] = b
        timeout = self._request_timeout()
        if self.client == "java":
            left = b.created + self.config["delivery.timeout.ms"] - self._now()
            if left < timeout:  # the deadline comes before the request can time out
                self.kernel.schedule(left, self._expire_in_flight, b)
        self.cluster.network.call(
            self.lane, "produce", broker, self._handler(b, broker, label),
            lambda resp: self._on_response(b, broker, resp),
            timeout=timeout,
            on_timeout=lambda: self._on_timeout(b, broker),
            client_alive=self._alive, label=label, ref=b.id, to=f"partition {tp[0]}-{tp[1]}",
        )

    def _handler(self, b: ProducerBatch, broker: int, label: str) -> Callable[..., None]:
        req = {"topic": b.tp[0], "partition": b.tp[1],
               "records": [(m.key, m.value) for m in b.msgs], "pid": self.pid,
               "epoch": b.epoch if b.base_seq >= 0 else self.epoch,
               "seq": b.base_seq, "transactional": self.txn_id is not None,
               # a transactions-v2 producer says so by its Produce version (KIP-890: v12+)
               "tv2": self.txn_id is not None and self.transaction_version >= 2,
               "txn_id": self.txn_id, "acks": self.acks, "label": label, "ref": b.id,
               "headers": [m.headers for m in b.msgs]
               if any(m.headers is not None for m in b.msgs) else None}
        return lambda respond: self.cluster.handle_produce(req, broker, respond)

    def _done_inflight(self, b: ProducerBatch, broker: int) -> bool:
        """The request of ``b`` is answered or timed out: its connection slot is free.
        False if ``b`` had already expired in flight (Java), its partition slot given back
        then."""
        self._inflight_broker[broker] -= 1
        if self._on_wire.pop(id(b), None) is None:
            return False
        self._inflight_tp[b.tp] -= 1
        return True

    def _on_response(self, b: ProducerBatch, broker: int, resp: dict[str, Any]) -> None:
        if not self._done_inflight(b, broker):
            self._late_answer(b, resp)
            return
        err = resp.get("error")
        if err is None:
            if b.base_seq >= 0:
                last = (b.base_seq + len(b.msgs) - 1) % SEQ_SPACE
                if last > self._last_acked_seq.get(b.tp, -1) or last < b.base_seq:
                    self._last_acked_seq[b.tp] = last
            if resp.get("duplicate"):
                self.stats["duplicates_acked"] += 1
            if self.client == "librdkafka" and self.idempotent and b.msgs:
                self._implicit_acks(b)
            self.kernel.emit(self.lane, "ack", f"offset {resp['base_offset']}"
                             + (" (duplicate: original offset)" if resp.get("duplicate") else ""),
                             ref=b.id)
            self._finish(b, None, resp["base_offset"])
        else:
            self.kernel.emit(self.lane, "error", f"{err}", flag="error", ref=b.id)
            self._on_error(b, err)
        self._kick()

    def _on_timeout(self, b: ProducerBatch, broker: int) -> None:
        if not self._done_inflight(b, broker):
            self._expired_wire.pop(id(b), None)
            self._kick()  # expired in flight: only the connection slot was still taken
            return
        b.maybe_appended = True
        self.kernel.emit(self.lane, "timeout", f"no answer in {self._request_timeout():g}"
                         " ms: the broker may have appended", flag="error", ref=b.id)
        self._on_error(b, "REQUEST_TIMED_OUT")
        self._kick()

    def _on_error(self, b: ProducerBatch, err: str, jitter: float | None = None) -> None:
        if b.parts:  # librdkafka re-queues each message by its own retry count
            j = rdk_jitter(self.sim.client_rng)  # one draw per request (rd_kafka_retry_msgq)
            for p in b.parts:
                p.maybe_appended = p.maybe_appended or b.maybe_appended
                self._on_error(p, err, j)
            b.msgs = []
            return
        retriable = err in RETRIABLE
        if err == "OUT_OF_ORDER_SEQUENCE_NUMBER" and self.idempotent and \
                self.client == "librdkafka" and b.base_seq >= 0:
            self._rdk_out_of_order(b, err)
            return
        if err == "OUT_OF_ORDER_SEQUENCE_NUMBER" and self.idempotent:
            # an earlier batch of this partition is still unsettled: retry in order
            earlier = any(x.base_seq >= 0 and x.base_seq < b.base_seq
                          for x in self._queue.get(b.tp, ())) or self._inflight_tp.get(b.tp, 0)
            retriable = bool(earlier)
            last = self._last_acked_seq.get(b.tp, -1)
            unresolved = self._unresolved.get(b.tp)
            if not earlier and unresolved is None and b.base_seq != (last + 1) % SEQ_SPACE:
                # TransactionManager.canRetry: "We should retry the OutOfOrderSequenceException
                # if the batch is _not_ the next batch, ie. its base sequence isn't the
                # lastAckedSequence + 1", transactional or not, until delivery.timeout.ms
                # (real twins: tests/test_rules_java_refused_first_batch_on_kafka.py)
                retriable = True
            elif not earlier and not self.txn_id:
                # the next batch after the last acknowledged: a real gap (the broker lost
                # our state); the idempotent producer bumps its own epoch (KIP-360) and
                # retries; a transactional one fails the batch (abortable). With an
                # unresolved sequence (an expired retry) canRetry bumps only for the batch
                # right after it ("Otherwise, retry without bumping and wait to see if the
                # sequence resolves")
                if unresolved is None or b.base_seq == unresolved:
                    self._bump_pending = True
                retriable = True
        if retriable and b.attempts <= self.config["retries"] and \
                self._now() - b.created < self.config["delivery.timeout.ms"]:
            # exponential backoff up to retry.backoff.max.ms (eoslib/backoff.py)
            backoff = retry_backoff_ms(self.config, b.attempts, self.sim.client_rng, jitter)
            b.ready_at = self._now() + backoff
            self._requeue(b)  # in sequence (creation) order, ahead of newer batches
            left = b.created + self.config["delivery.timeout.ms"] - self._now()
            if self.client == "java" and left < backoff:
                # Java expires a batch waiting in its backoff at delivery.timeout.ms, not
                # when the backoff ends (RecordAccumulator.expiredBatches checks every
                # deque's head; Sender.sendProducerData polls no longer than
                # accumulator.nextExpiryTimeMs()): real twin in
                # tests/test_rules_java_refused_first_batch_on_kafka.py
                self.kernel.schedule(left, self._expire_in_backoff, b)
            else:
                self.kernel.schedule(backoff, self._kick)
            return
        expired = retriable and self._now() - b.created >= self.config["delivery.timeout.ms"]
        if expired:
            err = self._expired(b).name()
        outcome = "info" if b.maybe_appended else "fail"
        tp, seq, count = b.tp, b.base_seq, len(b.msgs)  # _finish empties the batch
        self._finish(b, KafkaError(err, txn_requires_abort=self.txn_id is not None
                                   and (expired or err in ABORTABLE)), -1, outcome=outcome)
        self._after_final_failure(b, err)
        if self.client == "java" and self.txn_id is not None and not expired and seq >= 0 \
                and err != "UNKNOWN_PRODUCER_ID" and self.txn_state != "FATAL_ERROR":
            self._java_adjust_sequences(b, tp, seq, count)

    def _java_adjust_sequences(self, failed: ProducerBatch, tp: TP, seq: int,
                               count: int) -> None:
        """Java, transactional: a batch that failed for good (an error answer, not an
        expiry) gives its sequence numbers back: the partition's next sequence and every
        later in-flight batch move down by its record count, so the next transaction goes on
        where the broker's log stopped (TransactionManager.handleFailedBatch ->
        TxnPartitionMap.adjustSequencesDueToFailedBatch; Sender.failBatch's
        adjustSequenceNumbers is false for expired batches)."""
        nxt = self._next_seq.get(tp)
        if nxt is None or nxt < count:
            return  # Kafka: "Sequence number for partition ... is going to become negative"
        self._next_seq[tp] = nxt - count
        for x in [*self._queue.get(tp, ()), *self._on_wire.values()]:
            if x is not failed and x.tp == tp and x.base_seq >= seq:
                x.base_seq -= count

    def _expired(self, b: ProducerBatch) -> KafkaError:
        """The error of a batch whose delivery timeout passed. librdkafka: ``_MSG_TIMED_OUT``
        (message.timeout.ms). Java: a ``TimeoutException`` ("Expiring N record(s) for T-P:
        X ms has passed since batch creation", ``ProducerBatch``/``Sender.failBatch``), named
        by its error code as every Java exception here: REQUEST_TIMED_OUT
        (``errors.timed_out_name``)."""
        if self.client != "java":
            return KafkaError("_MSG_TIMED_OUT")
        ms = int(self._now() - b.created)  # Sender.sendProducerData: now - createdMs
        return KafkaError(timed_out_name(self.client), f"Expiring {len(b.msgs)} record(s) "
                          f"for {b.tp[0]}-{b.tp[1]}:{ms} ms has passed since batch creation",
                          retriable=True)

    def _requeue(self, b: ProducerBatch) -> None:
        """Put a failed batch back in sequence (creation) order, ahead of newer batches."""
        q = self._queue[b.tp]
        pos = 0
        for x in q:
            if x.created > b.created or x is b:
                break
            pos += 1
        q.insert(pos, b)

    def _after_final_failure(self, b: ProducerBatch, err: str) -> None:
        """A batch failed for good: the transaction hears of it; a librdkafka idempotent
        producer whose sequenced messages timed out bumps its epoch once the partition has
        drained ("Message timeouts will lead to gaps in the message sequence",
        rd_kafka_broker_produce_toppar -> rd_kafka_idemp_drain_epoch_bump)."""
        if self.txn_id:
            self._on_txn_batch_failed(err)
        elif self.client == "librdkafka" and self.idempotent and err == "_MSG_TIMED_OUT" \
                and b.base_seq >= 0:
            self._bump_pending = True

    def _finish(self, b: ProducerBatch, err: KafkaError | None, base_offset: int, *,
                outcome: str = "ok", callback: bool = True, implicit: bool = False) -> None:
        topic, part = b.tp
        # the record's identity in the log (checker): producer id, epoch, sequence
        epoch = b.epoch if b.base_seq >= 0 else self.epoch
        now, process, add = self._now(), self.sim.process_name(self), self.sim.history.add
        result, error = ("ok", None) if err is None else (outcome, err.name())
        self.stats["acked" if err is None else "failed"] += len(b.msgs)
        base_seq, txn_id, pid = b.base_seq, self.txn_id, self.pid
        for i, m in enumerate(b.msgs):
            off = base_offset + i if base_offset >= 0 else -1
            value = {"topic": topic, "partition": part, "key": m.key, "value": m.value,
                     "offset": off if off >= 0 else None, "txn": txn_id,
                     "txn_seq": m.txn_seq, "error": error, "seq_no": m.seq_no, "pid": pid,
                     "epoch": epoch, "seq": (base_seq + i) % SEQ_SPACE if base_seq >= 0 else -1}
            if m.headers is not None:
                value["headers"] = m.headers
            if b.earlier:
                value["earlier"] = [[e, (s + i) % SEQ_SPACE] for e, s in b.earlier]
            if implicit:  # reported delivered without an answer of its own (checker: lost?)
                value["implicit_ack"] = True
            add(now, process, "send", result, value)
            if callback and m.cb is not None:
                self._callbacks.append((m.cb, err, Message(topic, part, off, m.key, m.value, err,
                                                           now)))
        self._unsettled -= len(b.msgs)
        b.msgs = []

    def _bump_epoch(self) -> None:
        """KIP-360: a new epoch for the same producer id; unacknowledged batches get fresh
        sequence numbers from 0 under it."""
        self._bump_pending = False
        self.epoch += 1
        self._next_seq.clear()
        self._last_acked_seq.clear()
        self._unresolved.clear()  # Java: bumpIdempotentProducerEpoch resolves them
        for q in self._queue.values():
            for b in q:
                if b.base_seq >= 0:
                    b.earlier.append((b.epoch, b.base_seq))
                b.base_seq = -1
        why, self._bump_reason = self._bump_reason, ""
        self.kernel.emit(self.lane, "fence", f"bumped own epoch to {self.epoch} (KIP-360); "
                         f"sequences restart at 0{why}")

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
                                  timeout=self._request_timeout(),
                                  on_timeout=self._request_pid, client_alive=self._alive,
                                  label="InitProducerId",
                                  to=None if self.txn_id else f"broker {broker}")
