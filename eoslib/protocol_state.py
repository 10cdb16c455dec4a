"""The protocol state of a run at any step of its trace: logs, watermarks, offsets, epochs.

:func:`state_at` folds a :class:`~eoslib.result.Result`'s trace, event by event, into a
:class:`ProtocolState`: per partition the log as cells (offset, value, producer id, epoch,
sequence, transactional or not, COMMIT/ABORT marker, and whether each record is committed,
in an open transaction or aborted), the high watermark and the last stable offset; per
consumer group the committed offsets and the pending transactional ones; each consumer's
position; each ``transactional.id``'s coordinator state, producer id and epoch; each
producer's next sequence number and what it has in flight; the sink's rows.

This is the one place that computes protocol state from a trace: the log view, the Lamport
view, the captions, the step player and the HTML export all read it. It uses only what the
simulation recorded (the ``data`` of trace events, see :mod:`eoslib.result`), and
``tests/test_protocol_state.py`` checks the final state against the simulation's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.result import Result, TraceEvent

#: Cell statuses, in the words the views print.
STATUSES = ("committed", "open", "aborted", "control", "lost")


@dataclass
class Cell:
    """One offset of a partition's log."""

    offset: int
    value: str
    pid: int = -1
    epoch: int = -1
    seq: int = -1
    txn: bool = False
    control: str | None = None  # "COMMIT" / "ABORT" for a marker
    status: str = "committed"  # one of STATUSES
    step: int = 0  # the trace event that appended it
    ref: str | None = None  # the producer batch it came from
    retry: bool = False  # appended by a retried request (the batch was sent before)
    dropped: int = 0  # retries of this record the broker recognised and did not append


@dataclass
class PartitionState:
    """A partition's log and watermarks at one step."""

    name: str
    cells: list[Cell] = field(default_factory=list)
    hw: int = 0
    lso: int = 0
    leader: int | None = None
    truncated: list[Cell] = field(default_factory=list)  # cut away by a leader change

    @property
    def leo(self) -> int:
        """The log end offset: the next offset to be written."""
        return self.cells[-1].offset + 1 if self.cells else 0

    def duplicates(self) -> dict[str, list[int]]:
        """Data values that sit at more than one offset. Aborted copies do not count (a
        read_committed reader never sees them; the log view shows them crossed out)."""
        where: dict[str, list[int]] = {}
        for c in self.cells:
            if c.control is None and c.status != "aborted":
                where.setdefault(c.value, []).append(c.offset)
        return {v: offs for v, offs in where.items() if len(offs) > 1}


@dataclass
class TxnState:
    """A transactional id as its coordinator sees it."""

    state: str = "Empty"
    pid: int = -1
    epoch: int = -1


@dataclass
class ProducerState:
    """What a producer knows: its id and epoch, its next sequence per partition, and the
    batches (refs) it has sent without an answer yet."""

    pid: int = -1
    epoch: int = -1
    next_seq: dict[str, int] = field(default_factory=dict)
    inflight: list[str] = field(default_factory=list)
    #: batches whose answer reached the client's connection but is not handed to the
    #: producer yet (it waits behind an earlier, unanswered request on that connection)
    arrived: list[str] = field(default_factory=list)


@dataclass
class SinkRow:
    """A row the application wrote to the external sink."""

    id: str
    value: str
    applied: bool
    copy: int  # 1 for the first applied row of this id, 2 for a repeat...
    step: int


@dataclass
class ProtocolState:
    """Everything :func:`state_at` computes for one step (see module docstring)."""

    step: int
    t: float
    partitions: dict[str, PartitionState] = field(default_factory=dict)
    committed: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> tp -> offset
    pending: dict[str, dict[int, dict[str, int]]] = field(default_factory=dict)  # group -> pid
    positions: dict[str, dict[str, int]] = field(default_factory=dict)  # consumer -> tp -> pos
    groups_of: dict[str, str | None] = field(default_factory=dict)  # consumer -> group
    txns: dict[str, TxnState] = field(default_factory=dict)
    producers: dict[str, ProducerState] = field(default_factory=dict)
    sink: list[SinkRow] = field(default_factory=list)
    crashed: set[str] = field(default_factory=set)
    handed: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # consumer -> tp
    assigned: dict[str, list[str]] = field(default_factory=dict)  # consumer -> its partitions
    isolation: dict[str, str] = field(default_factory=dict)  # consumer -> isolation.level
    #: steps of timeouts that hit a batch whose answer had arrived (held on its connection)
    held_timeouts: set[int] = field(default_factory=set)
    # where each group's transactional offsets live: group -> __consumer_offsets partition
    _offsets_tp: dict[str, str] = field(default_factory=dict, repr=False)
    _retried: set[str] = field(default_factory=set, repr=False)  # batch refs sent again

    def partition(self, name: str) -> PartitionState:
        """The state of partition ``name`` (``"out-0"``), created empty if unseen."""
        p = self.partitions.get(name)
        if p is None:
            p = self.partitions[name] = PartitionState(name)
        return p

    def data_partitions(self) -> list[str]:
        """Partitions of the learner's topics (``__consumer_offsets`` last), sorted."""
        names = sorted(self.partitions, key=lambda n: (n.startswith("__"), n))
        return names

    def committed_offset(self, tp: str) -> dict[str, int]:
        """Each group's committed offset for ``tp``."""
        return {g: offs[tp] for g, offs in self.committed.items() if tp in offs}

    def sink_repeats(self) -> list[SinkRow]:
        """Rows that repeat an id already in the sink."""
        return [r for r in self.sink if r.applied and r.copy > 1]


def _apply_partition(st: ProtocolState, ev: TraceEvent, d: dict[str, Any]) -> None:
    kind = ev["kind"]
    p = st.partition(d["tp"])
    if kind == "dedup":
        for c in p.cells:
            if d["base"] <= c.offset < d["base"] + len(d["values"]):
                c.dropped += 1
    elif kind == "append" or (kind == "commit" and "base" in d):
        txn = bool(d.get("txn"))
        retry = ev.get("ref") in st._retried
        for k, v in enumerate(d["values"]):
            p.cells.append(Cell(d["base"] + k, v, d.get("pid", -1), d.get("epoch", -1),
                                d["seq"] + k if d.get("seq", -1) >= 0 else -1, txn, None,
                                "open" if txn else "committed", ev["i"], ev.get("ref"),
                                retry))
    elif kind == "marker":
        for c in p.cells:
            if c.pid == d["pid"] and c.status == "open" and c.offset < d["offset"]:
                c.status = "committed" if d["kind"] == "COMMIT" else "aborted"
        p.cells.append(Cell(d["offset"], d["kind"], d["pid"], d["epoch"], -1, True,
                            d["kind"], "control", ev["i"]))
        _resolve_pending(st, d["tp"], d["pid"], d["kind"] == "COMMIT")
    if "leo" in d and d["leo"] < p.leo:  # a new leader's shorter log: the rest is gone
        gone = [c for c in p.cells if c.offset >= d["leo"]]
        p.cells = [c for c in p.cells if c.offset < d["leo"]]
        for c in gone:
            c.status = "lost"
        p.truncated.extend(gone)
    if "leader" in d:
        p.leader = d["leader"]
    p.hw, p.lso = d["hw"], d["lso"]


def _resolve_pending(st: ProtocolState, tp: str, pid: int, commit: bool) -> None:
    """A marker in ``__consumer_offsets``: the transaction's offsets apply or vanish."""
    for group, by_pid in st.pending.items():
        if st._offsets_tp.get(group) == tp and pid in by_pid:
            offs = by_pid.pop(pid)
            if commit:
                st.committed.setdefault(group, {}).update(offs)


def _apply(st: ProtocolState, ev: TraceEvent) -> None:
    kind, lane, d = ev["kind"], ev["lane"], ev.get("data")
    if kind == "crash":
        st.crashed.add(lane)
        for c in list(st.positions):
            if c.startswith(lane + "-") or c == lane:
                del st.positions[c]
        return
    if kind == "restart":
        st.crashed.discard(lane)
        return
    if kind == "rebalance" and ": assigned " in ev["label"]:
        got = ev["label"].split(": assigned ", 1)[1]
        st.assigned[lane] = [] if got == "nothing" else [t.strip() for t in got.split(",")]
        return
    if d is None:
        if kind in ("timeout", "ack", "error") and ev.get("ref"):
            ps = st.producers.get(lane)
            if kind == "timeout" and ps is not None and ev["ref"] in ps.arrived:
                st.held_timeouts.add(ev["i"])
            _drop_inflight(st, lane, ev["ref"])
        return
    if "tp" in d and lane.startswith("partition") or kind in ("marker", "replicate",
                                                                "leader"):
        _apply_partition(st, ev, d)
    elif kind == "commit":
        group = d["group"]
        st._offsets_tp[group] = d["tp"]
        _apply_partition(st, ev, d)
        if d.get("pid", -1) >= 0 and d.get("txn"):
            st.pending.setdefault(group, {}).setdefault(d["pid"], {}).update(d["offsets"])
        else:
            st.committed.setdefault(group, {}).update(d["offsets"])
    elif kind in ("poll", "seek"):
        st.positions.setdefault(lane, {}).update(d["positions"])
        st.groups_of[lane] = d.get("group")
        if d.get("isolation"):
            st.isolation[lane] = d["isolation"]
        got = st.handed.setdefault(lane, {})
        for tp, off, _ in d.get("records", ()):
            got.setdefault(tp, []).append(off)
    elif kind in ("send", "retry"):
        if kind == "retry" and ev.get("ref"):
            st._retried.add(ev["ref"])
        ps = st.producers.setdefault(lane, ProducerState())
        ps.pid, ps.epoch = d["pid"], d["epoch"]
        if d["seq"] >= 0:
            ps.next_seq[d["tp"]] = max(ps.next_seq.get(d["tp"], 0), d["seq"] + d["count"])
        if ev.get("ref") and ev["ref"] not in ps.inflight:
            ps.inflight.append(ev["ref"])
    elif kind == "response":
        ps = st.producers.get(lane)
        ref = ev.get("ref")
        if ps is not None and ref in ps.inflight and not d.get("ignored") \
                and ref not in ps.arrived:
            ps.arrived.append(ref)
    elif kind in ("reject", "error") and ev.get("ref"):
        _drop_inflight(st, lane, ev["ref"])
    elif kind == "ack" and "pid" in d:
        ps = st.producers.setdefault(lane, ProducerState())
        ps.pid, ps.epoch = d["pid"], d["epoch"]
        ps.next_seq.clear()
    elif kind in ("state", "fence"):
        t = st.txns.setdefault(d["txn_id"], TxnState())
        t.state, t.pid, t.epoch = d["to"], d["pid"], d["epoch"]
    elif kind == "write":
        copies = sum(1 for r in st.sink if r.id == d["id"] and r.applied)
        st.sink.append(SinkRow(d["id"], d["value"], d["applied"],
                               copies + 1 if d["applied"] else copies, ev["i"]))


def _drop_inflight(st: ProtocolState, lane: str, ref: str) -> None:
    """The producer is done waiting for batch ``ref`` (answered, failed or timed out)."""
    ps = st.producers.get(lane)
    if ps is not None:
        if ref in ps.inflight:
            ps.inflight.remove(ref)
        if ref in ps.arrived:
            ps.arrived.remove(ref)


def fold(trace: list[TraceEvent], step: int | None = None) -> ProtocolState:
    """The protocol state after trace event ``step`` (default: the last one)."""
    if not trace:
        return ProtocolState(step=-1, t=0.0)
    last = len(trace) - 1 if step is None else step
    if not -1 <= last < len(trace):
        raise ValueError(f"Invalid value {step!r} for step: expected -1..{len(trace) - 1} "
                         f"(this trace has {len(trace)} events)")
    st = ProtocolState(step=last, t=trace[last]["t"] if last >= 0 else 0.0,
                       isolation=consumer_isolation(trace))
    for ev in trace[:last + 1]:
        _apply(st, ev)
    return st


def states(trace: list[TraceEvent]) -> Iterator[ProtocolState]:
    """The state after each event of ``trace``, in one pass: ONE object, updated and
    yielded after every event (read it, don't keep it; for a lasting copy use
    :func:`fold`)."""
    st = ProtocolState(step=-1, t=0.0, isolation=consumer_isolation(trace))
    for ev in trace:
        _apply(st, ev)
        st.step, st.t = ev["i"], ev["t"]
        yield st


def state_at(result: Result, step: int | None = None) -> ProtocolState:
    """The protocol state of ``result`` after its trace event ``step`` (default: the end).

    Raises ``ValueError`` naming ``step`` if it is outside the trace."""
    return fold(result.trace, step)


#: The flag (or kind) of the event where each kind of anomaly becomes visible.
_BIRTHS: dict[str, tuple[str, ...]] = {
    "duplicate": ("duplicate",),
    "lost": ("lost",),
    "aborted": ("aborted",),
    "fenced": ("fenced",),
    "crash": ("crash",),
}


def _first_duplicate(trace: list[TraceEvent]) -> int | None:
    """The first step that stores a value a second time in a partition of a data topic
    (copies that end up aborted do not count), or writes a repeated row to the sink."""
    final = fold(trace)
    aborted = {(name, c.offset) for name, p in final.partitions.items() for c in p.cells
               if c.status == "aborted"}
    seen: dict[str, set[str]] = {}
    for ev in trace:
        d = ev.get("data")
        if ev["kind"] == "write" and ev.get("flag") == "duplicate":
            return int(ev["i"])
        if ev["kind"] != "append" or not d or d["tp"].startswith("__"):
            continue
        values = seen.setdefault(d["tp"], set())
        kept = [v for k, v in enumerate(d["values"]) if (d["tp"], d["base"] + k) not in aborted]
        if any(v in values for v in kept):
            return int(ev["i"])
        values.update(kept)
    return None


def first_step(result: Result, what: str) -> int | None:
    """The first trace step where ``what`` happens (``duplicate``, ``lost``, ``aborted``,
    ``fenced``, ``crash``): where a player's "jump to" button goes.

    ``duplicate``: the first step that stores a value a second time in a data topic's
    partition (or repeats a sink row); ``aborted``: the first ABORT marker in a data topic;
    ``lost``: an acknowledged write cut away by a leader change (not a lost network
    message); ``fenced`` and ``crash``: the first event the simulation flagged so."""
    if what not in _BIRTHS:
        raise ValueError(f"Invalid value {what!r} for what: expected one of "
                         f"{', '.join(_BIRTHS)}")
    if what == "duplicate":
        return _first_duplicate(result.trace)
    if what == "aborted":  # the first ABORT marker in a data topic
        return next((int(ev["i"]) for ev in result.trace if ev["kind"] == "marker"
                     and ev.get("flag") == "aborted"
                     and not (ev.get("data") or {}).get("tp", "").startswith("__")), None)
    for ev in result.trace:
        if ev.get("flag") not in _BIRTHS[what]:
            continue
        if what == "lost" and ev["kind"] != "leader":
            continue
        return int(ev["i"])
    return None


def consumer_isolation(trace: list[TraceEvent]) -> dict[str, str]:
    """Each consumer's ``isolation.level``, as its polls recorded it (a setting of the
    consumer for the whole run, so a view may name it before the first poll)."""
    out: dict[str, str] = {}
    for ev in trace:
        d = ev.get("data")
        if ev["kind"] == "poll" and d and d.get("isolation"):
            out.setdefault(ev["lane"], d["isolation"])
    return out


def state_of_simulation(sim: Any) -> ProtocolState:
    """The logs (cells, HW, LSO) and the coordinator's transactions of a live
    :class:`~eoslib.Simulation`, read from its objects: for a simulation driven by hand
    (appends made straight on a partition leave no trace event to fold)."""
    st = ProtocolState(step=len(sim.trace) - 1, t=float(sim.kernel.now))
    for topic in sim.cluster.topics:
        for p in sim.cluster.partitions(topic):
            ps = st.partition(p.name)
            for b in p.log:
                status = _batch_status(p, b)
                for k, (_, v) in enumerate(b.records):
                    ps.cells.append(Cell(b.base_offset + k, b.control or str(v), b.producer_id,
                                         b.epoch, b.base_seq + k if b.base_seq >= 0 else -1,
                                         b.transactional, b.control, status))
            ps.hw, ps.lso = p.hw, p.lso
    for txn_id, meta in sim.cluster.txn_coordinator.txns.items():
        st.txns[txn_id] = TxnState(meta.state, meta.producer_id, meta.epoch)
    return st


def _batch_status(p: Any, b: Any) -> str:
    """A stored batch's status: control, committed, aborted (in the aborted index) or open
    (no marker of its producer after it)."""
    if b.control:
        return "control"
    if not b.transactional:
        return "committed"
    if any(a.producer_id == b.producer_id and a.first_offset <= b.base_offset <= a.last_offset
           for a in p.aborted):
        return "aborted"
    decided = any(m.control and m.producer_id == b.producer_id and m.base_offset > b.base_offset
                  for m in p.log)
    return "committed" if decided else "open"


__all__ = ["STATUSES", "Cell", "PartitionState", "ProducerState",
           "ProtocolState", "SinkRow", "TxnState",
           "consumer_isolation", "first_step", "fold",
           "state_at", "state_of_simulation", "states"]
