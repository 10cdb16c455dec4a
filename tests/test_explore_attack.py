"""The grader's attack: the minimal schedule that breaks a learner's protocol piece."""

from __future__ import annotations

from eoslib.explore.attack import attack, attack_with
from eoslib.isolation import read_committed_filter, read_uncommitted_filter
from eoslib.producer_state import APPEND, kafka_duplicate_check
from eoslib.scenarios import run_scenario

RC = {"isolation.level": "read_committed", "batch": 1}


def always_append(entry, batch):
    return APPEND


def test_a_check_that_never_deduplicates_breaks_on_the_first_lost_response() -> None:
    found = attack("producer-retry", {"duplicate_check": always_append}, kinds=("response",))
    assert found is not None and found.kind == "duplicate"
    assert found.faults == ["lose the response to the 1st Produce"]
    assert found.words().startswith("duplicate (")
    again = run_scenario(**found.run_kwargs, hooks={"duplicate_check": always_append})
    assert again.report.count("duplicate") == found.counts["duplicate"] > 0
    assert found.result is not None and found.result.trace  # traced for the timeline


def test_kafkas_own_pieces_survive_the_attack() -> None:
    assert attack("producer-retry", {"duplicate_check": kafka_duplicate_check}) is None
    assert attack("read-committed", {"fetch_filter": read_committed_filter}, config=RC) is None


def test_a_filter_that_keeps_aborted_records_is_caught_without_a_fault() -> None:
    found = attack("read-committed", {"fetch_filter": read_uncommitted_filter}, config=RC)
    assert found is not None and found.kind == "aborted_read" and found.schedule == ()


def test_an_exception_in_the_learners_function_is_the_counterexample() -> None:
    def boom(batches, aborted):
        raise ValueError("nope")

    found = attack("read-committed", {"fetch_filter": boom}, config=RC)
    assert found is not None and found.kind == "exception"
    assert found.error == "ValueError: nope" and found.result is None


def test_the_attack_is_bounded_and_deterministic() -> None:
    a = attack("producer-retry", {"duplicate_check": always_append}, kinds=("response",))
    b = attack("producer-retry", {"duplicate_check": always_append}, kinds=("response",))
    assert a is not None and b is not None and a.words() == b.words()
    assert attack("producer-retry", {"duplicate_check": always_append}, kinds=("response",),
                  max_schedules=1) is None  # the clean run alone does not show it


def test_attack_with_a_run_the_caller_builds() -> None:
    def run(faults):
        return run_scenario("producer-retry", messages=3, config={"enable.idempotence": False},
                            faults={**faults, "response_loss": 0.0})

    found = attack_with(run, kinds=("response",))
    assert found is not None and found.kind == "duplicate"
    assert found.faults == ["lose the response to the 1st Produce"]
    assert found.run_kwargs == {"faults": {"drop": ("produce.response.1",)}}
    # the same run is Kafka's own behaviour: with it as the reference nothing is held against it
    assert attack_with(run, reference=run, kinds=("response",)) is None


# ------------------------------------------ ex05.q2: the learner's transactional loop
def _rewind(consumer):
    from eoslib.messages import TopicPartition

    for tp in consumer.committed(consumer.assignment()):
        consumer.seek(TopicPartition(tp.topic, tp.partition, max(tp.offset, 0)))


def _loop(rewind: bool, offsets_in_txn: bool):
    from eoslib.errors import KafkaException
    from eoslib.exercises.harness import OUTPUT

    def process_batch(consumer, producer, msgs):
        producer.begin_transaction()
        try:
            for m in msgs:
                producer.produce(OUTPUT, key=m.key(), value=m.value())
            if offsets_in_txn:
                producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                                     consumer.consumer_group_metadata())
            producer.commit_transaction()
            if not offsets_in_txn:
                consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if not exc.args[0].txn_requires_abort():
                raise
            producer.abort_transaction()
            if rewind:
                _rewind(consumer)

    return process_batch


def test_every_one_fault_placement_of_the_transactional_loop() -> None:
    from eoslib.exercises.harness import ATTACK_KINDS, Schedule, attack_loop, run_loop
    from eoslib.explore.points import points_of

    clean = run_loop(_loop(True, True), Schedule(0, 6, 3)).result
    points = points_of(clean, frozenset(ATTACK_KINDS))
    assert len(points) + 1 <= 60  # the attack's budget covers every placement
    assert {p.kind for p in points} == set(ATTACK_KINDS)
    assert attack_loop(_loop(True, True)) is None
    no_rewind = attack_loop(_loop(False, True))
    # librdkafka: a lost Produce request waits socket.timeout.ms (59900) and its retry
    # outlives message.timeout.ms (= transaction.timeout.ms): the delivery fails, the
    # transaction is abortable, and the loop that does not rewind skips the batch
    assert no_rewind.kind == "lost_input" and no_rewind.faults == [
        "lose the request of the 1st Produce"]
    # offsets committed outside the transaction: a single lost OffsetCommit request or
    # response used to expose it; a synchronous commit now retries it (issue 18 §3:
    # rd_kafka_handle_OffsetCommit -> rd_kafka_buf_retry), so no one-fault placement of
    # these kinds does. The bug needs an application crash between the two commits.
    assert attack_loop(_loop(True, False)) is None
