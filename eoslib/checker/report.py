"""The verdict: every anomaly's count and first examples, and whether the run passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: How many concrete examples each anomaly keeps.
MAX_EXAMPLES = 5
#: How many positions a ``duplicate`` example lists (``copies`` gives the total).
MAX_POSITIONS = 10

ANOMALIES: dict[str, str] = {
    "duplicate": "the same message sits at more than one offset of a topic",
    "inconsistent_offsets": "one offset of a partition is seen holding more than one value",
    "lost": "an acknowledged write was never read, although reads went past its offset",
    "unseen": "an acknowledged write was never read, and no read covered its partition",
    "aborted_read": "a poll returned a record whose send failed or whose transaction aborted",
    "uncommitted_read": "a poll returned a transaction's record before the transaction committed",
    "processed_twice": "the sink applied a second write for the same input id",
    "lost_input": "an input's effect never reached an output (a topic or the sink)",
    "nonmonotonic_poll": "a process was handed an offset at or before one it had already received",
    "reordered": "a producer's sends landed in a partition in a different order than issued",
    "fenced": "a producer was fenced by a newer producer with the same transactional.id",
    "torn_txn": "a read_committed poll returned a record of a transaction the app aborted",
}

#: anomaly name -> how one example reads in a sentence (each analysis module adds its own)
FORMATTERS: dict[str, Callable[[dict[str, Any]], str]] = {}


def formatter(name: str) -> Callable[[Callable[[dict[str, Any]], str]],
                                     Callable[[dict[str, Any]], str]]:
    """Register how an example of anomaly ``name`` reads (used by :meth:`Report.__str__`)."""
    def deco(fn: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
        FORMATTERS[name] = fn
        return fn
    return deco


def tp(topic: Any, partition: Any) -> str:
    """``out-0``."""
    return f"{topic}-{partition}"


def at(e: dict[str, Any]) -> str:
    """``out-0 offset 3`` for an example with topic, partition and offset."""
    return f"{tp(e['topic'], e['partition'])} offset {e['offset']}"


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
    #: anomaly name -> why the history did not let the checker look for it (fully)
    unchecked: dict[str, str] = field(default_factory=dict)
    #: output -> input id -> how many times that input's effect reached the output
    effects: dict[str, dict[Any, int]] = field(default_factory=dict)
    #: input ids the run had not consumed by its end (not counted in ``effects``)
    unconsumed: list[Any] = field(default_factory=list)

    @property
    def checked(self) -> list[str]:
        """The anomalies the checker could look for, in report order."""
        return [n for n in self.anomalies if n not in self.unchecked]

    def reached(self) -> dict[str, dict[int, int]]:
        """Output -> {times an input reached it: how many inputs}, e.g. ``{"out": {1: 20,
        0: 10}}``: 20 inputs arrived once, 10 never."""
        out: dict[str, dict[int, int]] = {}
        for name, per_id in self.effects.items():
            hist: dict[int, int] = {}
            for n in per_id.values():
                hist[n] = hist.get(n, 0) + 1
            out[name] = dict(sorted(hist.items(), key=lambda kv: (kv[0] != 1, kv[0])))
        return out

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
        """``{"ok", "anomalies": {name: {"count", "definition", "examples"}}, "allowed",
        "checked", "unchecked": {name: why}, "inputs": {output: {times: ids}}, "unconsumed",
        "inputs_not_once": {output: {id: times}}}``."""
        return {
            "ok": self.ok,
            "anomalies": {n: a.to_json() for n, a in self.anomalies.items()},
            "allowed": sorted(self.allowed),
            "checked": self.checked,
            "unchecked": dict(self.unchecked),
            "inputs": {out: {str(k): v for k, v in hist.items()}
                       for out, hist in self.reached().items()},
            "unconsumed": list(self.unconsumed),
            # per input id, where it did not arrive exactly once (the rest arrived once)
            "inputs_not_once": {out: {str(i): n for i, n in per_id.items() if n != 1}
                                for out, per_id in self.effects.items()},
        }

    def __str__(self) -> str:
        found = [a for a in self.anomalies.values() if a.count]
        bad = self.failures()
        scope = (f"{len(self.checked)} of {len(self.anomalies)} kinds checked" if self.unchecked
                 else f"all {len(self.anomalies)} kinds checked")
        if not found:
            head = f"OK: no anomalies ({scope})"
        elif bad:
            kinds = "kind" if len(bad) == 1 else "kinds"
            head = f"NOT OK: {len(bad)} {kinds} of anomaly not allowed ({', '.join(bad)})"
        else:
            head = f"OK: only allowed anomalies ({scope})"
        lines = [head]
        if self.effects or self.unconsumed:
            lines.append("inputs: " + "; ".join(
                [f"{out} {_times(hist)}" for out, hist in self.reached().items()]
                + ([f"{len(self.unconsumed)} not consumed"] if self.unconsumed else [])))
        for a in found:
            fmt = FORMATTERS[a.name]
            shown = "; ".join(fmt(e) for e in a.examples)
            if len(a.examples) >= MAX_EXAMPLES and a.count > len(a.examples):
                shown += "; ..."
            tag = "  [allowed]" if a.name in self.allowed else ""
            lines.append(f"{a.name}: {a.count} ({shown}){tag}")
            lines.append(f"    = {a.definition}")
        if self.unchecked:
            by_why: dict[str, list[str]] = {}
            for n, why in self.unchecked.items():
                by_why.setdefault(why, []).append(n)
            lines.append("not checked: " + "; ".join(f"{', '.join(ns)} ({why})"
                                                     for why, ns in by_why.items()))
        return "\n".join(lines)


def _times(hist: dict[int, int]) -> str:
    """``{1: 20, 0: 10}`` as "20 once, 10 never"."""
    words = {0: "never", 1: "once", 2: "twice"}
    return ", ".join(f"{ids} {words.get(n, f'{n} times')}" for n, ids in hist.items())


class Collector:
    """Counts one anomaly and keeps its first examples."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.examples: list[dict[str, Any]] = []

    def add(self, n: int, example: dict[str, Any]) -> None:
        """Count ``n`` more, keeping ``example`` if fewer than :data:`MAX_EXAMPLES` are kept."""
        self.count += n
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def anomaly(self) -> Anomaly:
        """The collected :class:`Anomaly`."""
        return Anomaly(self.name, ANOMALIES[self.name], self.count, self.examples)
