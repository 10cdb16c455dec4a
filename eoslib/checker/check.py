"""``check(history)``: every analysis over one history, into one :class:`Report`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eoslib.checker import inputs as inputs_mod
from eoslib.checker import reads, writes
from eoslib.checker.coverage import unchecked
from eoslib.checker.index import Index
from eoslib.checker.inputs import SINK, Lineage
from eoslib.checker.report import ANOMALIES, Report
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
    allowed_set = frozenset([allowed] if isinstance(allowed, str) else allowed)
    unknown = sorted(allowed_set - ANOMALIES.keys())
    if unknown:
        raise ValueError(
            f"unknown anomaly name(s) in allowed: {', '.join(unknown)}; "
            f"known: {', '.join(ANOMALIES)}"
        )
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
    found = [
        writes.duplicate(ix),
        writes.inconsistent_offsets(ix),
        writes.lost(ix),
        writes.unseen(ix),
        reads.aborted_read(ix),
        reads.uncommitted_read(ix),
        inputs_mod.processed_twice(ix),
        inputs_mod.lost_input(counts),
        reads.nonmonotonic_poll(ix),
        writes.reordered(ix),
        writes.fenced(ix),
        reads.torn_txn(ix, history),
    ]
    anomalies = {a.name: a for a in found}
    assert list(anomalies) == list(ANOMALIES)
    if pending:
        n = len(pending)
        why["_pending"] = (f"{n} input{'s were' if n > 1 else ' was'} not consumed by the "
                           "end of the run (no commit reached past it): not counted")
    not_checked = unchecked(ix, inputs=inputs, outputs=out_list, why_outputs=why,
                            unseen=anomalies["unseen"].count)
    return Report(anomalies, allowed_set, not_checked, counts, pending)
