"""The discrete-event kernel: a virtual clock, an event heap and the trace.

The kernel knows nothing about Kafka. It runs callbacks in time order; ties run in the
order they were scheduled, so a run is a pure function of its inputs and of the seeded
generator handed in. There is no wall clock and no global random state anywhere in the
simulation: every random draw goes through ``Kernel.rng``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from typing import Any

from eoslib.result import TraceEvent

_push = heapq.heappush


class Kernel:
    """A virtual clock in milliseconds with a heap of scheduled callbacks."""

    __slots__ = ("now", "rng", "_heap", "_seq", "trace", "tracing", "events_run")

    def __init__(self, rng: random.Random, *, tracing: bool = True) -> None:
        if not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random, got {type(rng).__name__}")
        self.now: float = 0.0
        self.rng = rng
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = 0
        self.trace: list[TraceEvent] = []
        self.tracing = tracing
        self.events_run = 0

    def schedule(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` ``delay`` ms from now (``delay`` >= 0)."""
        self._seq = seq = self._seq + 1
        _push(self._heap, (self.now + delay, seq, fn, args))

    def at(self, time: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at absolute virtual time ``time`` (not before now)."""
        self.schedule(max(0.0, time - self.now), fn, *args)

    def step(self) -> bool:
        """Run the next callback. Returns False when nothing is scheduled."""
        if not self._heap:
            return False
        t, _, fn, args = heapq.heappop(self._heap)
        self.now = t
        self.events_run += 1
        fn(*args)
        return True

    def run_until(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Advance time until ``done()`` is true or ``timeout`` ms have passed.

        Returns ``done()``. With nothing left to run, virtual time jumps to the end of
        the timeout (or stays put when there is none).
        """
        heap = self._heap
        pop = heapq.heappop
        if timeout is None:
            while not done():
                if not heap:
                    return done()
                t, _, fn, args = pop(heap)
                self.now = t
                self.events_run += 1
                fn(*args)
            return True
        deadline = self.now + timeout
        while not done():
            if not heap or heap[0][0] > deadline:
                if deadline > self.now:
                    self.now = deadline
                return done()
            t, _, fn, args = pop(heap)
            self.now = t
            self.events_run += 1
            fn(*args)
        return True

    def advance(self, ms: float) -> None:
        """Let ``ms`` of virtual time pass, running everything due meanwhile."""
        heap = self._heap
        pop = heapq.heappop
        deadline = self.now + ms
        while heap and heap[0][0] <= deadline:
            t, _, fn, args = pop(heap)
            self.now = t
            self.events_run += 1
            fn(*args)
        if deadline > self.now:
            self.now = deadline

    def run(self) -> None:
        """Run until nothing is scheduled."""
        while self.step():
            pass

    @property
    def pending(self) -> int:
        """How many callbacks are scheduled."""
        return len(self._heap)

    def emit(
        self,
        lane: str,
        kind: str,
        label: str,
        flag: str | None = None,
        ref: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append one event to the trace (see :mod:`eoslib.result` for the fields).

        ``data`` is the event's structured content (offsets, producer id, sequence...),
        read by :mod:`eoslib.protocol_state`; it is stored only when given."""
        if self.tracing:
            ev = {
                "i": len(self.trace),
                "t": round(self.now, 3),
                "lane": lane,
                "kind": kind,
                "label": label,
                "flag": flag,
                "ref": ref,
            }
            if data is not None:
                ev["data"] = data
            self.trace.append(ev)
