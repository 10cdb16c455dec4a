"""Pytest fixtures for the real-broker tests: one broker and one Java driver per session.

``tests/conftest.py`` imports :func:`kafka`, :func:`java` and
:func:`pytest_collection_modifyitems` from here, so every ``tests/test_real_*.py`` module
shares one single-node broker (started once, stopped at the end whatever happens) and one
Java client driver JVM. Tests marked ``broker_crash`` SIGKILL that broker, so they are moved
to the end of the session. A missing prerequisite skips with a reason starting "needs ",
which CI turns into a failure (``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from eoslib.real import broker
from eoslib.real.clients import Cluster, require_client
from eoslib.result import Result


@dataclass
class Kafka:
    """The session's broker and the experiment results computed so far."""

    state: broker.BrokerState
    state_dir: Path
    cluster: Cluster
    results: dict[tuple[str, Any], Any] = field(default_factory=dict)
    seconds: dict[tuple[str, Any], float] = field(default_factory=dict)

    def run(self, name: str, on: bool) -> Result:
        """Run a librdkafka experiment once (with the settings the comparison uses), then
        cache it."""
        from eoslib.real.compare import SIM_CALLS
        from eoslib.real.experiments import run_experiment

        key = (name, on)
        if key not in self.results:
            t = time.monotonic()
            with self.log_on_failure():
                self.results[key] = run_experiment(
                    name, self.cluster, on=on, **SIM_CALLS[name].real_kwargs
                )
            self.seconds[key] = round(time.monotonic() - t, 1)
            print(f"{name} on={on}: {self.seconds[key]} s, counts {self.results[key].counts}")
        return self.results[key]

    @contextlib.contextmanager
    def proxied_topics(self, *suffixes: str) -> Iterator[tuple[str, list[str], Any]]:
        """Fresh one-partition topics (a new run prefix + each suffix) and a
        :class:`~eoslib.real.proxy.FaultProxy` in front of the broker: yields ``(prefix,
        topics, proxy)``; the topics are deleted after the block, whatever happens."""
        from eoslib.real.clients import create_topics, delete_topics, run_prefix
        from eoslib.real.proxy import FaultProxy

        pre = run_prefix()
        topics = [f"{pre}{s}" for s in suffixes]
        create_topics(self.cluster, topics)
        try:
            with FaultProxy(self.cluster.proxy_port,
                            self.cluster.proxied_listener_port) as proxy:
                yield pre, topics, proxy
        finally:
            delete_topics(self.cluster, topics)

    @contextlib.contextmanager
    def log_on_failure(self) -> Iterator[None]:
        """Print the broker's log tail if the block raises (shown in pytest's report)."""
        try:
            yield
        except BaseException:
            print(broker.log_tail(60, self.state_dir))
            raise


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    """A one-node broker for the session; skipped ("needs ...") without Java/Maven/client."""
    try:
        broker.require_java()
        require_client()
        if not broker.is_fetched():
            broker.fetch()  # needs Maven; `eoslib broker fetch` normally did this already
    except broker.NeedsError as e:
        pytest.skip(str(e))
    state_dir = tmp_path_factory.mktemp("kafka-broker")
    try:
        t = time.monotonic()
        st = broker.start(state_dir)
        print(f"broker ready in {time.monotonic() - t:.1f} s at {st.bootstrap}")
    except broker.BrokerError as e:
        print(broker.log_tail(60, state_dir))
        broker.stop(state_dir)
        pytest.fail(f"the Kafka broker did not start: {e}")
    try:
        yield Kafka(st, state_dir, Cluster.from_state(st))
    finally:
        broker.stop(state_dir)


@pytest.fixture(scope="session")
def java(kafka: Kafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's Java client driver (:class:`~eoslib.real.java_env.JavaSession`) on the
    session's broker; skipped ("needs ...") without a JDK."""
    from eoslib.real.java_driver import build
    from eoslib.real.java_env import JavaSession

    try:
        build()
    except broker.NeedsError as e:
        pytest.skip(str(e))
    session = JavaSession(kafka.cluster, tmp_path_factory.mktemp("java-driver"))
    try:
        yield session
    finally:
        session.close()


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Tests marked ``broker_crash`` (they SIGKILL the shared broker) run last."""
    last = [i for i in items if i.get_closest_marker("broker_crash")]
    if last:
        items[:] = [i for i in items if not i.get_closest_marker("broker_crash")] + last
