"""The transactional producer's client-side state: its states, errors and retried requests.

What ``txn_manager.py``'s API calls share: the state names each client reports
(librdkafka ``rd_kafka_txn_state2str``; Java ``TransactionManager.State``), the errors for
calling an API in the wrong state or while another call's request is pending, the API
timeouts, and the coordinator requests the client keeps retrying in the background
(classified by ``txn_errors.py``) until they get a final answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib.backoff import retry_backoff_ms
from eoslib.errors import KafkaError, KafkaException, timed_out_name
from eoslib.txn_errors import classify, fenced_name, wire_error

BLOCK_FOREVER_MS = 300_000.0  # librdkafka's infinite API timeout, as the simulation cuts it

#: librdkafka's names for the states (rd_kafka_txn_state2str in rdkafka_int.h)
RDK_STATES = {"UNINITIALIZED": "Init", "INITIALIZING": "WaitPID", "READY": "Ready",
              "IN_TRANSACTION": "InTransaction", "COMMITTING": "CommittingTransaction",
              "ABORTING": "AbortingTransaction", "ABORTABLE_ERROR": "AbortableError",
              "FATAL_ERROR": "FatalError"}
#: Java's (TransactionManager.State)
JAVA_STATES = {"UNINITIALIZED": "UNINITIALIZED", "INITIALIZING": "INITIALIZING",
               "READY": "READY", "IN_TRANSACTION": "IN_TRANSACTION",
               "COMMITTING": "COMMITTING_TRANSACTION", "ABORTING": "ABORTING_TRANSACTION",
               "ABORTABLE_ERROR": "ABORTABLE_ERROR", "FATAL_ERROR": "FATAL_ERROR"}
JAVA_API = {"init_transactions": "initTransactions", "begin_transaction": "beginTransaction",
            "send_offsets_to_transaction": "sendOffsetsToTransaction",
            "commit_transaction": "commitTransaction", "abort_transaction": "abortTransaction",
            "produce": "send"}


class TxnOp:
    """One coordinator request the client keeps retrying in the background until it gets a
    final answer (librdkafka: the op behind ``txn_curr_api``; Java: a
    ``TransactionalRequestResult``)."""

    __slots__ = ("api", "resp")

    def __init__(self, api: str) -> None:
        self.api = api
        self.resp: dict[str, Any] | None = None


class TxnState:
    """Mixin of :class:`~eoslib.producer.Producer` (whose state it uses): the transactional
    state machine's helpers."""

    # ------------------------------------------------------------------ states
    def _txn_state_name(self) -> str:
        if self.client == "java":
            return JAVA_STATES[self.txn_state]
        if self.txn_state == "COMMITTING" and not self._end_sent:
            return "BeginCommit"
        if self.txn_state == "ABORTING" and not self._end_sent:
            return "BeginAbort"
        return RDK_STATES[self.txn_state]

    def _state_error(self, api: str, target: str | None = None) -> KafkaException:
        """The error for calling ``api`` in the wrong state (librdkafka
        ``rd_kafka_txn_require_states0``; Java ``TransactionManager.transitionTo``)."""
        if self.client == "java":
            tid = f"TransactionalId {self.txn_id}: "
            msg = (f"{tid}Invalid transition attempted from state "
                   f"{JAVA_STATES[self.txn_state]} to state {target}" if target else
                   f"{tid}{JAVA_API.get(api, api)} is not valid in state "
                   f"{JAVA_STATES[self.txn_state]}")
            return KafkaException(KafkaError("_STATE", msg))
        return KafkaException(KafkaError(
            "_STATE", f"Operation not valid in state {self._txn_state_name()}"))

    def _require_states(self, api: str, *states: str, target: str | None = None) -> None:
        """Raise unless the state is one of ``states``: the stored error in the error
        states (fatal, or abortable with ``txn_requires_abort``), else a state error."""
        if self.txn_state in states:
            return
        if self.txn_state in ("FATAL_ERROR", "ABORTABLE_ERROR"):
            assert self.txn_error is not None
            raise KafkaException(self.txn_error)
        raise self._state_error(api, target)

    def _require_txn(self, api: str) -> None:
        if self.closed:
            raise KafkaException(KafkaError("_DESTROY", "Producer is closed"))
        if not self.txn_id:
            # librdkafka rd_kafka_ensure_transactional; Java
            # TransactionManager.ensureTransactional (IllegalStateException)
            if self.client == "librdkafka":
                raise KafkaException(KafkaError(
                    "_NOT_CONFIGURED", "The Transactional API requires transactional.id to "
                    "be configured"))
            raise KafkaException(KafkaError(
                "_STATE", f"{JAVA_API.get(api, api)}: Transactional method invoked on a "
                "non-transactional producer (transactional.id is not set)"))

    def _api_begin(self, api: str) -> None:
        """Refuse ``api`` while another call's request is still pending after a timeout."""
        pending = self._pending_api
        if pending is None or pending == api:
            return
        if self.client == "librdkafka":
            raise KafkaException(KafkaError(
                "_CONFLICT", f"Conflicting {pending} API call is already in progress",
                retriable=True))
        raise KafkaException(KafkaError(
            "_STATE", f"Cannot attempt operation `{JAVA_API.get(api, api)}` because the "
            f"previous call to `{JAVA_API[pending]}` timed out and must be retried"))

    def _api_timeout(self, api: str, timeout_s: float | None) -> float:
        """How long (ms) ``api`` blocks when called with ``timeout_s`` seconds."""
        if timeout_s is not None and timeout_s >= 0:
            ms = timeout_s * 1000
            if self.client == "librdkafka" and api == "send_offsets_to_transaction":
                ms = min(ms, self.config["transaction.timeout.ms"])
            return ms
        if self.client == "java":
            return float(self.config["max.block.ms"])
        if api == "init_transactions":
            return 2.0 * self.config["transaction.timeout.ms"]
        if api == "send_offsets_to_transaction":
            return float(self.config["transaction.timeout.ms"])
        return BLOCK_FOREVER_MS

    def _timed_out(self, api: str, what: str, init_err: str | None = None) -> KafkaException:
        """The retriable error of a call whose request is still running: calling the same
        API again resumes it (Java: a TimeoutException, REQUEST_TIMED_OUT:
        ``errors.timed_out_name``)."""
        self._pending_api = api
        if self.client == "librdkafka" and init_err:
            return KafkaException(KafkaError(
                init_err, f"Failed to initialize Producer ID: {init_err}", retriable=True))
        msg = ("Timed out waiting for operation to finish, retry call to resume"
               if self.client == "librdkafka" else f"Timeout expired while awaiting {what}")
        return KafkaException(KafkaError(timed_out_name(self.client), msg, retriable=True))

    # --------------------------------------------------------------- requests
    def _retry_backoff(self, request: str, err: str | None, retry: int = 1) -> float:
        """The wait before a transactional request is sent again (its ``retry``-th time).
        librdkafka: AddPartitionsToTxn 500 ms (20 ms after CONCURRENT_TRANSACTIONS,
        ``rd_kafka_txn_handle_AddPartitionsToTxn``), TxnOffsetCommit 500 ms, InitProducerId
        the PID timer's 500 ms (``rd_kafka_idemp_pid_timer_restart``), EndTxn and
        AddOffsetsToTxn ``rd_kafka_buf_retry``'s exponential backoff; Java: a constant
        ``retry.backoff.ms`` (``TxnRequestHandler.retryBackoffMs``)."""
        if self.client == "librdkafka":
            if request == "AddPartitionsToTxn":
                return 20.0 if err == "CONCURRENT_TRANSACTIONS" else 500.0
            if request in ("TxnOffsetCommit", "InitProducerId"):
                return 500.0
            return retry_backoff_ms(self.config, retry, self.sim.client_rng)
        return float(self.config["retry.backoff.ms"])

    def _start(self, api: str, request: str, call_api: str, handler: Callable[..., None],
               label: str) -> TxnOp:
        """Send ``request`` and keep retrying it while the client classifies its error as
        retriable or its answer is lost; the final answer lands in the op."""
        op = TxnOp(api)
        self._ops[api] = op
        retries = [0]

        def attempt() -> None:
            if not self._alive() or self._ops.get(api) is not op:
                return

            def on_resp(resp: dict[str, Any]) -> None:
                err = resp.get("error")
                if err and classify(self.client, request, err) == "retry":
                    self._last_retriable = err
                    retries[0] += 1
                    self.kernel.schedule(self._retry_backoff(request, err, retries[0]),
                                         attempt)
                    return
                op.resp = resp

            def on_timeout() -> None:
                self._last_retriable = "REQUEST_TIMED_OUT"
                retries[0] += 1
                self.kernel.schedule(self._retry_backoff(request, None, retries[0]), attempt)

            self.cluster.network.call(self.lane, call_api, 0, self._as_sent(request, handler),
                                      on_resp,
                                      timeout=self._request_timeout(),
                                      on_timeout=on_timeout, client_alive=self._alive,
                                      label=label)

        attempt()
        return op

    def _wait(self, op: TxnOp, deadline: float) -> bool:
        """Run the simulation until ``op`` has its answer or ``deadline``; True if answered."""
        # checked after every event: ``_alive()`` inline
        self.kernel.run_until(lambda: op.resp is not None or not self.alive or self.closed,
                              max(0.0, deadline - self.kernel.now))
        if not self._alive():
            raise KafkaException(KafkaError("_DESTROY", "producer crashed"))
        return op.resp is not None

    def _finish_op(self, api: str) -> None:
        self._ops.pop(api, None)
        if self._pending_api == api:
            self._pending_api = None

    def _as_sent(self, request: str, handler: Callable[..., None]) -> Callable[..., None]:
        """The broker answers in the request version this client sends: librdkafka's
        AddPartitionsToTxn/AddOffsetsToTxn v0 and EndTxn v1 get INVALID_PRODUCER_EPOCH where
        a newer request gets PRODUCER_FENCED (``wire_error``; KafkaApis), so the trace shows
        the answer that went over the wire."""
        if self.client != "librdkafka":
            return handler

        def versioned(respond: Callable[[dict[str, Any]], None]) -> None:
            def answer(resp: dict[str, Any]) -> None:
                err = wire_error(self.client, request, resp.get("error"))
                respond(resp if err == resp.get("error") else {**resp, "error": err})
            handler(answer)
        return versioned

    def _error(self, request: str, err: str, what: str,
               may_bump: bool = True) -> KafkaException:
        """Apply the client's classification of a final ``err`` to ``request``
        (``may_bump=False``: an abortable error asks for no epoch bump)."""
        action = classify(self.client, request, err)
        if action in ("fenced", "fatal"):
            return self._fatal(err, action == "fenced", what, request)
        bump = may_bump and action == "abortable_bump"
        name = fenced_name(self.client) if (self.client == "librdkafka" and err in (
            "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")) else err
        e = KafkaError(name, f"{what}: {err}", txn_requires_abort=True)
        self._set_abortable(e, bump)
        return KafkaException(e)

    def _fatal(self, err: str, fenced: bool, what: str, request: str) -> KafkaException:
        if fenced:
            return self._fenced(err, request)
        e = KafkaError(err, f"{what}: {err}", fatal=True)
        self.txn_state = "FATAL_ERROR"
        self.txn_error = e
        self._fail_queued(e)
        return KafkaException(e)

    def _fenced(self, err: str, request: str) -> KafkaException:
        """Fenced: a fatal error under the client's fencing name (librdkafka ``_FENCED``,
        ``rd_kafka_txn_normalize_err``; Java ``ProducerFencedException``, which its
        handlers also throw for INVALID_PRODUCER_EPOCH). The trace says which request got
        which broker answer."""
        name = fenced_name(self.client)
        e = KafkaError(name,
                       f"{err}: producer {self.name} (transactional.id={self.txn_id}) was "
                       "fenced by a newer instance with the same transactional.id or by a "
                       "transaction timeout; close it", fatal=True)
        self.txn_state = "FATAL_ERROR"
        self.txn_error = e
        self._record("fenced", "ok", txn=self.txn_id, error=name, request=request, reply=err)
        how = "fatal" if self.client == "librdkafka" else "ProducerFencedException"
        self.kernel.emit(self.lane, "fence", f"fenced: {name} ({how}): {request} answered {err}",
                         flag="fenced")
        self._fail_queued(e)
        return KafkaException(e)

    def _set_abortable(self, err: KafkaError, bump: bool = False) -> None:
        """The transaction failed: the application must abort it. Queued records are
        purged (librdkafka ``rd_kafka_txn_set_abortable_error0``; Java's sender aborts
        undrained batches, ``Sender.maybeAbortBatches``)."""
        if bump:
            self._bump_on_abort = True
        if self.txn_state in ("IN_TRANSACTION", "COMMITTING"):
            self.txn_state = "ABORTABLE_ERROR"
            self.txn_error = err
            # librdkafka reports the purged messages _PURGE_QUEUE (rd_kafka_purge in
            # rd_kafka_txn_set_abortable_error0); Java fails them with the error
            self._fail_queued(err if self.client == "java" else KafkaError(
                "_PURGE_QUEUE", "Local: Purged in queue: the transaction failed: "
                f"{err.name()}"), purge=True)

    def _on_txn_batch_failed(self, err: str) -> None:
        """A batch of this transaction failed for good (called by the sender)."""
        if self.client == "librdkafka":
            self._dr_fails += 1  # rd_kafka_dr_msgq0 counts failed deliveries
        if err in ("_PURGE_QUEUE", "_DESTROY"):
            return
        if self.txn_state not in ("IN_TRANSACTION", "COMMITTING"):
            # librdkafka still asks for the epoch bump while aborting (the flag is set
            # before the state change is ignored, rd_kafka_txn_set_abortable_error0); Java
            # does not while completing (maybeTransitionToErrorState: !isCompleting())
            if self.client == "librdkafka" and self.txn_state in ("ABORTING",
                                                                   "ABORTABLE_ERROR") \
                    and classify(self.client, "Produce", err) == "abortable_bump":
                self._bump_on_abort = True
            return
        if self.client == "librdkafka" and err == "_MSG_TIMED_OUT":
            # the queue scan that times the message out asks for the drain and epoch bump
            # with _TIMED_OUT, not the delivery report's _MSG_TIMED_OUT
            # (rd_kafka_broker_produce_toppar -> rd_kafka_idemp_drain_epoch_bump(rk,
            # RD_KAFKA_RESP_ERR__TIMED_OUT, "%d message(s) timed out on %s [%d]"),
            # src/rdkafka_broker.c; checked on Kafka 4.1.1: tests/test_lessons_timed_out_retry.py)
            self._set_abortable(KafkaError(
                "_TIMED_OUT", "message(s) timed out: requires epoch bump",
                txn_requires_abort=True), bump=True)
            return
        # Java asks for no client-side epoch bump while completing (Kafka 4.1.1
        # TransactionManager.maybeTransitionToErrorState: `needToTriggerEpochBumpFromClient()
        # && !isCompleting()`); checked on Kafka 4.1.1: the record after the abort goes out at
        # the same epoch (tests/test_rules_java_refused_first_batch_on_kafka.py)
        self._error("Produce", err, "ProduceRequest failed",
                    may_bump=not (self.client == "java" and self.txn_state == "COMMITTING"))

    def _fail_queued(self, err: KafkaError, purge: bool = False) -> None:
        for q in self._queue.values():
            while q:
                b = q.popleft()
                if purge and self.client == "java" and b.base_seq >= 0 and \
                        self.transaction_version < 2:
                    # a failed batch with a sequence: Java's abort bumps the epoch
                    # (maybeTransitionToErrorState -> epochBumpRequired)
                    self._bump_on_abort = True
                if purge and self.client == "librdkafka" and b.base_seq >= 0 and \
                        not self._inflight_tp.get(b.tp):
                    # purged messages will not be retried: librdkafka advances its epoch
                    # base msgid past them (rd_kafka_toppar_purge_queues, "ADVBASE"), so the
                    # next message takes the first purged one's sequence, under the same
                    # epoch. Even when the purged one was a retry whose first attempt had
                    # been appended: the broker then takes the next record for a duplicate
                    # and acknowledges it at the aborted offset (checked on Kafka 4.1.1
                    # with librdkafka 2.16: tests/test_deviations.py).
                    self._next_seq[b.tp] = min(self._next_seq.get(b.tp, b.base_seq),
                                               b.base_seq)
                self._finish(b, err, -1, outcome="info" if b.maybe_appended else "fail")
        self._open.clear()
