"""Kafka's errors, named and numbered as Kafka names and numbers them.

The client API follows confluent-kafka: failures surface as :class:`KafkaException`
carrying a :class:`KafkaError` with ``code()``, ``name()``, ``str()``, ``fatal()``,
``retriable()`` and ``txn_requires_abort()``. Broker error codes are Kafka's protocol
codes (``Errors.java``); negative codes are librdkafka's local errors (``_STATE``,
``_FENCED``...). Bad configuration raises :class:`ConfigException`, worded like Kafka's.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

# name -> (code, retriable, description)
CODES: dict[str, tuple[int, bool, str]] = {
    "NONE": (0, False, "Success"),
    "UNKNOWN_SERVER_ERROR": (-1, False, "The server experienced an unexpected error when processing the request"),  # noqa: E501
    "OFFSET_OUT_OF_RANGE": (1, False, "The requested offset is not within the range kept"),
    "UNKNOWN_TOPIC_OR_PART": (3, True, "This server does not host this topic-partition"),
    "NOT_LEADER_OR_FOLLOWER": (6, True, "This server is not the leader for that partition"),
    "REQUEST_TIMED_OUT": (7, True, "The request timed out"),
    "NOT_COORDINATOR": (16, True, "This is not the correct coordinator"),
    "NOT_ENOUGH_REPLICAS": (19, True, "Fewer in-sync replicas than min.insync.replicas"),
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND": (20, True, "Appended to fewer replicas than required"),
    "ILLEGAL_GENERATION": (22, False, "The generation id is not the current generation"),
    "UNKNOWN_MEMBER_ID": (25, False, "The coordinator is not aware of this member"),
    "REBALANCE_IN_PROGRESS": (27, False, "The group is rebalancing"),
    "FENCED_INSTANCE_ID": (82, False, "A newer member with the same group.instance.id has joined"),
    "OUT_OF_ORDER_SEQUENCE_NUMBER": (45, False, "The broker received an out of order sequence number"),  # noqa: E501
    "DUPLICATE_SEQUENCE_NUMBER": (46, False, "The broker received a duplicate sequence number"),
    "INVALID_PRODUCER_EPOCH": (47, False, "Producer attempted to produce with an old epoch"),
    "INVALID_TXN_STATE": (48, False, "The producer attempted a transactional operation in an invalid state"),  # noqa: E501
    "INVALID_PRODUCER_ID_MAPPING": (49, False, "The producer id is not assigned to this transactional id"),  # noqa: E501
    "INVALID_TRANSACTION_TIMEOUT": (50, False, "transaction.timeout.ms exceeds transaction.max.timeout.ms"),  # noqa: E501
    "CONCURRENT_TRANSACTIONS": (51, True, "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing"),  # noqa: E501
    "UNKNOWN_PRODUCER_ID": (59, False, "The broker could not locate the producer metadata"),
    "UNSTABLE_OFFSET_COMMIT": (88, True, "There are unstable offsets that need to be cleared"),
    "PRODUCER_FENCED": (90, False, "There is a newer producer with the same transactionalId which fences the current one"),  # noqa: E501
    "TRANSACTION_ABORTABLE": (120, False, "The transaction must be aborted to continue using this transactional id"),  # noqa: E501
    # librdkafka local errors (negative codes), as confluent-kafka exposes them
    "_MSG_TIMED_OUT": (-192, False, "Local: Message timed out (delivery.timeout.ms expired)"),
    "_TIMED_OUT": (-185, True, "Local: Timed out"),
    "_FENCED": (-144, False, "Local: This instance has been fenced by a newer instance"),
    "_STATE": (-172, False, "Local: Erroneous state"),
    "_INVALID_ARG": (-186, False, "Local: Invalid argument or configuration"),
    "_FATAL": (-150, False, "Local: Fatal error"),
    "_DESTROY": (-197, False, "Local: Broker handle destroyed"),
    "_UNKNOWN_PARTITION": (-190, False, "Local: Unknown partition"),
    "_QUEUE_FULL": (-184, True, "Local: Queue full"),
    "_CONFLICT": (-173, True, "Local: Conflicting use"),
    "_PURGE_QUEUE": (-152, False, "Local: Purged in queue"),
    "_INCONSISTENT": (-149, False, "Local: Inconsistent state"),
    "_NOT_CONFIGURED": (-145, False, "Local: Functionality not configured"),
    "_TRANSPORT": (-195, True, "Local: Broker transport failure"),
    "_NO_OFFSET": (-168, False, "Local: No offset stored"),
    "_ASSIGNMENT_LOST": (-142, False, "Local: Group partition assignment lost"),
    "_PARTITION_EOF": (-191, False, "Broker: No more messages"),
    "COORDINATOR_LOAD_IN_PROGRESS": (14, True, "The coordinator is loading and hence can't process requests"),  # noqa: E501
    "COORDINATOR_NOT_AVAILABLE": (15, True, "The coordinator is not available"),
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": (53, False, "Transactional Id authorization failed"),  # noqa: E501
    "GROUP_AUTHORIZATION_FAILED": (30, False, "Group authorization failed"),
    "TOPIC_AUTHORIZATION_FAILED": (29, False, "Topic authorization failed"),
    "INVALID_MSG_SIZE": (4, False, "Invalid message size"),
    "MSG_SIZE_TOO_LARGE": (10, False, "Broker: Message size too large"),
    "UNSUPPORTED_FOR_MESSAGE_FORMAT": (43, False, "The message format version does not support the request"),  # noqa: E501
    "CLUSTER_AUTHORIZATION_FAILED": (31, False, "Cluster authorization failed"),
}

CODE_OF = {name: c[0] for name, c in CODES.items()}


class KafkaError:
    """One error, shaped like ``confluent_kafka.KafkaError``."""

    __slots__ = ("_name", "_msg", "_fatal", "_abortable", "_retriable")

    def __init__(
        self,
        name: str,
        msg: str | None = None,
        *,
        fatal: bool = False,
        txn_requires_abort: bool = False,
        retriable: bool | None = None,
    ) -> None:
        if name not in CODES:
            raise ValueError(f"unknown Kafka error name {name!r}")
        self._name = name
        self._msg = msg or CODES[name][2]
        self._fatal = fatal
        self._abortable = txn_requires_abort
        self._retriable = CODES[name][1] if retriable is None else retriable

    def code(self) -> int:
        """Kafka's numeric error code (negative for librdkafka local errors)."""
        return CODES[self._name][0]

    def name(self) -> str:
        """The error's name, e.g. ``OUT_OF_ORDER_SEQUENCE_NUMBER``."""
        return self._name

    def str(self) -> str:
        """Human-readable description."""
        return self._msg

    def fatal(self) -> bool:
        """True when the client instance can no longer be used (e.g. fenced)."""
        return self._fatal

    def retriable(self) -> bool:
        """True when repeating the operation may succeed."""
        return self._retriable

    def txn_requires_abort(self) -> bool:
        """True when the current transaction must be aborted before going on."""
        return self._abortable

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KafkaError):
            return self._name == other._name
        if isinstance(other, int):
            return self.code() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._name)

    def __str__(self) -> str:
        return f"{self._name}: {self._msg}"

    def __repr__(self) -> str:
        return f"KafkaError{{code={self._name},val={self.code()},str=\"{self._msg}\"}}"


class KafkaException(Exception):
    """Raised by client calls; ``args[0]`` is the :class:`KafkaError`."""

    def __init__(self, error: KafkaError) -> None:
        super().__init__(error)

    @property
    def error(self) -> KafkaError:
        """The :class:`KafkaError` carried."""
        return self.args[0]

    def __str__(self) -> str:
        return str(self.args[0])


class ConfigException(ValueError):
    """Invalid configuration, worded like Kafka's ``ConfigException``.

    The message names the key, the bad value and what is allowed, e.g.
    ``Invalid value maybe for configuration enable.idempotence: Expected value to be
    one of true, false``.
    """

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"Invalid value {value!r} for configuration {key}: {allowed}")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def timed_out_name(client: str) -> str:
    """The name of an API call's timeout, per client. librdkafka: its local ``_TIMED_OUT``.
    Java: ``org.apache.kafka.common.errors.TimeoutException``, named as the simulator names
    every Java exception that has a Kafka error code: by the code ``Errors.forException``
    gives it (``REQUEST_TIMED_OUT(7, ..., TimeoutException::new)``, Errors.java), which is
    also what the real Java driver records (eoslib/real/java/Driver.java ``error``).
    (Java exceptions without a code, such as IllegalStateException, keep librdkafka's
    nearest local name, ``_STATE``.)"""
    return "REQUEST_TIMED_OUT" if client == "java" else "_TIMED_OUT"
