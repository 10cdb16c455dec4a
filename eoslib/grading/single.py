"""Grading one submission in a fresh kernel: :func:`grade_notebook`, and :func:`crashed`.

Used by the class runner (:mod:`eoslib.grading.runner`) directly (``jobs=0``) and by its
worker processes (:mod:`eoslib.grading.workers`); see the runner's docstring for what a
grade is trusted for.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

from jupyter_client.kernelspec import NoSuchKernel

from . import limits, registry
from .execute import Execution, run_submission
from .forkserver import ForkServer
from .kernels import PreparedKernel, discard, prepare_kernel
from .results import NotebookGrade
from .scoring import score_questions, zero_grades
from .submission import SubmissionError, detect_exercise, exercise_from_name, read_submission

__all__ = ["crashed", "grade_notebook"]

MAX_STARTS = 4  #: kernel starts per submission (a kernel that dies before any cell ran)
MAX_JUDGED = 5  #: different answers judged per question and submission (bounds its cost)
RESTARTED = "kernel restarted"


def _failed(
    result: NotebookGrade, exercise: str | None, error: str, started: float
) -> NotebookGrade:
    result.exercise, result.error = exercise, error
    if exercise:
        result.questions = zero_grades(registry.questions_for(exercise), error)
    result.seconds = time.monotonic() - started
    return result


def _start_failed(execution: Execution) -> bool:
    """The kernel died, hung or failed before the grader's prologue finished: no student
    code ran, so the submission cannot be the cause."""
    return execution.baseline is None


def fresh_kernel(judges: ForkServer, resources: Path | str | None, kernel_name: str,
                 memory_limit: int) -> PreparedKernel:
    """A new kernel for one submission (forked by ``judges``' server when it is Python)."""
    marker = os.environ.get(limits.WORKER_VARIABLE, "") + secrets.token_hex(16)
    return prepare_kernel(dict(os.environ), kernel_name=kernel_name,
                          resources=Path(resources) if resources else None, marker=marker,
                          server=judges, memory_limit=memory_limit)  # fmt: skip


def grade_notebook(
    path: Path | str,
    *,
    timeout_per_question: float = 60,
    resources: Path | str | None = None,
    kernel_name: str = "python3",
    copy: Path | str | None = None,
    memory_limit: int = limits.MEMORY_LIMIT,
    prepared: PreparedKernel | None = None,
    judges: ForkServer | None = None,
    **_ignored: object,
) -> NotebookGrade:
    """Grade one submission in a fresh kernel (see :mod:`eoslib.grading.runner`).

    ``copy``, if given, is the file actually read (the grader's private copy of ``path``);
    ``path`` names the submission in the result. ``memory_limit``: bytes per kernel.
    ``prepared``: a fresh kernel started ahead of need (:func:`~.kernels.prepare_kernel`)
    with ``resources`` already in its working directory; the caller discards it after.
    ``judges``: the fork server that starts kernels and grades the answers (one is started
    for this call if None). A kernel that dies before running the submission's first cell
    is replaced (at most :data:`MAX_STARTS` starts; the result's ``restarts`` counts them).
    """
    own = judges is None
    judges = judges or ForkServer()
    try:
        return _grade(Path(path), Path(copy) if copy else Path(path), judges, prepared,
                      timeout_per_question, resources, kernel_name, memory_limit)  # fmt: skip
    finally:
        if own:
            judges.close()


def _grade(path: Path, source_file: Path, judges: ForkServer, prepared: PreparedKernel | None,
           timeout: float, resources: Path | str | None, kernel_name: str,
           memory_limit: int) -> NotebookGrade:
    started = time.monotonic()
    result = NotebookGrade(notebook=str(path), exercise=None)
    try:
        submission = read_submission(source_file)
        exercise = detect_exercise(submission)
    except SubmissionError as exc:
        exercise = exercise_from_name(path, registry.exercises())
        return _failed(result, exercise, str(exc), started)
    if exercise is None:
        return _failed(result, None, "cannot tell which exercise this notebook is", started)
    questions = registry.questions_for(exercise)
    if not questions:
        message = f"no questions are registered for exercise {exercise!r}"
        errors = registry.load_errors()
        if errors:
            message += (
                " (exercise modules failed to import: "
                + "; ".join(f"{name}: {error}" for name, error in sorted(errors.items()))
                + ")"
            )
        return _failed(result, exercise, message, started)
    result.exercise = exercise

    sources = {index: source for index, source in submission.code_cells if source.strip()}
    execution = Execution(setup_error="kernel failed to start")
    for attempt in range(MAX_STARTS):
        kernel, mine = prepared, prepared is None
        prepared = None
        try:
            if kernel is None:
                kernel = fresh_kernel(judges, resources, kernel_name, memory_limit)
            shutil.copy2(source_file, kernel.workdir / path.name)
            execution = run_submission(sorted(sources.items()), prepared=kernel,
                                       timeout=timeout, nonce=secrets.token_hex(16),
                                       memory_limit=memory_limit)  # fmt: skip
        except NoSuchKernel as exc:
            execution.setup_error = f"no Jupyter kernel named {exc.args[0] if exc.args else '?'}"
            break
        except Exception as exc:  # noqa: BLE001 - the kernel could not start: try again
            execution = Execution(setup_error=f"kernel failed to start: {type(exc).__name__}: "
                                              f"{exc}")  # fmt: skip
        finally:
            if mine and kernel is not None:
                discard(kernel)
        if not _start_failed(execution):
            break
        if attempt + 1 < MAX_STARTS:
            result.restarts += 1
    if result.restarts:
        result.flags.append(f"{RESTARTED} {result.restarts} time(s): it ended before running "
                            "the submission's first cell (not the submission's doing)")
    if execution.after_shutdown:
        result.flags.append("after its kernel was shut down, " + execution.after_shutdown)
    if execution.setup_error:
        result.error = execution.setup_error
        result.questions = zero_grades(questions, "not graded: " + execution.setup_error)
    else:
        judge_records(execution, judges, judge_limit(timeout), memory_limit)
        result.questions = score_questions(questions, execution, sources, timeout)
    result.seconds = time.monotonic() - started
    return result


def judge_limit(timeout_per_question: float) -> float:
    """Seconds a judge may take on one answer: the check itself needs a few seconds."""
    return max(2 * float(timeout_per_question), 20.0)


def judge_records(execution: Execution, judges: ForkServer, limit: float, memory: int) -> None:
    """Fill ``record["verdict"]`` of the record scoring reads (each cell's last per question).

    The verdict comes from a fresh judge process (:mod:`eoslib.grading.judge`); identical
    answers to one question within a submission are judged once.
    """
    seen: dict[tuple[str, str], dict] = {}
    judged: dict[str, int] = {}
    for run in execution.cells:
        last: dict[str, dict] = {}
        for record in run.records:
            last[str(record.get("id"))] = record
        for qid, record in last.items():
            if record.get("forged") or "answer" not in record:
                continue
            key = (qid, json.dumps(record["answer"], sort_keys=True))
            if key not in seen and judged.get(qid, 0) >= MAX_JUDGED:
                record["verdict"] = {"passed": False, "score": 0.0, "reason": (
                    f"not judged: the submission answered {qid} differently in more than "
                    f"{MAX_JUDGED} cells; the first {MAX_JUDGED} were judged")}  # fmt: skip
                continue
            judged[qid] = judged.get(qid, 0) + (key not in seen)
            if key not in seen:
                label = f"cell {run.index + 1}, {qid}"
                seen[key] = judges.judge(qid, record["answer"], timeout=limit, memory=memory,
                                         label=label)  # fmt: skip
            record["verdict"] = seen[key]


def crashed(path: Path, message: str) -> NotebookGrade:
    """A zero grade with ``error=message`` (every question listed if the exercise is known)."""
    result = NotebookGrade(notebook=str(path), exercise=None)
    try:
        exercise = detect_exercise(read_submission(path))
    except SubmissionError:
        exercise = exercise_from_name(path, registry.exercises())
    return _failed(result, exercise, message, time.monotonic())
