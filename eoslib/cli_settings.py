"""``--set key=value`` on the command line: Kafka keys and fault-plan fields, parsed once.

Shared by ``eoslib run``, ``eoslib explore`` and ``python -m eoslib.run_app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eoslib.errors import ConfigException
from eoslib.faults import FaultPlan


def parse_set(items: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` arguments as a dict (a ConfigException for an item without ``=``)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigException("--set", item, "Expected key=value, e.g. "
                                  "--set enable.idempotence=false")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


FAULT_FIELDS = {f for f in FaultPlan.__dataclass_fields__}


def split_faults(settings: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--set`` takes Kafka keys and fault plan fields alike; faults go to the plan."""
    config: dict[str, Any] = {}
    faults: dict[str, Any] = {}
    for k, v in settings.items():
        if k in FAULT_FIELDS:
            faults[k] = _fault_value(k, v)
        else:
            config[k] = v
    return config, faults


def _fault_value(key: str, v: str) -> Any:
    default = FaultPlan.__dataclass_fields__[key].default
    try:
        if key in ("apis", "lose_responses", "drop", "kill", "crash_points"):
            parts = [x for x in v.split(",") if x]
            return tuple(int(x) for x in parts) if key == "lose_responses" else tuple(parts)
        if key == "crash_step":
            return None if v in ("", "none", "None") else v
        if key == "crash_at":
            return None if v in ("", "none") else int(v)
        if isinstance(default, bool):
            return v.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(v)
        return float(v)
    except ValueError:
        raise ConfigException(key, v, f"Expected a {type(default).__name__}") from None
