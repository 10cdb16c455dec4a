"""The HTML that stands on a page where the notebook shows a widget.

A dashboard becomes a form over its recorded runs (``static/site.js`` draws it from the JSON
inside), a step player an ``<iframe>`` of its ``eoslib animate`` page, a prediction its
question and choices; any other widget a line saying it needs the live notebook.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

#: Text of a progress bar's output (tqdm's, or a sweep's: eoslib.viz.sweep): recorded
#: progress says nothing, so it is dropped.
PROGRESS = re.compile(r"\d+%\||the progress bar shows while the cell runs\]$")


def _json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``."""
    return (json.dumps(data, separators=(",", ":"))
            .replace("</", "<\\/").replace("<!--", "<\\!--"))


def _labels(keys: set[str]) -> dict[str, str]:
    from eoslib.viz.palette import pretty

    return {k: pretty(k) for k in sorted(keys)}


def dashboard(data: dict[str, Any], number: int) -> str:
    """A dashboard's recorded runs as a form; ``number`` is its place on the page (from 1)."""
    scenario = html.escape(data["scenario"])
    if data.get("too_many"):
        return (f'<div class="eos-box eos-widget-note" data-eos-kind="dashboard">'
                f"<b>Dashboard</b> (scenario <code>{scenario}</code>): its controls make "
                f"{data['too_many']} combinations, too many to record for this page. "
                'Run the <a href="#live">live notebook</a> to use it.</div>')
    keys = {k for f in data["frames_list"] for k in f["counts"]}
    data = {**data, "labels": _labels(keys)}
    combos = len(data["frames"])
    names = ", ".join(f"<code>{html.escape(c['name'])}</code>" for c in data["controls"])
    fixed = ", ".join(f"{html.escape(k)}={html.escape(json.dumps(v))}"
                      for k, v in data["fixed"].items())
    return (
        f'<section class="eos-box eos-dashboard" id="dashboard-{number}" '
        f'data-eos-kind="dashboard" aria-label="dashboard: recorded runs of {scenario}">'
        f'<p class="eos-recorded">Dashboard over <b>{combos} recorded runs</b> of the simulator '
        f"(scenario <code>{scenario}</code>, every combination of {names}; "
        f"fixed: {fixed}). Switching a control shows that run at once: nothing is computed in "
        'your browser. The <a href="#live">live notebook</a> re-runs it for any value.</p>'
        '<form class="eos-controls"></form>'
        '<div class="eos-counts" role="status" aria-live="polite"></div>'
        '<div class="eos-verdict"></div><div class="eos-error"></div>'
        '<div class="eos-pictures"></div><p class="eos-note"></p>'
        f'<script type="application/json" class="eos-data">{_json(data)}</script>'
        "<noscript>This dashboard needs JavaScript.</noscript></section>")


def player(data: dict[str, Any], src: str, number: int) -> str:
    """A step player: the ``eoslib animate`` page of the run at ``src``, in an iframe."""
    what = "step player" if data.get("source") == "StepPlayer" else "timeline player"
    src = f"{src}#step={int(data['start']) + 1}"  # the animate page opens at step N (1-based)
    title = (f"Player {number}: recorded run of {data['scenario']}, "
             f"{data['steps']} steps")
    return (
        f'<figure class="eos-box eos-player-box" data-eos-kind="player">'
        f'<iframe class="eos-player" id="player-{number}" src="{html.escape(src)}" '
        f'data-start="{int(data["start"])}" data-steps="{int(data["steps"])}" '
        f'title="{html.escape(title)}" height="760"></iframe>'
        f"<figcaption>A recorded run of the simulator (scenario "
        f"<code>{html.escape(data['scenario'])}</code>, {data['steps']} steps), shown where "
        f"the notebook's {what} stands and starting at the same step: play, step with "
        f'<kbd>&lt;</kbd> <kbd>&gt;</kbd>, or jump. <a href="{html.escape(src)}">Open it on its '
        "own page</a>.</figcaption></figure>")


def prediction(data: dict[str, Any], number: int) -> str:
    """A prediction: the question and its choices; a pick is only marked, never sent."""
    q = html.escape(data.get("question", ""))
    choices = data.get("choices") or []
    buttons = "".join(f'<button type="button" class="eos-choice">{html.escape(c)}</button>'
                      for c in choices)
    entry = (f'<div class="eos-choices" role="group" aria-label="your guess">{buttons}</div>'
             if choices else
             '<input class="eos-guess" type="text" placeholder="your guess" '
             'aria-label="your guess">')
    return (f'<div class="eos-box eos-prediction" id="prediction-{number}" '
            f'data-eos-kind="prediction"><p><b>Predict:</b> {q}</p>{entry}'
            '<p class="eos-note">Make your guess before reading on: the run\'s answer is in the '
            "output of the next cell. (In the live notebook your guess is recorded and "
            "compared.)</p></div>")


def other_widget(text: str) -> str | None:
    """A widget the site cannot replay: a line saying so (None: drop it, e.g. progress)."""
    if PROGRESS.search(text):
        return None
    name = text.split("(", 1)[0].strip() or "widget"
    what = "an <code>@interact</code> control" if name == "interactive" else (
        f"an interactive widget (<code>{html.escape(name)}</code>)")
    return (f'<div class="eos-box eos-widget-note" data-eos-kind="widget">This cell shows '
            f'{what} that needs a running kernel: open the <a href="#live">live notebook</a> '
            "to use it.</div>")
