"""The four exactly-once experiments, run against a real Kafka cluster.

Each experiment has one setting that is either off or on, records what the clients did in
an :class:`~eoslib.history.History` (real elapsed milliseconds as time), judges it with
:func:`eoslib.checker.check`, and returns an :class:`~eoslib.result.Result` with
``backend="real"``. Every run uses fresh names (``eoslib-<hex>-...``) for its topics, group
and transactional ids; its topics and group are deleted afterwards. The final reads are
recorded under the process ``"verifier"``.

=================  =======================  =============================================
experiment         setting (off / on)       what it shows
=================  =======================  =============================================
producer-retry     enable.idempotence       one produce acknowledgement is lost (by the
                   false / true             proxy); the client retries: a duplicate when
                                            off, the original offset returned when on
consumer-crash     transactions             a consume-transform-produce app dies after
                   false / true             producing a batch, before committing its
                                            offsets; restarted, it replays the batch:
                                            duplicates when off, none when on
read-committed     isolation.level          two transactions commit, the third aborts;
                   read_uncommitted /       a concurrent reader sees aborted and
                   read_committed           not-yet-committed records only when off
zombie-fencing     transactions             instance A stalls and is replaced by B; then
                   false / true             A finishes its work: with one shared
                                            transactional.id B has fenced A (A's records
                                            are aborted); without, both outputs count
=================  =======================  =============================================

:func:`broker_crash` is a fifth run for the tests: the exactly-once pipeline while the
broker itself is SIGKILLed and restarted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoslib.checker import Report, check
from eoslib.history import History
from eoslib.real import app
from eoslib.real.clients import (
    Cluster,
    Recorder,
    create_topics,
    delete_topics,
    producer_conf,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.proxy import FaultProxy
from eoslib.result import Result

HOLD_S = 0.5  # how long read-committed keeps each transaction open before ending it


@dataclass(frozen=True)
class Experiment:
    """One experiment: its setting's name and values, and the function that runs it."""

    name: str
    setting: str
    off: Any
    on: Any
    allowed_off: tuple[str, ...]  # anomalies the "off" setting is expected to show
    run: Callable[..., Result]
    summary: str
    allowed_on: tuple[str, ...] = ()  # anomalies (or events) the "on" setting shows by design


# --------------------------------------------------------------------------- shared steps


def _produce_inputs(cluster: Cluster, rec: Recorder, topic: str, n: int) -> list[str]:
    """Write m0..m{n-1} to ``topic`` with an idempotent producer ("producer-in")."""
    from confluent_kafka import Producer

    p = Producer(producer_conf(cluster, idempotence=True))
    values = [f"m{i}" for i in range(n)]
    for v in values:
        p.produce(topic, value=v.encode(), on_delivery=_recording(rec, "producer-in"))
    if p.flush(60):
        raise RuntimeError(f"could not write the input of {topic} within 60 s")
    return values


def _recording(
    rec: Recorder, process: str, txn: str | None = None, txn_seq: Callable[[], int] | None = None
) -> Callable[[Any, Any], None]:
    """A delivery callback that records a ``send`` op."""

    def on_delivery(err: Any, msg: Any) -> None:
        rec.op(
            process,
            "send",
            "ok" if err is None else "fail",
            topic=msg.topic(),
            partition=msg.partition(),
            key=None if msg.key() is None else msg.key().decode(),
            value=msg.value().decode(),
            offset=msg.offset() if err is None else None,
            txn=txn,
            txn_seq=txn_seq() if (txn and txn_seq) else None,
            error=None if err is None else err.name(),
        )

    return on_delivery


def _sink(rec: Recorder, in_topic: str, records: Iterable[tuple[int, str | None, str]]) -> None:
    """A downstream sink that applies every record the verifier read, without dedup."""
    for _offset, key, value in records:
        inp = [in_topic, 0, int(key)] if key is not None and key.isdigit() else None
        rec.op("sink", "sink_write", table="output", id=value, input=inp, applied=True)


def txn_totals(history: History) -> tuple[int, int]:
    """(committed, aborted) transactions; one left open by a dead producer counts aborted."""
    ended: dict[tuple[str, Any], str] = {}
    opened: set[tuple[str, Any]] = set()
    dead: set[str] = set()
    for op in history:
        v = op.value
        if op.f == "send" and v.get("txn") is not None:
            opened.add((op.process, v.get("txn_seq")))
        elif op.f == "txn_end" and op.outcome == "ok":
            ended[(op.process, v.get("txn_seq"))] = v.get("result")
        elif op.f in ("crash", "fenced"):
            dead.add(op.process)
    committed = sum(1 for r in ended.values() if r == "commit")
    aborted = sum(1 for r in ended.values() if r == "abort")
    aborted += sum(1 for k in opened if k not in ended and k[0] in dead)
    return committed, aborted


def visibility_lag_ms(history: History, reader: str = "verifier") -> float | None:
    """Median ms between a write's acknowledgement and ``reader`` first returning it."""
    first_seen: dict[tuple[Any, Any, Any], float] = {}
    for op in history.of("poll"):
        if op.process != reader:
            continue
        for t, p, o, _v in op.value.get("records") or ():
            first_seen.setdefault((t, p, o), op.time)
    lags = [
        first_seen[(s.value["topic"], s.value["partition"], s.value["offset"])] - s.time
        for s in history.of("send")
        if s.outcome == "ok"
        and (s.value["topic"], s.value["partition"], s.value["offset"]) in first_seen
    ]
    return round(statistics.median(lags), 1) if lags else None


def _result(
    exp: Experiment,
    on: bool,
    rec: Recorder,
    *,
    messages: int,
    faults: dict[str, Any],
    expected_ids: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    lso_lag: bool = False,
) -> Result:
    history = rec.history()
    allowed = exp.allowed_on if on else exp.allowed_off
    report: Report = check(history, expected_ids=expected_ids, allowed=allowed)
    committed, aborted = txn_totals(history)
    counts: dict[str, Any] = {
        "duplicates": report.count("duplicate"),
        "lost": report.count("lost"),
        "aborted_reads": report.count("aborted_read"),
        "uncommitted_reads": report.count("uncommitted_read"),
        "processed_twice": report.count("processed_twice"),
        "reordered": report.count("reordered"),
        "fenced": report.count("fenced"),
        "txn_committed": committed,
        "txn_aborted": aborted,
        "lso_lag_ms": visibility_lag_ms(history) if lso_lag else None,
        "lost_input": report.count("lost_input"),
        "elapsed_ms": rec.now(),
        **(extra or {}),
    }
    return Result(
        scenario=exp.name,
        seed=0,
        messages=messages,
        config={exp.setting: exp.on if on else exp.off},
        faults=faults,
        counts=counts,
        report=report,
        history=history,
        trace=rec.trace(history),
        backend="real",
    )


# --------------------------------------------------------------------------- 1. producer-retry


def producer_retry(cluster: Cluster, *, on: bool, messages: int = 10, lost_at: int = 3) -> Result:
    """Lose the acknowledgement of the ``lost_at``-th produce request; the client retries.

    One producer ("producer-1") writes m0..m{messages-1} through the fault proxy, one
    message per request (produce + flush). The proxy swallows the broker's response to
    request ``lost_at`` and cuts the connection; the broker had appended the batch, and
    the client retries it on a new connection. Producer settings (see
    :func:`eoslib.real.clients.producer_conf`): ``enable.idempotence`` = the setting,
    ``acks=all``, ``retries=10``, ``retry.backoff.ms=100``, ``linger.ms=0``,
    ``max.in.flight.requests.per.connection=5``, ``socket.timeout.ms=5000``,
    ``request.timeout.ms=5000``, ``message.timeout.ms=60000``. Expected: off, exactly one
    duplicate; on, none, and the retried message's acknowledged offset is its first one.
    Extra counts: ``proxy_dropped``, ``produce_requests``, ``retried_value``,
    ``acked_offset`` and ``read_offsets`` of that value, ``original_offset_returned``.
    """
    from confluent_kafka import Producer

    require_client()
    exp = EXPERIMENTS["producer-retry"]
    ports = _proxy_ports(cluster)
    prefix = run_prefix()
    topic = f"{prefix}out"
    create_topics(cluster, [topic])
    rec = Recorder()
    try:
        with FaultProxy(*ports) as proxy:
            p = Producer(producer_conf(cluster, idempotence=on, via_proxy=True))
            proxy.drop_produce_response(lost_at)
            noted = False
            for i in range(messages):
                p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
                if p.flush(60):
                    raise RuntimeError(f"m{i} was not acknowledged within 60 s")
                if proxy.dropped and not noted:
                    noted = True
                    rec.event(
                        "proxy",
                        "lost",
                        f"response to produce request {lost_at} lost, connection cut",
                        flag="lost",
                    )
            del p
            stats = proxy.stats
        read = read_all(cluster, rec, topic, isolation="read_committed")
    finally:
        delete_topics(cluster, [topic])
    value = f"m{lost_at - 1}"
    acked = [s.value["offset"] for s in rec.history().of("send") if s.value["value"] == value]
    read_offsets = [o for o, _k, v in read if v == value]
    extra = {
        "proxy_dropped": stats.dropped,
        "produce_requests": stats.produce_requests,
        "retried_value": value,
        "acked_offset": acked[0] if acked else None,
        "read_offsets": read_offsets,
        "original_offset_returned": bool(acked and read_offsets and acked[0] == read_offsets[0]),
    }
    return _result(
        exp, on, rec, messages=messages, faults={"lost_acks": stats.dropped}, extra=extra
    )


def _proxy_ports(cluster: Cluster) -> tuple[int, int]:
    """(proxy port, PROXIED listener port); NeedsError for a cluster without them."""
    cluster.proxy_bootstrap  # noqa: B018 - raises NeedsError when there is no proxy
    assert cluster.proxy_port is not None and cluster.proxied_listener_port is not None
    return cluster.proxy_port, cluster.proxied_listener_port


# --------------------------------------------------------------------------- 2. consumer-crash


def _run_app(spec: dict[str, Any], timeout: float = 120) -> int:
    """Run :mod:`eoslib.real.app` in a child process; return its exit status.

    The child's stderr (librdkafka's log) goes to ``<ops_file>.<process>.stderr``; its tail
    is shown when the child fails in an unplanned way.
    """
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    ops = Path(spec["ops_file"])
    err_path = ops.with_name(f"{ops.name}.{spec['process']}.stderr")
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eoslib.real.app", json.dumps(spec)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    if code in (0, app.CRASH_EXIT, app.FATAL_EXIT, app.STUCK_EXIT):
        return code
    last = ops.read_text().strip().splitlines()[-1:] if ops.exists() else []
    tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
    what = f"did not finish within {timeout:.0f} s" if code is None else f"exited with {code}"
    raise RuntimeError(
        f"{spec['process']} {what}; last op: {last[0] if last else 'none'}; "
        f"stderr: {' | '.join(tail) or 'empty'}"
    )


def _run_until_done(
    spec: dict[str, Any], *, crash_batch: int = -1, timeout: float = 120, max_runs: int = 4
) -> list[int]:
    """Run incarnations "app-1", "app-1#2"... until one finishes the input; their exits.

    Only the first incarnation gets the planned ``crash_batch``; later ones restart after
    an unplanned death (fenced, or stuck in a client call) as a supervisor would.
    """
    exits: list[int] = []
    for n in range(1, max_runs + 1):
        run = {**spec, "process": "app-1" if n == 1 else f"app-1#{n}"}
        if n == 1 and crash_batch >= 0:
            run["crash_batch"] = crash_batch
        exits.append(_run_app(run, timeout))
        if exits[-1] == 0:
            break
    else:
        raise RuntimeError(f"the app did not finish its input in {max_runs} runs: {exits}")
    return exits


def _app_spec(
    cluster: Cluster,
    rec: Recorder,
    prefix: str,
    ops_file: Path,
    *,
    transactional: bool,
    end_offset: int,
    batch: int,
) -> dict[str, Any]:
    return {
        "bootstrap": cluster.bootstrap,
        "extra_conf": cluster.extra_conf,
        "t0": rec.t0,
        "ops_file": str(ops_file),
        "in_topic": f"{prefix}in",
        "out_topic": f"{prefix}out",
        "group": f"{prefix}group",
        "transactional": transactional,
        "transactional_id": f"{prefix}app-1",
        "end_offset": end_offset,
        "batch": batch,
    }


def consumer_crash(
    cluster: Cluster, *, on: bool, messages: int = 20, batch: int = 5, crash_batch: int = 1
) -> Result:
    """Crash a consume-transform-produce app after producing a batch, before committing.

    ``producer-in`` writes m0..m{messages-1} to the input topic. The app (a child process,
    :mod:`eoslib.real.app`; "app-1", then "app-1#2" after the restart) copies records to
    the output topic in batches of ``batch``; its first incarnation calls ``os._exit``
    after producing batch number ``crash_batch`` (0-based) and before committing. Off
    (at-least-once): produce, flush, ``consumer.commit()``. On (exactly-once):
    ``transactional.id`` set, ``begin_transaction``, produce,
    ``send_offsets_to_transaction``, ``commit_transaction``. Consumer settings:
    ``isolation.level=read_committed``, ``enable.auto.commit=false``,
    ``auto.offset.reset=earliest``; producer: ``enable.idempotence=true``, ``acks=all``.
    The verifier reads the output with read_committed, and a downstream "sink" applies
    each record it read (so ``processed_twice`` and ``lost_input`` count too). Expected:
    off, ``batch`` duplicates; on, none.
    """
    require_client()
    exp = EXPERIMENTS["consumer-crash"]
    prefix = run_prefix()
    topics = [f"{prefix}in", f"{prefix}out"]
    create_topics(cluster, topics)
    rec = Recorder()
    exits: list[int] = []
    try:
        inputs = _produce_inputs(cluster, rec, topics[0], messages)
        with tempfile.TemporaryDirectory(prefix="eoslib-app-") as tmp:
            ops_file = Path(tmp) / "ops.jsonl"
            spec = _app_spec(
                cluster, rec, prefix, ops_file, transactional=on, end_offset=messages, batch=batch
            )
            exits = _run_until_done(spec, crash_batch=crash_batch)
            rec.load(ops_file)
        read = read_all(cluster, rec, topics[1], isolation="read_committed")
        _sink(rec, topics[0], read)
    finally:
        delete_topics(cluster, topics, [f"{prefix}group"])
    faults = {"crash_step": "after_produce", "crash_batch": crash_batch}
    return _result(
        exp,
        on,
        rec,
        messages=messages,
        faults=faults,
        expected_ids=inputs,
        extra={"batch": batch, "app_exits": exits},
    )


# --------------------------------------------------------------------------- 3. read-committed


def read_committed(cluster: Cluster, *, on: bool, messages: int = 9) -> Result:
    """Commit two transactions and abort the third; read concurrently.

    "producer-1" (``transactional.id`` set, so idempotent) writes messages//3 records per
    transaction, keeps each transaction open for HOLD_S seconds, then ends it. A
    concurrent reader ("verifier", ``isolation.level`` = the setting,
    ``enable.auto.commit=false``, ``auto.offset.reset=earliest``) reads from the
    beginning throughout. Expected: read_uncommitted returns the aborted records
    (``aborted_reads`` = messages//3) and the committed ones before their commit
    (``uncommitted_reads``); read_committed returns neither. ``lso_lag_ms`` is the median
    time between a record's acknowledgement and the reader first returning it.
    """
    from confluent_kafka import Producer

    require_client()
    exp = EXPERIMENTS["read-committed"]
    isolation = exp.on if on else exp.off
    prefix = run_prefix()
    topic = f"{prefix}out"
    txn_id = f"{prefix}producer-1"
    create_topics(cluster, [topic])
    rec = Recorder()
    k = max(1, messages // 3)
    stop, ready = threading.Event(), threading.Event()
    reader = threading.Thread(
        target=read_all,
        args=(cluster, rec, topic),
        kwargs={"isolation": isolation, "stop": stop, "ready": ready},
        daemon=True,
    )
    try:
        p = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_id))
        p.init_transactions(30)
        reader.start()
        ready.wait(10)
        seq = 0
        for result in ("commit", "commit", "abort"):
            p.begin_transaction()
            for i in range(seq * k, seq * k + k):
                p.produce(
                    topic,
                    value=f"m{i}".encode(),
                    on_delivery=_recording(rec, "producer-1", txn_id, lambda s=seq: s),
                )
            p.flush(30)
            time.sleep(HOLD_S)
            if result == "commit":
                p.commit_transaction(30)
            else:
                p.abort_transaction(30)
            rec.op("producer-1", "txn_end", txn=txn_id, txn_seq=seq, result=result)
            seq += 1
        del p
    finally:
        stop.set()
        if reader.is_alive():
            reader.join(60)
        delete_topics(cluster, [topic])
    return _result(
        exp, on, rec, messages=3 * k, faults={}, lso_lag=True, extra={"aborted_records": k}
    )


# --------------------------------------------------------------------------- 4. zombie-fencing


def zombie_fencing(
    cluster: Cluster, *, on: bool, messages: int = 5, separate_ids: bool = False
) -> Result:
    """Replace instance A by B while A's work is in flight; then A, the zombie, finishes.

    A ("app-1") writes m0..m{n-1} (acknowledged) and stalls before committing. B
    ("app-1#2"), its replacement, writes the same records and commits. Then A wakes up,
    writes one more record and commits.

    On (``transactions=true``): A and B share one ``transactional.id``; A has begun a
    transaction, and B's ``init_transactions`` bumps the epoch, so the coordinator aborts
    A's transaction and A's next call fails fenced (``fenced`` = 1; none of A's records is
    visible to read_committed). Off: A and B are plain idempotent producers and nothing
    stops A: every record is duplicated. ``separate_ids=True`` (with on) gives A and B
    different transactional ids, the classic mistake: no fencing, duplicates again.
    Producer settings: ``enable.idempotence=true``, ``acks=all``,
    ``transaction.timeout.ms=15000``. The verifier reads with read_committed.
    """
    from confluent_kafka import KafkaException, Producer

    require_client()
    exp = EXPERIMENTS["zombie-fencing"]
    prefix = run_prefix()
    topic = f"{prefix}out"
    txn_a = f"{prefix}app-1" if on else None
    txn_b = (f"{prefix}app-1-replacement" if separate_ids else txn_a) if on else None
    create_topics(cluster, [topic])
    rec = Recorder()
    fence_error = None

    def sends(p: Any, process: str, txn: str | None, values: list[str]) -> None:
        for v in values:
            p.produce(topic, value=v.encode(), on_delivery=_recording(rec, process, txn, _zero))
        p.flush(30)

    work = [f"m{i}" for i in range(messages)]
    try:
        a = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_a))
        if txn_a:
            a.init_transactions(30)
            a.begin_transaction()
        sends(a, "app-1", txn_a, work)
        rec.op("app-1", "note", text="app-1 stalls (a long GC pause) before committing")
        b = Producer(producer_conf(cluster, idempotence=True, transactional_id=txn_b))
        if txn_b:
            b.init_transactions(30)
            b.begin_transaction()
        sends(b, "app-1#2", txn_b, work)
        if txn_b:
            b.commit_transaction(30)
            rec.op("app-1#2", "txn_end", txn=txn_b, txn_seq=0, result="commit")
        try:
            sends(a, "app-1", txn_a, [f"m{messages}"])
            if txn_a:
                a.commit_transaction(30)
                rec.op("app-1", "txn_end", txn=txn_a, txn_seq=0, result="commit")
        except (KafkaException, SystemError) as e:
            # confluent-kafka raises the fatal error from the call that serves callbacks; if
            # a delivery callback runs while it is pending, Python reports a SystemError
            # whose cause is the KafkaException.
            cause = e if isinstance(e, KafkaException) else e.__cause__
            if not isinstance(cause, KafkaException):
                raise
            fence_error = cause.args[0].name()
            late = f"m{messages}"
            if not any(o["value"].get("value") == late for o in rec.ops("app-1", "send")):
                rec.op(
                    "app-1",
                    "send",
                    "fail",
                    topic=topic,
                    partition=0,
                    key=None,
                    value=late,
                    offset=None,
                    txn=txn_a,
                    txn_seq=0,
                    error=fence_error,
                )
            rec.op("app-1", "fenced", txn=txn_a, error=fence_error)
        del a, b
        read_all(cluster, rec, topic, isolation="read_committed")
    finally:
        delete_topics(cluster, [topic])
    extra = {"fence_error": fence_error, "separate_ids": separate_ids}
    return _result(exp, on, rec, messages=messages, faults={"zombie": True}, extra=extra)


def _zero() -> int:
    return 0


# --------------------------------------------------------------------------- broker crash


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


# --------------------------------------------------------------------------- registry

EXPERIMENTS: dict[str, Experiment] = {
    "producer-retry": Experiment(
        "producer-retry",
        "enable.idempotence",
        False,
        True,
        ("duplicate",),
        producer_retry,
        "a lost produce acknowledgement is retried",
    ),
    "consumer-crash": Experiment(
        "consumer-crash",
        "transactions",
        False,
        True,
        ("duplicate", "processed_twice"),
        consumer_crash,
        "the app crashes after producing, before committing its offsets",
    ),
    "read-committed": Experiment(
        "read-committed",
        "isolation.level",
        "read_uncommitted",
        "read_committed",
        ("aborted_read", "uncommitted_read"),
        read_committed,
        "one transaction aborts while a reader reads",
    ),
    "zombie-fencing": Experiment(
        "zombie-fencing",
        "transactions",
        False,
        True,
        ("duplicate", "processed_twice"),
        zombie_fencing,
        "a replaced instance (zombie) tries to finish its transaction",
        allowed_on=("fenced",),
    ),
}


def run_experiment(name: str, cluster: Cluster, *, on: bool, **kwargs: Any) -> Result:
    """Run one experiment by name with its setting off or on."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name].run(cluster, on=on, **kwargs)
