"""A simulated ``confluent_kafka``: run a confluent-kafka program on eoslib's simulation.

Change one import::

    from eoslib.confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

or run the program unmodified with ``python -m eoslib.run_app my_app.py [args]``, which puts
this package first on the path as ``confluent_kafka``. Every ``bootstrap.servers`` reaches
the current simulation (:mod:`eoslib.confluent_kafka.backend`); the clients follow
librdkafka's semantics (``client=librdkafka``) with confluent-kafka 2.x's surface
(:mod:`~eoslib.confluent_kafka.producer`, :mod:`~eoslib.confluent_kafka.consumer`); every
configuration key of librdkafka is simulated, handled, refused for a value the simulator
cannot honour, or accepted without effect with its reason, in one table
(:mod:`eoslib.confluent_kafka.keys`).

What differs from a real broker, on purpose: the clients' time is virtual (``run_app`` also
makes the program's ``time.time()``/``time.sleep()`` read and move the simulation's clock;
with the one-import change the program's ``time`` stays the real one); a program that only
gets empty polls ends like at a user's Ctrl-C (``KeyboardInterrupt``) after the run's idle
bound (10 virtual seconds by default; a wait without a limit and no bound ends after 300
s); a consumed message's timestamp is its batch's append time; the program's own threads
are not supported (the simulated clients have no background threads).
"""

from __future__ import annotations

from eoslib.confluent_kafka import admin
from eoslib.confluent_kafka.backend import Backend, current, use
from eoslib.confluent_kafka.consumer import Consumer
from eoslib.confluent_kafka.errors import KafkaError, KafkaException
from eoslib.confluent_kafka.message import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Message,
    TopicPartition,
)
from eoslib.confluent_kafka.producer import Producer

#: the confluent-kafka release whose surface this package follows
__version__ = "2.16.2"


def version() -> tuple[str, int]:
    """(confluent-kafka version, as an int) this package follows."""
    return (__version__, 0x02100200)


def libversion() -> tuple[str, int]:
    """(librdkafka version, as an int) whose semantics the simulated clients follow."""
    return ("2.16.0", 0x021000FF)


__all__ = [
    "OFFSET_BEGINNING", "OFFSET_END", "OFFSET_INVALID", "OFFSET_STORED",
    "TIMESTAMP_CREATE_TIME", "TIMESTAMP_LOG_APPEND_TIME", "TIMESTAMP_NOT_AVAILABLE",
    "Backend", "Consumer", "KafkaError", "KafkaException", "Message", "Producer",
    "TopicPartition", "admin", "current", "libversion", "use", "version",
]
