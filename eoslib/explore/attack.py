"""Attack a learner's protocol piece: the smallest fault schedule under which it breaks.

The grader plugs a learner's function into a scenario (``hooks``, as :func:`run_scenario`
takes them) and asks :func:`attack` for the first schedule, in the explorer's order (fewest
faults, then earliest), whose run shows an anomaly or makes the learner's function raise.
Runs happen in this process (a learner's function need not be picklable), one at a time,
with seed 0 and no chance faults; at most ``max_schedules`` runs, so the time is bounded and
the answer deterministic.

A schedule under which Kafka's own pieces (the scenario without ``hooks``) show the same
anomaly is not held against the learner: it is skipped and counted (``Attack.skipped``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eoslib.errors import ConfigException, KafkaException
from eoslib.explore.engine import MAX_K, Exploration, _check, quiet
from eoslib.explore.points import KINDS, Point, plan_of, points_of
from eoslib.result import Result
from eoslib.scenarios import run_scenario

Schedule = tuple[Point, ...]


@dataclass
class Attack:
    """A schedule that breaks the attacked piece (see :func:`attack`)."""

    scenario: str
    kind: str  # a checker anomaly kind, or "exception" when the learner's function raised
    schedule: Schedule
    faults: list[str]
    replay: list[str]
    run_kwargs: dict[str, Any]
    result: Result | None
    error: str | None = None
    schedules: int = 0
    skipped: int = 0  # failing schedules where Kafka's own pieces fail the same way
    counts: dict[str, int] = field(default_factory=dict)

    def words(self) -> str:
        """The counterexample in one sentence."""
        n = len(self.schedule)
        what = (f"your function raised {self.error}" if self.kind == "exception"
                else f"{self.kind} ({self.counts.get(self.kind, 0)})")
        if not n:
            return f"{what} with no fault at all"
        return (f"{what} after {n} fault{'s' if n > 1 else ''}: "
                + "; ".join(self.faults))


Once = Callable[[Schedule, bool], tuple[Result | None, str | None]]


def _guarded(fn: Callable[[], Result]) -> tuple[Result | None, str | None]:
    try:
        return fn(), None
    except KafkaException:
        return None, None  # the application stopped on a client error: not the piece's fault
    except ConfigException:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's function failed
        return None, f"{type(exc).__name__}: {exc}"


def _bound(max_schedules: int) -> None:
    if isinstance(max_schedules, bool) or not isinstance(max_schedules, int) \
            or max_schedules < 1:
        raise ConfigException("max_schedules", max_schedules, "Expected a whole number >= 1")


def _search(once: Once, reference: Once | None, ks: frozenset[str], max_faults: int,
            max_schedules: int) -> tuple[Schedule, str, dict[str, int], str | None, int,
                                         int] | None:
    """Breadth first over placements (the explorer's order); the first failing schedule
    as (schedule, kind, anomalies, error, schedules run, skipped), or None."""
    level: list[Schedule] = [()]
    seen: set[frozenset[Point]] = {frozenset()}
    done = skipped = 0
    for depth in range(max_faults + 1):
        nxt: list[Schedule] = []
        for sch in level:
            if done >= max_schedules:
                return None
            done += 1
            r, error = once(sch, False)
            bad = {k: r.report.count(k) for k in r.report.failures()} if r else {}
            if bad and not error and reference is not None:
                ref, _ = reference(sch, False)
                if ref is not None and set(ref.report.failures()) >= set(bad):
                    skipped += 1
                    bad = {}
            if error or bad:
                return sch, "exception" if error else sorted(bad)[0], bad, error, done, skipped
            if r is None or depth == max_faults:
                continue
            for p in points_of(r, ks):
                key = frozenset((*sch, p))
                if p in sch or key in seen:
                    continue
                seen.add(key)
                nxt.append(tuple(sorted(key)))
        level = sorted(nxt, key=lambda s: [p.key for p in s])
    return None


def attack(scenario: str, hooks: Mapping[str, Any], *, messages: int = 3,
           config: Mapping[str, Any] | None = None,
           kinds: Iterable[str] = tuple(KINDS), max_faults: int = 1,
           max_schedules: int = 40) -> Attack | None:
    """The minimal schedule of up to ``max_faults`` faults of ``kinds`` under which
    ``scenario`` with ``hooks`` shows a not-allowed anomaly or the hook raises, or None when
    none of the first ``max_schedules`` schedules (clean run first) does.

    The failing run is replayed with tracing on (``Attack.result``) for a timeline. Raises
    :class:`~eoslib.errors.ConfigException` for bad input."""
    ks = _check(scenario, kinds, max_faults, 1, messages)
    _bound(max_schedules)
    cfg = dict(config or {})

    def runner(hk: Mapping[str, Any]) -> Once:
        return lambda sch, tracing: _guarded(lambda: run_scenario(
            scenario, seed=0, messages=messages, config=cfg, faults=quiet(scenario, sch),
            hooks=dict(hk), tracing=tracing))

    found = _search(runner(hooks), runner({}), ks, max_faults, max_schedules)
    if found is None:
        return None
    sch, kind, bad, error, done, skipped = found
    shown, _ = runner(hooks)(sch, True)
    ex = Exploration(scenario, messages, cfg, tuple(k for k in KINDS if k in ks), max_faults)
    kw = {"name": scenario, "seed": 0, "messages": messages, "config": cfg,
          "faults": quiet(scenario, sch)}
    return Attack(scenario, kind, sch, [p.words() for p in sch], ex.replay(sch), kw, shown,
                  error, done, skipped, bad)


def attack_with(run: Callable[[dict[str, Any]], Result], *,
                reference: Callable[[dict[str, Any]], Result] | None = None,
                kinds: Iterable[str] = ("request", "response", "coordinator", "leader"),
                max_faults: int = 1, max_schedules: int = 40,
                name: str = "custom") -> Attack | None:
    """:func:`attack` for a run the caller builds itself (e.g. the exercise harness's
    transactional loop): ``run(faults)`` gets the fault-plan fields of one schedule
    (``drop``, ``kill``, ``crash_step``...; pass them to ``Simulation(seed, faults=...)``)
    and returns its :class:`~eoslib.result.Result`, whose ``requests`` must hold the
    simulation's ``sim.injector.counts`` (the fault points). ``reference(faults)``, if
    given, is the same run with Kafka's own pieces: its anomalies are not held against the
    answer. ``crash`` points need the course's Pipeline; leave them out otherwise."""
    ks = frozenset(kinds)
    for k in ks:
        if k not in KINDS:
            raise ConfigException("kinds", k, f"Expected any of {', '.join(KINDS)}")
    if isinstance(max_faults, bool) or not isinstance(max_faults, int) \
            or not 0 <= max_faults <= MAX_K:
        raise ConfigException("max_faults", max_faults, f"Expected 0 to {MAX_K}")
    _bound(max_schedules)

    def once_of(fn: Callable[[dict[str, Any]], Result]) -> Once:
        return lambda sch, tracing: _guarded(lambda: fn(plan_of(sch)))

    found = _search(once_of(run), once_of(reference) if reference else None, ks, max_faults,
                    max_schedules)
    if found is None:
        return None
    sch, kind, bad, error, done, skipped = found
    shown, _ = once_of(run)(sch, True)
    return Attack(name, kind, sch, [p.words() for p in sch], [], {"faults": plan_of(sch)},
                  shown, error, done, skipped, bad)
