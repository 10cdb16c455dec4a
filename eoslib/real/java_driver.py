"""The Java client driver: one JVM running Apache Kafka's Java client, step by step, as JSON.

``Driver.java`` (next to this module, in ``java/``) is a small program around
``org.apache.kafka:kafka-clients`` of the broker's version: the same jar Maven put in the
broker's libs directory (``eoslib broker fetch``; ``kafka_2.13`` depends on it, and the POM
names it too). :func:`build` compiles it once with ``javac`` into the cache
(``$EOSLIB_CACHE/java-driver-<hash>``); afterwards everything is offline.

:class:`JavaDriver` starts one driver process and sends it steps (``{"op": "produce", ...}``,
one JSON line each) and reads one JSON answer per step. Every answer is awaited with a
deadline: a driver that does not answer is killed and :class:`DriverHang` carries the last
lines of its log (the Java client's own log4j output) and of its stderr. A step that fails in
Java comes back as :class:`JavaStepError` with the exception's class, message and Kafka
error name (``Errors.forException``).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from eoslib.real.errors import BrokerError, NeedsError
from eoslib.real.jars import KAFKA_VERSION, cache_dir, libs_dir, require_jars, require_java

SOURCE = Path(__file__).with_name("java") / "Driver.java"

#: the jars the driver needs from the broker's libs directory (name prefixes):
#: the client itself, its compression codecs, JSON for the steps, and logging
CLIENT_JARS = ("kafka-clients-", "lz4-java-", "snappy-java-", "zstd-jni-", "jackson-databind-",
               "jackson-core-", "jackson-annotations-", "slf4j-api-", "log4j-api-",
               "log4j-core-", "log4j-slf4j-impl-")

#: seconds added to a step's own timeout before the driver is declared hung
MARGIN_S = 20.0
JVM_OPTS = ("-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xshare:auto")


class DriverHang(BrokerError):
    """The Java driver did not answer in time (or died); the message ends with its log."""


class JavaStepError(Exception):
    """A step failed inside the Java client: ``error`` holds ``class``, ``message``, ``name``
    (Kafka's error name, ``Errors.forException``), ``retriable`` and, for producers,
    ``fatal`` and ``abortable`` (the transaction manager's state after the error)."""

    def __init__(self, op: str, error: dict[str, Any]) -> None:
        self.op = op
        self.error = error
        short = str(error.get("class", "?")).rsplit(".", 1)[-1]
        super().__init__(f"{op}: {short}: {error.get('message')}")


def require_javac() -> str:
    """Path of ``javac`` (the JDK's compiler); NeedsError if only a JRE is installed."""
    javac = shutil.which("javac")
    if javac is None:
        raise NeedsError("needs a JDK 17 (javac) to build the Java client driver: `javac` "
                         "not found on PATH")
    return javac


def client_classpath(version: str = KAFKA_VERSION) -> list[Path]:
    """The jars of the Java client, from the broker's libs; NeedsError when missing."""
    libs = require_jars(version)
    jars = sorted(libs.glob("*.jar"))
    picked = [j for j in jars if any(j.name.startswith(p) for p in CLIENT_JARS)]
    if not any(j.name == f"kafka-clients-{version}.jar" for j in picked):
        raise NeedsError(f"needs kafka-clients-{version}.jar in {libs}: run "
                         "`eoslib broker fetch --force`")
    return picked


def build_dir(version: str = KAFKA_VERSION) -> Path:
    """Where the compiled driver of this source and client version lives."""
    digest = hashlib.sha256(SOURCE.read_bytes() + version.encode()).hexdigest()[:12]
    return cache_dir() / f"java-driver-{digest}"


def build(version: str = KAFKA_VERSION) -> Path:
    """Compile ``Driver.java`` once (javac, against the client jars); the class directory."""
    out = build_dir(version)
    if (out / "Driver.class").exists():
        return out
    javac = require_javac()
    cp = os.pathsep.join(str(j) for j in client_classpath(version))
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    proc = subprocess.run([javac, "-nowarn", "-cp", cp, "-d", str(tmp), str(SOURCE)],
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        first = (proc.stderr or proc.stdout).strip().splitlines()[:3]
        raise BrokerError("javac could not compile the Java client driver: " + " | ".join(first))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def _log4j2(log_file: Path) -> str:
    """The Java client's log: INFO and above, to ``log_file`` (the JSON protocol owns stdout)."""
    return (
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = FILE\n"
        f"appender.file.fileName = {log_file}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d{HH:mm:ss,SSS}] %p %m (%c{1})%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = FILE\n"
        # the config dumps (hundreds of lines per client) would bury what matters
        "logger.pc.name = org.apache.kafka.clients.producer.ProducerConfig\n"
        "logger.pc.level = WARN\n"
        "logger.cc.name = org.apache.kafka.clients.consumer.ConsumerConfig\n"
        "logger.cc.level = WARN\n"
        "logger.ac.name = org.apache.kafka.clients.admin.AdminClientConfig\n"
        "logger.ac.level = WARN\n"
        "logger.app.name = org.apache.kafka.common.utils.AppInfoParser\n"
        "logger.app.level = WARN\n"
    )


class JavaDriver:
    """One running driver process (see the module docstring).

    ``work_dir`` receives ``<name>.log`` (the Java client's log) and ``<name>.stderr``.
    """

    #: JVM starts by this Python process (the tests report it)
    started = 0

    def __init__(self, bootstrap: str, work_dir: Path, *, name: str = "driver",
                 version: str = KAFKA_VERSION) -> None:
        java = require_java()
        classes = build(version)
        cp = os.pathsep.join([str(classes), *(str(j) for j in client_classpath(version))])
        work_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log = work_dir / f"{name}.log"
        self.stderr_path = work_dir / f"{name}.stderr"
        conf = work_dir / f"{name}.log4j2.properties"
        conf.write_text(_log4j2(self.log))
        self._err = open(self.stderr_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [java, *JVM_OPTS, f"-Dlog4j2.configurationFile={conf}", "-cp", cp, "Driver"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
            text=True, encoding="utf-8", bufsize=1)
        JavaDriver.started += 1
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"eoslib-{name}", daemon=True)
        self._reader.start()
        self._next_id = 0
        self.exit_code: int | None = None
        self.steps: list[dict[str, Any]] = []  # every step and its answer (for reports)
        hello = self.call("hello", bootstrap=bootstrap, timeout_s=60)
        self.client_version = hello["kafka_clients"]
        self.java_version = hello["java"]

    # --------------------------------------------------------------------- protocol
    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._answers.put(line)
        self._answers.put(None)  # end of stream: the process is gone

    def call(self, op: str, *, timeout_s: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send one step and return its answer; JavaStepError if it failed in Java,
        DriverHang if no answer came within ``timeout_s`` (default: the step's
        ``timeout_ms`` + :data:`MARGIN_S`)."""
        if self.proc.poll() is not None:
            raise self._hang(op, f"the driver had already exited ({self.proc.returncode})")
        self._next_id += 1
        step = {"id": self._next_id, "op": op, **fields}
        wait = timeout_s if timeout_s is not None else \
            fields.get("timeout_ms", 30000) / 1000 + MARGIN_S
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(step) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise self._hang(op, f"could not send the step ({e})") from e
        deadline = time.monotonic() + wait
        while True:
            try:
                line = self._answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise self._hang(op, f"no answer within {wait:.0f} s") from None
            if line is None:
                self.proc.wait(10)
                raise self._hang(op, f"the driver exited with {self.proc.returncode}")
            answer = json.loads(line)
            if answer.get("id") == step["id"]:
                break
        self.steps.append({"step": step, "answer": answer})
        if not answer.get("ok"):
            raise JavaStepError(op, answer.get("error") or {})
        return answer

    def crash(self, code: int = 3) -> int:
        """The application process dies at once (``Runtime.halt``): no close, no commit,
        no abort. Returns the exit status."""
        self._next_id += 1
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"id": self._next_id, "op": "crash",
                                              "code": code}) + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            self.exit_code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise self._hang("crash", "the driver did not exit within 30 s") from None
        self._err.close()
        return self.exit_code

    def close(self) -> None:
        """Close every client (5 s each at most) and end the process."""
        if self.proc.poll() is None:
            try:
                self.call("exit", timeout_s=60)
            except (DriverHang, JavaStepError):
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.exit_code = self.proc.returncode
        if not self._err.closed:
            self._err.close()

    def kill(self) -> None:
        """SIGKILL the JVM (a hung driver)."""
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    # --------------------------------------------------------------------- diagnosis
    def log_tail(self, n: int = 12) -> str:
        """The last ``n`` lines of the Java client's log and of the JVM's stderr."""
        parts = []
        for path in (self.log, self.stderr_path):
            if path.exists():
                lines = path.read_text(errors="replace").strip().splitlines()[-n:]
                if lines:
                    parts.append(f"{path.name}:\n  " + "\n  ".join(lines))
        return "\n".join(parts) or "(the driver wrote no log)"

    def _hang(self, op: str, why: str) -> DriverHang:
        return DriverHang(f"Java driver {self.name!r}, step {op!r}: {why}. Last lines of "
                          f"its log:\n{self.log_tail()}")

    def __enter__(self) -> JavaDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def libs_ready(version: str = KAFKA_VERSION) -> bool:
    """True when the client jars are in the cache (no download needed)."""
    return (libs_dir(version) / f"kafka-clients-{version}.jar").exists()
