"""Real three-broker Kafka cluster (marker ``broker``): replication, acks and min.insync.

One three-node KRaft cluster (:mod:`eoslib.real.cluster3`) for the whole session, in its own
state directory and on its own free ports (the single-broker tests may run alongside);
stopped at the end whatever happens, and then no process of it may be left. Each experiment
runs once per setting (cached) and is compared with its simulated twin. A failing test
prints every node's log tail.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from eoslib.real import broker, cluster3
from eoslib.real.cli import main as cli_main
from eoslib.real.clients import require_client
from eoslib.real.compare import SIM_CALLS, agrees, run_sim
from eoslib.real.experiments import run_experiment
from eoslib.result import Result

pytestmark = pytest.mark.broker

EXPERIMENTS = ("acks-leader-failover", "min-insync")


@dataclass
class Three:
    """The session's cluster and the experiment results computed so far."""

    state: cluster3.ClusterState
    state_dir: Path
    results: dict[tuple[str, bool], Result] = field(default_factory=dict)

    def run(self, name: str, on: bool) -> Result:
        """Run an experiment once on this cluster (the comparison's settings), then cache it."""
        key = (name, on)
        if key not in self.results:
            t = time.monotonic()
            with self.log_on_failure():
                self.results[key] = run_experiment(
                    name, None, on=on, state_dir=self.state_dir, **SIM_CALLS[name].real_kwargs
                )
            print(f"{name} on={on}: {time.monotonic() - t:.1f} s, {self.results[key].counts}")
        return self.results[key]

    @contextlib.contextmanager
    def log_on_failure(self) -> Iterator[None]:
        """Print every node's log tail if the block raises."""
        try:
            yield
        except BaseException:
            print(cluster3.log_tail(40, self.state_dir))
            raise


def _pid_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture(scope="session")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Three]:
    """A three-broker cluster for the session; skipped ("needs ...") without Java/Maven."""
    try:
        broker.require_java()
        require_client()
        if not broker.is_fetched():
            broker.fetch()
    except broker.NeedsError as e:
        pytest.skip(str(e))
    state_dir = tmp_path_factory.mktemp("kafka-cluster3")
    t = time.monotonic()
    try:
        st = cluster3.start(state_dir)
    except broker.BrokerError as e:
        cluster3.stop(state_dir)
        pytest.fail(f"the three-broker cluster did not start: {e}")
    print(
        f"3 brokers ready in {time.monotonic() - t:.1f} s "
        f"(format {st.format_seconds} s, ready {st.ready_seconds} s) at {st.bootstrap}"
    )
    try:
        yield Three(st, state_dir)
    finally:
        last = cluster3.read_state(state_dir) or st
        pids = [n.pid for n in last.nodes] + [n.pid for n in st.nodes]
        cluster3.stop(state_dir)
        left = [p for p in pids if not _pid_gone(p)]
        assert not left, f"cluster processes left behind: {left}"


def test_three_brokers_are_registered_each_its_own_process(three: Three) -> None:
    st = cluster3.status(three.state_dir)
    assert st is not None
    assert cluster3.registered_brokers(st) == {1, 2, 3}
    assert len({n.pid for n in st.nodes}) == 3 and len({n.port for n in st.nodes}) == 3
    assert cluster3.alive_nodes(st) == [1, 2, 3]
    for n in st.nodes:
        assert "Kafka Server started" in Path(n.log).read_text()  # logging works per node
    assert three.state_dir != cluster3.default_state_dir()  # never the learner's cluster


def test_cli_status_reports_the_cluster(three: Three, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["broker", "--state-dir", str(three.state_dir), "status", "--brokers", "3"])
    out = capsys.readouterr().out
    assert rc == 0 and "nodes up [1, 2, 3]" in out and three.state.bootstrap in out


def test_acks_1_loses_the_write_acknowledged_before_the_leader_died(three: Three) -> None:
    r = three.run("acks-leader-failover", False)
    assert r.counts["acked_before_kill"] is True  # the old leader did acknowledge m5
    assert r.counts["leader_after"] in (2, 3)
    assert r.counts["acked_then_lost"] == ["m5"] and r.counts["lost"] == 1, r.report
    assert _pid_gone(r.counts["killed_pid"])  # the leader really died (SIGKILL)


def test_acks_all_with_min_insync_2_loses_nothing(three: Three) -> None:
    r = three.run("acks-leader-failover", True)
    assert r.counts["acked_before_kill"] is False  # no ack while the followers were frozen
    assert r.counts["lost"] == 0 and r.counts["missing"] == 0, r.report
    assert r.report.ok, r.report


def test_min_insync_2_accepts_writes_with_one_broker_down(three: Three) -> None:
    r = three.run("min-insync", False)
    assert r.counts["isr_after_kill"] == [2, 3]
    assert r.counts["missing"] == 0 and r.counts["lost"] == 0
    assert r.counts["not_enough_replicas"] is None  # the probe was written


def test_min_insync_3_refuses_writes_with_not_enough_replicas(three: Three) -> None:
    r = three.run("min-insync", True)
    assert r.counts["isr_after_kill"] == [2, 3]
    assert r.counts["not_enough_replicas"] == "NOT_ENOUGH_REPLICAS"
    assert r.counts["missing"] == SIM_CALLS["min-insync"].real_kwargs["messages"] // 2
    assert r.counts["lost"] == 0, r.report


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_simulation_agrees_with_the_three_broker_cluster(three: Three, name: str, on: bool) -> None:
    real = three.run(name, on).counts
    sim = run_sim(name, on)
    assert agrees(name, sim, real), f"{name} on={on}: simulation {sim} vs real {real}"


def test_a_sigkilled_broker_is_dead_fenced_and_restartable(three: Three) -> None:
    st = cluster3.read_state(three.state_dir)
    assert st is not None
    with three.log_on_failure():
        pid = cluster3.kill9(3, three.state_dir)
        assert _pid_gone(pid)
        deadline = time.monotonic() + 30
        while 3 in cluster3.registered_brokers(st) and time.monotonic() < deadline:
            time.sleep(0.2)  # fenced after broker.session.timeout.ms (4 s)
        assert cluster3.registered_brokers(st) == {1, 2}
        st = cluster3.restart_node(3, three.state_dir)
    assert st.node(3).pid != pid and cluster3.registered_brokers(st) == {1, 2, 3}


def test_a_cluster_that_is_not_ready_in_time_fails_with_its_logs(
    tmp_path: Path, three: Three
) -> None:
    with pytest.raises(broker.BrokerError) as exc:
        cluster3.start(tmp_path, timeout=3)
    assert "node1" in str(exc.value)  # each node's log tail is in the message
    st = cluster3.read_state(tmp_path)
    assert st is None or all(_pid_gone(n.pid) for n in st.nodes)  # nothing left running
