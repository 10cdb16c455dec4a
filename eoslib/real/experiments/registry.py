"""The four experiments by name, and :func:`run_experiment`."""

from __future__ import annotations

from typing import Any

from eoslib.real.clients import Cluster
from eoslib.real.experiments.common import Experiment
from eoslib.real.experiments.exp_consumer_crash import CONSUMER_CRASH
from eoslib.real.experiments.exp_producer_retry import PRODUCER_RETRY
from eoslib.real.experiments.exp_read_committed import READ_COMMITTED
from eoslib.real.experiments.exp_zombie_fencing import ZOMBIE_FENCING
from eoslib.result import Result

EXPERIMENTS: dict[str, Experiment] = {
    "producer-retry": PRODUCER_RETRY,
    "consumer-crash": CONSUMER_CRASH,
    "read-committed": READ_COMMITTED,
    "zombie-fencing": ZOMBIE_FENCING,
}


def run_experiment(name: str, cluster: Cluster, *, on: bool, **kwargs: Any) -> Result:
    """Run one experiment by name with its setting off or on."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name].run(cluster, on=on, **kwargs)
