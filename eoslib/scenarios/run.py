"""``run_scenario``: build the simulation, run the scenario, check its history."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from eoslib.checker import check
from eoslib.checker.check import failure_counts
from eoslib.config import PRODUCER, validate
from eoslib.errors import ConfigException, did_you_mean
from eoslib.faults import FaultPlan
from eoslib.gcpause import paused
from eoslib.history import History
from eoslib.result import Result
from eoslib.scenarios.inputs import input_positions, record_consumed
from eoslib.scenarios.registry import SCENARIOS, Outcome, Setup, split_config
from eoslib.simulation import Simulation


@paused()  # the collector waits until the run is over (eoslib/gcpause.py)
def run_scenario(name: str, *, seed: int = 0, messages: int | None = None,
                 config: Mapping[str, Any] | None = None,
                 faults: Mapping[str, Any] | FaultPlan | None = None,
                 hooks: Mapping[str, Any] | None = None, tracing: bool = True) -> Result:
    """Run scenario ``name`` and check its history.

    ``config`` and ``faults`` override the scenario's defaults key by key. ``hooks`` swaps
    protocol pieces for a learner's functions: ``duplicate_check`` (the broker's),
    ``fetch_filter`` (read_committed), ``step`` (the app's transform), ``sink_write``.
    """
    run = _simulate(name, seed, messages, config, faults, hooks, tracing)
    sim, outcome, n, plan, prod, cons, course = run
    report = check(sim.history, **_check_args(run))
    tc = sim.cluster.txn_coordinator
    counts: dict[str, Any] = {
        "duplicates": report.count("duplicate"),
        "lost": report.count("lost") + report.count("lost_input"),
        "aborted_reads": report.count("aborted_read"),
        "uncommitted_reads": report.count("uncommitted_read"),
        "processed_twice": report.count("processed_twice"),
        "reordered": report.count("reordered"),
        "fenced": report.count("fenced"),
        "txn_committed": tc.committed,
        "txn_aborted": tc.aborted,
        "lso_lag_ms": lso_lag(sim, outcome.topics),
        "retries": sum(1 for ev in sim.trace if ev["kind"] == "retry"),
        "virtual_ms": round(sim.now, 3),
    }
    counts.update(outcome.extra or {})
    effective = {**{k: v for k, v in course.items() if not k.startswith("_")},
                 **{k: v for k, v in validate("producer", prod).items()
                    if not k.startswith("_")},
                 **{k: v for k, v in validate("consumer", cons).items()
                    if not k.startswith("_") and k not in PRODUCER}}
    # the version the run's transactions used: the cluster feature, capped by the client
    effective["transaction.version"] = str(min(int(sim.cluster.config["transaction.version"]),
                                               int(effective["transaction.version"])))
    return Result(name, seed, n, effective, plan.to_json(), counts, report, sim.history,
                  sim.trace, requests=dict(sim.injector.counts))


class _Run(NamedTuple):
    """A finished simulation of a scenario, before it is checked."""

    sim: Simulation
    outcome: Outcome
    messages: int
    plan: FaultPlan
    producer: dict[str, Any]
    consumer: dict[str, Any]
    course: dict[str, Any]


def _simulate(name: str, seed: int, messages: int | None, config: Mapping[str, Any] | None,
              faults: Mapping[str, Any] | FaultPlan | None,
              hooks: Mapping[str, Any] | None, tracing: bool) -> _Run:
    """Build the simulation of scenario ``name``, run it, settle it and read its topics."""
    sc = SCENARIOS.get(name)
    if sc is None:
        raise ConfigException("scenario", name, "Unknown scenario" + did_you_mean(
            name, SCENARIOS) + f"; scenarios: {', '.join(SCENARIOS)}")
    n = sc.messages if messages is None else messages
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n > 1_000_000:
        raise ConfigException("messages", n, "Expected a whole number from 1 to 1000000")
    user = dict(config or {})
    if user.get("transactional.id") is not None and "transactions" not in user:
        user["transactions"] = True  # a transactional.id means the transactional path
    cfg = {**sc.config, **user}
    if isinstance(faults, FaultPlan):
        plan_d = {k: v for k, v in faults.to_json().items() if k in faults.explicit}
    else:
        plan_d = dict(faults or {})
    merged = {**sc.faults, **plan_d}
    if any(plan_d.get(k) for k in PLACED_LOSSES):
        # a placed loss means exactly that many: the scenario's chance losses are off
        # unless given too
        merged.update({k: 0.0 for k in CHANCE_LOSSES if k not in plan_d})
    if merged.get("crash_step") and merged.get("crash_at") is None \
            and not {"crash_at", "crash_prob"} & plan_d.keys() and not merged.get("crash_prob"):
        merged["crash_at"] = n // 2  # a placed crash falls inside the run: the middle message
    plan = FaultPlan.from_dict(merged)
    prod, cons, course = split_config(cfg)
    cluster = dict(sc.cluster)
    if course["brokers"] is not None:
        cluster["brokers"] = course["brokers"]
    if course["transaction.version"] is not None:
        cluster["transaction.version"] = course["transaction.version"]
    # the package's ``Simulation`` (tests swap it to keep the simulation they ran)
    sim_class = getattr(sys.modules.get("eoslib.scenarios"), "Simulation", Simulation)
    sim = sim_class(seed, faults=plan, cluster=cluster, tracing=tracing)
    hooks = dict(hooks or {})
    for k in hooks:
        if k not in ("duplicate_check", "fetch_filter", "step", "sink_write"):
            raise ConfigException("hooks", k, "Expected duplicate_check, fetch_filter, step "
                                  "or sink_write")
    if "duplicate_check" in hooks:
        sim.duplicate_check = hooks["duplicate_check"]
    if "fetch_filter" in hooks:
        sim.fetch_filter = hooks["fetch_filter"]
    course["_hooks"] = hooks
    outcome = sc.fn(Setup(sim, n, prod, cons, course))
    sim.settle(1000)
    for t in outcome.topics:
        sim.read_all(t, "read_committed")
    return _Run(sim, outcome, n, plan, prod, cons, course)


def _check_args(run: _Run) -> dict[str, Any]:
    """What the checker is told about a run: its inputs, outputs, topics, allowed."""
    sim, outcome = run.sim, run.outcome
    ids = outcome.inputs if outcome.inputs is not None else outcome.expected_ids
    inputs = None
    if ids is not None:
        inputs = input_positions(sim, outcome.input_topic, ids)
        record_consumed(sim, [outcome.input_topic], outcome.sinks or ())
    outputs = outcome.outputs
    if outputs is None and outcome.expected_ids is not None:
        outputs = ["sink"]
    return {"inputs": inputs, "outputs": outputs, "topics": outcome.topics,
            "allowed": ("fenced", *outcome.allowed)}


@paused()
def run_failures(name: str, *, seed: int = 0, messages: int | None = None,
                 config: Mapping[str, Any] | None = None,
                 faults: Mapping[str, Any] | FaultPlan | None = None,
                 unchecked: bool = False) -> Failures:
    """The explorer's run (no trace): what :func:`run_scenario`'s report would count as
    failures, without building the report (unless ``unchecked`` asks for its coverage
    notes) or the :class:`Result`. The simulation is not returned: it is garbage when the
    collector resumes (a run's objects kept alive past that would be walked again)."""
    run = _simulate(name, seed, messages, config, faults, None, False)
    args = _check_args(run)
    sim = run.sim
    if unchecked:
        report = check(sim.history, **args)
        bad = {k: report.count(k) for k in report.failures()}
        return Failures(bad, dict(report.unchecked), dict(sim.injector.counts), sim.history)
    return Failures(failure_counts(sim.history, **args), {}, dict(sim.injector.counts),
                    sim.history)


class Failures(NamedTuple):
    """:func:`run_failures`' answer."""

    #: anomaly -> count, for each anomaly that makes the run fail (report order)
    failures: dict[str, int]
    #: anomaly -> why it could not be checked (only when asked for)
    unchecked: dict[str, str]
    #: requests per API and fault point (:attr:`Result.requests`)
    requests: dict[str, int]
    history: History


#: placed network losses (``lost_acks=N`` is exactly N lost answers) and the chance ones
#: they switch off (``response_loss``...) unless those are given as well
PLACED_LOSSES = ("lost_acks", "lose_responses", "drop")
CHANCE_LOSSES = ("response_loss", "request_loss")


def lso_lag(sim: Simulation, topics: list[str]) -> float:
    """Mean ms that records of ``topics`` waited between reaching the high watermark and
    becoming stable (readable by read_committed consumers)."""
    total, n = 0.0, 0
    for t in topics:
        for p in sim.cluster.partitions(t):
            for b in p.log:
                if b.control is None and b.base_offset in p.stable_since \
                        and b.base_offset in p.hw_since:
                    total += (p.stable_since[b.base_offset] - p.hw_since[b.base_offset]) \
                        * len(b.records)
                    n += len(b.records)
    return round(total / n, 3) if n else 0.0
