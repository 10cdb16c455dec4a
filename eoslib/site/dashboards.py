"""A dashboard as data: every combination of its finite controls, each with its pictures and counts.

The site replays a notebook's :class:`~eoslib.viz.dashboard.Dashboard` without a kernel from
:func:`payload`, which asks the dashboard itself for its ``choices()`` and one ``frame()`` per
combination (the ``viz`` helper's kernel-free API), so the page and the notebook widget draw
from one source.
"""

from __future__ import annotations

import base64
import collections
import gzip
import hashlib
import itertools
import json
from pathlib import Path
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


def _record(dash: Any, opts: dict[str, list[Any]]) -> dict[str, Any]:
    """Every combination of ``opts`` (control -> values): frames by key, frames stored
    once (identical ones shared), pictures stored once in ``svgs``."""
    svgs: list[str] = []
    svg_index: dict[str, int] = {}
    frames: dict[str, int] = {}
    frames_list: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for idx in itertools.product(*(range(len(vs)) for vs in opts.values())):
        f = frame(dash, **{n: opts[n][i] for n, i in zip(opts, idx, strict=True)})
        for pic in f["pictures"]:
            if pic["svg"] not in svg_index:
                svg_index[pic["svg"]] = len(svgs)
                svgs.append(pic["svg"])
            pic["svg"] = svg_index[pic["svg"]]
        text = json.dumps(f, sort_keys=True)
        if text not in seen:
            seen[text] = len(frames_list)
            frames_list.append(f)
        frames[".".join(map(str, idx))] = seen[text]
    return {"frames": frames, "frames_list": frames_list, "svgs": svgs}


def _total(opts: dict[str, list[Any]]) -> int:
    total = 1
    for vs in opts.values():
        total *= len(vs)
    return total


def payload(dash: Any, *, limit: int = MAX_COMBINATIONS) -> dict[str, Any]:
    """Everything the page's player needs: controls, frames by combination, shared SVGs.

    ``controls`` are the dashboard's choices with more than one value (the others are in
    ``fixed`` with the dashboard's fixed parameters). ``frames`` maps a combination key (the
    value indices joined by ``.``, in the order of ``controls``) to an index into
    ``frames_list`` (identical frames stored once); pictures are stored once in ``svgs``.
    A dashboard with a named subset (:mod:`eoslib.site.playground`) is recorded over it
    instead (see :func:`subset_payload`). Otherwise, with more than ``limit`` combinations no
    frame is computed (``too_many`` says how many)."""
    from eoslib.site.playground import subset_for

    subset = subset_for(dash)
    if subset is not None:
        return subset_payload(dash, subset)
    values = dash.values()
    opts = {n: vs for n, vs in dash.choices().items() if len(vs) > 1}
    controls = [{"name": n, "values": vs, "default": values.get(n, vs[0])}
                for n, vs in opts.items()]
    base = {"kind": "dashboard", "scenario": dash.scenario, "repr": repr(dash),
            "controls": controls, "fixed": {k: v for k, v in values.items() if k not in opts}}
    total = _total(opts)
    if total > limit:
        return {**base, "too_many": total, "frames": {}, "frames_list": [], "svgs": []}
    return {**base, **_record(dash, opts)}


def subset_payload(dash: Any, subset: Any) -> dict[str, Any]:
    """:func:`payload` over a named subset: every control of the dashboard (and those the
    subset adds) in ``controls``, each with its recorded ``values``, the menu it shows
    (``options``: recorded values, and greyed what the notebook offers besides) and why
    these values; ``subset`` names it and counts what the notebook offers."""
    from eoslib.site.playground import (
        MAX_SUBSET_COMBINATIONS,
        options,
        recorded_values,
        widened,
    )

    wide = widened(dash, subset)
    now = wide.values()
    rec = recorded_values(wide, subset)
    total = _total(rec)
    if total > MAX_SUBSET_COMBINATIONS:
        raise ValueError(f"Invalid subset {subset.name!r}: {total} combinations, expected at "
                         f"most {MAX_SUBSET_COMBINATIONS}")
    controls = [{"name": n, "values": vs, "default": now[n], "options": options(wide, n, vs),
                 "why": subset.why.get(n, ""), "added": n in subset.add}
                for n, vs in rec.items()]
    base = {"kind": "dashboard", "scenario": dash.scenario, "repr": repr(dash),
            "controls": controls, "fixed": dict(wide.fixed),
            "subset": {"name": subset.name, "combinations": total,
                       "added": [n for n in subset.add if n not in dash.controls]}}
    rec_data = _record(wide, rec)
    fl = rec_data["frames_list"]
    errors = collections.Counter(fl[i]["error"] for i in rec_data["frames"].values()
                                 if fl[i]["error"])
    base["subset"]["refused"] = sum(errors.values())
    base["subset"]["refusals"] = dict(errors.most_common())  # error line -> combinations
    return {**base, **rec_data}


#: The keys :func:`pack` moves out of a payload into its pack file.
PACKED = ("frames", "frames_list", "svgs")


def pack(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write ``data``'s frames and pictures to ``path`` as a script a page loads (the JSON,
    gzip-compressed, base64: ``window.eosPacks[id] = "..."``; the page decompresses it with
    the browser's ``DecompressionStream``) and return ``data`` without them, with
    ``pack = {"file", "id", "bytes", "combinations", "count_keys"}``. Used for a recorded
    subset (thousands of frames, megabytes of repetitive SVG text)."""
    body = json.dumps({k: data[k] for k in PACKED}, separators=(",", ":")).encode()
    z = gzip.compress(body, compresslevel=9, mtime=0)
    name = hashlib.sha256(z).hexdigest()[:16]
    b64 = base64.b64encode(z).decode()
    path.write_text(f'(window.eosPacks = window.eosPacks || {{}})["{name}"] = "{b64}";\n',
                    encoding="utf-8")
    rest = {k: v for k, v in data.items() if k not in PACKED}
    keys = sorted({k for f in data["frames_list"] for k in f["counts"]})
    return {**rest, "pack": {"file": path.name, "id": name, "bytes": len(body),
                             "combinations": len(data["frames"]), "count_keys": keys}}


def unpack(text: str) -> dict[str, Any]:
    """The frames and pictures a :func:`pack` file holds (``text``: the file's text)."""
    b64 = text.split('= "', 1)[1].rsplit('"', 1)[0]
    return json.loads(gzip.decompress(base64.b64decode(b64)))
