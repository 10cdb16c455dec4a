"""The configuration files of a one-node broker: ``server.properties`` and log4j2's.

One node acts as broker and controller (KRaft), with every replication factor and ISR
minimum set to 1, and three listeners on 127.0.0.1 (see :mod:`eoslib.real.broker`).
Also the free ports and the random cluster id that :func:`eoslib.real.broker.start` uses.
"""

from __future__ import annotations

import base64
import socket
import uuid
from pathlib import Path


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID as 22 characters of base64url, not starting '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def server_properties(
    *, data_dir: Path, port: int, controller_port: int, proxied_port: int, proxy_port: int
) -> str:
    """The ``server.properties`` of a one-node broker+controller (see module docstring)."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
            f"PROXIED://127.0.0.1:{proxied_port}"
        ),
        "advertised.listeners": (f"PLAINTEXT://127.0.0.1:{port},PROXIED://127.0.0.1:{proxy_port}"),
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT"
        ),
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        # One node: every replication factor and ISR minimum is 1.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        "default.replication.factor": "1",
        # One partition each instead of 50: the first group/transaction is faster.
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.num.partitions": "1",
        "num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # A restarted node re-registers only after its old registration expires (default
        # 9 s of DUPLICATE_BROKER_REGISTRATION): keep that short for the crash test.
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "1000",
        "auto.create.topics.enable": "false",
        # Abort timed-out transactions within a second instead of 10 s;
        # transaction.max.timeout.ms stays at its default (900000).
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
        "log.flush.interval.messages": "9223372036854775807",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "background.threads": "2",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def log4j2_properties(log_file: Path) -> str:
    """A log4j2 configuration that writes INFO and above to ``log_file`` (nothing to console)."""
    return (
        "status = warn\n"
        "name = eoslib-broker\n"
        "appender.file.type = File\n"
        "appender.file.name = FILE\n"
        f"appender.file.fileName = {log_file}\n"
        "appender.file.append = true\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d{HH:mm:ss,SSS}] %p %m (%c{1})%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = FILE\n"
        # The controller's per-request chatter would bury the useful lines.
        "logger.ctrl.name = org.apache.kafka.controller\n"
        "logger.ctrl.level = WARN\n"
        "logger.raft.name = org.apache.kafka.raft\n"
        "logger.raft.level = WARN\n"
    )
