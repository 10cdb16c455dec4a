"""Text metrics: how wide a line of text is in DejaVu Sans, the font every picture asks for.

Shared by the SVG writer (:mod:`eoslib.viz.svg`, to place labels where they do not collide)
and the PNG raster (:mod:`eoslib.viz.raster`, to anchor text as the SVG does).
"""

from __future__ import annotations

import functools
from typing import Any

#: The font the SVG asks for (DejaVu Sans first: the metrics used to measure text).
FONT = "DejaVu Sans, Bitstream Vera Sans, Verdana, Geneva, sans-serif"
#: Line height of multi-line text, as a multiple of the font size.
LINE = 1.2


@functools.cache
def _font(bold: bool) -> Any:
    """matplotlib's DejaVu Sans (bold or not) at 100 px, for measuring."""
    from matplotlib import font_manager, ft2font

    path = font_manager.findfont(font_manager.FontProperties(
        family="DejaVu Sans", weight="bold" if bold else "normal"))
    font = ft2font.FT2Font(path)
    font.set_size(100, 72)
    return font


_ADVANCE: dict[tuple[str, bool], float] = {}


def _advance(ch: str, bold: bool) -> float:
    """The advance of one character in em (a missing glyph counts as a wide one)."""
    key = (ch, bold)
    got = _ADVANCE.get(key)
    if got is None:
        from matplotlib import ft2font

        font = _font(bold)
        if font.get_char_index(ord(ch)) == 0:
            got = 1.0
        else:
            glyph = font.load_char(ord(ch), flags=ft2font.LoadFlags.NO_HINTING)
            got = glyph.linearHoriAdvance / 65536 / 100
        _ADVANCE[key] = got
    return got


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in px of one line of ``text`` at font ``size`` px (DejaVu Sans)."""
    return size * sum(_advance(ch, bold) for ch in text)


def text_size(text: str, size: float, bold: bool = False) -> tuple[float, float]:
    """Width and height (px) of ``text`` (lines split at ``\\n``) at font ``size`` px."""
    lines = text.split("\n")
    return (max(text_width(line, size, bold) for line in lines),
            size * (1 + LINE * (len(lines) - 1)) + 0.25 * size)
