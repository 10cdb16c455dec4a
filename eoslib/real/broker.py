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
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).with_name("pom.xml")
JAVA_MAJOR = 17
# C1-only JIT and the serial GC: measured 7.5-9 s instead of 10-15 s to a ready broker on
# a busy 2-core machine; peak throughput does not matter for these experiments.
JVM_OPTS = ("-Xms256m", "-Xmx768m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

_LOG = logging.getLogger("eoslib.real.broker")
_LOG.addHandler(logging.NullHandler())  # the readiness clients' librdkafka logs

# Processes started by this Python process, so that they can be reaped (a killed child
# stays a zombie, and looks alive to kill(pid, 0), until its parent waits for it).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(RuntimeError):
    """The broker could not be fetched, started, stopped or reached (one-line message)."""


class NeedsError(BrokerError):
    """A prerequisite is missing; the message starts with "needs" (tests skip on it)."""


@dataclass
class BrokerState:
    """What :func:`start` writes to ``state.json``: enough to find and stop the broker."""

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


# --------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    """``$EOSLIB_CACHE`` if set, else ``~/.cache/eoslib``."""
    env = os.environ.get("EOSLIB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eoslib"


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    """Where :func:`fetch` puts the jars of one Kafka version."""
    return cache_dir() / f"kafka-{version}" / "libs"


def default_state_dir() -> Path:
    """The state directory used by the ``eoslib broker`` command."""
    return cache_dir() / "broker"


def _state_dir(state_dir: str | os.PathLike[str] | None) -> Path:
    return Path(state_dir) if state_dir is not None else default_state_dir()


# --------------------------------------------------------------------------- prerequisites


def require_java() -> str:
    """Path of a Java >= 17 ``java``; raises :class:`NeedsError` otherwise."""
    java = shutil.which("java")
    if java is None:
        raise NeedsError(f"needs Java {JAVA_MAJOR}: `java` not found on PATH")
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NeedsError(f"needs Java {JAVA_MAJOR}: `java -version` failed ({e})") from e
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(m.group(1)) if m else 0
    if major == 1 and m and m.group(2):  # "1.8.0_x" style
        major = int(m.group(2))
    if major < JAVA_MAJOR:
        first = out.strip().splitlines()[0] if out.strip() else "unknown version"
        raise NeedsError(f"needs Java {JAVA_MAJOR} or newer: `java` is {first}")
    return java


def require_maven() -> str:
    """Path of ``mvn``; raises :class:`NeedsError` if Maven is missing."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise NeedsError("needs Maven to download the Kafka jars: `mvn` not found on PATH")
    return mvn


def is_fetched(version: str = KAFKA_VERSION) -> bool:
    """True when the jars of ``version`` are in the cache."""
    libs = libs_dir(version)
    return (libs / ".complete").exists() and any(libs.glob(f"kafka_2.13-{version}.jar"))


def require_jars(version: str = KAFKA_VERSION) -> Path:
    """The libs directory; raises :class:`NeedsError` if :func:`fetch` has not run."""
    if not is_fetched(version):
        raise NeedsError(
            f"needs the Kafka {version} jars: run `eoslib broker fetch` (Maven Central)"
        )
    return libs_dir(version)


# --------------------------------------------------------------------------- fetch


def fetch(
    version: str = KAFKA_VERSION,
    *,
    repo_local: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Path:
    """Copy the broker's jars from Maven Central into the cache; return the libs directory.

    Runs ``mvn -q -B -f <pom> dependency:copy-dependencies -DoutputDirectory=...`` into a
    temporary directory, then renames it into place, so an interrupted download leaves
    nothing half-done. Skipped when the jars are already there (unless ``force``).
    ``repo_local`` points Maven at another local repository (to measure a cold download).
    """
    libs = libs_dir(version)
    if is_fetched(version) and not force:
        return libs
    mvn = require_maven()
    require_java()
    tmp = libs.with_name(f"libs.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        f"-Dkafka.version={version}",
    ]
    if repo_local is not None:
        cmd.append(f"-Dmaven.repo.local={repo_local}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        why = lines[0].strip() if lines else f"exit status {proc.returncode}"
        raise BrokerError(f"Maven could not fetch Kafka {version}: {why}")
    if not any(tmp.glob(f"kafka_2.13-{version}.jar")):
        shutil.rmtree(tmp, ignore_errors=True)
        raise BrokerError(f"Maven finished but kafka_2.13-{version}.jar is not in {tmp}")
    (tmp / ".complete").write_text(datetime.now(UTC).isoformat() + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    return libs


def libs_size(version: str = KAFKA_VERSION) -> tuple[int, int]:
    """(number of jars, total bytes) in the libs directory of ``version``."""
    jars = list(libs_dir(version).glob("*.jar"))
    return len(jars), sum(j.stat().st_size for j in jars)


# --------------------------------------------------------------------------- config


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


# --------------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _is_our_broker(pid: int, state_dir: Path) -> bool:
    """The pid is alive and is a kafka.Kafka running this state directory's config."""
    if not _pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline and str(state_dir / "server.properties").encode() in cmdline


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            _CHILDREN.pop(pid, None)
            return True
        time.sleep(0.05)
    return False


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


def _java_cmd(java: str, libs: Path, state_dir: Path, main: str, *args: str) -> list[str]:
    return [
        java,
        *JVM_OPTS,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={state_dir / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def _wait_ready(st: BrokerState, deadline: float) -> None:
    """TCP connect to the PLAINTEXT listener, then an admin ``list_topics`` that succeeds."""
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError as e:
        raise NeedsError("needs the confluent-kafka Python package (pip install)") from e

    def check_alive() -> None:
        if not _pid_alive(st.pid):
            raise BrokerError(
                f"the broker exited during startup; see {st.log} (`eoslib broker log`)"
            )

    while True:
        check_alive()
        try:
            with socket.create_connection((st.host, st.port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker did not open {st.bootstrap} in time") from None
            time.sleep(0.2)
    admin = AdminClient(_client_conf(st, **{"socket.timeout.ms": 5000}))
    try:
        while True:
            check_alive()
            try:
                if admin.list_topics(timeout=5).brokers:
                    break
            except Exception:  # noqa: BLE001 - KafkaException while the broker comes up
                pass
            if time.monotonic() > deadline:
                raise BrokerError(f"the broker at {st.bootstrap} did not answer metadata in time")
            time.sleep(0.2)
    finally:
        del admin
    _warm_up(st, deadline)
    gc.collect()  # destroy the clients now, not at interpreter exit (librdkafka may crash)


def _client_conf(st: BrokerState, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": st.bootstrap, "logger": _LOG, **extra}


def _warm_up(st: BrokerState, deadline: float) -> None:
    """Create the internal topics now, so the first experiment does not wait for them.

    A group's first committed-offset lookup creates ``__consumer_offsets`` and a first
    ``init_transactions`` creates ``__transaction_state``; both then load their partitions
    ("coordinator load in progress"). A fresh client hitting that window can stall.
    """
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    # (AdminClient.list_consumer_group_offsets would do, but confluent-kafka 2.16.1 was
    # seen to segfault when its result arrives while the coordinator is still loading.)
    consumer = Consumer(_client_conf(st, **{"group.id": "eoslib-warm-up"}))
    try:
        while True:
            try:
                consumer.committed([TopicPartition("eoslib-warm-up", 0)], timeout=10)
                break
            except KafkaException:
                if time.monotonic() > deadline:
                    raise BrokerError("the group coordinator did not come up in time") from None
                time.sleep(0.5)
    finally:
        consumer.close()
        del consumer
    producer = Producer(
        _client_conf(st, **{"transactional.id": "eoslib-warm-up", "enable.idempotence": True})
    )
    try:
        producer.init_transactions(max(1.0, deadline - time.monotonic()))
    except KafkaException as e:
        raise BrokerError(f"the transaction coordinator did not come up: {e}") from None
    finally:
        producer.flush(1)
        del producer


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


def _terminate(pid: int, *, timeout: float) -> str:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. Returns how it ended."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        _wait_dead(pid, 1)
        return "gone"
    if _wait_dead(pid, timeout):
        return "terminated"
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _wait_dead(pid, 10)
    return "killed"


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
