"""The checker: reads a :class:`~eoslib.history.History` and reports anomalies, Jepsen-style.

Each analysis is independent, has a name, a one-line definition, a count and up to five
concrete examples (first in history order). A run passes when every anomaly it shows is one
the caller declared ``allowed``. The taxonomy follows Jepsen's Kafka checker
(``jepsen/src/jepsen/tests/kafka.clj``), simplified for teaching.

Terms: a *position* is (topic, partition, offset). A send is *acknowledged* when its outcome
is ``ok`` and its offset is known. A transaction is identified by (producer process,
``txn_seq``); it is *committed* when a ``txn_end`` with ``result="commit"`` completed
(outcome ``ok``), *aborted* when a ``txn_end`` with ``result="abort"`` completed, or when it
never ended at all and its producer crashed or was fenced (the coordinator aborts it). It is
also *aborted* when its producer was fenced without committing it, when only aborts were
attempted before its producer died, or when ``read_committed`` reads went past all of its
records without returning any (Jepsen likewise resolves indefinite outcomes from reads).
Otherwise a ``txn_end`` with outcome ``info`` or ``fail`` leaves it *unknown*. A write is
*invisible* if its
send failed or its transaction aborted: ``read_committed`` consumers must never see it.

=======================  ====================================================================
anomaly                  definition (and what ``count`` counts)
=======================  ====================================================================
``duplicate``            The same value sits at more than one offset of a topic (any
                         partitions). Evidence: acknowledged sends and polled records;
                         copies written by aborted transactions are not counted (reading
                         them is an ``aborted_read``). Count: extra copies, i.e. the sum over
                         values of (distinct positions - 1).
``inconsistent_offsets`` One position holds more than one value, according to sends and
                         polls. Count: such positions.
``lost``                 An acknowledged write (not transactional, or its transaction
                         committed) whose value no poll ever returned, although some poll
                         read that partition past its offset, or a ``verifier`` process
                         read the partition. Count: such writes.
``unseen``               Like ``lost``, but no poll covered the partition, so we cannot
                         tell: informational. Count: such writes.
``aborted_read``         (G1a) A poll returned a record whose write is invisible: its send
                         definitely failed or its transaction aborted. Count: distinct
                         records (position and value) so read.
``uncommitted_read``     A poll returned a record of a transaction that later committed,
                         before the commit completed (``read_uncommitted`` behaviour):
                         the poll's (time, index) is below the ``txn_end``'s (or the poll
                         precedes the coordinator's decision, ``decided_at``, when recorded).
                         Count: distinct records so read.
``processed_twice``      A sink applied a write for an input id (in one table) that already
                         had an applied write. Count: extra applied writes.
``lost_input``           An id from ``expected_ids`` with no applied sink write. Count: ids.
``nonmonotonic_poll``    A process (one incarnation) was handed, for a partition, an offset
                         at or below the highest it had already received (earlier in the same
                         poll, or in an earlier poll). Count: (poll, partition) pairs.
``reordered``            Two acknowledged sends of one producer to one partition, adjacent in
                         issue order (``seq_no`` when recorded, else history order), whose
                         offsets decrease. Count: such pairs.
``fenced``               A producer was fenced by a newer epoch of its ``transactional.id``.
                         Count: ``fenced`` ops.
``torn_txn``             A ``read_committed`` poll returned a record of a transaction the
                         application ended with ``abort`` (whatever the abort call returned):
                         a stale EndTxn(commit) committed it behind the application's back
                         (KAFKA-17754, transaction version 1). Count: distinct records.
=======================  ====================================================================

``topics`` restricts every log analysis (all but ``processed_twice``, ``lost_input`` and
``fenced``) to those topics. Every analysis is linear in the history, apart from sorting.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eoslib.history import History, Op

__all__ = ["ANOMALIES", "Anomaly", "Report", "check"]

#: How many concrete examples each anomaly keeps.
MAX_EXAMPLES = 5
#: How many positions a ``duplicate`` example lists (``copies`` gives the total).
MAX_POSITIONS = 10

ANOMALIES: dict[str, str] = {
    "duplicate": "the same value sits at more than one offset of a topic",
    "inconsistent_offsets": "one offset of a partition is seen holding more than one value",
    "lost": "an acknowledged write was never read, although reads went past its offset",
    "unseen": "an acknowledged write was never read, and no read covered its partition",
    "aborted_read": "a poll returned a record whose send failed or whose transaction aborted",
    "uncommitted_read": "a poll returned a transaction's record before the transaction committed",
    "processed_twice": "the sink applied a second write for the same input id",
    "lost_input": "an expected input id never reached the sink",
    "nonmonotonic_poll": "a process was handed an offset at or before one it had already received",
    "reordered": "a producer's sends landed in a partition in a different order than issued",
    "fenced": "a producer was fenced by a newer producer with the same transactional.id",
    "torn_txn": "a read_committed poll returned a record of a transaction the app aborted",
}


@dataclass
class Anomaly:
    """One kind of anomaly found in a history: how many, and the first few examples."""

    name: str
    definition: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"count", "definition", "examples"}`` as plain JSON types."""
        return {"count": self.count, "definition": self.definition, "examples": self.examples}


@dataclass
class Report:
    """The checker's verdict: every anomaly of :data:`ANOMALIES`, and which are allowed."""

    anomalies: dict[str, Anomaly]
    allowed: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        """True when no anomaly outside :attr:`allowed` has a non-zero count."""
        return not self.failures()

    def failures(self) -> list[str]:
        """Names of the anomalies that make the report not ok, in report order."""
        return [n for n, a in self.anomalies.items() if a.count and n not in self.allowed]

    def count(self, name: str) -> int:
        """The count of one anomaly. Raises KeyError for a name not in :data:`ANOMALIES`."""
        if name not in self.anomalies:
            raise KeyError(f"unknown anomaly {name!r}; known: {', '.join(ANOMALIES)}")
        return self.anomalies[name].count

    def counts(self) -> dict[str, int]:
        """``{name: count}`` for every anomaly, in report order."""
        return {n: a.count for n, a in self.anomalies.items()}

    def to_json(self) -> dict[str, Any]:
        """``{"ok", "anomalies": {name: {"count", "definition", "examples"}}, "allowed"}``."""
        return {
            "ok": self.ok,
            "anomalies": {n: a.to_json() for n, a in self.anomalies.items()},
            "allowed": sorted(self.allowed),
        }

    def __str__(self) -> str:
        found = [a for a in self.anomalies.values() if a.count]
        if not found:
            return "OK: no anomalies"
        bad = self.failures()
        if bad:
            kinds = "kind" if len(bad) == 1 else "kinds"
            head = f"NOT OK: {len(bad)} {kinds} of anomaly not allowed ({', '.join(bad)})"
        else:
            head = "OK: only allowed anomalies"
        lines = [head]
        for a in found:
            fmt = _FORMATTERS[a.name]
            shown = "; ".join(fmt(e) for e in a.examples)
            if len(a.examples) >= MAX_EXAMPLES and a.count > len(a.examples):
                shown += "; ..."
            tag = "  [allowed]" if a.name in self.allowed else ""
            lines.append(f"{a.name}: {a.count} ({shown}){tag}")
            lines.append(f"    = {a.definition}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Helpers


def _vkey(v: Any) -> Hashable:
    """A hashable key for a JSON value; keeps True apart from 1, serialises lists and dicts."""
    if v is None or type(v) in (str, int, float):
        return v
    if isinstance(v, bool):
        return ("bool", v)
    return ("json", json.dumps(v, sort_keys=True, default=repr))


def _natural(x: Any) -> tuple[Any, ...]:
    """Sort key putting 'm2' before 'm10'."""
    parts = re.split(r"(\d+)", str(x))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _tp(topic: Any, partition: Any) -> str:
    return f"{topic}-{partition}"


def _is_verifier(process: str) -> bool:
    return process == "verifier" or process.startswith(("verifier#", "verifier-"))


def _offset(v: Any) -> int | None:
    """A known offset (an int >= 0), else None."""
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        return None
    return v


class _Collector:
    """Counts one anomaly and keeps its first examples."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.examples: list[dict[str, Any]] = []

    def add(self, n: int, example: dict[str, Any]) -> None:
        self.count += n
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def anomaly(self) -> Anomaly:
        return Anomaly(self.name, ANOMALIES[self.name], self.count, self.examples)


# Write states: whether a send's data may be visible to a read_committed reader.
_FAILED = "failed"  # send definitely failed
_ABORTED = "aborted"  # its transaction aborted
_COMMITTED = "committed"  # its transaction committed
_UNCERTAIN = "uncertain"  # its transaction's outcome is unknown (or still open)
_PLAIN = "plain"  # not transactional, not failed
_INVISIBLE = (_FAILED, _ABORTED)

TxnKey = tuple[str, Any]
Pos = tuple[Any, Any, int]


class _Index:
    """One pass over the history: the lookups every analysis needs."""

    def __init__(self, history: History, topics: set[str] | None) -> None:
        self.topics = topics
        self.sends: list[Op] = []  # sends in the selected topics, history order
        self.acked_at: dict[Pos, list[Op]] = defaultdict(list)
        self.sends_of: dict[tuple[Any, Hashable], list[Op]] = defaultdict(list)
        # reads: (poll op, topic, partition, offset, value), history order
        self.reads: list[tuple[Op, Any, Any, int, Any]] = []
        self.sink_writes: list[Op] = []
        self.fenced: list[Op] = []
        txn_ends: dict[TxnKey, list[Op]] = defaultdict(list)
        dead: set[str] = set()
        for op in history:
            f, v = op.f, op.value
            if f == "send":
                if not self._wanted(v.get("topic")):
                    continue
                self.sends.append(op)
                off = _offset(v.get("offset"))
                if op.outcome == "ok" and off is not None:
                    self.acked_at[(v.get("topic"), v.get("partition"), off)].append(op)
                self.sends_of[(v.get("topic"), _vkey(v.get("value")))].append(op)
            elif f == "poll":
                for rec in v.get("records") or ():
                    topic, partition, offset, value = rec
                    if self._wanted(topic) and _offset(offset) is not None:
                        self.reads.append((op, topic, partition, offset, value))
            elif f == "txn_end":
                txn_ends[(op.process, v.get("txn_seq"))].append(op)
            elif f == "sink_write":
                self.sink_writes.append(op)
            elif f == "fenced":
                self.fenced.append(op)
                dead.add(op.process)
            elif f == "crash":
                dead.add(op.process)
        self._txn_state: dict[TxnKey, tuple[str, Op | None]] = {}
        fenced_processes = {op.process for op in self.fenced}
        for key, ends in txn_ends.items():
            ok = [e for e in ends if e.outcome == "ok"]
            commit = next((e for e in ok if e.value.get("result") == "commit"), None)
            if commit is not None:
                self._txn_state[key] = (_COMMITTED, commit)
            elif any(e.value.get("result") == "abort" for e in ok):
                self._txn_state[key] = (_ABORTED, None)
            elif key[0] in dead and all(e.value.get("result") == "abort" for e in ends):
                # only aborts were attempted (outcome unknown) and the process then died:
                # nobody asked for a commit, so the transaction was aborted
                self._txn_state[key] = (_ABORTED, None)
            elif key[0] in fenced_processes:
                # the fencer (a new instance, or the coordinator's timeout) aborts the open
                # transaction; a decided commit cannot be fenced, so no commit = aborted
                self._txn_state[key] = (_ABORTED, None)
            else:
                self._txn_state[key] = (_UNCERTAIN, None)
        self._dead = dead
        self._resolve_by_reads()
        self._read_memo: dict[tuple[Any, Any, Hashable], Op | None] = {}

    def _wanted(self, topic: Any) -> bool:
        return self.topics is None or topic in self.topics

    def _resolve_by_reads(self) -> None:
        """A transaction whose writer never learned the outcome (commit answer lost, then
        the writer died) is aborted if read_committed reads went past all of its records
        without returning any: read_committed returns only decided, committed data below
        the LSO, so a skipped record below the highest one returned was aborted."""
        seen: set[Pos] = set()
        high: dict[tuple[Any, Any], int] = {}
        for op, t, p, o, _ in self.reads:
            if op.value.get("isolation") == "read_committed":
                seen.add((t, p, o))
                if o > high.get((t, p), -1):
                    high[(t, p)] = o
        by_txn: dict[TxnKey, list[Pos]] = defaultdict(list)
        for s in self.sends:
            v = s.value
            off = _offset(v.get("offset"))
            if v.get("txn") is not None and s.outcome == "ok" and off is not None:
                by_txn[(s.process, v.get("txn_seq"))].append((v.get("topic"),
                                                             v.get("partition"), off))
        for key, positions in by_txn.items():
            if self._txn_state.get(key, (_UNCERTAIN, None))[0] != _UNCERTAIN:
                continue
            if key not in self._txn_state and key[0] in self._dead:
                continue  # already aborted by the dead-writer rule
            if not any(pos in seen for pos in positions) and all(
                    high.get((t, p), -1) > o for t, p, o in positions):
                self._txn_state[key] = (_ABORTED, None)

    def txn(self, send: Op) -> tuple[str, Op | None]:
        """(state, commit op) of a transactional send's transaction."""
        key = (send.process, send.value.get("txn_seq"))
        state = self._txn_state.get(key)
        if state is not None:
            return state
        # Never ended: aborted by the coordinator if its producer died, else still open.
        return (_ABORTED, None) if send.process in self._dead else (_UNCERTAIN, None)

    def state(self, send: Op) -> str:
        """The write state of a send (see the _FAILED... constants)."""
        if send.outcome == "fail":
            return _FAILED
        if send.value.get("txn") is None:
            return _PLAIN
        return self.txn(send)[0]

    def writer(self, topic: Any, partition: Any, offset: int, value: Any) -> Op | None:
        """The send that most plausibly wrote this record, or None if no send matches.

        The acknowledged send at that exact position when there is one; otherwise the first
        send of that value to that topic and partition whose data may be visible, or, when all
        are invisible, the first of them.
        """
        vk = _vkey(value)
        for s in self.acked_at.get((topic, partition, offset), ()):
            if _vkey(s.value.get("value")) == vk:
                return s
        memo_key = (topic, partition, vk)
        if memo_key in self._read_memo:
            return self._read_memo[memo_key]
        cands = [
            s
            for s in self.sends_of.get((topic, vk), ())
            if s.value.get("partition") in (partition, None)
        ]
        found = next((s for s in cands if self.state(s) not in _INVISIBLE), None)
        if found is None and cands:
            found = cands[0]
        self._read_memo[memo_key] = found
        return found

    def read_state(self, topic: Any, partition: Any, offset: int, value: Any) -> str | None:
        w = self.writer(topic, partition, offset, value)
        return None if w is None else self.state(w)


# --------------------------------------------------------------------------------------------
# Analyses. Each takes the index and returns an Anomaly.


def _duplicate(ix: _Index) -> Anomaly:
    """Values at more than one (non-aborted) position of a topic."""
    where: dict[tuple[Any, Hashable], dict[tuple[Any, int], None]] = {}
    original: dict[tuple[Any, Hashable], Any] = {}

    def note(topic: Any, partition: Any, offset: int, value: Any) -> None:
        key = (topic, _vkey(value))
        if key not in where:
            where[key] = {}
            original[key] = value
        where[key][(partition, offset)] = None

    for s in ix.sends:
        v = s.value
        off = _offset(v.get("offset"))
        if s.outcome == "ok" and off is not None and ix.state(s) not in _INVISIBLE:
            note(v.get("topic"), v.get("partition"), off, v.get("value"))
    for _, t, p, o, value in ix.reads:
        if ix.read_state(t, p, o, value) not in _INVISIBLE:
            note(t, p, o, value)
    out = _Collector("duplicate")
    for key, positions in where.items():
        if len(positions) > 1:
            pos = sorted(positions, key=lambda po: (_natural(po[0]), po[1]))
            out.add(
                len(positions) - 1,
                {
                    "value": original[key],
                    "topic": key[0],
                    "copies": len(pos),
                    "positions": [[p, o] for p, o in pos[:MAX_POSITIONS]],
                },
            )
    return out.anomaly()


def _inconsistent_offsets(ix: _Index) -> Anomaly:
    """Positions that sends and polls say hold different values."""
    at: dict[Pos, dict[Hashable, tuple[Any, int]]] = {}

    def note(pos: Pos, value: Any, index: int) -> None:
        seen = at.setdefault(pos, {})
        seen.setdefault(_vkey(value), (value, index))

    for pos, sends in ix.acked_at.items():
        for s in sends:
            note(pos, s.value.get("value"), s.index)
    for op, t, p, o, value in ix.reads:
        note((t, p, o), value, op.index)
    bad = [(pos, vals) for pos, vals in at.items() if len(vals) > 1]
    bad.sort(key=lambda pv: sorted(i for _, i in pv[1].values())[1])
    out = _Collector("inconsistent_offsets")
    for (t, p, o), vals in bad:
        ordered = sorted(vals.values(), key=lambda vi: vi[1])
        out.add(
            1,
            {
                "topic": t,
                "partition": p,
                "offset": o,
                "values": [v for v, _ in ordered],
                "first_seen_at": [i for _, i in ordered],
            },
        )
    return out.anomaly()


def _lost_and_unseen(ix: _Index) -> tuple[Anomaly, Anomaly]:
    """Acknowledged, visible writes never read: lost if a read covered them, else unseen."""
    read_values: set[tuple[Any, Hashable]] = set()
    read_past: dict[tuple[Any, Any], int] = {}
    verified_tps: set[tuple[Any, Any]] = set()
    verified_topics: set[Any] = set()
    for op, t, p, o, value in ix.reads:
        read_values.add((t, _vkey(value)))
        if o > read_past.get((t, p), -1):
            read_past[(t, p)] = o
        if _is_verifier(op.process):
            verified_tps.add((t, p))
            verified_topics.add(t)
    lost = _Collector("lost")
    unseen = _Collector("unseen")
    done: set[tuple[Any, Any, int, Hashable]] = set()
    for s in ix.sends:
        v = s.value
        t, p, off = v.get("topic"), v.get("partition"), _offset(v.get("offset"))
        if s.outcome != "ok" or off is None or ix.state(s) not in (_PLAIN, _COMMITTED):
            continue
        vk = _vkey(v.get("value"))
        if (t, vk) in read_values or (t, p, off, vk) in done:
            continue
        done.add((t, p, off, vk))
        example = {
            "value": v.get("value"),
            "topic": t,
            "partition": p,
            "offset": off,
            "producer": s.process,
            "send_index": s.index,
        }
        if (t, p) in verified_tps or t in verified_topics:
            lost.add(1, {**example, "covered_by": "verifier"})
        elif off < read_past.get((t, p), -1):
            lost.add(1, {**example, "covered_by": f"a poll up to offset {read_past[(t, p)]}"})
        else:
            unseen.add(1, example)
    return lost.anomaly(), unseen.anomaly()


def _bad_reads(ix: _Index) -> tuple[Anomaly, Anomaly]:
    """Reads of invisible writes (aborted_read) and of not-yet-committed ones."""
    aborted = _Collector("aborted_read")
    early = _Collector("uncommitted_read")
    done_a: set[tuple[Any, Any, int, Hashable]] = set()
    done_u: set[tuple[Any, Any, int, Hashable]] = set()
    for op, t, p, o, value in ix.reads:
        w = ix.writer(t, p, o, value)
        if w is None:
            continue
        key = (t, p, o, _vkey(value))
        state = ix.state(w)
        base = {"value": value, "topic": t, "partition": p, "offset": o, "reader": op.process}
        if state in _INVISIBLE:
            if key in done_a:
                continue
            done_a.add(key)
            why = "its send failed" if state == _FAILED else "its transaction aborted"
            aborted.add(
                1,
                {
                    **base,
                    "poll_index": op.index,
                    "why": why,
                    "producer": w.process,
                    "txn": w.value.get("txn"),
                    "txn_seq": w.value.get("txn_seq"),
                },
            )
        elif state == _COMMITTED and key not in done_u:
            commit = ix.txn(w)[1]
            assert commit is not None
            decided = commit.value.get("decided_at")  # when the coordinator decided
            before = (op.time < decided) if decided is not None else \
                (op.time, op.index) < (commit.time, commit.index)
            if before:
                done_u.add(key)
                early.add(
                    1,
                    {
                        **base,
                        "poll_index": op.index,
                        "poll_time": op.time,
                        "producer": w.process,
                        "txn": w.value.get("txn"),
                        "txn_seq": w.value.get("txn_seq"),
                        "commit_index": commit.index,
                        "commit_time": commit.time,
                    },
                )
    return aborted.anomaly(), early.anomaly()


def _sink(ix: _Index, expected_ids: Iterable[Any] | None) -> tuple[Anomaly, Anomaly]:
    """Applied sink writes per (table, id): repeats, and expected ids never written."""
    applied: dict[tuple[Any, Hashable], list[Op]] = {}
    applied_ids: set[Hashable] = set()
    for op in ix.sink_writes:
        v = op.value
        if op.outcome != "ok" or not v.get("applied", True):
            continue
        idk = _vkey(v.get("id"))
        applied.setdefault((v.get("table"), idk), []).append(op)
        applied_ids.add(idk)
    twice = _Collector("processed_twice")
    for (table, _), ops in applied.items():
        if len(ops) > 1:
            writes = [
                {"process": w.process, "index": w.index, "input": w.value.get("input")}
                for w in ops[:MAX_EXAMPLES]
            ]
            example = {
                "id": ops[0].value.get("id"),
                "table": table,
                "applied_writes": len(ops),
                "writes": writes,
            }
            twice.add(len(ops) - 1, example)
    missing = _Collector("lost_input")
    if expected_ids is not None:
        wanted = {_vkey(i): i for i in expected_ids}
        gone = [i for k, i in wanted.items() if k not in applied_ids]
        for i in sorted(gone, key=_natural):
            missing.add(1, {"id": i})
    return twice.anomaly(), missing.anomaly()


def _nonmonotonic_poll(ix: _Index) -> Anomaly:
    """Per process incarnation and partition, offsets handed out must strictly increase."""
    highest: dict[tuple[str, Any, Any], int] = {}
    out = _Collector("nonmonotonic_poll")
    flagged: set[tuple[Any, Any]] = set()
    current: Op | None = None
    for op, t, p, o, _ in ix.reads:
        if op is not current:
            current, flagged = op, set()
        key = (op.process, t, p)
        hi = highest.get(key)
        if hi is not None and o <= hi and (t, p) not in flagged:
            flagged.add((t, p))
            out.add(
                1,
                {
                    "process": op.process,
                    "topic": t,
                    "partition": p,
                    "offset": o,
                    "after_offset": hi,
                    "poll_index": op.index,
                },
            )
        if hi is None or o > hi:
            highest[key] = o
    return out.anomaly()


def _reordered(ix: _Index) -> Anomaly:
    """Adjacent (in issue order) acknowledged sends of a producer to a partition, offsets down."""
    groups: dict[tuple[str, Any, Any], list[tuple[tuple[int, int], Op, int]]] = {}
    for s in ix.sends:
        v = s.value
        off = _offset(v.get("offset"))
        if s.outcome != "ok" or off is None:
            continue
        seq = v.get("seq_no")
        order = (seq if isinstance(seq, int) else s.index, s.index)
        groups.setdefault((s.process, v.get("topic"), v.get("partition")), []).append(
            (order, s, off)
        )
    out = _Collector("reordered")
    for (process, t, p), sends in groups.items():
        sends.sort(key=lambda x: x[0])
        for (_, a, oa), (_, b, ob) in zip(sends, sends[1:], strict=False):
            if ob < oa:
                out.add(
                    1,
                    {
                        "process": process,
                        "topic": t,
                        "partition": p,
                        "first_value": a.value.get("value"),
                        "first_offset": oa,
                        "first_seq_no": a.value.get("seq_no"),
                        "second_value": b.value.get("value"),
                        "second_offset": ob,
                        "second_seq_no": b.value.get("seq_no"),
                    },
                )
    return out.anomaly()


def _fenced(ix: _Index) -> Anomaly:
    out = _Collector("fenced")
    for op in ix.fenced:
        out.add(
            1,
            {
                "process": op.process,
                "txn": op.value.get("txn"),
                "error": op.value.get("error"),
                "index": op.index,
            },
        )
    return out.anomaly()


def _torn_txn(ix: _Index, history: History) -> Anomaly:
    """Records of transactions the application aborted, read by read_committed polls."""
    torn = _Collector("torn_txn")
    # a transaction is (producer incarnation, transactional.id, its n-th transaction)
    aborted_by_app = {(op.process, op.value.get("txn"), op.value.get("txn_seq"))
                      for op in history.ops
                      if op.f == "txn_end" and op.value.get("result") == "abort"}
    if not aborted_by_app:
        return torn.anomaly()
    done: set[tuple[Any, Any, int, Hashable]] = set()
    for op, t, p, o, value in ix.reads:
        if op.value.get("isolation") != "read_committed":
            continue
        w = ix.writer(t, p, o, value)
        if w is None or (w.process, w.value.get("txn"),
                         w.value.get("txn_seq")) not in aborted_by_app:
            continue
        key = (t, p, o, _vkey(value))
        if key in done:
            continue
        done.add(key)
        torn.add(1, {"value": value, "topic": t, "partition": p, "offset": o,
                     "reader": op.process, "txn": w.value.get("txn"),
                     "txn_seq": w.value.get("txn_seq")})
    return torn.anomaly()


def check(
    history: History,
    *,
    expected_ids: Iterable[str] | None = None,
    allowed: Iterable[str] = (),
    topics: Iterable[str] | None = None,
) -> Report:
    """Run every analysis of :data:`ANOMALIES` over ``history``.

    ``expected_ids``: the input ids an end-to-end pipeline must deliver to its sink exactly
    once (enables ``lost_input``). ``allowed``: anomaly names that do not make the report
    fail. ``topics``: restrict the log analyses to these topics (None = every topic seen).
    A single string is accepted for ``allowed`` and ``topics``. Raises ValueError for an
    unknown anomaly name in ``allowed``.
    """
    allowed_set = frozenset([allowed] if isinstance(allowed, str) else allowed)
    unknown = sorted(allowed_set - ANOMALIES.keys())
    if unknown:
        raise ValueError(
            f"unknown anomaly name(s) in allowed: {', '.join(unknown)}; "
            f"known: {', '.join(ANOMALIES)}"
        )
    topic_set = None if topics is None else set([topics] if isinstance(topics, str) else topics)
    if isinstance(expected_ids, str):
        expected_ids = [expected_ids]
    ix = _Index(history, topic_set)
    lost, unseen = _lost_and_unseen(ix)
    aborted, uncommitted = _bad_reads(ix)
    twice, missing = _sink(ix, expected_ids)
    found = [
        _duplicate(ix),
        _inconsistent_offsets(ix),
        lost,
        unseen,
        aborted,
        uncommitted,
        twice,
        missing,
        _nonmonotonic_poll(ix),
        _reordered(ix),
        _fenced(ix),
        _torn_txn(ix, history),
    ]
    anomalies = {a.name: a for a in found}
    assert list(anomalies) == list(ANOMALIES)
    return Report(anomalies, allowed_set)


# --------------------------------------------------------------------------------------------
# Human-readable examples, one formatter per anomaly (used by Report.__str__).


def _fmt_positions(e: dict[str, Any]) -> str:
    by_part: dict[Any, list[int]] = {}
    for p, o in e["positions"]:
        by_part.setdefault(p, []).append(o)
    parts = []
    for p, offs in by_part.items():
        word = "offset" if len(offs) == 1 else "offsets"
        parts.append(f"{_tp(e['topic'], p)} {word} {', '.join(map(str, offs))}")
    more = ", ..." if e["copies"] > len(e["positions"]) else ""
    return f"value {e['value']!r} at {' and '.join(parts)}{more}"


def _fmt_at(e: dict[str, Any]) -> str:
    return f"{_tp(e['topic'], e['partition'])} offset {e['offset']}"


_FORMATTERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "duplicate": _fmt_positions,
    "inconsistent_offsets": lambda e: (
        f"{_fmt_at(e)} holds {', '.join(repr(v) for v in e['values'])}"
    ),
    "lost": lambda e: (
        f"value {e['value']!r} at {_fmt_at(e)}, acknowledged to {e['producer']}, never read"
    ),
    "unseen": lambda e: f"value {e['value']!r} at {_fmt_at(e)}, never read",
    "aborted_read": lambda e: (
        f"{e['reader']} read value {e['value']!r} at {_fmt_at(e)}, but {e['why']}"
    ),
    "uncommitted_read": lambda e: (
        f"{e['reader']} read value {e['value']!r} at {_fmt_at(e)} before {e['producer']}'s "
        f"transaction {e['txn_seq']} committed"
    ),
    "processed_twice": lambda e: (
        f"id {e['id']!r} applied to {e['table']} {e['applied_writes']} times"
    ),
    "lost_input": lambda e: f"id {e['id']!r} never written",
    "nonmonotonic_poll": lambda e: (
        f"{e['process']} got {_fmt_at(e)} after already getting offset {e['after_offset']}"
    ),
    "reordered": lambda e: (
        f"{e['process']} sent {e['first_value']!r} before {e['second_value']!r}, but they sit "
        f"at {_tp(e['topic'], e['partition'])} offsets {e['first_offset']} and "
        f"{e['second_offset']}"
    ),
    "fenced": lambda e: f"{e['process']} fenced ({e['error']})",
    "torn_txn": lambda e: (
        f"{e['reader']} (read_committed) read value {e['value']!r} at {_fmt_at(e)}, written in "
        f"transaction {e['txn_seq']} of {e['txn']!r}, which the application aborted"
    ),
}
