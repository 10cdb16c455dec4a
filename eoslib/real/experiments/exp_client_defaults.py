"""What each client does by default, written once and run under both clients and backends.

* ``java-auto-commit`` (:func:`auto_commit_java`): the Java consumer's auto-commit, after a
  crash, on ``close()`` and before a revocation.
* ``java-partitioner`` (:func:`partitioner`): which partition each key lands on.
* ``idempotence-opt-out`` (:func:`idempotence_opt_out`): ``acks=1`` with idempotence left
  at its default or set explicitly, and ``acks=all`` with it left at its default.
* ``default-isolation`` (:func:`default_isolation`): a consumer whose ``isolation.level``
  is left unset reads an aborted transaction or not.
* ``stable-offsets`` (:func:`stable_offsets`): ``committed()`` while a transaction holds
  the group's offsets waits for them or not.
"""

from __future__ import annotations

import time
from typing import Any

from eoslib.real.experiments.client_conf import (
    committed_offset,
    consumer_conf,
    fill,
    producer_conf,
    read_values,
    take,
)

#: the auto-commit interval of :func:`auto_commit_java` (and how long it sleeps past it)
INTERVAL_MS = 3500


def auto_commit_java(env: Any, end: str, batch: int = 3) -> dict[str, Any]:
    """A subscribed auto-committing consumer (``auto.commit.interval.ms=3500``,
    ``max.poll.records=3``, its own process) polls ``batch`` records, sleeps past the
    interval, polls ``batch`` more: that poll commits the position the *previous* poll
    left (Java: ``ConsumerCoordinator.maybeAutoCommitOffsetsAsync`` at the start of
    ``poll``). Then, within the interval, ``end``: ``crash`` (the process dies), ``close``
    (``close()`` commits the position synchronously) or ``rebalance`` (a second member
    joins; at its next poll the consumer commits its position before its partitions are
    revoked: ``onJoinPrepare`` -> ``maybeAutoCommitOffsetsSync``). Counts
    ``committed_by_next_poll`` and ``committed_after`` (None: nothing committed)."""
    src = env.name("in")
    env.create_topics([src])
    fill(env, src, 2 * batch)
    group = env.name("auto")
    conf = consumer_conf(env.client, group, "read_committed", auto_commit=True,
                         interval_ms=INTERVAL_MS, max_poll_records=batch,
                         **{"heartbeat.interval.ms": 250})
    c = env.consumer(conf, process="app-1")
    c.subscribe([src])
    handed = len(take(env, c, batch))
    env.sleep(INTERVAL_MS / 1000 + 0.3)
    t = time.monotonic()
    handed += len(take(env, c, batch))
    env.sleep(0.5)  # the auto-commit that poll sent is asynchronous: let it land
    by_poll = committed_offset(env, group, src)
    extra: dict[str, Any] = {}
    if end == "crash":
        env.crash(c)
    elif end == "close":
        c.close()
    else:
        c2 = env.consumer(conf)
        c2.subscribe([src])
        c2.consume(1, timeout=0.3)  # its JoinGroup starts a rebalance
        env.sleep(0.6)  # the first member's heartbeat (every 250 ms) learns of it
        c.consume(1, timeout=0.5)  # rejoins: commits, then its partitions are revoked
        if env.backend == "real":  # under the interval: no timer commit came first
            extra["seconds_since_commit_poll"] = round(time.monotonic() - t, 2)
        for _ in range(2):  # let the rebalance finish
            c2.consume(1, timeout=0.25)
            c.consume(1, timeout=0.25)
        if hasattr(c, "rebalance_events"):  # the Java driver's rebalance listener
            revoked = [e for e in c.rebalance_events() if e["event"] == "revoked"]
            extra["committed_at_revocation"] = revoked[0]["partitions"][0][2] if revoked \
                else None
    after = committed_offset(env, group, src)
    return {"committed_by_next_poll": by_poll, "committed_after": after, "handed": handed,
            **extra}


#: the keys of :func:`partitioner`
KEYS = [f"user-{i}" for i in range(1, 9)]


def partitioner(env: Any, _value: Any, partitions: int = 3) -> dict[str, Any]:
    """A producer with the client's default partitioner writes one record per key of
    :data:`KEYS` to a topic of ``partitions`` partitions. Java: ``murmur2(key) %
    partitions`` (``BuiltInPartitioner.partitionForKey``); librdkafka:
    ``consistent_random``, ``crc32(key) % partitions``. Counts ``partitions`` (per key, in
    order)."""
    out = env.name("keyed")
    env.create_topics([out], partitions=partitions)
    p = env.producer(producer_conf(env.client))
    landed: dict[str, int] = {}

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            landed[env.text(msg.key())] = msg.partition()

    for k in KEYS:
        p.produce(out, key=k, value=f"v-{k}", on_delivery=on_delivery)
    p.flush(30)
    return {"partitions": [landed.get(k) for k in KEYS]}


#: the settings of idempotence-opt-out, in order
OPT_OUT = ("acks=1", "acks=1, enable.idempotence=true", "acks=all")


def idempotence_opt_out(env: Any, setting: str, messages: int = 3) -> dict[str, Any]:
    """A producer with ``setting`` (idempotence left at the client's default unless set)
    writes ``messages`` records one request each through the proxy, which loses the answer
    to request 2: the client retries it. Java: idempotence defaults to true, but left at
    its default with ``acks=1`` it is silently turned off; set explicitly with ``acks=1``,
    ``ConfigException``
    (``ProducerConfig.postProcessAndValidateIdempotenceConfigs``). librdkafka: idempotence
    defaults to false; set explicitly with ``acks=1``, an error when the producer is made
    (``rd_kafka_conf_finalize``). Counts ``refused`` and ``duplicates`` (None when
    refused)."""
    if setting not in OPT_OUT:
        raise ValueError(f"setting must be one of {', '.join(OPT_OUT)}, not {setting!r}")
    out = env.name("out")
    env.create_topics([out])
    acks = "all" if setting == "acks=all" else "1"
    conf = producer_conf(env.client, omit=("enable.idempotence",), acks=acks)
    if "enable.idempotence=true" in setting:
        conf["enable.idempotence"] = True
    try:
        p = env.producer(conf, proxied=True)
    except Exception as e:  # noqa: BLE001 - ConfigException / KafkaException, either client
        return {"refused": 1, "duplicates": None, "refusal": _first_line(e)}
    env.lose_produce_response(2)
    for i in range(messages):
        p.produce(out, value=f"m{i}")
        p.flush(60)
    read = read_values(env, out)
    return {"refused": 0, "duplicates": len(read) - len(set(read)),
            "lost": messages - len(set(read))}


def default_isolation(env: Any, _value: Any, k: int = 3) -> dict[str, Any]:
    """A transactional producer commits ``k`` records and aborts ``k`` more; a consumer
    with ``isolation.level`` left unset reads the partition from the start. Java's
    default is ``read_uncommitted`` (``ConsumerConfig``), librdkafka's ``read_committed``
    (CONFIGURATION.md). Counts ``aborted_read`` and ``committed_read``."""
    out = env.name("out")
    env.create_topics([out])
    p = env.producer(producer_conf(env.client, env.name("writer")))
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(k):
        p.produce(out, value=f"c{i}")
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(k):
        p.produce(out, value=f"a{i}")
    p.flush(30)
    p.abort_transaction(30)
    read = read_values(env, out, isolation=None)
    return {"aborted_read": sum(v.startswith("a") for v in read),
            "committed_read": sum(v.startswith("c") for v in read)}


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__


def stable_offsets(env: Any, isolation: str, k: int = 3, wait_s: float = 3.0) -> dict[str, Any]:
    """A transactional copy of ``k`` records sends the consumer's offsets to its open
    transaction; then an observer in the group with ``isolation.level`` = the setting asks
    ``committed()`` (``wait_s`` seconds). KIP-447: a fetch that *requires stable* offsets
    is answered UNSTABLE_OFFSET_COMMIT while offsets are pending, and the client retries
    until the transaction ends or its timeout. The Java client always requires stable
    offsets (``ConsumerCoordinator.sendOffsetFetchRequest``); librdkafka only under
    ``read_committed``. Counts ``committed_while_open`` (``"waited"``: timed out; else the
    offset, None when none). ``committed_after_commit`` is what the observer reads right
    after ``commit_transaction()`` returns; not compared: Kafka answers EndTxn once
    PrepareCommit is logged, before the markers make the offsets committed, so an
    observer that does not wait for stable offsets may still read the old offset."""
    src, out = env.name("in"), env.name("out")
    env.create_topics([src, out])
    fill(env, src, k)
    group = env.name("copier")
    c = env.consumer(consumer_conf(env.client, group, "read_committed", max_poll_records=k))
    c.assign([env.TopicPartition(src, 0, 0)])
    msgs = take(env, c, k)
    p = env.producer(producer_conf(env.client, env.name("copier-txn")))
    p.init_transactions(30)
    p.begin_transaction()
    for m in msgs:
        p.produce(out, value=m.value())
    p.send_offsets_to_transaction([env.TopicPartition(src, 0, msgs[-1].offset() + 1)],
                                  c.consumer_group_metadata(), 30)
    p.flush(30)
    obs = env.consumer(consumer_conf(env.client, group, isolation))
    waited: Any
    try:
        off = obs.committed([env.TopicPartition(src, 0)], timeout=wait_s)[0].offset
        waited = off if off is not None and off >= 0 else None
    except Exception as e:  # noqa: BLE001 - a timeout, under either client
        waited = "waited"
        wait_error = (e.args[0].name() if e.args and hasattr(e.args[0], "name")
                      else type(e).__name__)
    else:
        wait_error = None
    p.commit_transaction(30)
    after = obs.committed([env.TopicPartition(src, 0)], timeout=10)[0].offset
    obs.close()
    c.close()
    return {"committed_while_open": waited,
            "committed_after_commit": after if after >= 0 else None, "wait_error": wait_error}
