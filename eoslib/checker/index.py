"""One pass over a history: the lookups and write states every analysis reads."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

from eoslib.history import History, Op


def vkey(v: Any) -> Hashable:
    """A hashable key for a JSON value; keeps True apart from 1, serialises lists and dicts."""
    if v is None or type(v) in (str, int, float):
        return v
    if isinstance(v, bool):
        return ("bool", v)
    return ("json", json.dumps(v, sort_keys=True, default=repr))


def natural(x: Any) -> tuple[Any, ...]:
    """Sort key putting 'm2' before 'm10'."""
    if type(x) is int and x >= 0:  # a partition: what the split below gives for its digits
        return ((1, 0, ""), (0, x, ""), (1, 0, ""))
    return _natural(str(x))


@functools.lru_cache(maxsize=4096)  # the same ids and values are sorted again and again
def _natural(text: str) -> tuple[Any, ...]:
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def is_verifier(process: str) -> bool:
    """Whether ``process`` is the final reader (``verifier``, ``verifier#2``...)."""
    return process == "verifier" or process.startswith(("verifier#", "verifier-"))


def offset_of(v: Any) -> int | None:
    """A known offset (an int >= 0), else None."""
    if type(v) is int:  # the common case, first
        return v if v >= 0 else None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        return None
    return v


# Write states: whether a send's data may be visible to a read_committed reader.
FAILED = "failed"  # send definitely failed
ABORTED = "aborted"  # its transaction aborted
COMMITTED = "committed"  # its transaction committed
UNCERTAIN = "uncertain"  # its transaction's outcome is unknown (or still open)
PLAIN = "plain"  # not transactional, not failed
INVISIBLE = (FAILED, ABORTED)

TxnKey = tuple[str, Any]
Pos = tuple[Any, Any, int]
#: a write's identity in the log: (topic, partition, producer id, epoch, sequence)
Ident = tuple[Any, Any, int, int, int]


class Read(NamedTuple):
    """One record a poll returned: where it sits, what it holds, and who wrote it as the
    record batch's header says (``writer`` = (producer id, epoch, sequence), None when the
    history does not say) and its headers (None when it has none or the history lacks them)."""

    op: Op
    topic: Any
    partition: Any
    offset: int
    value: Any
    writer: tuple[int, int, int] | None
    headers: Mapping[str, Any] | None


_new_read = tuple.__new__  # Read(...) without the namedtuple's Python-level __new__


def input_of(headers: Mapping[str, Any] | None) -> Any:
    """The input id a record derives from: its ``input`` header (None when it has none)."""
    if headers is None:
        return None
    if type(headers) is dict:  # the common case: no abc check
        return headers.get("input")
    return headers.get("input") if isinstance(headers, Mapping) else None


def message_key(value: Any, headers: Mapping[str, Any] | None) -> Hashable:
    """What makes two records the same message: the input they derive from (their ``input``
    header), else their value (the course's values are unique per message, as Jepsen's)."""
    i = headers.get("input") if type(headers) is dict else input_of(headers)
    return ("input", vkey(i)) if i is not None else ("value", vkey(value))


def _ident(v: Mapping[str, Any]) -> list[Ident]:
    """The log identities a send may have: (pid, epoch, seq), and earlier ones (KIP-360)."""
    pid, epoch, seq = v.get("pid"), v.get("epoch"), v.get("seq")
    if not isinstance(pid, int) or pid < 0 or not isinstance(seq, int) or seq < 0:
        return []
    t, p = v.get("topic"), v.get("partition")
    out = [(t, p, pid, epoch, seq)]
    out.extend((t, p, pid, e, s) for e, s in v.get("earlier") or ())
    return out


class Index:
    """One pass over the history: the lookups every analysis needs."""

    def __init__(self, history: History, topics: set[str] | None) -> None:
        self.topics = topics
        self.sends: list[Op] = []  # sends in the selected topics, history order
        self.acked_at: dict[Pos, list[Op]] = defaultdict(list)
        self.by_ident: dict[Ident, Op] = {}
        self.reads: list[Read] = []  # history order
        self.polls = 0  # polls of the selected topics (verifiers' included)
        #: (topic, partition) -> the last poll that read it whole (``covered``), by isolation
        self.covered: dict[tuple[Any, Any, Any], Op] = {}
        self.sink_writes: list[Op] = []
        self.fenced: list[Op] = []
        #: (process, topic, partition) -> history indexes of the process's seeks on it
        self.seeks: dict[tuple[str, Any, Any], list[int]] = defaultdict(list)
        #: (topic, partition) -> the highest offset a group committed (or a sink stored)
        #: by the end, from ``committed`` ops: inputs below it were consumed
        self.consumed: dict[tuple[Any, Any], int] = {}
        txn_ends: dict[TxnKey, list[Op]] = defaultdict(list)
        dead: set[str] = set()
        sends, acked_at, by_ident, reads = self.sends, self.acked_at, self.by_ident, self.reads
        for op in history:
            f, v = op.f, op.value
            if f == "send":
                topic = v.get("topic")
                if topics is not None and topic not in topics:
                    continue
                sends.append(op)
                off = v.get("offset")
                if type(off) is not int:
                    off = offset_of(off)
                elif off < 0:
                    off = None
                if op.outcome == "ok" and off is not None:
                    acked_at[(topic, v.get("partition"), off)].append(op)
                for ident in _ident(v):
                    if ident not in by_ident:
                        by_ident[ident] = op
            elif f == "poll":
                writers = v.get("writers") or ()
                heads = v.get("headers") or ()
                nw, nh = len(writers), len(heads)
                wanted = False
                for i, rec in enumerate(v.get("records") or ()):
                    topic, partition, offset, value = rec[:4]
                    if (topics is None or topic in topics) and offset_of(offset) is not None:
                        w = writers[i] if i < nw else None
                        reads.append(_new_read(Read, (op, topic, partition, offset, value,
                                                      tuple(w) if w else None,
                                                      heads[i] if i < nh else None)))
                        wanted = True
                cov = v.get("covered")
                if cov and self._wanted(cov[0]):
                    self.covered[(cov[0], cov[1], v.get("isolation"))] = op
                    wanted = True
                self.polls += wanted
            elif f == "txn_end":
                txn_ends[(op.process, v.get("txn_seq"))].append(op)
            elif f == "sink_write":
                self.sink_writes.append(op)
            elif f == "seek":
                self.seeks[(op.process, v.get("topic"), v.get("partition"))].append(op.index)
            elif f == "fenced":
                self.fenced.append(op)
                dead.add(op.process)
            elif f == "crash":
                dead.add(op.process)
            elif f == "committed":
                for t, p, o in v.get("offsets") or ():
                    if isinstance(o, int) and o > self.consumed.get((t, p), -1):
                        self.consumed[(t, p)] = o
        self._txn_state: dict[TxnKey, tuple[str, Op | None]] = {}
        fenced_processes = {op.process for op in self.fenced}
        for key, ends in txn_ends.items():
            ok = [e for e in ends if e.outcome == "ok"]
            commit = next((e for e in ok if e.value.get("result") == "commit"), None)
            if commit is not None:
                self._txn_state[key] = (COMMITTED, commit)
            elif any(e.value.get("result") == "abort" for e in ok):
                self._txn_state[key] = (ABORTED, None)
            elif key[0] in dead and all(e.value.get("result") == "abort" for e in ends):
                # only aborts were attempted (outcome unknown) and the process then died:
                # nobody asked for a commit, so the transaction was aborted
                self._txn_state[key] = (ABORTED, None)
            elif key[0] in fenced_processes:
                # the fencer (a new instance, or the coordinator's timeout) aborts the open
                # transaction; a decided commit cannot be fenced, so no commit = aborted
                self._txn_state[key] = (ABORTED, None)
            else:
                self._txn_state[key] = (UNCERTAIN, None)
        self._dead = dead
        self._writers: dict[int, Op | None] = {}
        #: results analyses share (e.g. lost and unseen come from one pass)
        self.memo: dict[str, Any] = {}
        self._resolve_by_reads()

    def _wanted(self, topic: Any) -> bool:
        return self.topics is None or topic in self.topics

    def _resolve_by_reads(self) -> None:
        """A transaction whose writer never learned the outcome (commit answer lost, then
        the writer died) is aborted if read_committed reads went past all of its records
        without returning any: read_committed returns only decided, committed data below
        the LSO, so a skipped record below the highest one returned was aborted."""
        seen: set[TxnKey] = set()
        high: dict[tuple[Any, Any], int] = {}
        for r in self.reads:
            if r.op.value.get("isolation") == "read_committed":
                w = self.writer(r)
                if w is not None:
                    seen.add((w.process, w.value.get("txn_seq")))
                if r.offset > high.get((r.topic, r.partition), -1):
                    high[(r.topic, r.partition)] = r.offset
        by_txn: dict[TxnKey, list[Pos]] = defaultdict(list)
        for s in self.sends:
            v = s.value
            off = offset_of(v.get("offset"))
            if v.get("txn") is not None and s.outcome == "ok" and off is not None:
                by_txn[(s.process, v.get("txn_seq"))].append((v.get("topic"),
                                                             v.get("partition"), off))
        for key, positions in by_txn.items():
            if self._txn_state.get(key, (UNCERTAIN, None))[0] != UNCERTAIN:
                continue
            if key not in self._txn_state and key[0] in self._dead:
                continue  # already aborted by the dead-writer rule
            if key not in seen and all(high.get((t, p), -1) > o for t, p, o in positions):
                self._txn_state[key] = (ABORTED, None)

    def txn(self, send: Op) -> tuple[str, Op | None]:
        """(state, commit op) of a transactional send's transaction."""
        key = (send.process, send.value.get("txn_seq"))
        state = self._txn_state.get(key)
        if state is not None:
            return state
        # Never ended: aborted by the coordinator if its producer died, else still open.
        return (ABORTED, None) if send.process in self._dead else (UNCERTAIN, None)

    def state(self, send: Op) -> str:
        """The write state of a send (see the FAILED... constants)."""
        if send.outcome == "fail":
            return FAILED
        if send.value.get("txn") is None:
            return PLAIN
        return self.txn(send)[0]

    def writer(self, r: Read) -> Op | None:
        """The send that wrote the record ``r`` read, by identity, never by value: the send
        with the record's (producer id, epoch, sequence) in that partition; for a record
        without one (a producer without idempotence, or a history that does not say), the
        send acknowledged at that position. None when neither names a send."""
        key = id(r)
        if key in self._writers:
            return self._writers[key]
        found: Op | None = None
        w = r.writer
        if w is not None and w[0] >= 0 and w[2] >= 0:
            ident = (r.topic, r.partition, *w)
            found = self.by_ident.get(ident)
            if found is not None:
                # librdkafka reuses a purged retry's sequence in its next transaction (same
                # epoch; rd_kafka_toppar_purge_queues): of two sends with this identity,
                # the one acknowledged at this offset wrote the record
                found = next((s for s in self.acked_at.get((r.topic, r.partition, r.offset),
                                                           ()) if ident in _ident(s.value)),
                             found)
            if found is None:  # sends recorded without identities: the one acked there
                found = next((s for s in self.acked_at.get((r.topic, r.partition, r.offset),
                                                           ()) if "pid" not in s.value), None)
        else:
            acked = self.acked_at.get((r.topic, r.partition, r.offset), ())
            if w is not None:  # the batch says: no producer id, so a plain producer's
                acked = [s for s in acked if not isinstance(s.value.get("pid"), int)
                         or s.value["pid"] < 0]
            if len(acked) > 1:  # the position was reused (truncation): the one it holds
                acked = [s for s in acked if vkey(s.value.get("value")) == vkey(r.value)]
            found = acked[0] if acked else None
        self._writers[key] = found
        return found

    def read_state(self, r: Read) -> str | None:
        """The write state of the record ``r`` read: its writer's, PLAIN for a record its
        batch header says no producer id wrote (nothing can abort it), None when unknown."""
        w = self.writer(r)
        if w is not None:
            return self.state(w)
        if r.writer is not None and r.writer[0] < 0:
            return PLAIN
        if r.topic not in self.transactional_topics():
            return PLAIN  # no transactional producer wrote to the topic: nothing aborts it
        return None

    def transactional_topics(self) -> set[Any]:
        """Topics some transactional send of the history wrote to."""
        if "txn_topics" not in self.memo:
            self.memo["txn_topics"] = {s.value.get("topic") for s in self.sends
                                       if s.value.get("txn") is not None}
        return self.memo["txn_topics"]

    def unattributed(self) -> list[Read]:
        """Reads whose write the history does not name (their state is unknown)."""
        if "unattributed" not in self.memo:
            self.memo["unattributed"] = [r for r in self.reads if self.read_state(r) is None]
        return self.memo["unattributed"]
