"""Exercise 6: a crash aborts the open transaction; what the loop does with each error.

Concept notebooks: ``notebooks/06-crash-aborts.ipynb`` and ``06b-fencing-zombies.ipynb``.

* q1 (configure, explained): the setting that links a restarted instance to the old one;
* q2 (implement): ``on_error(stage, error)``, the transactional loop's error handling: which
  of "retry_commit", "abort_and_rewind" or "close" to do for an error raised at a stage of
  the loop. The errors are the ones the simulated producer raises (``eoslib/producer.py``).
  (ex05.q2 already grades a whole loop; this question grades the decision alone, case by
  case, so a plausible wrong rule, such as aborting after a commit timeout, cannot pass.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib.errors import KafkaError
from eoslib.exercises._common import explained_setting, raised
from eoslib.grading.questions import Question, Verdict

#: The actions ``on_error`` may return.
ACTIONS = ("retry_commit", "abort_and_rewind", "close")
#: The stages of the loop an error can be raised at.
STAGES = ("produce", "send_offsets_to_transaction", "commit_transaction")


def _cases() -> list[tuple[str, KafkaError, str]]:
    """(stage, error as the simulated producer raises it, why it matters) per case."""
    fenced = KafkaError("_FENCED", "PRODUCER_FENCED: a newer instance has this "
                        "transactional.id", fatal=True)
    return [
        ("commit_transaction", KafkaError("_TIMED_OUT", "commit_transaction timed out",
                                          retriable=True),
         "the commit's outcome is unknown: the coordinator may already have decided it"),
        ("produce", KafkaError("INVALID_PRODUCER_EPOCH", txn_requires_abort=True),
         "this transaction can no longer commit, but the producer is still usable"),
        ("send_offsets_to_transaction", KafkaError("UNKNOWN_MEMBER_ID",
                                                    txn_requires_abort=True),
         "the group rejected the offsets (KIP-447); the batch was not processed for good"),
        ("commit_transaction", KafkaError("INVALID_PRODUCER_EPOCH", txn_requires_abort=True),
         "this transaction can no longer commit, but the producer is still usable"),
        ("commit_transaction", fenced,
         "a newer instance owns this transactional.id: this one is a zombie"),
        ("produce", fenced, "a fatal error is fatal at every stage"),
        ("commit_transaction", KafkaError("INVALID_TXN_STATE", retriable=False),
         "an error that is neither retriable, abortable nor fatal: librdkafka's "
         "INTRODUCTION.md says how to treat it"),
    ]


def _describe(stage: str, error: KafkaError) -> str:
    flags = [name for name, on in (("fatal", error.fatal()), ("retriable", error.retriable()),
                                   ("txn_requires_abort", error.txn_requires_abort())) if on]
    return f"{stage}() raising {error.name()} ({', '.join(flags) or 'no flags'})"


def _expected(stage: str, error: KafkaError) -> str:
    if error.fatal():
        return "close"
    if error.txn_requires_abort():
        return "abort_and_rewind"
    if error.retriable():
        return "retry_commit"
    return "close"


def error_handling_grader() -> Callable[[Any], Verdict]:
    """Grade ``on_error(stage, error) -> action`` on every case of :func:`_cases`."""

    def grade(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict.fail(f"expected a function on_error(stage, error), got "
                                f"{type(answer).__name__}")
        for stage, error, why in _cases():
            where = _describe(stage, error)
            try:
                got = answer(stage, error)
            except Exception as exc:  # noqa: BLE001 - any failure of the learner's code
                return raised(where, exc, "on_error")
            if got not in ACTIONS:
                return Verdict.fail(f"on {where}: returned {got!r}; expected one of "
                                    f"{', '.join(ACTIONS)}")
            if got != _expected(stage, error):
                return Verdict.fail(f"wrong action for {where}: {got!r}. Think about it: {why}.")
        return Verdict.ok(f"right action for all {len(_cases())} errors")

    return grade


QUESTIONS = [
    Question("ex06.q1", "Who fences whom", 1, "configure",
             explained_setting(["transactional.id"]),
             hint="the coordinator finds the old instance's transaction by a producer "
                  "setting that both instances share"),
    Question("ex06.q2", "What to do with each error", 4, "implement",
             error_handling_grader(),
             hint="read the error's flags: fatal(), txn_requires_abort(), retriable(); and "
                  "ask whether the transaction's outcome is known"),
]
