"""The transaction coordinator: one state machine per ``transactional.id``.

States and their valid previous states are Kafka's (``TransactionMetadata.scala``)::

    Empty             <- Empty, CompleteCommit, CompleteAbort
    Ongoing           <- Ongoing, Empty, CompleteCommit, CompleteAbort
    PrepareCommit     <- Ongoing
    PrepareAbort      <- Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort
    CompleteCommit    <- PrepareCommit
    CompleteAbort     <- PrepareAbort
    Dead              <- Empty, CompleteAbort, CompleteCommit
    PrepareEpochFence <- Ongoing

Every transition is appended to the coordinator's log (``__transaction_state``); a new
coordinator rebuilds its state from that log, and a transaction whose PrepareCommit is in
the log is committed whatever happens next: the successor re-sends the markers.

``InitProducerId`` bumps the epoch (fencing older instances); during an Ongoing
transaction it first fences and aborts it and answers CONCURRENT_TRANSACTIONS, so the
client retries and the epoch is bumped a second time. A transaction left Ongoing longer
than its ``transaction.timeout.ms`` is aborted the same way by a periodic check.
PrepareEpochFence is an in-memory state: only the PrepareAbort after it is logged.

Under KIP-890 (TV2) every EndTxn bumps the epoch, and a retry is recognised by its epoch
(the stored one is the request's + 1, or the id was rotated when the epoch ran out), as
Kafka 4.1's ``TransactionCoordinator.endTransaction`` does; so a producer whose
transaction the coordinator aborted on timeout may abort at its old epoch (a retry of that
abort) and go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoslib.cluster import OFFSETS_TOPIC
from eoslib.partitioner import coordinator_partition

if TYPE_CHECKING:
    from eoslib.cluster import Cluster
    from eoslib.kernel import Kernel

VALID_PREVIOUS: dict[str, tuple[str, ...]] = {
    "Empty": ("Empty", "CompleteCommit", "CompleteAbort"),
    "Ongoing": ("Ongoing", "Empty", "CompleteCommit", "CompleteAbort"),
    "PrepareCommit": ("Ongoing",),
    # Kafka 4.x (TransactionState.PREPARE_ABORT): TV2 may abort with nothing added
    "PrepareAbort": ("Ongoing", "PrepareEpochFence", "Empty", "CompleteCommit", "CompleteAbort"),
    "CompleteCommit": ("PrepareCommit",),
    "CompleteAbort": ("PrepareAbort",),
    "Dead": ("Empty", "CompleteAbort", "CompleteCommit"),
    "PrepareEpochFence": ("Ongoing",),
}
STATES = tuple(VALID_PREVIOUS)
EPOCH_EXHAUSTED = 32767 - 1  # Short.MaxValue - 1

Respond = Callable[[dict[str, Any]], None]


class IllegalTransition(RuntimeError):
    """A transition the state machine forbids (a bug, never a client error)."""


@dataclass
class TxnMetadata:
    """What the coordinator knows of one ``transactional.id``."""

    txn_id: str
    producer_id: int
    epoch: int = -1
    state: str = "Empty"
    timeout_ms: int = 60000
    partitions: list[tuple[str, int]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    start: float = 0.0
    pending_markers: int = 0
    version: int = 2
    end_epoch: int | None = None  # TV2: the client epoch of the EndTxn that bumped epoch
    previous_producer_id: int = -1  # TV2: the id before an epoch-exhaustion rotation
    next_producer_id: int = -1  # TV2: the id the coordinator rotates to at Complete*
    last_epoch: int = -1  # the epoch before a KIP-360 bump (lastProducerEpoch)

    def snapshot(self) -> dict[str, Any]:
        """The record written to ``__transaction_state`` for this state."""
        return {"txn_id": self.txn_id, "pid": self.producer_id, "epoch": self.epoch,
                "state": self.state, "partitions": [list(p) for p in self.partitions],
                "groups": list(self.groups), "timeout_ms": self.timeout_ms,
                "start": self.start, "version": self.version, "end_epoch": self.end_epoch,
                "previous_pid": self.previous_producer_id, "next_pid": self.next_producer_id,
                "last_epoch": self.last_epoch}


class TransactionCoordinator:
    """Handles InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn."""

    def __init__(self, kernel: Kernel, cluster: Cluster, *, generation: int = 0,
                 next_pid: int = 1000) -> None:
        self.kernel = kernel
        self.cluster = cluster
        self.generation = generation  # the coordinator epoch
        self.txns: dict[str, TxnMetadata] = {}
        self.log: list[dict[str, Any]] = []  # __transaction_state
        self.next_pid = next_pid
        self.alive = True
        self.lane = "txn-coordinator"
        self.committed = 0
        self.aborted = 0
        self.state_history: list[tuple[float, str, str, str]] = []  # (t, txn, from, to)
        self._timeout_idle = True  # the periodic check runs only while a txn is open

    # ----------------------------------------------------------------- helpers
    def new_pid(self) -> int:
        """Allocate a producer id (the producer-id manager's job)."""
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def transition(self, meta: TxnMetadata, new: str) -> None:
        """Move ``meta`` to ``new`` if Kafka allows it, and log the new state."""
        if not self.alive:  # explorer hook (issue 9): a coordinator killed mid-handler
            return  # writes nothing more
        if meta.state not in VALID_PREVIOUS[new]:
            raise IllegalTransition(f"{meta.txn_id}: {meta.state} -> {new} is not allowed")
        old = meta.state
        meta.state = new
        # PrepareEpochFence is an in-memory pending state, never a record in
        # __transaction_state (TransactionMetadata.prepareFenceProducerEpoch; only the
        # PrepareAbort that follows is written, with the bumped epoch)
        written = new != "PrepareEpochFence"
        if written:
            self.log.append(meta.snapshot())
        self.state_history.append((self.kernel.now, meta.txn_id, old, new))
        if old != new:
            self.kernel.emit(self.lane, "state", f"{meta.txn_id}: {old} -> {new}",
                             flag="aborted" if new == "PrepareAbort" else None,
                             data={"txn_id": meta.txn_id, "from": old, "to": new,
                                   "pid": meta.producer_id, "epoch": meta.epoch}
                             if self.kernel.tracing else None)
        # -- explorer fault point (eoslib/explore, issue 9): a placed kill=txn_coordinator.N
        # kills the coordinator right after this write; a successor loads the log 100 ms on
        if written and self.cluster.network.fault_point("txn_coordinator"):
            self.crash()
            self.kernel.schedule(100.0, lambda: setattr(self.cluster, "txn_coordinator",
                                                        self.successor()))
        # -- end of the explorer fault point

    def _meta_data(self, meta: TxnMetadata) -> dict[str, Any] | None:
        """A transactional id's coordinator state, for a trace event's ``data``."""
        if not self.kernel.tracing:
            return None
        return {"txn_id": meta.txn_id, "to": meta.state, "pid": meta.producer_id,
                "epoch": meta.epoch}

    def _check_epoch(self, meta: TxnMetadata | None, pid: int, epoch: int) -> str | None:
        if meta is None or meta.producer_id != pid:
            return "INVALID_PRODUCER_ID_MAPPING"
        if epoch != meta.epoch:
            return "PRODUCER_FENCED"
        return None

    # ---------------------------------------------------------------- requests
    def handle_init_producer_id(self, txn_id: str | None, timeout_ms: int,
                                respond: Respond, version: int = 2, producer_id: int = -1,
                                producer_epoch: int = -1) -> None:
        """InitProducerId: a fresh id for idempotence, or the next epoch of ``txn_id``.

        Without a transactional id any broker answers, from the cluster's producer-id
        manager: the transaction coordinator's state does not matter (Kafka:
        ``TransactionCoordinator.handleInitProducerId``, ``transactionalId == null`` ->
        ``producerIdManager.generateProducerId()``; the client sends it to the least loaded
        broker, ``Sender``/``TransactionManager``). A KIP-360 bump names the producer id and
        epoch the client holds; if the coordinator has moved on, PRODUCER_FENCED
        (``handleInitProducerId``: ``expectedProducerIdAndEpoch`` not valid)."""
        if txn_id is None:
            respond({"error": None, "pid": self.new_pid(), "epoch": 0})
            return
        if not self.alive:
            respond({"error": "NOT_COORDINATOR"})  # the client rediscovers and retries
            return
        if timeout_ms <= 0 or timeout_ms > self.cluster.config["transaction.max.timeout.ms"]:
            # TransactionCoordinator.isValidTransactionTimeoutMs: 0 < timeout <= max
            respond({"error": "INVALID_TRANSACTION_TIMEOUT"})
            return
        meta = self.txns.get(txn_id)
        if meta is None:
            meta = self.txns[txn_id] = TxnMetadata(txn_id, self.new_pid(), version=version)
        if producer_id >= 0 and not (
                meta.epoch == -1 or meta.producer_id == producer_id
                or (meta.previous_producer_id == producer_id
                    and producer_epoch >= EPOCH_EXHAUSTED)):
            # isValidProducerId: a new id (recovering from UNKNOWN_PRODUCER_ID), the same id,
            # or a retry after an id rotation
            respond({"error": "PRODUCER_FENCED"})
            return
        if meta.state in ("PrepareCommit", "PrepareAbort", "PrepareEpochFence"):
            respond({"error": "CONCURRENT_TRANSACTIONS"})
            return
        if meta.state == "Ongoing":
            self._fence_and_abort(meta, "a new instance called init_transactions")
            respond({"error": "CONCURRENT_TRANSACTIONS"})
            return
        if producer_id >= 0 and meta.epoch != -1 and meta.producer_id == producer_id \
                and producer_epoch != meta.epoch:
            # TransactionMetadata.prepareIncrementProducerEpoch with an expected epoch: the
            # previous epoch is a retry of a bump already made; anything else is fenced
            if producer_epoch == meta.last_epoch:
                respond({"error": None, "pid": meta.producer_id, "epoch": meta.epoch})
            else:
                respond({"error": "PRODUCER_FENCED"})
            return
        bumped_from = meta.epoch
        if meta.epoch >= EPOCH_EXHAUSTED:
            meta.producer_id = self.new_pid()
            meta.epoch = 0
        else:
            meta.epoch += 1
        # with an expected epoch the last epoch is kept for retries; without, -1
        meta.last_epoch = bumped_from if producer_id >= 0 else -1
        if meta.epoch > 0:
            self.kernel.emit(self.lane, "fence", f"{txn_id}: epoch -> {meta.epoch}",
                             flag="fenced" if meta.epoch > 0 else None, data=self._meta_data(meta))
        meta.timeout_ms = timeout_ms
        meta.version = version
        meta.end_epoch = None
        meta.partitions = []
        meta.groups = []
        self.transition(meta, "Empty")
        respond({"error": None, "pid": meta.producer_id, "epoch": meta.epoch})

    def handle_add_partitions(self, txn_id: str, pid: int, epoch: int,
                              partitions: list[tuple[str, int]], respond: Respond) -> None:
        """AddPartitionsToTxn: register partitions before the first write to them."""
        if not self.alive:
            respond({"error": "NOT_COORDINATOR"})  # the client rediscovers and retries
            return
        meta = self.txns.get(txn_id)
        if meta is not None and meta.next_producer_id == pid and epoch == 0:
            respond({"error": "CONCURRENT_TRANSACTIONS"})  # rotation not complete yet
            return
        err = self._check_epoch(meta, pid, epoch)
        if err:
            respond({"error": err})
            return
        assert meta is not None
        if meta.state in ("PrepareCommit", "PrepareAbort", "PrepareEpochFence"):
            respond({"error": "CONCURRENT_TRANSACTIONS"})
            return
        if meta.state == "Ongoing" and all(tp in meta.partitions for tp in partitions):
            # already in the transaction (a retry whose answer was lost, a second
            # send_offsets_to_transaction): Kafka answers at once and writes nothing
            # (TransactionCoordinator.handleAddPartitionsToTransaction, "this is an
            # optimization: if the partitions are already in the metadata reply OK
            # immediately")
            respond({"error": None})
            return
        if meta.state != "Ongoing":
            meta.start = self.kernel.now
            meta.partitions = []
            meta.groups = []
        for tp in partitions:
            if tp not in meta.partitions:
                meta.partitions.append(tp)
        self.transition(meta, "Ongoing")
        self.wake()
        respond({"error": None})

    def handle_add_offsets(self, txn_id: str, pid: int, epoch: int, group_id: str,
                           respond: Respond) -> None:
        """AddOffsetsToTxn: add the group's ``__consumer_offsets`` partition."""
        p = self.cluster.offsets_partition_for(group_id)
        meta = self.txns.get(txn_id)

        def added(resp: dict[str, Any]) -> None:
            if resp["error"] is None and meta is not None and group_id not in meta.groups:
                meta.groups.append(group_id)
            respond(resp)

        self.handle_add_partitions(txn_id, pid, epoch, [(OFFSETS_TOPIC, p.index)], added)

    def handle_end_txn(self, txn_id: str, pid: int, epoch: int, commit: bool,
                       respond: Respond) -> None:
        """EndTxn: decide (PrepareCommit/PrepareAbort), answer, then write the markers."""
        if not self.alive:
            respond({"error": "NOT_COORDINATOR"})  # the client rediscovers and retries
            return
        meta = self.txns.get(txn_id)
        if meta is not None and meta.version == 2:
            self._end_txn_v2(meta, pid, epoch, commit, respond)
            return
        err = self._check_epoch(meta, pid, epoch)
        want = "Commit" if commit else "Abort"
        if err:
            respond({"error": err})
            return
        assert meta is not None
        if meta.state == f"Complete{want}":
            respond({"error": None, "epoch": meta.epoch})
            return
        if meta.state == f"Prepare{want}":
            respond({"error": "CONCURRENT_TRANSACTIONS"})
            return
        if meta.state != "Ongoing":
            respond({"error": "INVALID_TXN_STATE"})
            return
        self._prepare_end(meta, commit, respond)

    def _end_txn_v2(self, meta: TxnMetadata, pid: int, epoch: int, commit: bool,
                    respond: Respond) -> None:
        """EndTxn under KIP-890 (TV2), as ``TransactionCoordinator.endTransaction`` decides it:
        a retry is recognised by its epoch (the stored epoch is the request's + 1, or the id
        was rotated on epoch exhaustion), not by the state alone; an EndTxn at the current
        epoch in a Complete state is the NEXT transaction's, never a retry."""
        want = "Commit" if commit else "Abort"
        retry_on_overflow = (meta.previous_producer_id == pid and epoch == EPOCH_EXHAUSTED
                             and meta.epoch == 0)
        retry_on_bump = meta.producer_id == pid and meta.epoch == epoch + 1
        if meta.producer_id != pid and not retry_on_overflow:
            respond({"error": "INVALID_PRODUCER_ID_MAPPING"})
            return
        if meta.state in ("PrepareCommit", "PrepareAbort"):
            valid = retry_on_bump
        elif meta.state in ("CompleteCommit", "CompleteAbort"):
            valid = retry_on_bump or retry_on_overflow or epoch == meta.epoch
        else:
            valid = epoch == meta.epoch
        if not valid:
            respond({"error": "PRODUCER_FENCED"})
            return
        is_retry = retry_on_bump or retry_on_overflow
        ok = {"error": None, "pid": meta.producer_id, "epoch": meta.epoch}
        state = meta.state
        if state == "Ongoing":
            self._prepare_end(meta, commit, respond)
        elif state in ("PrepareCommit", "PrepareAbort"):
            respond({"error": "CONCURRENT_TRANSACTIONS" if state == f"Prepare{want}"
                     else "INVALID_TXN_STATE"})
        elif state == "CompleteCommit" and commit:
            respond(ok if is_retry else {"error": "INVALID_TXN_STATE"})
        elif state == "CompleteAbort" and not commit and is_retry:
            respond(ok)
        elif not commit and not is_retry and state in ("CompleteCommit", "CompleteAbort",
                                                       "Empty"):
            self._prepare_end(meta, False, respond)  # an abort with nothing added
        else:
            respond({"error": "INVALID_TXN_STATE"})

    def _prepare_end(self, meta: TxnMetadata, commit: bool, respond: Respond) -> None:
        """Ongoing (or, under TV2, an empty abort) -> Prepare{Commit,Abort}; answer at once."""
        want = "Commit" if commit else "Abort"
        if meta.state != "Ongoing":  # TV2 empty abort: no partitions, no markers
            meta.partitions, meta.groups = [], []
            meta.start = self.kernel.now
        if meta.version == 2:
            meta.end_epoch = meta.epoch
            meta.epoch += 1  # KIP-890: every transaction ends with an epoch bump
            if meta.epoch > EPOCH_EXHAUSTED:
                # TransactionMetadata.isProducerEpochExhausted: the coordinator allocates the
                # next producer id now; the markers still carry (old id, 32767) and the
                # rotation to (new id, epoch 0) happens at Complete*
                meta.next_producer_id = self.new_pid()
        self.transition(meta, f"Prepare{want}")
        # the decision is durable: answer now, markers follow asynchronously
        decided_at = self.kernel.now
        self._write_markers(meta, commit)
        resp = {"error": None, "epoch": meta.epoch, "decided_at": decided_at}
        if meta.next_producer_id >= 0:  # rotation pending: the client gets (new id, 0) now
            resp["pid"], resp["epoch"] = meta.next_producer_id, 0
        elif meta.state.startswith("Complete"):  # completed at once (no partitions)
            resp["pid"], resp["epoch"] = meta.producer_id, meta.epoch
        respond(resp)

    # ----------------------------------------------------------------- markers
    def _write_markers(self, meta: TxnMetadata, commit: bool) -> None:
        kind = "COMMIT" if commit else "ABORT"
        marker_epoch = meta.epoch
        targets = list(meta.partitions)
        meta.pending_markers = len(targets)
        generation = self.generation
        latency = self.cluster.config["network.latency.ms"]

        def write(tp: tuple[str, int]) -> None:
            if not self.alive or generation != self.generation:
                return  # this coordinator died; its successor re-sends
            p = self.cluster.partition(*tp)
            # -- found by the explorer (issue 9): a partition without a live leader answers
            # NOT_LEADER_OR_FOLLOWER and the marker is retried until it has one (Kafka:
            # TransactionMarkerRequestCompletionHandler, retriable errors -> retryPartitions)
            if p.leader is None or not self.cluster.is_alive(p.leader):
                self.kernel.schedule(100.0, write, tp)
                return
            # -- end
            res = p.append_marker(meta.producer_id, marker_epoch, kind, generation)
            if res.error == "TRANSACTION_COORDINATOR_FENCED":
                return  # a newer coordinator wrote for this producer: this one is a zombie
            if tp[0] == OFFSETS_TOPIC:
                # pending offsets are materialised as the marker is written to
                # __consumer_offsets (GroupMetadata.completePendingTxnOffsetCommit), not before
                self.cluster.group_coordinator.complete_txn_offsets(
                    meta.producer_id, commit, p.index)
            meta.pending_markers -= 1
            if meta.pending_markers == 0:
                self._complete(meta, commit)

        if not targets:
            self._complete(meta, commit)
        for tp in targets:
            self.kernel.schedule(latency, write, tp)

    def _complete(self, meta: TxnMetadata, commit: bool) -> None:
        if meta.next_producer_id >= 0:
            # TV2 epoch exhaustion (TransactionMetadata.prepareComplete): a new producer id
            # with epoch 0; a retry at (old id, 32766) is answered with it
            meta.previous_producer_id, meta.producer_id = meta.producer_id, meta.next_producer_id
            meta.next_producer_id, meta.epoch = -1, 0
        self.transition(meta, "CompleteCommit" if commit else "CompleteAbort")
        if commit:
            self.committed += 1
        else:
            self.aborted += 1

    def _fence_and_abort(self, meta: TxnMetadata, why: str) -> None:
        if meta.epoch >= EPOCH_EXHAUSTED + 1:
            # TransactionMetadata.prepareFenceProducerEpoch: IllegalStateException
            raise IllegalTransition(f"{meta.txn_id}: cannot fence producer epoch "
                                    f"{meta.epoch}, it would overflow")
        meta.end_epoch = None  # a fence is no client's EndTxn: retries get PRODUCER_FENCED
        meta.last_epoch = -1  # prepareFenceProducerEpoch: RecordBatch.NO_PRODUCER_EPOCH
        meta.epoch += 1
        self.transition(meta, "PrepareEpochFence")
        self.kernel.emit(self.lane, "fence", f"{meta.txn_id}: epoch -> {meta.epoch} ({why})",
                         flag="fenced", data=self._meta_data(meta))
        # No second bump for the abort, under TV1 or TV2: Kafka 4.0 bumped again when a TV2
        # fence aborted the transaction (prepareAbortOrCommit), 4.1 does not
        # (KAFKA-19367, apache/kafka PR #19910 and #19976, TransactionCoordinator.scala
        # handleInitProducerId): the ABORT markers carry the fence epoch e+1 and the
        # client's retried InitProducerId gets e+2.
        self.transition(meta, "PrepareAbort")
        self._write_markers(meta, commit=False)

    # ---------------------------------------------------------------- timeouts
    def _schedule_timeout_check(self) -> None:
        interval = self.cluster.config[
            "transaction.abort.timed.out.transaction.cleanup.interval.ms"]
        self.kernel.schedule(interval, self._check_timeouts)

    def _check_timeouts(self) -> None:
        if not self.alive:
            return
        for meta in self.txns.values():
            if meta.state == "Ongoing" and meta.start + meta.timeout_ms < self.kernel.now:
                self._fence_and_abort(meta, f"open longer than transaction.timeout.ms="
                                            f"{meta.timeout_ms}")
        if any(m.state == "Ongoing" for m in self.txns.values()):
            self._schedule_timeout_check()
        else:
            self._timeout_idle = True

    def wake(self) -> None:
        """Resume the periodic timeout check when a transaction starts."""
        if self._timeout_idle:
            self._timeout_idle = False
            self._schedule_timeout_check()

    # -------------------------------------------------------- partition checks
    def verify_partition(self, txn_id: str | None, pid: int, epoch: int, topic: str,
                         index: int) -> str | None:
        """KIP-890 part 1: a transactional write must belong to an Ongoing transaction
        that registered this partition; a stale epoch is INVALID_PRODUCER_EPOCH."""
        meta = self.txns.get(txn_id) if txn_id else None
        if meta is None or meta.producer_id != pid:
            return "INVALID_TXN_STATE"
        if epoch < meta.epoch:
            return "INVALID_PRODUCER_EPOCH"
        if meta.state != "Ongoing" or (topic, index) not in meta.partitions:
            return "INVALID_TXN_STATE"
        return None

    # ---------------------------------------------------------------- failover
    def crash(self) -> None:
        """The coordinator dies; in-memory state and in-flight marker writes are lost."""
        self.alive = False
        self.kernel.emit(self.lane, "crash", "transaction coordinator crashed", flag="crash")

    def successor(self) -> TransactionCoordinator:
        """A new coordinator that rebuilds every transaction from the log and finishes
        what was decided: PrepareCommit -> markers -> CompleteCommit (same for abort)."""
        new = TransactionCoordinator(self.kernel, self.cluster, generation=self.generation + 1,
                                     next_pid=self.next_pid)
        new.committed, new.aborted = self.committed, self.aborted
        for rec in self.log:
            m = new.txns.get(rec["txn_id"])
            if m is None:
                m = new.txns[rec["txn_id"]] = TxnMetadata(rec["txn_id"], rec["pid"])
            m.producer_id, m.epoch, m.state = rec["pid"], rec["epoch"], rec["state"]
            m.partitions = [tuple(p) for p in rec["partitions"]]  # type: ignore[misc]
            m.groups, m.timeout_ms = list(rec["groups"]), rec["timeout_ms"]
            m.start, m.version = rec["start"], rec["version"]
            m.end_epoch = rec.get("end_epoch")
            m.previous_producer_id = rec.get("previous_pid", -1)
            m.next_producer_id = rec.get("next_pid", -1)
            m.last_epoch = rec.get("last_epoch", -1)
        new.log = list(self.log)
        new.state_history = list(self.state_history)
        self.kernel.emit(new.lane, "restart", f"coordinator epoch {new.generation} loaded "
                         f"{len(new.txns)} transactional ids from __transaction_state")
        for m in new.txns.values():
            if m.state in ("PrepareCommit", "PrepareAbort"):
                new._write_markers(m, m.state == "PrepareCommit")
            elif m.state == "PrepareEpochFence":
                new.transition(m, "PrepareAbort")
                new._write_markers(m, commit=False)
        if any(m.state == "Ongoing" for m in new.txns.values()):
            new.wake()
        return new

    def partition_of(self, txn_id: str) -> int:
        """The ``__transaction_state`` partition (so, coordinator) that owns ``txn_id``."""
        return coordinator_partition(txn_id,
                                     self.cluster.config["transaction.state.log.num.partitions"])
