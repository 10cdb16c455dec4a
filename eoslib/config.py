"""Client and cluster configuration: Kafka's keys, defaults and validation rules.

The course's client is librdkafka as confluent-kafka exposes it (the course key ``client``,
default ``librdkafka``); ``client=java`` selects the Apache Kafka Java client instead. Each
client has its own defaults (``DEFAULTS``) and cross-key rules:

* librdkafka (CONFIGURATION.md; ``rd_kafka_conf_finalize`` and
  ``rd_kafka_topic_conf_finalize`` in src/rdkafka_conf.c): ``enable.idempotence=false``,
  ``acks=all``, ``linger.ms=5``, ``batch.size=1000000``, ``message.timeout.ms`` (alias
  ``delivery.timeout.ms``) 300000, ``max.in.flight`` 1000000 (5 with idempotence),
  ``socket.timeout.ms=60000`` (the client-side request timeout), consumer
  ``isolation.level=read_committed``; it speaks transaction version 1 only;
* Java (Kafka 4.x ``ProducerConfig``/``ConsumerConfig``): ``enable.idempotence=true``,
  ``acks=all``, ``linger.ms=5``, ``batch.size=16384``, ``delivery.timeout.ms=120000``,
  ``request.timeout.ms=30000`` (the client-side request timeout),
  ``isolation.level=read_uncommitted``; transaction version 2 where the cluster has it.

Set every key you rely on explicitly. Values may be given as Python values or as
Kafka-style strings (``"true"``, ``"all"``). Unknown keys and bad values raise
:class:`~eoslib.errors.ConfigException` naming the key, the value and what is allowed.
A key of one client that the other client does not have is accepted and has no effect
under that client (its ``doc`` says whose it is).
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
    Key("client", "choice", "librdkafka", ("librdkafka", "java"),
        doc="whose semantics to simulate (not a Kafka key): librdkafka (confluent-kafka, "
            "the default) or java (the Apache Kafka Java client): defaults, cross-key "
            "rules, errors, retries, auto-commit, partitioner and transaction version "
            "follow that client"),
    Key("socket.timeout.ms", "int", 60000, minimum=10,
        doc="librdkafka: how long the client waits for any request's answer (the Java "
            "client has no such key: it uses request.timeout.ms)"),
    Key("retry.backoff.ms", "int", 100, minimum=0,
        doc="the first wait before a request is retried"),
    Key("retry.backoff.max.ms", "int", 1000, minimum=0,
        doc="retry waits grow exponentially up to this (Java >= 3.7, KIP-580; librdkafka)"),
)

PRODUCER = _keys(
    *COMMON,
    Key("enable.idempotence", "bool", True, doc="producer id + sequence numbers"),
    Key("acks", "choice", "all", ("0", "1", "all", "-1")),
    Key("retries", "int", INT_MAX, minimum=0),
    Key("max.in.flight.requests.per.connection", "int", 5, minimum=1),
    Key("delivery.timeout.ms", "int", 120000, minimum=0),
    Key("request.timeout.ms", "int", 30000, minimum=1,
        doc="Java: how long the client waits for an answer; librdkafka: only the broker's "
            "wait for acks (its client-side timeout is socket.timeout.ms)"),
    Key("message.timeout.ms", "int", None, minimum=0,
        doc="librdkafka's name for delivery.timeout.ms (an alias)"),
    Key("linger.ms", "int", 5, minimum=0),
    Key("batch.size", "int", 16384, minimum=1, doc="bytes of values per batch"),
    Key("batch.num.messages", "int", 10000, minimum=1,
        doc="librdkafka: the most messages in one MessageSet (the Java client has no such "
            "key: batch.size only)"),
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
    Key("request.timeout.ms", "int", 30000, minimum=1,
        doc="Java: how long the client waits for an answer (librdkafka: socket.timeout.ms)"),
    Key("default.api.timeout.ms", "int", 60000, minimum=0,
        doc="Java: how long a blocking call such as a synchronous commit may retry"),
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
        "batch.size": 1000000,  # batch.size: 1000000
        # no KIP-890 client part: EndTxn v0-1 only (rd_kafka_EndTxnRequest), so TV1
        "transaction.version": "1",
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


#: validated configs by (kind, each key's name, type and value): a simulation validates the
#: same few configs again and again (every client, every run of an exploration)
_VALIDATED: dict[tuple[Any, ...], dict[str, Any]] = {}
_VALIDATED_MAX = 1024


def validate(kind: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``config`` against the keys of ``kind`` and return the effective config.

    ``kind`` is one of ``producer``, ``consumer``, ``topic``, ``cluster``. The result has
    every key of that kind, defaults filled in, plus ``_explicit``: the keys the caller
    set. Cross-key rules are Kafka's (see :func:`producer_rules`). Each call returns a new
    dict (a config seen before is copied from a memo).
    """
    try:  # the value's type is part of the key: 1, 1.0 and True are validated apart
        memo: tuple[Any, ...] | None = (kind, *((k, type(v), v) for k, v in
                                                (config or {}).items()))
        hit = _VALIDATED.get(memo)  # type: ignore[arg-type]
    except TypeError:  # an unhashable value: validate it every time
        memo = hit = None
    if hit is not None:
        return dict(hit)
    out = _validate(kind, config)
    if memo is not None and len(_VALIDATED) < _VALIDATED_MAX:
        _VALIDATED[memo] = dict(out)
    return out


def _validate(kind: str, config: Mapping[str, Any] | None) -> dict[str, Any]:
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
    if "message.timeout.ms" in explicit:
        if "delivery.timeout.ms" in explicit and \
                out["delivery.timeout.ms"] != out["message.timeout.ms"]:
            raise ConfigException("message.timeout.ms", out["message.timeout.ms"],
                                  "an alias of delivery.timeout.ms, which is set to "
                                  f"{out['delivery.timeout.ms']}: set one of them")
        out["delivery.timeout.ms"] = out["message.timeout.ms"]
        explicit.append("delivery.timeout.ms")
    if out.get("client") == "librdkafka":
        for name, value in LIBRDKAFKA_DEFAULTS.get(kind, {}).items():
            if name not in explicit:
                out[name] = value
    if "message.timeout.ms" in out:
        out["message.timeout.ms"] = out.get("delivery.timeout.ms")
    if out.get("retry.backoff.max.ms") is not None and \
            out["retry.backoff.max.ms"] < out["retry.backoff.ms"]:
        if "retry.backoff.max.ms" in explicit:
            raise ConfigException("retry.backoff.max.ms", out["retry.backoff.max.ms"],
                                  f"Must be at least retry.backoff.ms = {out['retry.backoff.ms']}")
        out["retry.backoff.max.ms"] = out["retry.backoff.ms"]  # a constant backoff
    if kind == "producer":
        producer_rules(out, set(explicit))
    if kind == "consumer" and out.get("client") == "librdkafka" and \
            out["max.poll.interval.ms"] < out["session.timeout.ms"]:
        # rd_kafka_conf_finalize, classic protocol
        raise ConfigException("max.poll.interval.ms", out["max.poll.interval.ms"],
                              "`max.poll.interval.ms`must be >= `session.timeout.ms` = "
                              f"{out['session.timeout.ms']}")
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
    is adjusted (``max.in.flight`` to 5, ``retries`` to INT32_MAX, ``acks`` to all). With
    ``transactional.id`` it defaults ``socket.timeout.ms`` to ``transaction.timeout.ms`` - 100
    and ``message.timeout.ms`` to ``transaction.timeout.ms`` (and refuses larger values), and
    ``message.timeout.ms`` must exceed ``linger.ms``.
    """
    if c.get("client") == "librdkafka":
        if c["transaction.version"] != "1":
            raise ConfigException("transaction.version", c["transaction.version"],
                                  "librdkafka speaks transaction version 1 only (it sends "
                                  "EndTxn v0-1, no KIP-890 client part); use client=java "
                                  "for transaction version 2")
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
    if c["transactional.id"] is not None:
        # "Make sure at least one request can be sent before the transaction times out"
        txn_timeout = c["transaction.timeout.ms"]
        if "socket.timeout.ms" not in explicit:
            c["socket.timeout.ms"] = max(txn_timeout - 100, 900)
        elif txn_timeout + 100 < c["socket.timeout.ms"]:
            raise ConfigException("socket.timeout.ms", c["socket.timeout.ms"],
                                  "`socket.timeout.ms` must be set <= "
                                  f"`transaction.timeout.ms` + 100 = {txn_timeout + 100}")
        # "Ensure message.timeout.ms <= transaction.timeout.ms" (rd_kafka_topic_conf_finalize)
        if "delivery.timeout.ms" not in explicit:
            c["delivery.timeout.ms"] = txn_timeout
        elif c["delivery.timeout.ms"] > txn_timeout:
            raise ConfigException("message.timeout.ms", c["delivery.timeout.ms"],
                                  "`message.timeout.ms` must be set <= "
                                  f"`transaction.timeout.ms` = {txn_timeout}")
    if c["delivery.timeout.ms"] != 0 and c["delivery.timeout.ms"] <= c["linger.ms"]:
        if "linger.ms" in explicit:
            raise ConfigException("message.timeout.ms", c["delivery.timeout.ms"],
                                  "`message.timeout.ms` must be greater than `linger.ms` = "
                                  f"{c['linger.ms']}")
        c["linger.ms"] = max(0, c["delivery.timeout.ms"] - 1)
    c["message.timeout.ms"] = c["delivery.timeout.ms"]


def request_timeout_ms(config: Mapping[str, Any]) -> int:
    """How long a client waits for a request's answer before it gives up on it: Java's
    ``request.timeout.ms``; librdkafka's ``socket.timeout.ms`` (librdkafka's
    ``request.timeout.ms`` is only the broker-side ack timeout, CONFIGURATION.md)."""
    if config.get("client") == "java":
        return int(config["request.timeout.ms"])
    return int(config["socket.timeout.ms"])


def public(config: Mapping[str, Any]) -> dict[str, Any]:
    """The effective config without internal keys, for printing and JSON."""
    return {k: v for k, v in config.items() if not k.startswith("_")}
