"""Nothing to copy, nothing survives: what a graded kernel can see and leave behind.

Probe submissions (exercise ``exfix``) look for the course's solutions every way a learner
might (a relative path, the package's path, ``importlib.resources``, the package metadata,
a walk of the whole file system from ``/``), for other submissions and for the grader's
own files, and try to write the grader's results; each probe raises (naming what it found)
if it succeeds, so a full score means it found nothing. The same probes run unsandboxed in
this test process find the solutions, so they do look in the right places. A planting
submission and a seeing one are graded one after the other by the same worker (the same
warm fork server): nothing the first leaves (module attributes, ``sys.modules`` entries,
files, environment variables, threads, patched eoslib) reaches the second.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_grading import ANSWERS, FULL, Q1, _env_patch, make_submission

from eoslib.grading import registry, sandbox

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sandbox.available(), reason=sandbox.NEEDS)

FIND_SOLUTIONS = r'''
import importlib.metadata, importlib.resources, os, pathlib, eoslib
found = []
def look(path):
    try:
        if os.path.isdir(path) and any(n.endswith(".ipynb") for n in os.listdir(path)):
            found.append(str(path))
        elif os.path.isfile(path):
            open(path).read(100)
            found.append(str(path))
    except OSError:
        pass
for up in ["", "..", "../..", "../../.."]:
    look(os.path.join(up, "solutions"))
    look(os.path.join(up, "solutions", "ex02-idempotence.ipynb"))
package = pathlib.Path(eoslib.__file__).resolve()
for parent in package.parents:
    look(parent / "solutions")
resources = importlib.resources.files("eoslib")
look(str(resources / ".." / "solutions"))
look(str(resources.joinpath("..", "solutions", "ex02-idempotence.ipynb")))
try:
    for entry in importlib.metadata.distribution("eoslib").files or []:
        if "solutions" in str(entry):
            look(str(entry.locate()))
    url = importlib.metadata.distribution("eoslib").read_text("direct_url.json") or ""
    if "file://" in url:
        look(os.path.join(url.split("file://")[1].split('"')[0], "solutions"))
except importlib.metadata.PackageNotFoundError:
    pass
'''
WALK = r'''
import os
mine = {os.path.realpath(n) for n in os.listdir(".")}
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not (top == "/" and d in ("proc", "sys", "dev"))]
    for name in files:
        path = os.path.realpath(os.path.join(top, name))
        if (name.endswith(".ipynb") and os.path.basename(path) not in mine) \
                or "eoslib-originals" in path or name == "grades.csv":
            found.append(path)
    if os.path.basename(top) == "solutions":
        found.append(top)
'''
WRITE_GRADEBOOK = "open(GRADEBOOK, 'w').write('forged')\n"
WRITE_PACKAGE = "import eoslib\nopen(eoslib.__file__, 'a').write('forged')\n"
PLANT = r'''
import os, sys, threading, time, types, eoslib, eoslib.producer_state
import eoslib.grading.registry as reg
eoslib.PLANTED = 1
sys.modules["eoslib.planted"] = types.ModuleType("eoslib.planted")
sys.modules["colorsys"] = types.ModuleType("colorsys")
eoslib.producer_state.kafka_duplicate_check = lambda entry, batch: None
reg._REGISTRY.pop("exfix.q2", None)
os.environ["PLANTED"] = "1"
for place in ["/tmp/planted", "/dev/shm/planted", os.path.expanduser("~/planted"),
              "../planted", "planted"]:
    try:
        open(place, "w").write("x")
    except OSError:
        pass
threading.Thread(target=time.sleep, args=(1000,), name="planted", daemon=True).start()
'''
SEE = r'''
import os, sys, threading, eoslib, eoslib.producer_state
import eoslib.grading.registry as reg
seen = [what for what, there in [
    ("module attribute", hasattr(eoslib, "PLANTED")),
    ("sys.modules entry", "eoslib.planted" in sys.modules),
    ("sys.modules patch", getattr(sys.modules.get("colorsys"), "__file__", None) is None
                          and "colorsys" in sys.modules),
    ("patched eoslib", eoslib.producer_state.kafka_duplicate_check.__name__
                       != "kafka_duplicate_check"),
    ("registry", "exfix.q2" not in reg._REGISTRY),
    ("environment", "PLANTED" in os.environ),
    ("thread", any(t.name == "planted" for t in threading.enumerate())),
] + [(f"file {p}", os.path.exists(p)) for p in ["/tmp/planted", "/dev/shm/planted",
     os.path.expanduser("~/planted"), "../planted", "planted"]] if there]
assert not seen, seen
'''


def _probe(body: str) -> str:
    return ("found, tried = [], []\n" + body
            + "\nassert not found, found\n")  # fmt: skip


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("probes")
    gradebook = folder.parent / "grades.csv"
    with pytest.MonkeyPatch.context() as mp:
        _env_patch(mp)
        for name, body in [("find", FIND_SOLUTIONS), ("walk", FIND_SOLUTIONS + WALK)]:
            make_submission(folder, name, insert={Q1: _probe(body)})
        write = WRITE_GRADEBOOK.replace("GRADEBOOK", repr(str(gradebook)))
        make_submission(folder, "write-gradebook", edits={Q1: write + ANSWERS[Q1]})
        make_submission(folder, "write-package", edits={Q1: WRITE_PACKAGE + ANSWERS[Q1]})
        seq = folder / "sequence"
        seq.mkdir()
        make_submission(seq, "a-plant", insert={Q1: PLANT})
        make_submission(seq, "b-see", insert={Q1: SEE})
        run = subprocess.run(
            [sys.executable, "-m", "eoslib.grading.cli", "grade", str(folder), "--json",
             "--csv", str(gradebook), "--jobs", "1", "--timeout", "120", "--quiet"],
            capture_output=True, text=True, cwd=REPO, env=os.environ.copy())  # fmt: skip
        for question in list(registry.questions_for("exfix")):
            registry.unregister(question.id)
    assert run.returncode == 0, run.stderr
    results = {Path(r["notebook"]).stem: r for r in json.loads(run.stdout)}
    results["gradebook"] = {"rows": list(csv.reader(gradebook.open()))}
    return results


def _scores(result: dict) -> dict[str, float]:
    return {q["id"]: q["score"] for q in result["questions"]}


def test_the_probes_find_the_solutions_without_the_sandbox() -> None:
    """The control: run here, the same code finds the checkout's solutions."""
    namespace: dict = {}
    exec(compile("found, tried = [], []\n" + FIND_SOLUTIONS, "<probe>", "exec"), namespace)
    assert any("solutions" in path for path in namespace["found"]), namespace["found"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["find", "walk"])
def test_no_solutions_no_submissions_no_grader_files(probes: dict[str, dict],
                                                      case: str) -> None:
    result = probes[case]
    assert _scores(result) == FULL, result


@pytest.mark.slow
def test_writing_the_grader_results_scores_zero_and_changes_nothing(
        probes: dict[str, dict]) -> None:
    """The gradebook's path is not in the sandbox; the staged package is read-only."""
    gradebook = probes["gradebook"]["rows"]
    for case, errors in [("write-gradebook", ["FileNotFoundError: [Errno 2] No such file"]),
                         ("write-package", ["PermissionError: [Errno 13] Permission denied",
                                            "OSError: [Errno 30] Read-only file system"])]:
        result = probes[case]
        assert _scores(result) == {**FULL, "exfix.q1": 0.0}, result
        reason = result["questions"][0]["reason"]
        assert any(reason.startswith(f"cell raised {error}") for error in errors), reason
        target = "grades.csv" if case == "write-gradebook" else "eoslib/__init__.py"
        assert target in reason
    assert gradebook[0][:2] == ["notebook", "exercise"] and len(gradebook) == 1 + 6
    assert all("forged" not in cell for row in gradebook for cell in row)


@pytest.mark.slow
def test_nothing_one_submission_plants_reaches_the_next(probes: dict[str, dict]) -> None:
    assert _scores(probes["b-see"]) == FULL, probes["b-see"]
    planted = probes["a-plant"]
    assert _scores(planted)["exfix.q2"] == 0.0  # it tampered with eoslib: reported
    assert "submission modified eoslib" in planted["questions"][1]["reason"]
