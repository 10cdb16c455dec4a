"""The group coordinator: membership, generations, assignment and committed offsets.

Offsets live in ``__consumer_offsets`` (the partition chosen by the group id's hash): a
plain OffsetCommit appends a record and takes effect at once; a TxnOffsetCommit (from
``send_offsets_to_transaction``) appends a transactional record whose offsets stay
*pending* until the transaction's COMMIT marker (then they apply) or ABORT marker (then
they are dropped). A read_committed consumer asking for offsets while some are pending
gets UNSTABLE_OFFSET_COMMIT and retries (KIP-447).

Rebalances follow the classic protocol in a simplified form: a member joining, leaving or
missing its ``session.timeout.ms`` bumps the generation and reassigns the partitions of
the subscribed topics across the members (range or round-robin). A static member
(``group.instance.id``, KIP-345) that restarts within its session takes its partitions back
without a rebalance, and a static member's ``close()`` sends no LeaveGroup; the instance it
replaced is fenced (FENCED_INSTANCE_ID). Commits carrying an old
generation are refused with ILLEGAL_GENERATION, which is how a consumer that was kicked
out (a zombie) is stopped from committing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.cluster import Cluster
    from eoslib.kernel import Kernel

TP = tuple[str, int]


@dataclass
class Member:
    """A consumer in a group."""

    member_id: str
    topics: list[str]
    session_timeout: float
    last_heartbeat: float
    on_assignment: Callable[[int, list[TP]], None]
    instance_id: str | None = None  # group.instance.id: a static member (KIP-345)
    #: called before a rebalance takes the member's partitions away (its last chance to
    #: commit with the current generation: Java's ConsumerCoordinator.onJoinPrepare)
    on_prepare: Callable[[], None] | None = None


@dataclass
class Group:
    """One consumer group's state."""

    group_id: str
    generation: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    assignment: dict[str, list[TP]] = field(default_factory=dict)
    committed: dict[TP, int] = field(default_factory=dict)
    pending: dict[int, dict[TP, int]] = field(default_factory=dict)  # pid -> offsets
    #: where each committed / pending offset's record sits in __consumer_offsets: a marker
    #: applies a pending offset only over an older record (OffsetMetadataManager
    #: .replayEndTransactionMarker keeps the most recent committed offset)
    committed_at: dict[TP, int] = field(default_factory=dict)
    pending_at: dict[int, dict[TP, int]] = field(default_factory=dict)
    strategy: str = "range"
    rebalances: int = 0
    fenced_members: set[str] = field(default_factory=set)  # replaced static members


class GroupCoordinator:
    """Serves JoinGroup/Heartbeat/LeaveGroup, OffsetCommit, TxnOffsetCommit, OffsetFetch."""

    def __init__(self, kernel: Kernel, cluster: Cluster) -> None:
        self.kernel = kernel
        self.cluster = cluster
        self.groups: dict[str, Group] = {}
        self.lane = "group-coordinator"
        self._member_seq = 0

    def group(self, group_id: str) -> Group:
        """The group, created empty on first use."""
        g = self.groups.get(group_id)
        if g is None:
            g = self.groups[group_id] = Group(group_id)
        return g

    # --------------------------------------------------------------- membership
    def join(self, group_id: str, topics: list[str], session_timeout: float,
             on_assignment: Callable[[int, list[TP]], None], strategy: str = "range",
             instance_id: str | None = None,
             on_prepare: Callable[[], None] | None = None) -> str:
        """Add a member; returns its member id. Triggers a rebalance, except when a static
        member (``group.instance.id``) comes back: it replaces its old member id, keeps its
        partitions and the generation (KIP-345), and the old id is fenced."""
        g = self.group(group_id)
        self._member_seq += 1
        mid = f"{group_id}-member-{self._member_seq}"
        member = Member(mid, list(topics), session_timeout, self.kernel.now, on_assignment,
                        instance_id, on_prepare)
        old = next((m for m in g.members.values()
                    if instance_id is not None and m.instance_id == instance_id), None)
        if old is not None and old.topics == member.topics:
            del g.members[old.member_id]
            g.fenced_members.add(old.member_id)
            g.members[mid] = member
            g.assignment[mid] = g.assignment.pop(old.member_id, [])
            self.kernel.emit(self.lane, "rebalance", f"{group_id}: static member "
                             f"{instance_id} rejoined as {mid}; no rebalance (generation "
                             f"{g.generation})")
            self.kernel.schedule(self.cluster.config["network.latency.ms"], on_assignment,
                                 g.generation, list(g.assignment[mid]))
        else:
            if old is not None:
                del g.members[old.member_id]
                g.fenced_members.add(old.member_id)
            g.members[mid] = member
            g.strategy = strategy
            self._rebalance(g, f"{mid} joined")
        self._schedule_expiry(g, mid)
        return mid

    def heartbeat(self, group_id: str, member_id: str) -> str | None:
        """Refresh a member's session; UNKNOWN_MEMBER_ID if it was removed."""
        g = self.group(group_id)
        m = g.members.get(member_id)
        if m is None:
            return "FENCED_INSTANCE_ID" if member_id in g.fenced_members else \
                "UNKNOWN_MEMBER_ID"
        m.last_heartbeat = self.kernel.now
        return None

    def leave(self, group_id: str, member_id: str, why: str = "left") -> None:
        """Remove a member (LeaveGroup, or session expiry) and rebalance."""
        g = self.group(group_id)
        if g.members.pop(member_id, None) is not None:
            self._rebalance(g, f"{member_id} {why}")

    def _schedule_expiry(self, g: Group, mid: str) -> None:
        m = g.members.get(mid)
        if m is None:
            return

        def check() -> None:
            mm = g.members.get(mid)
            if mm is None:
                return
            if self.kernel.now - mm.last_heartbeat >= mm.session_timeout:
                self.leave(g.group_id, mid, "missed session.timeout.ms")
            else:
                self.kernel.at(mm.last_heartbeat + mm.session_timeout, check)

        self.kernel.at(m.last_heartbeat + m.session_timeout, check)

    def _rebalance(self, g: Group, why: str) -> None:
        for m in list(g.members.values()):  # onJoinPrepare: commit before revocation
            if m.on_prepare is not None:
                m.on_prepare()
        g.generation += 1
        g.rebalances += 1
        members = sorted(g.members)
        topics = sorted({t for m in g.members.values() for t in m.topics})
        g.assignment = {mid: [] for mid in members}
        if members:
            for t in topics:
                parts = [(t, p.index) for p in self.cluster.partitions(t)]
                subs = [mid for mid in members if t in g.members[mid].topics]
                if g.strategy == "roundrobin":
                    for i, tp in enumerate(parts):
                        g.assignment[subs[i % len(subs)]].append(tp)
                else:  # range
                    per, extra = divmod(len(parts), len(subs))
                    start = 0
                    for i, mid in enumerate(subs):
                        n = per + (1 if i < extra else 0)
                        g.assignment[mid].extend(parts[start:start + n])
                        start += n
        self.kernel.emit(self.lane, "rebalance",
                         f"{g.group_id} generation {g.generation}: {why}")
        latency = self.cluster.config["network.latency.ms"]
        for mid in members:
            m = g.members[mid]
            self.kernel.schedule(latency, m.on_assignment, g.generation, list(g.assignment[mid]))

    # ------------------------------------------------------------------ offsets
    def _validate(self, g: Group, generation: int, member_id: str,
                  transactional: bool = False) -> str | None:
        """Kafka 4.x ``ClassicGroup.validateOffsetCommit``: without a generation an empty
        group accepts the commit (admin client, or a consumer using ``assign()``); a commit
        naming a member is checked against the members and the generation; one naming no
        member is refused UNKNOWN_MEMBER_ID while the group has members, unless it is
        transactional (older TxnOffsetCommit versions carry no member)."""
        if generation < 0 and not g.members:
            return None
        if generation >= 0 or member_id:
            if member_id not in g.members:
                return "FENCED_INSTANCE_ID" if member_id in g.fenced_members else \
                    "UNKNOWN_MEMBER_ID"
            if generation != g.generation:
                return "ILLEGAL_GENERATION"
        elif not transactional:
            return "UNKNOWN_MEMBER_ID"
        return None

    def commit(self, group_id: str, generation: int, member_id: str,
               offsets: dict[TP, int]) -> str | None:
        """OffsetCommit: validate the member and generation, then store the offsets."""
        g = self.group(group_id)
        err = self._validate(g, generation, member_id)
        if err:
            self.kernel.emit(self.lane, "reject", f"commit by {member_id or 'consumer'}: {err}",
                             flag="error")
            return err
        p = self.cluster.offsets_partition_for(group_id)
        res = p.append_data([(f"{group_id}/{t}-{i}", o) for (t, i), o in offsets.items()])
        g.committed.update(offsets)
        for i, tp in enumerate(offsets):
            g.committed_at[tp] = res.base_offset + i
        self.kernel.emit(self.lane, "commit", f"{group_id}: " + ", ".join(
            f"{t}-{i}={o}" for (t, i), o in offsets.items()),
            data=self._commit_data(group_id, p, res.base_offset, offsets, None))
        self._fault_point()
        return None

    def _fault_point(self) -> None:
        """-- explorer fault point (issue 18 §5): a placed kill=group_coordinator.N: the
        coordinator dies right after its N-th write to __consumer_offsets, before it
        answers (the answer is lost); its successor loads __consumer_offsets, so committed
        and pending offsets survive."""
        if self.cluster.network.fault_point("group_coordinator"):
            self.kernel.emit(self.lane, "crash", "group coordinator crashed after its write; "
                             "a successor loads __consumer_offsets", flag="crash")

    def txn_commit(self, group_id: str, pid: int, epoch: int, generation: int,
                   member_id: str, offsets: dict[TP, int]) -> str | None:
        """TxnOffsetCommit: store offsets as pending for ``pid``'s open transaction."""
        g = self.group(group_id)
        err = self._validate(g, generation, member_id, transactional=True)
        if err:
            self.kernel.emit(self.lane, "reject", f"txn offsets by pid={pid}: {err}",
                             flag="error")
            return err
        p = self.cluster.offsets_partition_for(group_id)
        res = p.append_data([(f"{group_id}/{t}-{i}", o) for (t, i), o in offsets.items()],
                            producer_id=pid, epoch=epoch, transactional=True)
        if res.error:
            return res.error
        g.pending.setdefault(pid, {}).update(offsets)
        for i, tp in enumerate(offsets):
            g.pending_at.setdefault(pid, {})[tp] = res.base_offset + i
        self.kernel.emit(self.lane, "commit", f"{group_id} pending (pid={pid}): " + ", ".join(
            f"{t}-{i}={o}" for (t, i), o in offsets.items()),
            data=self._commit_data(group_id, p, res.base_offset, offsets, (pid, epoch)))
        self._fault_point()
        return None

    def _commit_data(self, group_id: str, p: Any, base: int, offsets: dict[TP, int],
                     txn: tuple[int, int] | None) -> dict[str, Any] | None:
        """The structured part of a commit's trace event: the offsets and the records they
        became in ``__consumer_offsets`` (transactional ones carry ``pid``)."""
        if not self.kernel.tracing:
            return None
        return {"group": group_id, "offsets": {f"{t}-{i}": o for (t, i), o in offsets.items()},
                "tp": p.name, "base": base, "hw": p.hw, "lso": p.lso,
                "values": [f"{t}-{i}={o}" for (t, i), o in offsets.items()],
                "pid": txn[0] if txn else -1, "epoch": txn[1] if txn else -1, "seq": -1,
                "txn": txn is not None}

    def complete_txn_offsets(self, pid: int, commit: bool, offsets_partition: int) -> None:
        """A marker reached ``__consumer_offsets``: apply or drop ``pid``'s pending offsets."""
        for g in self.groups.values():
            if self.cluster.offsets_partition_for(g.group_id).index != offsets_partition:
                continue
            pending = g.pending.pop(pid, None)
            at = g.pending_at.pop(pid, {})
            if pending and commit:
                for tp, off in pending.items():
                    # "We always keep the most recent committed offset when we have a mix
                    # of transactional and regular offset commits"
                    if at.get(tp, 0) > g.committed_at.get(tp, -1):
                        g.committed[tp] = off
                        g.committed_at[tp] = at.get(tp, 0)

    def fetch(self, group_id: str, partitions: list[TP],
              require_stable: bool) -> tuple[str | None, dict[TP, int | None]]:
        """OffsetFetch. With ``require_stable`` and pending offsets for any of
        ``partitions``: UNSTABLE_OFFSET_COMMIT."""
        g = self.group(group_id)
        if require_stable:
            for pend in g.pending.values():
                if any(tp in pend for tp in partitions):
                    return "UNSTABLE_OFFSET_COMMIT", {}
        return None, {tp: g.committed.get(tp) for tp in partitions}
