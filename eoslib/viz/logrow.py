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
from eoslib.viz.svg import Box, Drawing
from eoslib.viz.textmetrics import text_width

#: Cells kept at the start of an elided row (the rest are the newest and the marked ones).
HEAD_CELLS = 4
#: A row with fewer slots than this keeps only its first cell at the start.
NARROW_ROW = 12
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

    # a narrow row (long values) keeps one head cell: its room goes to the marked offsets
    keep = set(range(min(HEAD_CELLS if fit >= NARROW_ROW else 1, fit - 4)))
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
    """Draw pointer labels, each with a small arrow up to its x, on lines under ``y``: no
    label on a label, no arrow through a label (pointers at the same x share one label,
    ``"end: HW=6 · position=6"``, each part in its colour); returns the y under the last
    line."""
    groups: list[tuple[float, list[tuple[str, str]]]] = []
    for x, text, colour in sorted(items, key=lambda it: it[0]):
        if groups and abs(groups[-1][0] - x) < 0.5:
            groups[-1][1].append((text, colour))
        else:
            groups.append((x, [(text, colour)]))
    sep = " · "
    spans = []  # (x, left, width) of each group's label
    for x, parts in groups:
        w = text_width(sep.join(t for t, _ in parts), size) + 6
        spans.append((x, min(max(x - w / 2, x_min), x_max - w), w))
    # the first order that needs no compromise: left to right, narrow first, right to left
    orders = [list(range(len(groups))),
              sorted(range(len(groups)), key=lambda n: spans[n][2]),
              list(range(len(groups) - 1, -1, -1))]
    best = min((_lines(spans, order) for order in orders),
               key=lambda r: (r[1], max(r[0], default=0)))
    line = best[0]
    line_h = size * 1.35
    bottom = y
    for n, (x, parts) in enumerate(groups):
        left = spans[n][1]
        ty = y + 12 + line[n] * line_h + size
        owner = f"pointer{n}@{round(x)}"
        d.line(x, ty - size - 1, x, y + 1, stroke=parts[0][1], sw=1.2, arrow=parts[0][1])
        d.boxes.append(Box(x - 1, y + 3, x + 1, ty - size - 1, "marker", owner=owner))
        tx = left + 3
        for m, (text, colour) in enumerate(parts):
            if m:  # SVG drops a text's leading space: step over it instead
                tx += text_width(" ", size)
                text = sep.strip() + " " + text
            d.text(tx, ty, text, size=size, color=colour, halo=True, owner=owner)
            tx += text_width(text, size)
        bottom = max(bottom, ty + 4)
    return bottom


def _lines(spans: list[tuple[float, float, float]], order: list[int]
           ) -> tuple[list[int], int]:
    """The line of each label, placed in ``order`` on the first line where it sits on no
    label, its arrow crosses no label and it covers no arrow; and how many labels found no
    such line (those keep only off other labels)."""
    placed: dict[int, int] = {}
    compromises = 0

    def free(n: int, k: int, strict: bool) -> bool:
        x, left, w = spans[n]
        for m, j in placed.items():
            mx, ml, mw = spans[m]
            if j == k and left < ml + mw and ml < left + w:
                return False  # on a label
            if strict and j < k and ml - 1 <= x <= ml + mw + 1:
                return False  # our arrow through it
            if strict and j > k and left - 1 <= mx <= left + w + 1:
                return False  # on its arrow
        return True

    for n in order:
        lines = range(len(placed) + 1)
        k = next((k for k in lines if free(n, k, True)), None)
        if k is None:
            compromises += 1
            k = next(k for k in lines if free(n, k, False))
        placed[n] = k
    return [placed[n] for n in range(len(spans))], compromises
