"""Tests of eoslib.grading: checks, the solutions -> exercises generator and the runner.

The test-only exercise ``exfix`` (tests/grading_fixtures/exfix.py) is registered through
``EOSLIB_EXTRA_EXERCISES`` with tests/ on ``PYTHONPATH``, so grading kernels load it too.
Submissions are made from the fixture solution by editing cells; the kernel tests grade
them all in one run (module fixture ``batch``) to keep the suite fast.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from eoslib.grading import Question, Verdict, check, registry
from eoslib.grading.execute import OUTPUT_LIMIT, _Client
from eoslib.grading.generate import (
    GenerateError,
    generate,
    make_exercise,
    render,
    strip_code,
    strip_markdown,
)
from eoslib.grading.runner import find_notebooks, grade, isolation

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "grading_fixtures"
SOLUTION = FIXTURES / "solutions" / "exfix-basics.ipynb"

# Cells of the generated exfix exercise (same positions as in the solution).
Q1, CONFIG, Q2, FUNC, Q3 = 3, 5, 6, 8, 9
ANSWERS = {
    Q1: 'duplicates = 42\ncheck("exfix.q1", duplicates)',
    CONFIG: 'config = {"acks": "all", "enable.idempotence": True}',
    FUNC: "def count_distinct(values):\n    return len(set(values))",
}


def _env_patch(mp: pytest.MonkeyPatch) -> None:
    mp.setenv("EOSLIB_EXTRA_EXERCISES", "grading_fixtures.exfix")
    old = os.environ.get("PYTHONPATH", "")
    mp.setenv("PYTHONPATH", str(TESTS) + (os.pathsep + old if old else ""))
    mp.syspath_prepend(str(TESTS))
    registry.load_all()


@pytest.fixture(scope="module", autouse=True)
def exfix():
    """Register the exfix exercise here and in every grading kernel."""
    with pytest.MonkeyPatch.context() as mp:
        _env_patch(mp)
        yield
        import grading_fixtures.exfix as module

        for question in module.QUESTIONS:
            registry.unregister(question.id)


def _exercise_nb() -> nbformat.NotebookNode:
    return make_exercise(nbformat.read(SOLUTION, as_version=4), SOLUTION)


def make_submission(
    folder: Path,
    name: str,
    edits: dict[int, str] | None = None,
    *,
    answered: bool = True,
    delete: tuple[int, ...] = (),
    insert: dict[int, str] | None = None,
) -> Path:
    """The exercise with the right answers (unless ``answered`` is false), then edits."""
    nb = _exercise_nb()
    for index, source in ({**ANSWERS} if answered else {}).items():
        nb.cells[index].source = source
    for index, source in (edits or {}).items():
        nb.cells[index].source = source
    for index, source in sorted((insert or {}).items(), reverse=True):
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in delete]
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


# ----------------------------------------------------------------------------------------
# check() and questions
# ----------------------------------------------------------------------------------------


def test_check_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert check("exfix.q1", 42) == Verdict.ok()
    assert capsys.readouterr().out == "✔ exfix.q1 passed (2/2 points)\n"
    verdict = check("exfix.q1", 41)
    out = capsys.readouterr().out
    assert not verdict.passed and verdict.score == 0
    assert out.startswith("✘ exfix.q1 failed (0/2 points): ")
    assert out.rstrip().endswith("Hint: run the cell above and read the counter")
    assert "42" not in out  # never the solution


def test_not_answered_and_partial(capsys: pytest.CaptureFixture[str]) -> None:
    for answer in (..., None):
        assert check("exfix.q2", answer).reason == "not answered yet"
    partial = check("exfix.q2", {"acks": "all"})
    assert partial.score == pytest.approx(0.5) and not partial.passed
    assert "(0.5/1 points)" in capsys.readouterr().out.splitlines()[-1]


def test_grader_exception_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    verdict = check("exfix.q3", lambda values: 1 / 0)
    assert verdict.score == 0 and verdict.reason == "ZeroDivisionError: division by zero"
    assert check("exfix.q3", lambda values: len(set(values))).passed


def test_unknown_question_and_bool_grader(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown question id" in check("exfix.nope", 1).reason
    q = registry.register(Question("exbool.q1", "bool", 1, "measure", lambda a: a == 3))
    try:
        assert check("exbool.q1", 3).passed and not check("exbool.q1", 4).passed
    finally:
        registry.unregister(q.id)


def test_nbgrader_mode_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check("exfix.q1", 42).passed
    with pytest.raises(AssertionError, match="exfix.q1 failed"):
        check("exfix.q1", 1)


def test_check_result_is_silent_in_ipython() -> None:
    result = check("exfix.q1", 42)
    assert result._ipython_display_() is None
    assert result == Verdict(True, 1.0, "") and hash(result) == hash(Verdict(True, 1.0, ""))


def test_question_validation_and_duplicates() -> None:
    with pytest.raises(ValueError, match="look like"):
        Question("q1", "t", 1, "measure", bool)
    with pytest.raises(ValueError, match="kind"):
        Question("ex9.q1", "t", 1, "guess", bool)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate"):
        registry.register(Question("exfix.q1", "other", 1, "measure", bool))
    assert Verdict(True, 7.0).normalized().score == 1.0
    assert Verdict(False, float("nan")).normalized().score == 0.0


# ----------------------------------------------------------------------------------------
# generator
# ----------------------------------------------------------------------------------------


def test_strip_code_rules() -> None:
    src = "x = 1\n### BEGIN SOLUTION\nanswer: int = 6 * 7\n### END SOLUTION\nprint(x)"
    assert strip_code(src) == ("x = 1\nanswer = ...  # YOUR CODE HERE\nprint(x)", True)
    src = "def f():\n    ### BEGIN SOLUTION\n    a = 1\n    return a\n    ### END SOLUTION"
    out, _ = strip_code(src)
    assert out == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    out, _ = strip_code("### BEGIN SOLUTION\nx == 1\n### END SOLUTION")
    assert "raise NotImplementedError()" in out
    assert strip_code("a\n### BEGIN HIDDEN TESTS\nassert a\n### END HIDDEN TESTS") == ("a", False)
    assert strip_markdown("Q?\n<!-- BEGIN SOLUTION -->\nyes\n<!-- END SOLUTION -->") == "Q?"
    for bad in ("### BEGIN SOLUTION\nx = 1", "### END SOLUTION", "### BEGIN SOLUTION\n" * 2):
        with pytest.raises(GenerateError):
            strip_code(bad)


def test_generated_exercise(tmp_path: Path) -> None:
    outcomes = generate(SOLUTION.parent, tmp_path)
    assert [o.changed for o in outcomes] == [True]
    text = (tmp_path / SOLUTION.name).read_text()
    for secret in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "40 + 2", "set(values)",
                   "Instructor notes", "The counter shows"):  # fmt: skip
        assert secret not in text
    nb = nbformat.read(tmp_path / SOLUTION.name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.eoslib.exercise == "exfix"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.cells[Q1].source.startswith("duplicates = ...  # YOUR CODE HERE\n")
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in nb.cells[FUNC].source
    meta = nb.cells[Q2].metadata
    assert meta.nbgrader == {"grade": True, "grade_id": "exfix-q2", "locked": True, "points": 1,
                             "schema_version": 3, "solution": False, "task": False}  # fmt: skip
    assert meta.deletable is False and meta.editable is False
    assert nb.cells[CONFIG].metadata.nbgrader["solution"] is True
    assert len(nb.cells) == 10  # hidden-tests cell and notes-only markdown dropped


def test_generation_is_deterministic_and_check_detects_drift(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate(SOLUTION.parent, first)
    generate(SOLUTION.parent, second)
    target = first / SOLUTION.name
    assert target.read_bytes() == (second / SOLUTION.name).read_bytes()
    assert [o.changed for o in generate(SOLUTION.parent, first)] == [False]
    assert [o.changed for o in generate(SOLUTION.parent, first, check=True)] == [False]
    target.write_text(target.read_text().replace("Configure", "Configur"))
    assert [o.changed for o in generate(SOLUTION.parent, first, check=True)] == [True]
    assert "Configur " in target.read_text()  # --check writes nothing
    # a generated notebook whose solution is gone is stale
    (first / "exfix-old.ipynb").write_text(target.read_text())
    stale = [o for o in generate(SOLUTION.parent, first, check=True) if o.source is None]
    assert [o.target.name for o in stale] == ["exfix-old.ipynb"]


def test_make_exercises_cli_check(tmp_path: Path) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / SOLUTION.name).write_bytes(SOLUTION.read_bytes())
    cmd = [sys.executable, "-m", "eoslib.grading.cli", "make-exercises", "--root", str(tmp_path)]
    run = subprocess.run([*cmd, "--check"], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1 and SOLUTION.name in run.stdout
    assert subprocess.run(cmd, capture_output=True, cwd=REPO).returncode == 0
    run = subprocess.run([*cmd, "--check"], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr


def test_generator_rejects_bad_solutions(tmp_path: Path) -> None:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells[Q2].source = 'check("exfix.q7", config)'
    with pytest.raises(GenerateError, match="unknown question id"):
        make_exercise(nb, SOLUTION)
    nb.cells[Q2].source = "config"
    with pytest.raises(GenerateError, match="no check\\(\\) cell for question\\(s\\) exfix.q2"):
        make_exercise(nb, SOLUTION)


def test_repository_exercises_are_in_sync() -> None:
    """exercises/ must be what scripts/make-exercises generates from solutions/."""
    stale = [str(o.target) for o in generate(REPO / "solutions", REPO / "exercises", check=True)
             if o.changed]  # fmt: skip
    assert not stale, f"run scripts/make-exercises; out of date: {stale}"


def test_render_is_stable() -> None:
    nb = _exercise_nb()
    assert render(nb) == render(nbformat.reads(render(nb), as_version=4))


# ----------------------------------------------------------------------------------------
# runner
# ----------------------------------------------------------------------------------------

TIMEOUT = 3.0
TAMPER_REGISTRY = """import eoslib.grading.registry as reg
from eoslib.grading import Question, Verdict
reg._REGISTRY["exfix.q2"] = Question("exfix.q2", "free", 1, "configure", lambda a: Verdict.ok())"""
TAMPER_EVALUATE = """import eoslib.grading.feedback as fb
from eoslib.grading import Verdict
fb.evaluate = lambda question, answer: Verdict.ok()"""
FORGE_STORE = """import eoslib.grading.session as s
s._STORE.append({"id": "exfix.q2", "passed": True, "score": 1.0, "reason": ""})"""
TAMPER_AND_RESTORE = """import eoslib.grading.feedback as fb
from eoslib.grading import Verdict
original, fb.evaluate = fb.evaluate, lambda question, answer: Verdict.ok()
check("exfix.q2", {})
fb.evaluate = original"""
HOOK = """get_ipython().events.register("pre_run_cell", lambda info: None)"""
KILL_PARENT = """import os, signal
os.kill(os.getppid(), signal.SIGKILL)"""
STUCK = """while True:
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass"""

CASES: dict[str, dict] = {
    "full": {},
    "blank": {"answered": False},
    "raising": {"edits": {Q1: 'duplicates = 42\nraise ValueError("boom")\ncheck("exfix.q1", 42)'}},
    "loop": {"edits": {Q1: 'while True:\n    pass\ncheck("exfix.q1", 42)'}},
    "flood": {
        "edits": {
            Q1: 'print("x" * 5_000_000)\nfor i in range(100_000):\n    print(i)\n'
            'check("exfix.q1", 42)'
        }
    },  # fmt: skip
    "sysexit": {"edits": {Q1: 'check("exfix.q1", 42)\nimport sys\nsys.exit(0)'}},
    "osexit": {"edits": {Q2: 'import os\nos._exit(1)\ncheck("exfix.q2", config)'}},
    "stuck": {"edits": {Q2: STUCK + '\ncheck("exfix.q2", config)'}},
    "tamper_registry": {"insert": {Q2: TAMPER_REGISTRY}, "edits": {CONFIG: "config = {}"}},
    "tamper_evaluate": {"insert": {Q2: TAMPER_EVALUATE}, "edits": {CONFIG: "config = {}"}},
    "tamper_restore": {"edits": {Q2: TAMPER_AND_RESTORE}},
    "hook": {"insert": {Q2: HOOK}},
    "kill_parent": {"insert": {Q2: KILL_PARENT}},
    "forged_store": {"edits": {CONFIG: "config = {}", Q2: FORGE_STORE}},
    "fake_print": {"edits": {Q1: 'print("✔ exfix.q1 passed (2/2 points)")'}},
    "deleted": {"delete": (Q2,)},
    "answer_exit": {"edits": {CONFIG: "import sys\nsys.exit(0)\nconfig = {}"}},
    "answer_loop": {"edits": {FUNC: "while True:\n    pass"}},
    "defined_twice": {"insert": {FUNC: "def count_distinct(values):\n    return 0"}},
    "duplicated": {"edits": {Q1: 'check("exfix.q1", 41)'}, "insert": {Q1 + 1: ANSWERS[Q1]}},
    "plots": {
        "insert": {
            Q1: "import matplotlib.pyplot as plt\nimport ipywidgets\n"
            "plt.plot([1, 2])\nplt.show()\nipywidgets.IntSlider()"
        }
    },  # fmt: skip
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("submissions")
    for name, spec in CASES.items():
        make_submission(folder, name, **spec)
    (folder / "invalid.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "exfix-notnb.ipynb").write_text('{"hello": 1}', encoding="utf-8")
    (folder / ".ipynb_checkpoints").mkdir()
    make_submission(folder / ".ipynb_checkpoints", "full-checkpoint")
    started = time.monotonic()
    results = grade([folder], timeout_per_question=TIMEOUT, jobs=2)
    elapsed = time.monotonic() - started
    print(f"\ngraded {len(results)} notebooks in {elapsed:.1f} s")
    return {Path(r.notebook).stem: r.to_json() for r in results}


def _scores(result: dict) -> dict[str, float]:
    return {q["id"]: q["score"] for q in result["questions"]}


def _reasons(result: dict) -> dict[str, str]:
    return {q["id"]: q["reason"] for q in result["questions"]}


FULL = {"exfix.q1": 2.0, "exfix.q2": 1.0, "exfix.q3": 3.0}


@pytest.mark.slow
def test_folder_walk_skips_checkpoints(batch: dict[str, dict]) -> None:
    assert "full-checkpoint" not in batch
    assert set(batch) == set(CASES) | {"invalid", "exfix-notnb"}


@pytest.mark.slow
def test_full_marks_and_json_shape(batch: dict[str, dict]) -> None:
    result = batch["full"]
    assert set(result) == {"notebook", "exercise", "score", "max_score", "questions", "error",
                           "seconds", "flags", "restarts"}  # fmt: skip
    assert (result["score"], result["max_score"], result["error"]) == (6.0, 6.0, None)
    assert set(result["questions"][0]) == {"id", "score", "max_score", "reason"}


@pytest.mark.slow
def test_unmodified_exercise_scores_zero(batch: dict[str, dict]) -> None:
    result = batch["blank"]
    assert result["score"] == 0 and result["error"] is None
    assert _reasons(result) == {"exfix.q1": "not answered yet", "exfix.q2": "not answered yet",
                                "exfix.q3": "NotImplementedError"}  # fmt: skip


@pytest.mark.slow
def test_raising_cell(batch: dict[str, dict]) -> None:
    result = batch["raising"]
    assert _scores(result) == {**FULL, "exfix.q1": 0.0}
    assert _reasons(result)["exfix.q1"] == "cell raised ValueError: boom"


@pytest.mark.slow
def test_infinite_loop_is_interrupted(batch: dict[str, dict]) -> None:
    result = batch["loop"]
    assert _scores(result) == {**FULL, "exfix.q1": 0.0}
    assert _reasons(result)["exfix.q1"] == "the cell ran past the 3 s limit"


@pytest.mark.slow
def test_kernel_ignoring_interrupts_is_killed(batch: dict[str, dict]) -> None:
    result = batch["stuck"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}
    assert "the cell ran past the 3 s limit and ignored the interrupt; the kernel was " \
        "killed" in _reasons(result)["exfix.q2"]
    assert _reasons(result)["exfix.q3"] == "not run: an earlier cell ended the kernel"


@pytest.mark.slow
def test_megabytes_of_output(batch: dict[str, dict]) -> None:
    assert _scores(batch["flood"]) == FULL


@pytest.mark.slow
def test_sys_exit_is_an_error_not_a_death(batch: dict[str, dict]) -> None:
    result = batch["sysexit"]
    assert _scores(result) == {**FULL, "exfix.q1": 0.0}
    assert _reasons(result)["exfix.q1"] == "the cell called sys.exit(0)"


@pytest.mark.slow
def test_os_exit_kills_only_the_rest(batch: dict[str, dict]) -> None:
    result = batch["osexit"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}
    assert _reasons(result)["exfix.q2"] == \
        "the cell ended the kernel (os._exit, a crash or a signal)"
    assert _reasons(result)["exfix.q3"] == "not run: an earlier cell ended the kernel"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "module"),
    [
        ("tamper_registry", "eoslib.grading.registry"),
        ("tamper_evaluate", "eoslib.grading.feedback"),
    ],
)
def test_tampering_zeroes_later_questions(batch: dict[str, dict], case: str, module: str) -> None:
    result = batch[case]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}
    for qid in ("exfix.q2", "exfix.q3"):
        assert _reasons(result)[qid].startswith("submission modified eoslib (")
        assert module in _reasons(result)[qid]


@pytest.mark.slow
def test_killing_the_grader_worker_loses_only_that_notebook(batch: dict[str, dict]) -> None:
    """In the sandbox the kernel cannot name its parent (getppid() is 0, and the kill reaches
    only its own PID namespace, whose init ignores it): the submission is graded on its
    merits. Without the sandbox the worker dies and only that notebook is lost."""
    result = batch["kill_parent"]
    if isolation():
        assert result["error"] is None and _scores(result) == FULL, result
    else:
        assert result["error"].startswith("grader worker died")
        assert result["score"] == 0 and len(result["questions"]) == 3
    assert _scores(batch["full"]) == FULL  # the others were graded by a fresh worker


@pytest.mark.slow
def test_naive_forgery_is_rejected(batch: dict[str, dict]) -> None:
    result = batch["forged_store"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 3.0}
    assert "carried a verdict (passed, reason, score)" in _reasons(result)["exfix.q2"]


@pytest.mark.slow
def test_printed_results_are_ignored(batch: dict[str, dict]) -> None:
    result = batch["fake_print"]
    assert _scores(result)["exfix.q1"] == 0.0
    assert _reasons(result)["exfix.q1"] == \
        'the check cell was deleted: no cell calls check("exfix.q1", ...)'


@pytest.mark.slow
def test_deleted_and_duplicated_cells(batch: dict[str, dict]) -> None:
    assert _scores(batch["deleted"]) == {**FULL, "exfix.q2": 0.0}
    assert _reasons(batch["deleted"])["exfix.q2"] == \
        'the check cell was deleted: no cell calls check("exfix.q2", ...)'
    assert _scores(batch["duplicated"]) == FULL


@pytest.mark.slow
def test_the_true_reason_is_the_answer_cells(batch: dict[str, dict]) -> None:
    """The check cell then fails with a NameError; the reason names what the answer did."""
    exited, looped = batch["answer_exit"], batch["answer_loop"]
    assert _scores(exited) == {**FULL, "exfix.q2": 0.0}
    assert _reasons(exited)["exfix.q2"] == f"the answer cell called sys.exit(0) (cell {CONFIG + 1})"
    assert _scores(looped) == {**FULL, "exfix.q3": 0.0}
    assert _reasons(looped)["exfix.q3"] == \
        f"the answer cell ran past the 3 s limit (cell {FUNC + 1})"


@pytest.mark.slow
def test_an_answer_defined_twice_is_noted(batch: dict[str, dict]) -> None:
    result = batch["defined_twice"]
    assert _scores(result) == FULL  # the later, right definition was graded
    assert _reasons(result)["exfix.q3"].endswith(
        f"the answer count_distinct is defined twice (cells {FUNC + 1}, {FUNC + 2}); the "
        "later one was graded")


@pytest.mark.slow
def test_plots_and_widgets_are_not_tampering(batch: dict[str, dict]) -> None:
    assert _scores(batch["plots"]) == FULL, _reasons(batch["plots"])


@pytest.mark.slow
def test_unreadable_files(batch: dict[str, dict]) -> None:
    invalid, notnb = batch["invalid"], batch["exfix-notnb"]
    assert invalid["error"].startswith("not a notebook: invalid JSON")
    assert (invalid["score"], invalid["questions"]) == (0, [])
    assert notnb["error"] == "not a notebook: JSON without a 'cells' list"
    assert notnb["exercise"] == "exfix" and notnb["max_score"] == 6.0
    assert all(q["score"] == 0 for q in notnb["questions"])


@pytest.mark.slow
def test_submissions_are_isolated(tmp_path: Path) -> None:
    """Each student gets a fresh working directory and TMPDIR: nothing leaks between them."""
    probe = (
        "import os, tempfile\n"
        "marks = ['mark.txt', os.path.join(tempfile.gettempdir(), 'mark.txt')]\n"
        "leaked = any(os.path.exists(m) for m in marks)\n"
        "for m in marks:\n"
        "    open(m, 'w').write('x')\n"
        "duplicates = 0 if leaked else 42\n"
        'check("exfix.q1", duplicates)'
    )
    paths = [make_submission(tmp_path, f"student{i}", {Q1: probe}) for i in (1, 2)]
    results = grade(paths, timeout_per_question=TIMEOUT, jobs=1)
    assert [r.score for r in results] == [6.0, 6.0], [r.to_json() for r in results]


@pytest.mark.slow
def test_grade_cli_json_and_csv(tmp_path: Path) -> None:
    path = make_submission(tmp_path, "alice-exfix", {Q1: 'check("exfix.q1", 40)'})
    gradebook = tmp_path / "grades.csv"
    cmd = [sys.executable, "-m", "eoslib.grading.cli", "grade", str(path), "--json",
           "--csv", str(gradebook), "--jobs", "1", "--timeout", "10"]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=os.environ.copy())
    assert run.returncode == 0, run.stderr
    [result] = json.loads(run.stdout)
    assert (result["score"], result["max_score"]) == (4.0, 6.0)
    rows = list(csv.reader(gradebook.open()))
    assert rows[0] == ["notebook", "exercise", "exfix.q1", "exfix.q2", "exfix.q3", "total",
                       "max_score", "error", "kernel_restarts"]  # fmt: skip
    assert rows[1][1:] == ["exfix", "0", "1", "3", "4", "6", "", "0"]
    table = subprocess.run([*cmd[:5], "--quiet", "--jobs", "1"], capture_output=True, text=True,
                           cwd=REPO, env=os.environ.copy())  # fmt: skip
    assert "✘ exfix.q1" in table.stdout and "4/6" in table.stdout


def test_output_is_capped_in_memory() -> None:
    client = _Client(nbformat.v4.new_notebook(), capped={0}, kernel_name="python3")
    client.clear_before_next_output = False  # set per cell by nbclient
    outs: list = []
    for _ in range(50):
        msg = {"msg_type": "stream", "header": {"msg_type": "stream"},
               "parent_header": {"msg_id": "m"},
               "content": {"name": "stdout", "text": "y" * 10_000}}  # fmt: skip
        client.output(outs, msg, None, 0)
    kept = sum(len(o.get("text", "")) for o in outs)
    assert kept <= OUTPUT_LIMIT + 200 and "truncated" in outs[-1]["text"]


def test_find_notebooks_dedupes(tmp_path: Path) -> None:
    path = make_submission(tmp_path, "one")
    assert find_notebooks([tmp_path, path, tmp_path / "one.ipynb"]) == [path]

