"""Exercise 6: after a failed transaction: who is fenced, and what the loop does with each error.

Concept notebooks: ``notebooks/06-crash-aborts.ipynb`` and ``06b-fencing-zombies.ipynb``.

* q1 (configure, explained): the setting that links a restarted instance to the old one;
* q2 (implement): ``on_error(stage, error)``, the transactional loop's error handling under
  librdkafka's rules (``INTRODUCTION.md``, "Transactional Producer", "Error handling";
  ``rdkafka.h``): ``"retry_same_call"`` for a retriable error at any stage,
  ``"abort_and_rewind"`` for an abortable one, ``"close_producer"`` for a fatal one or one
  with no flag. Graded case by case, so a plausible wrong rule (abort after a commit timeout,
  retry only the commit, retry a fenced producer) cannot pass;
* q3 (measure, the mechanism): the epoch the replacement's ``init_transactions()`` gets when
  it fences a zombie that holds epoch 0 (``zombie-fencing``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib.errors import KafkaError
from eoslib.exercises._common import explained_setting, measured, raised
from eoslib.grading.questions import Question, Verdict
from eoslib.scenarios import run_scenario

#: The actions ``on_error`` may return, named for what the loop does.
ACTIONS = ("retry_same_call", "abort_and_rewind", "close_producer")
#: The calls of the loop an error can be raised by.
STAGES = ("produce", "send_offsets_to_transaction", "commit_transaction", "abort_transaction")
#: q3's run: an instance pauses inside a transaction; its replacement shares the
#: transactional.id.
ZOMBIE: dict[str, Any] = {"seed": 1, "config": {"transactions": True}}


def _cases() -> list[tuple[str, KafkaError, str]]:
    """(stage, error as librdkafka flags it, what the loop should think about) per case."""
    fenced = KafkaError("_FENCED", "PRODUCER_FENCED: a newer instance has this "
                        "transactional.id", fatal=True)
    timed_out = KafkaError("_TIMED_OUT", "timed out", retriable=True)
    return [
        ("commit_transaction", timed_out,
         "the commit's outcome is unknown: the coordinator may already have decided it, and "
         "the call goes on in the background"),
        ("produce", KafkaError("_QUEUE_FULL", "Local: Queue full", retriable=True),
         "the local queue is only full for now (confluent-kafka raises it as BufferError); "
         "the transaction itself is fine"),
        ("send_offsets_to_transaction", timed_out,
         "a retriable error is retriable at every stage, not only at the commit"),
        ("abort_transaction", timed_out,
         "the abort goes on in the background; what call resumes it?"),
        ("send_offsets_to_transaction", KafkaError("UNKNOWN_MEMBER_ID",
                                                   txn_requires_abort=True),
         "the group rejected the offsets (KIP-447): this transaction cannot commit, but the "
         "producer is still usable"),
        ("commit_transaction", KafkaError("_MSG_TIMED_OUT", "a produced message failed "
                                          "permanently", txn_requires_abort=True),
         "a record of this transaction was never written, so it cannot commit; the batch "
         "was not processed for good"),
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
    """librdkafka's rule: the flags decide, at every stage."""
    if error.fatal():
        return "close_producer"
    if error.txn_requires_abort():
        return "abort_and_rewind"
    if error.retriable():
        return "retry_same_call"
    return "close_producer"  # "treat any error that has neither ... as a fatal error"


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


def replacement_epoch() -> int:
    """The epoch app-b's ``init_transactions()`` returned in :data:`ZOMBIE`'s run."""
    result = run_scenario("zombie-fencing", **ZOMBIE)
    acks = [ev["data"]["epoch"] for ev in result.trace
            if ev["lane"] == "app-b-producer" and ev["kind"] == "ack"
            and ev["label"].startswith("init_transactions")]
    return acks[0]


QUESTIONS = [
    Question("ex06.q1", "Who fences whom", 1, "configure",
             explained_setting(["transactional.id"]),
             hint="the coordinator finds the old instance's transaction by a producer "
                  "setting that both instances share"),
    Question("ex06.q2", "What to do with each error", 4, "implement",
             error_handling_grader(),
             hint="read the error's flags, in the order librdkafka gives them: fatal(), "
                  "txn_requires_abort(), retriable(); the stage does not change what a flag "
                  "asks for"),
    Question("ex06.q3", "The epoch that fences the zombie", 1, "measure",
             measured(replacement_epoch),
             hint="the coordinator finds app-a's transaction Ongoing: it bumps the epoch to "
                  "fence and abort it, and answers app-b CONCURRENT_TRANSACTIONS; what does "
                  "app-b's client do then?"),
]
