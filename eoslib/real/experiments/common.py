"""What the experiments share: the :class:`Experiment` record, recording and judging a run.

:func:`_result` turns a run's :class:`~eoslib.real.clients.Recorder` into a
:class:`~eoslib.result.Result` (``backend="real"``), judged by :func:`eoslib.checker.check`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eoslib.checker import Report, check
from eoslib.history import History
from eoslib.real.clients import Cluster, Recorder, producer_conf
from eoslib.result import Result


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
