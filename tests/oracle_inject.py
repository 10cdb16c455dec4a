"""Test helpers for the client oracles: inject broker errors into one kind of request, the way
librdkafka's mock cluster does (``rd_kafka_mock_push_request_errors``) and Kafka's
``MockClient.prepareResponse`` does: the next N requests of that kind are answered with the
given errors, unprocessed; later requests are handled normally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib import KafkaError, KafkaException, Simulation
from eoslib.consumer import GroupMetadata

TXN = "myTxnId"
GROUP = "mygroupid"

#: request name -> (object attribute path, how its handler answers)
TARGETS = {
    "InitProducerId": ("txn", "handle_init_producer_id"),
    "AddPartitionsToTxn": ("txn", "handle_add_partitions"),
    "AddOffsetsToTxn": ("txn", "handle_add_offsets"),
    "EndTxn": ("txn", "handle_end_txn"),
    "TxnOffsetCommit": ("group", "txn_commit"),
    "OffsetCommit": ("group", "commit"),
    "Produce": ("cluster", "handle_produce"),
}


def push_errors(sim: Simulation, request: str, *errors: str | None,
                delay_ms: float = 0.0) -> list[Any]:
    """The next ``len(errors)`` ``request``s get these errors (None: handled normally, but
    answered ``delay_ms`` later, like the mock's request RTT; "DROP": never answered, so
    the client times out). Returns the log of calls."""
    where, name = TARGETS[request]
    obj = {"txn": sim.cluster.txn_coordinator, "group": sim.cluster.group_coordinator,
           "cluster": sim.cluster}[where]
    orig = getattr(obj, name)
    queue = list(errors)
    calls: list[Any] = []

    def respond_later(respond: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
        def later(resp: dict[str, Any]) -> None:
            sim.kernel.schedule(delay_ms, respond, resp)
        return later if delay_ms else respond

    if where == "group":  # returns its error instead of answering through a callback
        def group_wrapper(*args: Any) -> str | None:
            calls.append(args)
            if queue:
                err = queue.pop(0)
                if err is not None:
                    return err
            return orig(*args)
        setattr(obj, name, group_wrapper)
        return calls

    def wrapper(*args: Any) -> None:
        calls.append(args)
        args_l = list(args)
        idx = 2 if request == "Produce" else (2 if request == "InitProducerId" else -1)
        respond = args_l[idx]
        if queue:
            err = queue.pop(0)
            if err == "DROP":
                return
            if err is not None:
                sim.kernel.schedule(delay_ms, respond, {"error": err})
                return
            args_l[idx] = respond_later(respond)
        orig(*args_l)

    setattr(obj, name, wrapper)
    return calls


def new_producer(client: str, tv: str = "2", **conf: Any) -> tuple[Simulation, Any]:
    """A simulation (cluster ``transaction.version`` ``tv``) and a transactional producer."""
    sim = Simulation(seed=0, cluster={"transaction.version": tv})
    sim.create_topic("mytopic", 1)
    sim.create_topic("srctopic4", 4)
    p = sim.Producer({"transactional.id": TXN, "client": client, "linger.ms": 0, **conf})
    return sim, p


def group_metadata() -> GroupMetadata:
    """``rd_kafka_consumer_group_metadata_new("mygroupid")``: no member, no generation."""
    return GroupMetadata(GROUP, -1, "")


def offsets() -> list[Any]:
    from eoslib import TopicPartition
    return [TopicPartition("srctopic4", 3, 12)]


def error_of(fn: Callable[[], Any]) -> KafkaError | None:
    try:
        fn()
    except KafkaException as e:
        return e.error
    return None


def flags(err: KafkaError | None) -> tuple[str, bool, bool, bool] | None:
    """(name, retriable, txn_requires_abort, fatal), as librdkafka's tests assert them."""
    if err is None:
        return None
    return err.name(), err.retriable(), err.txn_requires_abort(), err.fatal()
