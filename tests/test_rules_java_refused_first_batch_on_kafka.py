"""The Java client's idempotent producer whose first request to a partition is refused, on a
real broker and in the simulator: it does NOT report the refused record delivered.

The twin of ``tests/test_rules_librdkafka_implicit_ack_on_kafka.py`` (same experiment, same
proxy refusal), with Apache Kafka's Java client (kafka-clients 4.1.1, the session's driver
JVM). An idempotent (not transactional) ``KafkaProducer`` sends R1 ("a", sequence 0), its
first request to a partition, then R2 ("b", sequence 1) while R1 is in flight. R1 is refused
NOT_ENOUGH_REPLICAS (retriable: ``Sender.completeBatch`` -> ``reenqueueBatch``); R2 is
appended: a broker with no state for the producer takes any first sequence (Kafka 4.1.1
``ProducerAppendInfo.checkSequence``: "If there is no current producer epoch ... accept writes
with any sequence number"). The retried "a" (sequence 0 after 1) is then refused by the broker
OUT_OF_ORDER_SEQUENCE_NUMBER ("Out of order sequence number ...: 0 (incoming seq. number), 1
(current end sequence number)"), and the Java client retries it again: Kafka 4.1.1
``TransactionManager.canRetry``, "We should retry the OutOfOrderSequenceException if the
batch is _not_ the next batch, ie. its base sequence isn't the lastAckedSequence + 1" (here
0 is not 1 + 1), with no epoch bump, until ``delivery.timeout.ms``: then the batch expires in
the accumulator (``RecordAccumulator.expiredBatches``; ``Sender.sendProducerData``: a
``TimeoutException`` "Expiring 1 record(s) for T-0:N ms has passed since batch creation",
``markSequenceUnresolved``), and since the next sequence (2) is then lastAcked + 1,
``TransactionManager.maybeResolveSequences`` resolves the partition without an epoch bump:
the next record goes out as sequence 2, epoch 0. librdkafka instead reports "a" delivered
(an implicit ack) and loses it.

Real run (2026-12-06, Kafka 4.1.1, kafka-clients 4.1.1, Produce v13; delivery.timeout.ms
2900, request.timeout.ms 2000, retry.backoff.ms 250 doubling up to retry.backoff.max.ms
10000, linger.ms 0, max.in.flight 5): the proxy saw R1 (seq 0) refused 19, R2 (seq 1)
answered 0 at offset 0, then three retries of seq 0, epoch 0, each answered 45
(OUT_OF_ORDER_SEQUENCE_NUMBER), then "c" (seq 2, epoch 0) at offset 1. The client's log:
"Got error produce response ... retrying ... Error: NOT_ENOUGH_REPLICAS", then three times
"... Error: OUT_OF_ORDER_SEQUENCE_NUMBER". Delivery reports: "w" 0, "b" 0, "a"
TimeoutException (REQUEST_TIMED_OUT) "Expiring 1 record(s) for <topic>-0:2908 ms has passed
since batch creation" 2,926 ms after send(), "c" 1. The partition holds "b", "c"; the
broker's producer state: epoch 0, last sequence 2.

The same with a transactional producer (``EXPECTED``'s comments): at transaction.version 1
the same retries, then the commit fails (abortable) and, after the abort, the producer goes
on with epoch 0; at transaction.version 2 the broker refuses "b" too (seq 1 with no state:
KIP-890), both are retried and committed, nothing fails. A last experiment holds the
retry in flight (``HELD_EXPECTED``): Java expires it at delivery.timeout.ms
(``Sender.getExpiredInflightBatches``) and, the expired retry's sequence left unresolved,
bumps its epoch (``TransactionManager.maybeResolveSequences``). The simulator agrees on all
four (``test_sim_*``; its Java unresolved-sequence rules are ported from Kafka's
``SenderTest`` in ``tests/test_rules_java_unresolved_sequences.py``). Real runs: ~6, ~7, ~3
and ~4 s.

Why exactly three retries: Java's n-th produce retry waits ``retry.backoff.ms * 2**(n-1)``
times a jitter in [0.8, 1.2] (``ExponentialBackoff``, KIP-580), so the third retry leaves at
most 1.2 * (250 + 500 + 1000) = 2,100 ms after the refusal, and a fourth could not leave
before 0.8 * 3,750 = 3,000 ms, after the 2,900 ms deadline: the count does not depend on the
draws (or on the machine) as long as the refusal and three round trips take < 800 ms.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from test_rules_librdkafka_on_kafka import _read

from eoslib import KafkaException, Simulation
from eoslib.real.java_clients import JavaKafkaException

CONF = {"enable.idempotence": True, "acks": "all", "linger.ms": 0,
        "max.in.flight.requests.per.connection": 5, "delivery.timeout.ms": 2900,
        "request.timeout.ms": 2000, "retry.backoff.ms": 250, "retry.backoff.max.ms": 10000}
NAMES = {0: None, 19: "NOT_ENOUGH_REPLICAS", 45: "OUT_OF_ORDER_SEQUENCE_NUMBER"}
OOOS = "OUT_OF_ORDER_SEQUENCE_NUMBER"
#: the variants: an idempotent producer; a transactional one on a cluster at
#: transaction.version 1, and at 2 (KIP-890 part 2)
VARIANTS = {"idempotent": None, "txn-tv1": "1", "txn-tv2": "2"}

#: what the real Java client and broker did (module docstring), per variant: delivery
#: reports (value, offset or None, error name or None) in the order reported; each Produce
#: request to the topic (epoch, base sequence, the answer's error name or None); the errors
#: the client logged it would retry after; the error of the commit of "a" and "b" (name,
#: abortable), if any; the partition's records (read_uncommitted, read_committed)
EXPECTED: dict[str, dict[str, Any]] = {
    "idempotent": {
        "reports": [("w", 0, None), ("b", 0, None), ("a", None, "REQUEST_TIMED_OUT"),
                    ("c", 1, None)],
        "requests": [(0, 0, "NOT_ENOUGH_REPLICAS"), (0, 1, None), (0, 0, OOOS), (0, 0, OOOS),
                     (0, 0, OOOS), (0, 2, None)],
        "retried_after": ["NOT_ENOUGH_REPLICAS", OOOS, OOOS, OOOS],
        "commit_error": None,
        "log": ["b", "c"],
        "committed": ["b", "c"],
    },
    # the same retries (canRetry's rule does not ask whether the producer is transactional);
    # the expired "a" fails the commit (TransactionAbortableException "Transaction Request
    # was aborted after exhausting retries.", caused by the TimeoutException); the abort
    # keeps epoch 0 (the batch failed while COMMITTING: maybeTransitionToErrorState sets
    # clientSideEpochBumpRequired only when !isCompleting()), so "c" is sequence 2, epoch 0
    "txn-tv1": {
        "reports": [("w", 0, None), ("b", 0, None), ("a", None, "REQUEST_TIMED_OUT"),
                    ("c", 2, None)],
        "requests": [(0, 0, "NOT_ENOUGH_REPLICAS"), (0, 1, None), (0, 0, OOOS), (0, 0, OOOS),
                     (0, 0, OOOS), (0, 2, None)],
        "retried_after": ["NOT_ENOUGH_REPLICAS", OOOS, OOOS, OOOS],
        "commit_error": ("REQUEST_TIMED_OUT", True),
        "log": ["b", "c"],
        "committed": ["c"],
    },
    # KIP-890 part 2: a broker refuses a transactional TV2 producer's non-zero first
    # sequence on a partition where it has no state (ProducerAppendInfo.checkSequence: "For
    # transactions v2 idempotent producers, reject non-zero sequences when there is no
    # producer ID state"), so "b" (seq 1) is refused too; both are retried (neither is
    # lastAcked + 1 with nothing acked) and land in order; the commit succeeds, nothing is
    # lost. Epochs: TV2 bumps the epoch at every commit (1 for this transaction, 2 next).
    "txn-tv2": {
        "reports": [("w", 0, None), ("a", 0, None), ("b", 1, None), ("c", 3, None)],
        "requests": [(1, 0, "NOT_ENOUGH_REPLICAS"), (1, 1, OOOS), (1, 0, None), (1, 1, None),
                     (2, 0, None)],
        "retried_after": ["NOT_ENOUGH_REPLICAS", OOOS],
        "commit_error": None,
        "log": ["a", "b", "c"],
        "committed": ["a", "b", "c"],
    },
}
#: the refused record's error message: Java's TimeoutException from the accumulator
EXPIRY = re.compile(r"Expiring 1 record\(s\) for (\S+)-0:(\d+) ms has passed since batch "
                    r"creation")


def _reports(out: list[tuple[str, int | None, str | None]], errors: list[Any]) -> Any:
    def cb(err: Any, msg: Any) -> None:
        v, off = msg.value(), msg.offset()
        out.append((v.decode() if isinstance(v, bytes) else v,
                    None if off is None or off < 0 else off, err.name() if err else None))
        if err is not None:
            errors.append(err)
    return cb


def _steps(p: Any, txn: bool, topic: str, warm: str, refuse_next: Any,
           r1_sent: Any) -> dict[str, Any]:
    """Warm up (producer id, connection, metadata) on another topic, refuse the next
    Produce, send "a" (R1) and, once R1 is on its way, "b" (R2); flush or commit (it returns
    once "a" is settled; a failed commit is aborted); then "c"; flush or commit."""
    drs: list[tuple[str, int | None, str | None]] = []
    errors: list[Any] = []
    cb = _reports(drs, errors)
    commit_error = None
    if txn:
        p.init_transactions(30)
        p.begin_transaction()
    p.produce(warm, value="w", on_delivery=cb)
    p.commit_transaction(30) if txn else p.flush(10)
    if txn:
        p.begin_transaction()
    refuse_next()
    p.produce(topic, value="a", on_delivery=cb)
    r1_sent()
    p.produce(topic, value="b", on_delivery=cb)
    if txn:
        try:
            p.commit_transaction(30)
        except (KafkaException, JavaKafkaException) as e:
            err = e.args[0]
            commit_error = (err.name(), err.txn_requires_abort())
            p.abort_transaction(30)
        p.begin_transaction()
    else:
        p.flush(10)
    p.produce(topic, value="c", on_delivery=cb)
    p.commit_transaction(30) if txn else p.flush(10)
    return {"reports": drs, "errors": errors, "commit_error": commit_error}


# ------------------------------------------------------------------ the simulator
def _sim(variant: str, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The experiment in the simulator (client=java): the outcome in EXPECTED's shape, and
    details (the error, when "a" failed after its send, the producer's stats)."""
    tv = VARIANTS[variant]
    sim = Simulation(seed=seed, cluster={"transaction.version": tv or "2"})
    sim.create_topic("w", 1)
    sim.create_topic("t", 1)
    txn = {} if tv is None else {"transactional.id": "txn"}
    p = sim.Producer({"client": "java", **CONF, **txn})
    requests: list[list[Any]] = []
    orig, refuse = sim.cluster.handle_produce, [False]

    def produce(req: dict[str, Any], broker: int, respond: Any) -> None:
        if req["topic"] != "t":
            return orig(req, broker, respond)
        row = [req["epoch"], req["seq"], None]
        requests.append(row)

        def answer(resp: dict[str, Any]) -> None:
            row[2] = resp.get("error")
            respond(resp)
        if refuse[0]:  # the refusal (FaultProxy.refuse_produce), nothing appended
            refuse[0] = False
            sim.kernel.emit(f"partition {req['topic']}-0", "reject",
                            f"{req['label']}: NOT_ENOUGH_REPLICAS (refused)", flag="error")
            return answer({"error": "NOT_ENOUGH_REPLICAS"})
        return orig(req, broker, answer)

    sim.cluster.handle_produce = produce  # type: ignore[method-assign]
    sent_at: dict[str, float] = {}
    real_produce = p.produce

    def timed_produce(topic: str, value: str, **kw: Any) -> None:
        sent_at[value] = sim.kernel.now
        real_produce(topic, value=value, **kw)

    p.produce = timed_produce  # type: ignore[method-assign]
    run = _steps(p, bool(txn), "t", "w", lambda: refuse.__setitem__(0, True),
                 lambda: sim.sleep(0.5))
    part = sim.cluster.partition("t", 0)
    retried = [e["label"] for e in sim.kernel.trace
               if e["kind"] == "error" and e["lane"] == p.lane]
    outcome = {
        "reports": run["reports"],
        "requests": [tuple(r) for r in requests],
        "retried_after": retried,
        "commit_error": run["commit_error"],
        "log": [v for b in part.log for _, v in b.records if v is not None],
        "committed": [v for _, _, v in sim.read_all("t")],
    }
    failed = [op.time - sent_at["a"] for op in sim.history.of("send")
              if op.value["value"] == "a" and op.value["error"]]
    return outcome, {"errors": run["errors"], "failed_after_ms": failed[0] if failed else None,
                     "stats": dict(p.stats), "epoch": p.epoch}


def test_sim_java_retries_the_refused_first_batch_until_it_expires() -> None:
    outcome, details = _sim("idempotent")
    assert outcome == EXPECTED["idempotent"]
    assert details["stats"]["retries"] == 3 and details["epoch"] == 0  # no bump
    (err,) = details["errors"]
    m = EXPIRY.search(err.str())
    assert m and m.group(1) == "t", err.str()
    assert int(m.group(2)) == CONF["delivery.timeout.ms"] == details["failed_after_ms"]
    assert err.retriable()  # TimeoutException is a RetriableException


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sim_retry_count_does_not_depend_on_the_backoff_draws(seed: int) -> None:
    assert _sim("idempotent", seed)[0] == EXPECTED["idempotent"]


def test_sim_transactional_tv1_agrees() -> None:
    """A Java batch failing while COMMITTING does not make the abort bump the epoch
    (TransactionManager.maybeTransitionToErrorState: ``!isCompleting()``)."""
    outcome = _sim("txn-tv1")[0]
    # everything up to the abort agrees already
    assert {k: outcome[k] for k in ("retried_after", "commit_error", "committed")} == \
        {k: EXPECTED["txn-tv1"][k] for k in ("retried_after", "commit_error", "committed")}
    assert outcome == EXPECTED["txn-tv1"]


def test_sim_transactional_tv2_agrees() -> None:
    """The broker refuses a TV2 transactional producer's non-zero first sequence
    (ProducerAppendInfo.checkSequence, KIP-890): both records are retried and committed."""
    assert _sim("txn-tv2")[0] == EXPECTED["txn-tv2"]


# ------------------------------------------------------------------ the real twin
def _retries_logged(log_text: str, topic: str) -> list[str]:
    """The errors the Java client logged it would retry after, for ``topic``-0
    (``Sender.completeBatch``: "Got error produce response with correlation id N on
    topic-partition T-0, retrying (K attempts left). Error: E")."""
    pat = re.compile(r"Got error produce response with correlation id \d+ on topic-partition "
                     + re.escape(topic) + r"-0, retrying \(\d+ attempts left\)\. Error: (\w+)")
    return pat.findall(log_text)


@pytest.mark.broker
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_real_java_refused_first_batch(java: Any, variant: str) -> None:
    tv = VARIANTS[variant]
    env = java.env(transaction_version=tv)
    try:
        topic, warm = env.name("ja"), env.name("jw")
        env.create_topics([topic, warm])
        txn = {} if tv is None else {"transactional.id": env.name("txn")}
        p = env.producer({**CONF, **txn}, proxied=True)
        proxy = env.proxy
        assert proxy is not None
        log_start = p.driver.log.stat().st_size if p.driver.log.exists() else 0

        def r1_sent() -> None:  # R1 reached the proxy; its answer waits for R2
            deadline = time.monotonic() + 10
            while proxy.stats.refused == 0 and time.monotonic() < deadline:
                time.sleep(0.002)

        run = _steps(p, bool(txn), topic, warm, lambda: proxy.refuse_produce(1, wait=10.0),
                     r1_sent)
        ids = env.main.call("topic_ids", topics=[topic], timeout_ms=15000)["topic_ids"]
        sent = [b for b in proxy.stats.produce_batches  # v12-13 name the topic by its id
                if b["topic"] == topic or b.get("topic_id") == ids[topic]]
        with open(p.driver.log, errors="replace") as f:
            f.seek(log_start)
            logged = f.read()
        elapsed = {r["value"]: r["elapsed_ms"] for r in p.reports}
        committed, everything, _ = _read(java.cluster, topic)
    except BaseException:
        print(java.driver.log_tail(40))
        raise
    finally:
        env.cleanup()
    assert proxy.stats.refused == 1 and proxy.stats.not_refused == []
    assert len({b["producer_id"] for b in sent}) == 1
    real = {
        "reports": run["reports"],
        "requests": [(b["epoch"], b["base_seq"], NAMES.get(b["error_code"], b["error_code"]))
                     for b in sent],
        "retried_after": _retries_logged(logged, topic),
        "commit_error": run["commit_error"],
        "log": [v for _, v in everything],
        "committed": [v for _, v in committed],
    }
    print(f"{variant}: {real}; 'a' reported {elapsed.get('a')} ms after send()")
    assert real == EXPECTED[variant]
    if variant == "txn-tv2":
        return  # nothing failed
    (err,) = run["errors"]
    assert err.java_class() == "TimeoutException" and err.retriable()
    m = EXPIRY.search(err.str())
    assert m and m.group(1) == topic, err.str()
    # the batch expires at delivery.timeout.ms, not at the end of the backoff it waits in
    assert CONF["delivery.timeout.ms"] <= int(m.group(2)) < CONF["delivery.timeout.ms"] + 250
    if variant == "idempotent":
        sim, details = _sim(variant)
        assert real == sim  # the simulator agrees
        assert abs(details["failed_after_ms"] - elapsed["a"]) < 250


# ------------------------------------------- an expiry in flight, and the epoch bump after
#: the retry of "a" is held by the proxy (never answered): delivery.timeout.ms passes while
#: it is in flight, before request.timeout.ms would give it up
HELD_CONF = {**CONF, "delivery.timeout.ms": 3000, "request.timeout.ms": 3000}
#: Kafka 4.1.1 (2026-12-06): "a" fails 3,013 ms after send() with "Expiring 1 record(s) for
#: T-0:3013 ms has passed since batch creation" (Sender.getExpiredInflightBatches: an in-flight
#: batch expires at delivery.timeout.ms too), then the client logs "No inflight batches
#: remaining for T-0, last ack'd sequence for partition is -1, next sequence is 1. Going to
#: bump epoch and reset sequence numbers." (TransactionManager.maybeResolveSequences: the
#: expired retry left sequence 0 unresolved) and its epoch is 1
HELD_EXPECTED = {"reports": [("w", 0, None), ("a", None, "REQUEST_TIMED_OUT")], "epoch": 1}


def _held_steps(p: Any, topic: str, warm: str, refuse_then_hold: Any) -> dict[str, Any]:
    drs: list[tuple[str, int | None, str | None]] = []
    errors: list[Any] = []
    cb = _reports(drs, errors)
    p.produce(warm, value="w", on_delivery=cb)
    p.flush(10)
    refuse_then_hold()
    p.produce(topic, value="a", on_delivery=cb)
    p.flush(10)
    return {"reports": drs, "errors": errors}


def test_sim_java_expires_a_batch_in_flight_and_bumps_the_epoch() -> None:
    from oracle_inject import push_errors

    sim = Simulation(seed=0)
    sim.create_topic("w", 1)
    sim.create_topic("t", 1)
    p = sim.Producer({"client": "java", **HELD_CONF})
    at: dict[str, float] = {}
    run = _held_steps(p, "t", "w", lambda: (
        push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS", "DROP"),
        at.__setitem__("sent", sim.kernel.now)))
    (err,) = run["errors"]
    assert run["reports"] == HELD_EXPECTED["reports"]
    failed = next(op.time for op in sim.history.of("send") if op.value["value"] == "a")
    assert (failed - at["sent"], p.epoch) == (HELD_CONF["delivery.timeout.ms"], 1), err.str()
    m = EXPIRY.search(err.str())
    assert m and int(m.group(2)) == HELD_CONF["delivery.timeout.ms"], err.str()


@pytest.mark.broker
def test_real_java_expires_a_batch_in_flight_and_bumps_the_epoch(java: Any) -> None:
    from eoslib.real.proxy import PRODUCE

    env = java.env()
    try:
        topic, warm = env.name("jh"), env.name("jhw")
        env.create_topics([topic, warm])
        p = env.producer(HELD_CONF, proxied=True)
        proxy = env.proxy
        assert proxy is not None
        log_start = p.driver.log.stat().st_size if p.driver.log.exists() else 0

        def refuse_then_hold() -> None:
            proxy.refuse_produce(1, wait=0.0)  # answered at once: "a" is retried
            proxy.hold_request(PRODUCE, 2)  # the retry: never answered

        run = _held_steps(p, topic, warm, refuse_then_hold)
        # flush returns once "a" has failed; the sender bumps the epoch on its next loop
        deadline = time.monotonic() + 5
        while (epoch := p.state()["epoch"]) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(p.driver.log, errors="replace") as f:
            f.seek(log_start)
            logged = f.read()
        elapsed = {r["value"]: r["elapsed_ms"] for r in p.reports}
    except BaseException:
        print(java.driver.log_tail(40))
        raise
    finally:
        env.cleanup()
    print(f"held: {run['reports']}, epoch {epoch}; 'a' reported {elapsed['a']} ms after send()")
    assert proxy.stats.refused == 1 and proxy.stats.held == 1
    assert {"reports": run["reports"], "epoch": epoch} == HELD_EXPECTED
    (err,) = run["errors"]
    m = EXPIRY.search(err.str())
    assert m and m.group(1) == topic, err.str()
    # at delivery.timeout.ms: the held retry left ~250 ms after "a" was sent, so its own
    # request timeout would come ~250 ms later
    ms = int(m.group(2))
    assert HELD_CONF["delivery.timeout.ms"] <= ms < HELD_CONF["delivery.timeout.ms"] + 200
    assert f"No inflight batches remaining for {topic}-0, last ack'd sequence for partition " \
        "is -1, next sequence is 1. Going to bump epoch" in logged
