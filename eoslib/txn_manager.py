"""The producer's transaction manager: the transactional API and its coordinator requests.

Java: ``TransactionManager``; librdkafka: ``rdkafka_txnmgr.c``. ``init_transactions``,
``begin_transaction``, ``send_offsets_to_transaction``, ``commit_transaction`` and
``abort_transaction`` drive a client-side state machine (states named as librdkafka names
them in its errors) and send InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
TxnOffsetCommit and EndTxn to the coordinators, retrying what the client retries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib.accumulator import TP
from eoslib.errors import KafkaError, KafkaException
from eoslib.messages import TopicPartition


class TransactionManager:
    """Mixin of :class:`~eoslib.producer.Producer` (whose state it uses): the
    transactional API."""

    @property
    def transaction_version(self) -> int:
        """The transaction version this producer's transactions use: the cluster's finalized
        ``transaction.version`` feature, capped by what the client speaks (the producer key
        ``transaction.version``)."""
        return min(int(self.config["transaction.version"]),
                   int(self.cluster.config["transaction.version"]))

    def _state_error(self, what: str) -> KafkaException:
        return KafkaException(KafkaError(
            "_STATE", f"Operation not valid in state {self._txn_state_name()}: {what}"))

    def _txn_state_name(self) -> str:
        return {"UNINITIALIZED": "Init", "INITIALIZING": "WaitPID", "READY": "Ready",
                "IN_TRANSACTION": "InTransaction", "COMMITTING": "BeginCommit",
                "ABORTING": "BeginAbort", "ABORTABLE_ERROR": "AbortableError",
                "FATAL_ERROR": "FatalError"}[self.txn_state]

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
