"""Real-broker mode: run the course's experiments against a real Apache Kafka broker.

The broker is Apache Kafka itself, downloaded as jars from Maven Central (see
:mod:`eoslib.real.broker`) and run as one local KRaft node. A small Kafka-aware proxy
(:mod:`eoslib.real.proxy`) injects the one fault the experiments need (a lost produce
acknowledgement). :mod:`eoslib.real.experiments` runs the four exactly-once experiments
with confluent-kafka and records the same :class:`~eoslib.history.History` the simulation
records, and :mod:`eoslib.real.compare` puts the two side by side.

Nothing in this package is imported by the simulation; it needs Java 17, Maven (only for
the one-off download) and the ``confluent-kafka`` client.
"""

from __future__ import annotations

from eoslib.real.broker import KAFKA_VERSION, BrokerError, NeedsError

__all__ = ["KAFKA_VERSION", "BrokerError", "NeedsError"]
