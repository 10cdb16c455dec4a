"""The instructor's grader: run every submission in its own kernel and score it.

``grade(paths)`` accepts notebooks and folders (searched recursively for ``*.ipynb``,
skipping ``.ipynb_checkpoints`` and hidden folders) and returns one
:class:`~eoslib.grading.results.NotebookGrade` per file, in a stable order. Each submission
gets a fresh kernel whose working directory (and ``TMPDIR``) is a new temporary folder
holding a copy of the notebook (plus the contents of ``resources``, if given); ``jobs``
submissions run at once, in worker processes (:mod:`eoslib.grading.workers`) so that a
submission that kills its kernel's parent loses only itself. A file that cannot be read or
executed gets an ``error`` and zero points; grading always continues with the next one.

How a score is decided
----------------------
Nothing the kernel says is a verdict. In the kernel, ``check()`` only records the *answer*
(its data, or its source and what the source uses: :mod:`eoslib.grading.answers`); the
grader's hidden cells carry the records out, and the grader grades each answer in a judge
process forked from its own pristine interpreter (:mod:`eoslib.grading.forkserver`,
:mod:`eoslib.grading.judge`), which never runs the notebook: only the answer's own code, after
screening it (:mod:`eoslib.grading.vet`). A record carrying a verdict, or a grader message
displayed by a student cell (a replay), scores that question 0 with what was tried.

The kernel is still watched, to report tampering: an integrity fingerprint
(:mod:`eoslib.grading.fingerprint`: eoslib's functions, classes and registered questions,
selected builtins, ``json.dumps``, IPython hooks and the display channel) is taken before
any student code runs, at every ``check()`` and after every student cell; from the first
difference on, every answer scores 0 ("submission modified eoslib (...)"). A determined
student can hide tampering from that fingerprint, but gains nothing by it: the answers are
judged elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import limits
from .forkserver import ForkServer
from .results import NotebookGrade
from .sandbox import NEEDS, SandboxError, available
from .single import crashed, grade_notebook
from .stage import remove as remove_stage
from .stage import stage
from .workers import run_parallel

__all__ = ["NotebookGrade", "crashed", "find_notebooks", "grade", "grade_notebook"]


def find_notebooks(paths: Iterable[Path | str]) -> list[Path]:
    """Expand folders to ``*.ipynb`` files (recursively); keep files as given; de-duplicate."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.ipynb")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def grade(
    paths: list[Path],
    *,
    timeout_per_question: float = 60,
    jobs: int = 2,
    resources: Path | None = None,
    kernel_name: str = "python3",
    progress: Callable[[NotebookGrade], None] | None = None,
    memory_limit: int = limits.MEMORY_LIMIT,
    sandbox: str = "auto",
) -> list[NotebookGrade]:
    """Grade every notebook under ``paths``; results in the order of :func:`find_notebooks`.

    Args:
        paths: notebooks and/or folders.
        timeout_per_question: wall-clock limit in seconds for each student cell.
        jobs: submissions graded at once, each by a worker process (reused across
            notebooks) that starts a fresh kernel per submission; ``0`` grades sequentially
            in this process (for debugging: a submission could then kill the grader).
        resources: a folder whose contents are copied into every submission's working
            directory (data files the exercise reads).
        kernel_name: the Jupyter kernel to use (its notebook metadata is ignored); only
            ``python3`` is forked warm and sandboxed, another kernel starts as usual.
        progress: called with each result as soon as it is ready.
        memory_limit: bytes of address space per kernel (``RLIMIT_AS``).
        sandbox: ``"auto"`` runs every kernel and judge in an OS sandbox where Linux user
            namespaces allow it (:mod:`eoslib.grading.sandbox`), ``"require"`` raises
            :class:`~eoslib.grading.sandbox.SandboxError` where they do not, ``"off"``
            never sandboxes.

    Every file is copied and hashed before grading starts and graded from its copy; an
    original that changed by the end is flagged (:mod:`eoslib.grading.limits`).
    """
    if sandbox not in ("auto", "require", "off"):
        raise ValueError(f"sandbox must be 'auto', 'require' or 'off', not {sandbox!r}")
    if sandbox == "require" and not isolation():
        raise SandboxError(NEEDS)
    notebooks = find_notebooks(paths)
    staged = stage()
    options: dict[str, Any] = {
        "timeout_per_question": timeout_per_question,
        "resources": resources,
        "kernel_name": kernel_name,
        "memory_limit": int(memory_limit),
        "stage": str(staged),
        "sandbox": "off" if sandbox == "off" else "auto",
    }
    try:
        return _grade_all(notebooks, options, jobs, resources, progress)
    finally:
        remove_stage(staged)


def isolation() -> bool:
    """Whether kernels and judges run in an OS sandbox on this machine."""
    return available()


def _grade_all(notebooks: list[Path], options: dict[str, Any], jobs: int,
               resources: Path | None,
               progress: Callable[[NotebookGrade], None] | None) -> list[NotebookGrade]:
    results: dict[int, NotebookGrade] = {}
    windows: dict[int, tuple[float, float]] = {}

    def begin(index: int) -> None:
        windows[index] = (time.time(), float("inf"))

    def done(index: int, result: NotebookGrade) -> None:
        windows[index] = (windows.get(index, (time.time(), 0.0))[0], time.time())
        results[index] = result
        if progress is not None:
            progress(result)

    with limits.Originals(notebooks) as originals:
        copies = [originals.copy_of(path) for path in notebooks]
        if jobs <= 0:
            with ForkServer(stage=options["stage"], sandbox=options["sandbox"]) as judges:
                for index, path in enumerate(notebooks):
                    begin(index)
                    try:
                        done(index, grade_notebook(path, copy=copies[index], judges=judges,
                                                   **options))  # fmt: skip
                    except Exception as exc:  # noqa: BLE001 - one bad notebook must not stop all
                        done(index, crashed(path, f"grader error: {type(exc).__name__}: {exc}"))
        else:
            options["resources"] = str(Path(resources).resolve()) if resources else None
            run_parallel(notebooks, copies, options, jobs, done, crashed, begin)
        graded = [results[i] for i in range(len(notebooks))]
        _flag_changed_originals(notebooks, graded, originals.changed(), windows)
    return graded


def _flag_changed_originals(
    notebooks: list[Path],
    graded: list[NotebookGrade],
    changed: list[Path],
    windows: dict[int, tuple[float, float]],
) -> None:
    """Flag each original modified during grading, and the submissions graded at that time."""
    position = {path: index for index, path in enumerate(notebooks)}
    for path in changed:
        index = position[path]
        try:
            when = path.stat().st_mtime
        except OSError:
            when = None
        suspects = [
            i
            for i, (start, end) in sorted(windows.items())
            if i != index and when is not None and start - 1 <= when <= end + 1
        ]
        named = ", ".join(graded[i].notebook for i in suspects) or "unknown"
        graded[index].flags.append(
            "the original file was modified while the class was graded (submissions being "
            f"graded then: {named}); it was graded from the copy taken before grading"
        )
        for i in suspects:
            graded[i].flags.append(
                "while this submission was graded, another submission's file changed "
                f"(this one or another graded at the same time wrote it): {path}"
            )
