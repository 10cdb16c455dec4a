"""The grader's benchmarks for ``eoslib bench``: a class's grading time, and many copies.

* :func:`grading_time` grades N copies of one solved exercise as an instructor would
  (``eoslib grade``, two workers) and reports wall seconds, the CPU seconds of every process
  involved (grader, workers, fork servers, kernels, judges: a figure the machine's other load
  inflates much less than wall time), kernel restarts and the load average around the run;
  and the CPU seconds each question's check takes on one copy (:func:`check_cpu`), so
  that the grader's overhead per submission can be told from the questions' cost (the
  copies are identical: their plain-data answers are judged once per worker, see
  :meth:`~eoslib.grading.forkserver.ForkServer.judge`; ``EOSLIB_GRADING_VERDICT_CACHE=0``
  judges every copy afresh);
* :func:`grading_copies` grades N copies of *every* solution notebook in ``solutions/``
  (1,000 each for the full run) and fails unless every copy gets full marks; it reports the
  kernel restarts the grader needed (a kernel that died before the first cell).
"""

from __future__ import annotations

import linecache
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _grade_folder(folder: Path, jobs: int) -> tuple[list[Any], dict[str, Any]]:
    from .runner import grade, isolation

    load = os.getloadavg()[0]
    cpu, started = _cpu(), time.perf_counter()
    results = grade([folder], jobs=jobs)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return results, {"seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                     "restarts": sum(r.restarts for r in results), "jobs": jobs,
                     "sandboxed": isolation(),
                     "load_average": [round(load, 1), round(os.getloadavg()[0], 1)]}


def _lost(results: list[Any]) -> list[Any]:
    return [r for r in results if r.error is not None or r.score != r.max_score]


def _why(result: Any) -> str:
    return result.error or "; ".join(f"{q.id}: {q.reason}" for q in result.questions
                                     if q.score < q.max_score)  # fmt: skip


def solution_answers(path: Path) -> list[tuple[str, Any]]:
    """(question, encoded answer) of every ``check()`` call of a (trusted) solution notebook,
    its code cells run here as a kernel would run them."""
    import nbformat

    from .answers import encode

    answers: list[tuple[str, Any]] = []
    cells = ["check = lambda qid, answer: answers.append((qid, encode(answer)))"] + [
        c.source.replace("from eoslib.grading import check", "")
        for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]  # fmt: skip
    namespace: dict[str, Any] = {"__name__": "__main__", "answers": answers, "encode": encode}
    for number, source in enumerate(cells):
        filename = f"<{path.stem} cell {number}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a solution notebook
    return answers


def check_cpu(path: Path) -> dict[str, float]:
    """CPU seconds each question's own check takes on the answer of one solution notebook,
    as a judge forked from the warm grader pays it (reference results already computed:
    each answer is judged once untimed first)."""
    from .judge import judge

    seconds: dict[str, float] = {}
    for qid, answer in solution_answers(path):
        judge(qid, answer)
        started = time.process_time()
        judge(qid, answer)
        seconds[qid] = round(time.process_time() - started, 3)
    return seconds


def grading_time(submissions: int, jobs: int = 2,
                 exercise: str = "ex02-idempotence") -> dict[str, Any] | None:
    """Grade ``submissions`` copies of one solved exercise; None without ``solutions/``."""
    source = SOLUTIONS / f"{exercise}.ipynb"
    if not source.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="eoslib-grade-bench-") as tmp:
        folder = Path(tmp)
        for i in range(submissions):
            shutil.copy(source, folder / f"student{i:03d}-{exercise}.ipynb")
        results, figures = _grade_folder(folder, jobs)
    lost = _lost(results)
    if lost:
        raise AssertionError(f"grading bench: {submissions - len(lost)} of {submissions} got "
                             f"full marks ({_why(lost[0])})")
    per_check = check_cpu(source)
    checks = round(sum(per_check.values()), 2)
    overhead = figures["cpu_seconds"] / submissions - checks
    return {"exercise": exercise, "submissions": submissions, **figures,
            "cpu_seconds_each": round(figures["cpu_seconds"] / submissions, 3),
            "check_cpu_seconds_each": checks, "check_cpu_seconds": per_check,
            "overhead_cpu_seconds_each": round(overhead, 2)}


def grading_copies(copies: int, jobs: int = 2) -> dict[str, Any] | None:
    """Grade ``copies`` copies of every solution notebook; every one must get full marks."""
    sources = sorted(SOLUTIONS.glob("*.ipynb"))
    if not sources:
        return None
    with tempfile.TemporaryDirectory(prefix="eoslib-grade-copies-") as tmp:
        folder = Path(tmp)
        for source in sources:
            for i in range(copies):
                shutil.copy(source, folder / f"c{i:04d}-{source.name}")
        results, figures = _grade_folder(folder, jobs)
    lost = _lost(results)
    summary = {"notebooks": len(sources), "copies": copies, "graded": len(results),
               "full_marks": len(results) - len(lost), **figures}  # fmt: skip
    if lost:
        raise AssertionError(f"grading copies: {summary}; first loss: {lost[0].notebook}: "
                             f"{_why(lost[0])}")
    return summary
