"""Turning an :class:`~eoslib.grading.execute.Execution` into per-question points.

Rules (each question of the exercise gets exactly one line):

* Candidate cells of a question: student code cells whose source names it in a literal
  ``check("id", ...)`` call, plus cells in which ``check`` recorded a verdict for it.
  No candidate -> 0, "question cell missing".
* A candidate cell that timed out, raised, killed the kernel or never ran scores 0 with
  that reason, even if ``check`` passed earlier in the cell; one that ran cleanly scores the
  last verdict it recorded for the question (0, "check() ... was not called" if none).
* Integrity: a verdict counts only if neither it nor any earlier point of the run showed a
  fingerprint different from the baseline taken before the submission ran; from the first
  difference on, every verdict scores 0 ("submission modified eoslib (...)").
* The best candidate wins (a duplicated cell cannot lower a grade); ties go to the later one.
"""

from __future__ import annotations

from .execute import CellRun, Execution
from .fingerprint import changed_keys
from .questions import Question, format_points
from .results import QuestionGrade
from .submission import checked_ids

MISSING = "question cell missing"


def _tamper_reason(keys: list[str]) -> str:
    shown = ", ".join(keys[:4]) + (", ..." if len(keys) > 4 else "")
    return f"submission modified eoslib ({shown})"


def _vet_records(execution: Execution) -> dict[int, list[tuple[dict, str]]]:
    """Per cell index: (record, tamper reason or "") in order, applying the integrity rule."""
    baseline = execution.baseline or {}
    tampered = ""
    vetted: dict[int, list[tuple[dict, str]]] = {}
    for run in execution.cells:
        out = vetted.setdefault(run.index, [])
        for record in run.records:
            if not tampered:
                keys = changed_keys(baseline, record.get("fingerprint"))
                if keys:
                    tampered = _tamper_reason(keys)
            out.append((record, tampered))
        if not tampered and run.collector_problem:
            tampered = f"submission modified eoslib ({run.collector_problem})"
        elif not tampered and run.fingerprint is not None:
            keys = changed_keys(baseline, run.fingerprint)
            if keys:
                tampered = _tamper_reason(keys)
    return vetted


def _cell_failure(run: CellRun, timeout: float, died_before: bool) -> str:
    if run.limit_problem:  # memory limit, leftover process (eoslib.grading.limits)
        return run.limit_problem
    if run.status == "timeout":
        return f"time limit of {format_points(timeout)} s exceeded"
    if run.status == "error":
        return f"cell raised {run.error}"
    if run.status == "died":
        return "kernel died while running this cell"
    if run.status == "stuck":
        return f"time limit of {format_points(timeout)} s exceeded; kernel killed"
    if run.status == "not run":
        return "kernel died" if died_before else "cell not run"
    return ""


def _from_record(question: Question, record: dict, tampered: str) -> tuple[float, str]:
    if tampered:
        return 0.0, tampered
    try:
        fraction = min(1.0, max(0.0, float(record.get("score", 0.0))))
    except (TypeError, ValueError):
        return 0.0, "malformed verdict"
    if fraction != fraction:  # NaN
        fraction = 0.0
    reason = str(record.get("reason", ""))[:500]
    if not record.get("passed") and not reason:
        reason = "not the expected answer"
    return round(fraction * question.points, 4), reason


def score_questions(
    questions: list[Question],
    execution: Execution,
    sources: dict[int, str],
    timeout: float,
) -> list[QuestionGrade]:
    """Points per question of the exercise, in the exercise's question order."""
    vetted = _vet_records(execution)
    died_before = any(run.status in ("died", "stuck") for run in execution.cells)
    runs = {run.index: run for run in execution.cells}
    grades = []
    for question in questions:
        candidates = [
            index
            for index, source in sources.items()
            if question.id in checked_ids(source)
            or any(rec.get("id") == question.id for rec, _ in vetted.get(index, []))
        ]
        best: tuple[float, str] | None = None
        for index in sorted(candidates):
            run = runs.get(index, CellRun(index))
            failure = _cell_failure(run, timeout, died_before)
            if failure:
                outcome = (0.0, failure)
            else:
                mine = [(r, t) for r, t in vetted.get(index, []) if r.get("id") == question.id]
                if mine:
                    outcome = _from_record(question, *mine[-1])
                else:
                    outcome = (0.0, f'check("{question.id}", ...) was not called')
            if best is None or outcome[0] >= best[0]:
                best = outcome
        score, reason = best if best is not None else (0.0, MISSING)
        grades.append(QuestionGrade(question.id, score, float(question.points), reason))
    return grades


def zero_grades(questions: list[Question], reason: str) -> list[QuestionGrade]:
    """Every question at 0 with the same reason."""
    return [QuestionGrade(q.id, 0.0, float(q.points), reason) for q in questions]
