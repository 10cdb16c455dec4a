"""Download, start, stop and crash one local Apache Kafka broker (a single KRaft node).

The broker is the real thing: the ``org.apache.kafka:kafka_2.13`` jars from Maven Central,
copied once by Maven (:func:`fetch`) into ``$EOSLIB_CACHE/kafka-<version>/libs`` (default
cache: ``~/.cache/eoslib``), then run with ``java -cp 'libs/*' kafka.Kafka``. One node acts
as broker and controller, with every replication factor and ISR minimum set to 1.

The broker has three listeners, all on 127.0.0.1:

* ``PLAINTEXT``: the bootstrap address printed by :func:`start`; verification clients use it.
* ``CONTROLLER``: KRaft's own.
* ``PROXIED``: advertised at a *different* port, where :class:`eoslib.real.proxy.FaultProxy`
  listens and forwards to it. Clients that bootstrap through the proxy are told (by the
  broker's metadata) to keep talking through the proxy, so it sees all of their traffic.

A broker's files live in a *state directory* (default ``$EOSLIB_CACHE/broker``): the
``state.json`` written by :func:`start`, ``server.properties``, ``log4j2.properties``, the
broker's log ``server.log``, the JVM's console ``java.out`` and the ``data`` directory.
:func:`stop` deletes ``data``; :func:`kill9` + :func:`restart` keep it (the crash test).

Problems raise :class:`BrokerError` with a one-line message; a missing prerequisite raises
:class:`NeedsError`, whose message starts with "needs" (tests turn it into a skip).

This module holds the lifecycle (start, restart, stop, kill9, status, log tail) and
re-exports the rest, which lives in :mod:`~eoslib.real.jars` (Java, Maven, the jars),
:mod:`~eoslib.real.broker_config` (``server.properties``, log4j2),
:mod:`~eoslib.real.broker_state` (``state.json``), :mod:`~eoslib.real.broker_process`
(the JVM's command line, liveness, termination), :mod:`~eoslib.real.broker_ready`
(waiting until it answers) and :mod:`~eoslib.real.errors`. The three-broker cluster of the
replication experiments (``eoslib broker start --brokers 3``) is :mod:`~eoslib.real.cluster3`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from eoslib.real.broker_config import (
    free_ports,
    log4j2_properties,
    new_cluster_id,
    server_properties,
)
from eoslib.real.broker_process import (
    _CHILDREN,
    JVM_OPTS,
    _is_our_broker,
    _java_cmd,
    _terminate,
    _wait_dead,
)
from eoslib.real.broker_ready import _wait_ready
from eoslib.real.broker_state import (
    BrokerState,
    _state_dir,
    _write_state,
    default_state_dir,
    read_state,
)
from eoslib.real.errors import BrokerError, NeedsError
from eoslib.real.jars import (
    JAVA_MAJOR,
    KAFKA_VERSION,
    POM,
    cache_dir,
    fetch,
    is_fetched,
    libs_dir,
    libs_size,
    require_jars,
    require_java,
    require_maven,
)

__all__ = [
    "JAVA_MAJOR",
    "JVM_OPTS",
    "KAFKA_VERSION",
    "POM",
    "BrokerError",
    "BrokerState",
    "NeedsError",
    "cache_dir",
    "default_state_dir",
    "fetch",
    "free_ports",
    "is_fetched",
    "kill9",
    "libs_dir",
    "libs_size",
    "log4j2_properties",
    "log_tail",
    "new_cluster_id",
    "read_state",
    "require_jars",
    "require_java",
    "require_maven",
    "restart",
    "server_properties",
    "start",
    "status",
    "stop",
]


def _launch(st: BrokerState, java: str, libs: Path, deadline: float) -> BrokerState:
    state_dir = Path(st.state_dir)
    out = open(state_dir / "java.out", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            _java_cmd(java, libs, state_dir, "kafka.Kafka", str(state_dir / "server.properties")),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=state_dir,
            start_new_session=True,  # survives the CLI that started it; Ctrl-C won't reach it
        )
    finally:
        out.close()
    _CHILDREN[proc.pid] = proc
    st.pid = proc.pid
    st.started_at = datetime.now(UTC).isoformat(timespec="seconds")
    _write_state(st)
    t0 = time.monotonic()
    try:
        _wait_ready(st, deadline)
    except BaseException:
        _terminate(proc.pid, timeout=10)
        raise
    st.ready_seconds = round(time.monotonic() - t0, 2)
    _write_state(st)
    return st


def start(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    version: str = KAFKA_VERSION,
    timeout: float = 120.0,
) -> BrokerState:
    """Format a fresh KRaft data directory, start the broker and wait until it answers.

    Ports are picked free on 127.0.0.1. Returns the :class:`BrokerState` (also written to
    ``<state_dir>/state.json``). Raises :class:`BrokerError` if a broker from this state
    directory is already running, or if it does not become ready within ``timeout`` seconds.
    """
    java = require_java()
    libs = require_jars(version)
    sdir = _state_dir(state_dir).resolve()
    old = read_state(sdir)
    if old is not None and _is_our_broker(old.pid, sdir):
        raise BrokerError(f"a broker is already running at {old.bootstrap} (pid {old.pid})")
    sdir.mkdir(parents=True, exist_ok=True)
    data_dir = sdir / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    for name in ("server.log", "java.out", "format.out"):
        (sdir / name).unlink(missing_ok=True)
    port, cport, pport, xport = free_ports(4)
    (sdir / "server.properties").write_text(
        server_properties(
            data_dir=data_dir,
            port=port,
            controller_port=cport,
            proxied_port=pport,
            proxy_port=xport,
        )
    )
    log = sdir / "server.log"
    (sdir / "log4j2.properties").write_text(log4j2_properties(log))
    cluster_id = new_cluster_id()
    deadline = time.monotonic() + timeout
    t0 = time.monotonic()
    fmt = subprocess.run(
        _java_cmd(
            java,
            libs,
            sdir,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(sdir / "server.properties"),
            "--ignore-formatted",
        ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    (sdir / "format.out").write_text(fmt.stdout + fmt.stderr)
    if fmt.returncode != 0:
        last = (fmt.stdout + fmt.stderr).strip().splitlines()
        raise BrokerError(
            f"formatting the KRaft storage failed: {last[-1] if last else fmt.returncode}"
        )
    st = BrokerState(
        pid=0,
        bootstrap=f"127.0.0.1:{port}",
        proxied_listener_port=pport,
        proxy_advertised_port=xport,
        log=str(log),
        data_dir=str(data_dir),
        kafka_version=version,
        started_at="",
        state_dir=str(sdir),
        controller_port=cport,
        cluster_id=cluster_id,
        format_seconds=round(time.monotonic() - t0, 2),
        ready_seconds=0.0,
    )
    return _launch(st, java, libs, deadline)


def restart(
    state_dir: str | os.PathLike[str] | None = None, *, timeout: float = 120.0
) -> BrokerState:
    """Start the broker again on its existing data directory and ports (after :func:`kill9`).

    A broker that is still running is first stopped gracefully (its data kept).
    """
    sdir = _state_dir(state_dir).resolve()
    st = read_state(sdir)
    if st is None:
        raise BrokerError(f"no broker state in {sdir}: use start() first")
    if _is_our_broker(st.pid, sdir):
        _terminate(st.pid, timeout=30)
    java = require_java()
    libs = require_jars(st.kafka_version)
    st.format_seconds = 0.0
    return _launch(st, java, libs, time.monotonic() + timeout)


def stop(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 30.0,
    keep_data: bool = False,
) -> str:
    """Stop the broker (SIGTERM, then SIGKILL after ``timeout`` s) and delete its data.

    Returns "terminated", "killed", or "not running". The log files are kept.
    """
    sdir = _state_dir(state_dir).resolve()
    st = read_state(sdir)
    if st is None:
        return "not running"
    how = _terminate(st.pid, timeout=timeout) if _is_our_broker(st.pid, sdir) else "not running"
    if not keep_data:
        shutil.rmtree(st.data_dir, ignore_errors=True)
        (sdir / "state.json").unlink(missing_ok=True)
    return how


def kill9(state_dir: str | os.PathLike[str] | None = None) -> None:
    """SIGKILL the broker (no controlled shutdown) and wait until it is gone; keep its data."""
    sdir = _state_dir(state_dir).resolve()
    st = read_state(sdir)
    if st is None or not _is_our_broker(st.pid, sdir):
        raise BrokerError(f"no running broker in {sdir}")
    os.kill(st.pid, signal.SIGKILL)
    if not _wait_dead(st.pid, 10):
        raise BrokerError(f"broker pid {st.pid} survived SIGKILL")


def status(state_dir: str | os.PathLike[str] | None = None) -> BrokerState | None:
    """The running broker's state, or None when no broker from ``state_dir`` is running."""
    sdir = _state_dir(state_dir).resolve()
    st = read_state(sdir)
    if st is None or not _is_our_broker(st.pid, sdir):
        return None
    return st


def log_tail(n: int = 40, state_dir: str | os.PathLike[str] | None = None) -> str:
    """The last ``n`` lines of the broker's log (and of the JVM console, if it said anything)."""
    sdir = _state_dir(state_dir).resolve()
    parts = []
    for name in ("format.out", "java.out", "server.log"):
        path = sdir / name
        if path.exists() and path.stat().st_size:
            lines = path.read_text(errors="replace").splitlines()[-n:]
            parts.append(f"==> {path} <==\n" + "\n".join(lines))
    return "\n".join(parts) if parts else f"(no broker logs in {sdir})"
