"""The log view: each partition a row of cells, and under it what each reader is handed.

One cell per offset with the value written in it; a cell's status is told three ways at once,
so nothing rests on colour: committed records are blue and plain, records of an open
transaction orange, dotted and marked ``?``, aborted records grey, cross-hatched and marked
``x``, COMMIT/ABORT markers dark with ``C``/``A``, records a leader change cut away dashed and
marked ``lost``. A value stored at two offsets is outlined in red in both places, joined by
an arc, its repeat marked ``2nd``; a record written by a retried request is marked ``↻``.
Under each row: the high watermark (HW) and the last stable offset (LSO). Under that, one
row per consumer reading the partition (:func:`eoslib.protocol_readers.reader_view`): the
records it was handed (✓), those it has not polled yet (grey), aborted records a
read_committed reader skips (struck through), markers it never gets (—), the wall it stops at
(the LSO under an open transaction, or the HW), its position and its group's committed
offset. ``__consumer_offsets`` is a row like any other wherever offsets were committed. The
sink's table sits under the logs, repeated rows flagged.

Everything is read from one :class:`~eoslib.protocol_state.ProtocolState` and drawn as SVG
sized for the notebook column (:mod:`eoslib.viz.column`); :func:`log_view` draws one step.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from eoslib.protocol_readers import ReaderView, reader_view, readers
from eoslib.protocol_state import Cell, PartitionState, ProtocolState, state_at
from eoslib.viz.column import MAX_WIDTH_PX, TEXT_PX
from eoslib.viz.logrow import Row, cell_value, labels_on_lines
from eoslib.viz.palette import BLUE, GREY, INK, ORANGE, RED, SLATE
from eoslib.viz.svg import Drawing, Picture
from eoslib.viz.textmetrics import text_size, text_width

#: Arcs are drawn for at most this many duplicated values (every copy is outlined anyway).
MAX_ARCS = 4
#: Rows of the sink table drawn (the newest).
SINK_ROWS = 10

CELL_H = 40.0
READER_H = 26.0
MUTED = "#5b6070"  # grey text with enough contrast on white (not GREY: too light for text)


@dataclass(frozen=True)
class CellStyle:
    """How a cell status is drawn: fill, hatch pattern, text colour, a text mark, a label."""

    fill: str
    hatch: str
    text: str
    mark: str
    label: str


#: The styles of :data:`eoslib.protocol_state.STATUSES`.
CELL_STYLES: dict[str, CellStyle] = {
    "committed": CellStyle(BLUE + "40", "", INK, "", "committed"),
    "open": CellStyle(ORANGE + "80", "dots", INK, "?", "? open transaction"),
    "aborted": CellStyle(GREY + "80", "cross", INK, "x", "x aborted"),
    "control": CellStyle(SLATE, "", "#ffffff", "", "C / A: COMMIT / ABORT marker"),
    "lost": CellStyle("#ffffff", "", RED, "lost", "lost: cut away by a leader change"),
}


def _ordinal(n: int) -> str:
    return f"{n}{'nd' if n == 2 else 'rd' if n == 3 else 'th'}"


def wrap_name(name: str, width: float, size: float, bold: bool = True) -> str:
    """``name`` broken after ``_``/``-``/``#`` into lines no wider than ``width`` px."""
    if text_width(name, size, bold) <= width:
        return name
    lines, cur = [], ""
    for ch in name:
        cur += ch
        if ch in "_-#" and text_width(cur, size, bold) > width * 0.55:
            lines.append(cur)
            cur = ""
    if cur:
        lines.append(cur)
    return "\n".join(lines)


def _draw_cells(d: Drawing, row: Row, p: PartitionState, y: float) -> None:
    dups = p.duplicates()
    copy_no = {o: k + 1 for offs in dups.values() for k, o in enumerate(offs)}
    for c in row.shown:
        x = row.x[c.offset]
        style = CELL_STYLES[c.status]
        n = copy_no.get(c.offset, 0)
        d.rect(x + 2, y, row.cw - 4, CELL_H, fill=style.fill, hatch=style.hatch or None,
               stroke=RED if n else INK, sw=2.6 if n else 0.8,
               dash="5 3" if c.status == "lost" else None)
        size = TEXT_PX["cell"]
        bold = bool(n or c.control)
        d.text(x + row.cw / 2, y + 17, cell_value(c), size=size, anchor="middle",
               weight="bold" if bold else "normal", color=RED if n > 1 else style.text,
               halo=bool(style.hatch), owner=f"cell{c.offset}")
        retried = "↻" if c.retry or c.dropped else ""
        marks = [m for m in (style.mark if c.status != "lost" else "lost",
                             _ordinal(n) if n > 1 else "", retried) if m]
        if marks:
            d.text(x + row.cw / 2, y + 33, " ".join(marks), size=TEXT_PX["small"],
                   anchor="middle", weight="bold", color=RED if n > 1 else style.text,
                   halo=bool(style.hatch), owner=f"cell{c.offset}")
        d.text(x + row.cw / 2, y + CELL_H + 13, str(c.offset), size=TEXT_PX["small"],
               anchor="middle", color=MUTED)
    for j, hidden in row.gaps.items():
        x = (row.x[row.shown[j].offset] - row.cw) if j < len(row.shown) else row.end - row.cw
        d.text(x + row.cw / 2, y + CELL_H / 2, f"…\n{hidden}", size=TEXT_PX["small"],
               anchor="middle", valign="middle", color=INK)
    arcs = list(dups.values())
    for k, offs in enumerate(arcs[:MAX_ARCS] if len(arcs) <= MAX_ARCS else []):
        xs = [row.x[o] + row.cw / 2 for o in offs if o in row.x]
        for b in xs[1:]:
            h = 12 + 4 * k
            d.path(f"M{xs[0]:.1f},{y - 1:.1f} C{xs[0]:.1f},{y - h:.1f} {b:.1f},{y - h:.1f} "
                   f"{b:.1f},{y - 3:.1f}", stroke=RED, sw=1.6, arrow=RED)


def _draw_reader(d: Drawing, row: Row, p: PartitionState, v: ReaderView, y: float,
                 name_right: float) -> float:
    """One consumer's row under the log; returns the y under it."""
    label = wrap_name(v.consumer, name_right - 8, TEXT_PX["small"])
    d.text(name_right, y + 11, f"{label}\n{v.isolation}", size=TEXT_PX["small"],
           anchor="end", color=INK)
    by_offset = {c.offset: c for c in row.shown}
    for off, x in row.x.items():
        fate = v.fates.get(off, "beyond")
        c = by_offset[off]
        cx = x + row.cw / 2
        if fate in ("beyond", "passed"):
            continue
        if fate == "control":
            d.text(cx, y + 17, "—", size=TEXT_PX["label"], anchor="middle", color=MUTED)
            continue
        value = c.value
        if fate == "returned":
            bad = off in v.aborted_reads
            d.rect(x + 4, y + 1, row.cw - 8, READER_H - 4, fill=(RED + "30") if bad else
                   "#ffffff", stroke=RED if bad else INK, sw=1.6 if bad else 0.9)
            d.text(cx, y + 17, value + ("!" if bad else "✓"), size=TEXT_PX["small"],
                   anchor="middle", weight="bold" if bad else "normal",
                   color=RED if bad else INK)
        elif fate == "unread":
            d.rect(x + 4, y + 1, row.cw - 8, READER_H - 4, stroke=MUTED, sw=0.9, dash="3 2")
            d.text(cx, y + 17, value, size=TEXT_PX["small"], anchor="middle", color=MUTED)
        else:  # skipped
            d.text(cx, y + 17, value, size=TEXT_PX["small"], anchor="middle", color=MUTED,
                   strike=True)
    wall = row.boundary(v.limit)
    stop = (f"stops at LSO={v.limit}: open transaction" if v.waits_on_open_txn
            else f"end: {v.limit_name}={v.limit}")
    d.line(wall, y - 2, wall, y + READER_H, stroke=INK, sw=3.0)
    items = [(wall, stop, INK)]
    if v.position is not None:
        items.append((row.boundary(v.position), f"position={v.position}", BLUE))
    if v.committed is not None:
        items.append((row.boundary(v.committed), f"committed={v.committed}", SLATE))
    return labels_on_lines(d, y + READER_H - 4, items, TEXT_PX["small"], row.x0 - 40,
                            d.width - 4)


def _row_marks(p: PartitionState, st: ProtocolState, views: list[ReaderView]) -> list[int]:
    """Offsets a long row must keep, most important first: the pointers, the open and
    aborted runs (newest first: first and last record, and the marker after), the first
    duplicates and aborted reads, the other markers (newest first), retried records."""
    marks = [p.hw, p.lso]
    for v in views:
        marks += [o for o in (v.position, v.committed, v.limit) if o is not None]
        handed = [o for o, f in v.fates.items() if f == "returned"]
        marks += [min(handed)] if handed else []  # where this reader's rows begin
    marks += [o for o in st.committed_offset(p.name).values()]
    cells = sorted(p.cells, key=lambda c: c.offset)
    runs: list[list[int]] = []
    for k, c in enumerate(cells):
        if c.status in ("open", "aborted"):
            if runs and runs[-1][1] == k - 1 and cells[k - 1].status == c.status:
                runs[-1][1] = k
            else:
                runs.append([k, k])
    for first, last in reversed(runs):
        marks += [cells[first].offset, cells[last].offset]
        if last + 1 < len(cells):
            marks.append(cells[last + 1].offset)
    for v in views:
        marks += v.aborted_reads[:2]
    for offs in p.duplicates().values():
        marks += offs[:2]
    marks += _newest_committed_txn(cells)
    marks += [c.offset for c in reversed(cells) if c.control]
    marks += [c.offset for c in cells if c.retry or c.dropped]
    return list(dict.fromkeys(marks))


#: A newest committed transaction at most this long is kept whole in a long row.
WHOLE_TXN = 6


def _newest_committed_txn(cells: list[Cell]) -> list[int]:
    """The records of the newest committed transaction, newest first, if it is short (what
    a long row keeps whole after its pointers, open and aborted runs and duplicates: 06d's
    torn transaction); of a longer one its last and first records."""
    for k in range(len(cells) - 1, -1, -1):
        c = cells[k]
        if c.control == "COMMIT":
            run = []
            j = k - 1
            while j >= 0 and cells[j].control is None and cells[j].txn and \
                    cells[j].pid == c.pid and cells[j].status == "committed":
                run.append(cells[j].offset)
                j -= 1
            return run if len(run) <= WHOLE_TXN else [run[0], run[-1]]
    return []


def _draw_partition(d: Drawing, st: ProtocolState, p: PartitionState, y: float,
                    name_w: float, with_readers: bool) -> tuple[float, list[str]]:
    """Draw partition ``p`` from ``y``; returns the y under it and the statuses used."""
    x0 = name_w + 14
    views = [reader_view(st, c, p.name) for c in readers(st, p.name)] if with_readers else []
    row = Row(p, _row_marks(p, st, views), x0, d.width - x0 - 12)
    arcs = len(p.duplicates())
    top = y + (10 + 4 * arcs if 0 < arcs <= MAX_ARCS else 6)
    name = wrap_name(p.name, name_w, TEXT_PX["name"])
    d.text(name_w + 4, top + CELL_H / 2, name, size=TEXT_PX["name"], anchor="end",
           weight="bold", valign="middle")
    if p.truncated:
        lost = ", ".join(f"{c.value}@{c.offset}" for c in p.truncated[:6])
        d.text(x0, top + 4, f"cut away by a leader change (lost): {lost}",
               size=TEXT_PX["small"], color=RED, weight="bold")
        top += 14
    _draw_cells(d, row, p, top)
    ptr = [(row.boundary(p.hw), f"HW={p.hw}", INK)]
    if p.lso != p.hw:
        ptr.append((row.boundary(p.lso), f"LSO={p.lso}", INK))
    else:
        ptr = [(row.boundary(p.hw), f"HW=LSO={p.hw}", INK)]
    drawn_groups = {v.group for v in views}
    for group, off in sorted(st.committed_offset(p.name).items()):
        if group not in drawn_groups:  # no live reader of that group: its offset still counts
            ptr.append((row.boundary(off), f"committed ({group})={off}", SLATE))
    y = labels_on_lines(d, top + CELL_H + 15, ptr, TEXT_PX["small"], x0 - 4, d.width - 4)
    memory = _producer_memory(p)
    if memory:  # what the broker remembers of each idempotent producer (the dedup check)
        box = d.text(name_w + 4, top + CELL_H + 15, memory, size=TEXT_PX["small"],
                     anchor="end", color=MUTED)
        y = max(y, box.y1 + 2)
    for v in views[-2:]:
        y = _draw_reader(d, row, p, v, y + 6, name_w + 4)
    used = {c.status for c in row.shown} | ({"lost"} if p.truncated else set())
    return y + 8, sorted(used)


def _producer_memory(p: PartitionState) -> str:
    """``"pid 1000 epoch 0\nlast seq 4"``: the broker's producer state (what it checks a
    retry against) for the idempotent producer that wrote last to ``p``, and how many
    others it remembers."""
    last: dict[int, tuple[int, int]] = {}
    newest = -1
    for c in sorted(p.cells, key=lambda c: c.offset):
        if c.control is None and c.pid >= 0 and c.seq >= 0:
            ep, sq = last.get(c.pid, (-1, -1))
            if (c.epoch, c.seq) >= (ep, sq):
                last[c.pid] = (c.epoch, c.seq)
            newest = c.pid
    if not last:
        return ""
    ep, sq = last[newest]
    more = f"\n(+{len(last) - 1} other producer{'s' if len(last) > 2 else ''})" \
        if len(last) > 1 else ""
    return f"pid {newest} epoch {ep}\nlast seq {sq}{more}"


def _draw_sink(d: Drawing, st: ProtocolState, y: float) -> float:
    rows = [r for r in st.sink if r.applied]
    noops = sum(1 for r in st.sink if not r.applied)
    d.text(8, y + 14, "sink table (the external database)", size=TEXT_PX["name"],
           weight="bold")
    y += 22
    # the repeated rows first (the fault), then the newest, in the table's order
    repeats = [k for k, r in enumerate(rows) if r.copy > 1][:SINK_ROWS]
    newest = [k for k in range(len(rows) - 1, -1, -1) if k not in repeats]
    keep = sorted(repeats + newest[:SINK_ROWS - len(repeats)])
    shown = [rows[k] for k in keep]
    if len(rows) > len(shown):
        every = len(repeats) == sum(r.copy > 1 for r in rows)
        d.text(8, y + 12, f"({len(rows) - len(shown)} other rows not shown"
               + (f"; all {len(repeats)} repeated rows are" if repeats and every else "")
               + ")", size=TEXT_PX["small"], color=MUTED)
        y += 17
    colw = (d.width - 16 - 3 * 6) / 4  # four columns that end inside the picture
    for k, r in enumerate(shown):
        x = 8 + (k % 4) * (colw + 6)
        yy = y + (k // 4) * 26
        repeat = r.copy > 1
        d.rect(x, yy, colw, 22, fill=(RED + "22") if repeat else "#ffffff",
               hatch="diag" if repeat else None, stroke=RED if repeat else INK,
               sw=1.8 if repeat else 0.7)
        d.text(x + 6, yy + 15, f"{r.id}: {r.value}" + (f"  REPEAT x{r.copy}" if repeat else ""),
               size=TEXT_PX["small"], weight="bold" if repeat else "normal", halo=repeat)
    y += ((len(shown) + 3) // 4) * 26
    if noops:
        d.text(8, y + 12, f"{noops} write(s) changed nothing (upsert of an existing key)",
               size=TEXT_PX["small"])
        y += 17
    return y + 6


def _key(statuses: set[str], st: ProtocolState, has_readers: bool, has_dups: bool,
         has_retry: bool) -> str:
    parts = [CELL_STYLES[s].label for s in ("committed", "open", "aborted", "control", "lost")
             if s in statuses and s != "committed"]
    if has_dups:
        parts.append("red outline, 2nd: the same value stored twice")
    if has_retry:
        parts.append("↻ a retry of it reached the broker (red 2nd: appended again; "
                     "blue: recognised and dropped)")
    parts.append("HW: high watermark · LSO: last stable offset")
    if has_readers:
        parts.append("reader rows: ✓ handed to the application, grey: not polled yet, "
                     "struck: aborted, skipped, —: marker, never returned, ! aborted read")
    return "Key: " + " · ".join(parts)


def describe(st: ProtocolState, names: list[str] | None = None) -> str:
    """Alt text: the log view in words (what a screen reader says)."""
    parts = []
    for name in names if names is not None else st.data_partitions():
        p = st.partitions[name]
        if not p.cells:
            continue
        cells = ", ".join(f"{c.offset}:{c.control or c.value}({c.status})" for c in p.cells[:40])
        more = f" and {len(p.cells) - 40} more" if len(p.cells) > 40 else ""
        dups = p.duplicates()
        extra = f"; values stored more than once: {', '.join(dups)}" if dups else ""
        parts.append(f"partition {name}: {cells}{more}; HW={p.hw}, LSO={p.lso}{extra}")
        for c in readers(st, name):
            v = reader_view(st, c, name)
            got = sum(f == "returned" for f in v.fates.values())
            skipped = sum(f == "skipped" for f in v.fates.values())
            parts.append(f"{c} ({v.isolation}) was handed {got} record(s) of {name}"
                         + (f", skips {skipped} aborted" if skipped else "")
                         + (f", {len(v.aborted_reads)} aborted read(s)"
                            if v.aborted_reads else "")
                         + f", stops at {v.limit_name}={v.limit}"
                         + (f", position {v.position}" if v.position is not None else "")
                         + (f", committed {v.committed}" if v.committed is not None else ""))
    for group, offs in sorted(st.committed.items()):
        parts.append(f"group {group} committed " + ", ".join(f"{t}={o}" for t, o in
                                                             sorted(offs.items())))
    rows = [r for r in st.sink if r.applied]
    if rows:
        parts.append(f"sink: {len(rows)} rows, {sum(r.copy > 1 for r in rows)} repeated")
    return "Log view. " + ". ".join(parts) + "." if parts else "Log view: nothing written yet."


def row_names(st: ProtocolState, partitions: list[str] | None = None,
              offsets_topic: bool | None = None) -> list[str]:
    """The partitions drawn: ``partitions``, or every one with records;
    ``__consumer_offsets`` when ``offsets_topic`` is True, or (None) when offsets were
    committed there."""
    if partitions is not None:
        unknown = [n for n in partitions if n not in st.partitions]
        if unknown:
            raise ValueError(f"Invalid value {unknown[0]!r} for partitions: expected one of "
                             f"{', '.join(sorted(st.partitions)) or '(none yet)'}")
        return list(partitions)
    return [n for n in st.data_partitions() if st.partitions[n].cells
            and (offsets_topic is not False if n.startswith("__") else True)]


def log_picture(st: ProtocolState, *, partitions: list[str] | None = None,
                offsets_topic: bool | None = None, readers_rows: bool = True,
                caption: str | None = None, width: float = MAX_WIDTH_PX,
                title: str = "Log view") -> Picture:
    """The log view of state ``st`` as an SVG :class:`~eoslib.viz.svg.Picture`."""
    names = row_names(st, partitions, offsets_topic)
    d = Drawing(width)
    widths = [text_width(n, TEXT_PX["name"], True) for n in names]
    for n in names:
        widths += [text_width(line, TEXT_PX["small"])
                   for line in _producer_memory(st.partitions[n]).split("\n")]
    if readers_rows:
        for n in names:
            for c in readers(st, n):
                widths.append(text_width(c, TEXT_PX["small"]))
                widths.append(text_width(st.isolation.get(c, "read_uncommitted"),
                                         TEXT_PX["small"]))
    name_w = min(max([70.0, *widths]), 150.0)
    y = 4.0
    used: set[str] = set()
    for name in names:
        y, u = _draw_partition(d, st, st.partitions[name], y, name_w, readers_rows)
        used |= set(u)
    if not names:
        d.text(8, 24, "(nothing written yet)", size=TEXT_PX["label"], color=MUTED)
        y = 34
    if st.sink:
        y = _draw_sink(d, st, y + 4)
    has_readers = readers_rows and any(readers(st, n) for n in names)
    has_dups = any(st.partitions[n].duplicates() for n in names)
    has_retry = any(c.retry or c.dropped for n in names for c in st.partitions[n].cells)
    key = _key(used, st, has_readers, has_dups, has_retry)
    chars = int((width - 16) / (TEXT_PX["small"] * 0.6))
    d.text(8, y + 12, "\n".join(textwrap.wrap(key, chars)), size=TEXT_PX["small"], color=MUTED)
    y = d.height + 4
    if caption:
        chars = int((width - 16) / (TEXT_PX["label"] * 0.6))
        d.text(8, y + 14, "\n".join(textwrap.wrap(caption, chars)), size=TEXT_PX["label"])
    return d.picture(describe(st, names), title=title)


def log_view(result_or_state: object, step: int | None = None, *,
             partitions: list[str] | None = None, offsets_topic: bool | None = None,
             readers: bool = True, caption: str | None = None) -> Picture:
    """The log view of a run (a :class:`~eoslib.result.Result`) after trace event ``step``
    (default: the end), or of a :class:`~eoslib.protocol_state.ProtocolState`.

    ``partitions`` picks rows (default: every partition with records; ``__consumer_offsets``
    when offsets were committed, or as ``offsets_topic`` says); ``readers`` draws what each
    consumer is handed; ``caption`` is written under the picture (wrapped, never cut).
    Returns an SVG :class:`~eoslib.viz.svg.Picture` (Jupyter shows it; ``.svg`` is the text,
    ``.alt`` the alt text)."""
    st = (result_or_state if isinstance(result_or_state, ProtocolState)
          else state_at(result_or_state, step))  # type: ignore[arg-type]
    return log_picture(st, partitions=partitions, offsets_topic=offsets_topic,
                       readers_rows=readers, caption=caption)


__all__ = ["CELL_STYLES", "describe", "log_picture", "log_view", "text_size"]
