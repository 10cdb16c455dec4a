"""Experiment 3, read-committed (``isolation.level``): a reader during an aborted transaction."""

from __future__ import annotations

import threading
import time

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

HOLD_S = 0.5  # how long read-committed keeps each transaction open before ending it


def read_committed(cluster: Cluster, *, on: bool, messages: int = 9) -> Result:
    """Commit two transactions and abort the third; read concurrently.

    "producer-1" (``transactional.id`` set, so idempotent) writes messages//3 records per
    transaction, keeps each transaction open for HOLD_S seconds, then ends it. A
    concurrent reader ("verifier", ``isolation.level`` = the setting,
    ``enable.auto.commit=false``, ``auto.offset.reset=earliest``) reads from the
    beginning throughout. Expected: read_uncommitted returns the aborted records
    (``aborted_reads`` = messages//3) and the committed ones before their commit
    (``uncommitted_reads``); read_committed returns neither. ``lso_lag_ms`` is the median
    time between a record's acknowledgement and the reader first returning it.
    """
    from confluent_kafka import Producer

    require_client()
    exp = READ_COMMITTED
    isolation = exp.on if on else exp.off
    prefix = run_prefix()
    topic = f"{prefix}out"
    txn_id = f"{prefix}producer-1"
    create_topics(cluster, [topic])
    rec = Recorder()
    k = max(1, messages // 3)
    stop, ready = threading.Event(), threading.Event()
    reader = threading.Thread(
        target=read_all,
        args=(cluster, rec, topic),
        kwargs={"isolation": isolation, "stop": stop, "ready": ready},
        daemon=True,
    )
    try:
        p = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_id))
        p.init_transactions(30)
        reader.start()
        ready.wait(10)
        seq = 0
        for result in ("commit", "commit", "abort"):
            p.begin_transaction()
            for i in range(seq * k, seq * k + k):
                p.produce(
                    topic,
                    value=f"m{i}".encode(),
                    on_delivery=_recording(rec, "producer-1", txn_id, lambda s=seq: s),
                )
            p.flush(30)
            time.sleep(HOLD_S)
            if result == "commit":
                p.commit_transaction(30)
            else:
                p.abort_transaction(30)
            rec.op("producer-1", "txn_end", txn=txn_id, txn_seq=seq, result=result)
            seq += 1
        del p
    finally:
        stop.set()
        if reader.is_alive():
            reader.join(60)
        delete_topics(cluster, [topic])
    return _result(
        exp, on, rec, messages=3 * k, faults={}, lso_lag=True, extra={"aborted_records": k}
    )


READ_COMMITTED = Experiment(
    "read-committed",
    "isolation.level",
    "read_uncommitted",
    "read_committed",
    ("aborted_read", "uncommitted_read"),
    read_committed,
    "one transaction aborts while a reader reads",
)
