"""librdkafka's idempotent producer after a failed or acknowledged request: OUT_OF_ORDER_SEQUENCE_
NUMBER by position (fatal, or re-enqueued with an epoch bump), implicit acks, fatal errors.

Sources (confluentinc/librdkafka master): src/rdkafka_request.c
``rd_kafka_handle_idempotent_Produce_error`` and ``rd_kafka_handle_idempotent_Produce_success``,
src/rdkafka_idempotence.c (``rd_kafka_idemp_drain_epoch_bump``, ``rd_kafka_idemp_drain_done``),
src/rdkafka_broker.c (``rd_kafka_dr_implicit_ack``, ``rd_kafka_toppar_producer_serve``),
src/rdkafka.c (``rd_kafka_set_fatal_error0``). Rule tests:
tests/test_rules_librdkafka_out_of_order.py; 0105/0144 ports in
tests/test_kafka_oracle_librdkafka.py. A mixin of :class:`~eoslib.sender.Sender`.
"""

from __future__ import annotations

from typing import Any

from eoslib.accumulator import ProducerBatch
from eoslib.backoff import retry_backoff_ms
from eoslib.errors import KafkaError

SEQ_SPACE = 2147483648  # sequences wrap from Integer.MAX_VALUE to 0


class RdkIdempotence:
    """Mixin of :class:`~eoslib.sender.Sender` (the producer's state and its helpers
    ``_finish``, ``_requeue``, ``_after_final_failure``, ``_fail_queued``...)."""

    _queue: Any
    _last_acked_seq: Any
    _acked_msgid: Any

    def _rdk_out_of_order(self, b: ProducerBatch, err: str) -> None:
        """librdkafka's answer to OUT_OF_ORDER_SEQUENCE_NUMBER for an idempotent producer
        (``rd_kafka_handle_idempotent_Produce_error``, src/rdkafka_request.c). It compares
        the request's first sequence with the partition's next expected ack,
        ``r = batch->first_seq - next_ack_seq``:

        * a batch from an older producer id/epoch ("PID mismatch"): failed for good,
          possibly persisted;
        * ``r == 0``, the head-of-line request: "a state desynchronization between the
          producer and broker": a FATAL error (``rd_kafka_idemp_set_fatal_error``), the
          batch fails possibly persisted;
        * ``r > 0``, a later request failed because an earlier one did ("skipped sequence
          numbers"): re-enqueued without counting a retry, and the epoch is bumped once
          nothing is in flight (``rd_kafka_idemp_drain_epoch_bump``: the idempotent
          producer bumps its own epoch, ``rd_kafka_idemp_drain_done``; a transactional one
          gets an abortable error and the bump happens at the abort, whose purge reports
          the batch _PURGE_QUEUE, as seen on Kafka 4.1.1);
        * ``r < 0``, "rewound sequence number": FATAL, the batch fails possibly persisted.
        """
        tp = b.tp
        next_ack = (self._last_acked_seq.get(tp, -1) + 1) % SEQ_SPACE
        if b.epoch != self.epoch:
            self._finish(b, KafkaError(err), -1, outcome="info")
            self._after_final_failure(b, err)
            return
        r = b.base_seq - next_ack
        if r > SEQ_SPACE // 2:  # sequences wrap (rd_kafka_seq_wrap)
            r -= SEQ_SPACE
        elif r < -SEQ_SPACE // 2:
            r += SEQ_SPACE
        if r > 0:
            if self.txn_id:
                self._requeue(b)
                self._on_txn_batch_failed(err)
                return
            if self._now() - b.created >= self.config["delivery.timeout.ms"]:
                self._finish(b, KafkaError("_MSG_TIMED_OUT"), -1,
                             outcome="info" if b.maybe_appended else "fail")
                self._after_final_failure(b, "_MSG_TIMED_OUT")
                return
            # incr_retry = 0: the backoff is the one of the retries counted so far
            backoff = retry_backoff_ms(self.config, b.attempts - 1, self.sim.client_rng)
            b.ready_at = self._now() + backoff
            self._requeue(b)
            self._bump_pending = True  # after the drain: rd_kafka_idemp_drain_epoch_bump
            self.kernel.schedule(backoff, self._kick)
            return
        why = ("sequence desynchronization with the broker (head-of-line request)" if r == 0
               else f"rewound sequence number (base seq {b.base_seq} < next seq {next_ack})")
        e = KafkaError(err, f"ProduceRequest for {tp[0]} [{tp[1]}] with {len(b.msgs)} "
                       f"message(s) failed due to {why}", fatal=True)
        self._finish(b, KafkaError(err, e.str()), -1, outcome="info")
        self._idemp_fatal(e)

    def _idemp_fatal(self, e: KafkaError) -> None:
        """``rd_kafka_idemp_set_fatal_error``: a transactional producer's transaction
        manager goes fatal; an idempotent one raises a fatal error (``rd_kafka_set_fatal_
        error0``): queued messages are purged (_PURGE_QUEUE; requests in flight keep their
        answers) and every later ``produce()`` fails with _FATAL
        (``rd_kafka_check_produce``)."""
        if self.txn_state == "FATAL_ERROR":
            return  # "Suppressing subsequent fatal error"
        self.kernel.emit(self.lane, "error", f"fatal: {e.name()}: {e.str()}", flag="error")
        if self.txn_id:
            self.txn_state = "FATAL_ERROR"
            self.txn_error = e
            self._fail_queued(e)
            return
        self.txn_state = "FATAL_ERROR"
        self.txn_error = e
        self._fail_queued(KafkaError("_PURGE_QUEUE", "Local: Purged in queue: fatal error"))

    def _hold_after_fatal(self, now: float) -> None:
        """After an idempotent producer's fatal error nothing is sent ("Fatal error has
        been raised, don't produce", ``rd_kafka_toppar_producer_serve``, src/
        rdkafka_broker.c); messages re-enqueued after the purge wait there until
        message.timeout.ms fails them."""
        timeout = self.config["delivery.timeout.ms"]
        for q in self._queue.values():
            while q and now - q[0].created > timeout:
                b = q.popleft()
                self._finish(b, KafkaError("_MSG_TIMED_OUT"), -1,
                             outcome="info" if b.maybe_appended else "fail")
            if q:
                self.kernel.schedule(q[0].created + timeout - now + 1, self._kick)

    def _implicit_acks(self, b: ProducerBatch) -> None:
        """librdkafka, an acknowledged request whose first message comes after the last
        acknowledged one (``rd_kafka_handle_idempotent_Produce_success``: "a previous
        series of R1,R2 ProduceRequests had R1 fail with uncertain persistence status
        ... but R2 succeeded, which means the messages in R1 were in fact persisted"):
        every earlier message still queued on the partition is reported delivered
        (``rd_kafka_dr_implicit_ack``, src/rdkafka_broker.c), with no offset. It does
        not check why R1 failed: a refused first request of a producer the partition
        has no state for (the broker takes any first sequence then,
        ``ProducerAppendInfo.checkSequence``) is reported delivered, yet is in no log."""
        tp = b.tp
        first = b.msgs[0].seq_no
        if self._acked_msgid.get(tp, 0) < first - 1:
            q = self._queue.get(tp)
            last_msgid = b.msgs[-1].seq_no  # rd_kafka_msgq_move_acked: msgid <= last
            while q and q[0].msgs and q[0].msgs[-1].seq_no <= last_msgid:
                x = q.popleft()
                if self._open.get(tp) is x:
                    del self._open[tp]
                self.kernel.emit(self.lane, "ack", f"implicitly acked by a later batch: "
                                 f"{','.join(str(m.value) for m in x.msgs[:3])}"
                                 + ("..." if len(x.msgs) > 3 else ""), ref=x.id)
                self._finish(x, None, -1, implicit=True)
        last = b.msgs[-1].seq_no
        if last > self._acked_msgid.get(tp, 0):
            self._acked_msgid[tp] = last
