"""nbgrader, for instructors who already run it: the real nbgrader takes the course end to end.

``make-exercises --nbgrader-source`` writes the annotated sources of every solution notebook
in ``solutions/`` (as it is today) into a course directory; ``nbgrader generate_assignment``
makes the student versions; two students fill them in (one with every answer, one leaving
the first answer of each notebook unanswered); ``nbgrader autograde`` grades them into its
gradebook database, and every graded cell's points there equal what ``eoslib grade`` gives
the same submissions. Needs the ``nbgrader`` extra (``pip install -e '.[nbgrader]'``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

from eoslib.grading.runner import grade
from eoslib.grading.submission import checked_ids

REPO = Path(__file__).resolve().parents[1]
NEEDS = "needs nbgrader (pip install -e '.[nbgrader]')"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def test_the_nbgrader_extra_is_in_step_with_its_conda_file() -> None:
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["nbgrader"]  # fmt: skip
    conda = yaml.safe_load((REPO / "environment-nbgrader.yml").read_text())["dependencies"]
    assert {str(Requirement(line)) for line in extra} == {
        re.sub(r"\s+", "", line) for line in conda}  # fmt: skip


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    run = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return run


def _fill(release: Path, source: Path, target: Path, *, skip_first: bool) -> None:
    """A student's copy: every solution cell given the source's answer (markers removed)."""
    for path in sorted(release.glob("*.ipynb")):
        answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                   for c in nbformat.read(source / path.name, as_version=4).cells}  # fmt: skip
        nb = nbformat.read(path, as_version=4)
        skipped = False
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            if skip_first and not skipped:
                skipped = True  # left as nbgrader's stub: unanswered
                continue
            cell.source = "\n".join(line for line in answers[meta["grade_id"]].split("\n")
                                    if line.strip() not in MARKERS)  # fmt: skip
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / path.name)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("nbgrader") is None, reason=NEEDS)
def test_nbgrader_end_to_end_gives_eoslib_grade_points(tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    root = tmp_path / "repo"
    shutil.copytree(REPO / "solutions", root / "solutions")
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.root = '.'\nc.CourseDirectory.course_id = 'eos'\n"
        f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n")  # fmt: skip
    source = course / "source" / "ps1"
    _run([sys.executable, "-m", "eoslib.grading.cli", "make-exercises", "--root", str(root),
          "--nbgrader-source", str(source)], REPO)  # fmt: skip
    nbgrader = [sys.executable, "-m", "nbgrader"]
    _run([*nbgrader, "generate_assignment", "ps1", "--create", "--force"], course)
    students = {"alice": False, "carol": True}
    for student, skip_first in students.items():
        _fill(course / "release" / "ps1", source, course / "submitted" / student / "ps1",
              skip_first=skip_first)  # fmt: skip
    _run([*nbgrader, "autograde", "ps1", "--force"], course)

    ours = {(Path(g.notebook).parent.parent.name, Path(g.notebook).stem): g
            for g in grade([course / "submitted"], jobs=2)}  # fmt: skip
    graded = {path.stem: {c.metadata["nbgrader"]["grade_id"]: checked_ids(c.source)
                          for c in nbformat.read(path, as_version=4).cells
                          if c.metadata.get("nbgrader", {}).get("grade")}
              for path in source.glob("*.ipynb")}  # fmt: skip
    compared = 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for (student, name), result in sorted(ours.items()):
            assert result.error is None, result.to_json()
            points = {q.id: q.score for q in result.questions}
            theirs = gradebook.find_submission_notebook(name, "ps1", student)
            for cell in theirs.grades:
                ids = graded[name][cell.name]
                assert cell.score == sum(points[i] for i in ids), (student, name, cell.name)
                compared += 1
            if not students[student]:
                assert result.score == result.max_score, result.to_json()
            else:
                assert 0 < result.score < result.max_score or len(result.questions) == 1
    assert compared >= 2 * len(list((REPO / "solutions").glob("*.ipynb")))
