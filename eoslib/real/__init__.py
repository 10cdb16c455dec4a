"""Real-broker mode: run the course's experiments against a real Apache Kafka broker.

The broker is Apache Kafka itself, downloaded as jars from Maven Central (see
:mod:`eoslib.real.broker`) and run as one local KRaft node (or three: :mod:`.cluster3`). A
small Kafka-aware proxy (:mod:`eoslib.real.proxy`) loses produce answers and holds requests.
:mod:`eoslib.real.experiments` holds the experiments, run with confluent-kafka (librdkafka)
or with Apache Kafka's Java client through a driver JVM (:mod:`.java_driver`,
:mod:`.java_clients`, :mod:`.java_env`); :mod:`.sim_calls` and :mod:`.java_twins` say what
each is compared with in the simulation, and :mod:`eoslib.real.compare` puts the two side
by side, every row naming its client.

Nothing in this package is imported by the simulation; it needs Java 17 (a JDK, for the
driver), Maven (only for the one-off download) and the ``confluent-kafka`` client.
"""

from __future__ import annotations

from eoslib.real.broker import KAFKA_VERSION, BrokerError, NeedsError

__all__ = ["KAFKA_VERSION", "BrokerError", "NeedsError"]
