"""No honest answer zeroed: many copies of every solution get full marks, and a kernel that
dies before the first cell is replaced (and reported), not scored.

The copies test grades a few copies of every notebook in ``solutions/`` as it is today
(``eoslib bench --grading --grading-copies 1000`` is the full run); the restart test kills
real kernels right after they start.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from eoslib.grading import single
from eoslib.grading.measure import SOLUTIONS, grading_copies
from eoslib.grading.report import gradebook_rows, table
from eoslib.grading.runner import grade

COPIES = 3


@pytest.mark.slow
def test_copies_of_every_solution_all_get_full_marks() -> None:
    summary = grading_copies(COPIES)  # raises, naming the first loss, unless all are full
    assert summary is not None
    print(f"\n{summary}")
    assert summary["graded"] == summary["full_marks"] == COPIES * len(list(
        SOLUTIONS.glob("*.ipynb")))  # fmt: skip
    assert summary["restarts"] >= 0


@pytest.mark.slow
def test_a_kernel_dead_before_the_first_cell_is_restarted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "alice-ex01-duplicates.ipynb"
    shutil.copy(SOLUTIONS / "ex01-duplicates.ipynb", notebook)
    started = single.fresh_kernel
    killed: list[int] = []

    def dying(*args: object, **kwargs: object) -> object:
        kernel = started(*args, **kwargs)  # type: ignore[arg-type]
        if len(killed) < 2:  # the first two kernels die at start-up
            pid = kernel.km.provisioner.process.pid  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return kernel

    monkeypatch.setattr(single, "fresh_kernel", dying)
    [result] = grade([notebook], jobs=0)
    assert len(killed) == 2
    assert result.restarts == 2 and result.error is None, result.to_json()
    assert result.score == result.max_score
    assert result.flags and result.flags[0].startswith(f"{single.RESTARTED} 2 time(s)")
    header, row = gradebook_rows([result])
    assert dict(zip(header, row, strict=True))["kernel_restarts"] == "2"
    assert "kernel restarted 2x" in table([result]).splitlines()[0]


@pytest.mark.slow
def test_a_kernel_that_never_starts_is_an_error_after_bounded_tries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = tmp_path / "bob-ex01-duplicates.ipynb"
    shutil.copy(SOLUTIONS / "ex01-duplicates.ipynb", notebook)
    calls: list[int] = []

    def broken(*args: object, **kwargs: object) -> object:
        calls.append(1)
        raise RuntimeError("no kernel today")

    monkeypatch.setattr(single, "fresh_kernel", broken)
    [result] = grade([notebook], jobs=0)
    assert len(calls) == single.MAX_STARTS
    assert result.restarts == single.MAX_STARTS - 1
    assert result.error == "kernel failed to start: RuntimeError: no kernel today"
    assert all(q.reason.startswith("not graded: kernel failed to start") for q in
               result.questions)  # fmt: skip
