"""The graded exercises (eoslib/exercises, solutions/, exercises/).

* every solution notebook, executed in-process, scores full marks on every question;
* every question rejects a deliberately wrong answer with a meaningful reason, including
  the classic mistakes (committing offsets before producing, retrying a fenced producer,
  forgetting to rewind after an abort, deduplicating by offset instead of by message id);
* reasons never contain the solution's code, nor a measured question's expected value;
* implement failures name the smallest failing schedule and show a trace excerpt;
* the instructor's ``grade()`` scores one solution fully and one exercise at 0;
* ``exercises/`` is in sync with ``solutions/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from eoslib.errors import KafkaException
from eoslib.exercises import ex01_duplicates as ex01
from eoslib.exercises import ex03_consumer_commits as ex03
from eoslib.exercises import ex04_transactions as ex04
from eoslib.exercises import ex05_atomic_commit as ex05
from eoslib.exercises import failed_run
from eoslib.exercises.harness import OUTPUT, Schedule, run_loop
from eoslib.grading import evaluate, registry
from eoslib.grading.generate import BEGIN_SOLUTION, END_SOLUTION, generate
from eoslib.grading.runner import grade
from eoslib.isolation import read_uncommitted_filter
from eoslib.messages import TopicPartition
from eoslib.producer_state import APPEND
from eoslib.producer_state import Verdict as BrokerVerdict
from eoslib.protocol_state import state_at
from eoslib.scenarios import run_scenario

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("ex*.ipynb"))
QUESTIONS = registry.load_all()
EXERCISES = sorted({qid.split(".")[0] for qid in QUESTIONS if qid.startswith("ex0")})


def _execute(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a solution notebook's code in-process; return its namespace and its checks."""
    nb = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {"__name__": "__solution__"}
    checks: dict[str, Any] = {}

    def record(question_id: str, answer: Any) -> None:
        checks[question_id] = answer

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, f"{path.name}", "exec"), namespace)  # noqa: S102
        namespace["check"] = record  # after the setup cell imported the real one
    return namespace, checks


def _solution_lines() -> set[str]:
    """Every substantial line inside a solution region of any solution notebook."""
    lines: set[str] = set()
    for path in SOLUTIONS:
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.split("\n"):
                text = line.strip()
                if text == BEGIN_SOLUTION:
                    inside = True
                elif text == END_SOLUTION:
                    inside = False
                elif inside and len(text) > 15:
                    lines.add(text)
    return lines


SOLUTION_LINES = _solution_lines()
ANSWERS: dict[str, Any] = {}
for _path in SOLUTIONS:
    ANSWERS.update(_execute(_path)[1])


def _assert_no_leak(reason: str) -> None:
    for line in SOLUTION_LINES:
        assert line not in reason, f"reason leaks solution line {line!r}"


# --------------------------------------------------------------------------- solutions
def test_every_exercise_has_a_solution_and_questions() -> None:
    assert EXERCISES == [f"ex0{n}" for n in range(1, 9)]
    assert len(SOLUTIONS) == 8
    for exercise in EXERCISES:
        kinds = {q.kind for q in registry.questions_for(exercise)}
        assert 2 <= len(registry.questions_for(exercise)) <= 4
        assert kinds <= {"measure", "configure", "implement"}


@pytest.mark.parametrize("question_id", sorted(q for q in QUESTIONS if q.startswith("ex0")))
def test_solution_scores_full_marks(question_id: str) -> None:
    assert question_id in ANSWERS, f"no check() of {question_id} in solutions/"
    verdict = evaluate(QUESTIONS[question_id], ANSWERS[question_id])
    assert verdict.passed and verdict.score == 1.0, verdict.reason


# --------------------------------------------------------------------------- wrong answers
def _loop(*, commit_first: bool = False, rewind: bool = True, retry_fenced: bool = False):
    def process_batch(consumer: Any, producer: Any, msgs: list) -> None:
        if commit_first:  # at-most-once: the input is committed before anything is produced
            consumer.commit(asynchronous=False)
        producer.begin_transaction()
        try:
            for m in msgs:
                producer.produce(OUTPUT, key=m.key(), value=m.value())
            if not commit_first:
                producer.send_offsets_to_transaction(
                    consumer.position(consumer.assignment()), consumer.consumer_group_metadata()
                )
            producer.commit_transaction()
        except KafkaException as exc:
            if not retry_fenced and not exc.args[0].txn_requires_abort():
                raise
            try:
                producer.abort_transaction()  # on a fenced producer: a retry of a zombie
            except KafkaException:
                if not retry_fenced:
                    raise
            if rewind:
                for tp in consumer.committed(consumer.assignment()):
                    consumer.seek(TopicPartition(tp.topic, tp.partition, max(tp.offset, 0)))

    return process_batch


def _check_ignoring_epochs(entry: Any, batch: Any) -> Any:
    if entry is None:
        return APPEND
    dup = entry.find_duplicate(entry.epoch, batch.first_seq, batch.last_seq)
    if dup is not None:
        return BrokerVerdict("duplicate", duplicate_of=dup)
    if batch.first_seq == entry.last_seq + 1:
        return APPEND
    return BrokerVerdict("error", "OUT_OF_ORDER_SEQUENCE_NUMBER")


def _filter_ignoring_offsets(batches: list, aborted: list) -> list:
    pids = {a.producer_id for a in aborted}
    return [(b.base_offset + i, k, v) for b in batches if b.control is None
            and not (b.transactional and b.producer_id in pids)
            for i, (k, v) in enumerate(b.records)]


def _filter_without_markers(batches: list, aborted: list) -> list:
    starts = sorted((a.first_offset, a.producer_id) for a in aborted)
    hidden: set[int] = set()
    out = []
    for b in batches:
        while starts and starts[0][0] <= b.last_offset:
            hidden.add(starts.pop(0)[1])
        if b.control is None and not (b.transactional and b.producer_id in hidden):
            out.extend((b.base_offset + i, k, v) for i, (k, v) in enumerate(b.records))
    return out


def _sink_by_offset(sink: Any, msg_id: str, value: Any, tp: Any, offset: int) -> bool:
    seen = sink.__dict__.setdefault("seen_offsets", set())
    if offset in seen:
        return False
    seen.add(offset)
    sink.insert_row(msg_id, value)
    return True


def _sink_by_position(sink: Any, msg_id: str, value: Any, tp: Any, offset: int) -> bool:
    seen = sink.__dict__.setdefault("seen_positions", set())
    if (tp, offset) in seen:
        return False
    seen.add((tp, offset))
    sink.insert_row(msg_id, value)
    return True


def _sink_insert(sink: Any, msg_id: str, value: Any, tp: Any, offset: int) -> bool:
    sink.insert_row(msg_id, value)
    return True


def _abort_on_timeout(stage: str, error: Any) -> str:
    return "close_producer" if error.fatal() else "abort_and_rewind"


def _retry_fenced(stage: str, error: Any) -> str:
    return "abort_and_rewind" if error.txn_requires_abort() else "retry_same_call"


def _no_flag_retries(stage: str, error: Any) -> str:
    if error.fatal():
        return "close_producer"
    return "abort_and_rewind" if error.txn_requires_abort() else "retry_same_call"


def _retry_only_the_commit(stage: str, error: Any) -> str:
    if error.fatal() or not (error.txn_requires_abort() or error.retriable()):
        return "close_producer"
    if error.retriable() and stage == "commit_transaction":
        return "retry_same_call"
    return "abort_and_rewind"


#: ex01's run: the confusable quantities (asserted distinct below).
_EX01_RESULT = run_scenario("producer-retry", **ex01.RUN)
_EX01 = {"duplicates": _EX01_RESULT.counts["duplicates"],
         "retries": _EX01_RESULT.counts["retries"], "messages": ex01.RUN["messages"]}


#: ex01.q3's wrong answer: the offsets of the first copies (whose acks were lost or pending).
_EX01_FIRST_COPIES = sorted(offsets[0] for offsets in state_at(
    run_scenario("producer-retry", **ex01.ONE_LOST)).partitions["out-0"].duplicates().values())


def test_ex01_run_separates_the_confusable_quantities() -> None:
    assert len(set(_EX01.values())) == 3, _EX01


EXPLAIN = "the new instance shares this setting so the coordinator fences the old one"
#: question id -> (label, wrong answer, substrings the reason must contain)
WRONG: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("ex02.q1", "no setting", {}, ("duplicate",)),
    ("ex02.q1", "no retries", {"retries": 0}, ("never reached the topic",)),
    ("ex02.q2", "always append", lambda e, b: APPEND, ("returned append", "Trace excerpt")),
    # caught by a plain reorder run since librdkafka bumps its own epoch after "skipped
    # sequence numbers" (rd_kafka_handle_idempotent_Produce_error, r > 0)
    ("ex02.q2", "ignores epochs", _check_ignoring_epochs, ("incoming epoch 1", "epoch")),
    ("ex03.q3", "commit first", {"delivery": "at-most-once"}, ("never processed",)),
    ("ex04.q2", "idempotence only", {"enable.idempotence": True}, ("duplicate",)),
    ("ex01.q3", "the first copies", _EX01_FIRST_COPIES, ("first write",)),
    ("ex01.q3", "only the lost one", ex01.second_copies(**ex01.ONE_LOST)[:1], ("missing",)),
    ("ex03.q4", "after the crashed batch", ex03.resume_offset(**ex03.REPLAY) + 8,
     ("not the value",)),
    ("ex04.q3", "forgets the aborted records", 10, ("not the value",)),
    ("ex05.q2", "commit before producing", _loop(commit_first=True),
     ("never reached the output", "crash", "Trace excerpt")),
    ("ex05.q2", "no rewind after abort", _loop(rewind=False),
     ("never reached the output", "TxnOffsetCommit response loss")),
    ("ex06.q1", "wrong setting", {"client.id": EXPLAIN}, ("not the setting",)),
    ("ex06.q1", "no explanation", {"transactional.id": "yes"}, ("explain",)),
    ("ex06.q2", "aborts after a commit timeout", _abort_on_timeout,
     ("wrong action", "commit_transaction", "_TIMED_OUT")),
    ("ex06.q2", "retries a fenced producer", _retry_fenced, ("wrong action", "_FENCED")),
    ("ex06.q2", "no flag means retry", _no_flag_retries, ("wrong action", "INVALID_TXN_STATE")),
    ("ex06.q2", "retries only the commit", _retry_only_the_commit,
     ("wrong action", "produce", "_QUEUE_FULL")),
    ("ex06.q3", "the fence's epoch", 1, ("not the value",)),
    ("ex06.q2", "not an action", lambda stage, error: "ignore", ("expected one of",)),
    ("ex01.q1", "duplicates = retries", _EX01["retries"], ("not the value",)),
    ("ex01.q2", "retries = duplicates", _EX01["duplicates"], ("not the value",)),
    ("ex01.q2", "retries = messages", _EX01["messages"], ("not the value",)),
    ("ex07.q2", "ignores first_offset", _filter_ignoring_offsets, ("without committed",)),
    ("ex07.q2", "ignores ABORT markers", _filter_without_markers, ("without committed",)),
    ("ex07.q2", "read_uncommitted", read_uncommitted_filter, ("must be hidden", "aborted_read")),
    ("ex07.q3", "reads to the HW, keeps aborted records",
     {"while_open": ["c0", "c1", "o0", "o1", "o2", "p0"], "after_abort": []},
     ("not the value", "last stable offset")),
    ("ex08.q2", "insert sink", {"sink": "insert"}, ("processed_twice",)),
    ("ex08.q3", "dedup by offset", _sink_by_offset, ("two-partition", "lost_input")),
    ("ex08.q3", "dedup by position", _sink_by_position, ("re-sent", "processed_twice")),
    ("ex08.q3", "plain insert", _sink_insert, ("processed_twice", "Trace excerpt")),
]
WRONG += [(qid, "wrong number", 12345, ("not the value",)) for qid, q in QUESTIONS.items()
          if q.kind == "measure" and qid.startswith("ex0")
          and isinstance(ANSWERS.get(qid), int | float)]
WRONG += [(qid, "wrong type", "a string", ("expected",)) for qid, q in QUESTIONS.items()
          if q.kind in ("measure", "configure", "implement") and qid.startswith("ex0")]


#: The question of each exercise that grades the mechanism, not a count read off a run.
MECHANISM = {"ex01": "ex01.q3", "ex02": "ex02.q2", "ex03": "ex03.q4", "ex04": "ex04.q3",
             "ex05": "ex05.q2", "ex06": "ex06.q3", "ex07": "ex07.q3", "ex08": "ex08.q3"}


def test_every_exercise_asks_about_the_mechanism() -> None:
    assert sorted(MECHANISM) == EXERCISES
    for exercise, qid in MECHANISM.items():
        assert qid in QUESTIONS and QUESTIONS[qid].exercise == exercise
    # ex01.q3: one lost ack re-sends the whole window in flight, mid-log, not at its end
    copies = ex01.second_copies(**ex01.ONE_LOST)
    limit = ex01.ONE_LOST["config"]["max.in.flight.requests.per.connection"]
    assert len(copies) == limit and copies[-1] < ex01.ONE_LOST["messages"] + limit - 1
    # ex03.q4: the restart resumes at the last offset the dead instance committed
    assert ex03.resume_offset(**ex03.REPLAY) % ex03.REPLAY["config"]["batch"] == 0
    # ex04.q3: between AFTER and the answer lie a marker and an aborted transaction
    cells = state_at(run_scenario("read-committed", **ex04.MIXED)).partitions["out-0"].cells
    start = next(c.offset for c in cells if c.value == ex04.AFTER)
    between = cells[start + 1:ex04.next_returned()]
    assert {c.control for c in between} >= {"COMMIT", "ABORT"}
    assert any(c.status == "aborted" for c in between)


def test_every_question_has_a_wrong_answer() -> None:
    covered = {w[0] for w in WRONG if w[1] != "wrong type"}
    assert covered == {q for q in QUESTIONS if q.startswith("ex0")}


@pytest.mark.parametrize(("question_id", "label", "answer", "needles"), WRONG,
                         ids=[f"{w[0]}-{w[1]}" for w in WRONG])
def test_wrong_answer_fails_with_a_reason(question_id: str, label: str, answer: Any,
                                          needles: tuple[str, ...]) -> None:
    verdict = evaluate(QUESTIONS[question_id], answer)
    assert not verdict.passed and verdict.score == 0.0, label
    for needle in needles:
        assert needle in verdict.reason, f"{needle!r} not in {verdict.reason!r}"
    _assert_no_leak(verdict.reason)
    if QUESTIONS[question_id].kind == "measure":
        expected = ANSWERS[question_id]
        assert not re.search(rf"(?<![\d.]){re.escape(str(expected))}(?![\d.])",
                             verdict.reason.replace("12345", ""))


def test_failure_names_the_smallest_failing_schedule_and_keeps_the_run() -> None:
    wrong = _loop(commit_first=True)
    verdict = evaluate(QUESTIONS["ex05.q2"], wrong)
    first = next(s for s in sorted(ex05.SCHEDULES, key=Schedule.size)
                 if len(set(run_loop(wrong, s).delivered)) < s.messages)
    assert verdict.reason.startswith(f"fails on {first.describe()}:")
    run = failed_run("ex05.q2")
    assert run is not None and run.trace
    assert evaluate(QUESTIONS["ex05.q2"], ANSWERS["ex05.q2"]).passed
    assert failed_run("ex05.q2") is None


def test_grading_is_deterministic() -> None:
    first = evaluate(QUESTIONS["ex07.q2"], _filter_without_markers)
    again = evaluate(QUESTIONS["ex07.q2"], _filter_without_markers)
    assert first == again
    duplicates = run_scenario("producer-retry", **ex01.RUN).counts["duplicates"]
    assert evaluate(QUESTIONS["ex01.q1"], duplicates).passed


# --------------------------------------------------------------------------- notebooks
def test_exercises_are_in_sync_with_solutions() -> None:
    outcomes = generate(ROOT / "solutions", ROOT / "exercises", check=True)
    stale = [str(o.target) for o in outcomes if o.changed]
    assert not stale, f"run scripts/make-exercises: {stale}"


def test_exercise_notebooks_hide_the_solutions() -> None:
    for path in sorted((ROOT / "exercises").glob("ex*.ipynb")):
        assert BEGIN_SOLUTION not in path.read_text(encoding="utf-8")
        for cell in nbformat.read(path, as_version=4).cells:
            shown = {line.strip() for line in cell.source.split("\n")} & SOLUTION_LINES
            assert not shown, f"{path.name} shows solution lines {shown}"


def test_grade_one_solution_and_one_exercise() -> None:
    solution = ROOT / "solutions" / "ex07-read-committed.ipynb"
    exercise = ROOT / "exercises" / "ex07-read-committed.ipynb"
    graded = grade([solution, exercise], jobs=2)
    by_name = {Path(g.notebook).parent.name: g for g in graded}
    assert by_name["solutions"].error is None
    assert by_name["solutions"].score == by_name["solutions"].max_score == 7
    assert by_name["exercises"].error is None
    assert by_name["exercises"].score == 0
    reasons = [q.reason for q in by_name["exercises"].questions]
    assert all(r.startswith("not answered yet") for r in reasons), reasons
