"""The Java client's claims against the session's real broker (marker ``broker``).

Apache Kafka's Java client (kafka-clients of the broker's version, driven by one shared
driver JVM: the ``java`` fixture of :mod:`eoslib.real.testing`) runs each Java twin of
:data:`eoslib.real.java_twins.TWINS` on the one broker of the session; the librdkafka rows
of the same twins run with confluent-kafka. Each row runs once (cached): first the real
side must say what the course teaches, then the simulator (``client`` set explicitly) must
agree with it. A failing row prints the broker's log tail and the Java driver's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eoslib.partitioner import crc32_partition, partition_for_key
from eoslib.real import broker, java_twins
from eoslib.real.compare import agrees
from eoslib.real.experiments.exp_client_defaults import INTERVAL_MS, KEYS
from eoslib.real.java_driver import DriverHang, JavaDriver, build
from eoslib.real.java_env import JavaSession
from eoslib.real.java_twins import TWINS
from eoslib.real.testing import Kafka

pytestmark = pytest.mark.broker

ROWS = [(name, c, v) for name in TWINS for c, v in java_twins.variants(name)]


class Twins:
    """The rows run so far, their seconds, and the JVMs they started."""

    def __init__(self, kafka: Kafka, java: JavaSession) -> None:
        self.kafka, self.java = kafka, java
        self.counts: dict[tuple[str, str, Any], dict[str, Any]] = {}
        self.seconds: dict[tuple[str, str, Any], float] = {}

    def real(self, name: str, client: str, value: Any) -> dict[str, Any]:
        key = (name, client, value)
        if key not in self.counts:
            t = time.monotonic()
            with self.logs_on_failure():
                self.counts[key] = java_twins.run_real(name, client, value,
                                                       self.kafka.cluster, self.java)
            self.seconds[key] = round(time.monotonic() - t, 1)
            print(f"{name} [{client}] {value}: {self.seconds[key]} s, {self.counts[key]}")
        return self.counts[key]

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            print(broker.log_tail(40, self.kafka.state_dir))
            print(self.java.driver.log_tail(40))
            raise


@pytest.fixture(scope="module")
def twins(kafka: Kafka, java: JavaSession) -> Twins:
    return Twins(kafka, java)


def test_the_driver_runs_the_brokers_own_java_client(java: JavaSession) -> None:
    d = java.driver
    assert d.client_version == broker.KAFKA_VERSION  # kafka-clients 4.1.1, from Maven Central
    assert d.java_version.split(".")[0] >= "17"


def test_tv2_bumps_the_epoch_at_every_commit_tv1_keeps_it(twins: Twins) -> None:
    assert twins.real("tv2-epoch-bump", "java", "1")["epochs"] == [0, 0, 0, 0]
    assert twins.real("tv2-epoch-bump", "java", "2")["epochs"] == [0, 1, 2, 3]


def test_librdkafka_speaks_transaction_version_1_on_a_tv2_cluster(twins: Twins) -> None:
    assert twins.real("tv2-epoch-bump", "librdkafka", "2")["epochs"] == [0, 0, 0, 0]
    assert twins.real("tv2-fence", "librdkafka", "2")["a_error"] == "_FENCED"


def test_a_late_end_txn_commits_the_next_transaction_under_tv1_only(twins: Twins) -> None:
    tv1, tv2 = twins.real("tv2-torn-txn", "java", "1"), twins.real("tv2-torn-txn", "java", "2")
    assert tv1["held"] == tv2["held"] == 1  # the proxy held one EndTxn and delivered it late
    assert (tv1["end_txn_version"], tv2["end_txn_version"]) == (4, 5)  # KIP-890: v5 is TV2
    assert tv1["torn_txn_records"] == 5 and tv1["stale_end_txn_error"] is None
    assert tv1["abort_error"] == "INVALID_TXN_STATE"  # the app's abort comes too late
    assert tv2["torn_txn_records"] == 0 and tv2["stale_end_txn_error"] == "PRODUCER_FENCED"
    assert tv2["abort_error"] is None and tv2["committed_read"] == 5


def test_a_fence_bumps_the_epoch_once_and_the_new_producer_once_more(twins: Twins) -> None:
    for tv in ("1", "2"):
        r = twins.real("tv2-fence", "java", tv)
        assert (r["fence_bumps"], r["new_epoch_bumps"]) == (1, 2), r
        assert r["a_error"] == "PRODUCER_FENCED" and r["a1_visible"] == 0


def test_java_auto_commit_commits_the_previous_polls_position(twins: Twins) -> None:
    crash = twins.real("java-auto-commit", "java", "crash")
    close = twins.real("java-auto-commit", "java", "close")
    rebalance = twins.real("java-auto-commit", "java", "rebalance")
    assert crash["handed"] == close["handed"] == rebalance["handed"] == 6
    assert crash["committed_by_next_poll"] == 3  # the position the previous poll left
    assert crash["committed_after"] == 3  # a crash commits nothing more: 3 records replay
    assert close["committed_after"] == 6  # close() commits the position
    assert rebalance["committed_at_revocation"] == 6  # committed before the revocation
    # within the interval of the poll that committed 3: no timer commit came before
    assert rebalance["seconds_since_commit_poll"] < INTERVAL_MS / 1000
    assert rebalance["committed_after"] == 6


def test_each_client_partitions_keys_its_own_way(twins: Twins) -> None:
    java = twins.real("java-partitioner", "java", "default")["partitions"]
    rdk = twins.real("java-partitioner", "librdkafka", "default")["partitions"]
    assert java == [partition_for_key(k, 3) for k in KEYS]  # murmur2
    assert rdk == [crc32_partition(k, 3) for k in KEYS]  # consistent_random
    assert java != rdk


def test_idempotence_opt_out_per_client(twins: Twins) -> None:
    got = {(c, s): (r["refused"], r["duplicates"]) for c in ("java", "librdkafka")
           for s in TWINS["idempotence-opt-out"].values
           for r in [twins.real("idempotence-opt-out", c, s)]}
    assert got[("java", "acks=1")] == (0, 1)  # left at its default: silently off
    assert got[("java", "acks=1, enable.idempotence=true")] == (1, None)  # ConfigException
    assert got[("java", "acks=all")] == (0, 0)  # on by default
    assert got[("librdkafka", "acks=1")] == (0, 1)  # off by default
    assert got[("librdkafka", "acks=1, enable.idempotence=true")] == (1, None)
    assert got[("librdkafka", "acks=all")] == (0, 1)  # still off by default
    refusal = twins.real("idempotence-opt-out", "java", "acks=1, enable.idempotence=true")
    assert refusal["refusal"].startswith("ConfigException")


def test_a_consumer_left_at_its_default_isolation(twins: Twins) -> None:
    assert twins.real("default-isolation", "java", "default")["aborted_read"] == 3
    assert twins.real("default-isolation", "librdkafka", "default")["aborted_read"] == 0


def test_java_always_waits_for_stable_offsets_librdkafka_under_read_committed(
        twins: Twins) -> None:
    w = {(c, v): twins.real("stable-offsets", c, v)["committed_while_open"]
         for c in ("java", "librdkafka") for v in ("read_uncommitted", "read_committed")}
    assert w == {("java", "read_uncommitted"): "waited", ("java", "read_committed"): "waited",
                 ("librdkafka", "read_uncommitted"): None,
                 ("librdkafka", "read_committed"): "waited"}


@pytest.mark.parametrize("name, client, value", ROWS,
                         ids=[f"{n}-{c}-{v}".replace(" ", "") for n, c, v in ROWS])
def test_simulation_agrees_with_real_kafka(twins: Twins, name: str, client: str,
                                           value: Any) -> None:
    real = twins.real(name, client, value)
    sim = java_twins.run_sim(name, client, value)
    assert agrees(name, sim, real), f"{name} [{client}] {value}: simulation {sim} vs {real}"


def test_the_java_rows_start_few_jvms(twins: Twins) -> None:
    """One shared driver for every row; a JVM of its own only for a process that crashes
    (java-auto-commit's consumer: one per row)."""
    for row in ROWS:
        twins.real(*row)
    print(f"JVMs started this session: {JavaDriver.started}; row seconds: {twins.seconds}")
    assert JavaDriver.started <= 1 + len(TWINS["java-auto-commit"].values)


def test_a_hung_driver_fails_with_the_last_lines_of_its_log(tmp_path: Path) -> None:
    try:
        build()
    except broker.NeedsError as e:
        pytest.skip(str(e))
    d = JavaDriver("127.0.0.1:9", tmp_path, name="hang")
    try:
        with pytest.raises(DriverHang) as exc:
            d.call("sleep", ms=60_000, timeout_s=1.5)
        msg = str(exc.value)
        assert "step 'sleep': no answer within 2 s" in msg and "Last lines of its log" in msg
        assert not d.alive  # the hung JVM was killed
    finally:
        d.kill()
