"""`eoslib animate`: one self-contained HTML file that plays a run with both views.

The file holds, for every step, its title, its caption and the two pictures the notebook's
step player draws at that step (:func:`eoslib.viz.stepper.moment_pictures`: the log view
with each reader's view, and the Lamport view), as SVG text; log pictures that repeat are
stored once. A small script only swaps them: the HTML player, ``show_moment`` and the
``StepPlayer`` show the same picture and the same caption at the same step. It loads nothing
from the network: no external scripts, styles or fonts, so it can be mailed, put on a slide
or opened offline.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoslib.protocol_state import states
from eoslib.result import client_line
from eoslib.viz.captions import caption, step_title
from eoslib.viz.lamport import LamportView
from eoslib.viz.logview import log_picture
from eoslib.viz.stepper import jump_steps

if TYPE_CHECKING:
    from eoslib.result import Result


def frames(result: Result) -> dict[str, Any]:
    """The JSON payload of the HTML player: per step its title, caption and pictures."""
    trace = result.trace
    if not trace:
        raise ValueError("this run has no trace (was it run with tracing=False?)")
    view = LamportView(result)
    logs: list[str] = []  # distinct log pictures; steps point into it
    alts: list[str] = []
    keys: dict[str, int] = {}
    steps = []
    for i, st in enumerate(states(trace)):  # one pass, not a fold per step
        log = log_picture(st)
        if log.svg not in keys:
            keys[log.svg] = len(logs)
            logs.append(log.svg)
            alts.append(log.alt)
        lam = view.picture(i)
        steps.append({"title": step_title(result, i), "caption": caption(result, i, st),
                      "log": keys[log.svg], "lamport": lam.svg, "lamport_alt": lam.alt})
    return {"scenario": result.scenario, "seed": result.seed, "messages": result.messages,
            "counts": {k: result.counts.get(k, 0) for k in ("duplicates", "lost",
                                                           "aborted_reads",
                                                           "uncommitted_reads", "retries")},
            "verdict": str(result.report).splitlines()[0],
            "steps": steps, "logs": logs, "log_alts": alts, "jumps": jump_steps(result)}


_PAGE = Path(__file__).with_name("animate_page.html")


def render_html(result: Result) -> str:
    """The whole HTML document for ``result``."""
    payload = json.dumps(frames(result), separators=(",", ":")).replace("</", "<\\/")
    title = (f"{result.scenario} (seed {result.seed}, {result.messages} messages; "
             f"{client_line(result.config)})")
    page = _PAGE.read_text(encoding="utf-8")
    return (page.replace("__TITLE__", html.escape(title))
            .replace("__PAYLOAD__", payload))


def write_html(result: Result, out: str | Path) -> Path:
    """Write the player of ``result`` to ``out`` (``.html``); returns the path."""
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"Invalid value {str(out)!r} for --out: expected a file name ending "
                         "in .html")
    if not path.parent.exists():
        raise ValueError(f"Invalid value {str(out)!r} for --out: the folder "
                         f"{str(path.parent)!r} does not exist")
    path.write_text(render_html(result), encoding="utf-8")
    return path
