"""``eoslib explore --app PROGRAM``: a confluent-kafka program under every placement of up to K
faults, the way :mod:`eoslib.explore.engine` explores the course's own loops.

Each schedule is one :func:`eoslib.confluent_kafka.supervisor.run` of the unmodified program
(``--input-topic`` filled with ``--messages`` records ``m0``..), with the schedule's faults
placed: the network and broker faults of :mod:`eoslib.explore.points` (a lost request or
answer of any API, a coordinator's or leader's death...) and the program's own death right
after one of its client calls (``crash``: after its N-th ``produce()``, ``poll()`` that
returned something, ``commit_transaction()``...), after which it is started again as its
supervisor would. Like the engine, the search is breadth first from each run's own points
(a fault placed in a run that never reaches it is never run), a set of faults is run once,
and the smallest schedule of each anomaly is kept, with the ``python -m eoslib.run_app``
command that replays it. The checker reads ``--output-topic`` at the end and ties each
output record to its input by ``--output-id``.
"""

from __future__ import annotations

import contextlib
import io
import math
import shlex
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from eoslib.checker.report import ANOMALIES
from eoslib.confluent_kafka.supervisor import Outcome, Plan, Program, lineage, run
from eoslib.errors import ConfigException
from eoslib.explore.engine import MAX_K, Exploration, Run, fault_kinds, next_level
from eoslib.explore.points import KINDS as NETWORK_KINDS
from eoslib.explore.points import Point, plan_of, points_of

#: the client calls after which the program may die (a poll/consume: one that returned
#: something), in the order the minimal schedule prefers them
CRASH_APIS = ("poll", "consume", "produce", "flush", "store_offsets", "commit",
              "send_offsets_to_transaction", "commit_transaction", "abort_transaction")
#: fault kinds for ``--faults`` with ``--app``
KINDS: dict[str, str] = {
    "crash": "the program's process dies right after one of its client calls ("
             + ", ".join(CRASH_APIS) + ") and is started again",
    **{k: v for k, v in NETWORK_KINDS.items() if k != "crash"},
}
#: the default bound on schedules (each is a whole run of the program)
MAX_APP_SCHEDULES = 20_000


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@dataclass(frozen=True)
class AppPoint:
    """One fault: ``crash`` (the program dies right after its ``n``-th call of ``api``), or
    one of :class:`eoslib.explore.points.Point`'s kinds."""

    kind: str
    api: str
    n: int

    @property
    def key(self) -> tuple[int, int, int, int]:
        """Sort key: program crashes first (by call number, then API), then the engine's."""
        if self.kind == "crash":
            return (0, self.n, CRASH_APIS.index(self.api), 0)
        k = Point(self.kind, self.api, self.n).key
        return (k[0] + 1, k[1], k[2], k[3])

    def __lt__(self, other: AppPoint) -> bool:
        return self.key < other.key

    def words(self) -> str:
        """The fault in words: "crash the program right after its 1st commit_transaction()"."""
        if self.kind != "crash":
            return Point(self.kind, self.api, self.n).words()
        what = " that returned a message" if self.api in ("poll", "consume") else ""
        return f"crash the program right after its {_ordinal(self.n)} {self.api}(){what}"

    def token(self) -> str:
        """``API:N`` (run_app's ``--crash-after``) or the engine's token."""
        if self.kind == "crash":
            return f"{self.api}:{self.n}"
        return Point(self.kind, self.api, self.n).token()


Schedule = tuple[AppPoint, ...]


@dataclass
class AppSpec:
    """What every schedule runs: the program, its input and output, the search's kinds."""

    program: str
    args: list[str]
    input_topic: str = "in"
    output_topic: str = "out"
    messages: int = 3
    partitions: int = 1
    output_id: str = "value"
    idle_exit_s: float = 10.0
    kinds: frozenset[str] = field(default_factory=lambda: frozenset(KINDS))

    def plan(self, schedule: Schedule) -> Plan:
        """The supervisor plan of ``schedule`` (seed 0, only the schedule's faults)."""
        net = tuple(Point(p.kind, p.api, p.n) for p in schedule if p.kind != "crash")
        faults = {k: v for k, v in plan_of(net).items() if v}
        return Plan([Program(self.program, list(self.args))], seed=0, faults=faults,
                    crashes=tuple(p.token() for p in schedule if p.kind == "crash"),
                    inputs={self.input_topic: self.messages}, partitions=self.partitions,
                    idle_exit_s=self.idle_exit_s, output=self.output_topic,
                    output_id=self.output_id, restart_on_error=True, echo=False)


def app_points(out: Outcome, kinds: frozenset[str]) -> list[AppPoint]:
    """Every point of ``kinds`` in a run: the engine's network and broker points (from the
    requests the run sent) and a crash after each counted client call."""
    fake = SimpleNamespace(requests=out.requests, history=out.sim.history)
    pts = [AppPoint(p.kind, p.api, p.n) for p in points_of(fake, kinds - {"crash"})]  # type: ignore[arg-type]
    if "crash" in kinds:
        pts += [AppPoint("crash", api, n) for api in CRASH_APIS
                for n in range(1, out.calls.get(api, 0) + 1)]
    return pts


def _run(job: tuple[AppSpec, Schedule, bool]) -> Run:
    """One schedule (its points only when the search will extend it)."""
    spec, schedule, expand = job
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            out = run(spec.plan(schedule))
    except ConfigException as e:
        return Run(schedule, {}, [], config_error=(e.key, e.value, e.allowed))  # type: ignore[arg-type]
    assert out.report is not None
    bad = {k: out.report.count(k) for k in out.report.failures()}
    return Run(schedule, bad, app_points(out, spec.kinds) if expand else [],  # type: ignore[arg-type]
               error=out.error, unchecked=dict(out.report.unchecked) if not schedule else {})


@dataclass
class AppExploration(Exploration):
    """:class:`~eoslib.explore.engine.Exploration` of a program: replays are run_app
    commands, and the kinds the checker looked for are kept."""

    spec: AppSpec | None = None
    checked: list[str] = field(default_factory=list)

    def replay(self, schedule: Any) -> list[str]:
        """The ``python -m eoslib.run_app`` command that replays ``schedule``."""
        assert self.spec is not None
        return self.spec.plan(schedule).command()

    def to_json(self) -> dict[str, Any]:
        """The engine's JSON, plus the program and the anomaly kinds checked."""
        out = super().to_json()
        out.update(program=self.scenario, checked=self.checked, client="librdkafka")
        return out

    def __str__(self) -> str:
        return table(self)


def table(ex: AppExploration) -> str:
    """The report in words: what ran, the checked kinds, each anomaly's smallest schedule
    and the command that replays it."""
    lines = [f"client: librdkafka (confluent-kafka); program: {ex.scenario} "
             f"({ex.messages} input messages): every placement of up to {ex.max_faults} "
             f"fault{'s' if ex.max_faults != 1 else ''} ({', '.join(ex.kinds)})",
             f"  schedules run: {ex.schedules}; pruned: {sum(ex.pruned.values())} "
             f"(same set of faults); distinct outcomes: {ex.outcomes()}; "
             f"{ex.seconds:.1f} s elapsed with {ex.jobs} job(s)",
             f"  anomalies checked: {', '.join(ex.checked)}"]
    if ex.unchecked:
        lines.append("  not checked: " + "; ".join(f"{k} ({why})"
                                                  for k, why in ex.unchecked.items()))
    stopped = [r for r in ex.runs if r.error]
    if stopped:
        lines.append(f"  the program did not end cleanly in {len(stopped)} schedule(s), e.g. "
                     + ("; ".join(p.words() for p in stopped[0].schedule) or "no fault")
                     + f": {stopped[0].error}")
    anomalies = ex.anomalies()
    if not anomalies:
        lines.append(f"  no anomaly in any of the {ex.schedules} schedules")
    for kind, r in ex.counterexamples().items():
        lines.append(f"  {kind}: in {anomalies[kind]} schedule(s); smallest: "
                     + ("; ".join(p.words() for p in r.schedule) or "no fault at all"))
        lines.append("    replay: " + shlex.join(ex.replay(r.schedule)))
    return "\n".join(lines)


def explore_app(program: str, args: Iterable[str] = (), *, input_topic: str = "in",
                output_topic: str = "out", messages: int = 3, partitions: int = 1,
                output_id: str = "value", kinds: Iterable[str] = tuple(KINDS),
                max_faults: int = 1, jobs: int = 1, idle_exit_s: float = 10.0,
                max_schedules: int = MAX_APP_SCHEDULES,
                progress: Callable[[int, int], None] | None = None) -> AppExploration:
    """Run ``program`` with ``args`` under every placement of up to ``max_faults`` faults of
    ``kinds`` (see module docstring). Raises ConfigException naming a bad argument."""
    ks = _check(program, kinds, max_faults, jobs, messages, output_id)
    spec = AppSpec(program, list(args), input_topic, output_topic, messages, partitions,
                   output_id, idle_exit_s, ks)
    started = time.perf_counter()
    ex = AppExploration(program, messages, {}, tuple(k for k in KINDS if k in ks), max_faults,
                        jobs=jobs, spec=spec)
    ex.pruned = {"same_set": 0}
    level: list[Schedule] = [()]
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    try:
        for depth in range(max_faults + 1):
            batch = [(spec, s, depth < max_faults or depth == 0) for s in level]
            runs = list(pool.map(_run, batch, chunksize=4)) if pool else [_run(b) for b in batch]
            for r in runs:
                if r.config_error is not None:
                    raise ConfigException(*r.config_error)
            runs.sort(key=lambda r: [p.key for p in r.schedule])
            if depth == 0:
                _first(ex, runs[0], max_faults, max_schedules)
            ex.runs.extend(runs)
            if progress is not None:
                progress(len(ex.runs), len(ex.runs))
            if depth == max_faults:
                break
            level = _next_level(ex, runs, max_schedules)
    finally:
        if pool is not None:
            pool.shutdown()
    ex.seconds = time.perf_counter() - started
    return ex


def _first(ex: AppExploration, clean: Run, max_faults: int, limit: int) -> None:
    """What the fault-free run says about the search: the kinds checked, its size."""
    ex.unchecked = dict(clean.unchecked)
    ex.checked = [k for k in ANOMALIES if k not in ex.unchecked]
    most = len(clean.points)
    if max_faults > most:
        raise ConfigException("--max-faults", max_faults, f"Expected at most {most}: the "
                              f"fault-free run has {most} fault points of these kinds")
    guess = sum(math.comb(most, k) for k in range(max_faults + 1))
    if guess > limit:
        raise ConfigException("--max-schedules", limit, f"the fault-free run has {most} "
                              f"fault points: at least {guess:,} schedules; narrow it with "
                              "--faults, --messages or --max-faults")


def _next_level(ex: AppExploration, runs: list[Run], limit: int) -> list[Schedule]:
    """Every run's schedule extended by each of its own points, each set once."""
    return next_level(runs, ex.pruned, len(ex.runs), limit, lambda n: ConfigException(
        "--max-schedules", limit, f"the next level brings the search to {n:,} schedules; "
        "narrow it with --faults, --messages or --max-faults"))


def _check(program: str, kinds: Iterable[str], max_faults: int, jobs: int, messages: int,
           output_id: str) -> frozenset[str]:
    from pathlib import Path

    if not Path(program).is_file():
        raise ConfigException("--app", program, "Expected the path of a Python program "
                              "(then its arguments, in one quoted string)")
    ks = fault_kinds(kinds, KINDS)
    for name, v, lo, hi in (("--max-faults", max_faults, 0, MAX_K), ("--jobs", jobs, 1, 64),
                            ("--messages", messages, 1, 1000)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ConfigException(name, v, f"Expected a whole number from {lo} to {hi}")
    lineage(output_id)  # a bad --output-id is a ConfigException naming it
    return ks


def cmd_app(args: Any) -> int:
    """``eoslib explore --app "PROGRAM ARGS"``: explore, print the table (or JSON), write
    the replays (``--replay FILE``: a shell script, one command per anomaly)."""
    import json
    import sys

    words = shlex.split(args.app)
    if not words:
        raise ConfigException("--app", args.app, "Expected a program and its arguments, "
                              'e.g. --app "my_app.py -b localhost:9092"')
    if args.set:
        raise ConfigException("--set", args.set[0], "Expected nothing with --app: the "
                              "program configures its own clients")
    if args.scenario:
        raise ConfigException("scenario", args.scenario, "Expected a scenario or --app, "
                              "not both")
    kinds = [k.strip() for k in args.faults.split(",") if k.strip()]
    ex = explore_app(words[0], words[1:], input_topic=args.input_topic,
                     output_topic=args.output_topic, messages=args.messages,
                     partitions=args.partitions, output_id=args.output_id, kinds=kinds,
                     max_faults=args.max_faults, jobs=args.jobs, idle_exit_s=args.idle_exit,
                     max_schedules=min(args.max_schedules, MAX_APP_SCHEDULES))
    print(json.dumps(ex.to_json()) if args.json else table(ex))
    if args.replay:
        lines = ["#!/bin/sh", f"# eoslib explore --app {shlex.quote(args.app)}: "
                 f"{ex.schedules} schedules, anomalies: "
                 + (", ".join(ex.anomalies()) or "none")]
        for kind, r in ex.counterexamples().items():
            lines += [f"# {kind}: " + "; ".join(p.words() for p in r.schedule),
                      shlex.join(ex.replay(r.schedule))]
        with open(args.replay, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"replays written to {args.replay}", file=sys.stderr)
    return 1 if ex.anomalies() else 0


def add_arguments(e: Any) -> None:
    """The ``--app`` options of ``eoslib explore`` (see :func:`cmd_app`)."""
    e.add_argument("--app", metavar='"PROGRAM ARGS"',
                   help="explore a confluent-kafka program instead of a scenario: its path "
                        "and arguments in one string; it runs unmodified on the simulator. "
                        "With --app the crash kind is the program's death right after one "
                        "of its client calls (" + ", ".join(CRASH_APIS) + "), then a "
                        "restart; exit status 1 when an anomaly is found")
    e.add_argument("--input-topic", default="in", help="--app: the topic filled with "
                   "--messages records m0, m1... before it starts (default in)")
    e.add_argument("--output-topic", default="out", help="--app: the topic where each input "
                   "must arrive exactly once (default out)")
    e.add_argument("--output-id", default="value", metavar="HOW",
                   help="--app: how an output record names its input: value (the first "
                        "m<N> word of the value), base64, json:FIELD or expr:PYTHON")
    e.add_argument("--partitions", type=int, default=1,
                   help="--app: partitions of the input topic and of topics it creates")
    e.add_argument("--idle-exit", type=float, default=10.0, metavar="SECONDS",
                   help="--app: a program that waits this long (virtual) for messages gets "
                        "Ctrl-C (default 10)")
    e.add_argument("--replay", metavar="FILE", help="--app: write each anomaly's replay "
                   "command to FILE (a shell script)")
