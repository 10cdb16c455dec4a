"""What readers were handed: aborted_read, uncommitted_read, nonmonotonic_poll, torn_txn."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from eoslib.checker.index import COMMITTED, FAILED, INVISIBLE, Index, vkey
from eoslib.checker.report import Anomaly, Collector, at, formatter
from eoslib.history import History


def _bad_reads(ix: Index) -> tuple[Collector, Collector]:
    """Reads of invisible writes (aborted_read) and of not-yet-committed ones."""
    if "bad_reads" in ix.memo:
        return ix.memo["bad_reads"]
    aborted = Collector("aborted_read")
    early = Collector("uncommitted_read")
    done_a: set[tuple[Any, Any, int, Hashable]] = set()
    done_u: set[tuple[Any, Any, int, Hashable]] = set()
    for r in ix.reads:
        w = ix.writer(r)
        if w is None:
            continue
        op, t, p, o, value = r.op, r.topic, r.partition, r.offset, r.value
        key = (t, p, o, vkey(value))
        state = ix.state(w)
        base = {"value": value, "topic": t, "partition": p, "offset": o, "reader": op.process,
                "writer": w.process}
        if state in INVISIBLE:
            if key in done_a:
                continue
            done_a.add(key)
            why = "its send failed" if state == FAILED else "its transaction aborted"
            aborted.add(1, {**base, "poll_index": op.index, "why": why, "producer": w.process,
                            "txn": w.value.get("txn"), "txn_seq": w.value.get("txn_seq")})
        elif state == COMMITTED and key not in done_u:
            commit = ix.txn(w)[1]
            assert commit is not None
            decided = commit.value.get("decided_at")  # when the coordinator decided
            before = (op.time < decided) if decided is not None else \
                (op.time, op.index) < (commit.time, commit.index)
            if before:
                done_u.add(key)
                early.add(1, {**base, "poll_index": op.index, "poll_time": op.time,
                              "producer": w.process, "txn": w.value.get("txn"),
                              "txn_seq": w.value.get("txn_seq"),
                              "commit_index": commit.index, "commit_time": commit.time})
    ix.memo["bad_reads"] = aborted, early
    return aborted, early


def aborted_read(ix: Index) -> Anomaly:
    """``aborted_read`` (G1a): a poll returned a record whose write is invisible: its send
    definitely failed or its transaction aborted. The record is tied to its write by its
    producer id, epoch and sequence (or the send acknowledged at its offset), never by its
    value, so a copy an aborted incarnation wrote is blamed on that incarnation. Count:
    distinct records (position and value) so read."""
    return _bad_reads(ix)[0].anomaly()


def uncommitted_read(ix: Index) -> Anomaly:
    """``uncommitted_read``: a poll returned a record of a transaction that later committed,
    before the commit completed (``read_uncommitted`` behaviour): the poll's (time, index) is
    below the ``txn_end``'s (or the poll precedes the coordinator's decision,
    ``decided_at``, when recorded). Count: distinct records so read."""
    return _bad_reads(ix)[1].anomaly()


formatter("aborted_read")(lambda e: (
    f"{e['reader']} read value {e['value']!r} at {at(e)}, but {e['why']}"))
formatter("uncommitted_read")(lambda e: (
    f"{e['reader']} read value {e['value']!r} at {at(e)} before {e['producer']}'s "
    f"transaction {e['txn_seq']} committed"))


def nonmonotonic_poll(ix: Index) -> Anomaly:
    """``nonmonotonic_poll``: a process (one incarnation) was handed, for a partition, an
    offset at or below the highest it had already received (earlier in the same poll, or in
    an earlier poll), with no seek of its own on that partition in between (a seek, e.g. the
    rewind after an abort, starts the count again). Count: (poll, partition) pairs."""
    highest: dict[tuple[str, Any, Any], int] = {}
    since: dict[tuple[str, Any, Any], int] = {}  # history index of the read that set it
    out = Collector("nonmonotonic_poll")
    flagged: set[tuple[Any, Any]] = set()
    current = None
    for r in ix.reads:
        op, t, p, o = r.op, r.topic, r.partition, r.offset
        if op is not current:
            current, flagged = op, set()
        key = (op.process, t, p)
        hi = highest.get(key)
        if hi is not None and key in ix.seeks and any(
                since[key] < s < op.index for s in ix.seeks[key]):
            hi = None  # the process sought since: reading again is what it asked for
        if hi is not None and o <= hi and (t, p) not in flagged:
            flagged.add((t, p))
            out.add(1, {"process": op.process, "topic": t, "partition": p, "offset": o,
                        "after_offset": hi, "poll_index": op.index})
        if hi is None or o > hi:
            highest[key], since[key] = o, op.index
    return out.anomaly()


formatter("nonmonotonic_poll")(lambda e: (
    f"{e['process']} got {at(e)} after already getting offset {e['after_offset']}"))


def torn_txn(ix: Index, history: History) -> Anomaly:
    """``torn_txn``: a ``read_committed`` poll returned a record of a transaction the
    application ended with ``abort`` (whatever the abort call returned): a stale
    EndTxn(commit) committed it behind the application's back (KAFKA-17754, transaction
    version 1). Count: distinct records."""
    torn = Collector("torn_txn")
    # a transaction is (producer incarnation, transactional.id, its n-th transaction)
    aborted_by_app = {(op.process, op.value.get("txn"), op.value.get("txn_seq"))
                      for op in history.ops
                      if op.f == "txn_end" and op.value.get("result") == "abort"}
    if not aborted_by_app:
        return torn.anomaly()
    done: set[tuple[Any, Any, int, Hashable]] = set()
    for r in ix.reads:
        op, t, p, o, value = r.op, r.topic, r.partition, r.offset, r.value
        if op.value.get("isolation") != "read_committed":
            continue
        w = ix.writer(r)
        if w is None or (w.process, w.value.get("txn"),
                         w.value.get("txn_seq")) not in aborted_by_app:
            continue
        key = (t, p, o, vkey(value))
        if key in done:
            continue
        done.add(key)
        torn.add(1, {"value": value, "topic": t, "partition": p, "offset": o,
                     "reader": op.process, "txn": w.value.get("txn"),
                     "txn_seq": w.value.get("txn_seq")})
    return torn.anomaly()


formatter("torn_txn")(lambda e: (
    f"{e['reader']} (read_committed) read value {e['value']!r} at {at(e)}, written in "
    f"transaction {e['txn_seq']} of {e['txn']!r}, which the application aborted"))
