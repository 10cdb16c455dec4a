"""The broker's Java processes: their command line, liveness and termination."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

# C1-only JIT and the serial GC: measured 7.5-9 s instead of 10-15 s to a ready broker on
# a busy 2-core machine; peak throughput does not matter for these experiments.
JVM_OPTS = ("-Xms256m", "-Xmx768m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

# Processes started by this Python process, so that they can be reaped (a killed child
# stays a zombie, and looks alive to kill(pid, 0), until its parent waits for it).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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


def _java_cmd(
    java: str,
    libs: Path,
    state_dir: Path,
    main: str,
    *args: str,
    jvm_opts: tuple[str, ...] = JVM_OPTS,
) -> list[str]:
    return [
        java,
        *jvm_opts,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={state_dir / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


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
