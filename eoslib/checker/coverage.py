"""What a history let the checker look for: each anomaly either checked or, with a reason,
not (a verdict never says OK about what it could not see)."""

from __future__ import annotations

from typing import Any

from eoslib.checker.index import Index
from eoslib.checker.report import ANOMALIES


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def unchecked(ix: Index, *, inputs: Any, outputs: list[str], why_outputs: dict[str, str],
              unseen: int) -> dict[str, str]:
    """Anomaly name -> why it was not (fully) checked, for this history."""
    out: dict[str, str] = {}
    if not ix.sends and not ix.reads and not ix.covered:
        for name in ("duplicate", "inconsistent_offsets", "lost", "unseen", "reordered"):
            out[name] = "no write to or read of a topic under check"
    else:
        untied = ix.unattributed()
        if untied:
            why = (f"{_plural(len(untied), 'record')} read could not be tied to the write that "
                   "made it (the history gives no producer id, epoch and sequence for it and "
                   "no send was acknowledged at its offset)")
            for name in ("duplicate", "aborted_read", "uncommitted_read", "torn_txn"):
                out[name] = why
        if unseen:
            out.setdefault("lost", f"{_plural(unseen, 'acknowledged write')} sit in "
                           "partitions no read covered (see unseen)")
    if not ix.reads and not ix.covered:
        for name in ("aborted_read", "uncommitted_read", "torn_txn", "nonmonotonic_poll"):
            out.setdefault(name, "no consumer read a topic under check")
    has_sink = bool(ix.sink_writes) or "sink" in outputs
    if not has_sink:
        out["processed_twice"] = "no sink in this run"
    if inputs is None:
        out["lost_input"] = "no input ids given: the run consumes none, or did not say"
    elif not outputs:
        out["lost_input"] = "the run names no output its inputs should reach"
    elif why_outputs:
        out["lost_input"] = "; ".join(why_outputs.values())
    return {n: out[n] for n in ANOMALIES if n in out}
