"""The prediction widget in a real JupyterLab and Chromium: a click and a typed answer are
answered under the question, with the explanation of the wrong answer.

A small notebook asks, then reveals (as a course notebook does under Run All, so the guess
comes after the reveal); the test clicks a wrong choice, reads the feedback (a cross, "not
what happened" and that choice's explanation, the button marked), then types the right
answer in the text box and presses Enter (a check, "right"). Reuses the JupyterLab server and
Chromium fixtures of ``tests/test_browser.py``; the screenshot goes to
``test-artifacts/browser-predict.png``.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from test_browser import ARTIFACTS, RUN_ALL, WAIT_FOR_KERNEL, chrome, lab  # noqa: F401

pytestmark = pytest.mark.browser

CELLS = [
    "from eoslib.lessons.predict import predict",
    "# NBVAL_IGNORE_OUTPUT\n"
    "guess = predict('How many records does the topic hold?', ['3', '6', '9'])\nguess",
    "guess.reveal(6, why={'3': 'EXPLAIN-3: the retry is new data to the broker.',\n"
    "                     '9': 'EXPLAIN-9: only one answer was lost.'})",
]


def test_a_guess_is_answered_under_the_question(lab, chrome):  # noqa: F811 (fixtures)
    base, _, _, root = lab
    path = "notebooks/predict-browser.ipynb"
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root / path)
    page = chrome.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_default_timeout(120_000)
        page.goto(f"{base}/lab/tree/{path}")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        page.evaluate(WAIT_FOR_KERNEL, path)
        page.evaluate(RUN_ALL)
        page.get_by_text("The run says: 6.").first.wait_for()  # the reveal ran first

        wrong = page.locator("button.widget-button", has_text="3").first
        wrong.click()
        feedback = page.locator(".widget-html", has_text="not what happened").first
        feedback.wait_for()
        text = feedback.inner_text()
        assert "✗" in text and "You predicted 3" in text and "EXPLAIN-3" in text, text
        assert "EXPLAIN-9" not in text
        assert "mod-danger" in (wrong.get_attribute("class") or "")
        right = page.locator("button.widget-button", has_text="6").first
        assert "mod-success" in (right.get_attribute("class") or "")

        box = page.get_by_placeholder("type your answer, then press Enter").first
        box.fill("6")
        box.press("Enter")
        page.locator(".widget-html", has_text="You predicted 6: right").first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-predict.png"))
    finally:
        page.close()
