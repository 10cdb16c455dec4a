"""The Java producer's delivery timeout for a batch in flight or in its retry backoff, and
the sequences an expired retry leaves unresolved (a mixin of :class:`~eoslib.sender.Sender`).

Sources (Kafka 4.1.1 kafka-clients, org.apache.kafka.clients.producer.internals):
``Sender.sendProducerData`` (``getExpiredInflightBatches``, ``accumulator.expiredBatches``,
then ``failBatch(..., false)`` and ``markSequenceUnresolved`` for a batch ``inRetry()``),
``Sender.runOnce`` (``maybeResolveSequences`` first), ``Sender.canRetry`` (a done batch is
never retried), ``TransactionManager.markSequenceUnresolved`` / ``maybeResolveSequences`` /
``canRetry``, ``RecordAccumulator.shouldStopDrainBatchesForPartition``. Checked on Kafka
4.1.1 (tests/test_rules_java_refused_first_batch_on_kafka.py) and against Kafka's own
``SenderTest`` cases (tests/test_rules_java_unresolved_sequences.py,
tests/test_rules_java_out_of_order_oracle.py). librdkafka has its own rules
(``sender_rdk_idempotence.py``); nothing here runs for it.
"""

from __future__ import annotations

from typing import Any

from eoslib.accumulator import ProducerBatch
from eoslib.errors import KafkaError
from eoslib.sender_rdk_idempotence import SEQ_SPACE


class JavaExpiry:
    """Mixin of :class:`~eoslib.sender.Sender` (the producer's state and its helpers
    ``_finish``, ``_expired``, ``_after_final_failure``, ``_bump_epoch``, ``_kick``,
    ``_set_abortable``...)."""

    _queue: Any
    _on_wire: Any
    _inflight_tp: Any
    _next_seq: Any
    _last_acked_seq: Any
    _unresolved: Any
    _expired_wire: Any
    _bump_reason: str

    def _expire_in_backoff(self, b: ProducerBatch) -> None:
        """A Java batch still waiting in its retry backoff reached delivery.timeout.ms."""
        q = self._queue.get(b.tp)
        if not b.msgs or q is None or b not in q or not self._alive():
            return
        q.remove(b)
        if b.base_seq >= 0:  # a retry (in backoff): Sender.sendProducerData marks it
            self._mark_unresolved(b)
        self._fail_expired(b)
        self._kick()

    def _expire_in_flight(self, b: ProducerBatch) -> None:
        """Java: a batch whose request is still unanswered reached delivery.timeout.ms
        (Sender.getExpiredInflightBatches; SenderTest.testInflightBatchesExpireOnDeliveryTimeout;
        real twin: tests/test_rules_java_refused_first_batch_on_kafka.py, Kafka 4.1.1 fails it
        at 3,013 ms with "Expiring 1 record(s) for T-0:3013 ms has passed since batch
        creation"). It fails at once and leaves the partition's in-flight count
        (TransactionManager.removeInFlightBatch); its request keeps the connection's slot
        until answered, and the answer is then ignored (``_late_answer``). A retry leaves its
        sequence unresolved (markSequenceUnresolved: ``expiredBatch.inRetry()``)."""
        if self._on_wire.get(id(b)) is not b or not self._alive():
            return
        del self._on_wire[id(b)]
        self._inflight_tp[b.tp] -= 1
        self._expired_wire[id(b)] = (b.base_seq + len(b.msgs) - 1) % SEQ_SPACE \
            if b.base_seq >= 0 else -1
        b.maybe_appended = True  # its request may still be appended
        self.kernel.emit(self.lane, "error", f"delivery.timeout.ms "
                         f"({self.config['delivery.timeout.ms']:g} ms) passed while in flight",
                         flag="error", ref=b.id)
        if b.attempts > 1 and b.base_seq >= 0:
            self._mark_unresolved(b)
        self._fail_expired(b)
        if self._unresolved:  # the sender's next loop (runOnce) resolves and bumps
            self._resolve_sequences()
            if self._bump_pending and not any(self._inflight_tp.values()):
                self._bump_epoch()
        self._kick()

    def _late_answer(self, b: ProducerBatch, resp: dict[str, Any]) -> None:
        """Java: the answer to a batch that expired in flight. The batch is done, so an
        error is not retried and changes nothing (Sender.canRetry: ``!batch.isDone()``;
        failBatch: completeExceptionally is false); a success still updates the last acked
        sequence (completeBatch -> TransactionManager.handleCompletedBatch) and is otherwise
        ignored (ProducerBatch.done: "ProduceResponse returned SUCCEEDED ... after batch ...
        had already been FAILED")."""
        last = self._expired_wire.pop(id(b), -1)
        if resp.get("error") is None and last >= 0 and \
                last > self._last_acked_seq.get(b.tp, -1):
            self._last_acked_seq[b.tp] = last
        self._kick()

    def _mark_unresolved(self, b: ProducerBatch) -> None:
        """Java, TransactionManager.markSequenceUnresolved: after an expired retry the
        partition's sequence is unknown; remember the sequence after it (its lastSequence
        + 1). Until it is resolved no new batch of the partition is drained."""
        nxt = (b.base_seq + len(b.msgs)) % SEQ_SPACE
        cur = self._unresolved.get(b.tp)
        self._unresolved[b.tp] = nxt if cur is None else max(cur, nxt)

    def _resolve_sequences(self) -> None:
        """Java, TransactionManager.maybeResolveSequences (run at the start of every sender
        loop): an unresolved partition with nothing in flight is resolved if its next
        sequence is lastAckedSequence + 1 ("This would happen when a batch was expired, but
        subsequent batches succeeded"); else the idempotent producer bumps its epoch and
        restarts the partition's sequences, and a transactional one gets an abortable error
        (transitionToAbortableErrorOrFatalError; the abort bumps the epoch from the client
        at transaction.version 1, needToTriggerEpochBumpFromClient; at 2 the coordinator
        bumps it at every EndTxn)."""
        for tp in list(self._unresolved):
            # in flight for TransactionManager.hasInflightBatches: sent and not yet done,
            # including retries waiting in their backoff (TxnPartitionEntry keeps them)
            if self._inflight_tp.get(tp) or any(x.base_seq >= 0
                                                for x in self._queue.get(tp, ())):
                continue
            del self._unresolved[tp]
            nxt, last = self._next_seq.get(tp, 0), self._last_acked_seq.get(tp, -1)
            if nxt - last == 1:
                continue
            if self.txn_id is None:
                # the bump's trace label quotes Java's log line
                self._bump_reason = (f": \"No inflight batches remaining for {tp[0]}-{tp[1]}, "
                                     f"last ack'd sequence for partition is {last}, next "
                                     f"sequence is {nxt}. Going to bump epoch and reset "
                                     "sequence numbers.\"")
                self._bump_pending = True
                continue
            e = KafkaError("UNKNOWN_SERVER_ERROR", "The client hasn't received acknowledgment "
                           "for some previously sent messages and can no longer retry them. "
                           "It is safe to abort the transaction and continue.",
                           txn_requires_abort=True)
            self._set_abortable(e, bump=self.transaction_version < 2)
            if self.txn_state == "ABORTABLE_ERROR":
                self.txn_error = e  # transitionTo(ABORTABLE_ERROR, e): the last error wins

    def _fail_expired(self, b: ProducerBatch) -> None:
        """Java: fail a batch whose delivery timeout passed (Sender.failBatch with
        adjustSequenceNumbers false)."""
        expired = self._expired(b)
        if self.txn_id is not None:  # TransactionManager: a TimeoutException is abortable
            expired = KafkaError(expired.name(), expired.str(), retriable=True,
                                 txn_requires_abort=True)
        self._finish(b, expired, -1, outcome="info" if b.maybe_appended else "fail")
        self._after_final_failure(b, expired.name())
