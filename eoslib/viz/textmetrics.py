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


_BREAK_AFTER = "_-#/.:= "


def wrap_px(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """``text`` broken into lines no wider than ``width`` px, only after a space or one of
    ``_ - # / . : =`` (names such as ``__consumer_offsets-1`` break at their own joints, never
    mid-word); a piece with no break point wider than ``width`` stays whole on its line."""
    pieces, cur = [], ""
    for ch in text:
        cur += ch
        if ch in _BREAK_AFTER and cur.strip(_BREAK_AFTER):  # never a piece of joints only
            pieces.append(cur)
            cur = ""
    if cur:
        if pieces and len(cur) <= 2:  # "offsets-1" keeps its short tail
            pieces[-1] += cur
        else:
            pieces.append(cur)
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and text_width((line + piece).rstrip(), size, bold) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]
