"""A small SVG writer for the course's diagrams: CSS-pixel units, measured text, no overlaps.

:class:`Drawing` collects shapes and text in CSS pixels and renders one deterministic SVG
string (the same drawing gives the same bytes on any machine). Text is measured with the
DejaVu Sans metrics matplotlib ships (:func:`text_width`), the font the SVG asks for first, so
a layout can place labels where they do not collide, and every text and marker leaves its box
in :attr:`Drawing.boxes` for the tests that look for overlaps and clipping; every arrow's
shaft (the drawn line) leaves a :class:`Shaft` in :attr:`Drawing.shafts`, so no label is placed
across another arrow (:func:`crossings`). The result is a :class:`Picture`: SVG text, alt text
and size, shown by Jupyter as ``image/svg+xml``. A shaft drawn with an ``owner`` and the texts
of that owner carry ``data-owner`` in the SVG, so a saved picture can be checked too.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eoslib.viz.column import MIN_TEXT_PX
from eoslib.viz.textmetrics import FONT, LINE, text_size


def num(v: float) -> str:
    """A coordinate as short, stable text (at most 1 decimal)."""
    r = round(float(v), 1)
    return str(int(r)) if r == int(r) else f"{r:.1f}"


@dataclass(frozen=True)
class Box:
    """The box a text or a marker takes, in px (y grows downwards), and what it is."""

    x0: float
    y0: float
    x1: float
    y1: float
    kind: str  # "text", "marker", "bar" (the step bar) ...
    text: str = ""
    size: float = 0.0  # font size (px) of a text
    owner: str = ""  # boxes with the same owner may touch (a label and its own marker)

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        """True if the two boxes share area (shrunk by ``pad`` on every side)."""
        return (min(self.x1, other.x1) - max(self.x0, other.x0) > 2 * pad
                and min(self.y1, other.y1) - max(self.y0, other.y0) > 2 * pad)


@dataclass(frozen=True)
class Shaft:
    """The drawn line of an arrow, in px, and the owner of its label (if any)."""

    x0: float
    y0: float
    x1: float
    y1: float
    owner: str = ""

    def crosses(self, box: Box, pad: float = 0.5) -> bool:
        """True if the segment passes through ``box`` shrunk by ``pad`` on every side
        (Liang-Barsky clipping)."""
        lo_x, hi_x, lo_y, hi_y = box.x0 + pad, box.x1 - pad, box.y0 + pad, box.y1 - pad
        if lo_x >= hi_x or lo_y >= hi_y:
            return False
        dx, dy = self.x1 - self.x0, self.y1 - self.y0
        t0, t1 = 0.0, 1.0
        for p, q in ((-dx, self.x0 - lo_x), (dx, hi_x - self.x0),
                     (-dy, self.y0 - lo_y), (dy, hi_y - self.y0)):
            if p == 0:
                if q < 0:
                    return False
                continue
            r = q / p
            if p < 0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
            if t0 > t1:
                return False
        return True


#: Hatch patterns (id -> SVG content): nothing rests on colour alone.
PATTERNS = {
    "dots": '<circle cx="3" cy="3" r="1.1" fill="#222222"/>',
    "cross": '<path d="M0,0 L7,7 M7,0 L0,7" stroke="#555555" stroke-width="0.6"/>',
    "diag": '<path d="M0,7 L7,0" stroke="#bd1f01" stroke-width="1"/>',
}


@dataclass
class Drawing:
    """Shapes and text in CSS px. ``width`` is fixed; the height grows with the content."""

    width: float
    height: float = 0.0
    parts: list[str] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    shafts: list[Shaft] = field(default_factory=list)
    ops: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # for raster.py
    _arrows: set[str] = field(default_factory=set)
    _patterns: set[str] = field(default_factory=set)

    def _grow(self, y: float) -> None:
        self.height = max(self.height, y)

    def raw(self, svg: str) -> None:
        """Add SVG markup as it is."""
        self.parts.append(svg)

    @contextmanager
    def group(self, **attrs: Any) -> Iterator[None]:
        """Wrap what is drawn inside in ``<g ...>`` (e.g. ``cls="reader"``, ``step=12``)."""
        text = "".join(f' {"class" if k == "cls" else "data-" + k}="{html.escape(str(v))}"'
                       for k, v in attrs.items() if v is not None)
        self.parts.append(f"<g{text}>")
        try:
            yield
        finally:
            self.parts.append("</g>")

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str = "none",
             stroke: str = "none", sw: float = 1.0, dash: str | None = None,
             hatch: str | None = None, rx: float = 0.0, opacity: float | None = None,
             box: str | None = None, owner: str = "") -> None:
        """A rectangle; ``hatch`` (a :data:`PATTERNS` name) is laid over the fill."""
        self.ops.append(("rect", {"x": x, "y": y, "w": w, "h": h, "fill": fill,
                                  "stroke": stroke, "sw": sw, "dash": dash, "hatch": hatch,
                                  "rx": rx}))
        fill, fop = _colour(fill)
        extra = f' fill-opacity="{fop}"' if fop is not None else ""
        extra += f' opacity="{opacity}"' if opacity is not None else ""
        extra += f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' rx="{num(rx)}"' if rx else ""
        self.parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" '
                          f'fill="{fill}" stroke="{stroke}" stroke-width="{num(sw)}"{extra}/>')
        if hatch:
            self._patterns.add(hatch)
            self.parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" '
                              f'height="{num(h)}" fill="url(#@P-{hatch})"/>')
        if box:
            self.boxes.append(Box(x, y, x + w, y + h, box, owner=owner))
        self._grow(y + h)

    def line(self, x0: float, y0: float, x1: float, y1: float, *, stroke: str = "#222222",
             sw: float = 1.0, dash: str | None = None, arrow: str | None = None,
             shaft: bool | None = None, owner: str = "") -> None:
        """A line; ``arrow`` (a colour) puts an arrowhead at its end. A line with an
        arrowhead is an arrow's shaft (``shaft=True``: one without, e.g. a lost message):
        no label but its ``owner``'s may cross it."""
        self.ops.append(("line", {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "stroke": stroke,
                                  "sw": sw, "dash": dash, "arrow": arrow}))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        if arrow:
            self._arrows.add(arrow)
            extra += f' marker-end="url(#@P-a{arrow.lstrip("#")})"'
        if arrow is not None if shaft is None else shaft:
            self.shafts.append(Shaft(x0, y0, x1, y1, owner))
            extra += _owner_token(owner)
        self.parts.append(f'<line x1="{num(x0)}" y1="{num(y0)}" x2="{num(x1)}" y2="{num(y1)}" '
                          f'stroke="{stroke}" stroke-width="{num(sw)}"{extra}/>')
        self._grow(max(y0, y1))

    def path(self, d: str, *, stroke: str = "#222222", sw: float = 1.0, fill: str = "none",
             arrow: str | None = None, dash: str | None = None) -> None:
        """A path (``d``: SVG's M, L, Q and C commands); ``arrow`` (a colour) puts an
        arrowhead at its end."""
        self.ops.append(("path", {"d": d, "stroke": stroke, "sw": sw, "fill": fill,
                                  "arrow": arrow, "dash": dash}))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        if arrow:
            self._arrows.add(arrow)
            extra += f' marker-end="url(#@P-a{arrow.lstrip("#")})"'
        self.parts.append(f'<path d="{d}" fill="{fill}" stroke="{stroke}" '
                          f'stroke-width="{num(sw)}"{extra}/>')

    def text(self, x: float, y: float, text: str, *, size: float = 12.0,
             anchor: str = "start", weight: str = "normal", color: str = "#222222",
             halo: bool = False, strike: bool = False, italic: bool = False,
             kind: str = "text", owner: str = "", valign: str = "baseline") -> Box:
        """Text at (x, y): ``y`` is the baseline of the first line (``valign="middle"``:
        the middle of the block). Returns (and records) the box it takes."""
        if size < MIN_TEXT_PX - 1e-9:
            raise ValueError(f"Invalid value {size!r} for size: text must be at least "
                             f"{MIN_TEXT_PX} px (the course's smallest readable size)")
        bold = weight == "bold"
        lines = text.split("\n")
        w, h = text_size(text, size, bold)
        if valign == "middle":
            y = y - h / 2 + 0.95 * size
        x0 = x - (w / 2 if anchor == "middle" else w if anchor == "end" else 0)
        box = Box(x0, y - 0.95 * size, x0 + w, y - 0.95 * size + h, kind, text, size, owner)
        attrs = (f'x="{num(x)}" y="{num(y)}" font-size="{num(size)}"'
                 + (f' text-anchor="{anchor}"' if anchor != "start" else "")
                 + (' font-weight="bold"' if bold else "")
                 + (' font-style="italic"' if italic else "")
                 + (f' fill="{color}"' if color != "#222222" else "")
                 + (' text-decoration="line-through"' if strike else "")
                 + _owner_token(owner)
                 + (' stroke="#ffffff" stroke-width="3.5" paint-order="stroke"'
                    ' stroke-linejoin="round"' if halo else ""))
        if len(lines) == 1:
            body = html.escape(text)
        else:
            body = "".join(f'<tspan x="{num(x)}" dy="{num(0 if k == 0 else LINE * size)}">'
                           f"{html.escape(line)}</tspan>" for k, line in enumerate(lines))
        self.parts.append(f"<text {attrs}>{body}</text>")
        self.ops.append(("text", {"x": x, "y": y, "text": text, "size": size,
                                  "anchor": anchor, "bold": bold, "color": color, "halo": halo,
                                  "strike": strike, "italic": italic, "box": box}))
        if strike and len(lines) == 1:  # drawn too: line-through varies between browsers
            self.parts.append(f'<line x1="{num(x0 - 1)}" y1="{num(y - 0.33 * size)}" '
                              f'x2="{num(x0 + w + 1)}" y2="{num(y - 0.33 * size)}" '
                              f'stroke="{color}" stroke-width="1.4"/>')
        self.boxes.append(box)
        self._grow(box.y1)
        return box

    def picture(self, alt: str, *, title: str = "", pad: float = 6.0) -> Picture:
        """The finished SVG with its alt text (``<title>``/``<desc>``)."""
        height = self.height + pad
        defs = []
        for name in sorted(self._patterns):
            defs.append(f'<pattern id="@P-{name}" width="7" height="7" '
                        f'patternUnits="userSpaceOnUse">{PATTERNS[name]}</pattern>')
        for colour in sorted(self._arrows):
            defs.append(f'<marker id="@P-a{colour.lstrip("#")}" viewBox="0 0 10 10" refX="9" '
                        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
        mine = {s.owner for s in self.shafts if s.owner}
        body = _OWNER.sub(lambda m: f' data-owner="{m[1]}"' if m[1] in mine else "",
                          "".join(self.parts))
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(self.width)}" '
                f'height="{num(height)}" viewBox="0 0 {num(self.width)} {num(height)}" '
                f'role="img" aria-labelledby="@P-t @P-d" font-family="{FONT}" '
                'fill="#222222">'
                f'<title id="@P-t">{html.escape(title or alt[:120])}</title>'
                f'<desc id="@P-d">{html.escape(alt)}</desc>'
                + (f"<defs>{''.join(defs)}</defs>" if defs else "")
                + '<rect width="100%" height="100%" fill="#ffffff"/>')
        svg = head + body + "</svg>"
        prefix = "e" + hashlib.sha1(svg.encode()).hexdigest()[:8]  # unique ids on one page
        return Picture(svg.replace("@P", prefix), alt, self.width, height, list(self.boxes),
                       list(self.ops), list(self.shafts))


_OWNER = re.compile("\x01([^\x02]*)\x02")


def _owner_token(owner: str) -> str:
    """A place for ``data-owner``: kept (by :meth:`Drawing.picture`) when a shaft has that
    owner, so only arrows and their labels carry it."""
    return f"\x01{html.escape(owner)}\x02" if owner else ""


def _colour(c: str) -> tuple[str, str | None]:
    """``#rrggbbaa`` -> (``#rrggbb``, opacity); other colours unchanged."""
    if c.startswith("#") and len(c) == 9:
        return c[:7], f"{int(c[7:], 16) / 255:.2f}"
    return c, None


@dataclass
class Picture:
    """A finished SVG picture: its text, alt text, size (px) and the boxes of its parts."""

    svg: str
    alt: str
    width: float
    height: float
    boxes: list[Box] = field(default_factory=list, repr=False)
    ops: list[tuple[str, dict[str, Any]]] = field(default_factory=list, repr=False)
    shafts: list[Shaft] = field(default_factory=list, repr=False)

    def min_text_px(self) -> float:
        """The smallest text of the picture (px; it is shown 1:1 in the column)."""
        return min((b.size for b in self.boxes if b.kind == "text"), default=0.0)

    def png(self, scale: float = 2.0) -> bytes:
        """The picture as PNG, ``scale`` pixels per CSS pixel (see :mod:`eoslib.viz.raster`)."""
        from eoslib.viz.raster import to_png

        return to_png(self, scale)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """SVG (sharp; what a trusted notebook and a code host show), a 2x PNG of it (what
        JupyterLab shows in a notebook it does not trust: it never renders SVG there),
        shown at 1x, and the alt text."""
        import base64

        png = base64.b64encode(self.png()).decode("ascii")
        meta = {"image/png": {"width": round(self.width), "height": round(self.height),
                              "eoslib": {"min_text_px": self.min_text_px()}}}
        return {"image/svg+xml": self.svg, "image/png": png, "text/plain": self.alt}, meta

    def img_html(self, css_class: str = "eoslib-picture") -> str:
        """The picture as an ``<img>`` with alt text (a data URI: ids stay private)."""
        import base64

        data = base64.b64encode(self.svg.encode()).decode("ascii")
        return (f'<img class="{css_class}" alt="{html.escape(self.alt)}" '
                f'width="{num(self.width)}" src="data:image/svg+xml;base64,{data}" '
                'style="max-width:100%;height:auto"/>')

    def save(self, path: str) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def __repr__(self) -> str:
        return f"<Picture {num(self.width)}x{num(self.height)} px: {self.alt[:80]}>"


def overlaps(boxes: list[Box], pad: float = 0.5) -> list[tuple[Box, Box]]:
    """Pairs of boxes that overlap: text on text, text on a marker or on the step bar
    (boxes with the same non-empty ``owner`` belong together and may touch)."""
    out = []
    items = [b for b in boxes if b.kind in ("text", "marker", "bar")]
    items.sort(key=lambda b: b.x0)
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if b.x0 >= a.x1:
                break
            if a.kind != "text" and b.kind != "text":
                continue
            if a.owner and a.owner == b.owner:
                continue
            if a.overlaps(b, pad):
                out.append((a, b))
    return out


def crossings(boxes: list[Box], shafts: list[Shaft], pad: float = 0.5) -> list[tuple[Box, Shaft]]:
    """Pairs (label, shaft) where a text crosses an arrow's shaft that is not its own arrow
    (a label sitting on its own arrow, the same non-empty ``owner``, is fine)."""
    return [(b, s) for b in boxes if b.kind == "text" for s in shafts
            if not (s.owner and s.owner == b.owner) and s.crosses(b, pad)]
