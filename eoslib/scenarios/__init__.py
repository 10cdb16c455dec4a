"""Named experiments: a config, a fault plan, a seed and a message count in; a Result out.

Everything the course shows goes through :func:`run_scenario`. A scenario's ``config``
mixes Kafka's producer and consumer keys (``enable.idempotence``, ``acks``,
``isolation.level``, ``transactional.id``...) with the course's own keys:

* ``transactions`` (bool): use the transactional consume-transform-produce loop;
* ``delivery``: ``at-most-once`` / ``at-least-once`` / ``exactly-once`` (``transactions``
  is shorthand for ``exactly-once``);
* ``sink``: ``insert`` / ``upsert`` / ``offsets`` (where a sink is written);
* ``batch``: records per poll (and per transaction);
* ``brokers``, ``replication.factor``, ``min.insync.replicas``,
  ``unclean.leader.election.enable``: the cluster and output topic.

Unknown keys raise :class:`~eoslib.errors.ConfigException` with a did-you-mean.

The package: :mod:`.registry` (the keys, ``Setup``/``Outcome``, ``@scenario``), :mod:`.run`
(``run_scenario``), :mod:`.common` (input values, the app, the writer) and one module per
idea holding its scenarios: :mod:`.producers`, :mod:`.pipelines`, :mod:`.transactions`,
:mod:`.instances`, :mod:`.replication`.
"""

# importing the idea modules registers their scenarios
from eoslib.scenarios import (  # noqa: F401
    instances,
    pipelines,
    producers,
    replication,
    transactions,
)
from eoslib.scenarios.common import values
from eoslib.scenarios.registry import (
    COURSE_KEYS,
    COURSE_SCHEMA,
    FAULT_FIELDS,
    SCENARIOS,
    Outcome,
    Scenario,
    Setup,
    scenario,
    split_config,
)
from eoslib.scenarios.run import lso_lag, run_scenario
from eoslib.simulation import Simulation  # what run_scenario builds (tests may swap it)

#: the order ``eoslib scenarios`` lists them in (the course's order, not the modules')
ORDER = ("producer-retry", "reorder", "producer-restart", "consumer-crash", "at-most-once",
         "transactional-crash", "read-committed", "zombie-fencing", "transaction-timeout",
         "external-sink", "leader-failover", "rebalance", "coordinator-failover", "pipeline",
         "downstream-reader", "delayed-end-txn")
_rest = {k: v for k, v in SCENARIOS.items() if k not in ORDER}
_ordered = {k: SCENARIOS[k] for k in ORDER if k in SCENARIOS}
SCENARIOS.clear()
SCENARIOS.update({**_ordered, **_rest})
del _rest, _ordered

__all__ = ["COURSE_KEYS", "COURSE_SCHEMA", "FAULT_FIELDS", "ORDER", "SCENARIOS", "Outcome",
           "Scenario", "Setup", "Simulation", "lso_lag", "run_scenario", "scenario",
           "split_config", "values"]
