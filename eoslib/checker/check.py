"""``check(history)``: every analysis over one history, into one :class:`Report`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eoslib.checker import inputs as inputs_mod
from eoslib.checker import reads, writes
from eoslib.checker.coverage import unchecked
from eoslib.checker.index import Index
from eoslib.checker.inputs import SINK, Lineage
from eoslib.checker.report import ANOMALIES, Anomaly, Report
from eoslib.history import History


def check(
    history: History,
    *,
    inputs: Iterable[Any] | None = None,
    outputs: Iterable[str] | None = None,
    expected_ids: Iterable[str] | None = None,
    lineage: Lineage | None = None,
    allowed: Iterable[str] = (),
    topics: Iterable[str] | None = None,
) -> Report:
    """Run every analysis of :data:`ANOMALIES` over ``history``.

    ``inputs``: the ids of the run's input messages, or a mapping of each id to its
    ``[topic, partition, offset]`` (then an input no ``committed`` op of the history
    reaches past counts as not consumed, not as lost); ``outputs``: where each
    input's effect must arrive exactly once: topic names (what a read_committed
    ``verifier`` read at the end) and/or ``"sink"`` (the applied sink rows). Default
    outputs: ``topics`` plus ``sink`` when the history has sink writes. A topic's records
    name their input by an ``input`` header; ``lineage(value)`` declares it for records
    without one (e.g. an app that copies its input). ``expected_ids`` is the older form of
    ``inputs=..., outputs=["sink"]``. ``allowed``: anomaly names that do not make the report
    fail. ``topics``: restrict the log analyses to these topics (None = every topic seen).
    A single string is accepted for ``allowed``, ``topics`` and ``outputs``. Raises
    ValueError for an unknown anomaly name in ``allowed``.
    """
    allowed_set = _allowed(allowed)
    ix, inputs, out_list, counts, why, pending = _prepare(history, inputs, outputs, expected_ids,
                                                         lineage, topics)
    found = [analysis(ix, history, counts) for analysis in ANALYSES.values()]
    anomalies = {a.name: a for a in found}
    assert list(anomalies) == list(ANOMALIES)
    if pending:
        n = len(pending)
        why["_pending"] = (f"{n} input{'s were' if n > 1 else ' was'} not consumed by the "
                           "end of the run (no commit reached past it): not counted")
    not_checked = unchecked(ix, inputs=inputs, outputs=out_list, why_outputs=why,
                            unseen=anomalies["unseen"].count)
    return Report(anomalies, allowed_set, not_checked, counts, pending)


def failure_counts(
    history: History,
    *,
    inputs: Iterable[Any] | None = None,
    outputs: Iterable[str] | None = None,
    allowed: Iterable[str] = (),
    topics: Iterable[str] | None = None,
) -> dict[str, int]:
    """``{name: count}`` of the anomalies that make ``check(history, ...)`` fail (its
    :meth:`Report.failures`, in report order), without the report: the allowed analyses,
    the examples' report and the coverage notes are skipped (the explorer's fast path; a
    test holds it to :func:`check` over every schedule of an exploration)."""
    allowed_set = _allowed(allowed)
    ix, _, _, counts, _, _ = _prepare(history, inputs, outputs, None, None, topics)
    out: dict[str, int] = {}
    for name, analysis in ANALYSES.items():
        if name not in allowed_set:
            n = analysis(ix, history, counts).count
            if n:
                out[name] = n
    return out


def _allowed(allowed: Iterable[str]) -> frozenset[str]:
    allowed_set = frozenset([allowed] if isinstance(allowed, str) else allowed)
    unknown = sorted(allowed_set - ANOMALIES.keys())
    if unknown:
        raise ValueError(
            f"unknown anomaly name(s) in allowed: {', '.join(unknown)}; "
            f"known: {', '.join(ANOMALIES)}"
        )
    return allowed_set


def _prepare(history: History, inputs: Iterable[Any] | None, outputs: Iterable[str] | None,
             expected_ids: Iterable[str] | None, lineage: Lineage | None,
             topics: Iterable[str] | None) -> tuple[Index, Any, list[str], Any, Any, Any]:
    """The index and the per-input effects every analysis reads."""
    topic_list = None if topics is None else ([topics] if isinstance(topics, str)
                                              else list(topics))
    if isinstance(expected_ids, str):
        expected_ids = [expected_ids]
    if isinstance(inputs, str):
        inputs = [inputs]
    elif inputs is not None and not isinstance(inputs, Mapping):
        inputs = list(inputs)
    if expected_ids is not None and inputs is None:
        inputs, outputs = list(expected_ids), [SINK] if outputs is None else outputs
    ix = Index(history, None if topic_list is None else set(topic_list))
    if outputs is None:
        outputs = [*(topic_list or []), *([SINK] if ix.sink_writes else [])]
    out_list = [outputs] if isinstance(outputs, str) else list(outputs)
    counts, why = inputs_mod.effects(ix, inputs, out_list, lineage)
    pending = inputs_mod.unconsumed(ix, inputs)
    return ix, inputs, out_list, counts, why, pending


#: every analysis, in report order (each reads the index, some the history or the effects)
ANALYSES: dict[str, Callable[[Index, History, Any], Anomaly]] = {
    "duplicate": lambda ix, h, c: writes.duplicate(ix),
    "inconsistent_offsets": lambda ix, h, c: writes.inconsistent_offsets(ix),
    "lost": lambda ix, h, c: writes.lost(ix),
    "unseen": lambda ix, h, c: writes.unseen(ix),
    "aborted_read": lambda ix, h, c: reads.aborted_read(ix),
    "uncommitted_read": lambda ix, h, c: reads.uncommitted_read(ix),
    "processed_twice": lambda ix, h, c: inputs_mod.processed_twice(ix),
    "lost_input": lambda ix, h, c: inputs_mod.lost_input(c),
    "nonmonotonic_poll": lambda ix, h, c: reads.nonmonotonic_poll(ix),
    "reordered": lambda ix, h, c: writes.reordered(ix),
    "fenced": lambda ix, h, c: writes.fenced(ix),
    "torn_txn": lambda ix, h, c: reads.torn_txn(ix, h),
}
