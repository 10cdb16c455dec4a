"""The explorer attack in implement graders (``eoslib.exercises._common.explorer_attacked``):
an answer that passes the fixed runs is attacked with every placement of one fault; a break
fails it with the minimal counterexample in words; deterministic; the reference passes."""

from __future__ import annotations

from typing import Any

from eoslib.exercises import ex07_read_committed
from eoslib.exercises._common import explorer_attacked
from eoslib.grading.questions import Verdict
from eoslib.isolation import read_committed_filter


def _always_ok(answer: Any) -> Verdict:
    return Verdict.ok("fixed runs passed")


def _raises(*args: Any, **kwargs: Any) -> Any:
    raise ValueError("nope")


def test_a_break_fails_with_the_counterexample_in_words() -> None:
    grade = explorer_attacked(_always_ok, "exfix.q3", "producer-retry", "duplicate_check")
    verdicts = [grade(_raises) for _ in range(2)]
    assert verdicts[0] == verdicts[1]  # deterministic
    assert not verdicts[0].passed and verdicts[0].score == 0
    assert verdicts[0].reason == (
        "right on the fixed runs, but the explorer found a schedule that breaks it in scenario "
        "'producer-retry': your function raised ValueError: nope with no fault at all"
    )


def test_a_failing_answer_keeps_its_own_reason() -> None:
    grade = explorer_attacked(lambda a: Verdict.fail("2 of 3 wrong"), "q", "producer-retry",
                              "duplicate_check")  # fmt: skip
    assert grade(_raises).reason == "2 of 3 wrong"


def test_the_reference_filter_survives_the_attack() -> None:
    [question] = [q for q in ex07_read_committed.QUESTIONS if q.id == "ex07.q2"]
    verdict = question.grade(read_committed_filter)
    assert verdict.passed, verdict.reason
    assert verdict.reason.startswith("matches Kafka on")
