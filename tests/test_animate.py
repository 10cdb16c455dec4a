"""`eoslib animate`: one self-contained HTML file that plays a run with both views.

Checked as a file (nothing loaded from anywhere: no external script, style, font or image)
and in a real browser (Debian Chromium through Playwright): it opens, plays to the end with
no console error, makes no network request, and the pictures change from step to step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eoslib.animate import frames, render_html
from eoslib.cli import main
from eoslib.scenarios import run_scenario
from eoslib.viz.stepper import show_moment

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["producer-retry", "--seed", "1", "--messages", "3", "--set", "enable.idempotence=false",
        "--set", "lost_acks=1", "--set", "response_loss=0"]


def _write(tmp_path: Path) -> Path:
    out = tmp_path / "run.html"
    assert main(["animate", *ARGS, "--out", str(out)]) == 0
    return out


def test_the_file_is_self_contained(tmp_path: Path) -> None:
    text = _write(tmp_path).read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<link" not in text and "@import" not in text and "url(http" not in text
    assert not re.search(r"<script[^>]+src=", text)
    payload = json.loads(re.search(r'id="payload" type="application/json">(.*?)</script>',
                                   text, re.S).group(1).replace("<\\/", "</"))
    r = run_scenario("producer-retry", seed=1, messages=3, config={"enable.idempotence": False},
                     faults={"lost_acks": 1, "response_loss": 0})
    assert len(payload["steps"]) == len(r.trace)
    assert payload["jumps"] == {"first duplicate": next(e["i"] for e in r.trace
                                                        if e.get("flag") == "duplicate")}
    assert payload == json.loads(json.dumps(frames(r)))  # the CLI and the API agree
    # the HTML player shows at each step what show_moment shows there, and says the same
    for i in (0, len(r.trace) // 2, len(r.trace) - 1):
        m = show_moment(r, at=i)
        step = payload["steps"][i]
        assert step["caption"] == m.caption
        assert payload["logs"][step["log"]] == m.pictures["log"].svg
        assert step["lamport"] == m.pictures["lamport"].svg


@pytest.mark.parametrize("argv, word", [
    (["animate", "nope", "--out", "x.html"], "scenario"),
    (["animate", "producer-retry", "--out", "x.txt"], "--out"),
    (["animate", "producer-retry", "--messages", "0", "--out", "x.html"], "--messages"),
    (["animate", "producer-retry", "--set", "acks=maybe", "--out", "x.html"], "acks"),
    (["animate", "producer-retry", "--out", "/no/such/dir/x.html"], "--out"),
])
def test_bad_input_is_one_line_and_exit_2(argv, word, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err and "Traceback" not in err


def test_render_html_escapes_the_closing_script_tag() -> None:
    r = run_scenario("producer-retry", seed=0, messages=2)
    r.trace[0]["label"] = "</script><script>alert(1)</script>"
    page = render_html(r)
    assert page.count("</script>") == 2  # the payload's and the player's own


@pytest.mark.browser
def test_it_plays_to_the_end_in_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out = _write(tmp_path)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda q: requests.append(q.url))
            page.goto(out.as_uri() + "#fast")
            first_log = page.locator("#log").inner_html()
            first_caption = page.locator("#caption").inner_text()
            assert first_caption.startswith("step 1 of ")
            page.click("#play")
            page.wait_for_function("() => document.body.dataset.done === '1'", timeout=30_000)
            n = int(page.locator("#slider").get_attribute("max"))
            assert page.evaluate("() => document.body.dataset.step") == str(n - 1)
            assert page.locator("#caption").inner_text().startswith(f"step {n} of {n}")
            assert page.locator("#log").inner_html() != first_log
            page.click("text=first duplicate (step")
            assert "again" in page.locator("#caption").inner_text()
            assert page.locator("#lamport line[stroke='#bd1f01']").count() >= 1  # a lost ack
            assert page.locator("#play").get_attribute("title")
        finally:
            browser.close()
    assert errors == []
    assert requests and all(r.startswith("file:") for r in requests), requests
