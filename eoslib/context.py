"""What a client needs from the simulation it belongs to, and how it finds it by address.

Clients (``producer.py``, ``consumer.py``) depend on this small interface, not on
``simulation.py``, so the simulation can build clients without an import circle.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from eoslib.errors import ConfigException

if TYPE_CHECKING:
    from eoslib.cluster import Cluster
    from eoslib.history import History
    from eoslib.kernel import Kernel


class SimContext(Protocol):
    """The parts of a :class:`~eoslib.simulation.Simulation` a client uses."""

    kernel: Kernel
    cluster: Cluster
    history: History
    app_rng: random.Random
    client_rng: random.Random  # the clients' own draws (retry backoff jitter)

    def next_name(self, kind: str) -> str:
        """A fresh client name (``producer-1``...)."""
        ...

    def process_name(self, client: Any) -> str:
        """The process name a client's operations are recorded under."""
        ...


_registry: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def register(address: str, sim: SimContext) -> None:
    """Make ``sim`` findable by its ``bootstrap.servers`` address."""
    _registry[address] = sim


def resolve(sim: SimContext | None, config: Mapping[str, Any] | None) -> SimContext:
    """The simulation a client belongs to: ``sim`` or the one its ``bootstrap.servers``
    names."""
    if sim is not None:
        return sim
    addr = (config or {}).get("bootstrap.servers")
    if addr in _registry:
        return _registry[addr]
    raise ConfigException("bootstrap.servers", addr,
                          "Expected the address of a Simulation (sim.bootstrap_servers),"
                          " or pass sim=...")
