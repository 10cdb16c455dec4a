"""Waiting for a started broker to be ready: listener open, metadata, coordinators up."""

from __future__ import annotations

import gc
import logging
import socket
import time
from typing import Any

from eoslib.real.broker_process import _pid_alive
from eoslib.real.broker_state import BrokerState
from eoslib.real.errors import BrokerError, NeedsError

_LOG = logging.getLogger("eoslib.real.broker")
_LOG.addHandler(logging.NullHandler())  # the readiness clients' librdkafka logs


def _wait_ready(st: BrokerState, deadline: float) -> None:
    """TCP connect to the PLAINTEXT listener, then an admin ``list_topics`` that succeeds."""
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError as e:
        raise NeedsError("needs the confluent-kafka Python package (pip install)") from e

    def check_alive() -> None:
        if not _pid_alive(st.pid):
            raise BrokerError(
                f"the broker exited during startup; see {st.log} (`eoslib broker log`)"
            )

    while True:
        check_alive()
        try:
            with socket.create_connection((st.host, st.port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker did not open {st.bootstrap} in time") from None
            time.sleep(0.2)
    admin = AdminClient(_client_conf(st, **{"socket.timeout.ms": 5000}))
    try:
        while True:
            check_alive()
            try:
                if admin.list_topics(timeout=5).brokers:
                    break
            except Exception:  # noqa: BLE001 - KafkaException while the broker comes up
                pass
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker at {st.bootstrap} did not answer metadata in time")
            time.sleep(0.2)
    finally:
        del admin
    _warm_up(st, deadline)
    gc.collect()  # destroy the clients now, not at interpreter exit (librdkafka may crash)


def _client_conf(st: BrokerState, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": st.bootstrap, "logger": _LOG, **extra}


def _warm_up(st: BrokerState, deadline: float) -> None:
    """Create the internal topics now, so the first experiment does not wait for them.

    A group's first committed-offset lookup creates ``__consumer_offsets`` and a first
    ``init_transactions`` creates ``__transaction_state``; both then load their partitions
    ("coordinator load in progress"). A fresh client hitting that window can stall.
    """
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    # (AdminClient.list_consumer_group_offsets would do, but confluent-kafka 2.16.1 was
    # seen to segfault when its result arrives while the coordinator is still loading.)
    consumer = Consumer(_client_conf(st, **{"group.id": "eoslib-warm-up"}))
    try:
        while True:
            try:
                consumer.committed([TopicPartition("eoslib-warm-up", 0)], timeout=10)
                break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise BrokerError("the group coordinator did not come up in time") from None
                time.sleep(0.5)
    finally:
        consumer.close()
        del consumer
    producer = Producer(
        _client_conf(st, **{"transactional.id": "eoslib-warm-up", "enable.idempotence": True})
    )
    try:
        producer.init_transactions(max(1.0, deadline - time.monotonic()))
    except KafkaException as e:
        raise BrokerError(f"the transaction coordinator did not come up: {e}") from None
    finally:
        producer.flush(1)
        del producer
