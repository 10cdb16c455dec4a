"""The simulation behind ``bootstrap.servers``: which one a client talks to, and its rules.

A confluent-kafka program names brokers (``localhost:9092``); here every address reaches
the *current* :class:`Backend`: the one :func:`use` installed (``python -m eoslib.run_app``
and ``eoslib explore --app`` do), or else one made on first use with ``Simulation(seed=0)``.
An address made by a :class:`~eoslib.simulation.Simulation` (``sim.bootstrap_servers``)
reaches that simulation. The backend also holds what a real broker's configuration would:
topics are created on first produce with ``num.partitions`` partitions (Kafka's broker
defaults ``auto.create.topics.enable=true``, ``num.partitions=1``), the virtual clock's epoch,
and the hooks the explorer uses to count the program's client calls and crash it between
two of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eoslib import context
from eoslib.simulation import Simulation

#: what ``time.time()`` says at virtual time 0: 2025-01-01T00:00:00Z (deterministic)
EPOCH_MS = 1_735_689_600_000

#: a hook called after each client call: (api, n-th call of that api, outcome), where
#: outcome is "ok" or the name of the error the call raised
CallHook = Callable[[str, int, str], None]


@dataclass
class Backend:
    """One simulated cluster and the rules of the programs that run on it.

    ``idle_exit_s``: after this many virtual seconds in which the program's client calls
    were only polls that returned nothing, a blocking call raises
    ``KeyboardInterrupt``, as a user's Ctrl-C at a silent program would;
    ``max_s`` bounds the virtual time of a run the same way. None: no bound."""

    sim: Simulation
    auto_create_topics: bool = True
    num_partitions: int = 1
    idle_exit_s: float | None = None
    max_s: float | None = None
    #: history process of clients made now (an app incarnation), or None: the client's name
    process: str | None = None
    hook: CallHook | None = None
    calls: dict[str, int] = field(default_factory=dict)
    clients: list[Any] = field(default_factory=list)
    last_activity_ms: float = 0.0
    interrupts: int = 0
    #: set when the program's process died (the explorer's crash): every client call then
    #: raises :class:`~eoslib.confluent_kafka.surface.AppCrash` with it
    crashed: str | None = None

    def adopt(self, client: Any) -> None:
        """Register a new client (named under :attr:`process` in the history)."""
        self.clients.append(client)
        if self.process is not None:
            self.sim.set_process(client, self.process)

    def ensure_topic(self, topic: str) -> bool:
        """Create ``topic`` as a broker with auto-creation would; False if it does not exist
        and auto-creation is off."""
        if topic in self.sim.cluster.topics:
            return True
        if not self.auto_create_topics:
            return False
        self.sim.create_topic(topic, self.num_partitions)
        return True

    def active(self) -> None:
        """The program did something (a message returned, a record produced)."""
        self.last_activity_ms = self.sim.now

    def checkpoint(self) -> None:
        """Raise ``KeyboardInterrupt`` when the idle or total bound has passed (each bound fires
        once per idle stretch; a program that keeps going after three is stopped)."""
        now = self.sim.now
        idle = self.idle_exit_s is not None and \
            now - self.last_activity_ms >= self.idle_exit_s * 1000
        over = self.max_s is not None and now >= self.max_s * 1000
        if not (idle or over):
            return
        self.interrupts += 1
        self.last_activity_ms = now
        if self.interrupts > 3:
            raise SystemExit("eoslib: the program ignored three interrupts; stopped")
        why = (f"idle for {self.idle_exit_s:g} s" if idle else f"ran {self.max_s:g} s")
        raise KeyboardInterrupt(f"Ctrl-C (simulated: the program {why} of virtual time)")

    def wait_slice_s(self, timeout: float | None) -> float | None:
        """How long one blocking wait may last before :meth:`checkpoint` must look again."""
        bounds = []
        if self.idle_exit_s is not None:
            bounds.append(self.idle_exit_s - (self.sim.now - self.last_activity_ms) / 1000)
        if self.max_s is not None:
            bounds.append(self.max_s - self.sim.now / 1000)
        if not bounds:
            return timeout
        left = max(min(bounds), 0.001)
        return left if timeout is None else min(timeout, left)

    def called(self, api: str, outcome: str = "ok") -> None:
        """Count one client call of ``api`` and tell the hook."""
        n = self.calls[api] = self.calls.get(api, 0) + 1
        if self.hook is not None:
            self.hook(api, n, outcome)


_current: Backend | None = None


def current() -> Backend:
    """The backend in use. Made on first use (a program that changed its import and runs
    by itself): ``Simulation(seed=0)`` with run_app's default bounds (Ctrl-C after 10
    idle seconds, or after an hour, of virtual time), so it ends where the original would
    stop at a user's Ctrl-C instead of spinning through virtual time."""
    global _current
    if _current is None:
        _current = Backend(Simulation(seed=0), idle_exit_s=10.0, max_s=3600.0)
    return _current


@contextlib.contextmanager
def use(backend: Backend | Simulation) -> Iterator[Backend]:
    """Make every confluent-kafka client created inside the block talk to ``backend`` (a
    :class:`Backend` or a bare :class:`Simulation`)."""
    global _current
    b = backend if isinstance(backend, Backend) else Backend(backend)
    previous, _current = _current, b
    try:
        yield b
    finally:
        _current = previous


def resolve(conf: dict[str, Any]) -> Backend:
    """The backend of a client configured with ``conf``: the simulation its
    ``bootstrap.servers`` names (``sim://N``), else the current one."""
    addr = conf.get("bootstrap.servers", conf.get("metadata.broker.list"))
    b = current()
    if isinstance(addr, str) and addr.startswith("sim://") and b.sim.bootstrap_servers != addr:
        sim: Any = context.resolve(None, {"bootstrap.servers": addr})
        if not isinstance(getattr(sim, "_confluent_backend", None), Backend):
            sim._confluent_backend = Backend(sim)  # one per simulation, living as long
        return sim._confluent_backend
    return b
