"""The instructor's class report (``eoslib grade --report``): content, escaping, and the page in
a real browser (opens, no console error, no network request)."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from eoslib.grading.html_report import class_report, flagged, normalise_reason, write_report
from eoslib.grading.results import NotebookGrade, QuestionGrade

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]  # fmt: skip
SCHEDULE = "schedule [seed=3, messages=12, batch=5, crash after call #2 of commit()]"


def _grade(name: str, scores: list[tuple[str, float, float, str]], **kw: object) -> NotebookGrade:
    questions = [QuestionGrade(qid, s, m, r) for qid, s, m, r in scores]
    return NotebookGrade(f"/class/{name}.ipynb", "ex05", questions, **kw)  # type: ignore[arg-type]


def _class() -> list[NotebookGrade]:
    full = [("ex05.q1", 2.0, 2.0, ""), ("ex05.q2", 4.0, 4.0, "")]
    broken = f"fails on {SCHEDULE}: 3 duplicates Checker: NOT OK"
    return [
        _grade("alice", full),
        _grade("bob", [("ex05.q1", 2.0, 2.0, ""), ("ex05.q2", 0.0, 4.0, broken)]),
        _grade("carol", [("ex05.q1", 1.0, 2.0, "half"), ("ex05.q2", 0.0, 4.0, broken)]),
        _grade(
            "<script>alert(1)<\\script>",
            [
                ("ex05.q1", 0.0, 2.0, "cell raised ValueError: <img src=x onerror=alert(2)>"),
                ("ex05.q2", 0.0, 4.0, "uses eoslib's reference implementation of the loop"),
            ],
        ),  # fmt: skip
        _grade(
            "dave",
            [
                (
                    "ex05.q1",
                    0.0,
                    2.0,
                    "a process it started was still running "
                    "(pid 4242: sleep 1000); the grader killed it",
                ),
                ("ex05.q2", 4.0, 4.0, ""),
            ],  # fmt: skip
            flags=["the original file was modified while the class was graded"],
        ),
        NotebookGrade("/class/junk.ipynb", None, error="not a notebook: invalid JSON"),
    ]


def test_report_sections_counts_and_flags() -> None:
    page = class_report(_class())
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert "6 submissions; 5 graded, 1 could not be graded" in page
    # patterns, total, 2 questions, 6 reasons, 1 schedule
    assert page.count("<svg") == 1 + 1 + 2 + 6 + 1
    assert "ex05.q2</b>: 2 of 5 full marks" in page
    # the schedule that broke two answers, counted once per answer
    assert f"2 answers of ex05.q2: {SCHEDULE}" in page.replace("&#x27;", "'")
    assert "pid N: sleep 1000" in page  # pids normalised in the reasons table
    whats = {(Path(n).name, w) for n, w, _ in flagged(_class())}
    assert whats == {
        ("junk.ipynb", "not graded"),
        ("dave.ipynb", "flag"),
        ("dave.ipynb", "ex05.q1: left a process running"),
        ("<script>alert(1)<\\script>.ipynb", "ex05.q2: borrowed the reference implementation"),
    }


def test_report_escapes_everything_from_submissions() -> None:
    page = class_report(_class())
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;\\script&gt;" in page
    tags: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list) -> None:
            tags.append((tag, attrs))

    Tags().feed(page)
    assert {tag for tag, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "svg",
                                        "defs", "pattern", "rect", "line", "circle", "text", "h1",
                                        "h2", "p", "figure", "figcaption", "b", "table", "tr",
                                        "th", "td"}  # fmt: skip
    assert not [a for _, attrs in tags for a, _ in attrs if a in ("src", "href") or a[:2] == "on"]


def test_normalise_reason() -> None:
    assert normalise_reason("a process (pid 12: sleep) in /tmp/x/y.ipynb") == (
        "a process (pid N: sleep) in PATH"
    )
    assert normalise_reason(f"fails on {SCHEDULE}: lost 2 Checker: long\nmore") == (
        f"fails on {SCHEDULE}: lost 2"
    )


def test_empty_class() -> None:
    page = class_report([])
    assert "0 submissions" in page and "Nothing to look at." in page


def test_grade_cli_rejects_a_bad_memory_limit(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "eoslib.grading.cli", "grade", str(tmp_path), "--memory-gb", "-1"],
        capture_output=True, text=True, cwd=REPO, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip() == "grade: --memory-gb must be a positive number, got -1"


@pytest.mark.browser
def test_report_in_chromium(tmp_path: Path) -> None:
    """Opens in Debian's Chromium: no console error, no request but the file itself."""
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs the playwright Python package (pip install playwright)")
    path = tmp_path / "report.html"
    write_report(_class(), path)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            headings = page.locator("h2").all_inner_texts()
            bars = page.locator("figure svg rect").count()
            title = page.title()
            flagged_rows = page.locator("table").last.locator("tr").count()
        finally:
            browser.close()
    assert errors == []
    assert requests == [path.as_uri()]
    assert title == "Class report"
    assert headings == ["Total scores", "Scores per question", "Most frequent failure reasons",
                        "Fault schedules that broke the most answers",
                        "Flagged submissions"]  # fmt: skip
    assert bars >= 3 * 2 and flagged_rows == 1 + 4
