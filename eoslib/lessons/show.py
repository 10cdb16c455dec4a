"""`show(result, keys)`: the run's client, the counts a cell is about, then the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from eoslib.result import client_line

if TYPE_CHECKING:
    from eoslib.result import Result


def show(result: Result, keys: Sequence[str] = ("duplicates", "lost", "processed_twice")) -> None:
    """Print whose client semantics ``result`` follows (``client: librdkafka
    (confluent-kafka)``), its counts for ``keys`` (right-aligned names), then the checker's
    verdict. Raises ``KeyError`` naming a key the run has no count for."""
    for key in keys:
        if key not in result.counts:
            raise KeyError(f"Invalid value {key!r} for keys: this run counts "
                           f"{', '.join(sorted(result.counts))}")
    print(client_line(result.config))
    for key in keys:
        print(f"{key:>16}: {result.counts[key]}")
    print(result.report)
