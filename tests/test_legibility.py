"""Every picture of the course is legible in JupyterLab's notebook column (~880 px).

1. Every view (log view, Lamport view, the dashboard's pictures) over every scenario's key
   moments: no text under 11 px (cell values under 12 px), no text on another text, a
   marker or the step bar, no text across an arrow's shaft but its own arrow's, nothing
   outside the picture, never wider than the column (so the
   browser shows it 1:1). The boxes come from the SVG writer, which measures text with the
   font the SVG asks for first.
2. The charts (matplotlib) as a notebook shows them (:func:`eoslib.viz.column.figure_png`):
   every text at least 11 px once shown, no two texts overlapping, none outside the figure
   (measured with matplotlib's renderer).
3. Every committed notebook output that is a picture: the smallest text, as displayed,
   computed from the output itself (SVG: its font sizes and width; PNG: the figure's
   smallest text recorded in the output's metadata by ``figure_png``) is at least 11 px. A
   notebook whose outputs predate these pictures (a PNG without that metadata) is an
   expected failure until its owner re-executes it. In every SVG picture the course drew,
   no text crosses an arrow's shaft but its own arrow's (the SVG's ``data-owner``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.text import Text  # noqa: E402

from eoslib.protocol_state import (  # noqa: E402
    _BIRTHS,
    first_step,
    states,  # noqa: E402
)
from eoslib.scenarios import SCENARIOS, run_scenario  # noqa: E402
from eoslib.viz import compare_bar, counts_bar, sweep, sweep_plot, timeline  # noqa: E402
from eoslib.viz.column import (  # noqa: E402
    CELL_TEXT_PX,
    COLUMN_PX,
    MAX_WIDTH_PX,
    MIN_TEXT_PX,
    enforce_min_text,
    figure_png,
)
from eoslib.viz.frame import frame_of  # noqa: E402
from eoslib.viz.lamport import LamportView  # noqa: E402
from eoslib.viz.logview import log_picture  # noqa: E402
from eoslib.viz.plots import agg_canvas  # noqa: E402
from eoslib.viz.svg import Box, Shaft, crossings, overlaps  # noqa: E402
from eoslib.viz.textmetrics import FONT, text_size  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = ("notebooks", "solutions", "exercises")


def _moments(r) -> list[int]:
    """Key steps of a run: each anomaly's first step, the first poll, the middle, the end."""
    n = len(r.trace)
    steps = {n - 1, n // 2}
    steps |= {s for w in _BIRTHS if (s := first_step(r, w)) is not None}
    steps |= {next((e["i"] for e in r.trace if e["kind"] == "poll"), n - 1)}
    return sorted(steps)


def _cut(cut) -> list[tuple[str, str]]:
    return [(b.text, f"{s.owner or 'arrow'} ({s.x0:g},{s.y0:g})->({s.x1:g},{s.y1:g})")
            for b, s in cut[:3]]


def _check_picture(pic, where: str) -> None:
    assert pic.width <= MAX_WIDTH_PX, f"{where}: {pic.width} px wide, wider than the column"
    texts = [b for b in pic.boxes if b.kind == "text"]
    assert texts, where
    small = min(texts, key=lambda b: b.size)
    assert small.size >= MIN_TEXT_PX, f"{where}: {small.text!r} at {small.size} px"
    cells = [b for b in texts if b.owner.startswith("cell") and b.size > MIN_TEXT_PX]
    assert all(b.size >= CELL_TEXT_PX for b in cells), where
    clash = overlaps(pic.boxes)
    assert not clash, f"{where}: {[(a.text, b.text) for a, b in clash[:3]]}"
    cut = crossings(pic.boxes, pic.shafts)
    assert not cut, f"{where}: labels across another arrow: {_cut(cut)}"
    out = [b for b in pic.boxes if b.x0 < -0.5 or b.y0 < -0.5 or b.x1 > pic.width + 0.5
           or b.y1 > pic.height + 0.5]
    assert not out, f"{where}: outside the picture: {[b.text for b in out[:3]]}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_view_at_every_key_moment_is_legible(name: str) -> None:
    r = run_scenario(name, seed=1, messages=12)
    view = LamportView(r)
    moments = set(_moments(r))
    for st in states(r.trace):
        if st.step in moments:
            _check_picture(log_picture(st), f"{name} log view, step {st.step + 1}")
            _check_picture(view.picture(st.step), f"{name} Lamport view, step {st.step + 1}")
    f = frame_of(r)
    for pic in f._pics.values():
        _check_picture(pic, f"{name} dashboard frame")


def test_long_runs_stay_legible() -> None:
    """100 messages: the log view elides, the Lamport view shows a window; nothing shrinks."""
    r = run_scenario("pipeline", seed=1, messages=100, config={"transactions": True},
                     faults={"crash_step": "after_produce"})
    _check_picture(log_picture(next(s for s in states(r.trace) if s.step == len(r.trace) - 1)),
                   "pipeline x100 log view")
    view = LamportView(r)
    for step in (first_step(r, "crash"), len(r.trace) - 1):
        _check_picture(view.picture(step), f"pipeline x100 Lamport view, step {step + 1}")


def _chart_texts(fig):
    canvas = agg_canvas(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    hidden = set()  # tick labels outside their axis' view limits are never drawn
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis,
                                                                   sorted(ax.get_ylim()))):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden:
            out.append((t, t.get_window_extent(renderer)))
    return out


def _check_chart(fig, where: str) -> None:
    _, meta = figure_png(fig)  # what a notebook shows: texts raised to the minimum
    assert meta["eoslib"]["min_text_px"] >= MIN_TEXT_PX - 0.05, (where, meta)
    px_per_pt = fig.dpi / 72 * min(1.0, COLUMN_PX / (fig.get_figwidth() * fig.dpi))
    texts = _chart_texts(fig)
    for t, _ in texts:
        assert t.get_fontsize() * px_per_pt >= MIN_TEXT_PX - 0.05, (where, t.get_text())
    box = fig.bbox
    for k, (a, ea) in enumerate(texts):
        assert ea.x0 >= box.x0 - 1 and ea.x1 <= box.x1 + 1 and ea.y0 >= box.y0 - 1 \
            and ea.y1 <= box.y1 + 1, f"{where}: {a.get_text()!r} is cut by the figure edge"
        for b, eb in texts[k + 1:]:
            inter = (min(ea.x1, eb.x1) - max(ea.x0, eb.x0), min(ea.y1, eb.y1) - max(ea.y0, eb.y0))
            assert not (inter[0] > 1 and inter[1] > 1), \
                f"{where}: {a.get_text()!r} on {b.get_text()!r}"


def test_charts_are_legible_as_a_notebook_shows_them() -> None:
    dup = run_scenario("producer-retry", seed=1, messages=50,
                       config={"enable.idempotence": False})
    ok = run_scenario("producer-retry", seed=1, messages=50)
    table = sweep("producer-retry", "response_loss", [0.0, 0.1, 0.2], [1, 2],
                  {"at-least-once": {"enable.idempotence": False}, "idempotent": {}},
                  progress=False, )
    txn = run_scenario("read-committed", seed=1, messages=30)
    charts = {"counts_bar": counts_bar(dup),
              "compare_bar": compare_bar({"idempotence off": dup, "idempotence on": ok}),
              "sweep_plot": sweep_plot(table),
              "timeline": timeline(txn)}
    for name, fig in charts.items():
        _check_chart(fig, name)


def test_enforce_min_text_raises_a_too_small_font() -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4))  # 1,100 px at 100 dpi: shrunk into the column
    plt.close(fig)
    ax.legend(handles=ax.plot([0, 1], label="x"), fontsize=8)
    smallest = enforce_min_text(fig)
    assert smallest >= MIN_TEXT_PX - 0.01


# -- committed outputs ---------------------------------------------------------------------
_FONT = re.compile(r'font-size[=:]\s*"?([0-9.]+)(px|pt)?')
_WIDTH = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)(px|pt)?"')
_VIEWBOX = re.compile(r'<svg[^>]*?\sviewBox="[0-9.\-]+ [0-9.\-]+ ([0-9.]+) [0-9.]+"')


def svg_min_text_px(svg: str) -> float:
    """The smallest text of an SVG output as displayed in the column (CSS px)."""
    w = _WIDTH.search(svg)
    vb = _VIEWBOX.search(svg)
    width_px = float(w.group(1)) * (96 / 72 if w.group(2) == "pt" else 1.0) if w else COLUMN_PX
    units = width_px / float(vb.group(1)) if vb else 1.0  # px per user unit
    sizes = [float(m.group(1)) * (96 / 72 if m.group(2) == "pt" else 1.0)
             for m in _FONT.finditer(svg)]
    if not sizes:
        return float("inf")
    return min(sizes) * units * min(1.0, COLUMN_PX / width_px)


_SVG = "{http://www.w3.org/2000/svg}"


def svg_crossings(svg: str) -> list[tuple[Box, Shaft]]:
    """Labels across an arrow's shaft in a saved SVG the course drew (its font is the one
    :mod:`eoslib.viz.svg` measures): shafts are the lines with an arrowhead or a
    ``data-owner``; a text with the same ``data-owner`` is that arrow's own label."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    if root.get("font-family") != FONT:
        return []  # not drawn by eoslib.viz.svg (e.g. matplotlib's): nothing to measure
    shafts = [Shaft(*(float(e.get(k)) for k in ("x1", "y1", "x2", "y2")),
                    e.get("data-owner", "")) for e in root.iter(f"{_SVG}line")
              if e.get("marker-end") or e.get("data-owner")]
    boxes = []
    for e in root.iter(f"{_SVG}text"):
        spans = e.findall(f"{_SVG}tspan")
        text = "\n".join(t.text or "" for t in spans) if spans else (e.text or "")
        size, bold = float(e.get("font-size")), e.get("font-weight") == "bold"
        w, h = text_size(text, size, bold)
        x, y = float(e.get("x")), float(e.get("y"))
        x0 = x - {"middle": w / 2, "end": w}.get(e.get("text-anchor", "start"), 0.0)
        boxes.append(Box(x0, y - 0.95 * size, x0 + w, y - 0.95 * size + h, "text", text,
                         size, e.get("data-owner", "")))
    return crossings(boxes, shafts)


def _pictures(nb: dict) -> list[tuple[int, str, float | None]]:
    """(cell, kind, smallest text px or None when not measurable) per picture output."""
    out = []
    for k, cell in enumerate(nb["cells"]):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                svg = "".join(svg) if isinstance(svg, list) else svg
                out.append((k, "svg", svg_min_text_px(svg)))
                cut = svg_crossings(svg)
                assert not cut, f"cell {k}: labels across another arrow: {_cut(cut)}"
            elif "image/png" in data and "application/vnd.jupyter.widget-view+json" not in data:
                meta = o.get("metadata", {}).get("image/png", o.get("metadata", {}))
                got = (meta.get("eoslib") or {}).get("min_text_px")
                out.append((k, "png", got))
    return out


def _notebooks() -> list[Path]:
    return sorted(p for d in NOTEBOOK_DIRS for p in (REPO / d).glob("*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_pictures_are_legible(path: Path) -> None:
    pics = _pictures(json.loads(path.read_text()))
    if any(kind == "png" and px is None for _, kind, px in pics):
        pytest.xfail(f"{path.name} holds PNG outputs from before the legible pictures: "
                     "its owner re-executes it (bash scripts/execute-notebooks)")
    small = [(k, kind, px) for k, kind, px in pics if px is not None and px < MIN_TEXT_PX - 0.05]
    assert not small, f"{path.name}: text under {MIN_TEXT_PX} px in cells {small}"


def test_the_svg_measure_reads_sizes_and_scale() -> None:
    svg = '<svg width="1760" viewBox="0 0 1760 100"><text font-size="12">a</text></svg>'
    assert svg_min_text_px(svg) == pytest.approx(6.0)  # shrunk to half in the column
    mpl = '<svg width="504pt" viewBox="0 0 504 200"><text style="font-size: 9px">b</text></svg>'
    assert svg_min_text_px(mpl) == pytest.approx(12.0)  # 9 user units = 9 pt = 12 px


def test_a_picture_output_carries_svg_and_a_2x_png_for_untrusted_notebooks() -> None:
    """JupyterLab renders no SVG in a notebook it does not trust (one just cloned): the PNG
    of the same drawing, at twice the pixels and shown at 1x, is what it shows there."""
    import base64
    import io

    import PIL.Image

    from eoslib.viz import log_view

    pic = log_view(run_scenario("producer-retry", seed=1, messages=6))
    data, meta = pic._repr_mimebundle_()
    assert data["image/svg+xml"] == pic.svg and data["text/plain"] == pic.alt
    image = PIL.Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
    assert image.size == (round(2 * pic.width), round(2 * pic.height))
    assert meta["image/png"]["width"] == round(pic.width)
    assert meta["image/png"]["eoslib"]["min_text_px"] >= MIN_TEXT_PX


def test_the_whiteboard_pictures_are_legible() -> None:
    from eoslib.viz import fencing_picture, hanging_picture, write_cycle_picture

    fenced = run_scenario("zombie-fencing", seed=1, config={"transactions": True})
    timed_out = run_scenario("transaction-timeout", seed=1)
    for name, pic in {"fencing": fencing_picture(fenced),
                      "fencing (timeout)": fencing_picture(timed_out),
                      "hanging": hanging_picture(timed_out),
                      "write cycle": write_cycle_picture({"x": ["T1-a", "T2-a", "T1-b"],
                                                          "y": ["T2-b", "T1-c"]})}.items():
        _check_picture(pic, name)


def test_no_label_crosses_another_arrow_in_a_dense_row() -> None:
    """Notebook 02 §7: a new producer's first three requests leave in the same millisecond
    (the first refused, the second written); each label touches its own arrow only."""
    r = run_scenario("reorder", seed=1, messages=30, faults={"error_prob": 0.3},
                     config={"enable.idempotence": True, "client": "librdkafka"})
    implicit = next(e["i"] for e in r.trace if e["label"].startswith("implicitly acked"))
    pic = LamportView(r).picture(implicit)
    labels = [b for b in pic.boxes if b.kind == "text" and b.owner.startswith("a")]
    assert len(labels) >= 7 and len(pic.shafts) >= 7  # every arrow drawn and labelled
    _check_picture(pic, "02 §7 Lamport view")
    assert svg_crossings(pic.svg) == [], "the saved SVG must say the same"


def test_the_shaft_check_sees_a_label_across_another_arrow() -> None:
    from eoslib.viz.svg import Drawing

    d = Drawing(200)
    d.line(10, 10, 190, 60, arrow="#222222", owner="a1")
    d.line(10, 40, 190, 40, arrow="#222222", owner="a2")
    d.text(60, 44, "on a2, across a1", size=11, owner="a2")
    pic = d.picture("test")
    assert [(b.text, s.owner) for b, s in crossings(pic.boxes, pic.shafts)] == \
        [("on a2, across a1", "a1")]
    assert [(b.owner, s.owner) for b, s in svg_crossings(pic.svg)] == [("a2", "a1")]
