"""What became of each input: processed_twice, lost_input."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from eoslib.checker.index import Index, natural, vkey
from eoslib.checker.report import MAX_EXAMPLES, Anomaly, Collector, formatter
from eoslib.history import Op


def _applied(ix: Index) -> dict[tuple[Any, Hashable], list[Op]]:
    """Applied sink writes per (table, input id), in history order."""
    applied: dict[tuple[Any, Hashable], list[Op]] = {}
    for op in ix.sink_writes:
        v = op.value
        if op.outcome != "ok" or not v.get("applied", True):
            continue
        applied.setdefault((v.get("table"), vkey(v.get("id"))), []).append(op)
    return applied


def processed_twice(ix: Index) -> Anomaly:
    """``processed_twice``: a sink applied a write for an input id (in one table) that
    already had an applied write. Count: extra applied writes."""
    twice = Collector("processed_twice")
    for (table, _), ops in _applied(ix).items():
        if len(ops) > 1:
            writes = [{"process": w.process, "index": w.index, "input": w.value.get("input")}
                      for w in ops[:MAX_EXAMPLES]]
            twice.add(len(ops) - 1, {"id": ops[0].value.get("id"), "table": table,
                                     "applied_writes": len(ops), "writes": writes})
    return twice.anomaly()


def lost_input(ix: Index, expected_ids: Iterable[Any] | None) -> Anomaly:
    """``lost_input``: an id from ``expected_ids`` with no applied sink write. Count: ids."""
    missing = Collector("lost_input")
    if expected_ids is not None:
        applied_ids = {idk for _, idk in _applied(ix)}
        wanted = {vkey(i): i for i in expected_ids}
        gone = [i for k, i in wanted.items() if k not in applied_ids]
        for i in sorted(gone, key=natural):
            missing.add(1, {"id": i})
    return missing.anomaly()


formatter("processed_twice")(lambda e: (
    f"id {e['id']!r} applied to {e['table']} {e['applied_writes']} times"))
formatter("lost_input")(lambda e: f"id {e['id']!r} never written")
