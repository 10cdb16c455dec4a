"""Benchmarks: simulated messages per second, eoslib next to SimPy, and what things cost.

``eoslib bench`` (or :func:`main`) measures, in one process:

(a) the at-least-once retry pipeline through eoslib's public API: a producer
    (``enable.idempotence=false``, ``acks=all``, ``request.timeout.ms=1000``) writes ``N``
    records, one per ms of virtual time, with 5% of produce responses lost; a consumer
    group member polls between the writes and commits after every non-empty poll; the
    history is recorded as always (the trace is off);
(b) the same workload written idiomatically with SimPy (:mod:`eoslib.bench_simpy`), best
    of 3 each, and the ratio of the two rates (wall clock, and CPU time, which other
    programs on the machine disturb less); for context, the bare kernels too: timer events
    per second through eoslib's :class:`~eoslib.kernel.Kernel` and through a SimPy
    ``Environment``, with no model around them;
(c) the transactional pipeline: the same writes in transactions of 100 records, read back
    by a ``read_committed`` consumer; its rate, and the virtual ms per message of both
    pipelines next to Kafka's published cost of transactions;
(d) the wall time of every named scenario (median of 5 runs);
(e) the dashboard widget's update latency (a run, its log view with the readers' rows and
    its counts picture as SVG), at 100 and at 20 messages; the step player's redraw of one
    step; and a static moment (``show_moment``: SVG and its 2x PNG), when
    :mod:`eoslib.viz.dashboard` is there (skipped with a note otherwise).

Grading is measured elsewhere, not here.

Wall-clock times are measurements of this machine, not simulation: they vary with the
load. The LAST line printed is one JSON object with every number.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eoslib.messages import TopicPartition
from eoslib.simulation import Simulation

N_FULL = 20_000
N_QUICK = 3_000
TXN_SIZE = 100
RESPONSE_LOSS = 0.05
TOPIC = "bench"
#: The client the SimPy twin (:mod:`eoslib.bench_simpy`) models, so both run one workload:
#: the Java client's 5 requests in flight and 16 KB batches, and a constant 100 ms retry
#: backoff (``retry.backoff.max.ms`` = ``retry.backoff.ms``: no exponential growth, no
#: jitter). Under librdkafka's defaults (a million in flight) every lost answer re-sends the
#: whole connection: 15x the log records of the twin, a different workload.
TWIN_CLIENT = {"client": "java", "retry.backoff.max.ms": 100}
KAFKA_TXN_COST = ("Kafka (Confluent, 'Transactions in Apache Kafka'): ~3% producer throughput "
                  "loss at 1 KB records committing every 100 ms")


@dataclass
class PipelineRun:
    """What one pipeline run did (the sanity checks read these)."""

    n: int
    log_records: int  # data records in the partition log (duplicates included)
    log_distinct: int  # distinct values in the log
    consumed: int  # records the consumer received
    consumed_distinct: int
    producer_ms: float  # virtual time when the producer was done (flushed / committed)
    virtual_ms: float  # virtual time when the consumer had read and committed everything
    requests: int  # produce requests sent (retries included)
    history_ops: int
    history: Any = None  # the run's history (an eoslib History, or SimPy's list of Op)

    @property
    def duplicates(self) -> int:
        """Log records beyond the first copy of each value."""
        return self.log_records - self.log_distinct

    def check(self, what: str, *, exact: bool = False) -> None:
        """Every record written and read back; ``exact``: no duplicate either."""
        problems = []
        if self.log_distinct != self.n:
            problems.append(f"{self.log_distinct} distinct values in the log, expected {self.n}")
        if self.consumed_distinct != self.n:
            problems.append(f"consumer saw {self.consumed_distinct} distinct values")
        if self.consumed < self.log_records:
            problems.append(f"consumer read {self.consumed} of {self.log_records} log records")
        if exact and self.log_records != self.n:
            problems.append(f"{self.duplicates} duplicates with exactly-once")
        if problems:
            raise AssertionError(f"{what}: " + "; ".join(problems))


# ----------------------------------------------------------------------------- eoslib
def eoslib_pipeline(n: int, *, seed: int = 0, transactional: bool = False,
                    response_loss: float = RESPONSE_LOSS, txn_size: int = TXN_SIZE,
                    tracing: bool = False) -> PipelineRun:
    """Produce ``n`` records, one per virtual ms, while a group member reads them back.

    The clients are :data:`TWIN_CLIENT`'s. At-least-once: ``enable.idempotence=false``,
    read_uncommitted. Transactional:
    ``transactional.id`` set, ``txn_size`` records per transaction, read_committed. The
    consumer polls between writes (that is how virtual time passes) and commits
    asynchronously after every non-empty poll, until it has read the whole log.
    """
    sim = Simulation(seed, faults={"response_loss": response_loss}, tracing=tracing)
    sim.create_topic(TOPIC, 1)
    pconf: dict[str, Any] = {"acks": "all", "request.timeout.ms": 1000, "socket.timeout.ms": 1000,
                             "client.id": "producer", **TWIN_CLIENT}
    if transactional:
        pconf["transactional.id"] = "bench-txn"
    else:
        pconf["enable.idempotence"] = False
    p = sim.Producer(pconf)
    c = sim.Consumer({"group.id": "bench", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "client.id": "consumer",
                      "client": TWIN_CLIENT["client"],
                      "isolation.level": "read_committed" if transactional
                      else "read_uncommitted"})
    c.subscribe([TOPIC])
    tp = TopicPartition(TOPIC, 0)
    seen: set[Any] = set()
    consumed = 0

    def pump(until: float) -> None:
        """Poll (and commit after each poll) until virtual time ``until``."""
        nonlocal consumed
        while (left := until - sim.now) > 1e-9:
            msgs = c.consume(500, timeout=left / 1000)
            if msgs:
                consumed += len(msgs)
                seen.update(m.value() for m in msgs)
                c.commit(asynchronous=True)

    if transactional:
        p.init_transactions()
    for i in range(n):
        if transactional and i % txn_size == 0:
            p.begin_transaction()
        p.produce(TOPIC, value=f"m{i}")
        pump(sim.now + 1.0)
        if transactional and (i % txn_size == txn_size - 1 or i == n - 1):
            p.commit_transaction()
    p.flush()
    producer_ms = sim.now
    give_up = sim.now + 600_000
    while len(seen) < n or c.position([tp])[0].offset < c.get_watermark_offsets(tp)[1]:
        if sim.now > give_up:
            raise AssertionError(f"eoslib pipeline: consumer stuck at {len(seen)} of {n}")
        pump(sim.now + 10.0)
    c.close()
    part = sim.cluster.partition(TOPIC, 0)
    values = [v for b in part.log if b.control is None for _, v in b.records]
    return PipelineRun(n, len(values), len(set(values)), consumed, len(seen), producer_ms,
                       sim.now, p.stats["sent"], len(sim.history), sim.history)


def simpy_pipeline(n: int, *, seed: int = 0,
                   response_loss: float = RESPONSE_LOSS) -> PipelineRun:
    """The at-least-once workload in SimPy (:mod:`eoslib.bench_simpy`)."""
    from eoslib.bench_simpy import run_alo

    m = run_alo(n, seed, response_loss)
    values = [v for b in m.log for _, v in b.records]
    return PipelineRun(n, len(values), len(set(values)), m.polled, len(m.distinct),
                       m.producer_done, m.env.now, m.stats["sent"], len(m.history), m.history)


def kernel_events(events: int, chains: int = 100) -> tuple[float, float]:
    """Wall seconds for ``events`` timer events in ``chains`` concurrent chains: through
    eoslib's Kernel (callbacks) and through SimPy (a process per chain)."""
    import random

    import simpy

    from eoslib.kernel import Kernel

    hops = events // chains
    k = Kernel(random.Random(0), tracing=False)

    def hop(left: int) -> None:
        if left:
            k.schedule(1.0, hop, left - 1)

    start = time.perf_counter()
    for _ in range(chains):
        k.schedule(0.0, hop, hops)
    k.run()
    eos = time.perf_counter() - start

    env = simpy.Environment()

    def chain(env: simpy.Environment) -> Any:
        for _ in range(hops):
            yield env.timeout(1.0)

    start = time.perf_counter()
    for _ in range(chains):
        env.process(chain(env))
    env.run()
    return eos, time.perf_counter() - start


# ------------------------------------------------------------------------ measuring
@dataclass
class Timing:
    """Best wall-clock and best CPU seconds of a few runs, and the last run's result."""

    wall: float
    cpu: float
    run: PipelineRun


def best_of(repeats: int, fn: Callable[[], PipelineRun]) -> Timing:
    """Run ``fn`` ``repeats`` times; the fastest wall-clock and CPU (process) times.

    CPU time is less disturbed than wall time when other programs share the cores.
    """
    wall = cpu = float("inf")
    run: PipelineRun | None = None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    assert run is not None
    return Timing(wall, cpu, run)


def scenario_times(repeats: int = 5) -> dict[str, float]:
    """Median wall ms of ``run_scenario(name, seed=0)`` for every named scenario."""
    from eoslib.scenarios import SCENARIOS, run_scenario

    out = {}
    for name in SCENARIOS:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run_scenario(name, seed=0)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = round(statistics.median(times), 2)
    return out


def widget_latency(n: int, messages: int | None = None
                   ) -> tuple[dict[str, float] | None, str]:
    """The dashboard's update latency, or None and why it was skipped: a run, the log view
    with the readers' rows (long logs elided) and the counts picture, as SVG, at the
    default 100 messages or at ``messages``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from eoslib.viz import dashboard
    except Exception as exc:  # ipywidgets / matplotlib missing or broken
        return None, f"skipped: cannot import the dashboard ({type(exc).__name__}: {exc})"
    if not (hasattr(dashboard, "measure_update_latency") and hasattr(dashboard, "Dashboard")):
        return None, "skipped: eoslib.viz.dashboard has no Dashboard/measure_update_latency yet"
    try:
        d = dashboard.Dashboard("producer-retry", controls=[
            "enable.idempotence", "response_loss", "seed", "messages"],
            defaults=None if messages is None else {"messages": messages})
        stats = dashboard.measure_update_latency(d, n=n)
    except Exception as exc:
        return None, f"skipped: the dashboard failed ({type(exc).__name__}: {exc})"
    finally:
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:
            pass
    return stats, f"Dashboard('producer-retry', 4 controls, defaults), {n} toggles"


def state_view_latency() -> dict[str, float]:
    """Kernel-side redraw of one step of the step player (state model + log view + Lamport
    frame + caption), over every step of two notebook-size runs; percentiles in ms."""
    import matplotlib

    matplotlib.use("Agg")
    from eoslib.scenarios import run_scenario
    from eoslib.viz.stepper import StepPlayer

    times: list[float] = []
    for name, kw in (("producer-retry", {"config": {"enable.idempotence": False},
                                          "faults": {"lost_acks": 1, "response_loss": 0}}),
                     ("transactional-crash", {"config": {"linger.ms": 0},
                                              "faults": {"crash_step": "after_produce",
                                                         "crash_at": 2}})):
        r = run_scenario(name, seed=1, messages=6, **kw)
        player = StepPlayer(r, start=0)
        for i in range(len(r.trace)):
            player.show(i)
            times.append(player.last_update_ms)
    ordered = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)], 2),
            "steps": float(len(times))}


def moment_latency(n: int = 5) -> dict[str, float]:
    """``show_moment`` of notebook 05's crash (both views as SVG plus their 2x PNGs, what a
    committed output holds); median and max wall ms of ``n``, each drawn anew (the PNG
    cache is emptied before every call)."""
    import matplotlib

    matplotlib.use("Agg")
    from eoslib.scenarios import run_scenario
    from eoslib.viz.raster import clear_cache
    from eoslib.viz.stepper import show_moment

    r = run_scenario("transactional-crash", seed=1, messages=20, config={"linger.ms": 0},
                     faults={"crash_step": "after_produce", "crash_at": 5})
    times = []
    for _ in range(n):
        clear_cache()
        start = time.perf_counter()
        m = show_moment(r, at="aborted")
        for pic in m.pictures.values():
            pic._repr_mimebundle_()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1)


def _per_msg(run: PipelineRun, ms: float | None = None) -> float:
    return round((run.virtual_ms if ms is None else ms) / run.n, 4)


def grading_time(submissions: int, jobs: int = 2,
                 exercise: str = "ex02-idempotence") -> dict[str, Any] | None:
    """Grade ``submissions`` copies of one solved exercise (``eoslib grade``, ``jobs``
    workers); see :mod:`eoslib.grading.measure`. None when ``solutions/`` is not at hand."""
    from eoslib.grading.measure import grading_time as measure

    return measure(submissions, jobs, exercise)


def grading_main(copies: int | None, quick: bool = False) -> int:
    """``eoslib bench --grading``: only the grader's figures (JSON last)."""
    from eoslib.grading.measure import grading_copies

    graded = grading_time(4 if quick else 100)
    summary: dict[str, Any] = {"grading": graded}
    if graded is not None:
        print(f"  grading {graded['submissions']} submissions: {graded['seconds']:.1f} s, "
              f"{graded['cpu_seconds']:.1f} CPU s ({graded['check_cpu_seconds_each']} s of "
              f"them the exercise's checks, per submission: {graded['check_cpu_seconds']}), "
              f"{graded['restarts']} kernel restarts, load {graded['load_average']}")
    if copies:
        summary["grading_copies"] = grading_copies(copies)
        print(f"  grading copies: {summary['grading_copies']}")
    print(json.dumps(summary, sort_keys=True))
    return 0


Extra = Callable[[bool], tuple[dict[str, Any], list[str]]]


def main(quick: bool = False, extras: tuple[Extra, ...] = ()) -> int:
    """Run the benchmarks and print them; the last line is the JSON summary. ``extras``:
    measurements of layers above this module (``eoslib bench`` passes the explorer's,
    :mod:`eoslib.explore.speed`), each ``extra(quick) -> (figures, lines)``."""
    n = N_QUICK if quick else N_FULL
    repeats = 3
    print(f"eoslib bench ({'quick' if quick else 'full'}): N={n} records, best of {repeats}; "
          "wall-clock numbers depend on the machine's load")

    # (a) and (b): eoslib and SimPy, the same at-least-once workload, side by side
    eos = best_of(repeats, lambda: eoslib_pipeline(n))
    eos.run.check("eoslib at-least-once")
    spy = best_of(repeats, lambda: simpy_pipeline(n))
    spy.run.check("simpy at-least-once")
    alo, sp = eos.run, spy.run
    eos_rate, simpy_rate = _rate(n, eos.wall), _rate(n, spy.wall)
    ratio = round(eos_rate / simpy_rate, 3)
    ratio_cpu = round(spy.cpu / eos.cpu, 3)
    for label, t in (("eoslib", eos), ("simpy ", spy)):
        r = t.run
        print(f"  {label} at-least-once: {_rate(n, t.wall):>9,.0f} msgs/s wall "
              f"({t.wall * 1000:.0f} ms), {_rate(n, t.cpu):>9,.0f} msgs/s CPU; log "
              f"{r.log_records} records = {n} + {r.duplicates} duplicates, {r.requests} produce "
              f"requests, {r.history_ops} history ops, {r.virtual_ms:.0f} virtual ms")
    print(f"  same workload: log records eoslib {alo.log_records}, simpy {sp.log_records} "
          f"(each = {n} distinct + duplicates from retries; both lose the same requests' "
          "responses)")
    print(f"  ratio eoslib/simpy: {ratio:.2f} wall, {ratio_cpu:.2f} CPU (target >= 2)")
    kevents = 50_000 if quick else 200_000
    k_eos, k_simpy = (min(t) for t in zip(*(kernel_events(kevents) for _ in range(repeats)),
                                           strict=True))
    kernel_rates = {"eoslib": _rate(kevents, k_eos), "simpy": _rate(kevents, k_simpy)}
    print(f"  bare kernels, timer events/s: eoslib Kernel {kernel_rates['eoslib']:,.0f}, SimPy "
          f"{kernel_rates['simpy']:,.0f} (x{kernel_rates['eoslib'] / kernel_rates['simpy']:.1f})"
          "; the pipelines above spend most of their time per record, not per event")

    # (c) the transactional pipeline, same faults, and both pipelines without faults
    txt = best_of(repeats, lambda: eoslib_pipeline(n, transactional=True))
    txn = txt.run
    txn.check("eoslib transactional", exact=True)
    txn_rate = _rate(n, txt.wall)
    clean_n = min(n, N_QUICK)
    alo_clean = eoslib_pipeline(clean_n, response_loss=0.0)
    txn_clean = eoslib_pipeline(clean_n, transactional=True, response_loss=0.0)
    alo_clean.check("eoslib at-least-once, no faults")
    txn_clean.check("eoslib transactional, no faults", exact=True)
    overhead = (txn_clean.producer_ms / alo_clean.producer_ms - 1) * 100
    print(f"  eoslib transactional ({TXN_SIZE}/txn, read_committed): {txn_rate:>9,.0f} msgs/s "
          f"wall ({txt.wall * 1000:.0f} ms), {_rate(n, txt.cpu):,.0f} msgs/s CPU; "
          f"at-least-once {eos_rate:,.0f} msgs/s wall")
    print(f"  virtual ms per message, end to end (5% responses lost): at-least-once "
          f"{_per_msg(alo):.3f}, transactional {_per_msg(txn):.3f}")
    print(f"  virtual ms per message at the producer, no faults (N={clean_n}): at-least-once "
          f"{_per_msg(alo_clean, alo_clean.producer_ms):.3f}, transactional "
          f"{_per_msg(txn_clean, txn_clean.producer_ms):.3f} -> {overhead:+.1f}% time "
          f"(one record per ms: a commit every ~{TXN_SIZE} ms)")
    print(f"  for comparison, {KAFKA_TXN_COST}")

    # (d) named scenarios
    scen = scenario_times(5)
    print("  scenarios, median wall ms of 5 runs (seed=0):")
    for name, ms in scen.items():
        print(f"    {name:<22} {ms:8.1f}")

    # (e) the dashboard widget
    stats, note = widget_latency(10 if quick else 30)
    if stats is None:
        print(f"  widget update latency: {note}")
    else:
        print(f"  widget update latency (run + log view + counts, SVG): p50 "
              f"{stats['p50_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms ({note})")
    views = state_view_latency()
    print(f"  step player redraw (state + log view + Lamport + caption): p50 "
          f"{views['p50_ms']:.1f} ms, p95 {views['p95_ms']:.1f} ms over {views['steps']:.0f} "
          "steps of two 6-message runs")
    moment = moment_latency(3 if quick else 5)
    print(f"  show_moment (log + Lamport, SVG and 2x PNG): p50 {moment['p50_ms']:.0f} ms, "
          f"max {moment['max_ms']:.0f} ms")
    exp: dict[str, Any] = {}
    for extra in extras:  # measurements of layers above this module (e.g. the explorer)
        figures, words = extra(quick)
        exp.update(figures)
        for line in words:
            print(line)
    log_stats, log_note = widget_latency(10 if quick else 30, messages=20)
    if log_stats is not None:
        print(f"  widget update latency at 20 messages (log view, readers, counts): p50 "
              f"{log_stats['p50_ms']:.1f} ms, p95 {log_stats['p95_ms']:.1f} ms")
    # (f) grading a class: N copies of one solved exercise, a fresh kernel each
    graded = grading_time(4 if quick else 100)
    if graded is None:
        print("  grading: skipped (solutions/ not found next to the eoslib package)")
    else:
        print(f"  grading {graded['submissions']} submissions of {graded['exercise']} with "
              f"{graded['jobs']} jobs: {graded['seconds']:.1f} s "
              f"({graded['seconds'] / graded['submissions']:.2f} s each; "
              f"{graded['cpu_seconds']:.1f} CPU s in all processes, "
              f"{graded['restarts']} kernel restarts, load {graded['load_average']})")

    summary = {
        "eoslib_msgs_per_s": eos_rate,
        "simpy_msgs_per_s": simpy_rate,
        "ratio": ratio,
        "ratio_cpu": ratio_cpu,
        "eoslib_cpu_msgs_per_s": _rate(n, eos.cpu),
        "simpy_cpu_msgs_per_s": _rate(n, spy.cpu),
        "txn_msgs_per_s": txn_rate,
        "alo_virtual_ms_per_msg": _per_msg(alo),
        "txn_virtual_ms_per_msg": _per_msg(txn),
        "alo_clean_producer_ms_per_msg": _per_msg(alo_clean, alo_clean.producer_ms),
        "txn_clean_producer_ms_per_msg": _per_msg(txn_clean, txn_clean.producer_ms),
        "txn_clean_overhead_pct": round(overhead, 2),
        "duplicates": {"eoslib": alo.duplicates, "simpy": sp.duplicates},
        "kernel_events_per_s": kernel_rates,
        "scenario_ms": scen,
        "widget_update_p50_ms": None if stats is None else stats["p50_ms"],
        "widget_update_p95_ms": None if stats is None else stats["p95_ms"],
        "widget_update_logview_p50_ms": None if log_stats is None else log_stats["p50_ms"],
        "widget_update_logview_p95_ms": None if log_stats is None else log_stats["p95_ms"],
        **exp,
        "state_view_step_p50_ms": views["p50_ms"],
        "state_view_step_p95_ms": views["p95_ms"],
        "show_moment_p50_ms": moment["p50_ms"],
        "grading_seconds": None if graded is None else graded["seconds"],
        "grading_submissions": None if graded is None else graded["submissions"],
        "grading_cpu_seconds": None if graded is None else graded["cpu_seconds"],
        "grading_restarts": None if graded is None else graded["restarts"],
        "grading_check_cpu_seconds_each": None if graded is None
        else graded["check_cpu_seconds_each"],
        "n": n,
        "quick": quick,
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
