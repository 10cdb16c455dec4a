"""A partition's row in the log view: which cells fit the picture, and where they are drawn.

A row never shrinks a cell below readable: a log longer than the picture keeps its first
cells, the offsets that matter (pointers, open and aborted runs, markers, duplicates, in the
order :func:`eoslib.viz.logview` gives them) and the newest, and draws "… N" where it hides
the rest (:func:`elide`). :func:`labels_on_lines` places pointer labels so that none sits on
another.
"""

from __future__ import annotations

from eoslib.protocol_state import Cell, PartitionState
from eoslib.viz.column import TEXT_PX
from eoslib.viz.svg import Drawing, text_width

#: Cells kept at the start of an elided row (the rest are the newest and the marked ones).
HEAD_CELLS = 4
#: The narrowest cell (px); a row's cells widen to fit its longest value.
MIN_CELL_W = 44.0


def cell_value(c: Cell) -> str:
    """What a cell says: its value, or ``C``/``A`` for a COMMIT/ABORT marker."""
    return ("C" if c.control == "COMMIT" else "A") if c.control else c.value


class Row:
    """The cells of one partition that fit the picture, and where each offset is drawn."""

    def __init__(self, p: PartitionState, marks: list[int], x0: float, room: float) -> None:
        cells = sorted(p.cells, key=lambda c: c.offset)
        longest = max((text_width(cell_value(c), TEXT_PX["cell"]) for c in cells), default=0)
        self.cw = max(MIN_CELL_W, longest + 12)
        self.x0 = x0
        fit = max(8, int(room // self.cw))
        self.shown, self.gaps = elide(cells, marks, fit)
        self.x: dict[int, float] = {}
        k = 0
        for j, c in enumerate(self.shown):
            if j in self.gaps:
                k += 1
            self.x.setdefault(c.offset, x0 + k * self.cw)
            k += 1
        self.end = x0 + (k + (1 if len(self.shown) in self.gaps else 0)) * self.cw
        self.leo = p.leo

    def boundary(self, offset: int) -> float:
        """x of the boundary before ``offset`` (the log end when past the last cell)."""
        if offset in self.x:
            return self.x[offset]
        if not self.shown or offset >= self.leo:
            return self.end
        before = [o for o in self.x if o < offset]
        return self.x[max(before)] + self.cw if before else self.x0


def elide(cells: list[Cell], marks: list[int], fit: int) -> tuple[list[Cell], dict[int, int]]:
    """The cells drawn and the gaps (position in the shown list -> cells hidden there):
    at most ``fit`` slots in all (an elision takes one): the first cells, the last one, the
    marked offsets in the order given (most important first, each with the cell before
    it), then as many of the newest as still fit."""
    if len(cells) <= fit:
        return cells, {}
    offsets = [c.offset for c in cells]
    index = {o: k for k, o in enumerate(offsets)}

    def cost(keep: set[int]) -> int:
        ks = sorted(keep)
        gaps = sum(1 for a, b in zip(ks, ks[1:], strict=False) if b > a + 1)
        return len(ks) + gaps + (1 if ks[-1] < len(offsets) - 1 else 0)

    keep = set(range(min(HEAD_CELLS, fit - 4)))
    keep.add(len(offsets) - 1)
    wanted: list[int] = []
    for m in marks:
        if m in index:
            wanted += [index[m], index[m] - 1] if index[m] > 0 else [index[m]]
    for k in wanted:
        if k not in keep and cost(keep | {k}) <= fit:
            keep.add(k)
    for k in range(len(offsets) - 2, -1, -1):  # then the newest, while they fit
        if k in keep:
            continue
        if cost(keep | {k}) > fit:
            break
        keep.add(k)
    shown: list[Cell] = []
    gaps: dict[int, int] = {}
    hidden = 0
    for k, c in enumerate(cells):
        if k in keep:
            if hidden:
                gaps[len(shown)] = hidden
                hidden = 0
            shown.append(c)
        else:
            hidden += 1
    if hidden:
        gaps[len(shown)] = hidden
    return shown, gaps


def labels_on_lines(d: Drawing, y: float, items: list[tuple[float, str, str]],
                     size: float, x_min: float, x_max: float) -> float:
    """Draw labels centred at their x on the first line where they fit (no label on a
    label), each with a small arrow up to its x; returns the y under the last line."""
    placed: list[list[tuple[float, float]]] = []
    line_h = size * 1.35
    bottom = y
    for x, text, colour in sorted(items):
        w = text_width(text, size) + 6
        left = min(max(x - w / 2, x_min), x_max - w)
        k = 0
        while k < len(placed) and any(left < b and a < left + w for a, b in placed[k]):
            k += 1
        if k == len(placed):
            placed.append([])
        placed[k].append((left, left + w))
        ty = y + 12 + k * line_h + size
        d.line(x, ty - size - 1, x, y + 1, stroke=colour, sw=1.2, arrow=colour)
        d.text(left + 3, ty, text, size=size, color=colour, halo=True)
        bottom = max(bottom, ty + 4)
    return bottom
