"""Experiment auto-commit, written once for both backends (see :mod:`.scripted`).

librdkafka's auto-commit (the real side's client, so the simulator runs with
``client=librdkafka``): ``enable.auto.offset.store=true`` stores each message's offset + 1
as it is handed to the application; a background timer (``auto.commit.interval.ms``)
commits the stored offsets; ``close()`` commits them too (librdkafka
CONFIGURATION.md; rd_kafka_consumer_close). A crash commits nothing the timer did not.
"""

from __future__ import annotations

from typing import Any

from eoslib.real.experiments.scripted import (
    Env,
    _committed,
    as_experiment,
    consumer_conf,
    fill,
    take,
)


def auto_commit(env: Env, on: bool, messages: int = 10, handed: int = 6) -> dict[str, Any]:
    """A subscribed auto-committing consumer (``auto.commit.interval.ms=60000``: the timer
    never fires during the run) is handed ``handed`` of ``messages`` records, then its
    process crashes (off) or it calls ``close()`` (on). Counts ``committed`` (the group's
    committed offset afterwards; None: none) and ``replayed`` (records a successor in the
    group reads again)."""
    src = env.name("in")
    env.create_topics([src])
    fill(env, src, messages)
    group = env.name("auto")
    c = env.consumer(consumer_conf(group, "read_committed", auto_commit=True,
                                   interval_ms=60000))
    c.subscribe([src])
    got = take(env, c, handed)
    if on:
        c.close()
    else:
        env.crash(c)
    committed = _committed(env, group, src)
    start = committed or 0
    return {"committed": committed, "replayed": max(0, len(got) - start),
            "handed": len(got)}


AUTO_COMMIT = as_experiment(
    "auto-commit", "shutdown", "crash", "close", auto_commit,
    "librdkafka's auto-commit: what is committed after a crash and after close()")
