"""Fault points: the places in a run where one fault can be put, and their words.

A point is found in a run: every request of every API is two points (lose the request on its
way, or lose its answer on the way back), and every batch the application polls is one point
per crash step; every write of the transaction coordinator to ``__transaction_state`` is one
point (it dies right after), and every Produce append one more (the leader dies right after).
A placed set of points becomes a :class:`~eoslib.faults.FaultPlan` (``drop``, ``kill``,
``crash_step``, ``crash_at``) that ``eoslib run`` accepts too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eoslib.faults import CRASH_STEPS, DROP_APIS, KILL_POINTS
from eoslib.network import API_NAMES

if TYPE_CHECKING:
    from eoslib.history import History
    from eoslib.result import Result

#: Fault kinds the explorer knows, for ``--faults``.
KINDS: dict[str, str] = {
    "request": "a lost request (any API: Produce, InitProducerId, AddPartitionsToTxn, "
               "AddOffsetsToTxn, TxnOffsetCommit, EndTxn, OffsetCommit)",
    "response": "a lost response (any API)",
    "crash": "an application crash at one step of one loop iteration "
             f"({', '.join(CRASH_STEPS)})",
    "coordinator": "a transaction-coordinator crash right after one of its state writes "
                   "(each transition to __transaction_state); a successor takes over",
    "leader": "a partition-leader crash right after one Produce append, before it answers "
              "(the broker comes back with its log)",
    "group-coordinator": "a group-coordinator crash right after one of its writes to "
                         "__consumer_offsets (OffsetCommit, TxnOffsetCommit), before it "
                         "answers; a successor loads the offsets",
    "follower": "a follower crash right after one append of a replicated partition (back "
                "200 ms later)",
    "follower-lag": "a follower falling behind right after one append: out of the ISR for "
                    "replica.lag.time.max.ms (30 s), then it catches up",
}
#: ``kill`` point of each of those kinds.
_KILL = {"coordinator": "txn_coordinator", "leader": "leader",
         "group-coordinator": "group_coordinator", "follower": "follower",
         "follower-lag": "follower_lag"}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Point:
    """One fault: ``kind`` is ``request``/``response`` (``api`` and the 1-based request
    number ``n``), ``crash`` (``api`` holds the crash step and ``n`` the index of the
    first input message of the batch), or ``coordinator``/``leader`` (``api`` is the
    :data:`~eoslib.faults.KILL_POINTS` name, ``n`` the 1-based state write or append)."""

    kind: str
    api: str
    n: int

    @property
    def key(self) -> tuple[int, int, int, int]:
        """Sort key: application crashes first, in loop order (batch, then step); then
        network losses by API (:data:`DROP_APIS` order), request number, request before
        response."""
        if self.kind == "crash":
            return (0, self.n, CRASH_STEPS.index(self.api), 0)
        if self.api in KILL_POINTS:
            return (2, KILL_POINTS.index(self.api), self.n, 0)
        return (1, DROP_APIS.index(self.api), self.n, 0 if self.kind == "request" else 1)

    def __lt__(self, other: Point) -> bool:
        return self.key < other.key

    def words(self) -> str:
        """The fault in words: "lose the response to the 2nd Produce"."""
        if self.kind == "crash":
            return f"crash {self.api} in the iteration that processes m{self.n}"
        if self.kind == "coordinator":
            return (f"crash the transaction coordinator right after its {_ordinal(self.n)} "
                    "state write")
        if self.kind == "leader":
            return f"crash the partition leader right after the {_ordinal(self.n)} append"
        if self.kind == "group-coordinator":
            return (f"crash the group coordinator right after its {_ordinal(self.n)} write "
                    "to __consumer_offsets")
        if self.kind == "follower":
            return f"crash a follower right after the {_ordinal(self.n)} append"
        if self.kind == "follower-lag":
            return (f"a follower falls out of the ISR right after the {_ordinal(self.n)} "
                    "append")
        what = "the response to" if self.kind == "response" else "the request of"
        return f"lose {what} the {_ordinal(self.n)} {API_NAMES.get(self.api, self.api)}"

    def token(self) -> str:
        """The point as ``drop``'s syntax (``produce.response.2``) or ``crash:STEP:N``."""
        if self.kind == "crash":
            return f"crash:{self.api}:{self.n}"
        if self.api in KILL_POINTS:
            return f"{self.api}.{self.n}"
        return f"{self.api}.{self.kind}.{self.n}"


def points_of(result: Result, kinds: frozenset[str], app: str = "app-") -> list[Point]:
    """Every point of ``kinds`` in ``result``: two per request sent, one per crash step
    and batch the application polled (its first message names the batch), one per state
    write of the transaction coordinator and one per Produce append."""
    return points_in(result.requests, result.history, kinds, app)


def points_in(requests: Mapping[str, int], history: History, kinds: frozenset[str],
              app: str = "app-") -> list[Point]:
    """:func:`points_of` from a run's request counts (per API and kill point) and its
    history (the explorer reads them off the simulation, without a Result)."""
    out: list[Point] = []
    for api in DROP_APIS:
        for n in range(1, requests.get(api, 0) + 1):
            for kind in ("request", "response"):
                if kind in kinds:
                    out.append(Point(kind, api, n))
    if "crash" in kinds:
        firsts = []
        for op in history.ops:
            if op.f == "poll" and op.process.startswith(app) and op.value.get("records"):
                first = _index(op.value["records"][0][3])
                if first is not None and first not in firsts:
                    firsts.append(first)
        for first in firsts:
            for step in CRASH_STEPS:
                out.append(Point("crash", step, first))
    for kind, where in _KILL.items():
        if kind in kinds:
            out.extend(Point(kind, where, n) for n in range(1, requests.get(where, 0)
                                                            + 1))
    return out


def _index(value: Any) -> int | None:
    text = str(value)
    digits = text[1:].rstrip("'") if text.startswith("m") else ""
    return int(digits) if digits.isdigit() else None


def plan_of(schedule: tuple[Point, ...]) -> dict[str, Any]:
    """The fault-plan fields that place ``schedule`` (one crash as ``crash_step`` and
    ``crash_at``, several as ``crash_points``)."""
    drop = tuple(p.token() for p in schedule if p.kind in ("request", "response"))
    kill = tuple(p.token() for p in schedule if p.kind in _KILL)
    crashes = [p for p in schedule if p.kind == "crash"]
    plan: dict[str, Any] = {"drop": drop}
    if kill:
        plan["kill"] = kill
    if len(crashes) == 1:
        plan.update(crash_step=crashes[0].api, crash_at=crashes[0].n, max_crashes=1)
    elif crashes:
        plan["crash_points"] = tuple(f"{p.api}:{p.n}" for p in crashes)
    return plan
