"""Hostile submissions graded in ONE run: each gets its exact score and reason, the others
keep theirs, and no process is left behind.

Uses the test-only exercise ``exfix`` (see tests/test_grading.py): q1 (2 points, a measured
number), q2 (1 point, a config), q3 (3 points, a function). The grader's own limits are in
:mod:`eoslib.grading.limits`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_grading import CONFIG, Q1, _env_patch, make_submission

from eoslib.grading import limits, registry
from eoslib.grading.runner import grade, isolation
from eoslib.grading.submission import MAX_BYTES, MAX_CODE_CELLS

TIMEOUT = 5.0
FULL = {"exfix.q1": 2.0, "exfix.q2": 1.0, "exfix.q3": 3.0}
ANSWER_Q1 = 'duplicates = 42\ncheck("exfix.q1", duplicates)'

MEMORY_BOMB = (
    """def grow():
    blocks = []
    while True:
        blocks.append(bytes(100_000_000))
grow()
"""
    + ANSWER_Q1
)
CHILD = 'import subprocess\nsubprocess.Popen(["sleep", "1000"])\n' + ANSWER_Q1
SESSION_CHILD = (
    'import subprocess\nsubprocess.Popen(["sleep", "1001"], start_new_session=True)\n' + ANSWER_Q1
)
THREAD = """import threading, time
import eoslib.grading.registry as reg
from eoslib.grading import Question, Verdict
fake = Question("exfix.q3", "free", 3, "implement", lambda a: Verdict.ok())
def keep_patching():
    while True:
        reg._REGISTRY["exfix.q3"] = fake
        time.sleep(0.001)
threading.Thread(target=keep_patching, daemon=True).start()
time.sleep(0.2)
config = {"acks": "all", "enable.idempotence": True}"""
PATCH_CHECKER = """import eoslib.checker
eoslib.checker.check = lambda *args, **kwargs: None
config = {"acks": "all", "enable.idempotence": True}"""
FLOOD = 'for _ in range(50):\n    print("x" * 1_000_000)\n' + ANSWER_Q1


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Grade every hostile submission (and well-behaved ones around them) in one run."""
    folder = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as mp:
        _env_patch(mp)
        victim = make_submission(folder, "victim")
        writer = (
            f"open({str(victim)!r}, 'w').write('{{}}')\n"
            f"open({str(folder / 'victim-extra.txt')!r}, 'w').write('x')\n" + ANSWER_Q1
        )
        cases = {
            "full": {},
            "name with spaces": {},
            "ünïcødé-名前": {},
            "-leading-dash": {},
            "memory": {"edits": {Q1: MEMORY_BOMB}},
            "child": {"edits": {Q1: CHILD}},
            "session-child": {"edits": {Q1: SESSION_CHILD}},
            "thread": {"edits": {CONFIG: THREAD}},
            "patch-checker": {"edits": {CONFIG: PATCH_CHECKER}},
            "writer": {"edits": {Q1: writer}},
            "flood": {"edits": {Q1: FLOOD}},
        }
        for name, spec in cases.items():
            make_submission(folder, name, **spec)
        (folder / "exfix-script.ipynb").write_text("import os\nprint(os.getcwd())\n")
        many = make_submission(folder, "exfix-many")
        text = many.read_text(encoding="utf-8")
        cell = '{"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = 1"}'
        many.write_text(
            text.replace('"cells": [', '"cells": [' + (cell + ", ") * 10_000, 1), encoding="utf-8"
        )
        with open(folder / "exfix-huge.ipynb", "wb") as handle:
            handle.truncate(MAX_BYTES + 1)  # sparse: costs no disk
        started = time.monotonic()
        results = grade([folder], timeout_per_question=TIMEOUT, jobs=2)
        print(f"\ngraded {len(results)} hostile notebooks in {time.monotonic() - started:.1f} s")
        for question in list(registry.questions_for("exfix")):
            registry.unregister(question.id)
    return {Path(r.notebook).stem: r.to_json() for r in results}


def _scores(result: dict) -> dict[str, float]:
    return {q["id"]: q["score"] for q in result["questions"]}


def _reasons(result: dict) -> dict[str, str]:
    return {q["id"]: q["reason"] for q in result["questions"]}


@pytest.mark.slow
def test_well_behaved_and_odd_names_keep_full_marks(hostile: dict[str, dict]) -> None:
    for name in ("full", "name with spaces", "ünïcødé-名前", "-leading-dash"):
        assert _scores(hostile[name]) == FULL, (name, hostile[name])
        assert hostile[name]["error"] is None
        # graded at the same time as the writer, a submission may be named as a suspect
        assert all(f.startswith("while this submission was graded") for f in hostile[name]["flags"])


@pytest.mark.slow
def test_memory_bomb_hits_the_limit_on_its_question(hostile: dict[str, dict]) -> None:
    result = hostile["memory"]
    assert _scores(result) == {**FULL, "exfix.q1": 0.0}, result
    assert _reasons(result)["exfix.q1"] == "used more than 2 GB of memory"


@pytest.mark.slow
@pytest.mark.parametrize(("case", "command"), [("child", "sleep 1000"),
                                               ("session-child", "sleep 1001")])  # fmt: skip
def test_surviving_child_process_is_killed_and_reported(
    hostile: dict[str, dict], case: str, command: str
) -> None:
    result = hostile[case]
    assert _scores(result) == {**FULL, "exfix.q1": 0.0}, result
    reason = _reasons(result)["exfix.q1"]
    assert reason.startswith("a process it started was still running (pid "), reason
    assert reason.endswith(f": {command}); the grader killed it"), reason


@pytest.mark.slow
def test_background_thread_mutating_the_registry(hostile: dict[str, dict]) -> None:
    result = hostile["thread"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}, result
    for qid in ("exfix.q2", "exfix.q3"):
        reason = _reasons(result)[qid]
        assert reason.startswith("submission modified eoslib (") and "registry" in reason


@pytest.mark.slow
def test_monkeypatching_the_checker(hostile: dict[str, dict]) -> None:
    result = hostile["patch-checker"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}, result
    assert "eoslib.checker" in _reasons(result)["exfix.q2"]


@pytest.mark.slow
def test_writing_into_another_submission(hostile: dict[str, dict]) -> None:
    victim, writer = hostile["victim"], hostile["writer"]
    assert _scores(victim) == FULL  # graded from the copy taken before grading
    if isolation():  # the sandbox shows the kernel no other file: the write fails
        assert _scores(writer) == {**FULL, "exfix.q1": 0.0}, writer
        assert _reasons(writer)["exfix.q1"] == (
            "cell raised FileNotFoundError: [Errno 2] No such file or directory: "
            f"'{victim['notebook']}'")
        assert victim["flags"] == [] and writer["flags"] == []
        return
    assert _scores(writer) == FULL  # writing is not scored; it is flagged
    [flag] = victim["flags"]
    assert flag.startswith("the original file was modified while the class was graded")
    assert writer["notebook"] in flag
    assert any("another submission's file changed" in f for f in writer["flags"])


@pytest.mark.slow
def test_fifty_megabytes_of_output_stay_on_their_question(hostile: dict[str, dict]) -> None:
    result = hostile["flood"]
    assert {k: v for k, v in _scores(result).items() if k != "exfix.q1"} == {
        "exfix.q2": 1.0, "exfix.q3": 3.0}  # fmt: skip
    assert result["error"] is None


@pytest.mark.slow
def test_files_that_are_not_notebooks_get_one_line(hostile: dict[str, dict]) -> None:
    script, many, huge = hostile["exfix-script"], hostile["exfix-many"], hostile["exfix-huge"]
    assert script["error"].startswith("not a notebook: invalid JSON")
    assert many["error"] == (
        f"the notebook has 10006 code cells; the grader runs at most {MAX_CODE_CELLS}"
    )
    assert huge["error"] == f"file is larger than {MAX_BYTES // 1_000_000} MB"
    for result in (script, many, huge):
        assert result["score"] == 0 and result["max_score"] == 6.0
        assert result["seconds"] < 5, result


@pytest.mark.slow
def test_no_process_left_behind(hostile: dict[str, dict]) -> None:
    """No descendant of this test process, and none of the children the submissions started.

    (Other graders may run on the machine at the same time, so marked kernels in general
    are not counted; the ``sleep 100x`` children escaped their kernel's session or not.)
    """
    assert hostile  # the run is over
    stats = {
        int(e.name): limits._stat(int(e.name)) for e in os.scandir("/proc") if e.name.isdigit()
    }
    table = {pid: stat for pid, stat in stats.items() if stat is not None and stat[0] != "Z"}
    mine = [pid for pid in table if limits._descends(pid, os.getpid(), table)]
    assert mine == [], [limits._command(pid) for pid in mine]
    sleepers = [pid for pid in table if limits._command(pid) in ("sleep 1000", "sleep 1001")
                and _marked(pid)]  # fmt: skip
    assert sleepers == []


def _marked(pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return any(v.startswith(limits.MARKER_VARIABLE.encode() + b"=") for v in environ.split(b"\0"))


@pytest.mark.slow
def test_class_report_of_the_hostile_run(hostile: dict[str, dict], tmp_path: Path) -> None:
    from eoslib.grading.html_report import flagged, write_report
    from eoslib.grading.results import NotebookGrade

    grades = [NotebookGrade.from_json(r) for r in hostile.values()]
    assert all(g is not None for g in grades)
    whats = {(Path(n).stem, w) for n, w, _ in flagged(grades)}  # type: ignore[arg-type]
    for expected in [
        ("memory", "exfix.q1: hit the memory limit"),
        ("child", "exfix.q1: left a process running"),
        ("thread", "exfix.q2: modified eoslib while graded"),
        ("exfix-script", "not graded"),
    ] + ([] if isolation() else [("victim", "flag")]):
        assert expected in whats, expected
    write_report(grades, tmp_path / "report.html")  # type: ignore[arg-type]
    assert "used more than 2 GB of memory" in (tmp_path / "report.html").read_text()
