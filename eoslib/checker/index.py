"""One pass over a history: the lookups and write states every analysis reads."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

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
    parts = re.split(r"(\d+)", str(x))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def is_verifier(process: str) -> bool:
    """Whether ``process`` is the final reader (``verifier``, ``verifier#2``...)."""
    return process == "verifier" or process.startswith(("verifier#", "verifier-"))


def offset_of(v: Any) -> int | None:
    """A known offset (an int >= 0), else None."""
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


class Index:
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
                off = offset_of(v.get("offset"))
                if op.outcome == "ok" and off is not None:
                    self.acked_at[(v.get("topic"), v.get("partition"), off)].append(op)
                self.sends_of[(v.get("topic"), vkey(v.get("value")))].append(op)
            elif f == "poll":
                for rec in v.get("records") or ():
                    topic, partition, offset, value = rec
                    if self._wanted(topic) and offset_of(offset) is not None:
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
        self._resolve_by_reads()
        self._read_memo: dict[tuple[Any, Any, Hashable], Op | None] = {}
        #: results analyses share (e.g. lost and unseen come from one pass)
        self.memo: dict[str, Any] = {}

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
            off = offset_of(v.get("offset"))
            if v.get("txn") is not None and s.outcome == "ok" and off is not None:
                by_txn[(s.process, v.get("txn_seq"))].append((v.get("topic"),
                                                             v.get("partition"), off))
        for key, positions in by_txn.items():
            if self._txn_state.get(key, (UNCERTAIN, None))[0] != UNCERTAIN:
                continue
            if key not in self._txn_state and key[0] in self._dead:
                continue  # already aborted by the dead-writer rule
            if not any(pos in seen for pos in positions) and all(
                    high.get((t, p), -1) > o for t, p, o in positions):
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

    def writer(self, topic: Any, partition: Any, offset: int, value: Any) -> Op | None:
        """The send that most plausibly wrote this record, or None if no send matches.

        The acknowledged send at that exact position when there is one; otherwise the first
        send of that value to that topic and partition whose data may be visible, or, when all
        are invisible, the first of them.
        """
        vk = vkey(value)
        for s in self.acked_at.get((topic, partition, offset), ()):
            if vkey(s.value.get("value")) == vk:
                return s
        memo_key = (topic, partition, vk)
        if memo_key in self._read_memo:
            return self._read_memo[memo_key]
        cands = [
            s
            for s in self.sends_of.get((topic, vk), ())
            if s.value.get("partition") in (partition, None)
        ]
        found = next((s for s in cands if self.state(s) not in INVISIBLE), None)
        if found is None and cands:
            found = cands[0]
        self._read_memo[memo_key] = found
        return found

    def read_state(self, topic: Any, partition: Any, offset: int, value: Any) -> str | None:
        w = self.writer(topic, partition, offset, value)
        return None if w is None else self.state(w)
