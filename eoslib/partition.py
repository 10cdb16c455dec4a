"""A partition: its log of record batches, replicas, high watermark and last stable offset.

The leader's log is a list of :class:`Batch`. Followers copy it after
``replica.fetch.wait.ms``; the high watermark (HW) is the smallest log-end offset among
the in-sync replicas, and ``acks=all`` waits for it. The last stable offset (LSO) is the
first offset of the earliest transaction that is still open, or decided but whose marker
is not yet below the HW; without such a transaction it is the HW. So LSO <= HW <= LEO.

When a leader dies, a replica from the ISR takes over and the log is cut back to what that
replica had copied: with ``acks=1`` an acknowledged write can vanish this way; with
``acks=all`` and ``min.insync.replicas >= 2`` it cannot. Unclean election lets an
out-of-sync replica lead.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eoslib.producer_state import (
    BatchMetadata,
    DuplicateCheck,
    IncomingBatch,
    ProducerStateEntry,
    Verdict,
    kafka_duplicate_check,
    tv2_first_sequence,
)

if TYPE_CHECKING:
    from eoslib.kernel import Kernel

NO_PID = -1
SEQ_SPACE = 2147483648  # sequences wrap from Integer.MAX_VALUE to 0


@dataclass(slots=True)
class Batch:
    """A record batch as stored in the log.

    ``records`` holds ``(key, value)`` pairs; record ``i`` has offset ``base_offset + i``.
    A control batch (``control`` = ``"COMMIT"`` or ``"ABORT"``) holds one marker record.
    """

    base_offset: int
    records: list[tuple[Any, Any]]
    producer_id: int = NO_PID
    epoch: int = -1
    base_seq: int = -1
    transactional: bool = False
    control: str | None = None
    append_time: float = 0.0
    #: each record's headers (a dict or None), parallel to ``records``; None when none has any
    headers: list[Any] | None = None

    @property
    def last_offset(self) -> int:
        """Offset of the batch's last record."""
        return self.base_offset + len(self.records) - 1


def _last_offset(b: Batch) -> int:
    return b.last_offset


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    """An entry of the aborted-transaction index (``.txnindex``)."""

    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What a leader did with a produce request."""

    error: str | None
    base_offset: int = -1
    duplicate: bool = False
    reason: str = ""


class Partition:
    """One topic-partition with its replicas (see module docstring)."""

    def __init__(
        self,
        kernel: Kernel,
        topic: str,
        index: int,
        replicas: list[int],
        *,
        min_insync: int = 1,
        unclean: bool = False,
        replica_wait_ms: float = 2.0,
        duplicate_check: DuplicateCheck = kafka_duplicate_check,
    ) -> None:
        self.kernel = kernel
        self.topic = topic
        self.index = index
        self.name = f"{topic}-{index}"
        self.lane = f"partition {self.name}"
        self.replicas = list(replicas)
        self.leader: int | None = replicas[0]
        self.isr = list(replicas)
        self.min_insync = min_insync
        self.unclean = unclean
        self.replica_wait_ms = replica_wait_ms
        #: follower -> virtual time until which it lags (fetches nothing; out of the ISR)
        self.lagging: dict[int, float] = {}
        self.duplicate_check = duplicate_check
        self.log: list[Batch] = []
        self.leo = 0
        self.replica_leo = {r: 0 for r in replicas}
        self.hw = 0
        self.producers: dict[int, ProducerStateEntry] = {}
        self.aborted: list[AbortedTxn] = []
        self._decided: list[tuple[int, int]] = []  # (first offset, marker offset) not yet < HW
        self._hw_waiters: list[tuple[int, Callable[[bool], None]]] = []
        #: parked fetches (DelayedFetch): (offset, isolation, callback)
        self._fetch_waiters: list[tuple[int, str, Callable[[], None]]] = []
        self._replication_scheduled = False
        self.alive_brokers: Callable[[], set[int]] = lambda: set(self.replicas)
        self.stable_since: dict[int, float] = {}  # batch base offset -> when it went < LSO
        self.hw_since: dict[int, float] = {}  # batch base offset -> when it went < HW
        self._lso_cache = 0
        self.appended_refs: set[str] = set()  # batch refs appended here (to flag re-appends)

    # ---------------------------------------------------------------- appends
    def append_data(
        self,
        records: list[tuple[Any, Any]],
        *,
        producer_id: int = NO_PID,
        epoch: int = -1,
        base_seq: int = -1,
        transactional: bool = False,
        acks: str = "all",
        required_isr: bool = True,
        headers: list[Any] | None = None,
        tv2: bool = False,
    ) -> AppendResult:
        """Append a data batch as the leader would, after the producer-state checks
        (``tv2``: a verified write of a transactions-v2 producer)."""
        if acks == "all" and required_isr and len(self.isr) < self.min_insync:
            return AppendResult(
                "NOT_ENOUGH_REPLICAS",
                reason=f"ISR {self.isr} smaller than min.insync.replicas={self.min_insync}",
            )
        entry = self.producers.get(producer_id) if producer_id != NO_PID else None
        if tv2 and base_seq > 0 and (entry is None or not entry.batches):
            v = tv2_first_sequence(producer_id, base_seq)
            return AppendResult(v.error, reason=v.reason)
        if producer_id != NO_PID and base_seq >= 0:
            verdict: Verdict = self.duplicate_check(
                entry, IncomingBatch(producer_id, epoch, base_seq, len(records))
            )
            if verdict.action == "duplicate":
                assert verdict.duplicate_of is not None
                return AppendResult(
                    None, verdict.duplicate_of.first_offset, duplicate=True, reason=verdict.reason
                )
            if verdict.action == "error":
                return AppendResult(verdict.error, reason=verdict.reason)
        elif entry is not None and epoch < entry.epoch:
            return AppendResult("INVALID_PRODUCER_EPOCH", reason="stale epoch")
        if entry is not None and not transactional and epoch >= entry.epoch \
                and entry.current_txn_first_offset is not None:
            # ProducerAppendInfo (ProducerStateManagerTest
            # .testNonTransactionalAppendWithOngoingTransaction): InvalidTxnStateException
            return AppendResult("INVALID_TXN_STATE",
                                reason=f"expected a transactional write from producer "
                                       f"{producer_id}: its transaction at offset "
                                       f"{entry.current_txn_first_offset} is still open")
        base = self.leo
        batch = Batch(base, list(records), producer_id, epoch, base_seq, transactional, None,
                      self.kernel.now, list(headers) if headers else None)
        # producer state first, so the LSO computed on append sees the open transaction
        if producer_id != NO_PID:
            if entry is None:
                entry = self.producers[producer_id] = ProducerStateEntry(producer_id, epoch)
            if epoch > entry.epoch:
                entry.epoch = epoch
                entry.batches.clear()
            if base_seq >= 0:
                entry.add(BatchMetadata(base_seq, (base_seq + len(records) - 1) % SEQ_SPACE,
                                        base, batch.last_offset))
            if transactional and entry.current_txn_first_offset is None:
                entry.current_txn_first_offset = base
        self._append(batch)
        return AppendResult(None, base)

    def append_marker(self, producer_id: int, epoch: int, kind: str,
                      coordinator_epoch: int = 0) -> AppendResult:
        """Write a COMMIT or ABORT control record for ``producer_id``'s transaction.

        The marker takes one offset. An ABORT of a non-empty transaction adds an entry to
        the aborted-transaction index. A marker with a newer epoch bumps the producer's
        epoch here, which fences batches carrying the old one. A marker from a coordinator
        older than the last one seen for this producer is refused
        TRANSACTION_COORDINATOR_FENCED (ProducerAppendInfo.checkCoordinatorEpoch).
        """
        entry = self.producers.get(producer_id)
        if entry is not None and epoch < entry.epoch:
            return AppendResult("INVALID_PRODUCER_EPOCH", reason="marker epoch is stale")
        if entry is not None and entry.coordinator_epoch > coordinator_epoch:
            return AppendResult("TRANSACTION_COORDINATOR_FENCED",
                                reason=f"marker from coordinator epoch {coordinator_epoch}, "
                                       f"{entry.coordinator_epoch} seen (a zombie coordinator)")
        if entry is None:
            entry = self.producers[producer_id] = ProducerStateEntry(producer_id, epoch)
        entry.coordinator_epoch = coordinator_epoch
        if epoch > entry.epoch:
            entry.epoch = epoch
            entry.batches.clear()
        offset = self.leo
        batch = Batch(offset, [(kind, None)], producer_id, epoch, -1, True, kind, self.kernel.now)
        self._append(batch)
        first = entry.current_txn_first_offset
        if first is not None:
            entry.current_txn_first_offset = None
            if kind == "ABORT":
                # ProducerStateManager.lastStableOffset(completedTxn): the first offset of
                # another producer's open transaction, else the marker offset + 1
                others = [e.current_txn_first_offset for e in self.producers.values()
                          if e.current_txn_first_offset is not None]
                lso = min(others) if others else offset + 1
                self.aborted.append(AbortedTxn(producer_id, first, offset, lso))
            self._decided.append((first, offset))
        self._update_hw()
        self.kernel.emit(self.lane, "marker", f"{kind} pid={producer_id} @{offset}",
                         flag="aborted" if kind == "ABORT" else None,
                         data=self._data(kind=kind, pid=producer_id, epoch=epoch, offset=offset))
        return AppendResult(None, offset)

    def fill(self, values: list[Any]) -> None:
        """Append ``values`` as plain records written before the run (a clean upstream),
        one trace event for all of them."""
        if not values:
            return
        base = self.leo
        for v in values:
            self.append_data([(None, v)])
        self.kernel.emit(self.lane, "append", f"upstream wrote {len(values)} records "
                         f"@{base}..{self.leo - 1}",
                         data=self._data(base=base, values=[str(v) for v in values], pid=NO_PID,
                                         epoch=-1, seq=-1, txn=False))

    def _data(self, **extra: Any) -> dict[str, Any] | None:
        """The structured part of a trace event about this partition (None if not tracing)."""
        if not self.kernel.tracing:
            return None
        return {"tp": self.name, "hw": self.hw, "lso": self.lso, "leo": self.leo, **extra}

    def _append(self, batch: Batch) -> None:
        self.log.append(batch)
        self.leo = batch.last_offset + 1
        if self.leader is not None:
            self.replica_leo[self.leader] = self.leo
        if len(self.replicas) == 1 or self.isr == [self.leader]:
            # a leader alone in its ISR moves the HW at once (Partition.maybeIncrementLeaderHW)
            self._update_hw()
        if len(self.replicas) > 1 and not self._replication_scheduled:
            self._replication_scheduled = True
            self.kernel.schedule(self.replica_wait_ms, self._replicate)

    # ------------------------------------------------------------ replication
    def _replicate(self) -> None:
        """Followers that are alive copy the leader's log up to its current end."""
        self._replication_scheduled = False
        alive = self.alive_brokers()
        if self.leader is None or self.leader not in alive:
            return  # offline: there is no leader to fetch from
        for r in self.replicas:
            # -- explorer (issue 18 §5): a lagging follower fetches nothing until it recovers
            if self.lagging.get(r, -1.0) > self.kernel.now:
                continue
            # -- end
            if r != self.leader and r in alive:
                self.replica_leo[r] = self.leo
                if r not in self.isr:
                    self.isr.append(r)
                    self.isr.sort()
        self._update_hw()

    def shrink_isr(self, broker: int) -> None:
        """Drop a replica that fell behind (or died) from the in-sync set."""
        if broker in self.isr and broker != self.leader:
            self.isr.remove(broker)
            self._update_hw()

    def wait_for_hw(self, offset: int, callback: Callable[[bool], None]) -> None:
        """Call ``callback(True)`` once the HW passes ``offset`` (acks=all), or
        ``callback(False)`` if leadership moves first (the write may be lost)."""
        if self.hw > offset:
            callback(True)
        else:
            self._hw_waiters.append((offset, callback))

    def wait_for_data(self, offset: int, isolation: str,
                      callback: Callable[[], None]) -> Callable[[], None]:
        """Park a fetch that found nothing at ``offset``: ``callback()`` runs once data at or
        past ``offset`` is readable, below the HW (read_uncommitted) or the LSO
        (read_committed). Kafka: ``DelayedFetch.tryComplete`` completes when fetch.min.bytes
        (1) is available. Returns a function that cancels the wait."""
        entry = (offset, isolation, callback)
        self._fetch_waiters.append(entry)

        def cancel() -> None:
            self._fetch_waiters = [w for w in self._fetch_waiters if w is not entry]

        return cancel

    def _fail_waiters(self) -> None:
        waiters, self._hw_waiters = self._hw_waiters, []
        for _, cb in waiters:
            cb(False)

    def _update_hw(self) -> None:
        if self.leader is None:
            return
        isr = self.isr
        if len(isr) == 1:
            hw = self.replica_leo[isr[0]]
        else:
            hw = min(self.replica_leo[r] for r in isr) if isr else self.leo
        if hw > self.hw:
            for b in reversed(self.log):  # only the batches the HW just passed
                if b.base_offset < self.hw:
                    break
                if b.base_offset < hw:
                    self.hw_since.setdefault(b.base_offset, self.kernel.now)
            self.hw = hw
            if len(self.replicas) > 1:
                self.kernel.emit(self.lane, "replicate", f"HW={hw}", data=self._data())
        old_lso = self._lso_cache
        if self._decided:
            self._decided = [(f, m) for f, m in self._decided if m >= self.hw]
        lso = self.lso
        if lso > old_lso:
            for b in reversed(self.log):
                if b.base_offset < old_lso:
                    break
                if b.base_offset < lso:
                    self.stable_since.setdefault(b.base_offset, self.kernel.now)
        self._lso_cache = lso
        if self._fetch_waiters:
            hw = self.hw
            ready = [w for w in self._fetch_waiters
                     if (lso if w[1] == "read_committed" else hw) > w[0]]
            if ready:
                self._fetch_waiters = [w for w in self._fetch_waiters
                                       if all(w is not r for r in ready)]
                for _, _, cb in ready:
                    self.kernel.schedule(0, cb)
        if self._hw_waiters:
            ready = [cb for off, cb in self._hw_waiters if self.hw > off]
            self._hw_waiters = [(off, cb) for off, cb in self._hw_waiters if self.hw <= off]
            for cb in ready:
                cb(True)

    def elect_leader(self, dead: int) -> int | None:
        """Choose a new leader after broker ``dead`` failed; truncate to its log.

        Returns the new leader or None (partition offline). With unclean election an
        out-of-sync replica may be chosen, losing whatever it had not copied.
        """
        alive = self.alive_brokers()
        if dead in self.isr:
            self.isr.remove(dead)
        candidates = [r for r in self.isr if r in alive and r != dead]
        if not candidates and self.unclean:
            candidates = [r for r in self.replicas if r in alive and r != dead]
        old = self.leader
        self._fail_waiters()
        if not candidates:
            self.leader = None
            self.kernel.emit(self.lane, "leader", f"leader {old} died; partition offline",
                             flag="error", data=self._data(leader=None))
            return None
        new = candidates[0]
        self.leader = new
        if new not in self.isr:
            self.isr = [new]
        self.truncate(self.replica_leo[new])
        self.kernel.emit(self.lane, "leader", f"broker {new} leads (was {old}); LEO={self.leo}",
                         data=self._data(leader=new))
        return new

    def truncate(self, offset: int) -> None:
        """Cut the log back to ``offset`` and rebuild producer state from what is left."""
        if offset >= self.leo:
            return
        lost = [b for b in self.log if b.last_offset >= offset]
        self.log = [b for b in self.log if b.last_offset < offset]
        self.leo = self.log[-1].last_offset + 1 if self.log else 0
        for r in self.replica_leo:
            self.replica_leo[r] = min(self.replica_leo[r], self.leo)
        self.hw = min(self.hw, self.leo)
        self.producers = {}
        self.aborted = [a for a in self.aborted if a.last_offset < self.leo]
        self._decided = []
        for b in self.log:
            if b.producer_id == NO_PID:
                continue
            e = self.producers.get(b.producer_id)
            if e is None:
                e = self.producers[b.producer_id] = ProducerStateEntry(b.producer_id, b.epoch)
            if b.epoch > e.epoch:
                e.epoch = b.epoch
                e.batches.clear()
            if b.control:
                e.current_txn_first_offset = None
            else:
                if b.base_seq >= 0:
                    e.add(BatchMetadata(b.base_seq, (b.base_seq + len(b.records) - 1) % SEQ_SPACE,
                                        b.base_offset, b.last_offset))
                if b.transactional and e.current_txn_first_offset is None:
                    e.current_txn_first_offset = b.base_offset
        n = sum(len(b.records) for b in lost)
        if n:
            self.kernel.emit(self.lane, "leader", f"truncated to {offset}: {n} "
                             f"record{'' if n == 1 else 's'} gone", flag="lost",
                             data=self._data())

    # ------------------------------------------------------------------ reads
    @property
    def lso(self) -> int:
        """The last stable offset: read_committed consumers read below it."""
        first = self.hw
        for e in self.producers.values():
            if e.current_txn_first_offset is not None and e.current_txn_first_offset < first:
                first = e.current_txn_first_offset
        for f, m in self._decided:
            if m >= self.hw and f < first:
                first = f
        return first

    def read(
        self, offset: int, isolation: str, max_records: int = 500
    ) -> tuple[list[Batch], list[AbortedTxn], int]:
        """Batches holding offsets from ``offset`` up to the HW (read_uncommitted) or the
        LSO (read_committed), the aborted transactions overlapping them (read_committed
        only), and the limit used."""
        limit = self.lso if isolation == "read_committed" else self.hw
        out: list[Batch] = []
        n = 0
        log = self.log
        for i in range(self._first_batch_at(offset), len(log)):
            b = log[i]
            if b.base_offset >= limit or n >= max_records:
                break
            if b.last_offset >= limit:
                b = Batch(b.base_offset, b.records[: limit - b.base_offset], b.producer_id,
                          b.epoch, b.base_seq, b.transactional, b.control, b.append_time,
                          b.headers[: limit - b.base_offset] if b.headers else None)
            out.append(b)
            n += len(b.records)
        aborted: list[AbortedTxn] = []
        if isolation == "read_committed" and out:
            hi = out[-1].last_offset
            aborted = [a for a in self.aborted
                       if a.first_offset <= hi and a.last_offset >= offset]
        return out, aborted, limit

    def _first_batch_at(self, offset: int) -> int:
        """Index of the first batch whose last offset is >= ``offset`` (binary search)."""
        return bisect.bisect_left(self.log, offset, key=_last_offset)

    def record_count(self) -> int:
        """Data records in the log (markers excluded)."""
        return sum(len(b.records) for b in self.log if b.control is None)
