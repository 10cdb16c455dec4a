"""Helpers shared by the exercise modules: measured answers, config runs, failure reports.

Every grader here is deterministic: it runs eoslib with fixed seeds and fixed fault
schedules, in a fixed order (smallest schedule first), and stops at the first failure, so the
failure it names is the smallest schedule of its list that breaks the answer. Reasons name
the schedule, quote the checker's report and show a short excerpt of the run's trace; they
never state an expected number or any solution code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eoslib.errors import ConfigException, KafkaException
from eoslib.faults import CRASH_STEPS
from eoslib.grading.checks import approx
from eoslib.grading.questions import Verdict
from eoslib.result import Result, TraceEvent
from eoslib.scenarios import run_scenario

#: The last failing run of each question (``failed_run`` returns it).
_FAILED: dict[str, Result] = {}
#: Flags that mark an anomaly in a trace (what the excerpt centres on).
ANOMALY_FLAGS = ("duplicate", "aborted", "lost")
EXCERPT_LINES = 8
__all__ = ["CRASH_STEPS", "Run", "failed_run", "failure", "measured", "remember"]


def failed_run(question_id: str) -> Result | None:
    """The run that made the last ``check(question_id, ...)`` fail, or None."""
    return _FAILED.get(question_id)


def remember(question_id: str, result: Result | None) -> None:
    """Keep ``result`` as the failing run of ``question_id`` (None forgets it)."""
    if result is None:
        _FAILED.pop(question_id, None)
    else:
        _FAILED[question_id] = result


def excerpt(trace: list[TraceEvent], limit: int = EXCERPT_LINES) -> str:
    """A few flagged trace events around the first duplicate/aborted/lost one, as text."""
    flagged = [ev for ev in trace if ev.get("flag")]
    if not flagged:
        return ""
    first = next((k for k, ev in enumerate(flagged) if ev["flag"] in ANOMALY_FLAGS), 0)
    start = max(0, first - 3)
    lines = [
        f"  #{ev['i']:<5} t={ev['t']:>8.1f} ms  {ev['lane']:<20} {ev['kind']:<8} "
        f"{str(ev['label'])[:48]}  [{ev['flag']}]"
        for ev in flagged[start : start + limit]
    ]
    more = len(flagged) - start - limit
    if more > 0:
        lines.append(f"  ... {more} more flagged event(s)")
    return "Trace excerpt (flagged events):\n" + "\n".join(lines)


def failure(question_id: str, schedule: str, problem: str, result: Result | None) -> Verdict:
    """A failed Verdict naming the schedule, the checker's report and a trace excerpt."""
    remember(question_id, result)
    parts = [f"fails on {schedule}: {problem}"]
    if result is not None:
        parts.append(f"Checker: {result.report}")
        text = excerpt(result.trace)
        if text:
            parts.append(text)
        parts.append(
            "See the whole run: from eoslib.exercises import failed_run; from "
            f'eoslib.viz.timeline import timeline; timeline(failed_run("{question_id}"))'
        )
    return Verdict.fail("\n".join(parts))


# --------------------------------------------------------------------------- measure
def measured(compute: Callable[[], float], *, rel: float = 0.0, abs: float = 0.0) -> Callable:  # noqa: A002
    """A measure grader: the expected number is computed (by running eoslib) when first
    needed, then kept (the runs are seeded: the same number every time).

    ``grade.reference()`` computes it; the grader's warm interpreter calls it once before it
    forks any judge (:func:`eoslib.grading.judge.prepare`), so no submission pays for it.
    """
    expected: list[float] = []

    def reference() -> float:
        if not expected:
            expected.append(compute())
        return expected[0]

    def grade(answer: Any) -> Verdict:
        return approx(reference(), rel=rel, abs=abs)(answer)

    grade.reference = reference  # type: ignore[attr-defined]
    return grade


def quiet_run(scenario: str, **kwargs: Any) -> Result:
    """``run_scenario(..., tracing=False)``: for a grader that reads the report, the history
    and counts other than ``retries`` (counted from the trace) but no trace; re-run it with
    :func:`traced` to show a failure (the same seeded run, so the same anomalies)."""
    return run_scenario(scenario, tracing=False, **kwargs)


def traced(scenario: str, fallback: Result, **kwargs: Any) -> Result:
    """The run of :func:`quiet_run` again, traced (for a failure's excerpt and timeline);
    ``fallback`` (the untraced run) if the replay raises (a learner's hook may)."""
    try:
        return run_scenario(scenario, tracing=True, **kwargs)
    except Exception:  # noqa: BLE001 - the verdict is already decided; keep its run
        return fallback


def count_of(scenario: str, key: str, **kwargs: Any) -> Callable[[], float]:
    """``run_scenario(scenario, **kwargs).counts[key]``, computed when called."""

    def compute() -> float:
        return run_scenario(scenario, **kwargs).counts[key]

    return compute


# --------------------------------------------------------------------------- configure
@dataclass(frozen=True)
class Run:
    """One scenario run of a schedule list: seed, message count, fault overrides."""

    seed: int
    messages: int
    faults: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, scenario: str) -> str:
        """``scenario 'x' with seed=1, messages=10, faults {...}``."""
        text = f"scenario {scenario!r} with seed={self.seed}, messages={self.messages}"
        if self.faults:
            text += ", faults " + ", ".join(f"{k}={v!r}" for k, v in self.faults.items())
        if self.config:
            text += ", config " + ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return text


def run_size(run: Run) -> tuple[Any, ...]:
    """Sort key: fewest messages, then fewest/lowest faults, then lowest seed."""
    fault_level = sum(float(v) for v in run.faults.values()
                      if isinstance(v, int | float) and not isinstance(v, bool))
    return (run.messages, fault_level, run.seed)


def ordered(runs: Iterable[Run]) -> list[Run]:
    """Smallest first (see :func:`run_size`)."""
    return sorted(runs, key=run_size)


Requirement = Callable[[Result], str | None]


def no_anomaly(result: Result) -> str | None:
    """The checker's report is ok."""
    return None if result.report.ok else "the checker found anomalies"


def config_grader(
    question_id: str,
    scenario: str,
    runs: Iterable[Run],
    *,
    base: Mapping[str, Any] | None = None,
    require: Requirement = no_anomaly,
) -> Callable[[Any], Verdict]:
    """A configure grader: ``{**base, **answer}`` must satisfy ``require`` on every run
    (runs untraced: ``require`` reads the report, history and counts, not the trace)."""
    schedule = ordered(runs)

    def grade(answer: Any) -> Verdict:
        if not isinstance(answer, dict):
            return Verdict.fail(f"expected a dict of settings, got {type(answer).__name__}")
        for run in schedule:
            config = {**(base or {}), **run.config, **answer}
            kwargs = {"seed": run.seed, "messages": run.messages, "config": config,
                      "faults": dict(run.faults)}
            try:
                result = quiet_run(scenario, **kwargs)
            except (ConfigException, KafkaException) as exc:
                return Verdict.fail(f"the scenario rejects this configuration: {exc}")
            problem = require(result)
            if problem:
                return failure(question_id, run.describe(scenario), problem,
                               traced(scenario, result, **kwargs))
        remember(question_id, None)
        return Verdict.ok(f"no anomaly in {len(schedule)} runs")

    return grade


def explained_setting(accepted: Iterable[str], *, min_words: int = 5) -> Callable[[Any], Verdict]:
    """``{setting: explanation}``: the setting must be one of ``accepted`` (case-insensitive)
    and the explanation a sentence of at least ``min_words`` words."""
    names = {name.lower() for name in accepted}

    def grade(answer: Any) -> Verdict:
        if not isinstance(answer, dict) or len(answer) != 1:
            return Verdict.fail("expected a dict with exactly one {setting: explanation} entry")
        (setting, why), = answer.items()
        if not isinstance(setting, str) or setting.strip().lower() not in names:
            return Verdict.fail(f"{setting!r} is not the setting that does this")
        if not isinstance(why, str) or len(why.split()) < min_words:
            return Verdict.fail(f"explain in a sentence (at least {min_words} words) why")
        return Verdict.ok()

    return grade


def missing_and_extra(expected: list[str], got: list[str]) -> str | None:
    """Compare the values a run delivered with the inputs: lost ones, extra copies."""
    seen: dict[str, int] = {}
    for value in got:
        seen[value] = seen.get(value, 0) + 1
    lost = [v for v in expected if v not in seen]
    twice = [v for v in expected if seen.get(v, 0) > 1]
    problems = []
    if lost:
        problems.append(f"{len(lost)} input message(s) never reached the output "
                        f"(first: {', '.join(lost[:5])})")
    if twice:
        problems.append(f"{len(twice)} message(s) appear more than once "
                        f"(first: {', '.join(twice[:5])})")
    return "; ".join(problems) or None


def raised(where: str, exc: BaseException, what: str = "your function") -> Verdict:
    """The verdict when the learner's function raised: "not answered yet" for the stub."""
    if isinstance(exc, NotImplementedError):
        return Verdict.fail("not answered yet (the function still raises NotImplementedError)")
    return Verdict.fail(f"fails on {where}: {what} raised {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- explorer attack
def explorer_attacked(
    grade: Callable[[Any], Verdict],
    question_id: str,
    scenario: str,
    hook: str,
    *,
    config: Mapping[str, Any] | None = None,
    kinds: Iterable[str] | None = None,
    max_schedules: int = 40,
) -> Callable[[Any], Verdict]:
    """An implement grader that, once ``grade`` passes, also attacks the answer.

    The learner's function is plugged into ``scenario`` as ``hooks={hook: answer}`` and the
    explorer (:func:`eoslib.explore.attack.attack`) tries the clean run and then every
    placement of one fault, at most ``max_schedules`` runs of 3 messages (well under a
    second), in a fixed order. A schedule that breaks the answer, but not Kafka's own piece,
    fails the question with the minimal counterexample in words (never the solution).
    """
    from eoslib.explore.attack import attack

    def attacked(answer: Any) -> Verdict:
        verdict = grade(answer)
        if not verdict.passed or not callable(answer):
            return verdict
        options: dict[str, Any] = {"config": dict(config or {}), "max_schedules": max_schedules}
        if kinds is not None:
            options["kinds"] = tuple(kinds)
        found = attack(scenario, {hook: answer}, messages=3, max_faults=1, **options)
        if found is None:
            return verdict
        remember(question_id, found.result)
        return Verdict.fail(
            f"right on the fixed runs, but the explorer found a schedule that breaks it "
            f"in scenario {scenario!r}: {found.words()}"
        )

    return attacked
