"""A fifth run, for the tests: the exactly-once pipeline while the broker is SIGKILLed."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eoslib.real.clients import (
    Cluster,
    Recorder,
    create_topics,
    delete_topics,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.experiments.app_runs import _app_spec, _run_until_done
from eoslib.real.experiments.common import Experiment, _produce_inputs, _result, _sink
from eoslib.result import Result


def broker_crash(
    cluster: Cluster,
    *,
    kill: Callable[[], None],
    restart: Callable[[], Any],
    messages: int = 60,
    batch: int = 5,
    kill_after_txns: int = 3,
    pause_s: float = 0.2,
) -> Result:
    """Run the exactly-once pipeline of consumer-crash (on) and SIGKILL the broker mid-run.

    Once the app has committed ``kill_after_txns`` transactions, ``kill()`` is called (e.g.
    :func:`eoslib.real.broker.kill9`), then ``restart()``. The app rides out the outage
    (retrying retriable errors, aborting and rewinding on abortable ones); if it dies of a
    fatal error a new incarnation is started. The verifier then reads the output with
    read_committed. Expected: no duplicates, no lost input.
    """
    require_client()
    prefix = run_prefix()
    topics = [f"{prefix}in", f"{prefix}out"]
    create_topics(cluster, topics)
    rec = Recorder()
    exits: list[int] = []
    timing: dict[str, float] = {}
    try:
        inputs = _produce_inputs(cluster, rec, topics[0], messages)
        with tempfile.TemporaryDirectory(prefix="eoslib-app-") as tmp:
            ops_file = Path(tmp) / "ops.jsonl"
            spec = _app_spec(
                cluster, rec, prefix, ops_file, transactional=True, end_offset=messages, batch=batch
            )
            spec["pause_s"] = pause_s
            watcher = threading.Thread(
                target=_kill_when,
                args=(ops_file, kill_after_txns, kill, restart, rec, timing),
                daemon=True,
            )
            watcher.start()
            exits = _run_until_done(spec, timeout=180)
            watcher.join(120)
            rec.load(ops_file)
        read = read_all(cluster, rec, topics[1], isolation="read_committed")
        _sink(rec, topics[0], read)
    finally:
        delete_topics(cluster, topics, [f"{prefix}group"])
    exp = Experiment(
        "broker-crash",
        "transactions",
        False,
        True,
        (),
        broker_crash,
        "the broker is SIGKILLed mid-run",
    )
    return _result(
        exp,
        True,
        rec,
        messages=messages,
        expected_ids=inputs,
        faults={"broker_kill9_after_txns": kill_after_txns},
        extra={"app_exits": exits, **timing},
    )


def _kill_when(
    ops_file: Path,
    n: int,
    kill: Callable[[], None],
    restart: Callable[[], Any],
    rec: Recorder,
    timing: dict[str, float],
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = ops_file.read_text() if ops_file.exists() else ""
        if text.count('"txn_end"') >= n:
            break
        time.sleep(0.05)
    else:
        return
    rec.event("broker", "crash", "broker SIGKILLed", flag="crash")
    t = time.monotonic()
    kill()
    restart()
    timing["broker_down_s"] = round(time.monotonic() - t, 2)
    rec.event("broker", "restart", "broker ready again")
