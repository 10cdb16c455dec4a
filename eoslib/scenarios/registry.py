"""The scenario registry: the course keys, what a scenario gets and returns, and its name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from eoslib.config import CONSUMER, PRODUCER, Key, coerce, validate
from eoslib.errors import ConfigException, did_you_mean
from eoslib.faults import FaultPlan
from eoslib.simulation import Simulation

COURSE_KEYS = {
    "transactions": False, "delivery": None, "sink": None, "batch": 10,
    "brokers": None, "replication.factor": None, "min.insync.replicas": None,
    "unclean.leader.election.enable": None, "transaction.version": None,
    "lagging.followers": None,
}
#: the course's own keys, typed like Kafka's (validated with the same rules and wording)
COURSE_SCHEMA = {
    "transactions": Key("transactions", "bool", False),
    "delivery": Key("delivery", "choice", None, ("at-most-once", "at-least-once",
                                                  "exactly-once")),
    "sink": Key("sink", "choice", None, ("insert", "upsert", "offsets")),
    "batch": Key("batch", "int", 10, minimum=1),
    "brokers": Key("brokers", "int", None, minimum=1),
    "replication.factor": Key("replication.factor", "int", None, minimum=1),
    "min.insync.replicas": Key("min.insync.replicas", "int", None, minimum=1),
    "unclean.leader.election.enable": Key("unclean.leader.election.enable", "bool", None),
    # a cluster feature in Kafka 4.x, flipped here per run (the course's way to compare)
    "transaction.version": Key("transaction.version", "choice", None, ("1", "2")),
    # leader-failover: followers out of the ISR (down) from the start, back as the leader dies
    "lagging.followers": Key("lagging.followers", "int", None, minimum=0),
}
FAULT_FIELDS = tuple(f.name for f in fields(FaultPlan))


@dataclass
class Setup:
    """What a scenario function receives."""

    sim: Simulation
    messages: int
    producer: dict[str, Any]
    consumer: dict[str, Any]
    course: dict[str, Any]


@dataclass
class Outcome:
    """What a scenario function returns: which topics the checker judges, and, for a run
    that consumes input, the input ids and the outputs each must reach exactly once
    (topics and/or ``"sink"``); ``expected_ids`` is the older ``inputs`` with a sink."""

    topics: list[str]
    expected_ids: list[str] | None = None
    allowed: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None
    inputs: list[str] | None = None
    outputs: list[str] | None = None
    #: the topic the inputs were written to, and the sinks that store consumed offsets
    input_topic: str = "in"
    sinks: list[Any] | None = None


@dataclass(frozen=True)
class Scenario:
    """A named experiment."""

    name: str
    description: str
    fn: Callable[[Setup], Outcome]
    config: Mapping[str, Any]
    faults: Mapping[str, Any]
    cluster: Mapping[str, Any]
    messages: int = 50


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str, *, config: Mapping[str, Any] | None = None,
             faults: Mapping[str, Any] | None = None, cluster: Mapping[str, Any] | None = None,
             messages: int = 50) -> Callable[[Callable[[Setup], Outcome]], Callable[[Setup],
                                                                                    Outcome]]:
    """Register a scenario function under ``name``."""
    def deco(fn: Callable[[Setup], Outcome]) -> Callable[[Setup], Outcome]:
        SCENARIOS[name] = Scenario(name, description, fn, dict(config or {}),
                                   dict(faults or {}), dict(cluster or {}), messages)
        return fn
    return deco


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                      dict[str, Any]]:
    """Split a scenario config into producer, consumer and course keys."""
    prod: dict[str, Any] = {}
    cons: dict[str, Any] = {}
    course = dict(COURSE_KEYS)
    for k, v in config.items():
        if k in COURSE_KEYS:
            course[k] = coerce(COURSE_SCHEMA[k], v)
        elif k in PRODUCER and k in CONSUMER:  # client.id, bootstrap.servers
            prod[k] = cons[k] = v
        elif k in PRODUCER:
            prod[k] = v
        elif k in CONSUMER:
            cons[k] = v
        else:
            known = set(PRODUCER) | set(CONSUMER) | set(COURSE_KEYS) | set(FAULT_FIELDS)
            hint = did_you_mean(k, known)
            if k in FAULT_FIELDS:
                hint = " (a fault: pass it in faults=..., or with --set on the command line)"
            raise ConfigException(k, v, "Unknown configuration key" + hint
                                  + "; see `eoslib run --help` for the keys")
    validate("producer", {k: v for k, v in prod.items()})
    validate("consumer", {k: v for k, v in cons.items()})
    if course["transactions"] and course["delivery"] not in (None, "exactly-once"):
        raise ConfigException("delivery", course["delivery"],
                              "transactions=true is the exactly-once loop: leave delivery "
                              "unset or set it to exactly-once")
    if course["transactions"]:
        course["delivery"] = "exactly-once"
    elif course["delivery"] == "exactly-once":
        course["transactions"] = True
    return prod, cons, course
