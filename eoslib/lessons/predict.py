"""Predict, then reveal: keep a learner's guess and compare it with what the run shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
from IPython.display import display

__all__ = ["Prediction", "predict"]


def _norm(value: Any) -> str:
    return str(value).strip().lower()


class Prediction:
    """A question with a place for the learner's guess, recorded before the run.

    ``choices`` gives buttons; without them the learner types a free answer. Display the
    object in the cell *before* the experiment, then call :meth:`reveal` with the value the
    run produced. The guess stays in :attr:`guess` (None until one is picked or typed).
    """

    def __init__(self, question: str, choices: Sequence[Any] | None = None) -> None:
        if not question:
            raise ValueError("Prediction needs a question, got an empty string")
        self.question = question
        self.choices = tuple(str(c) for c in choices) if choices else None
        self.guess: str | None = None
        if self.choices:
            self.input = widgets.ToggleButtons(options=self.choices, value=None,
                                               description="your guess")
        else:
            self.input = widgets.Text(placeholder="your guess", description="your guess")
        self.input.observe(self._changed, names="value")
        self.widget = widgets.VBox([widgets.HTML(f"<b>Predict:</b> {question}"), self.input])

    def _changed(self, change: dict[str, Any]) -> None:
        self.guess = change["new"] or None

    def record(self, guess: Any) -> None:
        """Record ``guess`` without the widget (for scripts and tests)."""
        if self.choices and str(guess) not in self.choices:
            raise ValueError(f"guess {guess!r} is not one of the choices {list(self.choices)}")
        self.guess = str(guess)

    def verdict(self, actual: Any) -> str:
        """One line comparing the recorded guess with ``actual``."""
        if self.guess is None:
            return (f"The run says: {actual}. (No prediction recorded: pick or type one "
                    "above, then run this cell again.)")
        mark = "right" if _norm(self.guess) == _norm(actual) else "not what happened"
        return f"You predicted: {self.guess}. The run says: {actual}. Your prediction: {mark}."

    def reveal(self, actual: Any) -> None:
        """Print :meth:`verdict` (returns nothing, so a cell ending with it prints once)."""
        print(self.verdict(actual))

    def _ipython_display_(self) -> None:
        display(self.widget)

    def __repr__(self) -> str:
        return f"Prediction({self.question!r}, guess={self.guess!r})"


def predict(question: str, choices: Sequence[Any] | None = None) -> Prediction:
    """A :class:`Prediction` to display before an experiment."""
    return Prediction(question, choices)
