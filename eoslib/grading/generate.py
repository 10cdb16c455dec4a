"""Generate student notebooks (``exercises/``) from solution notebooks (``solutions/``).

Markers (nbgrader's, each alone on its line):

* code ``### BEGIN SOLUTION`` ... ``### END SOLUTION``: the region is replaced, at the
  indentation of the BEGIN line, by ``# YOUR CODE HERE`` + ``raise NotImplementedError()``.
  **Single-assignment rule**: a region that is exactly one line ``name = <expression>``
  (optionally annotated) becomes ``name = ...  # YOUR CODE HERE`` instead, so that a
  following ``check("id", name)`` reports "not answered yet" rather than a NameError.
* code ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``: removed; a cell left empty
  is dropped.
* markdown ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->``: removed; a cell left
  empty is dropped.

Every output and execution count is cleared, and cells get nbgrader metadata
(``nbgrader``: ``grade_id`` = the question id with ``.`` -> ``-``, ``points``,
``solution``, ``grade``, ``locked``, ``schema_version`` 3): a cell with a solution region is
an nbgrader *solution* cell; a cell calling ``check("id", ...)`` is a *graded* cell worth the
question's points, which JupyterLab will not delete (``deletable: false``; also
``editable: false`` and locked when it holds no solution). Notebook metadata
``eoslib.exercise`` names the exercise (the solution's own ``eoslib.exercise``, else the
``exN`` file name prefix) and ``eoslib.generated_from`` the solution's file name, so that a
generated notebook whose solution is gone is reported (``--check``) or deleted (on write).
The output is byte-for-byte deterministic. :func:`nbgrader_source` writes the same
annotation onto a copy of a solution (markers kept) for ``nbgrader generate_assignment``.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import registry
from .submission import checked_ids, exercise_from_name

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*\s*(?::[^=]+)?=(?!=)\s*\S")


class GenerateError(Exception):
    """A solution notebook is malformed (unbalanced markers, unknown question ids...)."""


@dataclass(frozen=True)
class Outcome:
    """One generated file: where it goes and whether it differs from what is on disk.

    ``source`` is None for a *stale* target: a generated notebook whose solution is gone
    (deleted by :func:`generate`, reported by ``check=True``).
    """

    source: Path | None
    target: Path
    changed: bool


def _regions(lines: list[str], begin: str, end: str, where: str) -> list[tuple[int, int]]:
    regions, start = [], None
    for number, line in enumerate(lines):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise GenerateError(f"{where}: nested {begin!r}")
            start = number
        elif text == end:
            if start is None:
                raise GenerateError(f"{where}: {end!r} without {begin!r}")
            regions.append((start, number))
            start = None
    if start is not None:
        raise GenerateError(f"{where}: {begin!r} without {end!r}")
    return regions


def _stub(region: list[str], indent: str) -> list[str]:
    body = [line for line in region if line.strip()]
    if len(body) == 1 and _ASSIGNMENT.match(body[0].strip()):
        name = re.split(r"[\s:=]", body[0].strip(), maxsplit=1)[0]
        return [f"{indent}{name} = ...  # YOUR CODE HERE"]
    return [indent + line for line in STUB]


def strip_code(source: str, where: str = "cell") -> tuple[str, bool]:
    """Student version of a code cell's source, and whether it held a solution region."""
    lines = source.split("\n")
    for start, end in reversed(_regions(lines, BEGIN_HIDDEN, END_HIDDEN, where)):
        del lines[start : end + 1]
    regions = _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where)
    for start, end in reversed(regions):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        lines[start : end + 1] = _stub(lines[start + 1 : end], indent)
    return "\n".join(lines), bool(regions)


def strip_markdown(source: str, where: str = "cell") -> str:
    """Markdown without its ``<!-- BEGIN SOLUTION -->`` regions."""
    lines = source.split("\n")
    for start, end in reversed(_regions(lines, MD_BEGIN, MD_END, where)):
        del lines[start : end + 1]
    return "\n".join(lines).strip("\n")


def exercise_of_notebook(nb: NotebookNode, path: Path) -> str:
    """``metadata.eoslib.exercise``, else the ``exN`` file name prefix."""
    meta = nb.metadata.get("eoslib", {}).get("exercise")
    exercise = (
        meta if isinstance(meta, str) and meta else exercise_from_name(path, registry.exercises())
    )
    if not exercise:
        raise GenerateError(f"{path}: no metadata eoslib.exercise and no exN in the file name")
    return exercise


def _cell_id(path: Path, index: int) -> str:
    return hashlib.sha1(f"{path.name}:{index}".encode()).hexdigest()[:12]


def _nbgrader_meta(grade_id: str, solution: bool, points: float | None) -> dict:
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def _annotate(cell: NotebookNode, exercise: str, index: int, solution: bool) -> set[str]:
    """Set the nbgrader metadata of a code cell; return the question ids it checks."""
    points = {q.id: q.points for q in registry.questions_for(exercise)}
    ids = list(dict.fromkeys(checked_ids(cell.source)))
    unknown = [qid for qid in ids if qid not in points]
    if unknown:
        raise GenerateError(f"cell {index}: unknown question id(s) {', '.join(unknown)}")
    for key in ("nbgrader", "deletable", "editable"):
        cell.metadata.pop(key, None)
    if ids:
        total = sum(points[qid] for qid in ids)
        grade_id = "-".join(re.sub(r"[^A-Za-z0-9_-]", "-", qid) for qid in ids)
        cell.metadata["nbgrader"] = _nbgrader_meta(grade_id, solution, total)
        cell.metadata["deletable"] = False
        if not solution:
            cell.metadata["editable"] = False
    elif solution:
        cell.metadata["nbgrader"] = _nbgrader_meta(f"{exercise}-answer-{index}", True, None)
    return set(ids)


def _clean(cell: NotebookNode) -> None:
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
        cell.metadata.pop(key, None)


def _prepare(nb: NotebookNode, path: Path) -> tuple[NotebookNode, str]:
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    for index, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = _cell_id(path, index)
        if cell.cell_type == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    exercise = exercise_of_notebook(nb, path)
    nb.metadata.setdefault("eoslib", {})["exercise"] = exercise
    return nb, exercise


def _check_coverage(exercise: str, seen: set[str], path: Path) -> None:
    missing = [q.id for q in registry.questions_for(exercise) if q.id not in seen]
    if missing:
        raise GenerateError(f"{path}: no check() cell for question(s) {', '.join(missing)}")


def make_exercise(nb: NotebookNode, path: Path) -> NotebookNode:
    """The student version of solution notebook ``nb`` (read from ``path``)."""
    nb, exercise = _prepare(nb, path)
    nb.metadata["eoslib"]["generated_from"] = path.name
    cells, seen = [], set()
    for index, cell in enumerate(nb.cells):
        where = f"{path.name} cell {index}"
        if cell.cell_type == "code":
            source, solution = strip_code(cell.source, where)
            if not source.strip() and cell.source.strip():
                continue  # only hidden tests
            cell.source = source
            seen |= _annotate(cell, exercise, index, solution)
        elif cell.cell_type == "markdown":
            source = strip_markdown(cell.source, where)
            if not source.strip() and cell.source.strip():
                continue
            cell.source = source
        _clean(cell)
        cells.append(cell)
    _check_coverage(exercise, seen, path)
    nb.cells = cells
    return nb


def nbgrader_source(nb: NotebookNode, path: Path) -> NotebookNode:
    """A solution notebook with nbgrader metadata and no outputs (markers kept)."""
    nb, exercise = _prepare(nb, path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            solution = bool(_regions(cell.source.split("\n"), BEGIN_SOLUTION, END_SOLUTION, ""))
            _annotate(cell, exercise, index, solution)
        _clean(cell)
    return nb


def render(nb: NotebookNode) -> str:
    """Stable JSON text of a notebook (nbformat's layout: indent 1, sorted keys, final EOL)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def _outcomes(solutions: Path, target_dir: Path, transform: object, check: bool) -> list[Outcome]:
    results = []
    for source in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        text = render(transform(nb, source))  # type: ignore[operator]
        target = target_dir / source.name
        old = target.read_text(encoding="utf-8") if target.exists() else None
        changed = old != text
        if changed and not check:
            target_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        results.append(Outcome(source, target, changed))
    return results


def _stale(solutions: Path, exercises: Path, check: bool) -> list[Outcome]:
    stale = []
    for target in sorted(exercises.glob("*.ipynb")):
        if (solutions / target.name).exists():
            continue
        try:
            meta = nbformat.read(target, as_version=4).metadata.get("eoslib", {})
        except Exception:  # noqa: BLE001 - not ours to judge
            continue
        if meta.get("generated_from"):
            if not check:
                target.unlink()
            stale.append(Outcome(None, target, True))
    return stale


def generate(solutions: Path, exercises: Path, *, check: bool = False) -> list[Outcome]:
    """Write ``exercises/<name>.ipynb`` for every ``solutions/<name>.ipynb``.

    With ``check=True`` nothing is written; ``Outcome.changed`` tells which files are out of
    date (or missing). Raises :class:`GenerateError` for a malformed solution.
    """
    return _outcomes(solutions, exercises, make_exercise, check) + _stale(
        solutions, exercises, check
    )


def generate_nbgrader_source(solutions: Path, target: Path) -> list[Outcome]:
    """Write nbgrader-annotated copies of the solutions into ``target`` (e.g. ``source/ps1``)."""
    return _outcomes(solutions, target, nbgrader_source, False)
