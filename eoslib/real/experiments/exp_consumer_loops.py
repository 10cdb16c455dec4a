"""Consumer-loop experiments written once for both backends (see :mod:`.scripted`).

``at-most-once`` (commit before processing) and ``rebalance`` (a member that stalls past
``max.poll.interval.ms`` loses its partition mid-batch).
"""

from __future__ import annotations

from typing import Any

from eoslib.real.experiments.scripted import (
    Env,
    as_experiment,
    consumer_conf,
    fill,
    read_values,
    take,
    txn_producer_conf,
)


def at_most_once(env: Env, on: bool, messages: int = 20, batch: int = 5,
                 crash_batch: int = 1) -> dict[str, Any]:
    """A copy loop commits its input offsets before producing (off: at-most-once) or after
    (on: at-least-once); it dies right after committing batch ``crash_batch`` (0-based),
    and a restarted copy resumes from the committed offset. Counts ``lost`` (inputs never
    in the output) and ``duplicates``."""
    src, out = env.name("in"), env.name("out")
    env.create_topics([src, out])
    vals = fill(env, src, messages)
    group = env.name("copier")
    crashed = False
    for _run in range(2):
        c = env.consumer(consumer_conf(group, "read_committed"))
        c.assign([env.TopicPartition(src, 0)])
        p = env.producer(txn_producer_conf(None))
        n = 0
        while True:
            msgs = take(env, c, batch, tries=8)
            if not msgs:
                break
            offsets = [env.TopicPartition(src, 0, msgs[-1].offset() + 1)]
            if not on:
                c.commit(offsets=offsets, asynchronous=False)
                if n == crash_batch and not crashed:
                    break
            for m in msgs:
                p.produce(out, value=m.value())
            p.flush(30)
            if on:
                c.commit(offsets=offsets, asynchronous=False)
                if n == crash_batch and not crashed:
                    break
            n += 1
        if not crashed:
            crashed = True
            env.crash(c)
            env.crash(p)
            continue
        c.close()
        break
    read = read_values(env, out)
    return {"lost": len(set(vals) - set(read)), "duplicates": len(read) - len(set(read))}


def rebalance(env: Env, on: bool, messages: int = 10, batch: int = 5) -> dict[str, Any]:
    """Member A of a group polls a batch, produces its copies, then stalls past
    ``max.poll.interval.ms`` (6000): it leaves the group, and member B, which joined,
    copies the input from the committed offset. A then wakes and commits. Off
    (at-least-once: produce, flush, ``commit``): A's copies stay, B copies them again;
    on (transactions: ``send_offsets_to_transaction`` with A's stale group metadata):
    A's commit fails, its transaction aborts. Counts ``duplicates``, ``lost`` and
    ``a_commit_failed``."""
    src, out = env.name("in"), env.name("out")
    env.create_topics([src, out])
    vals = fill(env, src, messages)
    group = env.name("copiers")
    conf = {**consumer_conf(group, "read_committed"), "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000, "max.poll.interval.ms": 6000}

    def member(name: str) -> tuple[Any, Any]:
        c = env.consumer(conf)
        c.subscribe([src])
        p = env.producer(txn_producer_conf(env.name(name) if on else None))
        if on:
            p.init_transactions(30)
        return c, p

    def copy(c: Any, p: Any, msgs: list[Any]) -> None:
        if on:
            p.begin_transaction()
        for m in msgs:
            p.produce(out, value=m.value())
        p.flush(30)
        if on:
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata(), 30)
            p.commit_transaction(30)
        else:
            c.commit(asynchronous=False)

    ca, pa = member("a")
    msgs = take(env, ca, batch)
    if on:
        pa.begin_transaction()
    for m in msgs:
        pa.produce(out, value=m.value())
    pa.flush(30)
    cb, pb = member("b")
    env.sleep(9.0)  # A stalls (no poll) past max.poll.interval.ms; B keeps polling below
    done = 0
    for _ in range(60):
        got = take(env, cb, batch, tries=2)
        if got:
            copy(cb, pb, got)
            done += len(got)
        elif done >= messages:
            break
    failed = 0
    try:  # A wakes up and commits as if nothing happened
        if on:
            pa.send_offsets_to_transaction(ca.position(ca.assignment()),
                                           ca.consumer_group_metadata(), 30)
            pa.commit_transaction(30)
        else:
            ca.commit(asynchronous=False)
    except Exception as e:  # noqa: BLE001 - KafkaException on both sides
        failed = 1
        if on and e.args[0].txn_requires_abort():
            pa.abort_transaction(30)
    env.crash(ca)
    cb.close()
    read = read_values(env, out)
    return {"duplicates": len(read) - len(set(read)), "lost": len(set(vals) - set(read)),
            "a_commit_failed": failed}


AT_MOST_ONCE = as_experiment(
    "at-most-once", "delivery", "at-most-once", "at-least-once", at_most_once,
    "committing before processing loses the in-flight batch on a crash")
REBALANCE = as_experiment(
    "rebalance", "transactions", False, True, rebalance,
    "a member stalls past max.poll.interval.ms mid-batch and loses its partition")
