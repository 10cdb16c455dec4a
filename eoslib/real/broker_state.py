"""Where a broker's files live and its state file (``<state dir>/state.json``).

A broker's files live in a *state directory* (default ``$EOSLIB_CACHE/broker``): the
``state.json`` written by :func:`eoslib.real.broker.start`, ``server.properties``,
``log4j2.properties``, the broker's log ``server.log``, the JVM's console ``java.out`` and
the ``data`` directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eoslib.real.jars import cache_dir


@dataclass
class BrokerState:
    """What :func:`eoslib.real.broker.start` writes to ``state.json``.

    Enough to find and stop the broker.
    """

    pid: int
    bootstrap: str
    proxied_listener_port: int
    proxy_advertised_port: int
    log: str
    data_dir: str
    kafka_version: str
    started_at: str
    state_dir: str
    controller_port: int
    cluster_id: str
    format_seconds: float
    ready_seconds: float

    @property
    def host(self) -> str:
        """The host part of the bootstrap address (always 127.0.0.1)."""
        return self.bootstrap.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        """The PLAINTEXT listener's port."""
        return int(self.bootstrap.rsplit(":", 1)[1])


def default_state_dir() -> Path:
    """The state directory used by the ``eoslib broker`` command."""
    return cache_dir() / "broker"


def _state_dir(state_dir: str | os.PathLike[str] | None) -> Path:
    return Path(state_dir) if state_dir is not None else default_state_dir()


def read_state(state_dir: str | os.PathLike[str] | None = None) -> BrokerState | None:
    """The state file's contents, or None when there is none."""
    path = _state_dir(state_dir) / "state.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return BrokerState(**data)


def _write_state(st: BrokerState) -> None:
    path = Path(st.state_dir) / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(st), indent=2) + "\n")
    tmp.replace(path)
