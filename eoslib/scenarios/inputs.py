"""A run's inputs for the checker: where each input sits, and how far the run consumed them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.simulation import Simulation
    from eoslib.sinks import Sink


def input_positions(sim: Simulation, topic: str, ids: Iterable[str]) -> dict[str, list[Any]]:
    """``{id: [topic, partition, offset]}`` for the inputs the scenario wrote to ``topic``
    (a clean upstream: each id is a record's value, written once)."""
    wanted = set(ids)
    out: dict[str, list[Any]] = {}
    for p in sim.cluster.partitions(topic):
        for b in p.log:
            if b.control is None:
                for i, (_, v) in enumerate(b.records):
                    if v in wanted and v not in out:
                        out[v] = [topic, p.index, b.base_offset + i]
    return {i: out[i] for i in ids if i in out}


def record_consumed(sim: Simulation, topics: Iterable[str], sinks: Iterable[Sink] = (),
                    process: str = "verifier") -> None:
    """Record, as a reader asking at the end, how far the run consumed ``topics``: every
    group's committed offsets (and each offsets-mode sink's stored ones), one ``committed``
    op each. The checker counts an input as consumed when its offset is below."""
    tps = [(t, p.index) for t in topics for p in sim.cluster.partitions(t)]
    for gid, g in sorted(sim.cluster.group_coordinator.groups.items()):
        offsets = [[t, i, g.committed[(t, i)]] for t, i in tps if (t, i) in g.committed]
        if offsets:
            sim.history.record(sim.now, process, "committed", "ok", group=gid, offsets=offsets)
    for sink in sinks:
        offsets = [[t, i, o] for t, i in tps if (o := sink.stored_offset((t, i))) is not None]
        if offsets:
            sim.history.record(sim.now, process, "committed", "ok", group=f"sink {sink.name}",
                               offsets=offsets)
