"""eoslib: a deterministic simulation of Kafka's exactly-once machinery, for teaching.

The client API follows confluent-kafka (``Producer``, ``Consumer``, ``KafkaError``,
``KafkaException``, ``TopicPartition``) and Kafka's own configuration keys, so code
written against the simulation transfers to real clients. Start with::

    from eoslib import Simulation
    sim = Simulation(seed=1, faults={"response_loss": 0.1})

or run a named experiment with :func:`eoslib.scenarios.run_scenario`.
"""

from eoslib.consumer import Consumer, GroupMetadata
from eoslib.errors import ConfigException, KafkaError, KafkaException
from eoslib.faults import FaultPlan
from eoslib.history import History
from eoslib.messages import Message, TopicPartition
from eoslib.producer import Producer
from eoslib.simulation import Simulation

__version__ = "0.1.0"

__all__ = [
    "ConfigException",
    "Consumer",
    "FaultPlan",
    "GroupMetadata",
    "History",
    "KafkaError",
    "KafkaException",
    "Message",
    "Producer",
    "Simulation",
    "TopicPartition",
    "__version__",
]
