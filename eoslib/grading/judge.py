"""The judge: grade one answer in a process that never ran the submission's notebook.

The grader's fork server (:mod:`eoslib.grading.forkserver`) forks a fresh judge from its
pristine, pre-imported interpreter for every answer. :func:`judge` screens the answer
(:mod:`eoslib.grading.vet`), rebuilds it (:mod:`eoslib.grading.rebuild`), runs the
question's own grading function on it (with the borrowed-reference checks of
:func:`eoslib.grading.feedback.evaluate`) and compares the integrity fingerprint taken before
and after. The verdict it returns is the only verdict the grader scores: nothing the kernel
that ran the notebook says is read as one.
"""

from __future__ import annotations

from typing import Any

from . import feedback, limits, registry, vet
from .fingerprint import changed_keys, fingerprint
from .rebuild import Malformed, decode

NOT_GRADED = "the answer was not graded: "
#: the fingerprint of the pristine warm interpreter (:func:`prepare`); every judge forked from
#: it starts in exactly that state, so it compares with this instead of taking its own
_PRISTINE: dict[str, str] | None = None


def prepare() -> None:
    """In the grader's warm interpreter, once, before it forks any judge: compute every
    question's reference results (``grade.reference()``: the expected numbers of measure
    questions, from seeded runs), so that no judge runs them again, then take the pristine
    fingerprint the judges compare against."""
    global _PRISTINE
    for question in registry.load_all().values():
        reference = getattr(question.grade, "reference", None)
        if callable(reference):
            try:
                reference()
            except Exception:  # noqa: BLE001 - not kept: the judge meets it and reports it
                pass
    _PRISTINE = fingerprint()


def _verdict(passed: bool, score: float, reason: str) -> dict[str, Any]:
    return {"passed": bool(passed), "score": float(score), "reason": str(reason)[:1000]}


def _fail(reason: str) -> dict[str, Any]:
    return _verdict(False, 0.0, reason)


def _raised(exc: BaseException, when: str) -> str:
    message = str(exc).strip().splitlines()
    shown = f"{type(exc).__name__}: {message[0][:200]}" if message else type(exc).__name__
    return f"the answer raised {shown} {when}"


def judge(question_id: str, encoding: Any, *, memory_limit: int = limits.MEMORY_LIMIT,
          label: str = "answer") -> dict[str, Any]:
    """``{"passed", "score", "reason"}`` for one encoded answer to ``question_id``."""
    try:
        question = registry.get(question_id)
    except KeyError as exc:
        return _fail(str(exc.args[0]) if exc.args else "unknown question id")
    try:
        vet.check_encoding(encoding)
    except vet.Refused as refused:
        return _fail(f"{NOT_GRADED}{refused} (answers run in the judge must keep to the rules "
                     "of eoslib.grading.vet)")
    baseline = _PRISTINE if _PRISTINE is not None else fingerprint()
    try:
        answer = decode(encoding, label)
    except Malformed as exc:
        return _fail(f"{NOT_GRADED}malformed answer ({exc})")
    except MemoryError:
        return _fail(limits.memory_reason(memory_limit))
    except BaseException as exc:  # noqa: BLE001 - the answer's definitions ran and failed
        return _fail(_raised(exc, "while its definitions were rebuilt"))
    try:
        verdict = feedback.evaluate(question, answer)
    except MemoryError:
        return _fail(limits.memory_reason(memory_limit))
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from the answer
        return _fail(_raised(exc, "when graded"))
    changed = changed_keys(baseline, fingerprint())
    if changed:
        shown = ", ".join(changed[:4]) + (", ..." if len(changed) > 4 else "")
        return _fail(f"the answer modified eoslib while it was graded ({shown})")
    if not verdict.passed and verdict.reason.startswith("MemoryError"):
        return _fail(limits.memory_reason(memory_limit))
    reason = verdict.reason or ("" if verdict.passed else "not the expected answer")
    return _verdict(verdict.passed, verdict.score, reason)
