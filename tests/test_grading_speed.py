"""The grader's shortcuts give exactly the verdicts of the long way (issue 19 item 4).

* Reference results of measure questions are computed once (:func:`eoslib.grading.judge
  .prepare`, in the warm interpreter before any judge is forked), not per submission.
* Runs whose trace no grader reads go untraced; a failing one is replayed traced, so its
  reason (with the trace excerpt) and ``failed_run`` are those of a traced grading.
* A plain-data answer's verdict is reused for the same answer in one grading session; an
  answer with code is judged afresh every time.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

import eoslib.exercises._common as common
import eoslib.exercises.ex02_idempotence as ex02
from eoslib.exercises import failed_run
from eoslib.grading import feedback, judge, registry
from eoslib.grading.answers import encode
from eoslib.grading.forkserver import VERDICT_CACHE_VARIABLE, ForkServer, _data_key
from eoslib.producer_state import APPEND


def _always_append(entry: Any, batch: Any) -> Any:
    return APPEND


def _traced_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    def loud(scenario: str, **kwargs: Any) -> Any:
        return common.run_scenario(scenario, tracing=True, **kwargs)

    monkeypatch.setattr(common, "quiet_run", loud)
    monkeypatch.setattr(ex02, "quiet_run", loud)


@pytest.mark.parametrize(("question_id", "answer"), [
    ("ex02.q1", {"enable.idempotence": False}),
    ("ex02.q2", _always_append),
    ("ex03.q3", {"delivery": "at-most-once"}),
])
def test_untraced_runs_fail_with_the_reason_and_run_of_a_traced_grading(
        monkeypatch: pytest.MonkeyPatch, question_id: str, answer: Any) -> None:
    question = registry.get(question_id)
    quick = feedback.evaluate(question, answer)
    quick_run = failed_run(question_id)
    with monkeypatch.context() as patch:
        _traced_everywhere(patch)
        slow = feedback.evaluate(question, answer)
        slow_run = failed_run(question_id)
    assert not quick.passed and quick.reason == slow.reason
    assert quick_run is not None and slow_run is not None
    assert quick_run.trace == slow_run.trace and len(quick_run.trace) > 0
    assert str(quick_run.report) == str(slow_run.report)


def test_a_measure_reference_is_computed_once_and_before_any_judge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def compute() -> float:
        calls.append(1)
        return 7

    grade = common.measured(compute)
    assert [grade(7).passed, grade(8).passed, grade.reference()] == [True, False, 7]
    assert calls == [1]
    # prepare() computes every measure question's reference; the judges then run none
    runs: list[str] = []
    real_run = common.run_scenario

    def counted(scenario: str, **kwargs: Any) -> Any:
        runs.append(scenario)
        return real_run(scenario, **kwargs)

    monkeypatch.setattr(common, "run_scenario", counted)  # before the pristine fingerprint
    monkeypatch.setattr(judge, "_PRISTINE", None)
    judge.prepare()
    assert judge._PRISTINE is not None
    before = len(runs)
    verdict = judge.judge("ex02.q3", encode(12345))
    assert not verdict["passed"] and "not the value" in verdict["reason"]
    assert judge.judge("ex02.q3", encode(3))["reason"] != verdict["reason"]
    assert len(runs) == before


def test_only_plain_data_answers_have_a_cache_key() -> None:
    assert _data_key("ex02.q1", encode({"enable.idempotence": True}), 1) is not None
    assert _data_key("ex02.q3", encode(3), 1) == _data_key("ex02.q3", encode(3), 1)
    assert _data_key("ex02.q3", encode(3), 1) != _data_key("ex02.q3", encode(4), 1)
    assert _data_key("ex02.q2", encode(_always_append), 1) is None  # code
    assert _data_key("ex02.q2", encode(common.failed_run), 1) is None  # a reference


@pytest.mark.parametrize("cache", ["1", "0"])
def test_the_same_plain_answer_is_judged_once_code_every_time(cache: str) -> None:
    with ForkServer({**os.environ, VERDICT_CACHE_VARIABLE: cache}) as judges:
        sent: list[str] = []
        request = judges.request

        def counted(message: dict[str, Any]) -> dict[str, Any]:
            sent.append(message["question"])
            return request(message)

        judges.request = counted  # type: ignore[method-assign]
        wrong = [judges.judge("ex02.q3", encode(12345), timeout=60, memory=2**31)
                 for _ in range(2)]
        code = [judges.judge("ex02.q2", encode(_always_append), timeout=60, memory=2**31)
                for _ in range(2)]
    assert wrong[0] == wrong[1] and not wrong[0]["passed"]
    assert code[0] == code[1] and not code[0]["passed"]
    assert sent == (["ex02.q3", "ex02.q2", "ex02.q2"] if cache == "1"
                    else ["ex02.q3", "ex02.q3", "ex02.q2", "ex02.q2"])
