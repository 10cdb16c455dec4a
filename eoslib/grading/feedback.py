"""``check(question_id, answer)``: immediate feedback inside a notebook."""

from __future__ import annotations

import os
from typing import Any

from . import borrowed, registry, session
from .questions import CheckResult, Question, Verdict, format_points

NOT_ANSWERED = "not answered yet"
NBGRADER_ENV = "NBGRADER_EXECUTION"


def _reason_of(exc: BaseException) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def evaluate(question: Question, answer: Any) -> Verdict:
    """Grade ``answer`` without printing. Never raises for a failing or broken answer.

    ``None`` and ``...`` mean "not answered yet"; an exception inside the grading function
    scores 0 with the exception as the reason; a ``bool`` result is turned into a Verdict.
    """
    if answer is None or answer is Ellipsis:
        return Verdict.fail(NOT_ANSWERED)
    ref = borrowed.references(question.id) if question.kind == "implement" else None
    tripwire = None
    if ref is not None:
        words, fns = ref
        name = borrowed.is_reference(answer, fns)
        if name is not None:
            return Verdict.fail(f"uses eoslib's reference implementation of {words}: the "
                                f"answer is {name} itself (write your own)")
        tripwire = borrowed.Tripwire(fns)
        answer = tripwire.guard(answer)
    try:
        result = question.grade(answer)
    except Exception as exc:  # noqa: BLE001 - any failure of the answer scores 0
        result = Verdict.fail(_reason_of(exc))
    if tripwire is not None and tripwire.hits:
        return Verdict.fail(f"uses eoslib's reference implementation of {ref[0]}: your "
                            f"function called {tripwire.hits[0]} while it was graded "
                            "(write your own)")
    if isinstance(result, bool):
        return Verdict.ok() if result else Verdict.fail("not the expected answer")
    if not isinstance(result, Verdict):
        return Verdict.fail(f"grading function returned {type(result).__name__}, not a Verdict")
    result = result.normalized()
    if ref is not None and result.passed:
        copy = borrowed.same_as_reference(answer, ref[1])
        if copy is not None:
            result = Verdict(result.passed, result.score,
                             (result.reason + "; " if result.reason else "")
                             + f"flagged for the instructor: same as the reference "
                               f"implementation ({copy}) but for names and formatting")
    return result


def format_line(question: Question, verdict: Verdict) -> str:
    """The one-line feedback shown to the student."""
    earned = format_points(verdict.score * question.points)
    total = format_points(question.points)
    if verdict.passed:
        line = f"✔ {question.id} passed ({earned}/{total} points)"
        return f"{line}: {verdict.reason}" if verdict.reason else line
    reason = (verdict.reason or "not the expected answer").rstrip(". ")
    line = f"✘ {question.id} failed ({earned}/{total} points): {reason}"
    if question.hint:
        line += f". Hint: {question.hint}"
    return line


def _under_nbgrader() -> bool:
    return os.environ.get(NBGRADER_ENV, "") in ("autograde", "validate")


def check(question_id: str, answer: Any) -> CheckResult:
    """Grade ``answer`` to question ``question_id`` now, print one line, return the Verdict.

    ``Verdict.score`` is the fraction of the points earned. The line never reveals the
    solution. In grading mode (the instructor's runner) it grades nothing: it records the
    answer, which the grader grades in a judge process of its own
    (:mod:`eoslib.grading.session`). Under nbgrader's autograder (``NBGRADER_EXECUTION``
    set) a failed check raises ``AssertionError`` so that nbgrader's all-or-nothing test
    cells score it.
    """
    try:
        question = registry.get(question_id)
    except KeyError as exc:
        reason = str(exc.args[0]) if exc.args else "unknown question id"
        line = f"✘ {question_id}: {reason}"
        print(line)
        if _under_nbgrader():
            raise AssertionError(line) from None
        return CheckResult(False, 0.0, reason)
    if session.grading_mode() and not _under_nbgrader():
        problem = session.record(question.id, answer)
        line = f"… {question.id} {session.RECORDED}" + (f" (but: {problem})" if problem else "")
        print(line)
        return CheckResult(False, 0.0, problem or session.RECORDED)
    verdict = evaluate(question, answer)
    line = format_line(question, verdict)
    print(line)
    if _under_nbgrader() and not verdict.passed:
        raise AssertionError(line)
    return CheckResult.of(verdict)
