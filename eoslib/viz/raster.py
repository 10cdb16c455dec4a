"""A PNG of an SVG :class:`~eoslib.viz.svg.Picture`, drawn again with matplotlib's Agg.

JupyterLab never renders ``image/svg+xml`` in a notebook it does not trust (a notebook just
opened from a clone is not trusted), but it does show ``image/png``. So each picture a
notebook keeps as output carries both: the SVG, and this PNG of the same drawing at twice
the resolution (shown at 1x: sharp at 200% zoom). The drawing is replayed from the
picture's recorded operations (rectangles, lines, paths, text), in their order, straight
onto matplotlib's Agg renderer (no figure, no artists: about twice as fast), in CSS pixels,
with the same font (DejaVu Sans, matplotlib's own) and sizes, so both show the same thing.
A text's white halo is its glyphs' mask widened by the halo's radius. The PNG of an SVG is
kept in memory (:func:`to_png` caches by content), so showing a picture again costs nothing.
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any, Protocol

import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.colors import to_rgba
from matplotlib.patches import BoxStyle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from eoslib.viz.textmetrics import text_width


class Drawn(Protocol):
    """What the raster needs of a drawing (:class:`eoslib.viz.svg.Picture` is one): its size
    in CSS px, the operations it was drawn with, and its SVG text (the cache key)."""

    width: float
    height: float
    ops: list[tuple[str, dict[str, Any]]]
    svg: str


_HATCH = {"dots": "..", "cross": "xx", "diag": "//"}
_HATCH_INK = (1 / 3, 1 / 3, 1 / 3, 1.0)  # #555555
#: A text's white halo: its radius in CSS px (the SVG's stroke of 3.5 px, half each side).
HALO_PX = 1.75
#: Arrowheads are this long (CSS px).
HEAD_PX = 7.0
_ANCHOR = {"start": 0.0, "middle": 0.5, "end": 1.0}


@functools.cache
def _rgba(c: str) -> tuple[float, float, float, float]:
    """``#rrggbb``, ``#rrggbbaa`` or a named colour as an RGBA tuple."""
    if c.startswith("#") and len(c) == 9:
        return to_rgba(c[:7], int(c[7:], 16) / 255)
    return to_rgba(c)


def _svg_path(d: str) -> tuple[list[tuple[float, float]], list[int]]:
    """Vertices and codes of an SVG path made of M, L, Q and C commands."""
    import re

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


@functools.cache
def _font(bold: bool, italic: bool) -> Any:
    """matplotlib's DejaVu Sans file (bold/italic as asked) as an FT2Font."""
    path = font_manager.findfont(font_manager.FontProperties(
        family="DejaVu Sans", weight="bold" if bold else "normal",
        style="italic" if italic else "normal"))
    return ft2font.FT2Font(path)


@functools.cache
def _disc(radius: float) -> tuple[tuple[int, int], ...]:
    """The pixel offsets within ``radius`` of a pixel (the halo's brush)."""
    n = math.ceil(radius)
    return tuple((dx, dy) for dx in range(-n, n + 1) for dy in range(-n, n + 1)
                 if dx * dx + dy * dy <= radius * radius + 0.5)


@functools.lru_cache(maxsize=4096)
def _glyphs(line: str, px: float, bold: bool, italic: bool, halo: float
            ) -> tuple[Any, Any, float, float]:
    """The coverage mask of ``line`` at ``px`` device pixels, its halo mask (the mask
    widened by ``halo`` px, or None) and the offsets from the pen position to the mask's
    left and bottom edges. Cached: labels repeat across a notebook's pictures."""
    font = _font(bold, italic)
    font.clear()
    font.set_size(px, 72)
    font.set_text(line, 0.0, flags=get_hinting_flag())
    font.draw_glyphs_to_bitmap(antialiased=True)
    mask = np.asarray(font.get_image()).copy()
    xo, yo = font.get_bitmap_offset()
    wide = None
    if halo:
        n = math.ceil(halo)
        wide = np.zeros((mask.shape[0] + 2 * n, mask.shape[1] + 2 * n), np.uint8)
        for dx, dy in _disc(halo):
            part = wide[n + dy:n + dy + mask.shape[0], n + dx:n + dx + mask.shape[1]]
            np.maximum(part, mask, out=part)
    return mask, wide, xo / 64, yo / 64 + font.get_descent() / 64


class _Canvas:
    """An Agg renderer that takes CSS px (y down) and draws at ``scale`` device px each."""

    def __init__(self, width: float, height: float, scale: float) -> None:
        self.scale = scale
        self.w, self.h = math.ceil(width * scale), math.ceil(height * scale)
        # at 72*scale dpi one point is ``scale`` device px: line widths and dashes given in
        # CSS px come out right
        self.r = RendererAgg(self.w, self.h, 72 * scale)
        self.tr = Affine2D().scale(scale, -scale).translate(0, self.h)
        self.fill(Path([(0, 0), (width, 0), (width, height), (0, height), (0, 0)],
                       closed=True), (1.0, 1.0, 1.0, 1.0))

    def _gc(self, stroke: str = "none", sw: float = 0.0, dash: str | None = None) -> Any:
        gc = self.r.new_gc()
        gc.set_antialiased(True)
        gc.set_capstyle("butt")
        gc.set_joinstyle("miter")
        if stroke == "none" or sw <= 0:
            gc.set_linewidth(0)
        else:
            gc.set_foreground(_rgba(stroke), isRGBA=True)
            gc.set_linewidth(sw)
            gc.set_dashes(0, [float(v) for v in dash.split()] if dash else None)
        return gc

    def fill(self, path: Path, rgba: tuple[float, ...] | None, stroke: str = "none",
             sw: float = 0.0, dash: str | None = None, hatch: str | None = None) -> None:
        gc = self._gc(stroke, sw, dash)
        self.r.draw_path(gc, path, self.tr, rgba)
        gc.restore()
        if hatch:
            gc = self._gc()
            gc.set_hatch(_HATCH.get(hatch, "//"))
            gc.set_hatch_color(_HATCH_INK)
            self.r.draw_path(gc, path, self.tr, None)
            gc.restore()

    def stroke(self, path: Path, colour: str, sw: float, dash: str | None = None) -> None:
        gc = self._gc(colour, sw, dash)
        self.r.draw_path(gc, path, self.tr, None)
        gc.restore()

    def head(self, x0: float, y0: float, x1: float, y1: float, colour: str) -> None:
        """An arrowhead at (x1, y1), pointing from (x0, y0)."""
        ang = math.atan2(y1 - y0, x1 - x0)
        c, s = math.cos(ang), math.sin(ang)
        bx, by = x1 - HEAD_PX * c, y1 - HEAD_PX * s
        half = 0.5 * HEAD_PX
        self.fill(Path([(x1, y1), (bx + half * s, by - half * c), (bx - half * s, by + half * c),
                        (x1, y1)], closed=True), _rgba(colour))

    def text(self, x: float, y: float, line: str, size: float, bold: bool, italic: bool,
             colour: str, halo: bool) -> None:
        """One line of text, its baseline starting at (x, y) (CSS px)."""
        mask, wide, dx0, dy0 = _glyphs(line, size * self.scale, bold, italic,
                                       HALO_PX * self.scale if halo else 0.0)
        left = round(x * self.scale + dx0)
        bottom = round(y * self.scale + dy0) + 1
        if wide is not None:
            n = (wide.shape[1] - mask.shape[1]) // 2
            gc = self._gc()
            gc.set_foreground((1.0, 1.0, 1.0, 1.0), isRGBA=True)
            self.r._renderer.draw_text_image(wide, left - n, bottom + n, 0, gc)
            gc.restore()
        gc = self._gc()
        gc.set_foreground(_rgba(colour), isRGBA=True)
        self.r._renderer.draw_text_image(mask, left, bottom, 0, gc)
        gc.restore()

    def png(self) -> bytes:
        import PIL.Image

        image = PIL.Image.frombuffer("RGBA", (self.w, self.h), self.r.buffer_rgba(), "raw",
                                     "RGBA", 0, 1).convert("RGB")
        # a drawing of flat colours: 64 colours keep the text's edges and make the file small
        image = image.quantize(colors=64, method=PIL.Image.Quantize.FASTOCTREE, dither=0)
        buf = io.BytesIO()
        image.save(buf, format="png", compress_level=6)
        return buf.getvalue()


def _rect_path(o: dict[str, Any]) -> Path:
    x, y, w, h = o["x"], o["y"], o["w"], o["h"]
    if o["rx"]:
        return BoxStyle.Round(pad=0, rounding_size=o["rx"])(x, y, w, h, 1.0)
    return Path([(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)], closed=True)


def render(pic: Drawn, scale: float = 2.0) -> bytes:
    """PNG bytes of ``pic`` at ``scale`` pixels per CSS pixel (not cached)."""
    cv = _Canvas(pic.width, pic.height, scale)
    for kind, o in pic.ops:
        if kind == "rect":
            cv.fill(_rect_path(o), None if o["fill"] == "none" else _rgba(o["fill"]),
                    o["stroke"], o["sw"], o["dash"], o["hatch"])
        elif kind == "line":
            cv.stroke(Path([(o["x0"], o["y0"]), (o["x1"], o["y1"])]), o["stroke"], o["sw"],
                      o["dash"])
            if o["arrow"]:
                cv.head(o["x0"], o["y0"], o["x1"], o["y1"], o["arrow"])
        elif kind == "path":
            verts, codes = _svg_path(o["d"])
            if verts:
                cv.stroke(Path(verts, codes), o["stroke"], o["sw"], o["dash"])
                if o["arrow"] and len(verts) >= 2:
                    cv.head(*verts[-2], *verts[-1], o["arrow"])
        elif kind == "text":
            lines = o["text"].split("\n")
            for k, line in enumerate(lines):
                if line:
                    x = o["x"] - _ANCHOR[o["anchor"]] * text_width(line, o["size"], o["bold"])
                    cv.text(x, o["y"] + k * 1.2 * o["size"], line, o["size"], o["bold"],
                            o["italic"], o["color"], o["halo"])
            if o["strike"] and len(lines) == 1:
                b, sy = o["box"], o["y"] - 0.33 * o["size"]
                cv.stroke(Path([(b.x0 - 1, sy), (b.x1 + 1, sy)]), o["color"], 1.4)
    return cv.png()


def to_png(pic: Drawn, scale: float = 2.0) -> bytes:
    """PNG bytes of ``pic`` at ``scale`` pixels per CSS pixel; the same SVG at the same
    scale is drawn once (the last 64 are kept)."""
    key = (pic.svg, float(scale))
    hit = _CACHE.get(key)
    if hit is None:
        hit = render(pic, scale)
        _CACHE[key] = hit
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return hit


#: How many PNGs :func:`to_png` keeps (by SVG and scale).
CACHE_SIZE = 64
_CACHE: dict[tuple[str, float], bytes] = {}


def clear_cache() -> None:
    """Forget every cached PNG and text bitmap (what a benchmark of the drawing calls
    first)."""
    _CACHE.clear()
    _glyphs.cache_clear()
