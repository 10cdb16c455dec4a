"""The course's claims that have no real-Kafka twin, each with the reason.

Notebook 12 prints this list under the comparison, so the rows are never read as covering
more than they do. A reason is one of: a fault the proxy cannot make, timing Kafka does not
expose, something outside Kafka, or a twin not built yet (said plainly).
"""

from __future__ import annotations

from typing import NamedTuple


class Untwinned(NamedTuple):
    """One claim the simulator makes that no row compares with Kafka."""

    claim: str
    notebooks: str
    reason: str


NO_TWIN: tuple[Untwinned, ...] = (
    Untwinned(
        "retries after a refused batch reorder records unless the producer is idempotent "
        "(scenario reorder)", "02",
        "a fault the proxy cannot make: the broker would have to refuse a batch "
        "(NOT_ENOUGH_REPLICAS) without appending it; the proxy only loses answers and holds "
        "requests, it never answers for the broker"),
    Untwinned(
        "the transaction coordinator dies right after logging PrepareCommit; its successor "
        "finishes the commit (scenario coordinator-failover)", "06d",
        "timing Kafka does not expose: the instant between the coordinator's log write and "
        "its answer is inside the broker; a SIGKILL from outside cannot be placed there"),
    Untwinned(
        "the transactional loop crashes at any step and the restart resumes cleanly "
        "(scenario transactional-crash, crash_step)", "05, 06",
        "not built: the real twin (consumer-crash) crashes after producing only"),
    Untwinned(
        "a transaction left open past transaction.timeout.ms under transaction version 2 "
        "(the Java client aborts at its old epoch and goes on)", "06c",
        "not built: the real twin (transaction-timeout) runs librdkafka, i.e. version 1"),
    Untwinned(
        "a static member (group.instance.id) is fenced by a newer instance with the same id",
        "06b", "not built: no real experiment uses group.instance.id"),
    Untwinned(
        "every placement of lost requests and answers of every API (the explorer)", "13",
        "a fault the proxy cannot make for most APIs: it loses Produce answers and holds one "
        "EndTxn; losing an AddPartitionsToTxn, TxnOffsetCommit or OffsetCommit answer is not "
        "built, and the explorer's coordinator and leader kills are placed inside the broker"),
    Untwinned(
        "exactly-once into an external database (insert, upsert, offsets in the sink; "
        "scenario external-sink)", "01, 05, 08",
        "outside Kafka: needs a database; the sink is the simulator's model"),
    Untwinned(
        "latencies and costs: the LSO lag of read_committed readers, the price of "
        "exactly-once in time and requests", "07, 09",
        "timing Kafka does not expose alike: the simulator's clock is virtual, real "
        "timings depend on the machine; rows compare counts, never durations"),
)
