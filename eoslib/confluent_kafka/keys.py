"""Every configuration key of confluent-kafka / librdkafka, and what the simulator does with it.

One table per fate (librdkafka's CONFIGURATION.md, v2.15-2.16, and the Python client's own
keys from ``common_conf_setup`` in confluent-kafka's src/confluent_kafka/src/confluent_kafka.c):

* :data:`SIMULATED`: the key changes the simulated client as it changes librdkafka, under
  the simulator's name for it (``queue.buffering.max.ms`` is ``linger.ms``...);
* :data:`HANDLED`: keys :mod:`eoslib.confluent_kafka` itself honours (callbacks, topic
  auto-creation, the producer queue limit);
* :data:`ONLY`: keys simulated for one value only; another value is a
  :class:`~eoslib.errors.ConfigException` naming the key, the value and what is allowed;
* :data:`NOT_SIMULATED`: accepted, and without effect, each with its reason (logging,
  statistics, security, sockets, byte budgets...): nothing is silently given meaning.

A key in none of them is not a librdkafka key: like confluent-kafka, the client refuses it
(``KafkaException`` ``_INVALID_ARG`` "No such configuration property"). A consumer key given
to a producer (or the reverse) is ignored with librdkafka's CONFWARN line.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from eoslib.config import KINDS
from eoslib.errors import ConfigException, did_you_mean

# --------------------------------------------------------------------------- simulated
#: librdkafka key -> the simulator's key (eoslib.config), same meaning
SIMULATED: dict[str, str] = {
    "bootstrap.servers": "bootstrap.servers", "metadata.broker.list": "bootstrap.servers",
    "client.id": "client.id", "socket.timeout.ms": "socket.timeout.ms",
    "retry.backoff.ms": "retry.backoff.ms", "retry.backoff.max.ms": "retry.backoff.max.ms",
    # producer
    "enable.idempotence": "enable.idempotence", "acks": "acks",
    "request.required.acks": "acks", "retries": "retries",
    "message.send.max.retries": "retries",
    "max.in.flight": "max.in.flight.requests.per.connection",
    "max.in.flight.requests.per.connection": "max.in.flight.requests.per.connection",
    "message.timeout.ms": "delivery.timeout.ms", "delivery.timeout.ms": "delivery.timeout.ms",
    "request.timeout.ms": "request.timeout.ms", "linger.ms": "linger.ms",
    "queue.buffering.max.ms": "linger.ms", "batch.size": "batch.size",
    "transactional.id": "transactional.id", "transaction.timeout.ms": "transaction.timeout.ms",
    # consumer
    "group.id": "group.id", "group.instance.id": "group.instance.id",
    "session.timeout.ms": "session.timeout.ms", "heartbeat.interval.ms": "heartbeat.interval.ms",
    "max.poll.interval.ms": "max.poll.interval.ms", "enable.auto.commit": "enable.auto.commit",
    "auto.commit.enable": "enable.auto.commit",
    "auto.commit.interval.ms": "auto.commit.interval.ms",
    "enable.auto.offset.store": "enable.auto.offset.store",
    "auto.offset.reset": "auto.offset.reset", "isolation.level": "isolation.level",
    "fetch.wait.max.ms": "fetch.max.wait.ms", "enable.partition.eof": "enable.partition.eof",
    "partition.assignment.strategy": "partition.assignment.strategy",
}
#: librdkafka spellings of values -> the simulator's (``auto.offset.reset``)
OFFSET_RESET = {"smallest": "earliest", "earliest": "earliest", "beginning": "earliest",
                "largest": "latest", "latest": "latest", "end": "latest", "error": "none"}
#: group assignors the simulated group coordinator implements (eager rebalancing)
ASSIGNORS = ("range", "roundrobin")

# ----------------------------------------------------------------------------- handled
#: keys this package honours itself, and how
HANDLED: dict[str, str] = {
    "error_cb": "a producer calls it from poll()/flush() with its fatal error as _FATAL (as "
                "librdkafka's rd_kafka_set_fatal_error0 does); transient connection errors "
                "(_TRANSPORT, _ALL_BROKERS_DOWN) are not reported; a consumer's errors come "
                "from poll() as messages, as in librdkafka",
    "on_delivery": "the default delivery callback of produce()",
    "delivery.report.only.error": "delivery callbacks only for failed messages",
    "on_commit": "called from poll() after each offset commit with (error, partitions)",
    "queue.buffering.max.messages": "produce() raises BufferError when this many messages "
                                    "await delivery (0: no limit)",
    "allow.auto.create.topics": "a consumer creates the topics it subscribes to (1 partition)",
    "default.topic.config": "a dict of topic keys merged into the configuration",
}

# --------------------------------------------------------------------------- one value
#: key -> (the value simulated, why no other)
ONLY: dict[str, tuple[str, str]] = {
    "socket.max.fails": ("1", "the simulated connection fails every in-flight request at "
                              "the first timed-out one, as socket.max.fails=1 does"),
    "queuing.strategy": ("fifo", "the simulated producer queue is first in, first out"),
    "enable.gapless.guarantee": ("false", "the experimental gapless guarantee is not "
                                          "simulated"),
    "offset.store.method": ("broker", "offsets are committed to the group coordinator"),
    "group.protocol": ("classic", "the simulated group coordinator speaks the classic "
                                  "protocol (KIP-848's consumer protocol is not simulated)"),
    "group.protocol.type": ("consumer", "only consumer groups are simulated"),
    "partitioner": ("consistent_random", "the simulated producer partitions as librdkafka's "
                                         "default does (CRC32 of the key, sticky for none)"),
}

# ----------------------------------------------------------------------- not simulated
_LOG = "logging and debug output: the simulated clients write no log lines (the run's " \
       "trace holds what happened)"
_STATS = "statistics: the simulated clients emit no statistics"
_SECURITY = "security (TLS, SASL, OAuth): the simulated brokers need no authentication"
_SOCKET = "connection plumbing (sockets, DNS, reconnects): the simulated network has " \
          "none; its faults are placed by the fault plan"
_METADATA = "metadata refresh: a simulated client always sees the cluster's current " \
            "metadata"
_VERSION = "protocol version negotiation: the simulated brokers speak the versions " \
           "the model implements"
_SIZE = "byte and count budgets: the simulation keeps no byte limits for messages, " \
        "fetches or queues"
_CODEC = "encoding: records are not encoded, so there is nothing to compress or check"
_PLUGIN = "plugins and interceptors: none are loaded"
_C_CB = "a librdkafka C callback: confluent-kafka sets its own (use the Python callbacks)"
_BACKOFF = "fetch backoff: fetch errors are not simulated"
_FILE = "deprecated file offset store: offsets are committed to the broker"
_SHARE = "share consumers (KIP-932) are not simulated"

NOT_SIMULATED: dict[str, str] = {
    **dict.fromkeys(("debug", "log_level", "log.queue", "log.thread.name",
                     "log.connection.close", "log_cb", "logger", "enabled_events",
                     "background_event_cb"), _LOG),
    **dict.fromkeys(("statistics.interval.ms", "stats_cb", "enable.metrics.push"), _STATS),
    **dict.fromkeys((
        "security.protocol", "ssl.cipher.suites", "ssl.curves.list", "ssl.sigalgs.list",
        "ssl.key.location", "ssl.key.password", "ssl.key.pem", "ssl_key",
        "ssl.certificate.location", "ssl.certificate.pem", "ssl_certificate",
        "ssl.ca.location", "https.ca.location", "https.ca.pem", "ssl.ca.pem", "ssl_ca",
        "ssl.ca.certificate.stores", "ssl.crl.location", "ssl.keystore.location",
        "ssl.keystore.password", "ssl.providers", "ssl.engine.location", "ssl.engine.id",
        "ssl_engine_callback_data", "enable.ssl.certificate.verification",
        "ssl.endpoint.identification.algorithm", "ssl.certificate.verify_cb",
        "sasl.mechanisms", "sasl.mechanism", "sasl.kerberos.service.name",
        "sasl.kerberos.principal", "sasl.kerberos.kinit.cmd", "sasl.kerberos.keytab",
        "sasl.kerberos.min.time.before.relogin", "sasl.username", "sasl.password",
        "sasl.oauthbearer.config", "enable.sasl.oauthbearer.unsecure.jwt",
        "oauthbearer_token_refresh_cb", "oauth_cb", "sasl.oauthbearer.method",
        "sasl.oauthbearer.client.id", "sasl.oauthbearer.client.credentials.client.id",
        "sasl.oauthbearer.client.credentials.client.secret", "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.scope", "sasl.oauthbearer.extensions",
        "sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.sub.claim.name",
        "sasl.oauthbearer.grant.type", "sasl.oauthbearer.assertion.algorithm",
        "sasl.oauthbearer.assertion.private.key.file",
        "sasl.oauthbearer.assertion.private.key.passphrase",
        "sasl.oauthbearer.assertion.private.key.pem", "sasl.oauthbearer.assertion.file",
        "sasl.oauthbearer.assertion.claim.aud", "sasl.oauthbearer.assertion.claim.exp.seconds",
        "sasl.oauthbearer.assertion.claim.iss", "sasl.oauthbearer.assertion.claim.jti.include",
        "sasl.oauthbearer.assertion.claim.nbf.seconds", "sasl.oauthbearer.assertion.claim.sub",
        "sasl.oauthbearer.assertion.jwt.template.file",
        "sasl.oauthbearer.metadata.authentication.type"), _SECURITY),
    **dict.fromkeys((
        "socket.blocking.max.ms", "socket.send.buffer.bytes", "socket.receive.buffer.bytes",
        "socket.keepalive.enable", "socket.nagle.disable", "broker.address.ttl",
        "broker.address.family", "socket.connection.setup.timeout.ms",
        "connections.max.idle.ms", "reconnect.backoff.jitter.ms", "reconnect.backoff.ms",
        "reconnect.backoff.max.ms", "client.dns.lookup", "socket_cb", "connect_cb",
        "closesocket_cb", "open_cb", "resolve_cb"), _SOCKET),
    **dict.fromkeys((
        "metadata.recovery.strategy", "metadata.recovery.rebootstrap.trigger.ms",
        "topic.metadata.refresh.interval.ms", "metadata.max.age.ms",
        "topic.metadata.refresh.fast.interval.ms", "topic.metadata.refresh.fast.cnt",
        "topic.metadata.refresh.sparse", "topic.metadata.propagation.max.ms",
        "topic.blacklist", "coordinator.query.interval.ms"), _METADATA),
    **dict.fromkeys(("api.version.request", "api.version.request.timeout.ms",
                     "api.version.fallback.ms", "broker.version.fallback"), _VERSION),
    **dict.fromkeys((
        "message.max.bytes", "message.copy.max.bytes", "receive.message.max.bytes",
        "queued.min.messages", "queued.max.messages.kbytes", "fetch.message.max.bytes",
        "max.partition.fetch.bytes", "fetch.max.bytes", "fetch.min.bytes",
        "queue.buffering.max.kbytes", "queue.buffering.backpressure.threshold",
        "batch.num.messages"), _SIZE),
    **dict.fromkeys(("compression.codec", "compression.type", "compression.level",
                     "check.crcs"), _CODEC),
    **dict.fromkeys(("plugin.library.paths", "interceptors"), _PLUGIN),
    **dict.fromkeys(("opaque", "default_topic_conf", "consume_cb", "rebalance_cb",
                     "offset_commit_cb", "dr_cb", "dr_msg_cb", "partitioner_cb",
                     "msg_order_cmp", "consume.callback.max.messages"), _C_CB),
    **dict.fromkeys(("fetch.queue.backoff.ms", "fetch.error.backoff.ms"), _BACKOFF),
    **dict.fromkeys(("offset.store.path", "offset.store.sync.interval.ms"), _FILE),
    **dict.fromkeys(("share.acknowledgement.mode", "max.poll.records"), _SHARE),
    "throttle_cb": "the simulated brokers never throttle, so it is never called",
    "client.rack": "rack-aware fetching (KIP-392): the simulated consumer fetches from the "
                   "leader",
    "enable.random.seed": "the simulation draws from its own seeded generator",
    "builtin.features": "read-only in librdkafka: the features it was built with",
    "internal.termination.signal": "the simulated clients have no threads to wake",
    "produce.offset.report": "deprecated: librdkafka always reports offsets",
    "sticky.partitioning.linger.ms": "the simulated producer moves a keyless record's "
                                     "sticky partition when its batch is sent (KIP-480), "
                                     "not on a timer",
    "group.remote.assignor": "KIP-848's consumer protocol is not simulated",
}

#: librdkafka's scope of each key that belongs to one client kind only
CONSUMER_ONLY = frozenset((
    "group.id", "group.instance.id", "partition.assignment.strategy", "session.timeout.ms",
    "heartbeat.interval.ms", "group.protocol.type", "group.protocol", "group.remote.assignor",
    "coordinator.query.interval.ms", "max.poll.interval.ms", "enable.auto.commit",
    "auto.commit.enable", "auto.commit.interval.ms", "enable.auto.offset.store",
    "queued.min.messages", "queued.max.messages.kbytes", "fetch.wait.max.ms",
    "fetch.queue.backoff.ms", "fetch.message.max.bytes", "max.partition.fetch.bytes",
    "fetch.max.bytes", "fetch.min.bytes", "fetch.error.backoff.ms", "offset.store.method",
    "isolation.level", "consume_cb", "rebalance_cb", "offset_commit_cb",
    "enable.partition.eof", "check.crcs", "max.poll.records", "share.acknowledgement.mode",
    "auto.offset.reset", "offset.store.path", "offset.store.sync.interval.ms",
    "consume.callback.max.messages", "on_commit"))
PRODUCER_ONLY = frozenset((
    "transactional.id", "transaction.timeout.ms", "enable.idempotence",
    "enable.gapless.guarantee", "queue.buffering.max.messages", "queue.buffering.max.kbytes",
    "queue.buffering.max.ms", "linger.ms", "message.send.max.retries", "retries",
    "queue.buffering.backpressure.threshold", "compression.codec", "compression.type",
    "compression.level", "batch.num.messages", "batch.size", "delivery.report.only.error",
    "dr_cb", "dr_msg_cb", "sticky.partitioning.linger.ms", "request.required.acks", "acks",
    "request.timeout.ms", "message.timeout.ms", "delivery.timeout.ms", "queuing.strategy",
    "produce.offset.report", "partitioner", "partitioner_cb", "msg_order_cmp",
    "on_delivery"))

#: every key a confluent-kafka client accepts
KNOWN = frozenset(SIMULATED) | frozenset(HANDLED) | frozenset(ONLY) | frozenset(NOT_SIMULATED)


def translate(kind: str, conf: Mapping[str, Any], name: str = "") -> tuple[
        dict[str, Any], dict[str, Any], dict[str, str]]:
    """Split a confluent-kafka configuration for a ``kind`` (``producer``/``consumer``)
    client into (the simulator's config, the keys this package handles, the keys accepted
    without effect -> their reason). Raises ``KafkaException`` for a key librdkafka does not
    have, :class:`ConfigException` for a value the simulator cannot honour."""
    from eoslib.confluent_kafka.errors import KafkaError, KafkaException

    flat = dict(conf)
    topic_conf = flat.pop("default.topic.config", None)
    if isinstance(topic_conf, Mapping):
        flat.update(topic_conf)
    core_keys = KINDS[kind]
    other = CONSUMER_ONLY if kind == "producer" else PRODUCER_ONLY
    out: dict[str, Any] = {"client": "librdkafka"}
    handled: dict[str, Any] = {}
    ignored: dict[str, str] = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise TypeError("expected configuration property name as type unicode string")
        if key not in KNOWN:
            raise KafkaException(KafkaError(
                KafkaError._INVALID_ARG, f'No such configuration property: "{key}"'
                + did_you_mean(key, KNOWN)))
        if key in other:
            print(f"%4|CONFWARN|{name or kind}| Configuration property {key} is a "
                  f"{'consumer' if kind == 'producer' else 'producer'} property and will be "
                  f"ignored by this {kind} instance", file=sys.stderr)
            continue
        if key in NOT_SIMULATED:
            ignored[key] = NOT_SIMULATED[key]
        elif key in HANDLED:
            handled[key] = value
        elif key in ONLY:
            allowed, why = ONLY[key]
            if str(value).lower() != allowed:
                raise ConfigException(key, value, f"Expected {allowed}: {why}")
        else:
            target = key if key in core_keys else SIMULATED[key]  # the simulator's name
            if target not in core_keys:
                ignored[key] = f"no effect on a simulated {kind}"
                continue
            out[target] = _value(key, value)
    return out, handled, ignored


def _value(key: str, value: Any) -> Any:
    """librdkafka's spelling of a value as the simulator's."""
    if key == "auto.offset.reset":
        v = str(value).lower()
        if v not in OFFSET_RESET:
            raise ConfigException(key, value, "Expected one of " + ", ".join(OFFSET_RESET))
        return OFFSET_RESET[v]
    if key == "partition.assignment.strategy":
        names = [s.strip() for s in str(value).split(",") if s.strip()]
        bad = [n for n in names if n not in ASSIGNORS]
        if bad or not names:
            raise ConfigException(key, value, "Expected range and/or roundrobin: the "
                                  "simulated group coordinator rebalances eagerly "
                                  "(cooperative-sticky is not simulated)")
        return names[0]  # the group leader prefers the first eligible strategy
    return value
