"""The producer's transaction manager: the transactional API and its coordinator requests.

librdkafka: src/rdkafka_txnmgr.c; Java: ``TransactionManager``. ``init_transactions``,
``begin_transaction``, ``send_offsets_to_transaction``, ``commit_transaction`` and
``abort_transaction`` drive the client's state machine and send InitProducerId,
AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn to the coordinators. How each
error of each request is classified (retry, abortable, fatal) is in ``txn_errors.py``.

Where the clients differ, each follows its source:

* A call that times out leaves its request running; calling the same API again resumes it.
  Calling another API meanwhile is refused: librdkafka answers ``_CONFLICT`` (retriable,
  "Conflicting commit_transaction API call is already in progress",
  ``rd_kafka_txn_curr_api_begin``); Java throws IllegalStateException ("Cannot attempt
  operation `abortTransaction` because the previous call to `commitTransaction` timed out
  and must be retried", ``TransactionManager.handleCachedTransactionRequestResult``).
* Fencing is fatal: librdkafka reports it as ``_FENCED`` (``rd_kafka_txn_normalize_err``),
  Java as PRODUCER_FENCED (``ProducerFencedException``).
* After an abortable error, Java's abort bumps the epoch with InitProducerId whenever a batch
  failed (``maybeTransitionToErrorState``: ``epochBumpRequired``); librdkafka only for the
  errors that require it (UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_ID_MAPPING, sequence gaps:
  ``rd_kafka_txn_set_abortable_error_with_bump``). librdkafka purges unsent messages on
  abort and advances its sequence base past them instead
  (``rd_kafka_toppar_purge_queues``).
* librdkafka fails a commit whose messages failed delivery with ``_INCONSISTENT``
  (abortable, ``rd_kafka_txn_op_commit_transaction``), and skips
  ``send_offsets_to_transaction`` with no valid offset (``rd_kafka_send_offsets_to_transaction``).
* API timeouts: librdkafka ``init_transactions()`` without a timeout waits
  2 x ``transaction.timeout.ms`` (``rd_kafka_init_transactions``),
  ``send_offsets_to_transaction`` at most ``transaction.timeout.ms``
  (``rd_kafka_txn_curr_api_begin`` with ``cap_timeout``); commit and abort block (cut at
  300 s of virtual time here); Java waits ``max.block.ms``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib.accumulator import TP
from eoslib.errors import KafkaError, KafkaException, timed_out_name
from eoslib.messages import TopicPartition
from eoslib.txn_errors import classify
from eoslib.txn_state import BLOCK_FOREVER_MS, JAVA_STATES, TxnOp, TxnState


class TransactionManager(TxnState):
    """Mixin of :class:`~eoslib.producer.Producer` (whose state it uses): the
    transactional API."""

    @property
    def transaction_version(self) -> int:
        """The transaction version this producer's transactions use: the cluster's finalized
        ``transaction.version`` feature, capped by what the client speaks (librdkafka: 1, it
        sends EndTxn v0-1 only, ``rd_kafka_EndTxnRequest``; Java 4.x: 2)."""
        return min(int(self.config["transaction.version"]),
                   int(self.cluster.config["transaction.version"]))

    # --------------------------------------------------------------------- API
    def init_transactions(self, timeout: float | None = None) -> None:
        """Get the producer id and a new epoch for ``transactional.id``, fencing any
        older instance and aborting its open transaction."""
        api = "init_transactions"
        self._require_txn(api)
        self._check_usable()
        self._api_begin(api)
        self._require_states(api, "UNINITIALIZED", "INITIALIZING", target="INITIALIZING")
        deadline = self._now() + self._api_timeout(api, timeout)
        op = self._ops.get(api)
        if op is None:
            self.txn_state = "INITIALIZING"
            self._last_retriable = None

            def handler(respond: Callable[[dict[str, Any]], None]) -> None:
                self.cluster.txn_coordinator.handle_init_producer_id(
                    self.txn_id, self.config["transaction.timeout.ms"], respond,
                    self.transaction_version)

            op = self._start(api, "InitProducerId", "init_pid", handler, "InitProducerId")
        if not self._wait(op, deadline):
            init_err = self._last_retriable if self._last_retriable != "REQUEST_TIMED_OUT" \
                else None
            raise self._timed_out(api, "InitProducerId", init_err)
        self._finish_op(api)
        assert op.resp is not None
        if op.resp["error"]:
            raise self._error("InitProducerId", op.resp["error"], "InitProducerId failed")
        self.pid, self.epoch = op.resp["pid"], op.resp["epoch"]
        self._next_seq.clear()
        self.txn_state = "READY"
        self.kernel.emit(self.lane, "ack", f"init_transactions: pid={self.pid} epoch={self.epoch}",
                         data={"pid": self.pid, "epoch": self.epoch, "txn_id": self.txn_id})

    def begin_transaction(self) -> None:
        """Start a transaction (client-local; the coordinator hears of it at the first
        write or offset commit)."""
        api = "begin_transaction"
        self._require_txn(api)
        self._api_begin(api)
        self._require_states(api, "READY", target="IN_TRANSACTION")
        self.txn_state = "IN_TRANSACTION"
        self.txn_seq += 1
        self.txn_partitions = set()
        self._adding = set()
        self.txn_offsets_added = False
        self.txn_error = None
        self._dr_fails = 0
        self._end_sent = False

    def _check_produce(self) -> None:
        """May the application produce now? (librdkafka ``rd_kafka_check_produce``: a fatal
        error gives ``_FATAL``, any state but InTransaction ``_STATE``; Java
        ``TransactionManager.maybeAddPartition``)."""
        if self.txn_state == "FATAL_ERROR":
            assert self.txn_error is not None
            if self.client == "librdkafka":
                raise KafkaException(KafkaError(
                    "_FATAL", "Producing not allowed since a previous fatal error was raised: "
                    f"{self.txn_error.str()}", fatal=True))
            raise KafkaException(self.txn_error)
        if self.txn_state == "IN_TRANSACTION":
            if self.client == "java":
                self._api_begin("produce")
            return
        if self.client == "librdkafka":
            raise KafkaException(KafkaError(
                "_STATE", f"Producing not allowed in transactional state "
                f"{self._txn_state_name()}"))
        if self.txn_state == "ABORTABLE_ERROR":
            assert self.txn_error is not None
            raise KafkaException(self.txn_error)
        self._api_begin("produce")
        raise KafkaException(KafkaError(
            "_STATE", f"Cannot add partition to transaction while in state "
            f"{JAVA_STATES[self.txn_state]}"))

    def _add_partition(self, tp: TP) -> None:
        self._adding.add(tp)
        txn_seq = self.txn_seq
        request = "AddPartitionsToTxn"

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            self.cluster.txn_coordinator.handle_add_partitions(
                self.txn_id, self.pid, self.epoch, [tp], respond)

        def on_resp(resp: dict[str, Any]) -> None:
            self._adding.discard(tp)
            if txn_seq != self.txn_seq:
                return
            err = resp["error"]
            if self.txn_state not in ("IN_TRANSACTION", "COMMITTING"):
                if self.client == "librdkafka" or err:
                    return  # librdkafka: "Ignoring outdated AddPartitionsToTxn response"
                self.txn_partitions.add(tp)  # Java registers it while aborting too
                return
            if err and classify(self.client, request, err) == "retry":
                self._adding.add(tp)
                self.kernel.schedule(self._retry_backoff(request, err), retry)
                return
            if err:
                self._error(request, err, f"Failed to add partition {tp[0]}-{tp[1]} to "
                            "transaction")
                return
            self.txn_partitions.add(tp)
            self._kick()

        def retry() -> None:
            self._adding.discard(tp)
            if txn_seq == self.txn_seq and self.txn_state in ("IN_TRANSACTION", "COMMITTING"):
                self._add_partition(tp)

        def on_timeout() -> None:
            # the request may have been received: count it as sent, so an abort sends EndTxn
            # (rd_kafka_txn_handle_AddPartitionsToTxn, "increase the txn_req_cnt back up")
            self._maybe_registered.add(tp)
            self._adding.discard(tp)
            if txn_seq == self.txn_seq and self.txn_state in ("IN_TRANSACTION", "COMMITTING"):
                self._adding.add(tp)
                self.kernel.schedule(self._retry_backoff(request, None), retry)

        self.cluster.network.call(self.lane, "add_partitions", 0,
                                  self._as_sent(request, handler), on_resp,
                                  timeout=self._request_timeout(),
                                  on_timeout=on_timeout, client_alive=self._alive,
                                  label=f"AddPartitionsToTxn {tp[0]}-{tp[1]}")

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], group_metadata: Any,
                                    timeout: float | None = None) -> None:
        """Add the consumer's positions (the NEXT offsets to read) to the transaction:
        they commit with it, or vanish if it aborts."""
        api = "send_offsets_to_transaction"
        if group_metadata is None or not hasattr(group_metadata, "group_id") or \
                offsets is None:
            raise KafkaException(KafkaError("_INVALID_ARG", "cgmetadata and offsets are "
                                            "required parameters: group_metadata must come "
                                            "from consumer.consumer_group_metadata()"))
        self._require_txn(api)
        self._api_begin(api)
        offs = {(tp.topic, tp.partition): tp.offset for tp in offsets if tp.offset >= 0}
        if not offs and self.client == "librdkafka":
            return  # "No valid offsets, e.g., nothing was consumed, this is not an error"
        self._require_states(api, "IN_TRANSACTION")
        gm = group_metadata
        deadline = self._now() + self._api_timeout(api, timeout)
        self._last_retriable = None
        op = self._start(api, "AddOffsetsToTxn", "add_offsets",
                         lambda respond: self.cluster.txn_coordinator.handle_add_offsets(
                             self.txn_id, self.pid, self.epoch, gm.group_id, respond),
                         f"AddOffsetsToTxn {gm.group_id}")
        # an AddOffsetsToTxn that may have arrived needs an EndTxn on abort
        self.txn_offsets_added = True
        if not self._wait(op, deadline):
            self._ops.pop(api, None)  # librdkafka gives up (rd_kafka_buf_retry is refused)
            err = self._last_retriable or "_TIMED_OUT"
            if self.client == "java":  # TransactionalRequestResult.await: TimeoutException
                raise KafkaException(KafkaError(
                    timed_out_name(self.client), "Timeout expired while awaiting "
                    "AddOffsetsToTxn", retriable=True))
            raise KafkaException(KafkaError(
                "_TIMED_OUT" if err == "REQUEST_TIMED_OUT" else err,
                f"Failed to add offsets to transaction: {err}", retriable=True))
        self._ops.pop(api, None)
        assert op.resp is not None
        if op.resp["error"]:
            raise self._error("AddOffsetsToTxn", op.resp["error"],
                              "Failed to add offsets to transaction")
        self._txn_offset_commit(gm, offs, deadline)

    def _txn_offset_commit(self, gm: Any, offs: dict[TP, int], deadline: float) -> None:
        """TxnOffsetCommit to the group coordinator: retried until the API's deadline, then
        librdkafka makes the transaction abortable (``rd_kafka_txn_handle_TxnOffsetCommit``:
        a retriable error past the timeout becomes permanent)."""
        api = "txn_offset_commit"
        request = "TxnOffsetCommit"

        def handler(respond: Callable[[dict[str, Any]], None]) -> None:
            respond({"error": self.cluster.group_coordinator.txn_commit(
                gm.group_id, self.pid, self.epoch, gm.generation_id, gm.member_id, offs)})

        if self.client == "java":
            deadline = max(deadline, self._now() + self.config["max.block.ms"])
        self._last_retriable = None
        op = self._start(api, request, "txn_offset_commit", handler, "TxnOffsetCommit")
        answered = self._wait(op, deadline)
        self._ops.pop(api, None)
        err = op.resp["error"] if answered and op.resp else (
            self._last_retriable if self._last_retriable != "REQUEST_TIMED_OUT"
            else "_TIMED_OUT") or "_TIMED_OUT"
        self._record("commit", "ok" if err is None else "fail", group=gm.group_id,
                     offsets=[[t, p, o] for (t, p), o in offs.items()],
                     txn=self.txn_id, txn_seq=self.txn_seq)
        if err is None:
            return
        if not answered and self.client == "java":
            raise self._timed_out("send_offsets_to_transaction", "TxnOffsetCommit")
        if err in ("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"):
            what = "the consumer group moved on (rebalance); this transaction must be aborted"
        else:
            what = "Failed to commit offsets to transaction"
        action = classify(self.client, request, err) if answered else "abortable"
        if action == "retry":
            action = "abortable"
        if action in ("fenced", "fatal"):
            raise self._fatal(err, action == "fenced", what, request)
        e = KafkaError(err, f"{err}: {what}", txn_requires_abort=True)
        self._set_abortable(e)
        raise KafkaException(e)

    def commit_transaction(self, timeout: float | None = None) -> None:
        """Flush, then ask the coordinator to commit. Raises the abortable error of any
        failed send (call ``abort_transaction`` then), a fatal error when fenced, or a
        retriable timeout (call ``commit_transaction`` again: it resumes)."""
        self._end_txn(True, timeout)

    def abort_transaction(self, timeout: float | None = None) -> None:
        """Drop unsent records and ask the coordinator to abort the transaction."""
        self._end_txn(False, timeout)

    def _end_txn(self, commit: bool, timeout: float | None) -> None:
        api = "commit_transaction" if commit else "abort_transaction"
        result = "commit" if commit else "abort"
        self._require_txn(api)
        self._api_begin(api)
        if commit:
            self._require_states(api, "IN_TRANSACTION", "COMMITTING",
                                 target="COMMITTING_TRANSACTION")
        elif self.txn_state == "FATAL_ERROR":
            self._require_states(api)
        else:
            self._require_states(api, "IN_TRANSACTION", "ABORTABLE_ERROR", "ABORTING",
                                 target="ABORTING_TRANSACTION")
        deadline = self._now() + self._api_timeout(api, timeout)
        op = self._ops.get(api)
        if op is None:
            op = self._prepare_end(commit, api, deadline)
            if op is None:
                return  # completed locally
        if not self._wait(op, deadline):
            if self._alive():
                self._record("txn_end", "info", txn=self.txn_id, txn_seq=self.txn_seq,
                             result=result)
            raise self._timed_out(api, f"EndTxn({result})")
        self._finish_op(api)
        assert op.resp is not None
        self._after_end(commit, op.resp)

    def _prepare_end(self, commit: bool, api: str, deadline: float) -> TxnOp | None:
        """Flush (commit) or purge (abort), then send EndTxn; None when the transaction
        completed locally (nothing reached the coordinator)."""
        result = "commit" if commit else "abort"
        if self.txn_state in ("IN_TRANSACTION", "ABORTABLE_ERROR", "COMMITTING", "ABORTING"):
            if commit:
                self.txn_state = "COMMITTING"
                self._flushing = True
                self._open.clear()
                self._kick()
                done = self.kernel.run_until(lambda: self._unsettled == 0 or not self.alive
                                             or self.closed or self.txn_state != "COMMITTING",
                                             max(0.0, deadline - self._now()))
                self._flushing = False
                self._serve_callbacks()
                if not self._alive():
                    raise KafkaException(KafkaError("_DESTROY", "producer crashed"))
                if self.txn_state in ("ABORTABLE_ERROR", "FATAL_ERROR"):
                    assert self.txn_error is not None
                    raise KafkaException(self.txn_error)
                if not done:
                    raise self._timed_out(api, "the flush before EndTxn")
                if self.client == "librdkafka" and self._dr_fails:
                    e = KafkaError("_INCONSISTENT", f"{self._dr_fails} message(s) failed "
                                   "delivery (see individual delivery reports)",
                                   txn_requires_abort=True)
                    self._set_abortable(e)
                    raise KafkaException(e)
            else:
                purged_sequenced = any(b.base_seq >= 0 for q in self._queue.values()
                                       for b in q)
                self.txn_state = "ABORTING"
                self._fail_queued(KafkaError("_PURGE_QUEUE", "Local: Purged in queue: "
                                             "purged by abort_transaction"), purge=True)
                self.kernel.run_until(lambda: self._unsettled == 0 or not self._alive())
                if self.client == "java" and purged_sequenced and \
                        self.transaction_version < 2:
                    # batches with sequence numbers were dropped, so the broker's next
                    # expected sequence is unknown: get a new epoch (InitProducerId)
                    self._bump_on_abort = True
            if self.client == "java":
                # an AddPartitionsToTxn still in flight may yet open the transaction: wait
                self.kernel.run_until(lambda: not self._adding or not self._alive(),
                                      self._request_timeout())
        # librdkafka counts every AddPartitionsToTxn sent as possibly received (txn_req_cnt)
        if not (self.txn_partitions or self.txn_offsets_added or self._maybe_registered
                or (self.client == "librdkafka" and self._adding)):
            # nothing reached the coordinator: complete locally (librdkafka "No partitions
            # registered: not sending EndTxn"; Java: TransactionManager.beginCompletingTxn)
            if not commit and self._bump_on_abort:
                self._epoch_bump()
            self._complete(commit, self._now())
            return None
        self._end_sent = True
        return self._start(api, "EndTxn", "end_txn",
                           lambda respond: self.cluster.txn_coordinator.handle_end_txn(
                               self.txn_id, self.pid, self.epoch, commit, respond),
                           f"EndTxn({result})")

    def _after_end(self, commit: bool, resp: dict[str, Any]) -> None:
        result = "commit" if commit else "abort"
        err = resp["error"]
        if err:
            self._record("txn_end", "fail", txn=self.txn_id, txn_seq=self.txn_seq,
                         result=result, error=err)
            action = classify(self.client, "EndTxn", err)
            if action == "abortable_bump" and not commit:
                # librdkafka: "Abort failed due to invalid PID ... have idempo sort out
                # epoch bumping" (rd_kafka_txn_handle_EndTxn); Java: InitProducerId next
                self._bump_on_abort = True
                self._epoch_bump()
                self._complete(commit, self._now())
                return
            if action in ("abortable", "abortable_bump") and not commit:
                self.txn_state = "ABORTABLE_ERROR"  # the abort can be retried
            raise self._error("EndTxn", err, f"EndTxn {result} failed")
        self._record("txn_end", "ok", txn=self.txn_id, txn_seq=self.txn_seq, result=result,
                     decided_at=resp.get("decided_at", self._now()))
        if resp.get("epoch", self.epoch) != self.epoch or resp.get("pid", self.pid) != self.pid:
            # TV2: the next transaction's epoch, or after epoch exhaustion a new producer id
            # with epoch 0 (TransactionManager adopts the EndTxn response's id and epoch)
            self.pid = resp.get("pid", self.pid)
            self.epoch = resp["epoch"]
            self._next_seq.clear()
            self._last_acked_seq.clear()
            self._unresolved.clear()  # Java resetSequenceNumbers (EndTxnHandler)
            self._bump_on_abort = False
        elif not commit and self._bump_on_abort:
            self._epoch_bump()
        self.txn_state = "READY"
        self._reset_txn()
        self.kernel.emit(self.lane, "ack", f"{result} of transaction {self.txn_seq} done")

    def _complete(self, commit: bool, decided_at: float) -> None:
        self.txn_state = "READY"
        self._reset_txn()
        self._record("txn_end", "ok", txn=self.txn_id, txn_seq=self.txn_seq,
                     result="commit" if commit else "abort", decided_at=decided_at)

    def _reset_txn(self) -> None:
        self._bump_on_abort = False
        self._maybe_registered = set()
        self._end_sent = False

    def _epoch_bump(self) -> None:
        """KIP-360: InitProducerId with the current id and epoch asks the coordinator for
        the next epoch (librdkafka ``rd_kafka_idemp_drain_epoch_bump``; Java
        ``TransactionManager.beginCompletingTransaction`` -> ``initializeTransactions``)."""
        pid, epoch = self.pid, self.epoch
        op = self._start("epoch_bump", "InitProducerId", "init_pid",
                         lambda respond: self.cluster.txn_coordinator.handle_init_producer_id(
                             self.txn_id, self.config["transaction.timeout.ms"], respond,
                             self.transaction_version, pid, epoch),
                         "InitProducerId (epoch bump)")
        self._wait(op, self._now() + BLOCK_FOREVER_MS)
        self._ops.pop("epoch_bump", None)
        if op.resp is None:
            raise self._timed_out("abort_transaction", "InitProducerId")
        if op.resp["error"]:
            raise self._error("InitProducerId", op.resp["error"], "Failed to request "
                              "ProducerId bump")
        self.pid, self.epoch = op.resp["pid"], op.resp["epoch"]
        self._next_seq.clear()
        self._last_acked_seq.clear()
        self._unresolved.clear()  # Java resetSequenceNumbers (InitProducerIdHandler, bump)
        self._bump_on_abort = False
