"""Real-broker mode against a real Apache Kafka broker (marker ``broker``).

One broker is started for the whole session (the ``kafka`` fixture of
:mod:`eoslib.real.testing`, shared with ``test_real_java.py``; Java 17 + the Maven Central
jars, fetched when missing) and stopped at the end whatever happens. Each experiment runs
once per setting (cached, so the comparison with the simulation reuses the runs). The
broker-crash test SIGKILLs the broker, so it is marked ``broker_crash`` and runs last. A
failing test prints the broker's log tail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eoslib.real import broker
from eoslib.real.compare import SIM_CALLS, agrees, run_sim, single_broker
from eoslib.real.experiments import broker_crash, run_experiment
from eoslib.real.testing import Kafka

pytestmark = pytest.mark.broker


def test_broker_is_running_and_logs_to_a_file(kafka: Kafka) -> None:
    st = broker.status(kafka.state_dir)
    assert st is not None and st.bootstrap == kafka.state.bootstrap
    assert st.kafka_version == broker.KAFKA_VERSION
    log = Path(st.log).read_text()
    assert "Kafka Server started" in log  # the log4j binding works: the broker is not silent


def test_lost_ack_without_idempotence_gives_exactly_one_duplicate(kafka: Kafka) -> None:
    r = kafka.run("producer-retry", False)
    assert r.counts["proxy_dropped"] == 1
    assert r.counts["duplicates"] == 1, r.report
    assert r.counts["lost"] == 0
    assert len(r.counts["read_offsets"]) == 2  # the retried message sits at two offsets


def test_lost_ack_with_idempotence_returns_the_original_offset(kafka: Kafka) -> None:
    r = kafka.run("producer-retry", True)
    assert r.counts["proxy_dropped"] == 1
    assert r.counts["duplicates"] == 0, r.report
    assert r.counts["original_offset_returned"] is True
    assert r.report.ok


def test_consumer_crash_at_least_once_replays_the_batch(kafka: Kafka) -> None:
    r = kafka.run("consumer-crash", False)
    assert r.counts["app_exits"][0] != 0  # the first incarnation really died
    assert r.counts["duplicates"] == SIM_CALLS["consumer-crash"].real_kwargs["batch"], r.report
    assert r.counts["lost_input"] == 0


def test_consumer_crash_exactly_once_has_no_duplicates(kafka: Kafka) -> None:
    r = kafka.run("consumer-crash", True)
    assert r.counts["duplicates"] == 0 and r.counts["processed_twice"] == 0, r.report
    assert r.counts["lost_input"] == 0 and r.counts["lost"] == 0
    assert r.counts["txn_aborted"] >= 1  # the crashed incarnation's transaction
    assert r.report.ok, r.report


def test_read_uncommitted_sees_aborted_records(kafka: Kafka) -> None:
    r = kafka.run("read-committed", False)
    assert r.counts["aborted_reads"] == r.counts["aborted_records"] > 0, r.report


def test_read_committed_hides_aborted_records(kafka: Kafka) -> None:
    r = kafka.run("read-committed", True)
    assert r.counts["aborted_reads"] == 0 and r.counts["uncommitted_reads"] == 0, r.report
    assert r.counts["txn_committed"] == 2 and r.counts["txn_aborted"] == 1
    assert r.report.ok


def test_zombie_is_fenced_and_its_records_invisible(kafka: Kafka) -> None:
    r = kafka.run("zombie-fencing", True)
    assert r.counts["fenced"] == 1, r.report
    assert r.counts["fence_error"] in ("_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")
    assert r.counts["duplicates"] == 0 and r.counts["aborted_reads"] == 0
    assert r.report.ok, r.report


def test_zombie_without_transactions_duplicates(kafka: Kafka) -> None:
    r = kafka.run("zombie-fencing", False)
    assert r.counts["fenced"] == 0
    assert r.counts["duplicates"] == SIM_CALLS["zombie-fencing"].real_kwargs["messages"]


# the experiments of this one-broker session (the three-broker ones: test_real_cluster.py)
SINGLE_BROKER = single_broker()


def test_restarted_producer_duplicates_unless_one_transactional_id(kafka: Kafka) -> None:
    assert kafka.run("producer-restart", False).counts["duplicates"] == 5
    assert kafka.run("producer-restart", True).counts["duplicates"] == 0


def test_timed_out_transaction_is_aborted_and_its_producer_fenced(kafka: Kafka) -> None:
    off, on = kafka.run("transaction-timeout", False), kafka.run("transaction-timeout", True)
    assert off.counts["late_commit_error"] == on.counts["late_commit_error"] == "_FENCED"
    assert off.counts["aborted_reads"] == 5 and on.counts["aborted_reads"] == 0
    assert on.counts["committed_read"] == 10 and on.counts["lost"] == 0


def test_open_transaction_holds_read_committed_at_the_lso(kafka: Kafka) -> None:
    ru, rc = kafka.run("lso-blocking", False).counts, kafka.run("lso-blocking", True).counts
    assert ru["read_while_open"] == 10  # the open transaction's 5 and the 5 plain ones after
    assert rc["read_while_open"] == 0  # also the later non-transactional records wait
    assert ru["read_after_commit"] == rc["read_after_commit"] == 10


def test_pending_offsets_invisible_until_commit_discarded_on_abort(kafka: Kafka) -> None:
    ab, co = kafka.run("pending-offsets", False).counts, kafka.run("pending-offsets", True).counts
    assert ab["committed_while_open"] is None and co["committed_while_open"] is None
    assert ab["committed_after"] is None and co["committed_after"] == co["consumed"] == 5


def test_abort_does_not_rewind_the_consumer(kafka: Kafka) -> None:
    off, on = kafka.run("abort-no-rewind", False).counts, kafka.run("abort-no-rewind", True).counts
    assert off["position_after_abort"] == on["position_after_abort"] == 5
    assert off["lost"] == 5 and on["lost"] == 0 and on["duplicates"] == 0


def test_librdkafka_auto_commit_commits_stored_offsets_on_close_not_on_crash(kafka: Kafka) -> None:
    crash, close = kafka.run("auto-commit", False).counts, kafka.run("auto-commit", True).counts
    assert crash["committed"] is None and crash["replayed"] == crash["handed"] == 6
    assert close["committed"] == 6 and close["replayed"] == 0


def test_commit_before_processing_loses_the_batch(kafka: Kafka) -> None:
    assert kafka.run("at-most-once", False).counts["lost"] == 5
    assert kafka.run("at-most-once", True).counts["lost"] == 0


def test_stalled_member_duplicates_unless_transactional(kafka: Kafka) -> None:
    off, on = kafka.run("rebalance", False).counts, kafka.run("rebalance", True).counts
    assert off["a_commit_failed"] == on["a_commit_failed"] == 1
    assert off["duplicates"] == 5 and on["duplicates"] == 0 and on["lost"] == 0


def test_seeded_differential_schedule_agrees(kafka: Kafka) -> None:
    """Seed 0 of producer-retry swallows two responses (requests 1 and 7)."""
    from eoslib.real.differential import real_kwargs, schedule, sim_call

    sched = schedule("producer-retry", 0)
    assert sched == {"lost_at": [1, 7]}
    for on in (False, True):
        real = run_experiment("producer-retry", kafka.cluster, on=on,
                              **real_kwargs("producer-retry", sched)).counts
        sim = run_sim("producer-retry", on, sim_call("producer-retry", sched))
        assert real["proxy_dropped"] == 2
        assert sim["duplicates"] == real["duplicates"] == (0 if on else 2)


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("name", SINGLE_BROKER)
def test_simulation_agrees_with_real_kafka(kafka: Kafka, name: str, on: bool) -> None:
    pytest.importorskip("eoslib.scenarios")
    real = kafka.run(name, on).counts
    sim = run_sim(name, on)
    assert agrees(name, sim, real), f"{name} on={on}: simulation {sim} vs real {real}"


@pytest.mark.broker_crash
def test_exactly_once_survives_a_broker_kill9(kafka: Kafka) -> None:
    """Runs last: SIGKILL the broker mid-pipeline, restart it, check the output."""
    sd = kafka.state_dir
    with kafka.log_on_failure():
        r = broker_crash(
            kafka.cluster,
            kill=lambda: broker.kill9(sd),
            restart=lambda: broker.restart(sd),
            messages=40,
            kill_after_txns=2,
        )
    print(f"broker crash run: {r.counts}")
    assert r.counts.get("broker_down_s") is not None, "the broker was never killed"
    assert broker.status(sd) is not None
    assert r.counts["duplicates"] == 0 and r.counts["processed_twice"] == 0, r.report
    assert r.counts["lost"] == 0 and r.counts["lost_input"] == 0, r.report
