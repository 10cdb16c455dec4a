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


def _recorded_note(data: dict[str, Any], names: str, fixed: str) -> str:
    combos = len(data["frames"])
    return (f'<p class="eos-recorded">Dashboard over <b>{combos} recorded runs</b> of the '
            f"simulator (scenario <code>{html.escape(data['scenario'])}</code>, every "
            f"combination of {names}; fixed: {fixed}). Switching a control shows that run at "
            'once: nothing is computed in your browser. The <a href="#live">live notebook</a> '
            "re-runs it for any value.</p>")


def _value(v: Any) -> str:
    from eoslib.site.playground import fmt

    return html.escape(fmt(v))


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _refusals(sub: dict[str, Any]) -> str:
    """The simulator's refusals among a subset's combinations: each error line, how often."""
    items = "".join(f"<li>{n} &times; <code>{html.escape(e)}</code></li>"
                    for e, n in sub.get("refusals", {}).items())
    return (f'<p>The combinations the simulator refuses, by its error:</p><ul '
            f'class="eos-refusals">{items}</ul>' if items else "")


def _subset_note(data: dict[str, Any], source: str) -> str:
    """What a subset-recorded dashboard holds, exactly, and how to run the rest."""
    sub = data["subset"]
    combos, refused = sub["combinations"], sub["refused"]  # all the product, as recorded
    rows = []
    for c in data["controls"]:
        missing = [o["label"] for o in c["options"] if o["index"] is None]
        added = " <i>(added by the site)</i>" if c.get("added") else ""
        rows.append(f"<tr><th scope=\"row\"><code>{html.escape(c['name'])}</code>{added}</th>"
                    f"<td>{', '.join(_value(v) for v in c['values'])}</td>"
                    f"<td>{html.escape('; '.join(missing)) or '(none)'}</td>"
                    f"<td>{html.escape(c.get('why', ''))}</td></tr>")
    formula = " &times; ".join(str(len(c["values"])) for c in data["controls"])
    added = ", ".join(f"<code>{html.escape(n)}</code>" for n in sub["added"])
    add_line = (f" {added} is not a control of the notebook's dashboard: the site adds it "
                f"(to use it live, add <code>\"{html.escape(sub['added'][0])}\"</code> to the "
                "list of controls in the cell that makes the dashboard)."
                if sub["added"] else "")
    return (
        f'<p class="eos-recorded"><b>A recorded playground: {combos} combinations</b> of the '
        f"simulator's runs (scenario <code>{html.escape(data['scenario'])}</code>), "
        f"{_n(combos - refused, 'run')} and {_n(refused, 'combination')} of settings the "
        "simulator refuses (shown with its error, as the notebook shows it: see the list "
        "below). Its controls make too many combinations to "
        "record them all, so this page holds a named subset: each control at a few values "
        "chosen for the contrasts the notebook teaches. Menus show the values that are not "
        "recorded greyed out; nothing is computed in your browser.</p>"
        f'<details class="eos-subset"><summary>Exactly what is recorded: every combination '
        f"of the values below ({formula} = {combos}; subset "
        f"&ldquo;{html.escape(sub['name'])}&rdquo;)</summary>"
        '<table class="eos-subset-table"><thead><tr><th>control</th><th>recorded</th>'
        "<th>not recorded (live notebook only)</th><th>why these values</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{_refusals(sub)}</details>"
        f'<p class="eos-live-note"><b>To run any other combination</b> (another seed, any '
        "loss rate or message count): from the course's repository run "
        "<code>bash scripts/course</code> (the README's &ldquo;Set up and open the "
        f"course&rdquo;), open <code>{html.escape(source)}</code> and run all cells.{add_line}"
        "</p>")


def dashboard(data: dict[str, Any], number: int, *, pack_src: str | None = None,
              source: str = "the notebook") -> str:
    """A dashboard's recorded runs as a form; ``number`` is its place on the page (from 1).
    A subset-recorded one (``data["subset"]``) keeps its frames in a pack file the page
    loads from ``pack_src`` (:func:`eoslib.site.dashboards.pack`)."""
    scenario = html.escape(data["scenario"])
    if data.get("too_many"):
        return (f'<div class="eos-box eos-widget-note" data-eos-kind="dashboard">'
                f"<b>Dashboard</b> (scenario <code>{scenario}</code>): its controls make "
                f"{data['too_many']} combinations, too many to record for this page. "
                'Run the <a href="#live">live notebook</a> to use it.</div>')
    names = ", ".join(f"<code>{html.escape(c['name'])}</code>" for c in data["controls"])
    fixed = ", ".join(f"{html.escape(k)}={html.escape(json.dumps(v))}"
                      for k, v in data["fixed"].items())
    packed = ""
    if "pack" in data:
        assert pack_src is not None
        packed = (f' data-pack="{html.escape(pack_src)}" '
                  f'data-pack-id="{html.escape(data["pack"]["id"])}"')
        data = {**data, "frames": {}, "labels": _labels(set(data["pack"]["count_keys"]))}
        note = _subset_note(data, source)
        size = data["pack"].get("file_bytes", data["pack"]["bytes"])
        loading = (f'<p class="eos-loading">Loading the recorded runs ({size / 1e6:.1f} MB, '
                   f'{data["pack"]["bytes"] / 1e6:.1f} MB once unpacked)&hellip;</p>')
    else:
        keys = {k for f in data["frames_list"] for k in f["counts"]}
        data = {**data, "labels": _labels(keys)}
        note = (_subset_note(data, source) if "subset" in data
                else _recorded_note(data, names, fixed))
        loading = ""
    return (
        f'<section class="eos-box eos-dashboard" id="dashboard-{number}" '
        f'data-eos-kind="dashboard"{packed} aria-label="dashboard: recorded runs of {scenario}">'
        f'{note}<div class="eos-head"><form class="eos-controls"></form>{loading}'
        '<div class="eos-counts" role="status" aria-live="polite"></div>'
        '<div class="eos-verdict"></div><div class="eos-error"></div></div>'
        '<div class="eos-pictures"></div><p class="eos-note"></p>'
        f'<script type="application/json" class="eos-data">{_json(data)}</script>'
        "<noscript>This dashboard needs JavaScript.</noscript></section>")


def player(data: dict[str, Any], src: str, number: int, *,
           after_dashboard: bool = False) -> str:
    """A step player: the ``eoslib animate`` page of the run at ``src``, in an iframe.
    ``after_dashboard``: the run is the one a dashboard above it holds (the player then
    says it does not follow that dashboard's controls)."""
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
        f"own page</a>.{_FIXED_RUN if after_dashboard else ''}</figcaption></figure>")


#: What the site adds to an ``eoslib animate`` page's head: a phone's width, and on a narrow
#: screen pictures that keep their notebook width (text >= 11 px) and scroll sideways.
_PLAYER_HEAD = ('<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                "<style>@media (max-width: 700px) { .pic { overflow-x: auto; } "
                ".pic svg { max-width: 880px; } body { margin: .6em; } "
                ".pic::before { content: 'swipe sideways for the whole picture \\2192'; "
                "display: block; position: sticky; left: 0; font-size: 12px; color: #555; } "
                "}</style>\n")


def player_page(page: str, lesson: str, lesson_href: str, anchor: str) -> str:
    """An ``eoslib animate`` page as the site stores it: readable on a phone, with a line
    linking to the course's index and to the lesson that shows it for a reader who opened it
    on its own page (removed inside the lesson's iframe, whose page already has both)."""
    line = ('<nav class="eos-back" style="font-size:.9em;margin:0 0 .6em 0">'
            '<a href="../index.html">Exactly-once in Apache Kafka</a> · a recorded run from '
            f'<a href="{html.escape(lesson_href)}#{anchor}">{html.escape(lesson)}</a></nav>'
            "<script>if (window.top !== window) "
            "document.querySelector('.eos-back').remove();</script>")
    if "<body>" not in page or "</head>" not in page:
        raise ValueError("a player page without <head> or <body>: eoslib animate's page changed")
    return (page.replace("</head>", _PLAYER_HEAD + "</head>", 1)
            .replace("<body>", "<body>\n" + line, 1))


#: What a player under a dashboard says: the notebook's cell re-runs with the controls, the
#: page cannot.
_FIXED_RUN = (" It is the run of the dashboard's settings when the notebook was run (the "
              "notebook's own values), and does not follow the dashboard's controls above: in "
              'the <a href="#live">live notebook</a> re-running the cell steps through the '
              "run you picked.")


def _code_spans(text: str) -> str:
    """Markdown's `code` in escaped text as <code>: a question reads as the lesson's prose does,
    without raw backticks."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def prediction(data: dict[str, Any], number: int) -> str:
    """A prediction: the question and its choices; a pick is only marked, never sent."""
    q = _code_spans(html.escape(data.get("question", "")))
    choices = data.get("choices") or []
    buttons = "".join(f'<button type="button" class="eos-choice">{_code_spans(html.escape(c))}'
                      "</button>" for c in choices)
    entry = (f'<div class="eos-choices" role="group" aria-label="your guess">{buttons}</div>'
             if choices else
             '<input class="eos-guess" type="text" placeholder="your guess" '
             'aria-label="your guess">')
    answer = ""
    if "answer" in data:  # the notebook revealed it: the page answers a guess itself
        answer = (f' data-answer="{html.escape(data["answer"])}" data-actual="'
                  f'{html.escape(data.get("actual", data["answer"]))}" data-why="'
                  f'{html.escape(json.dumps(data.get("why") or {}))}"')
    note = ("Make your guess: the page marks it against the recorded run (whose output is "
            "in the next cell)." if answer else "Make your guess before reading on: the "
            "run's answer is in the output of the next cell. (In the live notebook your guess "
            "is recorded and compared.)")
    return (f'<div class="eos-box eos-prediction" id="prediction-{number}" '
            f'data-eos-kind="prediction"{answer}><p><b>Predict:</b> {q}</p>{entry}'
            f'<p class="eos-note">{note}</p><p class="eos-answer" role="status" '
            'aria-live="polite"></p></div>')


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
