"""`eoslib animate`: one self-contained HTML file that plays a run with both views.

The file holds the run's steps as JSON (for each step its title, caption, the log view's state
and the arrows of the Lamport view, all computed by :mod:`eoslib.protocol_state`,
:mod:`eoslib.viz.captions` and :mod:`eoslib.viz.lamport`) and a small script that draws them
as SVG. It loads nothing from the network: no external scripts, styles or fonts, so it can be
mailed, put on a slide or opened offline. The cell styles are the log view's: colour, hatch
and a text mark for every status (:data:`eoslib.viz.logview.CELL_STYLES`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoslib.protocol_state import _BIRTHS, ProtocolState, first_step, states
from eoslib.viz.captions import caption, step_title
from eoslib.viz.lamport import LamportView
from eoslib.viz.logview import CELL_STYLES

if TYPE_CHECKING:
    from eoslib.result import Result


def _log_state(st: ProtocolState) -> dict[str, Any]:
    rows = []
    for name in st.data_partitions():
        p = st.partitions[name]
        if not p.cells and not p.truncated:
            continue
        dups = p.duplicates()
        copy = {o: k + 1 for offs in dups.values() for k, o in enumerate(offs)}
        cells = [[c.offset, c.control or c.value, c.status, copy.get(c.offset, 0)
                  if c.status != "lost" else 0] for c in p.cells + p.truncated]
        ptr_up = [[f"committed ({g})", o] for g, o in sorted(st.committed_offset(name).items())]
        ptr_up += [[f"position ({c})", pos[name]] for c, pos in sorted(st.positions.items())
                   if name in pos]
        rows.append({"name": name, "cells": cells, "hw": p.hw, "lso": p.lso, "up": ptr_up})
    sink = [[r.id, r.value, r.copy] for r in st.sink if r.applied]
    return {"rows": rows, "sink": sink}


def frames(result: Result) -> dict[str, Any]:
    """The JSON payload of the HTML player: steps, log states, arrows and actors."""
    trace = result.trace
    if not trace:
        raise ValueError("this run has no trace (was it run with tracing=False?)")
    view = LamportView(result)
    logs: list[dict[str, Any]] = []  # distinct log states; steps point into it
    keys: dict[str, int] = {}
    steps = []
    for i, st in enumerate(states(trace)):  # one pass, not a fold per step
        log = _log_state(st)
        key = json.dumps(log, sort_keys=True)
        if key not in keys:
            keys[key] = len(logs)
            logs.append(log)
        steps.append({"title": step_title(result, i), "caption": caption(result, i, st),
                      "log": keys[key], "row": view.axis(trace[i]["t"])})
    arrs = [{"step": a.step, "kind": a.kind, "src": view.x[a.src], "dst": view.x[a.dst],
             "y0": view.axis(a.t0), "y1": view.axis(a.t1), "label": a.label, "lost": a.lost,
             "retry": a.retry} for a in view.arrows]
    marks = [{"step": ev["i"], "x": view.x[ev["lane"]], "y": view.axis(ev["t"]),
              "kind": ev["kind"], "label": ev["label"]}
             for ev in trace if ev["kind"] in ("crash", "restart") and ev["lane"] in view.x]
    jumps = {w: s for w in _BIRTHS if (s := first_step(result, w)) is not None}
    styles = {k: {"fill": v.fill, "hatch": v.hatch, "text": v.text, "mark": v.mark,
                  "label": v.label} for k, v in CELL_STYLES.items()}
    return {"scenario": result.scenario, "seed": result.seed, "messages": result.messages,
            "counts": {k: result.counts[k] for k in ("duplicates", "lost", "aborted_reads",
                                                     "uncommitted_reads")},
            "verdict": str(result.report).splitlines()[0],
            "actors": view.actors, "rows": len(view.axis.times), "steps": steps,
            "states": logs, "arrows": arrs, "marks": marks, "jumps": jumps,
            "styles": styles}


_PAGE = Path(__file__).with_name("animate_page.html")


def render_html(result: Result) -> str:
    """The whole HTML document for ``result``."""
    payload = json.dumps(frames(result), separators=(",", ":")).replace("</", "<\\/")
    title = f"{result.scenario} (seed {result.seed}, {result.messages} messages)"
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
