"""Client and cluster configuration: Kafka's keys, defaults and validation rules.

Defaults are the Java client's (Kafka 4.x): ``enable.idempotence=true``, ``acks=all``,
``retries=2147483647``, ``delivery.timeout.ms=120000``, ``linger.ms=5``,
``isolation.level=read_uncommitted``, ``enable.auto.commit=true``. confluent-kafka
(librdkafka) differs: idempotence off and ``read_committed`` by default — the course
sets every key it relies on explicitly, and so should you. The course key ``client``
(``java`` | ``librdkafka``) selects which client's defaults (``LIBRDKAFKA_DEFAULTS``),
idempotence rules, partitioner and auto-commit the simulated clients follow.

Values may be given as Python values or as Kafka-style strings (``"true"``, ``"all"``).
Unknown keys and bad values raise :class:`~eoslib.errors.ConfigException` naming the key,
the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eoslib.errors import ConfigException, did_you_mean

INT_MAX = 2147483647


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default and allowed values."""

    name: str
    type: str  # "bool" | "int" | "str" | "choice"
    default: Any
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    doc: str = ""


def _keys(*keys: Key) -> dict[str, Key]:
    return {k.name: k for k in keys}


COMMON = (
    Key("bootstrap.servers", "str", "sim", doc="ignored by the simulation"),
    Key("client.id", "str", "", doc="name shown in traces and histories"),
    Key("client", "choice", "java", ("java", "librdkafka"),
        doc="whose semantics to simulate (not a Kafka key): java (the Apache Kafka Java "
            "client) or librdkafka (confluent-kafka): auto-commit, default partitioner, "
            "defaults (LIBRDKAFKA_DEFAULTS) and idempotence rules follow that client"),
)

PRODUCER = _keys(
    *COMMON,
    Key("enable.idempotence", "bool", True, doc="producer id + sequence numbers"),
    Key("acks", "choice", "all", ("0", "1", "all", "-1")),
    Key("retries", "int", INT_MAX, minimum=0),
    Key("max.in.flight.requests.per.connection", "int", 5, minimum=1),
    Key("delivery.timeout.ms", "int", 120000, minimum=0),
    Key("request.timeout.ms", "int", 30000, minimum=1),
    Key("retry.backoff.ms", "int", 100, minimum=0),
    Key("linger.ms", "int", 5, minimum=0),
    Key("batch.size", "int", 16384, minimum=1, doc="bytes of values per batch"),
    Key("transactional.id", "str", None),
    Key("transaction.timeout.ms", "int", 60000, minimum=1),
    Key("max.block.ms", "int", 60000, minimum=0),
    Key("transaction.version", "choice", "2", ("1", "2"),
        doc="not a Kafka producer key: the highest transaction version this client speaks "
            "(Java 4.x: 2; librdkafka has no KIP-890: 1); the cluster's feature caps it"),
)

CONSUMER = _keys(
    *COMMON,
    Key("group.id", "str", None),
    Key("group.instance.id", "str", None),
    Key("enable.auto.commit", "bool", True),
    Key("auto.commit.interval.ms", "int", 5000, minimum=0),
    Key("auto.offset.reset", "choice", "latest", ("earliest", "latest", "none")),
    Key("isolation.level", "choice", "read_uncommitted", ("read_uncommitted", "read_committed")),
    Key("session.timeout.ms", "int", 45000, minimum=1),
    Key("heartbeat.interval.ms", "int", 3000, minimum=1),
    Key("max.poll.interval.ms", "int", 300000, minimum=1),
    Key("max.poll.records", "int", 500, minimum=1),
    Key("fetch.max.wait.ms", "int", 500, minimum=0),
    Key("request.timeout.ms", "int", 30000, minimum=1),
    Key("partition.assignment.strategy", "choice", "range", ("range", "roundrobin")),
    Key("enable.partition.eof", "bool", False,
        doc="librdkafka: poll() returns a _PARTITION_EOF event each time a fetch reaches the "
            "end of a partition (HW, or LSO under read_committed); rdkafka_fetcher.c"),
    Key("enable.auto.offset.store", "bool", True,
        doc="librdkafka: store offset+1 of each message poll() returns; false: only "
            "store_offsets() stores, and auto-commit, commit() and close() commit what is "
            "stored"),
)

TOPIC = _keys(
    Key("partitions", "int", 1, minimum=1),
    Key("replication.factor", "int", 1, minimum=1),
    Key("min.insync.replicas", "int", 1, minimum=1),
    Key("unclean.leader.election.enable", "bool", False),
)

CLUSTER = _keys(
    Key("brokers", "int", 1, minimum=1),
    Key("transaction.max.timeout.ms", "int", 900000, minimum=1),
    Key("transaction.abort.timed.out.transaction.cleanup.interval.ms", "int", 10000, minimum=1),
    Key("offsets.topic.num.partitions", "int", 50, minimum=1),
    Key("transaction.state.log.num.partitions", "int", 50, minimum=1),
    Key("replica.fetch.wait.ms", "int", 2, minimum=0, doc="how soon followers copy new data"),
    Key("network.latency.ms", "int", 1, minimum=0, doc="one-way latency client<->broker"),
    Key("transaction.version", "choice", "2", ("1", "2"),
        doc="the cluster's finalized transaction.version feature (Kafka 4.x: "
            "kafka-features.sh upgrade --feature transaction.version=2); KIP-890 TV2 bumps "
            "the epoch at the end of every transaction"),
)

#: librdkafka's defaults where they differ from the Java client's (librdkafka
#: CONFIGURATION.md): applied when ``client=librdkafka`` to the keys the caller did not set
LIBRDKAFKA_DEFAULTS: dict[str, dict[str, Any]] = {
    "producer": {
        "enable.idempotence": False,  # enable.idempotence: default false
        "max.in.flight.requests.per.connection": 1000000,  # max.in.flight: 1000000
        "delivery.timeout.ms": 300000,  # delivery.timeout.ms = message.timeout.ms: 300000
        "transaction.version": "1",  # no KIP-890 support: transaction version 1
    },
    "consumer": {
        "isolation.level": "read_committed",  # isolation.level: default read_committed
    },
}

KINDS = {"producer": PRODUCER, "consumer": CONSUMER, "topic": TOPIC, "cluster": CLUSTER}

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def coerce(key: Key, value: Any) -> Any:
    """Turn ``value`` into ``key``'s type or raise ConfigException."""
    if value is None:
        if key.default is None:
            return None
        raise ConfigException(key.name, value, f"Expected a {key.type}, not None")
    if key.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise ConfigException(key.name, value, "Expected value to be one of true, false")
    if key.type == "int":
        if isinstance(value, bool):
            raise ConfigException(key.name, value, "Expected an integer")
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise ConfigException(key.name, value, "Expected an integer") from None
        if isinstance(value, float) and value != v:
            raise ConfigException(key.name, value, "Expected an integer")
        if key.minimum is not None and v < key.minimum:
            raise ConfigException(key.name, value, f"Value must be at least {key.minimum}")
        return v
    if key.type == "choice":
        v = str(value)
        if v not in key.choices:
            hint = did_you_mean(v, key.choices)
            raise ConfigException(
                key.name, value, f"Expected value to be one of {', '.join(key.choices)}{hint}"
            )
        return v
    if not isinstance(value, str):
        raise ConfigException(key.name, value, "Expected a string")
    return value


def validate(kind: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``config`` against the keys of ``kind`` and return the effective config.

    ``kind`` is one of ``producer``, ``consumer``, ``topic``, ``cluster``. The result has
    every key of that kind, defaults filled in, plus ``_explicit``: the keys the caller
    set. Cross-key rules are Kafka's (see :func:`producer_rules`).
    """
    keys = KINDS[kind]
    out: dict[str, Any] = {}
    explicit = []
    for name, value in (config or {}).items():
        if name not in keys:
            hint = did_you_mean(name, keys)
            raise ConfigException(
                name, value, f"Unknown {kind} configuration key{hint}; known keys: "
                + ", ".join(sorted(keys))
            )
        out[name] = coerce(keys[name], value)
        explicit.append(name)
    for name, key in keys.items():
        out.setdefault(name, key.default)
    if out.get("client") == "librdkafka":
        for name, value in LIBRDKAFKA_DEFAULTS.get(kind, {}).items():
            if name not in explicit:
                out[name] = value
    if kind == "producer":
        producer_rules(out, set(explicit))
    out["_explicit"] = tuple(sorted(explicit))
    return out


def producer_rules(c: dict[str, Any], explicit: set[str]) -> None:
    """Kafka's producer cross-checks, applied in place.

    * ``acks=-1`` means ``all``.
    * Idempotence needs ``acks=all``, ``max.in.flight.requests.per.connection <= 5`` and
      ``retries > 0``. Set explicitly with a conflict: ConfigException. Left at its default
      with a conflict: idempotence is silently turned off (Kafka >= 3.2).
    * ``transactional.id`` needs idempotence.
    * ``delivery.timeout.ms`` must be >= ``linger.ms + request.timeout.ms``.

    The silent switch-off is the Java client's (``ProducerConfig.postProcessAndValidate
    IdempotenceConfigs``). librdkafka (``client=librdkafka``, ``rd_kafka_conf_finalize`` in
    rdkafka_conf.c) never switches idempotence off: idempotence is off by default, and when
    it is on, a conflicting key set by the caller is an error while one left at its default
    is adjusted (``max.in.flight`` to 5, ``retries`` to INT32_MAX, ``acks`` to all).
    """
    if c.get("client") == "librdkafka":
        _librdkafka_idempotence(c, explicit)
    if c["acks"] == "-1":
        c["acks"] = "all"
    if c.get("client") == "librdkafka":
        return
    conflicts = []
    if c["acks"] != "all":
        conflicts.append(("acks", c["acks"], "Must be set to all in order to use the idempotent producer"))  # noqa: E501
    if c["max.in.flight.requests.per.connection"] > 5:
        conflicts.append((
            "max.in.flight.requests.per.connection",
            c["max.in.flight.requests.per.connection"],
            "Must be set to at most 5 in order to use the idempotent producer",
        ))
    if c["retries"] == 0:
        conflicts.append(("retries", 0, "Must be set to a value greater than 0 in order to use the idempotent producer"))  # noqa: E501
    if c["transactional.id"] is not None:
        if "enable.idempotence" in explicit and not c["enable.idempotence"]:
            raise ConfigException(
                "enable.idempotence", False,
                "Cannot set a transactional.id without also enabling idempotence",
            )
        if conflicts:
            raise ConfigException(*conflicts[0])
        c["enable.idempotence"] = True
    elif c["enable.idempotence"] and conflicts:
        if "enable.idempotence" in explicit:
            raise ConfigException(*conflicts[0])
        c["enable.idempotence"] = False
    if c["delivery.timeout.ms"] < c["linger.ms"] + c["request.timeout.ms"]:
        raise ConfigException(
            "delivery.timeout.ms", c["delivery.timeout.ms"],
            "Must be at least linger.ms + request.timeout.ms = "
            f"{c['linger.ms'] + c['request.timeout.ms']}",
        )


def _librdkafka_idempotence(c: dict[str, Any], explicit: set[str]) -> None:
    """librdkafka's rules (rdkafka_conf.c ``rd_kafka_conf_finalize``), applied in place."""
    if c["acks"] == "-1":
        c["acks"] = "all"
    if c["transactional.id"] is not None and not c["enable.idempotence"]:
        if "enable.idempotence" in explicit:
            raise ConfigException("enable.idempotence", False,
                                  "`transactional.id` requires `enable.idempotence=true`")
        c["enable.idempotence"] = True
    if c["enable.idempotence"]:
        for key, ok, fix, msg in (
            ("max.in.flight.requests.per.connection",
             c["max.in.flight.requests.per.connection"] <= 5,
             min(c["max.in.flight.requests.per.connection"], 5),
             "`max.in.flight` must be set <= 5 when `enable.idempotence` is true"),
            ("retries", c["retries"] >= 1, INT_MAX,
             "`retries` must be set >= 1 when `enable.idempotence` is true"),
            ("acks", c["acks"] == "all", "all",
             "`acks` must be set to `all` when `enable.idempotence` is true"),
        ):
            if key in explicit and not ok:
                raise ConfigException(key, c[key], msg)
            if key not in explicit:
                c[key] = fix
    if c["delivery.timeout.ms"] < c["linger.ms"] + c["request.timeout.ms"]:
        raise ConfigException(
            "delivery.timeout.ms", c["delivery.timeout.ms"],
            "Must be at least linger.ms + request.timeout.ms = "
            f"{c['linger.ms'] + c['request.timeout.ms']}",
        )


def public(config: Mapping[str, Any]) -> dict[str, Any]:
    """The effective config without internal keys, for printing and JSON."""
    return {k: v for k, v in config.items() if not k.startswith("_")}
