"""What became of each input: how often its effect reached each output; processed_twice,
lost_input."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from eoslib.checker.index import Index, Read, input_of, is_verifier, natural, vkey
from eoslib.checker.report import MAX_EXAMPLES, Anomaly, Collector, formatter
from eoslib.history import Op

#: the output named ``sink`` stands for every table the history's sink writes name
SINK = "sink"
Lineage = Callable[[Any], Any]


def _applied(ix: Index) -> dict[tuple[Any, Hashable], list[Op]]:
    """Applied sink writes per (table, input id), in history order."""
    if "applied" not in ix.memo:
        applied: dict[tuple[Any, Hashable], list[Op]] = {}
        for op in ix.sink_writes:
            v = op.value
            if op.outcome != "ok" or not v.get("applied", True):
                continue
            applied.setdefault((v.get("table"), vkey(v.get("id"))), []).append(op)
        ix.memo["applied"] = applied
    return ix.memo["applied"]


def final_reads(ix: Index, topic: str) -> list[Read] | None:
    """The records of ``topic`` a read_committed ``verifier`` returned at the end (its last
    read of each partition), or None when no such read happened."""
    last: dict[Any, Any] = {}
    for (t, p, iso), op in ix.covered.items():
        if t == topic and iso == "read_committed" and is_verifier(op.process):
            last[p] = op
    for r in ix.reads:  # histories without ``covered``: the verifier's last non-empty read
        if r.topic == topic and is_verifier(r.op.process) and r.partition not in last \
                and r.op.value.get("isolation") == "read_committed":
            last[r.partition] = r.op
    if not last:
        return None
    ops = set(map(id, last.values()))
    return [r for r in ix.reads if r.topic == topic and id(r.op) in ops]


def unconsumed(ix: Index, inputs: Iterable[Any] | Mapping[Any, Any] | None) -> list[Any]:
    """The inputs the run had not consumed by its end: ``inputs`` maps each id to its
    ``[topic, partition, offset]`` and no ``committed`` op of the history reaches past it.
    Empty when the history records no ``committed`` op or ``inputs`` gives no positions."""
    if not isinstance(inputs, Mapping) or not ix.consumed:
        return []
    out = []
    for i, pos in inputs.items():
        t, p, o = pos
        if o >= ix.consumed.get((t, p), 0):
            out.append(i)
    return sorted(out, key=natural)


def effects(ix: Index, inputs: Iterable[Any] | None, outputs: Iterable[str],
            lineage: Lineage | None = None) -> tuple[dict[str, dict[Any, int]],
                                                     dict[str, str]]:
    """Per output, per input id the run consumed: how many times its effect reached that
    output; and, per output that could not be counted, why.

    An output is a topic (the records a read_committed verifier returned at the end, each
    tied to its input by its ``input`` header, or by ``lineage(value)`` when the caller
    declares one) or ``sink`` (the applied rows of every table, by input id)."""
    counts: dict[str, dict[Any, int]] = {}
    why: dict[str, str] = {}
    if inputs is None:
        return counts, why
    skip = set(unconsumed(ix, inputs))
    ids = {vkey(i): i for i in (inputs if isinstance(inputs, list | tuple)
                                else sorted(inputs, key=natural)) if i not in skip}
    applied = _applied(ix)
    for out in outputs:
        if out == SINK:
            tables = sorted({t for t, _ in applied} | {op.value.get("table")
                                                       for op in ix.sink_writes},
                            key=str) or ["table"]
            for table in tables:
                n = {i: len(applied.get((table, k), ())) for k, i in ids.items()}
                counts[f"sink {table}"] = n
            continue
        reads = final_reads(ix, out)
        if reads is None:
            why[out] = f"no read_committed verifier read {out} at the end"
            continue
        n = dict.fromkeys(ids.values(), 0)
        untied = 0
        seen: set[tuple[Any, int]] = set()
        for r in reads:
            if (r.partition, r.offset) in seen:
                continue
            seen.add((r.partition, r.offset))
            src = input_of(r.headers)
            if src is None and lineage is not None:
                src = lineage(r.value)
            if src is not None and vkey(src) in ids:
                n[ids[vkey(src)]] += 1
            elif src is None or src not in skip:
                untied += 1
        counts[out] = n
        if untied:
            why[out] = (f"{untied} record(s) of {out} name none of the inputs (no 'input' "
                        "header, and no lineage declared for them)")
    return counts, why


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


def lost_input(counts: dict[str, dict[Any, int]]) -> Anomaly:
    """``lost_input``: an input id whose effect never reached an output: no record of an
    output topic a read_committed reader sees at the end derives from it, or no sink row
    was applied for it. Count: such ids."""
    missing = Collector("lost_input")
    gone: dict[Any, list[str]] = {}
    for out, n in counts.items():
        for i, k in n.items():
            if k == 0:
                gone.setdefault(i, []).append(out)
    for i in sorted(gone, key=natural):
        missing.add(1, {"id": i, "missing_from": gone[i]})
    return missing.anomaly()


formatter("processed_twice")(lambda e: (
    f"id {e['id']!r} applied to {e['table']} {e['applied_writes']} times"))
formatter("lost_input")(lambda e: (
    f"id {e['id']!r} never reached " + " or ".join(e.get("missing_from") or ["the sink"])))
