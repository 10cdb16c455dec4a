"""A PNG of an SVG :class:`~eoslib.viz.svg.Picture`, drawn again with matplotlib's Agg.

JupyterLab never renders ``image/svg+xml`` in a notebook it does not trust (a notebook just
opened from a clone is not trusted), but it does show ``image/png``. So each picture a
notebook keeps as output carries both: the SVG, and this PNG of the same drawing at twice
the resolution (shown at 1x: sharp at 200% zoom). The drawing is replayed from the
picture's recorded operations (rectangles, lines, paths, text) in CSS pixels, with the same
font (DejaVu Sans, matplotlib's own) and sizes, so both show the same thing.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.patheffects import withStroke

if TYPE_CHECKING:
    from eoslib.viz.svg import Picture

PT = 0.75  # points per CSS pixel
_HATCH = {"dots": "..", "cross": "xx", "diag": "//"}


def _colour(c: str) -> tuple[str, float]:
    if c.startswith("#") and len(c) == 9:
        return c[:7], int(c[7:], 16) / 255
    return c, 1.0


def _dash(dash: str | None) -> Any:
    if not dash:
        return "-"
    on_off = [float(v) / 1.0 for v in dash.split()]
    return (0, tuple(on_off))


def _svg_path(d: str) -> tuple[list[tuple[float, float]], list[int]]:
    """Vertices and codes of an SVG path made of M, L, Q and C commands."""
    verts: list[tuple[float, float]] = []
    codes: list[int] = []
    for cmd, args in re.findall(r"([MLQC])([^MLQC]*)", d):
        nums = [float(v) for v in re.findall(r"-?[0-9.]+", args)]
        pts = list(zip(nums[0::2], nums[1::2], strict=False))
        code = {"M": Path.MOVETO, "L": Path.LINETO, "Q": Path.CURVE3, "C": Path.CURVE4}[cmd]
        for p in pts:
            verts.append(p)
            codes.append(code)
    return verts, codes


def _head(ax: Any, x0: float, y0: float, x1: float, y1: float, colour: str) -> None:
    """An arrowhead (7 px) at (x1, y1), pointing from (x0, y0)."""
    import math

    ang = math.atan2(y1 - y0, x1 - x0)
    size = 7.0
    back = (x1 - size * math.cos(ang), y1 - size * math.sin(ang))
    left = (back[0] + 0.5 * size * math.sin(ang), back[1] - 0.5 * size * math.cos(ang))
    right = (back[0] - 0.5 * size * math.sin(ang), back[1] + 0.5 * size * math.cos(ang))
    ax.add_patch(Polygon([(x1, y1), left, right], closed=True, facecolor=colour,
                         edgecolor="none", zorder=3))


def to_png(pic: Picture, scale: float = 2.0) -> bytes:
    """PNG bytes of ``pic`` at ``scale`` pixels per CSS pixel."""
    fig = Figure(figsize=(pic.width / 96, pic.height / 96), dpi=96 * scale)
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, pic.width)
    ax.set_ylim(pic.height, 0)
    ax.set_axis_off()
    z = 1.0
    for kind, o in pic.ops:
        z += 0.001
        if kind == "rect":
            fill, alpha = _colour(o["fill"]) if o["fill"] != "none" else ("none", 1.0)
            cls = FancyBboxPatch if o["rx"] else Rectangle
            common = {"facecolor": fill, "alpha": None, "zorder": z,
                      "edgecolor": o["stroke"] if o["stroke"] != "none" else "none",
                      "linewidth": o["sw"] * PT if o["stroke"] != "none" else 0,
                      "linestyle": _dash(o["dash"])}
            if fill != "none" and alpha < 1:
                from matplotlib.colors import to_rgba

                common["facecolor"] = to_rgba(fill, alpha)
            if cls is Rectangle:
                patch = Rectangle((o["x"], o["y"]), o["w"], o["h"], **common)
            else:
                patch = FancyBboxPatch((o["x"], o["y"]), o["w"], o["h"],
                                       boxstyle=f"round,pad=0,rounding_size={o['rx']}",
                                       **common)
            ax.add_patch(patch)
            if o["hatch"]:
                ax.add_patch(Rectangle((o["x"], o["y"]), o["w"], o["h"], facecolor="none",
                                       edgecolor="#555555", linewidth=0,
                                       hatch=_HATCH.get(o["hatch"], "//"), zorder=z))
        elif kind == "line":
            ax.plot([o["x0"], o["x1"]], [o["y0"], o["y1"]], color=o["stroke"],
                    linewidth=o["sw"] * PT, linestyle=_dash(o["dash"]), zorder=z,
                    solid_capstyle="butt")
            if o["arrow"]:
                _head(ax, o["x0"], o["y0"], o["x1"], o["y1"], o["arrow"])
        elif kind == "path":
            verts, codes = _svg_path(o["d"])
            if verts:
                ax.add_patch(PathPatch(Path(verts, codes), facecolor="none",
                                       edgecolor=o["stroke"], linewidth=o["sw"] * PT,
                                       linestyle=_dash(o["dash"]), zorder=z))
                if o["arrow"] and len(verts) >= 2:
                    _head(ax, *verts[-2], *verts[-1], o["arrow"])
        elif kind == "text":
            effects = [withStroke(linewidth=3.5 * PT, foreground="white")] if o["halo"] else None
            lines = o["text"].split("\n")
            for k, line in enumerate(lines):
                ax.text(o["x"], o["y"] + k * 1.2 * o["size"], line, fontsize=o["size"] * PT,
                        family="DejaVu Sans", color=o["color"], va="baseline",
                        ha={"start": "left", "middle": "center", "end": "right"}[o["anchor"]],
                        fontweight="bold" if o["bold"] else "normal",
                        fontstyle="italic" if o["italic"] else "normal",
                        path_effects=effects, zorder=z + 0.5)
            if o["strike"] and len(lines) == 1:
                b = o["box"]
                ax.plot([b.x0 - 1, b.x1 + 1], [o["y"] - 0.33 * o["size"]] * 2,
                        color=o["color"], linewidth=1.4 * PT, zorder=z + 0.6)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    import PIL.Image

    image = PIL.Image.frombuffer("RGBA", canvas.get_width_height(physical=True),
                                 canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    # a drawing of flat colours: 64 colours keep the text's edges and make the file small
    image = image.quantize(colors=64, method=PIL.Image.Quantize.FASTOCTREE, dither=0)
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=6)
    return buf.getvalue()
