"""Experiment 2, consumer-crash (``transactions``): the app dies before committing offsets."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eoslib.real.clients import (
    Cluster,
    Recorder,
    create_topics,
    delete_topics,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.experiments.app_runs import _app_spec, _run_until_done
from eoslib.real.experiments.common import Experiment, _produce_inputs, _result, _sink
from eoslib.result import Result


def consumer_crash(
    cluster: Cluster, *, on: bool, messages: int = 20, batch: int = 5, crash_batch: int = 1
) -> Result:
    """Crash a consume-transform-produce app after producing a batch, before committing.

    ``producer-in`` writes m0..m{messages-1} to the input topic. The app (a child process,
    :mod:`eoslib.real.app`; "app-1", then "app-1#2" after the restart) copies records to
    the output topic in batches of ``batch``; its first incarnation calls ``os._exit``
    after producing batch number ``crash_batch`` (0-based) and before committing. Off
    (at-least-once): produce, flush, ``consumer.commit()``. On (exactly-once):
    ``transactional.id`` set, ``begin_transaction``, produce,
    ``send_offsets_to_transaction``, ``commit_transaction``. Consumer settings:
    ``isolation.level=read_committed``, ``enable.auto.commit=false``,
    ``auto.offset.reset=earliest``; producer: ``enable.idempotence=true``, ``acks=all``.
    The verifier reads the output with read_committed, and a downstream "sink" applies
    each record it read (so ``processed_twice`` and ``lost_input`` count too). Expected:
    off, ``batch`` duplicates; on, none.
    """
    require_client()
    exp = CONSUMER_CRASH
    prefix = run_prefix()
    topics = [f"{prefix}in", f"{prefix}out"]
    create_topics(cluster, topics)
    rec = Recorder()
    exits: list[int] = []
    try:
        inputs = _produce_inputs(cluster, rec, topics[0], messages)
        with tempfile.TemporaryDirectory(prefix="eoslib-app-") as tmp:
            ops_file = Path(tmp) / "ops.jsonl"
            spec = _app_spec(
                cluster, rec, prefix, ops_file, transactional=on, end_offset=messages, batch=batch
            )
            exits = _run_until_done(spec, crash_batch=crash_batch)
            rec.load(ops_file)
        read = read_all(cluster, rec, topics[1], isolation="read_committed")
        _sink(rec, topics[0], read)
    finally:
        delete_topics(cluster, topics, [f"{prefix}group"])
    faults = {"crash_step": "after_produce", "crash_batch": crash_batch}
    return _result(
        exp,
        on,
        rec,
        messages=messages,
        faults=faults,
        expected_ids=inputs,
        extra={"batch": batch, "app_exits": exits},
    )


CONSUMER_CRASH = Experiment(
    "consumer-crash",
    "transactions",
    False,
    True,
    ("duplicate", "processed_twice"),
    consumer_crash,
    "the app crashes after producing, before committing its offsets",
)
