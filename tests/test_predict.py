"""The predict-then-reveal widget: a click or a typed answer is recorded, the reveal answers it
with the mechanism (per wrong answer), and a guess made after the reveal is answered at once."""

from __future__ import annotations

import pytest

from eoslib.lessons.predict import NO_GUESS, RUN_SAYS, Prediction, same


def _button(p: Prediction, label: str):
    return next(b for b in p.buttons if b.description == label)


def test_a_click_records_the_guess_and_says_so() -> None:
    p = Prediction("Does the commit succeed?", ["yes", "no"])
    _button(p, "no").click()
    assert p.guess == "no"
    assert "Recorded: <b>no</b>" in p.feedback.value
    assert _button(p, "no").button_style == "info" and _button(p, "yes").button_style == ""


def test_a_typed_answer_is_recorded_from_the_text_box() -> None:
    p = Prediction("How many duplicates?", ["0", "about 5"])
    assert p.text.description == "or type:"
    p.text.value = "103"  # what typing then Enter does (continuous_update=False)
    assert p.guess == "103"
    bare = Prediction("How many?")
    assert bare.buttons == [] and bare.text.description == "your guess:"
    bare.text.value = "  7 "
    assert bare.guess == "7"


def test_a_wrong_guess_is_answered_with_its_own_explanation(capsys) -> None:
    p = Prediction("How many records does the topic hold?", ["3", "6", "9"])
    _button(p, "3").click()
    p.reveal(6, why={"3": "The retry is new data to the broker.", "9": "Only one ack was lost."})
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{RUN_SAYS}6."
    assert "You predicted 3: not what happened." in out
    assert "The retry is new data to the broker." in out and "Only one ack" not in out
    assert "more than you guessed" in out
    assert _button(p, "3").button_style == "danger" and _button(p, "3").icon == "times"
    assert _button(p, "6").button_style == "success" and _button(p, "6").icon == "check"
    assert "not what happened" in p.feedback.value and "new data" in p.feedback.value


def test_a_right_guess_and_a_label_answer(capsys) -> None:
    p = Prediction("How many duplicates?", ["0", "about 5", "more than 5"])
    p.record("more than 5")
    p.reveal(103, answer="more than 5", why={"0": "a", "about 5": "b"})
    out = capsys.readouterr().out
    assert out.startswith(f"{RUN_SAYS}103 (answer: more than 5).\n")
    assert "You predicted more than 5: right." in out
    assert p.right() is True


def test_a_guess_after_the_reveal_is_answered_in_the_widget(capsys) -> None:
    """Run All reveals before the learner guessed: the click is answered where it is made."""
    p = Prediction("Where does the restarted consumer start?", ["0", "20", "30"])
    p.reveal(20, why={"0": "It resumes at the committed offset, not at the start.",
                      "30": "The dead consumer's position went with it."})
    out = capsys.readouterr().out
    assert out == f"{RUN_SAYS}20.{NO_GUESS}\n"
    _button(p, "30").click()
    assert "&#10007; not what happened" in p.feedback.value
    assert "position went with it" in p.feedback.value
    p.text.value = "20"
    assert "&#10003; right" in p.feedback.value


def test_every_wrong_choice_needs_an_explanation() -> None:
    p = Prediction("Which?", ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"no explanation for the wrong answer\(s\) \['c'\]"):
        p.reveal("a", why={"b": "because"})
    with pytest.raises(ValueError, match="expected one of the choices"):
        p.reveal("d", why="x")
    p.reveal("a", why="one text for every wrong answer")  # a single text is enough
    p.record("b")
    assert "one text for every wrong answer" in p.verdict()


def test_typed_answers_use_the_catch_all_explanation() -> None:
    p = Prediction("How many retries?")
    p.record("3")
    p.reveal(7, why={"*": "Each timeout re-sends every request in flight."})
    assert "fewer" not in p.verdict() and "more than you guessed" in p.verdict()
    assert "re-sends every request" in p.verdict()


def test_numbers_compare_as_numbers_and_words_loosely() -> None:
    assert same("10", 10) and same(" 1,000 ", 1000.0) and same("Read  Committed", "read committed")
    assert not same("10", 11) and not same(True, 1)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="question"):
        Prediction("")
    with pytest.raises(ValueError, match="choices must differ"):
        Prediction("Which?", ["a", "A"])
    with pytest.raises(ValueError, match="guess"):
        Prediction("Which?").record("  ")


def test_the_static_output_shows_the_question_and_choices() -> None:
    p = Prediction("Is it deleted?", ["yes", "no"])
    bundle = p._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Predict: Is it deleted? Choices: yes | no.")
    assert "Is it deleted?" in bundle["text/html"]


def test_backticked_names_show_as_code_and_markup_is_escaped() -> None:
    """A question's `names` read as code in the widget and the static output (as in the
    prose), and anything else that looks like markup is shown, not interpreted."""
    p = Prediction("Does `acks=all` <b>help</b>?", ["yes", "no"])
    html_out = p._repr_mimebundle_()["text/html"]
    assert "<code>acks=all</code>" in html_out and "`" not in html_out
    assert "&lt;b&gt;help&lt;/b&gt;" in html_out
    assert "<code>acks=all</code>" in p.widget.children[0].value
