"""Turning an :class:`~eoslib.grading.execute.Execution` into per-question points.

Rules (each question of the exercise gets exactly one line):

* Candidate cells of a question: student code cells whose source names it in a literal
  ``check("id", ...)`` call, plus cells in which ``check`` recorded a verdict for it.
  No candidate -> 0, "the check cell was deleted ...". A failed question whose answer cell
  (between the previous check cell and this one) broke gets that cell's reason instead:
  "the answer cell called sys.exit(0)", "... ran past the 20 s limit", "... ended the
  kernel"; an answer defined in two cells is noted ("the later one was graded").
* A candidate cell that timed out, raised, killed the kernel or never ran scores 0 with
  that reason, even if ``check`` passed earlier in the cell; one that ran cleanly scores the
  last verdict it recorded for the question (0, "check() ... was not called" if none).
* Integrity: a verdict counts only if neither it nor any earlier point of the run showed a
  fingerprint different from the baseline taken before the submission ran; from the first
  difference on, every verdict scores 0 ("submission modified eoslib (...)").
* The best candidate wins (a duplicated cell cannot lower a grade); ties go to the later one.
"""

from __future__ import annotations

import ast
import re

from .execute import CellRun, Execution
from .fingerprint import changed_keys
from .questions import Question, format_points
from .results import QuestionGrade
from .submission import checked_ids

MISSING = "the check cell was deleted: no cell calls check(\"{id}\", ...)"
_ANSWER = re.compile(r"""\bcheck\(\s*["'][^"']+["']\s*,\s*([A-Za-z_][A-Za-z0-9_]*)""")


def _tamper_reason(keys: list[str]) -> str:
    if "channel" in keys:
        return ("submission patched the kernel's channel to the grader (IPython's display "
                "publisher or the kernel's session)")
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
            if not tampered and not record.get("forged"):
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


def _broke(run: CellRun, timeout: float, who: str) -> str:
    """Why a cell broke, in the instructor's words, about ``who`` ("the cell", "the answer
    cell"); "" if it ran cleanly or did not run."""
    err = run.error or ""
    if run.status == "timeout":
        return f"{who} ran past the {format_points(timeout)} s limit"
    if run.status == "error" and err.startswith("SystemExit"):
        return f"{who} called sys.exit({err.partition(':')[2].strip() or 'None'})"
    if run.status == "died":
        return f"{who} ended the kernel (os._exit, a crash or a signal)"
    if run.status == "stuck":
        return (f"{who} ran past the {format_points(timeout)} s limit and ignored the "
                "interrupt; the kernel was killed")
    return ""


def _cell_failure(run: CellRun, timeout: float, died_before: bool) -> str:
    if run.limit_problem:  # memory limit, leftover process (eoslib.grading.limits)
        return run.limit_problem
    if run.status == "error" and not run.error.startswith("SystemExit"):
        return f"cell raised {run.error}"
    if run.status == "not run":
        return "not run: an earlier cell ended the kernel" if died_before else "cell not run"
    return _broke(run, timeout, "the cell")


def _answer_failure(run: CellRun, timeout: float) -> str:
    """Why an answer cell (a cell before the check cell) broke, in the instructor's words."""
    if run.limit_problem:
        return f"the answer cell {run.limit_problem}"
    if run.status == "error" and not run.error.startswith("SystemExit"):
        return f"the answer cell raised {run.error}"
    why = _broke(run, timeout, "the answer cell")
    return why + "; the cells after it did not run" if run.status == "died" else why


def _defines(source: str, name: str) -> bool:
    """Whether a cell's top level defines ``name`` (def, class, assignment, import as)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
    return False


def _from_record(question: Question, record: dict, tampered: str) -> tuple[float, str]:
    """Points from the judge's verdict on this record's answer (never from the kernel)."""
    if record.get("forged"):
        return 0.0, str(record["forged"])
    if tampered:
        return 0.0, tampered
    if "error" in record:
        return 0.0, f"the grader could not receive the answer: {record['error']}"[:500]
    verdict = record.get("verdict")
    if not isinstance(verdict, dict):
        return 0.0, "the answer was not judged"
    fraction = min(1.0, max(0.0, float(verdict.get("score", 0.0))))
    reason = str(verdict.get("reason", ""))[:500]
    if not verdict.get("passed") and not reason:
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
        score, reason = best if best is not None else (0.0, MISSING.format(id=question.id))
        forged = _forgery(question.id, candidates, execution)
        if forged:
            score, reason = 0.0, forged
        if candidates and score < float(question.points):
            reason = _answer_reason(min(candidates), sources, runs, timeout, reason)
        if candidates:
            twice = _defined_twice(question.id, min(candidates), sources)
            if twice:
                reason = f"{reason}; {twice}" if reason else twice
        grades.append(QuestionGrade(question.id, score, float(question.points), reason))
    return grades


def _forgery(question_id: str, candidates: list[int], execution: Execution) -> str:
    """What the submission tried, if it forged a grader message or record for this question."""
    for run in execution.cells:
        for qid, what in run.forgeries:
            if qid == question_id or (qid is None and run.index in candidates):
                return what
        for record in run.records:
            if record.get("id") == question_id and record.get("forged"):
                return str(record["forged"])
    return ""


def _answer_cells(check_index: int, sources: dict[int, str]) -> list[int]:
    """The cells between the previous check cell and this one: where the answer lives."""
    before = [i for i in sorted(sources) if i < check_index]
    previous = [i for i in before if checked_ids(sources[i])]
    start = previous[-1] if previous else -1
    return [i for i in before if i > start]


def _answer_reason(check_index: int, sources: dict[int, str],
                   runs: dict[int, CellRun], timeout: float, reason: str) -> str:
    """The true reason for a lost question: an answer cell that broke comes first (its
    check cell then only fails with a NameError or the like)."""
    for index in reversed(_answer_cells(check_index, sources)):
        run = runs.get(index)
        why = _answer_failure(run, timeout) if run is not None else ""
        if why:
            return f"{why} (cell {index + 1})"
    return reason


def _defined_twice(question_id: str, check_index: int, sources: dict[int, str]) -> str:
    match = next((m for m in _ANSWER.finditer(sources[check_index])
                  if question_id in m.group(0)), None)
    if match is None:
        return ""
    name = match.group(1)
    cells = [i for i in sorted(sources) if i < check_index and _defines(sources[i], name)]
    if len(cells) < 2:
        return ""
    where = ", ".join(str(i + 1) for i in cells)
    return f"the answer {name} is defined twice (cells {where}); the later one was graded"


def zero_grades(questions: list[Question], reason: str) -> list[QuestionGrade]:
    """Every question at 0 with the same reason."""
    return [QuestionGrade(q.id, 0.0, float(q.points), reason) for q in questions]
