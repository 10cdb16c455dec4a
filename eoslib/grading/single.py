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
import tempfile
import time
from pathlib import Path

from . import limits, registry
from .execute import Execution, PreparedKernel, kernel_env, run_submission
from .forkserver import ForkServer
from .results import NotebookGrade
from .scoring import score_questions, zero_grades
from .submission import SubmissionError, detect_exercise, exercise_from_name, read_submission

__all__ = ["crashed", "grade_notebook"]


def _prepare_workdir(workdir: Path, notebook: Path, name: str, resources: Path | None) -> None:
    if resources is not None:
        shutil.copytree(resources, workdir, dirs_exist_ok=True)
    shutil.copy2(notebook, workdir / name)


def _failed(
    result: NotebookGrade, exercise: str | None, error: str, started: float
) -> NotebookGrade:
    result.exercise, result.error = exercise, error
    if exercise:
        result.questions = zero_grades(registry.questions_for(exercise), error)
    result.seconds = time.monotonic() - started
    return result


def _start_failed(execution: Execution) -> bool:
    """The kernel died or hung before the grader's prologue ran: no student code ran."""
    return execution.baseline is None and execution.setup_error.startswith("kernel failed")


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
) -> NotebookGrade:
    """Grade one submission in a fresh kernel (see :mod:`eoslib.grading.runner`).

    ``copy``, if given, is the file actually read (the grader's private copy of ``path``);
    ``path`` names the submission in the result. ``memory_limit``: bytes per kernel.
    ``prepared``: a fresh kernel started ahead of need (:func:`~.execute.prepare_kernel`)
    with ``resources`` already in its working directory; the caller discards it after.
    ``judges``: the fork server that grades the answers (one is started for this call if
    None).
    """
    path = Path(path)
    source_file = Path(copy) if copy else path
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
    run = {"timeout": timeout_per_question, "nonce": secrets.token_hex(16),
           "kernel_name": kernel_name, "memory_limit": memory_limit}  # fmt: skip
    if prepared is not None:
        shutil.copy2(source_file, prepared.workdir / path.name)
        execution = run_submission(
            sorted(sources.items()),
            workdir=prepared.workdir,
            env=prepared.env,
            prepared=prepared,
            **run,
        )
        if _start_failed(execution):
            prepared = None  # a kernel that died before running anything: a fresh one, once
    for _attempt in range(2 if prepared is None else 0):
        with tempfile.TemporaryDirectory(prefix="eoslib-grade-") as tmp:
            workdir = Path(tmp)
            resource_dir = Path(resources) if resources else None
            _prepare_workdir(workdir, source_file, path.name, resource_dir)
            marker = os.environ.get(limits.WORKER_VARIABLE, "") + secrets.token_hex(16)
            env = kernel_env(dict(os.environ), workdir, marker=marker)
            execution = run_submission(sorted(sources.items()), workdir=workdir, env=env, **run)
        if not _start_failed(execution):
            break  # kernels rarely die at start-up (a port race between kernels): retried once
    if execution.after_shutdown:
        result.flags.append("after its kernel was shut down, " + execution.after_shutdown)
    if execution.setup_error:
        result.error = execution.setup_error
        result.questions = zero_grades(questions, "not graded: " + execution.setup_error)
    else:
        own = judges is None
        judges = judges or ForkServer()
        try:
            judge_records(execution, judges, judge_limit(timeout_per_question), memory_limit)
        finally:
            if own:
                judges.close()
        result.questions = score_questions(questions, execution, sources, timeout_per_question)
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
    for run in execution.cells:
        last: dict[str, dict] = {}
        for record in run.records:
            last[str(record.get("id"))] = record
        for qid, record in last.items():
            if record.get("forged") or "answer" not in record:
                continue
            key = (qid, json.dumps(record["answer"], sort_keys=True))
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
