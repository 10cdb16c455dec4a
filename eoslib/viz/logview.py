"""The log view: each partition as a row of cells, the picture a teacher draws on a whiteboard.

One cell per offset with the value written in it. A cell's status is told three ways at once,
so nothing rests on colour: committed records are filled blue and plain, records of an open
transaction are orange with dots and a ``?``, aborted records are grey, cross-hatched and
struck with an ``x``, COMMIT/ABORT markers are dark with their word, and records a leader
change cut away are dashed and marked ``lost``. A value that sits at two offsets is outlined
in red in both places, joined by an arc, with ``x2`` written above it. Under each row: the
high watermark (HW) and the last stable offset (LSO); over input rows: each consumer's
position and the group's committed offset. The sink's table stands beside the logs, repeated
rows flagged. Logs longer than :data:`MAX_CELLS` keep their first and last cells and elide the
middle, so a cell never shrinks below readable.

Everything is read from :func:`eoslib.protocol_state.state_at`; :func:`log_view` draws one
step.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from eoslib.protocol_state import Cell, PartitionState, ProtocolState, state_at
from eoslib.viz.palette import BLUE, GREY, INK, ORANGE, RED, SLATE
from eoslib.viz.plots import set_alt_text

#: At most this many cells a row; longer logs keep both ends and elide the middle.
MAX_CELLS = 30
#: Arcs are drawn for at most this many duplicated values (every copy is outlined anyway).
MAX_ARCS = 4
#: Cells kept at the start of an elided row (the rest of MAX_CELLS are the newest).
HEAD_CELLS = 8


@dataclass(frozen=True)
class CellStyle:
    """How a cell status is drawn: fill, hatch, text colour and a text mark."""

    fill: str
    hatch: str
    text: str
    mark: str
    label: str


#: The styles of :data:`eoslib.protocol_state.STATUSES`.
CELL_STYLES: dict[str, CellStyle] = {
    "committed": CellStyle(BLUE + "55", "", INK, "", "committed"),
    "open": CellStyle(ORANGE + "66", "..", INK, "?", "open transaction (?)"),
    "aborted": CellStyle(GREY + "66", "xx", INK, "x", "aborted (x)"),
    "control": CellStyle(SLATE, "", "white", "", "COMMIT / ABORT marker"),
    "lost": CellStyle("white", "", RED, "lost", "lost (cut by a leader change)"),
}


_TEXT_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9}


def _shown(cells: list[Cell], marks: set[int]) -> tuple[list[Cell], dict[int, int]]:
    """The cells drawn in a row, and the gaps: position in ``shown`` -> cells hidden there.

    Up to :data:`MAX_CELLS` cells are drawn whole. A longer row keeps the first
    :data:`HEAD_CELLS`, the newest cells, and a cell either side of every offset in
    ``marks`` (pointers and duplicated values), and elides the runs in between."""
    if len(cells) <= MAX_CELLS:
        return cells, {}
    offsets = [c.offset for c in cells]
    keep = set(offsets[:HEAD_CELLS])
    for m in marks:
        keep |= {m - 1, m, m + 1}
    room = MAX_CELLS - len(keep & set(offsets))
    keep |= set(offsets[-max(room, 6):])
    shown: list[Cell] = []
    gaps: dict[int, int] = {}
    hidden = 0
    for c in cells:
        if c.offset in keep:
            if hidden:
                gaps[len(shown)] = hidden
                hidden = 0
            shown.append(c)
        else:
            hidden += 1
    if hidden:
        gaps[len(shown)] = hidden
    return shown, gaps


def _x_of(shown: list[Cell], gaps: dict[int, int]) -> dict[int, float]:
    """Offset -> x of the cell's left edge (each elision takes one cell's width)."""
    xs: dict[int, float] = {}
    shift = 0
    for k, c in enumerate(shown):
        if k in gaps:
            shift += 1
        xs.setdefault(c.offset, k + shift)
    return xs


def _pointer_x(offset: int, xs: dict[int, float], shown: list[Cell]) -> float:
    """x of the boundary before ``offset`` (the log end if past the last cell)."""
    if offset in xs:
        return xs[offset]
    if not shown:
        return 0.0
    last = shown[-1]
    if offset > last.offset:
        return xs[last.offset] + 1
    before = [o for o in xs if o < offset]
    return xs[max(before)] + 1 if before else xs[shown[0].offset]


def _font(c: Cell) -> float:
    """A font size that fits the cell's text inside the cell (values are never cut)."""
    longest = max(len(c.control or c.value), 1)
    return 7.5 if c.control else 8.5 if longest <= 4 else 7.0 if longest <= 6 else \
        max(4.5, 8.5 * 5 / longest)


def _ordinal(n: int) -> str:
    return f"{n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


def _cell_text(c: Cell) -> str:
    if c.control:
        return c.control
    style = CELL_STYLES[c.status]
    return c.value + (f"\n{style.mark}" if style.mark else "")


def _marks(p: PartitionState, st: ProtocolState) -> set[int]:
    below, above = _row_pointers(p, st)
    return {o for _, o in below + above} | {o for offs in p.duplicates().values() for o in offs}


def _row_width(p: PartitionState, st: ProtocolState) -> int:
    """How many cell widths the row of ``p`` takes (elisions included)."""
    shown, gaps = _shown(p.cells + p.truncated, _marks(p, st))
    return len(shown) + len(gaps)


def _draw_row(ax: Axes, y: float, p: PartitionState, st: ProtocolState,
              below: list[tuple[str, int]], above: list[tuple[str, int]]) -> float:
    """Draw partition ``p`` at height ``y``; returns the row's width in cells."""
    cells = p.cells + p.truncated
    cells.sort(key=lambda c: (c.offset, c.status == "lost"))
    shown, gaps = _shown(cells, _marks(p, st))
    xs = _x_of(shown, gaps)
    dups = p.duplicates()
    copy_no = {o: k + 1 for offs in dups.values() for k, o in enumerate(offs)}
    ax.text(-0.3, y + 0.4, p.name, ha="right", va="center", fontsize=10, weight="bold",
            color=INK)
    rects: list[Rectangle] = []
    for c in shown:
        x = xs[c.offset]
        # a record cut away by a leader change is drawn above the record now at its offset
        yy = y + 1.05 if c.status == "lost" and len([o for o in shown
                                                     if o.offset == c.offset]) > 1 else y
        style = CELL_STYLES[c.status]
        n = copy_no.get(c.offset, 0) if c.status != "lost" else 0
        rects.append(Rectangle((x + 0.04, yy), 0.92, 0.8, facecolor=style.fill,
                               hatch=style.hatch, edgecolor=RED if n else INK,
                               linewidth=2.6 if n else 0.8,
                               linestyle="--" if c.status == "lost" else "-"))
        text = _cell_text(c) + (f"\n{_ordinal(n)}" if n > 1 else "")
        ax.text(x + 0.5, yy + 0.4, text, ha="center", va="center",
                fontsize=_font(c), color=RED if n > 1 else style.text,
                weight="bold" if n else "normal", linespacing=0.9,
                bbox=_TEXT_BOX if style.hatch else None)
        ax.text(x + 0.5, yy - 0.12, str(c.offset), ha="center", va="top", fontsize=6.5,
                color=GREY)
    ax.add_collection(PatchCollection(rects, match_original=True))
    for k, hidden in gaps.items():
        x = (xs[shown[k].offset] - 1) if k < len(shown) else (xs[shown[-1].offset] + 1)
        ax.text(x + 0.5, y + 0.4, f"...\n{hidden}\nmore", ha="center", va="center",
                fontsize=7, color=INK)
    for k, offs in enumerate(list(dups.values())[:MAX_ARCS]):  # first copy -> each repeat
        pts = [xs[o] + 0.5 for o in offs if o in xs]
        for b in pts[1:]:
            rad = -0.35 if (k % 2 == 0) else -0.2
            ax.add_patch(FancyArrowPatch((pts[0], y + 0.85), (b, y + 0.85),
                                         connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                         mutation_scale=9, color=RED, linewidth=1.4))
    _pointers(ax, y - 0.45, below, xs, shown, down=True)
    _pointers(ax, y + 0.85, above, xs, shown, down=False)
    return (max(xs.values()) + 1 + (1 if len(shown) in gaps else 0)) if xs else 1


def _pointers(ax: Axes, y: float, items: list[tuple[str, int]], xs: dict[int, float],
              shown: list[Cell], *, down: bool) -> None:
    """Arrows at offset boundaries with their names; names at one offset share a label."""
    by_x: dict[float, list[tuple[str, int]]] = {}
    for name, off in items:
        by_x.setdefault(_pointer_x(off, xs, shown), []).append((name, off))
    by_x = {x: [_join(group)] if down else [f"{n}={o}" for n, o in group]
            for x, group in by_x.items()}
    for x, names in sorted(by_x.items()):
        text = "\n".join(names)
        if down:
            ax.annotate(text, xy=(x, y + 0.3), xytext=(x, y - 0.15), ha="center", va="top",
                        fontsize=7.5, color=INK,
                        arrowprops={"arrowstyle": "-|>", "color": INK, "lw": 1.0})
        else:
            ax.annotate(text, xy=(x, y + 0.05), xytext=(x, y + 0.5), ha="center", va="bottom",
                        fontsize=7.5, color=BLUE,
                        arrowprops={"arrowstyle": "-|>", "color": BLUE, "lw": 1.0})


def _join(group: list[tuple[str, int]]) -> str:
    """``HW=LSO=5`` for pointers at one offset, one line per distinct offset."""
    offs: dict[int, list[str]] = {}
    for name, off in group:
        offs.setdefault(off, []).append(name)
    return "\n".join("=".join(names) + f"={off}" for off, names in offs.items())


def _row_pointers(p: PartitionState, st: ProtocolState
                  ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    below = [("HW", p.hw), ("LSO", p.lso)] if p.cells else []
    above = []
    for group, off in sorted(st.committed_offset(p.name).items()):
        above.append((f"committed ({group})", off))
    for consumer, pos in sorted(st.positions.items()):
        if p.name in pos:
            above.append((f"position ({consumer})", pos[p.name]))
    return below, above


def _draw_sink(ax: Axes, x0: float, top: float, st: ProtocolState) -> None:
    ax.text(x0, top, "sink table", ha="left", va="bottom", fontsize=10, weight="bold",
            color=INK)
    rows = [r for r in st.sink if r.applied]
    noops = sum(1 for r in st.sink if not r.applied)
    for k, r in enumerate(rows[-12:]):
        y = top - 0.55 * (k + 1)
        repeat = r.copy > 1
        ax.add_patch(Rectangle((x0, y), 3.2, 0.48, facecolor=RED + "33" if repeat else "white",
                               hatch="//" if repeat else "", edgecolor=RED if repeat else INK,
                               linewidth=1.8 if repeat else 0.6))
        ax.text(x0 + 0.15, y + 0.24, f"{r.id}: {r.value}" + (f"   REPEAT x{r.copy}"
                                                              if repeat else ""),
                ha="left", va="center", fontsize=8, color=INK,
                weight="bold" if repeat else "normal")
    if len(rows) > 12:
        ax.text(x0, top - 0.55 * 13, f"({len(rows) - 12} earlier rows not shown)",
                fontsize=7, color=GREY, va="top")
    if noops:
        ax.text(x0, top - 0.55 * (min(len(rows), 12) + 2),
                f"{noops} write(s) changed nothing (upsert of an existing key)",
                fontsize=7, color=INK, va="top")


def describe(st: ProtocolState) -> str:
    """Alt text: the log view in words (what a screen reader says)."""
    parts = []
    for name in st.data_partitions():
        p = st.partitions[name]
        if not p.cells:
            continue
        cells = ", ".join(f"{c.offset}:{c.control or c.value}({c.status})" for c in p.cells[:40])
        dups = p.duplicates()
        extra = f"; values at two offsets: {', '.join(dups)}" if dups else ""
        parts.append(f"partition {name}: {cells}; HW={p.hw}, LSO={p.lso}{extra}")
    for group, offs in sorted(st.committed.items()):
        parts.append(f"group {group} committed " + ", ".join(f"{t}={o}" for t, o in
                                                             sorted(offs.items())))
    rows = [r for r in st.sink if r.applied]
    if rows:
        parts.append(f"sink: {len(rows)} rows, {sum(r.copy > 1 for r in rows)} repeated")
    return "Log view. " + ". ".join(parts) if parts else "Log view: nothing written yet."


def log_view(result_or_state: object, step: int | None = None, *,
             partitions: list[str] | None = None, offsets_topic: bool = False,
             caption: str | None = None) -> Figure:
    """Draw the log view of a run (a :class:`~eoslib.result.Result`) after trace event
    ``step`` (default: the end), or of a :class:`ProtocolState`.

    ``partitions`` picks rows (default: every partition with records, without
    ``__consumer_offsets`` unless ``offsets_topic``); ``caption`` is written under the
    picture (wrapped, never cut). The figure has alt text (:func:`describe`)."""
    st = (result_or_state if isinstance(result_or_state, ProtocolState)
          else state_at(result_or_state, step))  # type: ignore[arg-type]
    names = partitions if partitions is not None else [
        n for n in st.data_partitions()
        if st.partitions[n].cells and (offsets_topic or not n.startswith("__"))]
    unknown = [n for n in names if n not in st.partitions]
    if unknown:
        raise ValueError(f"Invalid value {unknown[0]!r} for partitions: expected one of "
                         f"{', '.join(sorted(st.partitions)) or '(none yet)'}")
    widths = [_row_width(st.partitions[n], st) for n in names] or [4]
    ncol = max(max(widths), 6)
    has_sink = bool(st.sink)
    row_h = 2.6
    longest = max((len(n) for n in names), default=4)
    fig_w = 0.52 * (ncol + 4.0 + 0.2 * longest) + (3.6 if has_sink else 0)
    fig_h = 0.8 + row_h * 0.62 * max(1, len(names)) + (0.5 if caption else 0)
    fig = Figure(figsize=(min(fig_w, 19.0), max(fig_h, 2.2)))
    ax = fig.add_axes((0.0, 0.06 if caption else 0.0, 1.0, 0.94 if caption else 1.0))
    for k, name in enumerate(names):
        y = -k * row_h
        below, above = _row_pointers(st.partitions[name], st)
        _draw_row(ax, y, st.partitions[name], st, below, above)
    if has_sink:
        _draw_sink(ax, ncol + 3.4, 1.4, st)
    if not names:
        ax.text(0, 0.4, "(nothing written yet)", fontsize=9, color=GREY)
    right = ncol + (7.0 if has_sink else 3.2)
    left = -0.8 - 0.2 * max((len(n) for n in names), default=4)
    ax.set_xlim(left, right)
    bottom = -(max(1, len(names)) - 1) * row_h - 1.9
    ax.set_ylim(min(bottom, 1.4 - 0.55 * 14 if has_sink else bottom), 2.4)
    ax.set_axis_off()
    if caption:
        fig.text(0.01, 0.005, "\n".join(textwrap.wrap(caption, width=max(60, int(fig_w * 13)))),
                 ha="left", va="bottom", fontsize=9, color=INK, wrap=False)
    set_alt_text(fig, describe(st))
    return fig
