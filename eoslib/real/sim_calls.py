"""The librdkafka experiments' simulated twins: one table, :data:`SIM_CALLS`.

:data:`SIM_CALLS` maps an experiment and its setting to a call of
:func:`eoslib.scenarios.run_scenario` with the same setup (message count, batch size,
which produce response is lost, where the app crashes), or to a script of
:mod:`eoslib.real.experiments.scripted` run on the simulator. :data:`METRICS` says what
must agree: a count that both sides make exactly (``exact``) or only whether it is zero
(``nonzero``). Every row here is the librdkafka client's (confluent-kafka on the real
side); the Java client's twins are in :mod:`eoslib.real.java_twins`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SimCall:
    """How to run the simulation's twin of one real experiment."""

    scenario: str
    setting: str  # the config key that the experiment switches
    off: Any
    on: Any
    messages: int
    config: Mapping[str, Any] = field(default_factory=dict)
    faults: Mapping[str, Any] = field(default_factory=dict)
    real_kwargs: Mapping[str, Any] = field(default_factory=dict)  # for the real experiment
    #: a script of :mod:`eoslib.real.experiments.scripted` run on the simulator itself
    #: (the experiments no scenario covers); ``scenario`` is then only a label
    script: Callable[..., dict[str, Any]] | None = None
    #: what the row compares, in words (shown in notebook 12)
    compares: str = ""


#: the simulator's settings for the real side's client (confluent-kafka = librdkafka)
LIBRDKAFKA: dict[str, Any] = {"transaction.version": "1"}


def _script(module: str, name: str) -> Callable[..., dict[str, Any]]:
    import importlib

    return getattr(importlib.import_module(f"eoslib.real.experiments.{module}"), name)


# The real experiment and its simulated twin use the same messages and the same fault.
SIM_CALLS: dict[str, SimCall] = {
    "producer-retry": SimCall(
        "producer-retry",
        "enable.idempotence",
        False,
        True,
        messages=10,
        # One request in flight at a time, as the real producer flushes every message.
        config={"max.in.flight.requests.per.connection": 1},
        faults={"lose_responses": [3], "response_loss": 0.0},
        real_kwargs={"messages": 10, "lost_at": 3},
        compares="duplicates in the output after the response to produce request 3 of 10 "
        "(one message each) was lost and the client retried",
    ),
    "consumer-crash": SimCall(
        "consumer-crash",
        "transactions",
        False,
        True,
        messages=20,
        config={"batch": 5},
        faults={"crash_step": "after_produce", "crash_at": 5},  # message 5 = second batch
        real_kwargs={"messages": 20, "batch": 5, "crash_batch": 1},
        compares="duplicates (zero or not: the replayed batch's size depends on what one "
        "consume() returned) and lost inputs after the app died between producing its "
        "second batch of 5 and committing it",
    ),
    "read-committed": SimCall(
        "read-committed",
        "isolation.level",
        "read_uncommitted",
        "read_committed",
        messages=9,
        config={"batch": 3},  # commit, commit, abort: 3 aborted records
        real_kwargs={"messages": 9},
        compares="aborted records a concurrent reader returned: commit, commit, abort of 3 "
        "records each",
    ),
    "zombie-fencing": SimCall(
        "zombie-fencing",
        "transactions",
        False,
        True,
        messages=30,
        real_kwargs={"messages": 10},  # the simulated zombie holds one batch of 10
        compares="producers fenced (exact) and duplicates (zero or not: the zombie's batch "
        "is 10 on Kafka, the simulation's zombie holds a batch of its own size)",
    ),
    # Twins by scenario: the real side runs the script of exp_transactions.
    "producer-restart": SimCall(
        "producer-restart", "transactions", False, True, messages=10,
        compares="duplicates in the output after a producer died before its callbacks and "
        "its replacement re-sent all 10 messages",
    ),
    "transaction-timeout": SimCall(
        "transaction-timeout", "isolation.level", "read_uncommitted", "read_committed",
        messages=10,
        compares="the late commit of the stalled producer is fenced (fenced=1); records of "
        "the timed-out transaction a concurrent reader returned (aborted_reads)",
    ),
    # Twins by script: the same function runs on the simulator and on Kafka.
    "lso-blocking": SimCall(
        "lso-blocking", "isolation.level", "read_uncommitted", "read_committed", messages=10,
        script=_script("exp_transactions", "lso_blocking"),
        compares="records a reader returns while a transaction of 5 is open with 5 later "
        "non-transactional records behind it, and after the commit",
    ),
    "pending-offsets": SimCall(
        "pending-offsets", "txn.end", "abort", "commit", messages=5,
        script=_script("exp_transactions", "pending_offsets"),
        compares="the group's committed offset (None = none) while the transaction holding "
        "the offsets is open, and after it ends",
    ),
    "abort-no-rewind": SimCall(
        "abort-no-rewind", "seek.after.abort", False, True, messages=10,
        script=_script("exp_transactions", "abort_no_rewind"),
        compares="the consumer position right after aborting the first batch of 5, and "
        "inputs missing from the committed output at the end",
    ),
    "auto-commit": SimCall(
        "auto-commit", "shutdown", "crash", "close", messages=10,
        config={"client": "librdkafka"},
        script=_script("exp_auto_commit", "auto_commit"),
        compares="librdkafka semantics on both sides (client=librdkafka in the simulator): "
        "the committed offset after 6 records were handed out, and how many a successor "
        "re-reads",
    ),
    # REAL-CLUSTER: on the three-broker cluster (eoslib.real.cluster3); real side in
    # exp_acks_leader_failover / exp_min_insync, the leader (node 1) SIGKILLed in both.
    "acks-leader-failover": SimCall(
        "leader-failover", "acks", "1", "all", messages=10,
        config={"min.insync.replicas": 2, "enable.idempotence": False},
        real_kwargs={"messages": 10, "lost_at": 5},
        compares="acknowledged writes missing after the leader dies before its followers "
        "fetched the last write (real: followers frozen by SIGSTOP, still in the ISR, so the "
        "election is clean; the old leader truncates when it returns)",
    ),
    "min-insync": SimCall(
        "leader-failover", "min.insync.replicas", 2, 3, messages=10,
        config={"acks": "all", "enable.idempotence": False},
        real_kwargs={"messages": 10},
        compares="with acks=all, after the leader of 3 replicas dies half-way: writes never "
        "stored (refused with NOT_ENOUGH_REPLICAS, retried until message.timeout.ms) and "
        "acknowledged writes lost",
    ),
    "at-most-once": SimCall(
        "at-most-once", "delivery", "at-most-once", "at-least-once", messages=20,
        config={"batch": 5},
        faults={"crash_step": "after_commit", "crash_at": 5},  # message 5 = second batch
        compares="inputs missing from the output after the copy loop died right after "
        "committing its second batch of 5 and restarted from the committed offset",
    ),
    # The scenario `rebalance` runs two members on two partitions with their own timing;
    # this twin is the one script, so both sides run the same members and stall.
    "rebalance": SimCall(
        "rebalance", "transactions", False, True, messages=10,
        script=_script("exp_consumer_loops", "rebalance"),
        compares="duplicates in the committed output after member A stalled 9 s past "
        "max.poll.interval.ms=6000 mid-batch, B copied the input, and A committed late",
    ),
}

# What must agree, per experiment: (count, "exact" | "nonzero").
METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "producer-retry": (("duplicates", "exact"),),
    "consumer-crash": (("duplicates", "nonzero"), ("lost", "exact")),
    "read-committed": (("aborted_reads", "exact"),),
    "zombie-fencing": (("fenced", "exact"), ("duplicates", "nonzero")),
    "producer-restart": (("duplicates", "exact"),),
    "transaction-timeout": (("fenced", "exact"), ("aborted_reads", "exact")),
    "lso-blocking": (("read_while_open", "exact"), ("read_after_commit", "exact")),
    "pending-offsets": (("committed_while_open", "exact"), ("committed_after", "exact")),
    "abort-no-rewind": (("position_after_abort", "exact"), ("lost", "exact")),
    "auto-commit": (("committed", "exact"), ("replayed", "exact")),
    "at-most-once": (("lost", "exact"), ("duplicates", "exact")),
    "rebalance": (("duplicates", "exact"), ("lost", "exact")),
    "acks-leader-failover": (("lost", "exact"),),  # REAL-CLUSTER
    "min-insync": (("lost", "exact"), ("missing", "nonzero")),  # REAL-CLUSTER
}


#: the experiments that need the three-broker cluster (``eoslib broker start --brokers 3``)
THREE_BROKER = ("acks-leader-failover", "min-insync")


def single_broker() -> list[str]:
    """The experiments a single broker runs: every one but :data:`THREE_BROKER`."""
    return [n for n in SIM_CALLS if n not in THREE_BROKER]


def _fmt(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def setting_label(experiment: str, on: bool) -> str:
    """``"enable.idempotence=true"`` and the like."""
    call = SIM_CALLS[experiment]
    return f"{call.setting}={_fmt(call.on if on else call.off)}"


#: the counts every row carries for both sides; agreement is judged on METRICS only
COUNT_KEYS = ("duplicates", "lost", "aborted_reads", "uncommitted_reads", "processed_twice",
              "reordered", "fenced", "txn_committed", "txn_aborted")


def run_sim(experiment: str, on: bool, call: SimCall | None = None) -> dict[str, Any]:
    """The simulation's counts for one experiment and setting (``call``: another twin,
    e.g. with a seeded fault schedule)."""
    from eoslib.scenarios import run_scenario  # lazily: the real mode does not need it

    call = call or SIM_CALLS[experiment]
    if call.script is not None:
        from eoslib.real.experiments.scripted import SimEnv, run

        return run(call.script, SimEnv(faults=dict(call.faults) or None), on)
    # librdkafka sends EndTxn v0-1 only (src/rdkafka_request.c, rd_kafka_EndTxnRequest), so
    # Kafka's coordinator applies transaction.version 1 to its transactions (KIP-890's
    # TV2 needs EndTxn v5): the twin's producers speak TV1, as the real side's do.
    config = {**LIBRDKAFKA, **call.config, call.setting: call.on if on else call.off}
    res = run_scenario(
        call.scenario, seed=0, messages=call.messages, config=config, faults=dict(call.faults)
    )
    return dict(res.counts)
