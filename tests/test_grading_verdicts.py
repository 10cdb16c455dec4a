"""Verdicts come from the grader's judge, never from the kernel that ran the notebook.

Kernel-side forgeries (the answer store, a replayed "passed" message, a patched channel) are
graded in one run of real kernels; the judge's own rules (answers that reach for the
grader) and the answer encoding are tested in-process through a real fork server. The
encoding is checked against every solution notebook in ``solutions/`` as it is today.
"""

from __future__ import annotations

import linecache
from pathlib import Path
from typing import Any

import pytest
from test_grading import CONFIG, FULL, Q2, _env_patch, make_submission

from eoslib.grading import registry
from eoslib.grading.answers import AnswerError, encode
from eoslib.grading.forkserver import ForkServer
from eoslib.grading.measure import solution_answers
from eoslib.grading.rebuild import decode
from eoslib.grading.runner import grade
from eoslib.grading.session import MIMETYPE

REPO = Path(__file__).resolve().parents[1]
MEMORY = 2 * 1024**3
WRONG = 'config = {"acks": "1"}'

FORGE_STORE = """import eoslib.grading.session as s
s._STORE.append({"id": "exfix.q2", "passed": True, "score": 1.0, "reason": "",
                 "fingerprint": s.fingerprint()})
check("exfix.q2", config)"""
REPLAY_PASSED = f"""from IPython.display import publish_display_data
publish_display_data({{{MIMETYPE!r}: {{"nonce": "5f" * 16, "fingerprint": {{}},
    "records": [{{"id": "exfix.q2", "passed": True, "score": 1.0, "reason": ""}}]}}}})
check("exfix.q2", config)"""
REPLAY_ANSWER = f"""from IPython.display import publish_display_data
right = {{"dict": [["acks", "all"], ["enable.idempotence", True]]}}
publish_display_data({{{MIMETYPE!r}: {{"nonce": "5f" * 16, "fingerprint": {{}},
    "records": [{{"id": "exfix.q2", "answer": right}}]}}}})
check("exfix.q2", config)"""
PATCH_CHANNEL = f"""import IPython.display as display
original = display.publish_display_data
def publish_display_data(data, *args, **kwargs):
    for record in (data.get({MIMETYPE!r}) or {{}}).get("records") or []:
        record.update(passed=True, score=1.0, reason="")
    return original(data, *args, **kwargs)
display.publish_display_data = publish_display_data
check("exfix.q2", config)"""

CASES: dict[str, dict[str, Any]] = {
    "full": {},
    "forge_store": {"edits": {CONFIG: WRONG, Q2: FORGE_STORE}},
    "replay_passed": {"edits": {CONFIG: WRONG, Q2: REPLAY_PASSED}},
    "replay_answer": {"edits": {CONFIG: WRONG, Q2: REPLAY_ANSWER}},
    "patch_channel": {"edits": {CONFIG: WRONG, Q2: PATCH_CHANNEL}},
}


@pytest.fixture(scope="module")
def forged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("forged")
    with pytest.MonkeyPatch.context() as mp:
        _env_patch(mp)
        for name, spec in CASES.items():
            make_submission(folder, name, **spec)
        results = grade([folder], timeout_per_question=10, jobs=2)
        for question in list(registry.questions_for("exfix")):
            registry.unregister(question.id)
    return {Path(r.notebook).stem: r.to_json() for r in results}


def _scores(result: dict) -> dict[str, float]:
    return {q["id"]: q["score"] for q in result["questions"]}


def _reason(result: dict, qid: str) -> str:
    return next(q["reason"] for q in result["questions"] if q["id"] == qid)


@pytest.mark.slow
def test_an_honest_submission_is_judged_in_full(forged: dict[str, dict]) -> None:
    assert _scores(forged["full"]) == FULL, forged["full"]


@pytest.mark.slow
def test_forging_the_answer_store_scores_zero(forged: dict[str, dict]) -> None:
    result = forged["forge_store"]
    assert _scores(result) == {**FULL, "exfix.q2": 0.0}, result
    reason = _reason(result, "exfix.q2")
    assert "carried a verdict (passed, reason, score)" in reason
    assert "eoslib.grading.session" in reason


@pytest.mark.slow
@pytest.mark.parametrize("case", ["replay_passed", "replay_answer"])
def test_replaying_a_grader_message_scores_zero(forged: dict[str, dict], case: str) -> None:
    result = forged[case]
    assert _scores(result) == {**FULL, "exfix.q2": 0.0}, result
    reason = _reason(result, "exfix.q2")
    assert "a replay or forgery of the grader's channel" in reason
    assert ("claiming 'passed'" in reason) == (case == "replay_passed")


@pytest.mark.slow
def test_patching_the_channel_scores_zero(forged: dict[str, dict]) -> None:
    result = forged["patch_channel"]
    assert _scores(result) == {"exfix.q1": 2.0, "exfix.q2": 0.0, "exfix.q3": 0.0}, result
    for qid in ("exfix.q2", "exfix.q3"):  # the patch rewrote every record after it
        assert "carried a verdict" in _reason(result, qid)
        assert "patched its channel" in _reason(result, qid)


# ---------------------------------------------------------------------------------------
# the judge, in-process (a real fork server, no kernel)
# ---------------------------------------------------------------------------------------


def notebook_namespace(cells: list[str], tag: str) -> dict[str, Any]:
    """Run cell sources as a notebook would (module ``__main__``, sources in linecache)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for number, source in enumerate(cells):
        filename = f"<{tag} cell {number}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - test notebook
    return namespace


@pytest.fixture(scope="module")
def judges():
    with pytest.MonkeyPatch.context() as mp:
        _env_patch(mp)
        with ForkServer() as server:
            yield server


def _judge(judges: ForkServer, cells: list[str], name: str, qid: str = "exfix.q3") -> dict:
    answer = notebook_namespace(cells, f"{qid}-{name}")[name]
    return judges.judge(qid, encode(answer), timeout=20, memory=MEMORY)


def test_every_solution_answer_passes_through_the_judge(judges: ForkServer) -> None:
    """Each solution notebook's answers, encoded as a kernel would, pass in the judge."""
    solutions = sorted((REPO / "solutions").glob("*.ipynb"))
    assert solutions
    judged = 0
    for path in solutions:
        for qid, encoded in solution_answers(path):
            verdict = judges.judge(qid, encoded, timeout=60, memory=MEMORY)
            assert verdict["passed"], (path.name, qid, verdict)
            judged += 1
    assert judged >= len(solutions)


@pytest.mark.parametrize(("source", "expected"), [
    ("import eoslib.grading.registry as r\ndef count_distinct(values):\n"
     "    return len(r.questions_for('exfix'))",
     "the module eoslib.grading.registry is not allowed"),
    ("def count_distinct(values):\n    import sys\n    return len(sys.modules)",
     "the module sys is not allowed"),
    ("def count_distinct(values):\n    return len(set(values)) + 0 * len(values.__class__.mro())",
     "it uses .__class__"),
    ("def count_distinct(values):\n    import dataclasses\n"
     "    return len(dataclasses.sys.modules)", "it reaches the module sys"),
    ("def count_distinct(values):\n    return eval('len(set(values))')", "it uses eval"),
    ("def count_distinct(values):\n    import operator\n"
     "    return operator.attrgetter('__globals__')(count_distinct)",
     "it spells a dunder name in a string"),
    ("import eoslib.scenarios as sc\ndef count_distinct(values):\n"
     "    sc.SCENARIOS.clear()\n    return len(set(values))",
     "it uses sc.SCENARIOS, a table eoslib itself reads"),
    ("from eoslib.grading import registry\ndef count_distinct(values):\n"
      "    return len(registry.questions_for('exfix'))",
     "the module eoslib.grading.registry is not allowed"),
])  # fmt: skip
def test_answers_that_reach_for_the_grader_are_refused(judges: ForkServer, source: str,
                                                       expected: str) -> None:
    verdict = _judge(judges, [source], "count_distinct")
    assert verdict["score"] == 0 and expected in verdict["reason"], verdict
    assert verdict["reason"].startswith("the answer was not graded: ")


def test_an_answer_that_exits_or_loops_in_the_judge(judges: ForkServer) -> None:
    exits = _judge(judges, ["def count_distinct(values):\n    raise SystemExit(0)"],
                   "count_distinct")
    assert exits["score"] == 0
    assert exits["reason"] == "the answer raised SystemExit: 0 when graded"
    loop = notebook_namespace(["def count_distinct(values):\n    while True:\n        pass"],
                              "loop")["count_distinct"]
    verdict = judges.judge("exfix.q3", encode(loop), timeout=1, memory=MEMORY)
    assert verdict == {"passed": False, "score": 0.0,
                       "reason": "the answer ran past the 1 s limit when graded"}  # fmt: skip
    ok = _judge(judges, ["def count_distinct(values):\n    return len(set(values))"],
                "count_distinct")
    assert ok["passed"]  # the server carries on after a judge was killed


def test_closures_lambdas_classes_and_helpers_survive_the_trip(judges: ForkServer) -> None:
    cells = [
        "from collections import Counter\nLIMIT = 3\n",
        "def helper(values):\n    return Counter(values)\n",
        "def make():\n    seen = set()\n    def count(values):\n"
        "        seen.clear()\n        seen.update(helper(values))\n"
        "        return min(len(seen), 10 * LIMIT)\n    return count\ncounter = make()\n",
        "class Counting:\n    def __init__(self):\n        self._n = 0\n"
        "    def __call__(self, values):\n        self._n += 1\n        return len(set(values))\n"
        "instance = Counting()\n",
        "pick = lambda values: len(set(values))\n",
    ]
    namespace = notebook_namespace(cells, "shapes")
    for name in ("counter", "instance", "pick"):
        verdict = judges.judge("exfix.q3", encode(namespace[name]), timeout=20, memory=MEMORY)
        assert verdict["passed"], (name, verdict)


def test_data_round_trip() -> None:
    import collections

    values = [None, True, 3, -2.5, float("inf"), "é", b"\x00\xff", [1, (2, 3)], {1, 2},
              frozenset({"a"}), {"k": {"n": [1]}, 2: None}, collections.deque([1, 2], 5),
              collections.Counter("aab"), ...]  # fmt: skip
    for value in values:
        assert decode(encode(value)) == value, value
    nan = decode(encode(float("nan")))
    assert nan != nan
    with pytest.raises(AnswerError, match="cannot send"):
        encode(object())


def test_a_submission_cannot_make_the_grader_judge_without_end() -> None:
    """Each cell's last answer is judged; at most MAX_JUDGED different answers per question,
    identical ones once (a submission that answers in hundreds of cells stays cheap)."""
    from eoslib.grading.execute import CellRun, Execution
    from eoslib.grading.single import MAX_JUDGED, judge_records

    class Counting:
        calls: list[tuple[str, Any]] = []

        def judge(self, question: str, answer: Any, **kwargs: Any) -> dict:
            self.calls.append((question, answer))
            return {"passed": True, "score": 1.0, "reason": ""}

    answers = [1, 2, 2, 3, 4, 5, 6, 7]
    cells = [CellRun(i, status="ok", records=[{"id": "exfix.q1", "answer": 0},
                                               {"id": "exfix.q1", "answer": a}])
             for i, a in enumerate(answers)]  # fmt: skip
    judges = Counting()
    judge_records(Execution(cells=cells), judges, 20, MEMORY)  # type: ignore[arg-type]
    assert [a for _, a in judges.calls] == [1, 2, 3, 4, 5][:MAX_JUDGED]
    reasons = [run.records[-1]["verdict"]["reason"] for run in cells]
    assert reasons[:6] == [""] * 6 and all(r.startswith("not judged: ") for r in reasons[6:])
    assert all("verdict" not in run.records[0] for run in cells)  # superseded in its cell


@pytest.mark.slow
def test_the_class_report_flags_every_attempt(forged: dict[str, dict]) -> None:
    from eoslib.grading.html_report import flagged
    from eoslib.grading.results import NotebookGrade

    grades = [NotebookGrade.from_json(r) for r in forged.values()]
    whats = {(Path(n).stem, w) for n, w, _ in flagged(grades)}  # type: ignore[arg-type]
    for expected in [("forge_store", "exfix.q2: forged a verdict"),
                     ("replay_passed", "exfix.q2: replayed or forged a grader message"),
                     ("replay_answer", "exfix.q2: replayed or forged a grader message"),
                     ("patch_channel", "exfix.q2: forged a verdict")]:  # fmt: skip
        assert expected in whats, (expected, whats)
    assert not any(name == "full" for name, _ in whats)
