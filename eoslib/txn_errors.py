"""How each client classifies each error of each transactional request: retry, abort or die.

One table per client, keyed by request then by broker error, read by the simulated
producer (``txn_manager.py``, ``sender.py``) and by the oracle tests. An action is one of

* ``retry``: send the request again after a backoff (the API call waits, or returns a
  retriable error at its timeout while the request goes on in the background);
* ``abortable``: the transaction fails; the application must call ``abort_transaction``;
* ``abortable_bump``: the same, and the abort also bumps the producer epoch (KIP-360);
* ``fatal``: the producer is unusable; close it (``fenced`` is a fatal error that the client
  reports under its fencing name: librdkafka ``_FENCED``, Java ``PRODUCER_FENCED``).

Sources. librdkafka (confluentinc/librdkafka, src/rdkafka_txnmgr.c):
``rd_kafka_txn_handle_AddPartitionsToTxn``, ``rd_kafka_txn_handle_AddOffsetsToTxn``,
``rd_kafka_txn_handle_TxnOffsetCommit``, ``rd_kafka_txn_handle_EndTxn`` and
``rd_kafka_txn_normalize_err`` (INVALID_PRODUCER_EPOCH and PRODUCER_FENCED -> ``_FENCED``);
InitProducerId: src/rdkafka_idempotence.c ``rd_kafka_idemp_check_error`` and
``rd_kafka_idemp_request_pid_failed`` (anything else is retried after 500 ms); Produce:
src/rdkafka_request.c ``rd_kafka_handle_Produce_error`` and
``rd_kafka_handle_idempotent_Produce_error``. Java (apache/kafka, clients/.../producer/
internals/TransactionManager.java): ``InitProducerIdHandler``, ``AddPartitionsToTxnHandler``,
``AddOffsetsToTxnHandler``, ``TxnOffsetCommitHandler``, ``EndTxnHandler`` (a
``RetriableException`` is re-enqueued; ``abortableErrorIfPossible`` asks for an epoch bump)
and ``maybeTransitionToErrorState`` for failed batches (every abortable batch error asks
for an epoch bump when the coordinator supports it).
"""

from __future__ import annotations

from typing import Literal

Action = Literal["retry", "abortable", "abortable_bump", "fatal", "fenced"]

#: broker errors Java's client maps to a RetriableException (Errors.java); a lost answer
#: (REQUEST_TIMED_OUT here) is retried by every handler
JAVA_RETRIABLE = frozenset({
    "NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "COORDINATOR_LOAD_IN_PROGRESS",
    "CONCURRENT_TRANSACTIONS", "UNKNOWN_TOPIC_OR_PART", "REQUEST_TIMED_OUT",
    "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NOT_LEADER_OR_FOLLOWER",
    "UNSTABLE_OFFSET_COMMIT",
})

_RDK_AUTH = {"TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "fatal",
             "CLUSTER_AUTHORIZATION_FAILED": "fatal"}

#: librdkafka: request -> error -> action; an error not listed takes ``_default``
LIBRDKAFKA: dict[str, dict[str, Action]] = {
    "InitProducerId": {  # rd_kafka_idemp_check_error; everything else: retry after 500 ms
        "INVALID_TRANSACTION_TIMEOUT": "fatal", **_RDK_AUTH,
        "INVALID_PRODUCER_EPOCH": "fenced", "PRODUCER_FENCED": "fenced",
        "_default": "retry",
    },
    "AddPartitionsToTxn": {
        "NOT_COORDINATOR": "retry", "COORDINATOR_NOT_AVAILABLE": "retry",
        "CONCURRENT_TRANSACTIONS": "retry", "COORDINATOR_LOAD_IN_PROGRESS": "retry",
        "UNKNOWN_TOPIC_OR_PART": "retry", "REQUEST_TIMED_OUT": "retry",
        "INVALID_PRODUCER_EPOCH": "fenced", "PRODUCER_FENCED": "fenced",
        **_RDK_AUTH, "INVALID_TXN_STATE": "fatal",
        "UNKNOWN_PRODUCER_ID": "abortable_bump", "INVALID_PRODUCER_ID_MAPPING": "abortable_bump",
        "_default": "abortable",
    },
    "AddOffsetsToTxn": {
        "REQUEST_TIMED_OUT": "retry", "NOT_COORDINATOR": "retry",
        "COORDINATOR_NOT_AVAILABLE": "retry", "UNKNOWN_TOPIC_OR_PART": "retry",
        "COORDINATOR_LOAD_IN_PROGRESS": "retry", "CONCURRENT_TRANSACTIONS": "retry",
        # only INVALID_PRODUCER_EPOCH is in the fatal list; PRODUCER_FENCED falls to the
        # default (permanent -> abortable), reported under the normalised name _FENCED
        "INVALID_PRODUCER_EPOCH": "fenced", **_RDK_AUTH,
        "INVALID_TXN_STATE": "fatal",
        "_default": "abortable",
    },
    "TxnOffsetCommit": {
        "NOT_COORDINATOR": "retry", "COORDINATOR_NOT_AVAILABLE": "retry",
        "REQUEST_TIMED_OUT": "retry", "CONCURRENT_TRANSACTIONS": "retry",
        "COORDINATOR_LOAD_IN_PROGRESS": "retry", "UNKNOWN_TOPIC_OR_PART": "retry",
        **_RDK_AUTH, "INVALID_PRODUCER_ID_MAPPING": "fatal",
        "INVALID_PRODUCER_EPOCH": "fenced", "INVALID_TXN_STATE": "fatal",
        "ILLEGAL_GENERATION": "abortable", "UNKNOWN_MEMBER_ID": "abortable",
        "FENCED_INSTANCE_ID": "abortable",
        "_default": "abortable",
    },
    "EndTxn": {
        "REQUEST_TIMED_OUT": "retry", "NOT_COORDINATOR": "retry",
        "COORDINATOR_NOT_AVAILABLE": "retry", "COORDINATOR_LOAD_IN_PROGRESS": "retry",
        "CONCURRENT_TRANSACTIONS": "retry",
        "UNKNOWN_PRODUCER_ID": "abortable_bump", "INVALID_PRODUCER_ID_MAPPING": "abortable_bump",
        "INVALID_PRODUCER_EPOCH": "fenced", "PRODUCER_FENCED": "fenced",
        **_RDK_AUTH, "INVALID_TXN_STATE": "fatal",
        "_default": "abortable",
    },
    "Produce": {  # transactional producer (rd_kafka_handle_Produce_error)
        "INVALID_PRODUCER_EPOCH": "fenced",
        "UNKNOWN_PRODUCER_ID": "abortable_bump",
        "OUT_OF_ORDER_SEQUENCE_NUMBER": "abortable_bump",  # drain, then bump (r > 0 case)
        # message timeouts leave a sequence gap: drain and bump the epoch
        # (rd_kafka_broker_produce_toppar -> rd_kafka_idemp_drain_epoch_bump)
        "_MSG_TIMED_OUT": "abortable_bump",
        "_default": "abortable",
    },
}

_J_FENCED = {"INVALID_PRODUCER_EPOCH": "fenced", "PRODUCER_FENCED": "fenced"}

#: Java: request -> error -> action (retriable errors: see :data:`JAVA_RETRIABLE`)
JAVA: dict[str, dict[str, Action]] = {
    "InitProducerId": {
        **_J_FENCED,
        # "Abortable authorization error" (InitProducerIdHandler)
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "abortable",
        "CLUSTER_AUTHORIZATION_FAILED": "abortable",
        "TRANSACTION_ABORTABLE": "abortable",
        "_default": "fatal",  # "Unexpected error in InitProducerIdResponse"
    },
    "AddPartitionsToTxn": {
        **_J_FENCED,
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "fatal", "INVALID_TXN_STATE": "fatal",
        "UNKNOWN_PRODUCER_ID": "abortable_bump", "INVALID_PRODUCER_ID_MAPPING": "abortable_bump",
        "TRANSACTION_ABORTABLE": "abortable",
        "_default": "abortable",  # "Could not add partitions to transaction due to errors"
    },
    "AddOffsetsToTxn": {
        **_J_FENCED,
        "UNKNOWN_PRODUCER_ID": "abortable_bump", "INVALID_PRODUCER_ID_MAPPING": "abortable_bump",
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "fatal", "INVALID_TXN_STATE": "fatal",
        "GROUP_AUTHORIZATION_FAILED": "abortable", "TRANSACTION_ABORTABLE": "abortable",
        "_default": "fatal",  # "Unexpected error in AddOffsetsToTxnResponse"
    },
    "TxnOffsetCommit": {
        **_J_FENCED,
        "GROUP_AUTHORIZATION_FAILED": "abortable", "FENCED_INSTANCE_ID": "abortable",
        "TRANSACTION_ABORTABLE": "abortable",
        # CommitFailedException("Transaction offset Commit failed due to consumer group
        # metadata mismatch")
        "UNKNOWN_MEMBER_ID": "abortable", "ILLEGAL_GENERATION": "abortable",
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "fatal",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT": "fatal",
        "_default": "fatal",  # "Unexpected error in TxnOffsetCommitResponse"
    },
    "EndTxn": {
        **_J_FENCED,
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED": "fatal", "INVALID_TXN_STATE": "fatal",
        "UNKNOWN_PRODUCER_ID": "abortable_bump", "INVALID_PRODUCER_ID_MAPPING": "abortable_bump",
        "TRANSACTION_ABORTABLE": "abortable",
        "_default": "fatal",  # "Unhandled error in EndTxnResponse"
    },
    "Produce": {  # maybeTransitionToErrorState: ProducerFencedException is fatal; every
        # other failed batch of a transactional producer is abortable with an epoch bump
        "PRODUCER_FENCED": "fenced",
        "_default": "abortable_bump",
    },
}

TABLES = {"librdkafka": LIBRDKAFKA, "java": JAVA}

#: the request versions librdkafka sends (rd_kafka_broker_ApiVersion_supported ranges in
#: src/rdkafka_request.c: AddPartitionsToTxn 0..0, AddOffsetsToTxn 0..0, EndTxn 0..1,
#: InitProducerId 0..4; src/rdkafka_txnmgr.c: TxnOffsetCommit 0..3); Java sends the latest
LIBRDKAFKA_VERSIONS = {"AddPartitionsToTxn": 0, "AddOffsetsToTxn": 0, "EndTxn": 1,
                       "InitProducerId": 4, "TxnOffsetCommit": 3}
#: below these versions the broker answers INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED
#: ("For older clients, they could not understand the new PRODUCER_FENCED error code",
#: KafkaApis.handleInitProducerIdRequest/handleEndTxnRequest/
#: handleAddPartitionsToTxnRequest/handleAddOffsetsToTxnRequest, KIP-588)
PRODUCER_FENCED_SINCE = {"AddPartitionsToTxn": 2, "AddOffsetsToTxn": 2, "EndTxn": 2,
                         "InitProducerId": 4}


def wire_error(client: str, request: str, error: str | None) -> str | None:
    """The error as the broker sends it to ``client``'s request version."""
    if error == "PRODUCER_FENCED" and client == "librdkafka" and \
            LIBRDKAFKA_VERSIONS.get(request, 99) < PRODUCER_FENCED_SINCE.get(request, 0):
        return "INVALID_PRODUCER_EPOCH"
    return error


def classify(client: str, request: str, error: str) -> Action:
    """What ``client`` does when ``request`` fails with broker ``error``."""
    if client == "java" and request != "Produce" and error in JAVA_RETRIABLE:
        return "retry"
    table = TABLES[client][request]
    return table.get(error, table["_default"])


def fenced_name(client: str) -> str:
    """The name under which ``client`` reports fencing: librdkafka normalises
    INVALID_PRODUCER_EPOCH and PRODUCER_FENCED to ``_FENCED``
    (``rd_kafka_txn_normalize_err``); Java throws ``ProducerFencedException``
    (``Errors.PRODUCER_FENCED``)."""
    return "_FENCED" if client == "librdkafka" else "PRODUCER_FENCED"
