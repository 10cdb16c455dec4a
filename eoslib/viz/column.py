"""Sizes for JupyterLab's notebook column: the width a picture gets and the smallest text.

Every course picture is sized here, once. A picture shown in the notebook's output column
(about :data:`COLUMN_PX` CSS pixels wide at 100% zoom) is drawn at most :data:`MAX_WIDTH_PX`
wide, so the browser shows it 1:1 and a font of 12 px *is* 12 px on screen. Text is never
smaller than :data:`MIN_TEXT_PX` as displayed; the text inside a log cell never smaller than
:data:`CELL_TEXT_PX`.

The mechanism pictures (log view, Lamport view, whiteboard pictures) are SVG written by
:mod:`eoslib.viz.svg` in CSS pixels. The charts (bars, sweeps, timelines) are matplotlib
figures; :func:`chart_style` gives them font sizes in points that are at least
:data:`MIN_TEXT_PX` once shown (SVG: 1 pt = 4/3 px), and :func:`use_svg_in_notebooks` makes
the inline backend emit deterministic SVG (text kept as text, fixed ids, no date).
"""

from __future__ import annotations

from typing import Any

#: The output width of JupyterLab's default notebook column at 100% zoom (CSS px).
COLUMN_PX = 880
#: The widest picture the course draws: it fits the column even with JupyterLab's file
#: browser open on a 1280 px screen (an output area of about 830 px), so it shows 1:1.
MAX_WIDTH_PX = 820
#: No text smaller than this, as displayed (CSS px = the font's em size on screen).
MIN_TEXT_PX = 11.0
#: The value written in a log cell: never smaller than this.
CELL_TEXT_PX = 12.0
#: CSS pixels per typographic point (SVG and CSS: 96 px = 72 pt = 1 inch).
PX_PER_PT = 96 / 72

#: The text sizes the SVG pictures use (px). Every size is >= MIN_TEXT_PX.
TEXT_PX = {"small": 11.0, "label": 12.0, "cell": 12.5, "name": 13.0, "title": 14.0}


def shown_scale(width_px: float, column_px: float = COLUMN_PX) -> float:
    """How much the browser shrinks a picture ``width_px`` wide into the column (<= 1)."""
    return min(1.0, column_px / width_px) if width_px > 0 else 1.0


def shown_px(size_px: float, width_px: float, column_px: float = COLUMN_PX) -> float:
    """The displayed height of text of ``size_px`` in a picture ``width_px`` wide."""
    return size_px * shown_scale(width_px, column_px)


def chart_pt(px: float, fig_width_in: float) -> float:
    """The font size (pt) that shows as ``px`` CSS pixels in a figure ``fig_width_in`` wide
    rendered as SVG (1 in = 96 px) and shrunk into the column if wider than it."""
    scale = shown_scale(fig_width_in * 96.0)
    return round(px / PX_PER_PT / scale, 2)


#: matplotlib settings for every chart (pt sizes: 9 pt = 12 px, 8.5 pt = 11.3 px).
CHART_RC: dict[str, Any] = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "figure.titlesize": 11.0,
    "svg.fonttype": "none",  # text stays text: sharp, searchable, measurable
    "svg.hashsalt": "eoslib",  # fixed ids: the same figure gives the same SVG
    "svg.id": "eoslib",
}
#: The margin (inches) around a chart saved for a notebook.
PAD_IN = 0.05
#: The smallest font size (pt) any chart may use: MIN_TEXT_PX at 1:1.
MIN_CHART_PT = MIN_TEXT_PX / PX_PER_PT
#: savefig keywords that keep SVG output the same on every run and machine.
SVG_SAVE: dict[str, Any] = {"metadata": {"Date": None, "Creator": None}}


def chart_style() -> dict[str, Any]:
    """The rcParams the charts use (see :data:`CHART_RC`); apply with ``rc_context``."""
    import matplotlib

    known = set(matplotlib.rcParams)
    return {k: v for k, v in CHART_RC.items() if k in known}


def apply_chart_style() -> None:
    """Set :data:`CHART_RC` in matplotlib's rcParams (what importing :mod:`eoslib.viz`
    does, so a notebook's own ``plt.subplots`` charts are legible too)."""
    import matplotlib

    matplotlib.rcParams.update(chart_style())


def enforce_min_text(fig: Any, min_px: float = MIN_TEXT_PX,
                     column_px: float = COLUMN_PX) -> float:
    """Raise every text of matplotlib figure ``fig`` that would show smaller than ``min_px``
    in the column to ``min_px``: its size in px is pt x dpi/72, shrunk when the figure (with
    whatever sticks out of it, as a tight bounding box saves it) is wider than the column.
    Returns the smallest displayed text size after that (px)."""
    from matplotlib.text import Text

    from eoslib.viz.plots import agg_canvas

    smallest = min_px
    for _ in range(3):  # bigger text can widen the tight box: measure again
        canvas = agg_canvas(fig)
        canvas.draw()  # lays out and creates the tick labels
        tight = fig.get_tightbbox(canvas.get_renderer())
        width_px = max(fig.get_figwidth(), tight.width + 2 * PAD_IN) * fig.dpi
        px_per_pt = fig.dpi / 72 * shown_scale(width_px, column_px)
        smallest = float("inf")
        raised = False
        for t in fig.findobj(Text):
            if not t.get_visible() or not t.get_text().strip():
                continue
            if t.get_fontsize() * px_per_pt < min_px - 1e-6:
                t.set_fontsize(round(min_px / px_per_pt + 0.01, 2))
                raised = True
            smallest = min(smallest, t.get_fontsize() * px_per_pt)
        if not raised:
            break
    return round(smallest, 2) if smallest != float("inf") else min_px


def figure_png(fig: Any) -> tuple[bytes, dict[str, Any]]:
    """A matplotlib figure as a notebook output: a PNG at twice the figure's dpi, shown at
    1x (sharp at 200% zoom), every text at least :data:`MIN_TEXT_PX` as displayed; the
    metadata holds the width to show it at and the smallest text (``eoslib.min_text_px``),
    which ``tests/test_legibility.py`` reads from the committed outputs."""
    import io

    enforce_min_text(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=2 * fig.dpi, bbox_inches="tight", pad_inches=PAD_IN,
                facecolor="white", metadata={"Software": None})
    data = buf.getvalue()
    import struct

    w, h = struct.unpack(">II", data[16:24])
    width = w // 2
    meta = {"width": width, "height": h // 2,
            "eoslib": {"min_text_px": _smallest_shown(fig, width), "column_px": COLUMN_PX}}
    return data, meta


def _smallest_shown(fig: Any, width_px: float) -> float:
    """The smallest visible text of ``fig`` as shown, the picture being ``width_px`` wide."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    px = min(sizes, default=MIN_CHART_PT) * fig.dpi / 72 * shown_scale(width_px)
    return float(round(px, 2))


def use_in_notebooks() -> bool:
    """In a Jupyter kernel: show matplotlib figures through :func:`figure_png` (legible,
    sharp) and set :data:`CHART_RC`. Returns False elsewhere (nothing changed)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return False
    from matplotlib.figure import Figure

    apply_chart_style()

    def register(*_: Any) -> None:
        formatters = shell.display_formatter.formatters
        formatters["image/png"].for_type(Figure, figure_png)
        for mime in ("image/svg+xml", "application/pdf", "image/jpeg"):
            formatters[mime].pop(Figure, None)

    try:  # load the inline backend now: it registers its own formatter when it loads
        import matplotlib.pyplot as plt

        plt._get_backend_mod()
    except Exception:  # pragma: no cover - a private helper that may move
        pass
    register()
    # and take ours back before every cell, should anything register another
    if register not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", register)
    return True
