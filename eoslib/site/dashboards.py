"""A dashboard as data: every combination of its finite controls, each with its pictures and counts.

The site replays a notebook's :class:`~eoslib.viz.dashboard.Dashboard` without a kernel from
:func:`payload`, which asks the dashboard itself for its :func:`choices` and one :func:`frame`
per combination, so the page and the notebook widget draw from one source. When the dashboard
has the agreed ``Dashboard.choices()`` / ``Dashboard.frame(**values)`` (the ``viz`` helper's
API) they are used; until then this module derives the same from today's dashboard.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping
from typing import Any

#: A dashboard with more combinations than this is not precomputed (its page says so).
MAX_COMBINATIONS = 64
#: The counts a page shows (in this order), when the run has them.
COUNT_KEYS = ("duplicates", "lost", "aborted_reads", "uncommitted_reads", "processed_twice",
              "fenced", "retries", "txn_committed", "txn_aborted")


def choices(dash: Any) -> dict[str, list[Any]]:
    """Every value of each finite control (checkboxes, dropdowns), in the dashboard's order."""
    if hasattr(dash, "choices"):
        return {k: list(v) for k, v in dash.choices().items()}
    import ipywidgets as widgets

    out: dict[str, list[Any]] = {}
    for name, w in dash.controls.items():
        if isinstance(w, widgets.Checkbox):
            out[name] = [False, True]
        elif isinstance(w, widgets.Dropdown):
            out[name] = [value for _, value in w._options_full]  # (label, value) pairs
    return out


def _svg(fig: Any) -> str:
    """A matplotlib figure as SVG text: text kept as text, no date, stable ids."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "eoslib-site"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _normalise(f: Any) -> dict[str, Any]:
    """viz's ``Frame`` as this module's frame dict (see :func:`frame`)."""
    get = (f.get if isinstance(f, Mapping) else lambda k, d=None: getattr(f, k, d))
    svgs = get("svgs") or ({"log": get("svg")} if get("svg") else {})
    alts = get("alt") or {}
    if not isinstance(alts, Mapping):
        alts = {next(iter(svgs), "log"): alts}
    return {"pictures": [{"view": v, "svg": s, "alt": str(alts.get(v, ""))}
                         for v, s in svgs.items()],
            "counts": dict(get("counts") or {}), "verdict": str(get("verdict") or ""),
            "caption": str(get("caption") or ""), "error": get("error"),
            "note": get("note")}


def frame(dash: Any, **values: Any) -> dict[str, Any]:
    """The dashboard at ``values`` (control name -> value; the others at their value).

    Returns ``{"pictures": [{"view", "svg", "alt"}], "counts", "verdict", "caption",
    "error", "note", "params"}``; ``params`` are the run's parameters (what a direct
    ``run_scenario`` needs). Nothing on the dashboard's widgets changes."""
    params = {**dash.values(), **values}
    if hasattr(dash, "frame"):
        out = _normalise(dash.frame(**values))
        out["params"] = params
        return out
    return _frame_today(dash, params)


def _frame_today(dash: Any, params: dict[str, Any]) -> dict[str, Any]:
    """:func:`frame` drawn the way today's dashboard draws (chart, then the log view)."""
    from eoslib.protocol_state import state_at
    from eoslib.viz.dashboard import LOG_VIEW_MAX_CELLS
    from eoslib.viz.logview import log_view
    from eoslib.viz.params import split_params
    from eoslib.viz.plots import CountsPlot, alt_text

    config, faults, kwargs = split_params(params)
    try:
        result = dash.run(dash.scenario, config=config, faults=faults, **kwargs)
    except Exception as exc:  # the dashboard shows the same: a combination Kafka refuses
        return {"pictures": [], "counts": {}, "verdict": "", "caption": "",
                "error": f"cannot run: {type(exc).__name__}: {exc}", "note": None,
                "params": params}
    chart = CountsPlot(result)
    pictures = [{"view": "counts", "svg": _svg(chart.fig), "alt": alt_text(chart.fig)}]
    note = None
    state = state_at(result)
    longest = max((len(p.cells) for n, p in state.partitions.items()
                   if not n.startswith("__")), default=0)
    if longest > LOG_VIEW_MAX_CELLS:
        note = (f"The log view is drawn for runs of at most {LOG_VIEW_MAX_CELLS} records a "
                f"partition (this one has {longest}): lower messages in the live notebook "
                "to see each cell.")
    else:
        fig = log_view(state)
        pictures.append({"view": "log", "svg": _svg(fig), "alt": alt_text(fig)})
    counts = {k: result.counts[k] for k in COUNT_KEYS if k in result.counts}
    verdict = str(result.report).split("\n", 1)[0]
    return {"pictures": pictures, "counts": counts, "verdict": verdict,
            "caption": "", "error": None, "note": note, "params": params}


def payload(dash: Any, *, limit: int = MAX_COMBINATIONS) -> dict[str, Any]:
    """Everything the page's player needs: controls, frames by combination, shared SVGs.

    ``frames`` maps a combination key (the value indices joined by ``.``, in the order of
    ``controls``) to an index into ``frames_list``; pictures are stored once in ``svgs``.
    With more than ``limit`` combinations no frame is computed (``too_many`` says how many)."""
    opts = choices(dash)
    current = dash.values()
    controls = [{"name": n, "values": vs, "default": current.get(n, vs[0])}
                for n, vs in opts.items()]
    base = {"kind": "dashboard", "scenario": dash.scenario, "repr": repr(dash),
            "controls": controls, "fixed": {k: v for k, v in current.items() if k not in opts}}
    total = 1
    for vs in opts.values():
        total *= len(vs)
    if total > limit:
        return {**base, "too_many": total, "frames": {}, "frames_list": [], "svgs": []}
    svgs: list[str] = []
    svg_index: dict[str, int] = {}
    frames: dict[str, int] = {}
    frames_list: list[dict[str, Any]] = []
    for idx in itertools.product(*(range(len(vs)) for vs in opts.values())):
        values = {n: opts[n][i] for n, i in zip(opts, idx, strict=True)}
        f = frame(dash, **values)
        for pic in f["pictures"]:
            if pic["svg"] not in svg_index:
                svg_index[pic["svg"]] = len(svgs)
                svgs.append(pic["svg"])
            pic["svg"] = svg_index[pic["svg"]]
        frames[".".join(map(str, idx))] = len(frames_list)
        frames_list.append(f)
    return {**base, "frames": frames, "frames_list": frames_list, "svgs": svgs}
