"""The history: every observable operation of a run, in the order it completed.

A history is what the checker reads. The simulation records one, and so does the
real-broker backend, with the same operations, so one checker judges both.

Each :class:`Op` has a ``process`` (who did it: ``"producer-1"``, ``"app-1#2"`` for the
second incarnation of ``app-1`` after a restart, ``"verifier"`` for the final reads), an
``f`` (what kind of operation), an ``outcome`` and a ``value`` whose fields depend on ``f``:

==============  ==========================================================================
``f``           ``value`` fields
==============  ==========================================================================
``send``        ``topic``, ``partition``, ``key``, ``value``, ``offset`` (``None`` unless
                acknowledged), ``txn`` (``transactional.id`` or ``None``), ``txn_seq``
                (which transaction of this producer, counting from 0, or ``None``),
                ``error`` (Kafka error name or ``None``); optional: ``pid``, ``epoch``,
                ``seq`` (the record's identity in the log: producer id, epoch, sequence;
                -1 when the producer has none), ``earlier`` (``[epoch, seq]`` it was sent
                under before a KIP-360 re-sequencing), ``headers`` (dict; ``input`` names
                the input message the record derives from).
                outcome ``ok`` = acknowledged; ``fail`` = definitely not written;
                ``info`` = unknown (the client crashed or gave up while it was in flight).
``poll``        ``records``: list of ``[topic, partition, offset, value]``;
                ``isolation``: ``read_committed`` / ``read_uncommitted``; ``group``;
                optional, parallel to ``records``: ``writers`` (``[producer id, epoch,
                sequence]`` from the record batch's header, or null) and ``headers``;
                ``covered``: ``[topic, partition]`` a reader read whole from its start
                (a verifier's final read, even when it returned nothing).
``commit``      ``group``, ``offsets``: list of ``[topic, partition, offset]`` (the next
                offset to read), ``txn`` (set when sent with ``send_offsets_to_transaction``).
``txn_end``     ``txn``, ``txn_seq``, ``result`` (``commit`` / ``abort``). outcome ``ok``
                when the coordinator completed it, ``fail`` when it definitely did not,
                ``info`` when unknown (response lost, client crashed).
``sink_write``  ``table``, ``id`` (the input message's id), ``input`` (``[topic,
                partition, offset]``), ``applied`` (False when the sink recognised a
                repeat and changed nothing).
``crash``       ``step``: the named step of the loop at which the process died.
``fenced``      ``txn``, ``error``: the producer was fenced and must be closed; ``error``
                is the client's (librdkafka ``_FENCED``, Java ``PRODUCER_FENCED``),
                ``request``/``reply`` which request got which broker answer.
``committed``   ``group``, ``offsets``: ``[topic, partition, offset]``: a group's committed
                offsets (or a sink's stored ones, group ``sink NAME``) as a reader asked at
                the end: the inputs below them were consumed.
``seek``        ``topic``, ``partition``, ``offset``: the process moved its consumer (e.g.
                back to the committed offset after an abort); a re-read after it is asked for.
``note``        free-form ``text``; ignored by the checker.
==============  ==========================================================================

Values are plain JSON types (str, int, float, bool, None, lists, dicts) so a history
serialises to JSON identically in any process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

OUTCOMES = ("ok", "fail", "info")
KINDS = ("send", "poll", "commit", "txn_end", "sink_write", "crash", "fenced", "committed",
         "note", "seek")


class Op(NamedTuple):
    """One completed operation (an immutable tuple: cheap to make, safe to share)."""

    index: int
    time: float
    process: str
    f: str
    outcome: str
    value: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The op as a plain dict (stable key order)."""
        return {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "f": self.f,
            "outcome": self.outcome,
            "value": dict(self.value),
        }


_new_op = tuple.__new__  # Op(...) without the namedtuple's Python-level __new__


@dataclass
class History:
    """An append-only list of :class:`Op`, numbered in order of recording."""

    ops: list[Op] = field(default_factory=list)

    def record(
        self, time: float, process: str, f: str, outcome: str = "ok", **value: Any
    ) -> Op:
        """Append one operation and return it.

        Raises ValueError for an unknown ``f`` or ``outcome`` (a bug in the recorder).
        """
        return self.add(time, process, f, outcome, value)

    def add(self, time: float, process: str, f: str, outcome: str,
            value: dict[str, Any]) -> Op:
        """:meth:`record` with the value as a dict the history keeps (not copied): for
        recorders that build it anyway."""
        if f not in KINDS:
            raise ValueError(f"history op f={f!r} is not one of {', '.join(KINDS)}")
        if outcome not in OUTCOMES:
            raise ValueError(
                f"history op outcome={outcome!r} is not one of {', '.join(OUTCOMES)}"
            )
        ops = self.ops
        op = _new_op(Op, (len(ops), float(time), process, f, outcome, value))
        ops.append(op)
        return op

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def of(self, f: str) -> list[Op]:
        """All ops of one kind, in order."""
        return [op for op in self.ops if op.f == f]

    def to_json(self) -> list[dict[str, Any]]:
        """The history as a list of plain dicts."""
        return [op.to_json() for op in self.ops]

    def dumps(self) -> str:
        """Canonical JSON text (sorted keys, no spaces): identical for identical histories."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: list[Mapping[str, Any]]) -> History:
        """Rebuild a history from :meth:`to_json` output (re-numbering the ops)."""
        h = cls()
        for d in data:
            h.record(d["time"], d["process"], d["f"], d["outcome"], **d["value"])
        return h
