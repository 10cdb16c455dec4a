"""A three-broker Apache Kafka (KRaft) cluster on 127.0.0.1, for the replication experiments.

The same Maven Central jars as the single broker (:mod:`eoslib.real.jars`). Three JVMs, each
in *combined* mode (``process.roles=broker,controller``): node ids 1, 2, 3 form the KRaft
controller quorum (static ``controller.quorum.voters``) and are also the three brokers. Three
JVMs start faster on two cores than a separate controller plus three brokers, and each gets
a small heap (``-Xmx256m``). Every node has its own directory ``<state dir>/node<N>``
(``server.properties``, ``log4j2.properties``, ``server.log``, ``java.out``, ``data``) and two
free ports (PLAINTEXT and CONTROLLER). The cluster's ``state.json`` sits in the state directory
(default ``$EOSLIB_CACHE/cluster3``, apart from the single broker's ``broker``).

Ready means: every node's listener accepts connections and a metadata request lists all
three brokers (the metadata lists only registered, unfenced brokers). A cluster that is not
ready within ``timeout`` seconds is stopped and :class:`~eoslib.real.errors.BrokerError`
carries each node's last log lines. A node's death is a real ``SIGKILL`` (:func:`kill9`);
:func:`pause` / :func:`resume` are ``SIGSTOP`` / ``SIGCONT`` (a frozen process: no fetches,
no heartbeats), :func:`restart_node` starts a node again on its data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eoslib.real.broker_config import free_ports, log4j2_properties, new_cluster_id
from eoslib.real.broker_process import (
    _CHILDREN,
    _is_our_broker,
    _java_cmd,
    _pid_alive,
    _terminate,
    _wait_dead,
)
from eoslib.real.errors import BrokerError, NeedsError
from eoslib.real.jars import KAFKA_VERSION, cache_dir, require_jars, require_java

BROKERS = 3
#: small heaps: three JVMs share two cores and a few GB with the rest of the course
JVM_OPTS_3 = ("-Xms128m", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
FORMAT_TIMEOUT_S = 90.0  # the three StorageTool runs (about 3 s together on 2 cores)


@dataclass
class NodeState:
    """One node (broker + controller) of the cluster."""

    node_id: int
    pid: int
    port: int
    controller_port: int
    node_dir: str

    @property
    def address(self) -> str:
        """``127.0.0.1:<PLAINTEXT port>``."""
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        """The node's ``server.log``."""
        return str(Path(self.node_dir) / "server.log")


@dataclass
class ClusterState:
    """What :func:`start` writes to ``<state dir>/state.json``."""

    state_dir: str
    cluster_id: str
    kafka_version: str
    started_at: str
    nodes: list[NodeState] = field(default_factory=list)
    format_seconds: float = 0.0
    ready_seconds: float = 0.0

    @property
    def bootstrap(self) -> str:
        """All three PLAINTEXT addresses, comma-separated."""
        return ",".join(n.address for n in self.nodes)

    def node(self, node_id: int) -> NodeState:
        """The node with this id (1, 2 or 3)."""
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise BrokerError(f"no node {node_id} in this cluster (nodes 1..{len(self.nodes)})")


def default_state_dir() -> Path:
    """``$EOSLIB_CACHE/cluster3`` (the single broker uses ``.../broker``)."""
    return cache_dir() / "cluster3"


def _sdir(state_dir: str | os.PathLike[str] | None) -> Path:
    return (Path(state_dir) if state_dir is not None else default_state_dir()).resolve()


def read_state(state_dir: str | os.PathLike[str] | None = None) -> ClusterState | None:
    """The cluster's state file, or None when there is none."""
    try:
        data: dict[str, Any] = json.loads((_sdir(state_dir) / "state.json").read_text())
    except FileNotFoundError:
        return None
    nodes = [NodeState(**n) for n in data.pop("nodes")]
    return ClusterState(**data, nodes=nodes)


def _write_state(st: ClusterState) -> None:
    path = Path(st.state_dir) / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(st), indent=2) + "\n")
    tmp.replace(path)


def server_properties_3(
    *, node_id: int, data_dir: Path, port: int, voters: str, controller_port: int
) -> str:
    """``server.properties`` of one combined node of the three-node cluster."""
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "3",
        "share.coordinator.state.topic.min.isr": "2",
        "num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        # Leadership moves only on failure: no preferred-leader rebalancing mid-experiment.
        "auto.leader.rebalance.enable": "false",
        # A dead or frozen broker is fenced (and leaves every ISR) 4 s after its last
        # heartbeat; a restarted one re-registers quickly.
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "500",
        # Followers fetch promptly (default 500 ms long-poll); replica.lag.time.max.ms stays
        # at its default 30000: a follower stays in the ISR for 30 s without catching up.
        "replica.fetch.wait.max.ms": "100",
        "num.replica.fetchers": "1",
        "log.segment.bytes": "1048576",
        "log.index.size.max.bytes": "1048576",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
        "log.flush.interval.messages": "9223372036854775807",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _launch_node(java: str, libs: Path, node: NodeState) -> None:
    ndir = Path(node.node_dir)
    out = open(ndir / "java.out", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            _java_cmd(
                java,
                libs,
                ndir,
                "kafka.Kafka",
                str(ndir / "server.properties"),
                jvm_opts=JVM_OPTS_3,
            ),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ndir,
            start_new_session=True,
        )
    finally:
        out.close()
    _CHILDREN[proc.pid] = proc
    node.pid = proc.pid


def _alive(node: NodeState) -> bool:
    return _is_our_broker(node.pid, Path(node.node_dir))


def start(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    version: str = KAFKA_VERSION,
    timeout: float = 150.0,
) -> ClusterState:
    """Format three fresh KRaft nodes, start them and wait until all three brokers are ready.

    Raises :class:`BrokerError` if a cluster from this state directory is already running, or
    (after stopping it, with every node's last log lines) if it is not ready within
    ``timeout`` seconds of being launched. Formatting is bounded separately
    (:data:`FORMAT_TIMEOUT_S`).
    """
    java = require_java()
    libs = require_jars(version)
    sdir = _sdir(state_dir)
    old = read_state(sdir)
    if old is not None and any(_alive(n) for n in old.nodes):
        raise BrokerError(f"a 3-broker cluster is already running at {old.bootstrap}")
    sdir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(2 * BROKERS)
    voters = ",".join(f"{i + 1}@127.0.0.1:{ports[2 * i + 1]}" for i in range(BROKERS))
    cluster_id = new_cluster_id()
    st = ClusterState(
        state_dir=str(sdir),
        cluster_id=cluster_id,
        kafka_version=version,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    t0 = time.monotonic()
    format_deadline = t0 + FORMAT_TIMEOUT_S
    formats = []
    for i in range(BROKERS):
        ndir = sdir / f"node{i + 1}"
        shutil.rmtree(ndir, ignore_errors=True)
        ndir.mkdir(parents=True)
        node = NodeState(i + 1, 0, ports[2 * i], ports[2 * i + 1], str(ndir))
        (ndir / "server.properties").write_text(
            server_properties_3(
                node_id=i + 1,
                data_dir=ndir / "data",
                port=node.port,
                voters=voters,
                controller_port=node.controller_port,
            )
        )
        (ndir / "log4j2.properties").write_text(log4j2_properties(ndir / "server.log"))
        st.nodes.append(node)
        cmd = _java_cmd(
            java, libs, ndir, "kafka.tools.StorageTool", "format", "--cluster-id", cluster_id,
            "--config", str(ndir / "server.properties"), "--ignore-formatted",
            jvm_opts=("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
        )  # fmt: skip
        out = open(ndir / "format.out", "wb")  # noqa: SIM115 - handed to the child
        formats.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))
        out.close()
    for i, proc in enumerate(formats):
        try:
            rc = proc.wait(max(1.0, format_deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in formats:
                p.kill()
                p.wait()
            raise BrokerError(f"formatting node {i + 1} did not finish in time") from None
        if rc != 0:
            text = (sdir / f"node{i + 1}" / "format.out").read_text(errors="replace").strip()
            raise BrokerError(
                f"formatting node {i + 1} failed: {text.splitlines()[-1] if text else rc}"
            )
    st.format_seconds = round(time.monotonic() - t0, 2)
    for node in st.nodes:
        _launch_node(java, libs, node)
    _write_state(st)
    t1 = time.monotonic()
    deadline = t1 + timeout
    try:
        wait_ready(st, deadline)
    except BaseException as e:
        tail = log_tail(15, sdir)
        stop(sdir, timeout=5, keep_data=True)
        if isinstance(e, BrokerError):
            raise BrokerError(f"{e}\n{tail}") from None
        raise
    st.ready_seconds = round(time.monotonic() - t1, 2)
    _write_state(st)
    return st


def _admin(st: ClusterState) -> Any:
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError as e:
        raise NeedsError("needs the confluent-kafka Python package (pip install)") from e
    from eoslib.real.broker_ready import _LOG

    return AdminClient(
        {"bootstrap.servers": st.bootstrap, "logger": _LOG, "socket.timeout.ms": 5000}
    )


def registered_brokers(st: ClusterState, timeout: float = 5.0) -> set[int]:
    """Ids of the brokers a metadata request lists now (registered and unfenced)."""
    admin = _admin(st)
    try:
        return set(admin.list_topics(timeout=timeout).brokers)
    finally:
        del admin


def wait_ready(st: ClusterState, deadline: float, nodes: tuple[int, ...] = (1, 2, 3)) -> None:
    """Wait until ``nodes`` accept connections and the metadata lists each of them."""
    for n in st.nodes:
        if n.node_id not in nodes:
            continue
        while True:
            if not _pid_alive(n.pid):
                raise BrokerError(f"node {n.node_id} exited during startup; see {n.log}")
            try:
                with socket.create_connection(("127.0.0.1", n.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    msg = f"node {n.node_id} did not open {n.address} in time"
                    raise BrokerError(msg) from None
                time.sleep(0.2)
    want = set(nodes)
    seen: set[int] = set()
    while True:
        for n in st.nodes:
            if n.node_id in nodes and not _pid_alive(n.pid):
                raise BrokerError(f"node {n.node_id} exited during startup; see {n.log}")
        try:
            seen = registered_brokers(st)
        except Exception:  # noqa: BLE001 - KafkaException while the quorum forms
            seen = set()
        if want <= seen:
            return
        if time.monotonic() > deadline:
            raise BrokerError(
                f"brokers {sorted(want - seen)} were not registered and unfenced in time "
                f"(metadata lists {sorted(seen)})"
            )
        time.sleep(0.3)


def status(state_dir: str | os.PathLike[str] | None = None) -> ClusterState | None:
    """The cluster's state when at least one of its nodes is running, else None."""
    st = read_state(state_dir)
    if st is None or not any(_alive(n) for n in st.nodes):
        return None
    return st


def alive_nodes(st: ClusterState) -> list[int]:
    """Ids of the nodes whose process is running (a paused one counts as running)."""
    return [n.node_id for n in st.nodes if _alive(n)]


def stop(
    state_dir: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 20.0,
    keep_data: bool = False,
) -> str:
    """Stop every node (SIGCONT, SIGTERM, SIGKILL after ``timeout`` s); delete the data.

    Returns "stopped 3 nodes", "not running" and the like. Log files are kept.
    """
    sdir = _sdir(state_dir)
    st = read_state(sdir)
    if st is None:
        return "not running"
    running = [n for n in st.nodes if _alive(n)]
    for n in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(n.pid, signal.SIGCONT)  # a paused JVM cannot handle SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.kill(n.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for n in running:
        if not _wait_dead(n.pid, max(0.1, deadline - time.monotonic())):
            _terminate(n.pid, timeout=0.1)
    if not keep_data:
        for n in st.nodes:
            shutil.rmtree(Path(n.node_dir) / "data", ignore_errors=True)
        (sdir / "state.json").unlink(missing_ok=True)
    return f"stopped {len(running)} nodes" if running else "not running"


def kill9(node_id: int, state_dir: str | os.PathLike[str] | None = None) -> int:
    """SIGKILL one node (no controlled shutdown) and wait until it is gone; keep its data.

    Returns the killed pid.
    """
    st = _running(state_dir)
    n = st.node(node_id)
    if not _alive(n):
        raise BrokerError(f"node {node_id} is not running")
    os.kill(n.pid, signal.SIGKILL)
    if not _wait_dead(n.pid, 10):
        raise BrokerError(f"node {node_id} (pid {n.pid}) survived SIGKILL")
    return n.pid


def pause(node_id: int, state_dir: str | os.PathLike[str] | None = None) -> None:
    """SIGSTOP one node: it keeps its sockets but does nothing (no fetch, no heartbeat)."""
    n = _running(state_dir).node(node_id)
    os.kill(n.pid, signal.SIGSTOP)


def resume(node_id: int, state_dir: str | os.PathLike[str] | None = None) -> None:
    """SIGCONT a paused node."""
    n = _running(state_dir).node(node_id)
    with contextlib.suppress(ProcessLookupError):
        os.kill(n.pid, signal.SIGCONT)


def restart_node(
    node_id: int, state_dir: str | os.PathLike[str] | None = None, *, timeout: float = 90.0
) -> ClusterState:
    """Start a killed node again on its data and ports; wait until all three are registered."""
    st = _running(state_dir)
    n = st.node(node_id)
    if _alive(n):
        raise BrokerError(f"node {node_id} is still running (pid {n.pid})")
    _launch_node(require_java(), require_jars(st.kafka_version), n)
    _write_state(st)
    deadline = time.monotonic() + timeout
    try:
        wait_ready(st, deadline)
    except BrokerError as e:
        raise BrokerError(f"{e}\n{log_tail(15, st.state_dir)}") from None
    return st


def _running(state_dir: str | os.PathLike[str] | None) -> ClusterState:
    st = read_state(state_dir)
    if st is None:
        raise BrokerError(f"no 3-broker cluster state in {_sdir(state_dir)}: start it first")
    return st


def log_tail(n: int = 40, state_dir: str | os.PathLike[str] | None = None) -> str:
    """The last ``n`` lines of each node's logs (format output, JVM console, server.log)."""
    sdir = _sdir(state_dir)
    parts = []
    for ndir in sorted(sdir.glob("node*")):
        for name in ("format.out", "java.out", "server.log"):
            path = ndir / name
            if path.exists() and path.stat().st_size:
                lines = path.read_text(errors="replace").splitlines()[-n:]
                parts.append(f"==> {path} <==\n" + "\n".join(lines))
    return "\n".join(parts) if parts else f"(no cluster logs in {sdir})"
