"""Toy database tables that a pipeline writes to: where exactly-once meets the outside.

Kafka's transactions cover Kafka's own writes and offsets. A table outside Kafka is only
as exactly-once as it makes itself:

* ``insert``: every write adds a row. A replayed input adds a second row.
* ``upsert``: rows are keyed by the input's message id; a replay changes nothing
  (an idempotent sink).
* ``offsets``: the table stores, in the same database transaction as the row, the next
  input offset; on restart the pipeline seeks to the table's offset, not Kafka's
  (a transactional sink).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.simulation import Simulation

SINK_MODES = ("insert", "upsert", "offsets")
TP = tuple[str, int]
SinkWrite = Callable[["Sink", str, Any, TP, int], bool]


class Sink:
    """A table (see module docstring). ``write`` returns whether a row was applied."""

    def __init__(self, sim: Simulation, mode: str = "insert", name: str = "table") -> None:
        from eoslib.errors import ConfigException, did_you_mean

        if mode not in SINK_MODES:
            raise ConfigException("sink", mode, f"Expected one of {', '.join(SINK_MODES)}"
                                  + did_you_mean(str(mode), SINK_MODES))
        self.sim = sim
        self.mode = mode
        self.name = name
        self.rows: list[tuple[str, Any]] = []
        self.by_id: dict[str, Any] = {}
        self.offsets: dict[TP, int] = {}
        self.custom_write: SinkWrite | None = None
        self.applied_per_id: dict[str, int] = {}

    def write(self, process: str, msg_id: str, value: Any, tp: TP, offset: int) -> bool:
        """Write the result of input ``msg_id`` (read from ``tp`` at ``offset``)."""
        if self.custom_write is not None:
            applied = bool(self.custom_write(self, msg_id, value, tp, offset))
        elif self.mode == "upsert":
            applied = msg_id not in self.by_id
            if applied:
                self.rows.append((msg_id, value))
            self.by_id[msg_id] = value
        else:
            self.rows.append((msg_id, value))
            self.by_id[msg_id] = value
            applied = True
            if self.mode == "offsets":
                self.offsets[tp] = offset + 1  # same database transaction as the row
        self.sim.history.record(self.sim.now, process, "sink_write", "ok", table=self.name,
                                id=msg_id, input=[tp[0], tp[1], offset], applied=applied)
        n = self.applied_per_id[msg_id] = self.applied_per_id.get(msg_id, 0) + applied
        self.sim.kernel.emit("sink", "write", f"{msg_id}" + ("" if applied else " (no-op)"),
                             flag="duplicate" if applied and n > 1 else None,
                             data={"id": str(msg_id), "value": str(value), "applied": applied,
                                   "mode": self.mode, "input": f"{tp[0]}-{tp[1]}@{offset}"}
                             if self.sim.kernel.tracing else None)
        return applied

    def insert_row(self, msg_id: str, value: Any) -> None:
        """Add a row (for custom write functions)."""
        self.rows.append((msg_id, value))
        self.by_id[msg_id] = value

    def stored_offset(self, tp: TP) -> int | None:
        """The next offset to read for ``tp`` as the table recorded it (``offsets`` mode)."""
        return self.offsets.get(tp)

    @property
    def duplicate_rows(self) -> int:
        """Rows beyond the first for each message id."""
        return len(self.rows) - len({r[0] for r in self.rows})
