"""What a consumer is handed from a partition, and what became of an answer: read from the
folded :class:`~eoslib.protocol_state.ProtocolState` and the trace.

:func:`reader_view` says, for every offset of a partition, whether a consumer was handed it,
will be, skips it (an aborted record under read_committed), never gets it (a marker) or
cannot read it yet (at or past the LSO or the HW); :func:`readers` lists the consumers that
read a partition; :func:`answer_fate` says whether an answer reached the producer, was held
behind a lost one, came too late or was lost. The views, captions and the HTML player read
these; :mod:`eoslib.protocol_state` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eoslib.protocol_state import ProtocolState
    from eoslib.result import TraceEvent


#: What a reader does with each offset of a partition (see :func:`reader_view`).
READER_FATES = ("returned", "unread", "passed", "skipped", "control", "beyond")


@dataclass
class ReaderView:
    """What one consumer is handed from one partition under its ``isolation.level``.

    ``fates`` maps every offset of the log to one of :data:`READER_FATES`: ``returned``
    (a poll handed it to the application), ``unread`` (readable, at or after its position,
    not handed yet), ``passed`` (before its position, never handed to this consumer: an
    earlier instance read it, or a seek or the committed offset skipped it),
    ``skipped`` (an aborted record a read_committed reader never returns), ``control`` (a
    COMMIT/ABORT marker: never returned to any application), ``beyond`` (at or past
    ``limit``: the LSO for read_committed, the HW for read_uncommitted). ``aborted_reads``
    lists the aborted offsets it was handed (read_uncommitted only)."""

    consumer: str
    tp: str
    isolation: str
    group: str | None
    position: int | None
    committed: int | None
    limit: int
    limit_name: str  # "LSO" or "HW"
    fates: dict[int, str] = field(default_factory=dict)
    aborted_reads: list[int] = field(default_factory=list)

    @property
    def waits_on_open_txn(self) -> bool:
        """True when a read_committed reader stops at an open transaction (LSO < HW)."""
        return self.limit_name == "LSO" and any(f == "beyond" for f in self.fates.values())


def reader_view(st: ProtocolState, consumer: str, tp: str,
                isolation: str | None = None) -> ReaderView:
    """What ``consumer`` is handed from partition ``tp`` at this state (its isolation level
    as its polls recorded it, or ``isolation`` when given or never recorded)."""
    level = isolation or st.isolation.get(consumer) or "read_uncommitted"
    p = st.partition(tp)
    rc = level == "read_committed"
    limit = p.lso if rc else p.hw
    group = st.groups_of.get(consumer)
    got = set(st.handed.get(consumer, {}).get(tp, ()))
    view = ReaderView(consumer, tp, level, group, st.positions.get(consumer, {}).get(tp),
                      st.committed.get(group or "", {}).get(tp), limit,
                      "LSO" if rc else "HW")
    # where its reading starts: its position, or (before its first fetch) the group's
    # committed offset, from which it will start
    start = view.position if view.position is not None else view.committed
    for c in p.cells:
        if c.control:
            fate = "control"
        elif c.offset >= limit:
            fate = "beyond"
        elif rc and c.status == "aborted":
            fate = "skipped"
        elif c.offset in got:
            fate = "returned"
        else:
            fate = "passed" if start is not None and c.offset < start else "unread"
        view.fates[c.offset] = fate
        if fate == "returned" and c.status == "aborted":
            view.aborted_reads.append(c.offset)
    return view


def readers(st: ProtocolState, tp: str) -> list[str]:
    """The consumers that read ``tp`` at this state (assigned it or holding a position on
    it), whose isolation level is known, and that have not crashed."""
    lanes = {c for c, pos in st.positions.items() if tp in pos}
    lanes |= {c for c, tps in st.assigned.items() if tp in tps}
    return sorted(c for c in lanes if c not in st.crashed and not _crashed_app(st, c)
                  and c in st.isolation)


def _crashed_app(st: ProtocolState, lane: str) -> bool:
    """True if ``lane`` belongs to an application that crashed (``app-1-consumer``)."""
    return any(lane.startswith(app + "-") for app in st.crashed)


def answer_fate(trace: list[TraceEvent], step: int) -> str:
    """What became of the answer trace event ``step`` carried to a producer: ``handed``
    (the producer got it), ``held`` (it reached the connection but waited behind an earlier
    unanswered request until the request timed out, so the producer never used it),
    ``ignored`` (it came too late) or ``lost``. Read from the events after it."""
    ev = trace[step]
    d = ev.get("data") or {}
    if d.get("lost"):
        return "lost"
    if d.get("ignored"):
        return "ignored"
    ref = ev.get("ref")
    if not ref:
        return "handed"
    for later in trace[step + 1:]:
        if later.get("ref") != ref or later["kind"] in ("request", "append", "dedup"):
            continue
        return "held" if later["kind"] == "timeout" else "handed"
    return "handed"
