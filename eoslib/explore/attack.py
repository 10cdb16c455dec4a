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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eoslib.errors import ConfigException, KafkaException
from eoslib.explore.engine import Exploration, _check, quiet
from eoslib.explore.points import KINDS, Point, points_of
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


def _once(scenario: str, messages: int, config: dict[str, Any], hooks: Mapping[str, Any],
          schedule: Schedule, tracing: bool) -> tuple[Result | None, str | None]:
    try:
        return run_scenario(scenario, seed=0, messages=messages, config=config,
                            faults=quiet(scenario, schedule), hooks=dict(hooks),
                            tracing=tracing), None
    except KafkaException:
        return None, None  # the application stopped on a client error: not the piece's fault
    except ConfigException:
        raise
    except Exception as exc:  # noqa: BLE001 - the learner's function failed
        return None, f"{type(exc).__name__}: {exc}"


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
    if isinstance(max_schedules, bool) or not isinstance(max_schedules, int) \
            or max_schedules < 1:
        raise ConfigException("max_schedules", max_schedules, "Expected a whole number >= 1")
    cfg = dict(config or {})
    ex = Exploration(scenario, messages, cfg, tuple(k for k in KINDS if k in ks), max_faults)
    level: list[Schedule] = [()]
    seen: set[frozenset[Point]] = {frozenset()}
    done = skipped = 0
    for depth in range(max_faults + 1):
        nxt: list[Schedule] = []
        for sch in level:
            if done >= max_schedules:
                return None
            done += 1
            r, error = _once(scenario, messages, cfg, hooks, sch, tracing=False)
            bad = {k: r.report.count(k) for k in r.report.failures()} if r else {}
            if bad and not error:
                ref, _ = _once(scenario, messages, cfg, {}, sch, tracing=False)
                if ref is not None and set(ref.report.failures()) >= set(bad):
                    skipped += 1
                    bad = {}
            if error or bad:
                kind = "exception" if error else sorted(bad)[0]
                shown, _ = _once(scenario, messages, cfg, hooks, sch, tracing=True)
                kw = {"name": scenario, "seed": 0, "messages": messages, "config": cfg,
                      "faults": quiet(scenario, sch)}
                return Attack(scenario, kind, sch, [p.words() for p in sch],
                              ex.replay(sch), kw, shown, error, done, skipped, bad)
            if r is None or depth == max_faults:
                continue
            crashes = any(p.kind == "crash" for p in sch)
            for p in points_of(r, ks):
                key = frozenset((*sch, p))
                if p in sch or (p.kind == "crash" and crashes) or key in seen:
                    continue
                seen.add(key)
                nxt.append(tuple(sorted(key)))
        level = sorted(nxt, key=lambda s: [p.key for p in s])
    return None
