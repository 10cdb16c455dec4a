"""A tiny stand-in for ``eoslib.scenarios.run_scenario``, for the viz tests and demos only.

It is not the course's simulation: it fakes just enough of a producer -> partition -> app ->
sink run (retries after lost responses, broker dedup, an app crash, transaction markers) to
give the plots, the timeline and the widgets a plausible :class:`~eoslib.result.Result` with
the real history and checker. :func:`run_function` returns the real ``run_scenario`` when
that module exists, else :func:`fake_run`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from eoslib.checker import check
from eoslib.history import History
from eoslib.result import Result, TraceEvent

TOPIC = "out"


def _flag(v: Any) -> bool:
    return str(v).lower() in ("true", "1", "yes") if isinstance(v, str) else bool(v)


def fake_run(
    name: str = "fake",
    *,
    seed: int = 0,
    messages: int = 100,
    config: dict[str, Any] | None = None,
    faults: dict[str, Any] | None = None,
) -> Result:
    """A deterministic fake run with the same signature as ``run_scenario``."""
    config = dict(config or {})
    faults = dict(faults or {})
    idem = _flag(config.get("enable.idempotence", True))
    txns = _flag(config.get("transactions", False))
    committed_only = config.get("isolation.level", "read_uncommitted") == "read_committed"
    loss = float(faults.get("response_loss", 0.0) or 0.0)
    crash_step = faults.get("crash_step")
    rng = random.Random(seed)
    h = History()
    trace: list[TraceEvent] = []
    t = 0.0
    log: list[tuple[int, str, int]] = []  # (offset, value, txn_seq)

    def ev(lane: str, kind: str, label: str, flag: str | None = None, ref: Any = None) -> None:
        trace.append({"i": len(trace), "t": round(t, 3), "lane": lane, "kind": kind,
                      "label": label, "flag": flag, "ref": ref})

    txn_seq, aborted, committed = 0, set(), 0
    batch = 10
    crash_at = messages // 2 if crash_step not in (None, "none") else -1
    for m in range(messages):
        value = f"m{m}"
        t += rng.uniform(1.0, 3.0)
        ev("producer-1", "send", f"{value} seq={m}" if idem else value, ref=m)
        t += rng.uniform(0.5, 1.5)
        ev(f"partition {TOPIC}-0", "append", f"{value} @{len(log)}", ref=m)
        offset = len(log)
        log.append((offset, value, txn_seq))
        if rng.random() < loss:
            ev("producer-1", "lost", f"response for {value}", flag="lost", ref=m)
            t += 30.0
            ev("producer-1", "timeout", value, ref=m)
            ev("producer-1", "retry", f"{value} seq={m}" if idem else value, ref=m)
            t += rng.uniform(0.5, 1.5)
            if idem:
                ev(f"partition {TOPIC}-0", "dedup", f"{value} seq={m} already @{offset}", ref=m)
            else:
                ev(f"partition {TOPIC}-0", "append", f"{value} @{len(log)} again",
                   flag="duplicate", ref=m)
                log.append((len(log), value, txn_seq))
        t += rng.uniform(0.5, 1.5)
        ev("producer-1", "ack", f"{value} @{offset}", ref=m)
        h.record(t, "producer-1", "send", "ok", topic=TOPIC, partition=0, key=None,
                 value=value, offset=offset, txn="tx-1" if txns else None,
                 txn_seq=txn_seq if txns else None, error=None)
        t += rng.uniform(0.2, 0.8)
        ev("app-1", "write", value, ref=m)
        h.record(t, "app-1", "sink_write", table="sink", id=value,
                 input=["in", 0, m], applied=True)
        if m == crash_at:
            ev("app-1", "crash", f"at {crash_step}", flag="crash")
            h.record(t, "app-1", "crash", step=crash_step)
            t += 50.0
            ev("app-1", "restart", "app-1#2")
            if txns:
                aborted.add(txn_seq)
                ev("txn-coordinator", "marker", f"ABORT txn {txn_seq}", flag="aborted")
                h.record(t, "producer-1", "txn_end", txn="tx-1", txn_seq=txn_seq,
                         result="abort")
                txn_seq += 1
            else:
                ev("app-1#2", "write", f"{value} again", flag="duplicate", ref=m)
                h.record(t, "app-1#2", "sink_write", table="sink", id=value,
                         input=["in", 0, m], applied=True)
        if txns and (m + 1) % batch == 0:
            t += 2.0
            ev("txn-coordinator", "marker", f"COMMIT txn {txn_seq}")
            h.record(t, "producer-1", "txn_end", txn="tx-1", txn_seq=txn_seq, result="commit")
            ev("group-coordinator", "commit", f"in-0 -> {m + 1}")
            committed += 1
            txn_seq += 1
    if txns and messages % batch:
        ev("txn-coordinator", "marker", f"COMMIT txn {txn_seq}")
        h.record(t, "producer-1", "txn_end", txn="tx-1", txn_seq=txn_seq, result="commit")
        committed += 1
    visible = [(o, v) for o, v, s in log if not (committed_only and s in aborted)]
    t += 5.0
    ev("consumer-1", "poll", f"{len(visible)} records")
    h.record(t, "verifier", "poll", records=[[TOPIC, 0, o, v] for o, v in visible],
             isolation="read_committed" if committed_only else "read_uncommitted",
             group="verifier")
    report = check(h)
    counts = {
        "duplicates": report.count("duplicate"),
        "lost": report.count("lost"),
        "aborted_reads": report.count("aborted_read"),
        "uncommitted_reads": report.count("uncommitted_read"),
        "processed_twice": report.count("processed_twice"),
        "reordered": report.count("reordered"),
        "fenced": report.count("fenced"),
        "txn_committed": committed,
        "txn_aborted": len(aborted),
        "lso_lag_ms": 0.0,
    }
    return Result(name, seed, messages, config, faults, counts, report, h, trace)


def run_function() -> Callable[..., Result]:
    """The real ``eoslib.scenarios.run_scenario`` if it exists, else :func:`fake_run`."""
    try:
        from eoslib.scenarios import run_scenario
    except ImportError:
        return fake_run
    return run_scenario
