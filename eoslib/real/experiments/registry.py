"""The experiments by name, and :func:`run_experiment`."""

from __future__ import annotations

from typing import Any

from eoslib.real.clients import Cluster
from eoslib.real.experiments.common import Experiment
from eoslib.real.experiments.exp_acks_leader_failover import ACKS_LEADER_FAILOVER
from eoslib.real.experiments.exp_auto_commit import AUTO_COMMIT
from eoslib.real.experiments.exp_consumer_crash import CONSUMER_CRASH
from eoslib.real.experiments.exp_consumer_loops import AT_MOST_ONCE, REBALANCE
from eoslib.real.experiments.exp_min_insync import MIN_INSYNC
from eoslib.real.experiments.exp_producer_retry import PRODUCER_RETRY
from eoslib.real.experiments.exp_read_committed import READ_COMMITTED
from eoslib.real.experiments.exp_transactions import (
    ABORT_NO_REWIND,
    LSO_BLOCKING,
    PENDING_OFFSETS,
    PRODUCER_RESTART,
    TRANSACTION_TIMEOUT,
)
from eoslib.real.experiments.exp_zombie_fencing import ZOMBIE_FENCING
from eoslib.result import Result

EXPERIMENTS: dict[str, Experiment] = {
    "producer-retry": PRODUCER_RETRY,
    "consumer-crash": CONSUMER_CRASH,
    "read-committed": READ_COMMITTED,
    "zombie-fencing": ZOMBIE_FENCING,
    # REAL-EXPERIMENTS
    "producer-restart": PRODUCER_RESTART,
    "transaction-timeout": TRANSACTION_TIMEOUT,
    "lso-blocking": LSO_BLOCKING,
    "pending-offsets": PENDING_OFFSETS,
    "abort-no-rewind": ABORT_NO_REWIND,
    "auto-commit": AUTO_COMMIT,
    "at-most-once": AT_MOST_ONCE,
    "rebalance": REBALANCE,
    # REAL-CLUSTER (three brokers, eoslib.real.cluster3)
    "acks-leader-failover": ACKS_LEADER_FAILOVER,
    "min-insync": MIN_INSYNC,
}


def run_experiment(name: str, cluster: Cluster, *, on: bool, **kwargs: Any) -> Result:
    """Run one experiment by name with its setting off or on."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name].run(cluster, on=on, **kwargs)
