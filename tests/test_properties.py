"""Property tests: random fault schedules against each delivery preset.

Hypothesis draws the schedules (seed, lost requests and responses, refused produces, slow
responses, a crash at any step of the loop); ``derandomize=True`` makes every CI run draw
the same examples. The exactly-once preset must hold in EVERY schedule; each weaker preset
must fail in SOME schedule, which the last tests find and print.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eoslib.faults import APIS, CRASH_STEPS
from eoslib.scenarios import run_scenario

PROPS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
MESSAGES = 30

seeds = st.integers(min_value=0, max_value=10_000)
prob = st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.4])
small_prob = st.sampled_from([0.0, 0.05, 0.1, 0.3])
crash_steps = st.sampled_from((None, *CRASH_STEPS))
crash_at = st.integers(min_value=0, max_value=MESSAGES - 1)


@st.composite
def network_faults(draw, *, request_loss=True):
    return {
        "response_loss": draw(prob),
        "request_loss": draw(small_prob) if request_loss else 0.0,
        "error_prob": draw(small_prob),
        "slow_prob": draw(st.sampled_from([0.0, 0.2])),
        "slow_broker_ms": draw(st.sampled_from([0.0, 50.0, 2000.0])),
    }


@st.composite
def app_faults(draw):
    """Network faults on any subset of the APIs, plus a crash placed anywhere."""
    faults = draw(network_faults())
    faults["apis"] = tuple(draw(st.lists(st.sampled_from(APIS), min_size=1, max_size=len(APIS),
                                         unique=True)))
    faults["crash_step"] = draw(crash_steps)
    faults["crash_at"] = draw(crash_at)
    faults["max_crashes"] = draw(st.integers(min_value=1, max_value=3))
    if draw(st.booleans()):
        faults["crash_prob"] = draw(st.sampled_from([0.2, 0.5]))
    return faults


def verifier_values(result):
    """Every value the final read_committed verifier saw, with repeats."""
    return [rec[3] for op in result.history.of("poll") if op.process == "verifier"
            for rec in op.value["records"]]


def summary(result):
    """A short trace summary: the flagged events, then the checker's report."""
    flagged = [f"  t={ev['t']:>9} {ev['lane']:<22} {ev['kind']:<9} {ev['label']}"
               for ev in result.trace if ev["flag"]]
    head = (f"{result.scenario} seed={result.seed} faults="
            f"{ {k: v for k, v in result.faults.items() if v not in (0, 0.0, None, ())} }")
    return "\n".join([head, *flagged[:25], str(result.report)])


# ---------------------------------------------------------------- idempotent producer
@PROPS
@given(seed=seeds, faults=network_faults(),
       max_in_flight=st.integers(min_value=1, max_value=5),
       linger=st.sampled_from([0, 5]), scenario=st.sampled_from(["producer-retry", "reorder"]))
def test_idempotent_producer_never_duplicates(seed, faults, max_in_flight, linger, scenario):
    r = run_scenario(scenario, seed=seed, messages=MESSAGES, faults=faults, tracing=False,
                     config={"enable.idempotence": True, "linger.ms": linger,
                             "max.in.flight.requests.per.connection": max_in_flight})
    assert r.counts["duplicates"] == 0, summary(r)
    assert r.counts["lost"] == 0, summary(r)
    values = verifier_values(r)
    assert len(values) == len(set(values))


def test_reorder_scenario_with_idempotence_keeps_the_order():
    for seed in range(3):
        r = run_scenario("reorder", seed=seed, messages=MESSAGES, tracing=False,
                         config={"enable.idempotence": True})
        assert r.counts["reordered"] == 0, summary(r)


@PROPS
@given(seed=seeds, lost_acks=st.integers(min_value=1, max_value=3),
       response_loss=st.sampled_from([0.0, 0.1, 0.3]))
def test_without_idempotence_lost_responses_duplicate_and_checker_names_them(
        seed, lost_acks, response_loss):
    r = run_scenario("producer-retry", seed=seed, messages=MESSAGES,
                     config={"enable.idempotence": False},
                     faults={"lost_acks": lost_acks, "response_loss": response_loss})
    assert r.counts["duplicates"] >= 1
    assert "duplicate" in r.report.failures()
    dup = r.report.anomalies["duplicate"]
    assert dup.examples
    values = verifier_values(r)
    text = str(r.report)
    assert text.startswith("NOT OK")
    for ex in dup.examples:
        assert values.count(ex["value"]) >= 2  # the named value really sits twice
        assert str(ex["value"]) in text


# ------------------------------------------------------------------ weaker presets
def committed_input(result, topic="in", partition=0, *, maybe=False):
    """The input offset the group durably committed: plain commits that succeeded, and
    transactional ones whose transaction committed. With ``maybe``, also the commits
    whose outcome the client never learned (lost response, crash): an upper bound."""
    outcomes = ("ok", "info") if maybe else ("ok",)
    committed_txns = {(op.process, op.value["txn_seq"]) for op in result.history.of("txn_end")
                      if op.outcome in outcomes and op.value["result"] == "commit"}
    best = 0
    for op in result.history.of("commit"):
        if op.outcome not in outcomes:
            continue
        if op.value.get("txn") and (op.process, op.value.get("txn_seq")) not in committed_txns:
            continue
        for t, p, off in op.value["offsets"]:
            if (t, p) == (topic, partition):
                best = max(best, off)
    return best


def sink_ids(result):
    return [op.value["id"] for op in result.history.of("sink_write") if op.value["applied"]]


@PROPS
@given(seed=seeds, faults=app_faults(), sink=st.sampled_from(["insert", "upsert"]),
       scenario=st.sampled_from(["pipeline", "at-most-once"]),
       batch=st.sampled_from([1, 5, 10]))
def test_at_least_once_never_loses_an_input(seed, faults, sink, scenario, batch):
    r = run_scenario(scenario, seed=seed, messages=MESSAGES, faults=faults, tracing=False,
                     config={"delivery": "at-least-once", "sink": sink, "batch": batch})
    assert r.report.count("lost") == 0, summary(r)  # no acknowledged write vanished
    # everything committed was processed first: a restart never skips an input
    done = committed_input(r)
    applied = set(sink_ids(r))
    assert {f"m{i}" for i in range(done)} <= applied, summary(r)
    if scenario == "pipeline":
        out = set(verifier_values(r))
        assert {f"m{i}'" for i in range(done)} <= out, summary(r)
    if done == MESSAGES:  # the app got through its input: nothing is missing at all
        assert r.counts["lost"] == 0, summary(r)
    assert r.report.count("lost_input") == 0, summary(r)  # no consumed input is missing


@PROPS
@given(seed=seeds, faults=app_faults(), batch=st.sampled_from([1, 5, 10]))
def test_at_most_once_never_processes_twice(seed, faults, batch):
    r = run_scenario("at-most-once", seed=seed, messages=MESSAGES, faults=faults,
                     tracing=False, config={"delivery": "at-most-once", "sink": "insert",
                                            "batch": batch})
    assert r.counts["processed_twice"] == 0, summary(r)
    ids = sink_ids(r)
    assert len(ids) == len(set(ids))


@PROPS
@given(seed=seeds, faults=app_faults(), batch=st.sampled_from([1, 5, 10]))
def test_at_most_once_never_duplicates_in_a_topic(seed, faults, batch):
    r = run_scenario("consumer-crash", seed=seed, messages=MESSAGES, faults=faults,
                     tracing=False, config={"delivery": "at-most-once", "batch": batch})
    assert r.report.count("duplicate") == 0, summary(r)
    assert "duplicate" not in r.report.unchecked, summary(r)


# --------------------------------------------- each preset shows exactly its guarantee
def _placed():
    """Every crash step in the first, middle and last batch, then a lost answer to each of
    the first Produce, OffsetCommit and TxnOffsetCommit requests (placed faults only)."""
    for step in CRASH_STEPS:
        for at in (0, 15, 29):
            yield {"crash_step": step, "crash_at": at}
    for drop in ("produce.response.1", "offset_commit.response.1",
                 "txn_offset_commit.response.1", "produce.request.2"):
        yield {"crash_step": None, "drop": (drop,)}


@pytest.mark.parametrize("delivery,loses,duplicates", [
    ("at-most-once", True, False), ("at-least-once", False, True),
    ("exactly-once", False, False)])
def test_each_delivery_preset_shows_exactly_its_guarantee(delivery, loses, duplicates):
    """at-most-once loses inputs and never repeats one; at-least-once repeats inputs and
    never loses one; exactly-once does neither: per input, the checker counts the records
    of the output a read_committed reader sees at the end."""
    seen = {"lost_input": 0, "duplicate": 0}
    for faults in _placed():
        r = run_scenario("consumer-crash", seed=0, messages=MESSAGES, faults=faults,
                         config={"delivery": delivery, "batch": 10}, tracing=False)
        rep = r.report
        assert "lost_input" not in rep.unchecked and not rep.unconsumed, (faults, str(rep))
        for name in seen:
            if rep.count(name):
                assert {"lost_input": loses, "duplicate": duplicates}[name], (faults, str(rep))
                seen[name] += 1
    assert bool(seen["lost_input"]) == loses and bool(seen["duplicate"]) == duplicates, seen


# ------------------------------------------------------------------- exactly-once
SAFETY = ("duplicates", "aborted_reads", "uncommitted_reads", "processed_twice", "reordered")


@settings(PROPS, max_examples=40)
@given(seed=seeds, faults=app_faults(), batch=st.sampled_from([1, 3, 10]),
       scenario=st.sampled_from(["pipeline", "transactional-crash"]),
       tv=st.sampled_from(["1", "2"]),
       request_timeout=st.sampled_from([1000, 30000]))
def test_exactly_once_is_safe_in_every_schedule(seed, faults, batch, scenario, tv,
                                                request_timeout):
    r = run_scenario(scenario, seed=seed, messages=MESSAGES, faults=faults, tracing=False,
                     config={"transactions": True, "batch": batch, "transaction.version": tv,
                             # the client-side timeout: Java's key, librdkafka's key
                             "request.timeout.ms": request_timeout,
                             "socket.timeout.ms": request_timeout})
    for anomaly in SAFETY:
        assert r.counts[anomaly] == 0, f"{anomaly}\n{summary(r)}"
    assert r.report.count("lost") == 0, summary(r)
    assert r.report.ok, summary(r)
    out = verifier_values(r)
    assert len(out) == len(set(out)), summary(r)
    # the output is exactly the committed input: all of what surely committed, plus at
    # most what may have (an EndTxn whose answer was lost)
    surely, maybe = committed_input(r), committed_input(r, maybe=True)
    assert {f"m{i}'" for i in range(surely)} <= set(out), summary(r)
    assert set(out) <= {f"m{i}'" for i in range(maybe)}, summary(r)


@settings(PROPS, max_examples=30)
@given(seed=seeds, faults=app_faults(), batch=st.sampled_from([1, 3, 10]),
       scenario=st.sampled_from(["pipeline", "transactional-crash"]))
def test_exactly_once_completes_every_input_once_tv2(seed, faults, batch, scenario):
    """With retries that fit in the time the app has (request.timeout.ms=1000), every
    input reaches the output exactly once, whatever crashes and losses happen."""
    r = run_scenario(scenario, seed=seed, messages=MESSAGES, faults=faults, tracing=False,
                     config={"transactions": True, "batch": batch, "transaction.version": "2",
                             "request.timeout.ms": 1000, "client": "java"})
    assert r.counts["lost"] == 0 and r.report.ok, summary(r)
    assert sorted(verifier_values(r)) == sorted(f"m{i}'" for i in range(MESSAGES)), summary(r)


def test_exactly_once_completes_under_tv1_after_a_lost_produce():
    faults = {"response_loss": 0.2, "request_loss": 0.1, "slow_prob": 0.2,
              "slow_broker_ms": 50, "crash_step": None,
              "apis": ("produce", "end_txn", "offset_commit", "txn_offset_commit")}
    r = run_scenario("transactional-crash", seed=319, messages=MESSAGES, faults=faults,
                     config={"transactions": True, "batch": 10, "transaction.version": "1",
                             "request.timeout.ms": 1000, "socket.timeout.ms": 1000},
                     tracing=False)
    assert sorted(verifier_values(r)) == sorted(f"m{i}'" for i in range(MESSAGES))


def test_exactly_once_pipeline_retries_a_retriable_abort_timeout():
    faults = {"request_loss": 0.3,
              "apis": ("produce", "end_txn", "txn_offset_commit", "offset_commit")}
    # the Java client's timing (request.timeout.ms=30000 < transaction.timeout.ms=60000);
    # librdkafka's socket.timeout.ms (59900) leaves no room for a retry within the timeout
    r = run_scenario("pipeline", seed=0, messages=MESSAGES, faults=faults, tracing=False,
                     config={"transactions": True, "batch": 1, "client": "java"})
    assert sorted(verifier_values(r)) == sorted(f"m{i}'" for i in range(MESSAGES))


@settings(PROPS, max_examples=25)
@given(seed=seeds, faults=app_faults(), sink=st.sampled_from(["upsert", "offsets"]))
def test_exactly_once_with_an_idempotent_or_transactional_sink(seed, faults, sink):
    r = run_scenario("external-sink", seed=seed, messages=MESSAGES, faults=faults,
                     tracing=False, config={"transactions": True, "sink": sink,
                                            "request.timeout.ms": 1000,
                                            "socket.timeout.ms": 1000})
    assert r.counts["processed_twice"] == 0, summary(r)
    assert r.counts["duplicates"] == 0, summary(r)
    assert r.report.count("lost") == 0, summary(r)
    # (lost_input may be non-zero: a stalled transaction is timed out and the app fenced;
    # see test_exactly_once_pipeline_retries_a_retriable_abort_timeout)


# --------------------------------------------- every weaker preset fails somewhere
def _schedules():
    """A fixed, ordered family of schedules: crashes at each step, then lost responses."""
    for seed in range(4):
        for step in CRASH_STEPS:
            for at in (5, 15, 25):
                yield seed, {"crash_step": step, "crash_at": at}
        for loss in (0.1, 0.3):
            yield seed, {"response_loss": loss, "crash_step": None}


WEAKER = {
    # preset name: (scenario, config, the anomaly it must show)
    "at-most-once": ("at-most-once", {"delivery": "at-most-once", "sink": "insert"},
                     "lost"),
    "at-least-once": ("pipeline", {"delivery": "at-least-once"}, "duplicates"),
    "at-least-once+sink": ("pipeline", {"delivery": "at-least-once", "sink": "insert"},
                           "processed_twice"),
    "no-idempotence": ("producer-retry", {"enable.idempotence": False}, "duplicates"),
    "eos+read_uncommitted": ("read-committed", {"isolation.level": "read_uncommitted"},
                             "aborted_reads"),
    "eos+insert-sink": ("external-sink", {"transactions": True, "sink": "insert"},
                        "processed_twice"),
}


@pytest.mark.parametrize("preset", sorted(WEAKER))
def test_each_weaker_preset_fails_in_some_schedule(preset):
    scenario, config, anomaly = WEAKER[preset]
    for tried, (seed, faults) in enumerate(_schedules(), 1):
        r = run_scenario(scenario, seed=seed, messages=MESSAGES, config=config, faults=faults)
        if r.counts[anomaly] > 0:
            assert not r.report.ok
            print(f"{preset}: {anomaly}={r.counts[anomaly]} after {tried} schedules\n"
                  + summary(r))
            # the exactly-once preset survives the very same schedule
            if scenario in ("pipeline", "at-most-once"):
                eos = run_scenario("pipeline", seed=seed, messages=MESSAGES, faults=faults,
                                   config={"transactions": True})
                assert eos.report.ok, summary(eos)
            return
    pytest.fail(f"{preset}: no schedule showed {anomaly}")
