"""A number the prose quotes from a printed output must be the number printed.

In the course's markdown, a number read off an output is written ``<output>203</output>``
(HTML's element for "the result of a calculation": it renders as plain text on GitHub and in
JupyterLab). For every such element in every notebook of notebooks/ and solutions/, the text
inside must appear as a whole token in the text outputs (stream, text/plain, text/markdown) of
some code cell ABOVE that markdown cell. Re-executing a notebook that changes a quoted number
therefore fails here until the prose is fixed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*REPO.glob("notebooks/*.ipynb"), *REPO.glob("solutions/*.ipynb")])
QUOTE = re.compile(r"<output>(.*?)</output>", re.S)


def _text(out: dict) -> str:
    if out.get("output_type") == "stream":
        return "".join(out.get("text", ""))
    data = out.get("data", {})
    return "".join("".join(data.get(k, "")) for k in ("text/plain", "text/markdown"))


def quotes(path: Path) -> list[tuple[int, str, bool]]:
    """(cell index, quoted text, found above?) for every <output> of a notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    seen = ""
    found = []
    for k, cell in enumerate(cells):
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for q in QUOTE.findall(src):
                q = q.strip()
                hit = re.search(rf"(?<![\w.]){re.escape(q)}(?![\w]|\.\d)", seen) is not None
                found.append((k, q, hit))
        elif cell["cell_type"] == "code":
            seen += "\n".join(_text(o) for o in cell.get("outputs", [])) + "\n"
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_quoted_numbers_are_printed_above(path: Path) -> None:
    missing = [(k, q) for k, q, hit in quotes(path) if not hit]
    assert not missing, (f"{path.name}: the prose quotes numbers no output above shows "
                         f"(cell index, text): {missing}")


def test_the_rule_catches_a_wrong_number(tmp_path: Path) -> None:
    nb = {"cells": [
        {"cell_type": "code", "source": ["print(1)"], "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["retries 17, duplicates 203\n"]}]},
        {"cell_type": "markdown", "source": ["<output>203</output> duplicates, "
                                             "<output>17</output> retries, <output>7</output>"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "x.ipynb"
    p.write_text(json.dumps(nb))
    assert [(q, hit) for _, q, hit in quotes(p)] == [("203", True), ("17", True), ("7", False)]


def test_the_course_quotes_numbers() -> None:
    assert sum(len(quotes(p)) for p in NOTEBOOKS) >= 20
