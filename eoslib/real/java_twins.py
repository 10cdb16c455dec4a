"""The Java client's twins (and their librdkafka rows): one table, :data:`TWINS`.

Each twin is defined once, as a script of :mod:`eoslib.real.experiments` run on the
simulator (``client=java`` or ``client=librdkafka`` set explicitly, whatever the
simulator's default client) and on Kafka (the Java client through
:class:`~eoslib.real.java_env.JavaEnv`, or confluent-kafka through
:class:`~eoslib.real.experiments.scripted.RealEnv`). One exception keeps the course's own
scenario as the simulated side: ``tv2-torn-txn`` is the ``delayed-end-txn`` scenario, and
its real side holds that EndTxn in the proxy. A row is one client and one value of the
setting; :attr:`Twin.metrics` says what must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eoslib.real.experiments import exp_client_defaults as defaults
from eoslib.real.experiments import exp_tv2 as tv2

Script = Callable[[Any, Any], dict[str, Any]]


@dataclass(frozen=True)
class Twin:
    """One Java-claim experiment: its setting, the values and clients it runs, its script."""

    name: str
    setting: str
    values: tuple[Any, ...]
    clients: tuple[str, ...]
    script: Script
    metrics: tuple[tuple[str, str], ...]
    compares: str
    #: the simulated side is this scenario of :mod:`eoslib.scenarios` instead of the script
    scenario: str | None = None
    #: the value is the cluster's transaction.version feature (set on both sides)
    cluster_tv: bool = False
    #: the course's notebook(s) whose claim the twin checks
    notebooks: str = ""

    def label(self, value: Any) -> str:
        """``transaction.version=2`` and the like; a value without ``=`` is the setting's."""
        v = str(value).lower() if isinstance(value, bool) else str(value)
        return v if "=" in v else f"{self.setting}={v}"


TWINS: dict[str, Twin] = {
    "tv2-epoch-bump": Twin(
        "tv2-epoch-bump", "transaction.version", ("1", "2"), ("librdkafka", "java"),
        tv2.epoch_bump, (("epochs", "exact"),),
        "the coordinator's producer epoch after init_transactions and after each of 3 "
        "commits (Kafka: Admin.describeTransactions; librdkafka speaks version 1 whatever "
        "the cluster has)", cluster_tv=True, notebooks="06d"),
    "tv2-torn-txn": Twin(
        "tv2-torn-txn", "transaction.version", ("1", "2"), ("java",), tv2.torn_txn,
        (("torn_txn_records", "exact"), ("stale_end_txn_error", "exact")),
        "draft records of an aborted transaction that became committed, and the broker's "
        "answer to the late EndTxn(commit) of the transaction before (simulator: a delayed "
        "copy, scenario delayed-end-txn; Kafka: the proxy held the request, the client "
        "retried it, the proxy delivered the original during the next transaction)",
        scenario="delayed-end-txn", cluster_tv=True, notebooks="06d"),
    "tv2-fence": Twin(
        "tv2-fence", "transaction.version", ("1", "2"), ("librdkafka", "java"), tv2.fence,
        (("fence_bumps", "exact"), ("new_epoch_bumps", "exact"), ("a_fenced", "exact")),
        "epochs a fence adds: the ABORT marker's epoch on the partition minus the fenced "
        "producer's (Kafka: Admin.describeProducers), the new producer's epoch minus it, "
        "and whether the fenced producer's commit fails", cluster_tv=True, notebooks="06b"),
    "java-auto-commit": Twin(
        "java-auto-commit", "end", ("crash", "close", "rebalance"), ("java",),
        defaults.auto_commit_java,
        (("committed_by_next_poll", "exact"), ("committed_after", "exact")),
        "the group's committed offset after a poll past auto.commit.interval.ms (the "
        "previous poll's position: 3 of 6 handed out), and after the consumer crashes, "
        "closes, or has its partition revoked by a rebalance", notebooks="03"),
    "java-partitioner": Twin(
        "java-partitioner", "partitioner", ("default",), ("librdkafka", "java"),
        defaults.partitioner, (("partitions", "exact"),),
        "the partition of each of 8 keys on a 3-partition topic under the client's default "
        "partitioner (Java: murmur2; librdkafka: consistent_random, CRC32)", notebooks="10"),
    "idempotence-opt-out": Twin(
        "idempotence-opt-out", "config", defaults.OPT_OUT, ("librdkafka", "java"),
        defaults.idempotence_opt_out, (("refused", "exact"), ("duplicates", "exact")),
        "whether the producer is refused at creation, else duplicates after the answer to "
        "produce request 2 of 3 was lost (enable.idempotence left at the client's default "
        "unless named)", notebooks="02"),
    "default-isolation": Twin(
        "default-isolation", "isolation.level", ("default",), ("librdkafka", "java"),
        defaults.default_isolation, (("aborted_read", "exact"), ("committed_read", "exact")),
        "records of an aborted transaction (3) and of a committed one (3) that a consumer "
        "with isolation.level left unset returns", notebooks="05"),
    "stable-offsets": Twin(
        "stable-offsets", "isolation.level", ("read_uncommitted", "read_committed"),
        ("librdkafka", "java"), defaults.stable_offsets,
        (("committed_while_open", "exact"),),
        "what committed() returns (3 s) while an open transaction holds the group's offsets "
        "(\"waited\": it timed out waiting for stable offsets)",
        notebooks="05"),
}


def run_sim(name: str, client: str, value: Any) -> dict[str, Any]:
    """The simulated side of one row (``client=`` set explicitly)."""
    from eoslib.real.experiments.scripted import SimEnv, run

    twin = TWINS[name]
    if twin.scenario is not None:
        from eoslib.scenarios import run_scenario

        config: dict[str, Any] = {"client": client}
        if twin.cluster_tv:
            config["transaction.version"] = value
        return dict(run_scenario(twin.scenario, seed=0, config=config, tracing=False).counts)
    cluster = {"transaction.version": value} if twin.cluster_tv else None
    return run(twin.script, SimEnv(client=client, cluster=cluster), value)


def run_real(name: str, client: str, value: Any, cluster: Any, java: Any = None) -> dict[str, Any]:
    """The real side of one row: the Java client through ``java`` (a
    :class:`~eoslib.real.java_env.JavaSession`; one is started and closed when None) or
    confluent-kafka."""
    from eoslib.real.experiments.scripted import RealEnv, run

    twin = TWINS[name]
    tv = value if twin.cluster_tv else None
    if tv is not None and cluster.proxy_port is None:
        from eoslib.real.errors import NeedsError

        raise NeedsError("needs the bundled broker (`eoslib broker start`): this row sets the "
                         "cluster-wide transaction.version feature, which eoslib never changes "
                         "on a cluster of yours")
    if client == "java" and cluster.extra_conf:
        from eoslib.real.errors import NeedsError

        raise NeedsError("needs a cluster without -X settings: they are confluent-kafka's, "
                         "and the Java rows do not translate them")
    from eoslib.real.java_env import JavaAdmin, JavaSession

    if client == "librdkafka" and not twin.cluster_tv:
        from eoslib.real.clients import require_client

        require_client()
        return run(twin.script, RealEnv(cluster), value)
    session = java or JavaSession(cluster)
    try:
        if client == "java":
            return run(twin.script, session.env(transaction_version=tv), value)
        # librdkafka, observed (and the feature set) through Kafka's Java admin client
        admin = JavaAdmin(session)
        try:
            admin.set_transaction_version(value)
            return run(twin.script, RealEnv(cluster, admin), value)
        finally:
            admin.restore()
    finally:
        if java is None:
            session.close()


def variants(name: str) -> list[tuple[str, Any]]:
    """(client, value) of every row of ``name``, clients first."""
    twin = TWINS[name]
    return [(c, v) for c in twin.clients for v in twin.values]
