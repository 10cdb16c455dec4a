"""Where a course parameter goes in a ``run_scenario`` call: config, faults, or its own argument.

Shared by the dashboard and the sweeps, so ``{"enable.idempotence": True, "response_loss":
0.1, "seed": 3}`` means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eoslib.result import Result


def _fault_keys() -> frozenset[str]:
    try:
        from eoslib.faults import FaultPlan
    except ImportError:  # pragma: no cover - the simulation is part of the package
        return frozenset({"response_loss", "request_loss", "crash_step", "lost_acks"})
    return frozenset(f.name for f in dataclasses.fields(FaultPlan))


#: Parameters that go to ``run_scenario(faults=...)`` (the fields of
#: :class:`eoslib.faults.FaultPlan`); ``seed`` and ``messages`` are keyword arguments of their
#: own; every other name is a config key.
FAULT_KEYS = _fault_keys()
RUN_KEYS = frozenset({"seed", "messages"})
CRASH_STEPS = ("none", "after_poll", "after_process", "after_produce", "before_commit",
               "after_commit")


def split_params(
    values: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Split ``{name: value}`` into ``(config, faults, run_kwargs)`` for ``run_scenario``.

    ``crash_step="none"`` becomes ``None``; ``seed`` and ``messages`` go to ``run_kwargs``.
    """
    config: dict[str, Any] = {}
    faults: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name in RUN_KEYS:
            kwargs[name] = int(value)
        elif name in FAULT_KEYS:
            faults[name] = None if (name == "crash_step" and value == "none") else value
        else:
            config[name] = value
    return config, faults, kwargs


def default_run() -> Callable[..., Result]:
    """``eoslib.scenarios.run_scenario`` (imported on first use)."""
    from eoslib.scenarios import run_scenario  # imported late: the viz does not need it

    return run_scenario
