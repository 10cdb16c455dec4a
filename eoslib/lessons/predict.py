"""Predict, then reveal: a learner's guess recorded before a run, and answered after it."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
from IPython.display import display

__all__ = ["Prediction", "predict"]

#: The first line :meth:`Prediction.reveal` prints starts with this (tests read it).
RUN_SAYS = "The run says: "
#: What follows it when no guess was recorded (the widget answers a later click itself).
NO_GUESS = " (No prediction recorded: pick or type one above, then run this cell again.)"
#: Key of ``why`` that answers any wrong guess not listed (typed answers).
ANY_OTHER = "*"


def _norm(value: Any) -> str:
    return " ".join(str(value).strip().lower().split())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        return None


def same(guess: Any, answer: Any) -> bool:
    """A guess matches an answer: as numbers when both are numbers, else as words
    (case and spacing ignored)."""
    g, a = _number(guess), _number(answer)
    if g is not None and a is not None:
        return g == a
    return _norm(guess) == _norm(answer)



def _html(text: str) -> str:
    """``text`` as HTML: escaped, with `backticked` names set as code (as the prose does)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))

class Prediction:
    """A question with a place for the learner's guess, recorded before the run.

    ``choices`` gives one button per choice and a text box to type another answer; without
    choices there is only the text box (type, then Enter). Display the object in the cell
    *before* the experiment; after the run, call :meth:`reveal` with the value the run
    produced and, for each wrong answer, why it is wrong (``why``). The guess stays in
    :attr:`guess` (None until one is picked or typed). A guess made after :meth:`reveal` (the
    notebook was run with Run All) is answered at once under the question.
    """

    def __init__(self, question: str, choices: Sequence[Any] | None = None) -> None:
        if not question or not str(question).strip():
            raise ValueError("Prediction needs a question, got an empty string")
        self.question = str(question)
        self.choices = tuple(str(c) for c in choices) if choices else None
        if self.choices is not None and len(set(map(_norm, self.choices))) < len(self.choices):
            raise ValueError(f"choices must differ, got {list(self.choices)}")
        self.guess: str | None = None
        self.actual: Any = None
        self.answer: str | None = None
        self.why: dict[str, str] = {}
        self.buttons: list[widgets.Button] = []
        for choice in self.choices or ():
            button = widgets.Button(description=choice, tooltip=f"predict: {choice}",
                                    layout=widgets.Layout(width="auto"))
            button.on_click(lambda _b, c=choice: self._set(c))
            self.buttons.append(button)
        self.text = widgets.Text(
            placeholder="type your answer, then press Enter",
            description="or type:" if self.choices else "your guess:",
            continuous_update=False, layout=widgets.Layout(width="24em"),
            style={"description_width": "initial"})
        self.text.observe(lambda change: self._set(change["new"]), names="value")
        self.feedback = widgets.HTML("<i>No prediction yet.</i>")
        rows: list[widgets.Widget] = [widgets.HTML(f"<b>Predict:</b> {_html(self.question)}")]
        if self.buttons:
            rows.append(widgets.HBox(self.buttons, layout=widgets.Layout(flex_flow="row wrap")))
        rows += [self.text, self.feedback]
        self.widget = widgets.VBox(rows)

    # ------------------------------------------------------------------ the guess
    def _set(self, value: Any) -> None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return
        self.guess = text
        self._redraw()

    def record(self, guess: Any) -> None:
        """Record ``guess`` without the widget (what a click or a typed answer does)."""
        text = str(guess).strip()
        if not text:
            raise ValueError(f"Invalid value {guess!r} for guess: give a non-empty answer")
        self._set(text)

    @property
    def revealed(self) -> bool:
        """True once :meth:`reveal` has been called."""
        return self.answer is not None

    def right(self) -> bool | None:
        """Whether the recorded guess matches the answer (None before a guess or a reveal)."""
        if self.guess is None or not self.revealed:
            return None
        return same(self.guess, self.answer)

    # ------------------------------------------------------------------ the answer
    def _explain(self) -> str:
        guess = self.guess or ""
        for key, text in self.why.items():
            if key != ANY_OTHER and same(guess, key):
                return text
        return self.why.get(ANY_OTHER, "")

    def _direction(self) -> str:
        g, a = _number(self.guess), _number(self.actual)
        if g is None or a is None or self.choices and _number(self.answer) is None:
            return ""
        return " The run shows more than you guessed." if a > g else (
            " The run shows fewer than you guessed.")

    def verdict(self) -> str:
        """The answer in words: what the run says, then how the guess compares and why."""
        if not self.revealed:
            return "Not revealed yet: run the experiment's cell."
        says = f"{RUN_SAYS}{self.actual}"
        if not same(self.actual, self.answer):
            says += f" (answer: {self.answer})"
        says += "."
        if self.guess is None:
            return says + NO_GUESS
        if self.right():
            return says + f"\nYou predicted {self.guess}: right."
        why = self._explain()
        return (says + f"\nYou predicted {self.guess}: not what happened."
                + self._direction() + (f" {why}" if why else ""))

    def reveal(self, actual: Any, *, answer: Any = None,
               why: Mapping[str, str] | str | None = None) -> None:
        """Print what the run says and answer the recorded guess (returns nothing).

        ``actual`` is the value the run produced; ``answer`` the right choice when the choices
        are not values (``"more than 5"``), else ``actual``. ``why`` explains a wrong guess:
        one text for any wrong guess, or ``{choice: text}`` with a text for **every** wrong
        choice (ValueError names a missing one) and optionally ``"*"`` for typed answers.
        Without ``why`` a wrong guess is only told what happened.
        """
        label = str(actual if answer is None else answer)
        if self.choices and not any(same(label, c) for c in self.choices):
            raise ValueError(f"Invalid value {label!r} for answer: expected one of the "
                             f"choices {list(self.choices)} (pass answer=...)")
        if isinstance(why, str):
            explanations = {ANY_OTHER: why}
        else:
            explanations = {str(k): str(v) for k, v in (why or {}).items()}
        if self.choices and isinstance(why, Mapping):
            missing = [c for c in self.choices if not same(c, label)
                       and not any(same(c, k) for k in explanations)]
            if missing:
                raise ValueError(f"Invalid value for why: no explanation for the wrong "
                                 f"answer(s) {missing}; give one per wrong choice")
        self.actual, self.answer, self.why = actual, label, explanations
        self._redraw()
        print(self.verdict())

    # ------------------------------------------------------------------ the widget
    def _redraw(self) -> None:
        for button in self.buttons:
            picked = self.guess is not None and same(button.description, self.guess)
            correct = self.revealed and same(button.description, self.answer)
            button.button_style = ("success" if correct else
                                   "danger" if picked and self.revealed else
                                   "info" if picked else "")
            button.icon = ("check" if correct else "times" if picked and self.revealed
                           else "hand-o-right" if picked else "")
        if self.guess is None:
            self.feedback.value = "<i>No prediction yet.</i>"
        elif not self.revealed:
            self.feedback.value = (f"Recorded: <b>{html.escape(self.guess)}</b>. "
                                   "Now run the experiment below.")
        else:
            mark = "&#10003; right" if self.right() else "&#10007; not what happened"
            lines = html.escape(self.verdict()).replace("\n", "<br>")
            self.feedback.value = f"<b>{mark}</b><br>{lines}"

    def _text(self) -> str:
        options = f" Choices: {' | '.join(self.choices)}." if self.choices else ""
        return f"Predict: {self.question}{options} (Run this cell to answer with a click.)"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = dict(self.widget._repr_mimebundle_() or {})
        data["text/plain"] = self._text()
        data["text/html"] = f"<p><b>Predict:</b> {_html(self._text()[9:])}</p>"
        return data

    def _ipython_display_(self) -> None:
        display(self._repr_mimebundle_(), raw=True)

    def __repr__(self) -> str:
        return f"Prediction({self.question!r}, guess={self.guess!r})"


def predict(question: str, choices: Sequence[Any] | None = None) -> Prediction:
    """A :class:`Prediction` to display before an experiment."""
    return Prediction(question, choices)
