"""A dashboard as data: every combination of its finite controls, each with its pictures and counts.

The site replays a notebook's :class:`~eoslib.viz.dashboard.Dashboard` without a kernel from
:func:`payload`, which asks the dashboard itself for its ``choices()`` and one ``frame()`` per
combination (the ``viz`` helper's kernel-free API), so the page and the notebook widget draw
from one source.
"""

from __future__ import annotations

import itertools
from typing import Any

#: A dashboard with more combinations than this is not recorded (its page says so).
MAX_COMBINATIONS = 200


def _count_keys() -> tuple[str, ...]:
    from eoslib.viz.frame import TEXT_KEYS  # the counts line the notebook widget shows

    return tuple(TEXT_KEYS)


def frame(dash: Any, **values: Any) -> dict[str, Any]:
    """The dashboard at ``values`` as JSON-ready data: ``{"pictures": [{"view", "svg",
    "alt"}], "counts", "verdict", "caption", "error", "note"}``; ``counts`` are those the
    notebook's counts line shows. Nothing on the dashboard's widgets changes."""
    f = dash.frame(**values)
    keys = _count_keys()
    return {"pictures": [{"view": name, "svg": svg, "alt": str(f.alt.get(name, ""))}
                         for name, svg in f.svgs.items()],
            "counts": {k: f.counts[k] for k in keys if k in f.counts},
            "verdict": f.verdict, "caption": f.caption, "error": f.error,
            "note": f.note or None}


def payload(dash: Any, *, limit: int = MAX_COMBINATIONS) -> dict[str, Any]:
    """Everything the page's player needs: controls, frames by combination, shared SVGs.

    ``controls`` are the dashboard's choices with more than one value (the others are in
    ``fixed`` with the dashboard's fixed parameters). ``frames`` maps a combination key (the
    value indices joined by ``.``, in the order of ``controls``) to an index into
    ``frames_list``; pictures are stored once in ``svgs``. With more than ``limit``
    combinations no frame is computed (``too_many`` says how many)."""
    values = dash.values()
    opts = {n: vs for n, vs in dash.choices().items() if len(vs) > 1}
    controls = [{"name": n, "values": vs, "default": values.get(n, vs[0])}
                for n, vs in opts.items()]
    base = {"kind": "dashboard", "scenario": dash.scenario, "repr": repr(dash),
            "controls": controls, "fixed": {k: v for k, v in values.items() if k not in opts}}
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
        f = frame(dash, **{n: opts[n][i] for n, i in zip(opts, idx, strict=True)})
        for pic in f["pictures"]:
            if pic["svg"] not in svg_index:
                svg_index[pic["svg"]] = len(svgs)
                svgs.append(pic["svg"])
            pic["svg"] = svg_index[pic["svg"]]
        frames[".".join(map(str, idx))] = len(frames_list)
        frames_list.append(f)
    return {**base, "frames": frames, "frames_list": frames_list, "svgs": svgs}
