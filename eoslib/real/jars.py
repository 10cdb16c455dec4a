"""The Kafka broker's jars, fetched from Maven Central, and the Java and Maven they need.

The broker is the real thing: the ``org.apache.kafka:kafka_2.13`` jars from Maven Central,
copied once by Maven (:func:`fetch`) into ``$EOSLIB_CACHE/kafka-<version>/libs`` (default
cache: ``~/.cache/eoslib``). A missing prerequisite (Java 17, Maven, the jars) raises
:class:`~eoslib.real.errors.NeedsError`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from eoslib.real.errors import BrokerError, NeedsError

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).with_name("pom.xml")
JAVA_MAJOR = 17


# --------------------------------------------------------------------------- locations


def cache_dir() -> Path:
    """``$EOSLIB_CACHE`` if set, else ``~/.cache/eoslib``."""
    env = os.environ.get("EOSLIB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eoslib"


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    """Where :func:`fetch` puts the jars of one Kafka version."""
    return cache_dir() / f"kafka-{version}" / "libs"


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
