"""The predict-then-reveal helper keeps the guess and compares it with the run's value."""

from __future__ import annotations

import pytest

from eoslib.lessons.predict import Prediction


def test_guess_from_the_widget_is_kept_and_compared() -> None:
    p = Prediction("Does the commit succeed?", ["yes", "no"])
    p.input.value = "no"  # what a click does
    assert p.guess == "no"
    assert "Your prediction: right" in p.verdict("NO")
    assert "not what happened" in p.verdict("yes")


def test_no_guess_says_so_and_shows_the_run() -> None:
    p = Prediction("How many?")
    assert p.verdict(3).startswith("The run says: 3. (No prediction recorded")


def test_record_rejects_a_guess_outside_the_choices() -> None:
    p = Prediction("Which?", ["a", "b"])
    with pytest.raises(ValueError, match="not one of the choices"):
        p.record("c")
    p.record("b")
    assert "right" in p.verdict("b")


def test_empty_question_is_an_error() -> None:
    with pytest.raises(ValueError, match="question"):
        Prediction("")
