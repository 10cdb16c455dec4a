"""Transaction experiments written once for both backends (see :mod:`.scripted`).

``producer-restart``, ``transaction-timeout``, ``lso-blocking``, ``pending-offsets``,
``abort-no-rewind``. Each script returns the counts its row compares.
"""

from __future__ import annotations

from typing import Any

from eoslib.real.experiments.scripted import (
    Env,
    _committed,
    as_experiment,
    consumer_conf,
    drain,
    fill,
    read_values,
    take,
    txn_producer_conf,
)


def producer_restart(env: Env, on: bool, messages: int = 10) -> dict[str, Any]:
    """A producer writes half its messages and dies before learning they were delivered;
    its replacement re-sends everything. ``on``: both use one ``transactional.id`` (the
    replacement's ``init_transactions`` aborts the open transaction); off: plain
    idempotent producers (idempotence is per producer session). Counts ``duplicates``."""
    out = env.name("out")
    env.create_topics([out])
    txn = env.name("sender") if on else None
    vals = [f"m{i}" for i in range(messages)]
    p1 = env.producer(txn_producer_conf(txn))
    if txn:
        p1.init_transactions(30)
        p1.begin_transaction()
    for v in vals[: messages // 2]:
        p1.produce(out, value=v)
    p1.flush(30)  # appended by the broker; the application never sees the callbacks
    env.crash(p1)
    p2 = env.producer(txn_producer_conf(txn))
    if txn:
        p2.init_transactions(30)
        p2.begin_transaction()
    for v in vals:
        p2.produce(out, value=v)
    if txn:
        p2.commit_transaction(30)
    p2.flush(30)
    read = read_values(env, out)
    return {"duplicates": len(read) - len(set(read)), "lost": len(set(vals) - set(read))}


def transaction_timeout(env: Env, on: bool, messages: int = 10) -> dict[str, Any]:
    """A transactional producer writes half its messages and stalls past
    ``transaction.timeout.ms`` (3000); the coordinator aborts the transaction and bumps the
    epoch; the producer's late commit is fenced; a restarted producer with the same id
    writes everything. A reader with ``isolation.level`` = the setting (on:
    read_committed) polls throughout. Counts ``fenced`` (the late commit failed fatally),
    ``aborted_reads`` (records of the timed-out transaction the reader returned)."""
    out = env.name("out")
    env.create_topics([out])
    txn = env.name("slow-writer")
    vals = [f"m{i}" for i in range(messages)]
    reader = env.consumer(consumer_conf(env.name("reader"), "read_committed" if on
                                        else "read_uncommitted"))
    reader.assign([env.TopicPartition(out, 0, 0)])
    p = env.producer(txn_producer_conf(txn, timeout_ms=3000))
    p.init_transactions(30)
    p.begin_transaction()
    for v in vals[: messages // 2]:
        p.produce(out, value=v + "-stalled")
    p.flush(30)
    seen = [env.text(m.value()) for m in drain(env, reader, 4)]
    env.sleep(3.0 + 10.0 + 1.0 if env.backend == "sim" else 3.0 + 1.0 + 2.0)
    fenced, late_error = 0, None
    try:
        p.commit_transaction(10)
    except Exception as e:  # noqa: BLE001 - KafkaException on both sides
        err = e.args[0]
        late_error = err.name()
        fenced = int(bool(err.fatal()) or err.name() in ("_FENCED", "PRODUCER_FENCED",
                                                         "INVALID_PRODUCER_EPOCH"))
    env.crash(p)
    p2 = env.producer(txn_producer_conf(txn, timeout_ms=3000))
    p2.init_transactions(30)
    p2.begin_transaction()
    for v in vals:
        p2.produce(out, value=v)
    p2.commit_transaction(30)
    seen += [env.text(m.value()) for m in drain(env, reader, 6)]
    reader.close()
    read = read_values(env, out)
    return {"fenced": fenced, "late_commit_error": late_error,
            "aborted_reads": sum(v.endswith("-stalled") for v in seen),
            "committed_read": len(read), "lost": len(set(vals) - set(read))}


def lso_blocking(env: Env, on: bool, k: int = 5) -> dict[str, Any]:
    """A transaction writes ``k`` records and stays open; a plain producer then writes
    ``k`` more. A reader with ``isolation.level`` = the setting polls: read_committed
    stops at the last stable offset, also for the later non-transactional records;
    read_uncommitted returns them all. After the commit both read all ``2k``. Counts
    ``read_while_open``, ``read_after_commit``."""
    out = env.name("out")
    env.create_topics([out])
    tp = env.producer(txn_producer_conf(env.name("holder")))
    tp.init_transactions(30)
    tp.begin_transaction()
    for i in range(k):
        tp.produce(out, value=f"t{i}")
    tp.flush(30)
    fill(env, out, k, prefix="p")
    reader = env.consumer(consumer_conf(env.name("reader"), "read_committed" if on
                                        else "read_uncommitted"))
    reader.assign([env.TopicPartition(out, 0, 0)])
    while_open = len(drain(env, reader, 8))
    tp.commit_transaction(30)
    after = while_open + len(drain(env, reader, 8))
    reader.close()
    return {"read_while_open": while_open, "read_after_commit": after}


def pending_offsets(env: Env, on: bool, k: int = 5) -> dict[str, Any]:
    """A transactional copy of ``k`` input records sends the consumer's offsets to the
    transaction, then commits (``on``) or aborts it. An observer asks the group's committed
    offset while the transaction is open and after it ends. Counts
    ``committed_while_open``, ``committed_after`` (None: no committed offset)."""
    src, out = env.name("in"), env.name("out")
    env.create_topics([src, out])
    fill(env, src, k)
    group = env.name("copier")
    c = env.consumer(consumer_conf(group, "read_committed"))
    c.assign([env.TopicPartition(src, 0, 0)])
    msgs = take(env, c, k)
    p = env.producer(txn_producer_conf(env.name("copier-txn")))
    p.init_transactions(30)
    p.begin_transaction()
    for m in msgs:
        p.produce(out, value=m.value())
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    p.flush(30)
    while_open = _committed(env, group, src)
    if on:
        p.commit_transaction(30)
    else:
        p.abort_transaction(30)
    after = _committed(env, group, src)
    c.close()
    return {"committed_while_open": while_open, "committed_after": after,
            "consumed": len(msgs)}


def abort_no_rewind(env: Env, on: bool, messages: int = 10, batch: int = 5) -> dict[str, Any]:
    """A transactional copy loop aborts its first batch. Off: it carries on from its
    position (the abort does not move the consumer back); on: it seeks to the committed
    offset first. Counts ``position_after_abort`` and ``lost`` (inputs never in the
    committed output)."""
    src, out = env.name("in"), env.name("out")
    env.create_topics([src, out])
    vals = fill(env, src, messages)
    group = env.name("copier")
    c = env.consumer(consumer_conf(group, "read_committed"))
    c.assign([env.TopicPartition(src, 0, 0)])
    p = env.producer(txn_producer_conf(env.name("copier-txn")))
    p.init_transactions(30)
    first, position = True, None
    for _ in range(2 * messages // batch + 2):
        msgs = take(env, c, batch, tries=8)
        if not msgs:
            break
        p.begin_transaction()
        for m in msgs:
            p.produce(out, value=m.value())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(),
                                      30)
        if first:
            p.abort_transaction(30)
            first = False
            position = c.position(c.assignment())[0].offset
            if on:
                committed = c.committed([env.TopicPartition(src, 0)], timeout=10)[0].offset
                c.seek(env.TopicPartition(src, 0, committed if committed >= 0 else 0))
        else:
            p.commit_transaction(30)
    c.close()
    read = read_values(env, out)
    return {"position_after_abort": position, "lost": len(set(vals) - set(read)),
            "duplicates": len(read) - len(set(read))}


PRODUCER_RESTART = as_experiment(
    "producer-restart", "transactions", False, True, producer_restart,
    "a producer dies before learning what was delivered; its replacement re-sends")
TRANSACTION_TIMEOUT = as_experiment(
    "transaction-timeout", "isolation.level", "read_uncommitted", "read_committed",
    transaction_timeout, "a stalled transaction is aborted by the coordinator, its producer fenced")
LSO_BLOCKING = as_experiment(
    "lso-blocking", "isolation.level", "read_uncommitted", "read_committed", lso_blocking,
    "an open transaction holds read_committed readers at the last stable offset")
PENDING_OFFSETS = as_experiment(
    "pending-offsets", "txn.end", "abort", "commit", pending_offsets,
    "offsets sent to a transaction are invisible until it commits, discarded on abort")
ABORT_NO_REWIND = as_experiment(
    "abort-no-rewind", "seek.after.abort", False, True, abort_no_rewind,
    "an abort does not rewind the consumer; the application must seek")
