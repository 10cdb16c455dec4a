"""What scenarios share: the input values, filling the input, the app, the writer."""

from __future__ import annotations

from typing import Any

from eoslib.apps import Pipeline
from eoslib.errors import ConfigException, KafkaException
from eoslib.faults import FaultPlan
from eoslib.scenarios.registry import Setup


def values(n: int) -> list[str]:
    """The course's input values ``m0``..``m{n-1}``."""
    return [f"m{i}" for i in range(n)]


def fill_input(s: Setup, topic: str = "in", partitions: int = 1) -> list[str]:
    """Create and fill the input topic without faults (a clean upstream)."""
    sim = s.sim
    sim.create_topic(topic, partitions)
    vals = values(s.messages)
    parts = sim.cluster.partitions(topic)
    for k, p in enumerate(parts):
        p.fill(vals[k::partitions])
    return vals


def pipeline(s: Setup, **kw: Any) -> Pipeline:
    """The course's consume-transform-produce app with the scenario's settings and hooks."""
    c = s.course
    hooks = c["_hooks"]
    p = Pipeline(s.sim, input_topic="in", delivery=c["delivery"] or "at-least-once",
                 batch=int(c["batch"]), producer_config=s.producer, consumer_config=s.consumer,
                 **({"step": hooks["step"]} if "step" in hooks else {}), **kw)
    plan = s.sim.faults
    check_crash_placement(plan, s.messages)
    if p.crash_at is None and not {"crash_at", "crash_prob"} & plan.explicit:
        p.crash_at = s.messages // 2  # the default: the middle message, whatever the size
    return p


def check_crash_placement(plan: FaultPlan, messages: int) -> None:
    """A crash placed at an input message the run does not have is an error naming it."""
    last = messages - 1
    if plan.crash_at is not None and plan.crash_at > last:
        raise ConfigException("crash_at", plan.crash_at, f"Expected an input message from 0 "
                              f"to {last}: the run has {messages} messages (m0..m{last})")
    for item in plan.crash_points:
        n = int(item.partition(":")[2])
        if n > last:
            raise ConfigException("crash_points", item, f"Expected STEP:N with N from 0 to "
                                  f"{last}: the run has {messages} messages")


def producer(s: Setup, **extra: Any) -> Any:
    """The scenario's producer; transactional (and initialised) when ``transactions``."""
    conf = {**s.producer, **extra}
    if s.course["transactions"]:
        conf.setdefault("transactional.id", "writer")
    p = s.sim.Producer(conf)
    if p.txn_id is not None:
        p.init_transactions()
    return p


def write(s: Setup, p: Any, topic: str, vals: list[str], gap_ms: float) -> None:
    """Produce ``vals`` one every ``gap_ms``; a transactional producer commits every
    ``batch`` records (aborting a transaction that hit an abortable error)."""
    txn = p.txn_id is not None
    k = int(s.course["batch"])
    for i, v in enumerate(vals):
        if txn and i % k == 0:
            p.begin_transaction()
        p.produce(topic, value=v)
        s.sim.sleep(gap_ms)
        if txn and (i % k == k - 1 or i == len(vals) - 1):
            try:
                p.commit_transaction()
            except KafkaException as e:
                if not e.error.txn_requires_abort():
                    raise
                p.abort_transaction()
    p.flush()
