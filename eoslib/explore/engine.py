"""Run a scenario under every placement of up to K faults; keep the smallest failing ones.

The search is breadth first. Level 0 is the clean run. Each run lists its own fault points
(:func:`eoslib.explore.points.points_of`): a schedule of k faults is extended by every point
of *its* run, so faults that only exist because of an earlier fault (the retry's own
response, the restarted app's batch) are found too. Two kinds of placement are never run,
and the report counts both:

* a set of faults reached a second time in another order (``same_set``): the run depends on
  the set, not on the order it was built in, so it is the same run;
* a point that does not occur in a run is never added to it: that fault could not fire, so
  the run would be the parent's (this is why the search needs no fixed list of points).

A schedule may place several application crashes (``crash_points``), e.g. a crash, then a
second one in the restarted instance: nothing is skipped except the two cases above. (A crash
point is named by its step and batch, so the same step of the same batch in a later
incarnation is the same point: that is a bound of the search, not a pruning.)

Runs are deterministic (seed 0, no chance faults), so the answer is the same with any number
of worker processes: results are sorted by schedule before they are used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eoslib.errors import ConfigException, KafkaException, did_you_mean
from eoslib.explore.points import KINDS, Point, plan_of, points_in
from eoslib.scenarios import SCENARIOS
from eoslib.scenarios.run import run_failures

#: Chance faults off and nothing placed: the explorer's faults are the only ones. Only the
#: fields a scenario sets by default are overridden (see :func:`quiet`).
QUIET: dict[str, Any] = {"request_loss": 0.0, "response_loss": 0.0, "error_prob": 0.0,
                         "slow_prob": 0.0, "crash_step": None, "crash_at": None,
                         "lost_acks": 0, "lose_responses": ()}


def quiet(scenario: str, schedule: tuple[Point, ...]) -> dict[str, Any]:
    """The fault plan of ``schedule`` in ``scenario``: the scenario's own chance and placed
    faults switched off (only those it sets), then the schedule's faults."""
    own = SCENARIOS[scenario].faults
    if "crash_prob" in own and own["crash_prob"]:
        raise ConfigException("scenario", scenario, "Expected a scenario without chance "
                              "crashes (crash_prob) to explore")
    return {**{k: v for k, v in QUIET.items() if k in own}, **plan_of(schedule)}
#: The largest K accepted (the number of schedules grows like points ** K).
MAX_K = 4
#: The most schedules one exploration runs unless told otherwise (a minute here, about).
MAX_SCHEDULES = 20_000

Schedule = tuple[Point, ...]


@dataclass
class Run:
    """One explored schedule: its not-allowed anomalies (kind -> count) and its points."""

    schedule: Schedule
    anomalies: dict[str, int]
    points: list[Point]
    error: str | None = None  # the application stopped with this client error
    #: anomaly -> why the checker could not look for it in this run
    unchecked: dict[str, str] = field(default_factory=dict)
    #: (key, value, allowed) of a ConfigException the run raised (carried out of a worker)
    config_error: tuple[str, Any, str] | None = None


@dataclass
class Exploration:
    """What :func:`explore` found."""

    scenario: str
    messages: int
    config: dict[str, Any]
    kinds: tuple[str, ...]
    max_faults: int
    runs: list[Run] = field(default_factory=list)
    pruned: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    jobs: int = 1
    #: anomaly -> why the checker could not look for it (in the fault-free run)
    unchecked: dict[str, str] = field(default_factory=dict)

    @property
    def schedules(self) -> int:
        """How many schedules were run (the clean run included)."""
        return len(self.runs)

    def anomalies(self) -> dict[str, int]:
        """Anomaly kind -> how many schedules show it."""
        out: dict[str, int] = {}
        for r in self.runs:
            for kind in r.anomalies:
                out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items()))

    def counterexamples(self) -> dict[str, Run]:
        """Anomaly kind -> its minimal schedule: fewest faults, then first in
        :attr:`Point.key` order (crashes in loop order, then losses by API and request)."""
        best: dict[str, Run] = {}
        for r in self.runs:  # runs are in (size, schedule) order
            for kind in r.anomalies:
                best.setdefault(kind, r)
        return dict(sorted(best.items()))

    def outcomes(self) -> int:
        """How many distinct outcomes (sets of anomalies with their counts, or the client
        error that stopped the application) were seen."""
        return len({(tuple(sorted(r.anomalies.items())), r.error) for r in self.runs})

    def replay(self, schedule: Schedule) -> list[str]:
        """The ``eoslib run`` arguments that replay ``schedule`` (no seed needed)."""
        args = ["eoslib", "run", self.scenario, "--messages", str(self.messages)]
        for k, v in self.config.items():
            args += ["--set", f"{k}={_text(v)}"]
        for k, v in quiet(self.scenario, schedule).items():
            if k == "drop" and not v:
                continue
            args += ["--set", f"{k}={_text(v)}"]
        return args

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object (see ``eoslib explore --json``)."""
        return {
            "scenario": self.scenario, "messages": self.messages, "config": self.config,
            "faults": list(self.kinds), "max_faults": self.max_faults,
            "schedules": self.schedules, "pruned": sum(self.pruned.values()),
            "pruned_by_reason": dict(self.pruned), "distinct_outcomes": self.outcomes(),
            "anomalies": self.anomalies(),
            "client_errors": sum(1 for r in self.runs if r.error),
            "client_error_example": next(({"faults": [p.words() for p in r.schedule],
                                           "error": r.error} for r in self.runs if r.error),
                                         None),
            "counterexamples": {
                kind: {"faults": [p.words() for p in r.schedule],
                       "points": [p.token() for p in r.schedule],
                       "count": r.anomalies[kind], "replay": self.replay(r.schedule)}
                for kind, r in self.counterexamples().items()},
            "seconds": round(self.seconds, 3), "jobs": self.jobs,
            "unchecked": dict(self.unchecked),
        }


def _text(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple | list):
        return ",".join(str(x) for x in v)
    return str(v)


def _run(job: tuple[str, int, dict[str, Any], frozenset[str], Schedule, bool]) -> Run:
    """One schedule; its fault points only when the search will extend it (``expand``)."""
    scenario, messages, config, kinds, schedule, expand = job
    try:
        r = run_failures(scenario, seed=0, messages=messages, config=config,
                         faults=quiet(scenario, schedule), unchecked=not schedule)
    except KafkaException as e:  # e.g. init_transactions() gave up after max.block.ms
        return Run(schedule, {}, [], error=str(e))
    except ConfigException as e:  # carried back as data: a worker's exception may not pickle
        return Run(schedule, {}, [], config_error=(e.key, e.value, e.allowed))
    return Run(schedule, r.failures, points_in(r.requests, r.history, kinds) if expand
               else [], unchecked=r.unchecked)


def fault_kinds(kinds: Iterable[str], allowed: Iterable[str]) -> frozenset[str]:
    """``--faults``: the kinds asked for, each one of ``allowed`` (a ConfigException naming
    the first that is not, with the closest; none at all is an error too)."""
    allowed = list(allowed)
    ks = frozenset(kinds)
    for k in ks:
        if k not in allowed:
            raise ConfigException("--faults", k, f"Expected any of {', '.join(allowed)}"
                                  + did_you_mean(k, allowed))
    if not ks:
        raise ConfigException("--faults", "", f"Expected any of {', '.join(allowed)}")
    return ks


def _check(scenario: str, kinds: Iterable[str], max_faults: int, jobs: int,
           messages: int) -> frozenset[str]:
    if scenario not in SCENARIOS:
        raise ConfigException("scenario", scenario, "Unknown scenario"
                              + did_you_mean(scenario, SCENARIOS)
                              + f"; scenarios: {', '.join(SCENARIOS)}")
    ks = fault_kinds(kinds, KINDS)
    if isinstance(max_faults, bool) or not isinstance(max_faults, int) \
            or not 0 <= max_faults <= MAX_K:
        raise ConfigException("--max-faults", max_faults,
                              f"Expected a whole number from 0 to {MAX_K}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigException("--jobs", jobs, "Expected a whole number >= 1")
    if isinstance(messages, bool) or not isinstance(messages, int) or not 1 <= messages <= 20:
        raise ConfigException("--messages", messages, "Expected a whole number from 1 to 20 "
                              "(every schedule is run: keep the scenario small)")
    return ks


def estimate(points: int, max_faults: int) -> int:
    """Schedules of up to ``max_faults`` faults placed on ``points`` points (sets of
    distinct points): a lower bound, since faulted runs bring points of their own."""
    return sum(math.comb(points, k) for k in range(max_faults + 1))


def _too_many(scenario: str, messages: int, max_faults: int, count: int, limit: int,
              why: str) -> ConfigException:
    return ConfigException(
        "--max-schedules", limit,
        f"{why} {count:,} schedules ({scenario}, {messages} messages, up to {max_faults} "
        f"faults): narrow it with --faults (fewer kinds), --messages or --max-faults, or "
        f"raise --max-schedules")


def _raise_config(runs: list[Run]) -> None:
    for r in runs:
        if r.config_error is not None:
            raise ConfigException(*r.config_error)


def next_level(runs: list[Any], pruned: dict[str, int], done: int, limit: int,
               too_many: Callable[[int], Exception]) -> list[Schedule]:
    """The next level of a breadth-first search: every run's schedule extended by each of
    the run's own fault points, each set of points once (a repeat counts in
    ``pruned["same_set"]``), in a fixed order. Refuses (raises ``too_many(n)``) as soon as
    ``done`` schedules plus the level pass ``limit``, so memory stays bounded. Used by
    :func:`explore` and by the ``--app`` explorer (``eoslib.explore.app``)."""
    nxt: list[Schedule] = []
    seen: set[frozenset[Point]] = set()  # sets of depth + 1 points, this level only
    for r in runs:
        for p in r.points:
            if p in r.schedule:
                continue
            key = frozenset((*r.schedule, p))
            if key in seen:
                pruned["same_set"] += 1
                continue
            seen.add(key)
            nxt.append(tuple(sorted(key)))
        if done + len(nxt) > limit:
            raise too_many(done + len(nxt))
    for r in runs:
        r.points = []  # expanded: a level's points are not needed any more
    return sorted(nxt, key=lambda sch: [p.key for p in sch])


def explore(scenario: str, *, messages: int = 3, config: Mapping[str, Any] | None = None,
            kinds: Iterable[str] = tuple(KINDS), max_faults: int = 2, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None,
            max_schedules: int = MAX_SCHEDULES) -> Exploration:
    """Run ``scenario`` under every placement of up to ``max_faults`` faults of ``kinds``.

    Before it starts, the schedules are estimated from the fault-free run's points; above
    ``max_schedules`` (or when the search outgrows it) it stops with a ConfigException
    saying how to narrow it, which also bounds its memory. ``progress(done, total_known)``
    is called after each level. Raises :class:`~eoslib.errors.ConfigException` for bad
    input, naming it."""
    ks = _check(scenario, kinds, max_faults, jobs, messages)
    if isinstance(max_schedules, bool) or not isinstance(max_schedules, int) \
            or max_schedules < 1:
        raise ConfigException("--max-schedules", max_schedules, "Expected a whole number >= 1")
    cfg = dict(config or {})
    started = time.perf_counter()
    ex = Exploration(scenario, messages, cfg, tuple(k for k in KINDS if k in ks), max_faults,
                     jobs=jobs)
    ex.pruned = {"same_set": 0}
    level: list[Schedule] = [()]
    pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    try:
        for depth in range(max_faults + 1):
            expand = depth < max_faults or depth == 0  # the clean run's points: the estimate
            batch = [(scenario, messages, cfg, ks, s, expand) for s in level]
            runs = list(pool.map(_run, batch, chunksize=8)) if pool else [_run(b)
                                                                          for b in batch]
            _raise_config(runs)
            runs.sort(key=lambda r: [p.key for p in r.schedule])
            if depth == 0:
                ex.unchecked = runs[0].unchecked
                pts = runs[0].points
                most = len(pts)
                if max_faults > most:
                    raise ConfigException(
                        "--max-faults", max_faults,
                        f"Expected at most {most}: the clean run of {scenario} has "
                        f"{len(pts)} fault points of these kinds")
                guess = estimate(most, max_faults)
                if guess > max_schedules:
                    raise _too_many(scenario, messages, max_faults, guess, max_schedules,
                                    f"the fault-free run has {most} fault points: at least")
            ex.runs.extend(runs)
            if progress is not None:
                progress(len(ex.runs), len(ex.runs))
            if depth == max_faults:
                break
            level = next_level(
                runs, ex.pruned, len(ex.runs), max_schedules,
                lambda n, d=depth: _too_many(scenario, messages, max_faults, n, max_schedules,
                                             f"level {d + 1} already brings the search to"))
    finally:
        if pool is not None:
            pool.shutdown()
    ex.seconds = time.perf_counter() - started
    return ex
