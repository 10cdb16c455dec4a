"""Experiment 4, zombie-fencing (``transactions``): a replaced instance tries to finish."""

from __future__ import annotations

from typing import Any

from eoslib.real.clients import (
    Cluster,
    Recorder,
    create_topics,
    delete_topics,
    producer_conf,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.experiments.common import Experiment, _recording, _result
from eoslib.result import Result


def zombie_fencing(
    cluster: Cluster, *, on: bool, messages: int = 5, separate_ids: bool = False
) -> Result:
    """Replace instance A by B while A's work is in flight; then A, the zombie, finishes.

    A ("app-1") writes m0..m{n-1} (acknowledged) and stalls before committing. B
    ("app-1#2"), its replacement, writes the same records and commits. Then A wakes up,
    writes one more record and commits.

    On (``transactions=true``): A and B share one ``transactional.id``; A has begun a
    transaction, and B's ``init_transactions`` bumps the epoch, so the coordinator aborts
    A's transaction and A's next call fails fenced (``fenced`` = 1; none of A's records is
    visible to read_committed). Off: A and B are plain idempotent producers and nothing
    stops A: every record is duplicated. ``separate_ids=True`` (with on) gives A and B
    different transactional ids, the classic mistake: no fencing, duplicates again.
    Producer settings: ``enable.idempotence=true``, ``acks=all``,
    ``transaction.timeout.ms=15000``. The verifier reads with read_committed.
    """
    from confluent_kafka import KafkaException, Producer

    require_client()
    exp = ZOMBIE_FENCING
    prefix = run_prefix()
    topic = f"{prefix}out"
    txn_a = f"{prefix}app-1" if on else None
    txn_b = (f"{prefix}app-1-replacement" if separate_ids else txn_a) if on else None
    create_topics(cluster, [topic])
    rec = Recorder()
    fence_error = None

    def sends(p: Any, process: str, txn: str | None, values: list[str]) -> None:
        for v in values:
            p.produce(topic, value=v.encode(), on_delivery=_recording(rec, process, txn, _zero))
        p.flush(30)

    work = [f"m{i}" for i in range(messages)]
    try:
        a = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_a))
        if txn_a:
            a.init_transactions(30)
            a.begin_transaction()
        sends(a, "app-1", txn_a, work)
        rec.op("app-1", "note", text="app-1 stalls (a long GC pause) before committing")
        b = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_b))
        if txn_b:
            b.init_transactions(30)
            b.begin_transaction()
        sends(b, "app-1#2", txn_b, work)
        if txn_b:
            b.commit_transaction(30)
            rec.op("app-1#2", "txn_end", txn=txn_b, txn_seq=0, result="commit")
        try:
            sends(a, "app-1", txn_a, [f"m{messages}"])
            if txn_a:
                a.commit_transaction(30)
                rec.op("app-1", "txn_end", txn=txn_a, txn_seq=0, result="commit")
        except (KafkaException, SystemError) as e:
            # confluent-kafka raises the fatal error from the call that serves callbacks; if
            # a delivery callback runs while it is pending, Python reports a SystemError
            # whose cause is the KafkaException.
            cause = e if isinstance(e, KafkaException) else e.__cause__
            if not isinstance(cause, KafkaException):
                raise
            fence_error = cause.args[0].name()
            late = f"m{messages}"
            if not any(o["value"].get("value") == late for o in rec.ops("app-1", "send")):
                rec.op(
                    "app-1",
                    "send",
                    "fail",
                    topic=topic,
                    partition=0,
                    key=None,
                    value=late,
                    offset=None,
                    txn=txn_a,
                    txn_seq=0,
                    error=fence_error,
                )
            rec.op("app-1", "fenced", txn=txn_a, error=fence_error)
        del a, b
        read_all(cluster, rec, topic, isolation="read_committed")
    finally:
        delete_topics(cluster, [topic])
    extra = {"fence_error": fence_error, "separate_ids": separate_ids}
    return _result(exp, on, rec, messages=messages, faults={"zombie": True}, extra=extra)


def _zero() -> int:
    return 0


ZOMBIE_FENCING = Experiment(
    "zombie-fencing",
    "transactions",
    False,
    True,
    ("duplicate", "processed_twice"),
    zombie_fencing,
    "a replaced instance (zombie) tries to finish its transaction",
    allowed_on=("fenced",),
)
