"""``check(history)``: every analysis over one history, into one :class:`Report`."""

from __future__ import annotations

from collections.abc import Iterable

from eoslib.checker import inputs, reads, writes
from eoslib.checker.index import Index
from eoslib.checker.report import ANOMALIES, Report
from eoslib.history import History


def check(
    history: History,
    *,
    expected_ids: Iterable[str] | None = None,
    allowed: Iterable[str] = (),
    topics: Iterable[str] | None = None,
) -> Report:
    """Run every analysis of :data:`ANOMALIES` over ``history``.

    ``expected_ids``: the input ids an end-to-end pipeline must deliver to its sink exactly
    once (enables ``lost_input``). ``allowed``: anomaly names that do not make the report
    fail. ``topics``: restrict the log analyses to these topics (None = every topic seen).
    A single string is accepted for ``allowed`` and ``topics``. Raises ValueError for an
    unknown anomaly name in ``allowed``.
    """
    allowed_set = frozenset([allowed] if isinstance(allowed, str) else allowed)
    unknown = sorted(allowed_set - ANOMALIES.keys())
    if unknown:
        raise ValueError(
            f"unknown anomaly name(s) in allowed: {', '.join(unknown)}; "
            f"known: {', '.join(ANOMALIES)}"
        )
    topic_set = None if topics is None else set([topics] if isinstance(topics, str) else topics)
    if isinstance(expected_ids, str):
        expected_ids = [expected_ids]
    ix = Index(history, topic_set)
    found = [
        writes.duplicate(ix),
        writes.inconsistent_offsets(ix),
        writes.lost(ix),
        writes.unseen(ix),
        reads.aborted_read(ix),
        reads.uncommitted_read(ix),
        inputs.processed_twice(ix),
        inputs.lost_input(ix, expected_ids),
        reads.nonmonotonic_poll(ix),
        writes.reordered(ix),
        writes.fenced(ix),
        reads.torn_txn(ix, history),
    ]
    anomalies = {a.name: a for a in found}
    assert list(anomalies) == list(ANOMALIES)
    return Report(anomalies, allowed_set)
