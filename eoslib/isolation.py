"""The consumer's read_committed filter (Kafka's ``CompletedFetch`` algorithm).

A read_committed fetch returns batches below the LSO plus the aborted transactions
``(producer_id, first_offset)`` that overlap them. The client then walks the batches:

1. keep the aborted transactions in order of ``first_offset``;
2. before each batch, move every aborted transaction with ``first_offset <= batch's last
   offset`` into the set of aborted producer ids;
3. an ABORT control batch removes its producer id from that set;
4. a transactional batch whose producer id is in the set is skipped;
5. control records are never returned. Non-transactional batches are never skipped.

read_uncommitted returns every data record below the HW, aborted or not.
:func:`read_committed_filter` is a plain function so an exercise can swap in a learner's.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from eoslib.partition import AbortedTxn, Batch

Record = tuple[int, object, object]  # (offset, key, value)
FetchFilter = Callable[[Sequence[Batch], Sequence[AbortedTxn]], list[Record]]


def read_committed_filter(batches: Sequence[Batch], aborted: Sequence[AbortedTxn]) -> list[Record]:
    """Records of ``batches`` a read_committed consumer returns to the application."""
    queue = [(a.first_offset, a.producer_id) for a in aborted]
    heapq.heapify(queue)
    aborted_pids: set[int] = set()
    out: list[Record] = []
    for b in batches:
        while queue and queue[0][0] <= b.last_offset:
            aborted_pids.add(heapq.heappop(queue)[1])
        if b.control is not None:
            if b.control == "ABORT":
                aborted_pids.discard(b.producer_id)
            continue
        if b.transactional and b.producer_id in aborted_pids:
            continue
        out.extend((b.base_offset + i, k, v) for i, (k, v) in enumerate(b.records))
    return out


def read_uncommitted_filter(
    batches: Sequence[Batch], aborted: Sequence[AbortedTxn]
) -> list[Record]:
    """Every data record of ``batches``; only control records are dropped."""
    out: list[Record] = []
    for b in batches:
        if b.control is None:
            out.extend((b.base_offset + i, k, v) for i, (k, v) in enumerate(b.records))
    return out
