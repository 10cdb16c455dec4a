"""Oracle: the group coordinator's offset commits against Kafka 4.x's own tests.

apache/kafka group-coordinator/src/test/java/org/apache/kafka/coordinator/group/
``OffsetMetadataManagerTest`` and ``classic/ClassicGroupTest`` (offset commit validation
for classic groups, transactional offsets and their markers). The rules live in
``ClassicGroup.validateOffsetCommit`` and ``OffsetMetadataManager.replayEndTransactionMarker``.
"""

from __future__ import annotations

from eoslib import Simulation
from eoslib.cluster import OFFSETS_TOPIC

TP = ("bar", 0)


def _group(members: int = 1, static: bool = False):
    sim = Simulation(seed=0)
    sim.create_topic("bar", 1)
    gc = sim.cluster.group_coordinator
    ids = [gc.join("foo", ["bar"], 45000, lambda gen, parts: None, "range",
                   f"instance-{i}" if static else None) for i in range(members)]
    return sim, gc, ids


def _marker(sim: Simulation, pid: int, commit: bool) -> None:
    """A transaction marker reaching the group's __consumer_offsets partition."""
    gc = sim.cluster.group_coordinator
    p = sim.cluster.offsets_partition_for("foo")
    p.append_marker(pid, 0, "COMMIT" if commit else "ABORT", 0)
    gc.complete_txn_offsets(pid, commit, p.index)


def test_validate_offset_commit_without_parameters() -> None:
    """ClassicGroupTest.testValidateOffsetCommit: "A call from the admin client without any
    parameters should pass" while the group is empty; with a member, "No parameters and the
    group is not empty" is UNKNOWN_MEMBER_ID, but "A transactional offset commit without any
    parameters and a non-empty group is accepted"
    (OffsetMetadataManagerTest.testGenericGroupOffsetCommitWithoutMemberIdAndGeneration,
    testSimpleGroupOffsetCommit)."""
    sim, gc, _ = _group(members=0)
    assert gc.commit("foo", -1, "", {TP: 100}) is None
    sim, gc, _ = _group(members=1)
    assert gc.commit("foo", -1, "", {TP: 100}) == "UNKNOWN_MEMBER_ID"
    assert gc.txn_commit("foo", 1000, 0, -1, "", {TP: 100}) is None


def test_validate_offset_commit_member_and_generation() -> None:
    """testGenericGroupOffsetCommitWithUnknownMemberId: UNKNOWN_MEMBER_ID;
    testGenericGroupOffsetCommitWithIllegalGeneration: ILLEGAL_GENERATION; a member with
    the current generation commits; the same checks hold for TxnOffsetCommit
    (testGenericGroupTransactionalOffsetCommitWithUnknownMemberId / ...IllegalGenerationId)."""
    sim, gc, (member,) = _group()
    gen = gc.group("foo").generation
    assert gc.commit("foo", gen, "unknown", {TP: 1}) == "UNKNOWN_MEMBER_ID"
    assert gc.commit("foo", gen + 1, member, {TP: 1}) == "ILLEGAL_GENERATION"
    assert gc.commit("foo", gen, member, {TP: 1}) is None
    assert gc.txn_commit("foo", 1000, 0, gen, "unknown", {TP: 2}) == "UNKNOWN_MEMBER_ID"
    assert gc.txn_commit("foo", 1000, 0, gen + 1, member, {TP: 2}) == "ILLEGAL_GENERATION"


def test_offset_commit_with_fenced_instance_id() -> None:
    """testGenericGroupOffsetCommitWithFencedInstanceId (and ClassicGroupTest: "The old
    instance id should be fenced"): after a static member is replaced, the old member id
    gets FENCED_INSTANCE_ID."""
    sim, gc, (old,) = _group(static=True)
    new = gc.join("foo", ["bar"], 45000, lambda gen, parts: None, "range", "instance-0")
    assert new != old
    gen = gc.group("foo").generation
    assert gc.commit("foo", gen, old, {TP: 1}) == "FENCED_INSTANCE_ID"
    assert gc.commit("foo", gen, new, {TP: 1}) is None


def test_transactional_offset_commit_is_pending_until_its_marker() -> None:
    """testGenericGroupTransactionalOffsetCommit / testReplayTransactionEndMarkerWithCommit:
    a TxnOffsetCommit is stored as pending for its producer; the COMMIT marker makes it the
    committed offset. testFetchOffsetsWithPendingTransactionalOffsets: a fetch that
    requires stable offsets is answered UNSTABLE_OFFSET_COMMIT while it is pending."""
    sim, gc, (member,) = _group()
    gen = gc.group("foo").generation
    assert gc.txn_commit("foo", 5, 0, gen, member, {TP: 100}) is None
    assert gc.group("foo").committed.get(TP) is None
    assert gc.fetch("foo", [TP], require_stable=True) == ("UNSTABLE_OFFSET_COMMIT", {})
    assert gc.fetch("foo", [TP], require_stable=False) == (None, {TP: None})
    _marker(sim, 5, commit=True)
    assert gc.group("foo").committed[TP] == 100
    assert gc.fetch("foo", [TP], require_stable=True) == (None, {TP: 100})


def test_abort_marker_drops_the_pending_offsets() -> None:
    """testReplay...EndTransactionMarker with ABORT: the pending offsets are discarded and
    the committed offset stays as it was."""
    sim, gc, (member,) = _group()
    gen = gc.group("foo").generation
    gc.commit("foo", gen, member, {TP: 10})
    gc.txn_commit("foo", 5, 0, gen, member, {TP: 100})
    _marker(sim, 5, commit=False)
    assert gc.group("foo").committed[TP] == 10 and not gc.group("foo").pending


def test_end_marker_keeps_the_most_recent_committed_offset() -> None:
    """testReplayTransactionEndMarkerKeepsTheMostRecentCommittedOffset: a transactional
    offset (100), then a regular commit (101) later in __consumer_offsets; the COMMIT marker
    removes the pending offset but does not overwrite the more recent regular one ("We
    always keep the most recent committed offset when we have a mix of transactional and
    regular offset commits", OffsetMetadataManager.replayEndTransactionMarker)."""
    sim, gc, (member,) = _group()
    gen = gc.group("foo").generation
    gc.txn_commit("foo", 5, 0, gen, member, {TP: 100})
    gc.commit("foo", gen, member, {TP: 101})
    _marker(sim, 5, commit=True)
    assert gc.group("foo").committed[TP] == 101
    assert 5 not in gc.group("foo").pending
    # and the other way round: a regular commit older than the transactional one yields
    gc.commit("foo", gen, member, {TP: 200})
    gc.txn_commit("foo", 6, 0, gen, member, {TP: 300})
    _marker(sim, 6, commit=True)
    assert gc.group("foo").committed[TP] == 300
    assert sim.cluster.offsets_partition_for("foo").name.startswith(OFFSETS_TOPIC)
