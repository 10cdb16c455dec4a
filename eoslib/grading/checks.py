"""Ready-made grading functions for common questions.

Each factory returns ``grade(answer) -> Verdict`` for :class:`~eoslib.grading.Question`.
Failure reasons describe what is wrong with the *answer* and never state the expected value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from .questions import Verdict

Grader = Callable[[Any], Verdict]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def approx(expected: float, *, rel: float = 0.0, abs: float = 0.0) -> Grader:  # noqa: A002
    """A number within ``abs`` or ``rel * |expected|`` of ``expected`` (bools rejected)."""

    def grade(answer: Any) -> Verdict:
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return Verdict.fail(f"expected a number, got {type(answer).__name__}")
        if math.isnan(answer):
            return Verdict.fail("the answer is NaN")
        if math.isclose(answer, expected, rel_tol=rel, abs_tol=abs):
            return Verdict.ok()
        return Verdict.fail(f"{_short(answer)} is not the value this run produces")

    return grade


def in_range(low: float, high: float) -> Grader:
    """A number in the closed interval ``[low, high]``."""

    def grade(answer: Any) -> Verdict:
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return Verdict.fail(f"expected a number, got {type(answer).__name__}")
        if low <= answer <= high:
            return Verdict.ok()
        return Verdict.fail(f"{_short(answer)} is outside the plausible range")

    return grade


def equals(expected: Any, *, normalize: Callable[[Any], Any] | None = None) -> Grader:
    """Equality after an optional ``normalize`` (e.g. ``str.lower``) applied to both sides."""

    def grade(answer: Any) -> Verdict:
        left, right = answer, expected
        if normalize is not None:
            left, right = normalize(answer), normalize(expected)
        if type(left) is not type(right) and not (
            isinstance(left, int | float) and isinstance(right, int | float)
        ):
            return Verdict.fail(
                f"expected a {type(right).__name__}, got {type(left).__name__} {_short(answer)}"
            )
        return Verdict.ok() if left == right else Verdict.fail(f"{_short(answer)} is not right")

    return grade


def one_of(options: Iterable[Any], *, normalize: Callable[[Any], Any] | None = None) -> Grader:
    """The answer (optionally normalized) is any of ``options``."""
    accepted = list(options)

    def grade(answer: Any) -> Verdict:
        norm = normalize or (lambda value: value)
        try:
            value = norm(answer)
        except Exception as exc:  # noqa: BLE001 - a malformed answer is a wrong answer
            return Verdict.fail(f"could not read the answer ({type(exc).__name__})")
        if any(value == norm(option) for option in accepted):
            return Verdict.ok()
        return Verdict.fail(f"{_short(answer)} is not right")

    return grade


def config_matches(required: dict[str, Any]) -> Grader:
    """A mapping that contains every key of ``required`` with an equal value.

    Partial credit: the fraction of required settings that are right. The reason names the
    keys that are missing or wrong, not their expected values.
    """

    def grade(answer: Any) -> Verdict:
        if not isinstance(answer, dict):
            return Verdict.fail(f"expected a dict of settings, got {type(answer).__name__}")
        wrong = [key for key, value in required.items() if answer.get(key) != value]
        if not wrong:
            return Verdict.ok()
        fraction = 1 - len(wrong) / len(required)
        return Verdict.partial(fraction, "check these settings: " + ", ".join(sorted(wrong)))

    return grade
