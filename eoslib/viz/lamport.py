"""The Lamport view: one vertical line per actor, one arrow per message, time flowing down.

Each request and response in the trace is an arrow from its sender's line to its receiver's
line (``request`` / ``response`` events, see :mod:`eoslib.network`). A lost message stops
half-way and ends in an X; a retried Produce is dashed and says ``retry``; an answer that
reached the producer's connection but waited behind a lost one says ``held``. Markers written
by the transaction coordinator and fetches that handed records to a consumer are thinner
arrows. A crash cuts the actor's line; a restarted application gets a new line.

Every drawn event takes one row, in trace order, so arrows that arrive at the same instant
do not pile up; where virtual time jumps (a timeout) a break says "~N ms later". Only the
actors that matter are drawn (:data:`MAX_LANES` by default: those of the step and of the
messages around it; the rest share one "others" line and are named under the figure;
``lanes="all"`` draws every actor). A long run shows a window of rows ending at the step
(the rows above are counted, not squeezed). Messages an actor sends between the same two
rows leave one under the other, in the order sent (no fan from one point). Labels are placed
where they collide with no other label or mark and cross no arrow but their own: beside
their arrow, else across it (on a white halo), else past its head or tail; one that finds no
room is numbered and written under the figure.

:func:`lamport_picture` draws one step as SVG; :class:`LamportView` keeps a run's arrows and
rows to draw any step quickly (what the step players use).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eoslib.viz.arrows import ARROW_KINDS, Arrow, actor, actor_order, arrow_actors, arrows
from eoslib.viz.column import MAX_WIDTH_PX, TEXT_PX
from eoslib.viz.palette import BLUE, GREY, INK, ORANGE, RED, SLATE
from eoslib.viz.svg import Box, Drawing, Picture
from eoslib.viz.textmetrics import text_size, text_width, wrap_px

if TYPE_CHECKING:
    from eoslib.result import Result

__all__ = ["ARROW_KINDS", "Arrow", "LamportView", "actor", "actor_order", "arrows",
           "lamport_picture", "lamport_view"]

#: Lanes drawn by default (the last may be "others": every other actor).
MAX_LANES = 6
#: Rows drawn by default: a window ending at the step.
WINDOW = 18
#: Real time between two rows longer than this (ms) is drawn as a break.
BREAK_MS = 50.0

ROW_H = 28.0
#: Vertical distance between messages one actor sends between the same two rows.
STAGGER = 8.0
TOP = 66.0
GUTTER = 78.0
OTHERS = "others"
MUTED = "#5b6070"


#: Trace kinds drawn as marks on an actor's line.
MARK_KINDS = ("crash", "restart", "write", "fence")


class LamportView:
    """A run's arrows, marks and actors, ready to draw any step (:meth:`picture`)."""

    def __init__(self, result: Result, *, lanes: str | Sequence[str] = "auto",
                 window: int | None = WINDOW, width: float = MAX_WIDTH_PX,
                 upto: int | None = None) -> None:
        """``upto``: only steps up to this one will be drawn (cheaper on a long run; each
        picture is the same as the whole run's view draws)."""
        self.result = result
        trace = result.trace
        self.upto = upto
        self.arrows = arrows(trace, upto)
        self.marks = [ev for ev in trace if ev["kind"] in MARK_KINDS]
        acts = arrow_actors(trace) if upto is not None else \
            {a.src for a in self.arrows} | {a.dst for a in self.arrows}
        acts |= {actor(ev["lane"]) for ev in self.marks}
        self.actors = actor_order(acts)
        self.lanes, self.window, self.width = lanes, window, width
        # one row per drawn event, in trace order
        self.row_steps = sorted({a.step for a in self.arrows} | {ev["i"] for ev in self.marks})

    # ------------------------------------------------------------------ choosing
    def rows_upto(self, step: int) -> list[int]:
        """The steps that get a row in the picture of ``step`` (a window ending there)."""
        import bisect

        k = bisect.bisect_right(self.row_steps, step)
        rows = self.row_steps[:k]
        if self.result.trace and step >= 0 and (not rows or rows[-1] != step):
            rows = [*rows, step]  # the current event gets a row even if it is no arrow
        if self.window is not None and len(rows) > self.window:
            rows = rows[-self.window:]
        return rows

    def choose(self, step: int, rows: list[int]) -> tuple[list[str], list[str]]:
        """The actors drawn for ``step`` and the ones folded into "others"."""
        if self.lanes == "all" or len(self.actors) <= MAX_LANES:
            return list(self.actors), []
        if not isinstance(self.lanes, str):
            keep = [a for a in self.actors if a in self.lanes]
            return keep + [OTHERS], [a for a in self.actors if a not in keep]
        lo = rows[0] if rows else 0
        score: dict[str, float] = {a: 0.0 for a in self.actors}
        ev = self.result.trace[step] if self.result.trace else None
        if ev is not None:
            score[actor(ev["lane"])] = score.get(actor(ev["lane"]), 0) + 1000
        for a in self.arrows:
            if lo <= a.step <= step:
                w = 100.0 if a.step == step else 1.0 + (10 if a.lost or a.retry else 0)
                score[a.src] += w
                score[a.dst] += w
        for m in self.marks:
            if lo <= m["i"] <= step:
                score[actor(m["lane"])] += 20
        for a, bonus in self._causes(step, lo).items():
            score[a] = score.get(a, 0) + bonus
        ranked = sorted(self.actors, key=lambda a: -score[a])
        keep = [a for a in ranked[:MAX_LANES - 1] if score[a] > 0] or ranked[:MAX_LANES - 1]
        keep = [a for a in self.actors if a in keep]
        rest = [a for a in self.actors if a not in keep]
        needed = any(lo <= a.step <= step and ((a.src in rest) != (a.dst in rest))
                     for a in self.arrows)
        if not needed:  # nothing in the window touches the others: one more real lane
            more = [a for a in ranked if a not in keep and score[a] > 0][:1]
            keep = [a for a in self.actors if a in keep or a in more]
            return keep, [a for a in self.actors if a not in keep]
        return keep + [OTHERS], rest

    def _causes(self, step: int, lo: int, hops: int = 2) -> dict[str, float]:
        """The actors that caused ``step``: its own actors, then, going back through the
        window, the sender of the latest message to one of them (the restarted instance
        whose InitProducerId made the coordinator abort), and so on for ``hops`` hops."""
        trace = self.result.trace
        if not trace:
            return {}
        now = {actor(trace[step]["lane"])}
        now |= {x for a in self.arrows if a.step == step for x in (a.src, a.dst)}
        out = dict.fromkeys(now, 0.0)
        before = sorted((a for a in self.arrows if lo <= a.step < step), key=lambda a: -a.step)
        for k in range(hops):
            cause = next((a for a in before if a.dst in now and a.src not in out), None)
            if cause is None:
                break
            out[cause.src] = 500.0 / (k + 1)
            now = {cause.src}
            before = [a for a in before if a.step < cause.step]
        return out

    # ------------------------------------------------------------------ drawing
    def picture(self, step: int | None = None) -> Picture:
        """The diagram up to trace event ``step`` (default: the end) as SVG."""
        trace = self.result.trace
        last = len(trace) - 1 if self.upto is None else min(self.upto, len(trace) - 1)
        if step is None:
            step = last
        if trace and not 0 <= step <= last:
            raise ValueError(f"Invalid value {step!r} for step: expected 0..{last}")
        return _Painter(self, step).draw()

    def describe(self, step: int | None = None) -> str:
        """Alt text: the message flow in words."""
        last = len(self.result.trace) - 1 if step is None else step
        shown = [a for a in self.arrows if a.step <= last]
        counts: dict[str, int] = {}
        for a in shown:
            counts[a.kind] = counts.get(a.kind, 0) + 1
        lost = sum(a.lost for a in shown)
        return (f"Lamport diagram of {len(self.actors)} actors ({', '.join(self.actors)}) up to "
                f"step {last + 1}: {counts.get('request', 0)} requests, "
                f"{counts.get('response', 0)} responses, {lost} lost, "
                f"{sum(a.retry for a in shown)} retried, {sum(a.held for a in shown)} held, "
                f"{counts.get('marker', 0)} transaction markers, "
                f"{counts.get('fetch', 0)} fetches that returned records.")


class _Painter:
    """Draws one step of a :class:`LamportView` (one use)."""

    def __init__(self, view: LamportView, step: int) -> None:
        self.v, self.step = view, step
        self.trace = view.result.trace
        self.rows = view.rows_upto(step) if self.trace else []
        self.lanes, self.folded = view.choose(step, self.rows)
        self.d = Drawing(view.width)
        n = max(1, len(self.lanes))
        self.col = (view.width - GUTTER - 16) / n
        self.x = {a: GUTTER + self.col * (k + 0.5) for k, a in enumerate(self.lanes)}
        self.y: dict[int, float] = {}
        y = TOP + 8
        prev_t: float | None = None
        self.breaks: list[tuple[float, float]] = []
        self.break_at: list[tuple[float, float]] = []  # (y, time of the row above it)
        for s in self.rows:
            t = self.trace[s]["t"]
            if prev_t is not None and t - prev_t > BREAK_MS:
                self.breaks.append((y + 2, t - prev_t))
                self.break_at.append((y + 2, prev_t))
                y += 20
            self.y[s] = y + ROW_H / 2
            y += ROW_H
            prev_t = t
        self.bottom = y
        self.footnotes: list[str] = []
        self.lift: dict[int, float] = {}  # arrow step -> how far its start is moved down
        # restarted instances (app-1#2) with no message nor restart up to this step
        started = {actor(m["lane"]) for m in view.marks if m["i"] <= step}
        started |= {x for a in view.arrows if a.step <= step for x in (a.src, a.dst)}
        self.unborn = {a for a in self.lanes if "#" in a and a not in started}

    def lane_x(self, a: str) -> float | None:
        return self.x.get(a, self.x.get(OTHERS) if a in self.folded else None)

    def row_y(self, step: int) -> float:
        """y of trace event ``step``: its row, or the gap after the last row before it."""
        if step in self.y:
            return self.y[step]
        before = [s for s in self.rows if s < step]
        if not before:
            return TOP + 2
        return self.y[before[-1]] + ROW_H / 2

    def after(self, step: int) -> float:
        """y just after trace event ``step`` (where a message sent then starts)."""
        import bisect

        k = bisect.bisect_right(self.rows, step)
        return self.y[self.rows[k - 1]] + ROW_H * 0.3 if k else TOP

    def draw(self) -> Picture:
        d = self.d
        self._header()
        first = self.rows[0] if self.rows else 0
        hidden_before = sum(1 for s in self.v.row_steps if s < first)
        if hidden_before:
            d.text(6, 13, f"({hidden_before} earlier rows not drawn: the picture shows the "
                   "rows up to this step)", size=TEXT_PX["small"], color=MUTED, italic=True)
        for k, (y, ms) in enumerate(self.breaks):
            d.line(GUTTER - 6, y + 8, d.width - 8, y + 8, stroke=GREY, sw=0.8, dash="2 3")
            # the break line is a box: no message label is placed on it
            d.boxes.append(Box(GUTTER - 6, y + 6, d.width - 8, y + 10, "marker",
                               owner=f"break{k}"))
            d.text(4, y + 12, f"~{ms:g} ms later", size=TEXT_PX["small"], color=MUTED, halo=True,
                   italic=True, owner=f"break{k}")
        self._lines()
        drawn = [a for a in self.v.arrows if a.step <= self.step and a.step in self.y
                 and self.lane_x(a.src) is not None and self.lane_x(a.dst) is not None
                 and not (a.src in self.folded and a.dst in self.folded)]
        self._stagger(drawn)
        for a in drawn:
            self._arrow_line(a)
        self._marks()
        self._now()
        for a in drawn:
            self._arrow_label(a)
        self._footer(drawn)
        return d.picture(self._alt(drawn), title="Lamport diagram")

    def _header(self) -> None:
        for a, x in self.x.items():
            name = a.replace("partition ", "partition\n").replace("-coordinator", "\ncoordinator")
            if a == OTHERS:
                name = "others\n(see below)"
            elif a in self.unborn:
                name += "\n(starts later)"
            lines = name.split("\n")
            size = TEXT_PX["label"]
            while max(text_width(s, size, True) for s in lines) > self.col - 6 and \
                    size > TEXT_PX["small"]:
                size -= 0.5
            if max(text_width(s, size, True) for s in lines) > self.col - 6:
                lines = sum((wrap_px(s, self.col - 6, size, True) for s in lines), [])
            text = "\n".join(lines[-3:])
            _, h = text_size(text, size, True)
            self.d.text(x, TOP - 6 - h + size, text, size=size, anchor="middle",
                        weight="bold", color=MUTED if a in self.unborn else INK)

    def _lines(self) -> None:
        ends: dict[str, float] = {}
        starts: dict[str, float] = {}
        for m in self.v.marks:
            a = actor(m["lane"])
            if m["i"] > self.step:
                continue
            if m["kind"] == "crash" and a in self.x:
                ends.setdefault(a, self.row_y(m["i"]))
            if m["kind"] == "restart" and a in self.x:
                starts.setdefault(a, self.row_y(m["i"]))
        def first_y(s: Arrow, a: str) -> float:  # where message s touches a's line
            if s.src == a and s.step in self.y:
                return max(min(self.after(s.sent_step), self.y[s.step] - 8), TOP)
            return self.row_y(s.step)

        born = {a: min((first_y(s, a) for s in self.v.arrows
                        if a in (s.src, s.dst) and s.step <= self.step), default=None)
                for a in self.x if a.startswith("app-") and "#" in a}
        for a, x in self.x.items():
            if a in self.unborn:  # a restarted instance that does not exist yet
                continue
            y0 = starts.get(a, born.get(a) or TOP) if "#" in a else TOP
            y1 = ends.get(a, self.bottom)
            self.d.line(x, y0, x, y1, stroke=GREY if a != OTHERS else "#c8cdd0",
                        sw=1.4, dash="4 3" if a == OTHERS else None)

    def _stagger(self, drawn: list[Arrow]) -> None:
        """Messages one actor sends between the same two rows leave one under the other,
        in the order they were sent, instead of from one point (a fan whose labels cannot
        be told apart)."""
        self.lift = {}
        groups: dict[tuple[str, float], list[Arrow]] = {}
        for a in drawn:
            groups.setdefault((a.src, round(self._ends(a)[1], 1)), []).append(a)
        for group in groups.values():
            if len(group) > 1:
                step = min(STAGGER, 18.0 / (len(group) - 1))
                for k, a in enumerate(sorted(group, key=lambda a: (a.sent_step, a.step))):
                    self.lift[a.step] = k * step

    def _ends(self, a: Arrow) -> tuple[float, float, float, float]:
        x0, x1 = self.lane_x(a.src), self.lane_x(a.dst)
        assert x0 is not None and x1 is not None
        y1 = self.y[a.step]
        y0 = max(min(self.after(a.sent_step), y1 - 8), TOP)
        for by, before in self.break_at:  # sent after the gap began: start under its line
            if before < a.t0 and y0 < by + 12 < y1:
                y0 = by + 12
        y0 = min(y0 + self.lift.get(a.step, 0.0), max(y0, y1 - 8))
        if a.lost:
            x1, y1 = x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2
        return x0, y0, x1, y1

    def _arrow_line(self, a: Arrow) -> None:
        x0, y0, x1, y1 = self._ends(a)
        colour = RED if a.lost else {"request": BLUE, "response": INK, "marker": SLATE,
                                     "fetch": SLATE}[a.kind]
        if a.step == self.step:
            self.d.line(x0, y0, x1, y1, stroke=ORANGE, sw=7)
            n = max(1, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 // 8))
            for k in range(n + 1):  # the bar as small boxes: no label is placed on it
                bx, by = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
                self.d.boxes.append(Box(bx - 4, by - 4, bx + 4, by + 4, "bar",
                                        owner=f"a{a.step}"))
        self.d.line(x0, y0, x1, y1, stroke=colour, sw=1.2 if a.kind in ("marker", "fetch")
                    else 1.6, dash="6 4" if a.retry else ("2 3" if a.held else None),
                    arrow=None if a.lost else colour, shaft=True, owner=f"a{a.step}")
        if a.lost:
            self.d.text(x1, y1, "✕", size=16, anchor="middle", valign="middle", color=RED,
                        weight="bold", kind="marker", owner=f"a{a.step}")
        else:  # the arrowhead: no label may sit on it
            self.d.boxes.append(Box(x1 - 5, y1 - 5, x1 + 5, y1 + 5, "marker",
                                    owner=f"head{a.step}"))

    def _free(self, box: Box, owner: str, bar: bool = True) -> bool:
        """True if a label at ``box`` touches no other label, marker, the step bar (unless
        ``bar`` is False; its own arrow's bar is fine) nor any arrow's shaft but its
        ``owner``'s."""
        kinds = ("text", "marker", "bar") if bar else ("text", "marker")
        return not any(box.overlaps(b, 0.5) for b in self.d.boxes if b.kind in kinds
                       and not (b.kind == "bar" and owner and b.owner == owner)) and \
            not any(s.crosses(box) for s in self.d.shafts if not (owner and s.owner == owner))

    def _label_spots(self, a: Arrow, w: float, h: float) -> list[tuple[float, float]]:
        """Where the label of ``a`` may go, best first: beside its shaft (above, then
        below), across its own shaft (the halo keeps it legible), then past either end."""
        x0, y0, x1, y1 = self._ends(a)
        gap = 5.0 if a.step == self.step else 3.0  # the step bar is 8 px wide
        out = []
        for t in (0.5, 0.3, 0.7, 0.15, 0.85):
            cx, cy = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            out += [(cx - w / 2, cy - gap - h), (cx - w / 2, cy + gap)]
        for t in (0.5, 0.35, 0.65, 0.2, 0.8):
            cx, cy = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            out.append((cx - w / 2, cy - h / 2))
        lo, hi = min(x0, x1), max(x0, x1)
        head, tail = (hi + 6, lo - 6 - w) if x1 >= x0 else (lo - 6 - w, hi + 6)
        for end, y in ((head, y1), (tail, y0)):
            out += [(end, y - h / 2 + dy) for dy in (0.0, -0.6 * h, 0.6 * h)]
        for end, y in ((head, y1), (tail, y0)):
            out += [(end, y - h / 2 + dy) for dy in (-1.2 * h, 1.2 * h)]
        return out

    def _arrow_label(self, a: Arrow) -> None:
        text = a.label + ("  LOST" if a.lost else "")
        size = TEXT_PX["small"]
        bold = a.step == self.step
        colour = RED if a.lost else INK
        owner = f"a{a.step}"
        w, h = text_size(text, size, bold)
        tries = self._label_spots(a, w, h)
        for left, top in tries:
            left = min(max(left, 2.0), self.d.width - w - 2)
            if top >= TOP and self._free(Box(left, top, left + w, top + h, "text"), owner):
                self.d.text(left, top + 0.95 * size, text, size=size, color=colour,
                            halo=True, weight="bold" if bold else "normal", owner=owner)
                return
        n = len(self.footnotes) + 1
        self.footnotes.append(f"[{n}] {text}")
        tag = f"[{n}]"
        tw = text_width(tag, size) + 2
        for left, top in [(x + w / 2 - tw / 2, y) for x, y in tries] + \
                self._label_spots(a, tw, h):
            left = min(max(left, 2.0), self.d.width - tw - 2)
            if top >= TOP and self._free(Box(left, top, left + tw, top + h, "text"), owner):
                self.d.text(left, top + 0.95 * size, tag, size=size, color=colour, halo=True,
                            owner=owner)
                return

    def _marks(self) -> None:
        for m in self.v.marks:
            if m["i"] > self.step or m["i"] not in self.y:
                continue
            a = actor(m["lane"])
            x = self.lane_x(a)
            if x is None:
                continue
            y = self.y[m["i"]]
            d = m.get("data") or {}
            if m["kind"] == "crash":
                self.d.line(x - 16, y, x + 16, y, stroke=RED, sw=4)
                self._place(x, y, f"crash: {m['label'].removeprefix('crash ')}", RED, True)
            elif m["kind"] == "restart":
                self._place(x, y, "starts", INK, False)
            elif m["kind"] == "fence":
                self._place(x, y, f"epoch -> {d.get('epoch', '?')} (fence)", RED, True)
            else:
                dup = m.get("flag") == "duplicate"
                self.d.rect(x - 4, y - 4, 8, 8, fill=RED if dup else SLATE, box="marker",
                            owner=f"m{m['i']}")
                text = f"row {d.get('id', m['label'])}" + (" REPEAT" if dup else "") + (
                    "" if d.get("applied", True) else " (no-op)")
                self._place(x, y, text, RED if dup else INK, dup, owner=f"m{m['i']}")

    def _place(self, x: float, y: float, text: str, colour: str, bold: bool,
               owner: str = "") -> None:
        size = TEXT_PX["small"]
        w, h = text_size(text, size, bold)
        top = y - h / 2
        spots = [(min(max(left, 2.0), self.d.width - w - 2), top + dy)
                 for dy in (0.0, h * 0.75, -h * 0.75) for left in (x + 8, x - 8 - w)]
        spots += [(min(max(left, 2.0), self.d.width - w - 2), top + dy)
                  for dy in (h * 1.5, -h * 1.5, h * 2.25, -h * 2.25, h * 3, -h * 3)
                  for left in (x + 8, x - 8 - w)]
        for strict in (True, False):  # off the step bar if possible, off labels always
            free = [(left, t) for left, t in spots
                    if self._free(Box(left, t, left + w, t + h, "text"), owner, bar=strict)]
            if free:
                left, top = free[0]
                break
        else:
            left, top = spots[0]
        self.d.text(left, top + 0.95 * size, text, size=size, color=colour,
                    weight="bold" if bold else "normal", halo=True, owner=owner)

    def _now(self) -> None:
        if not self.trace or self.step not in self.y:
            return
        y = self.y[self.step]
        self.d.text(4, y + 4, f"now ▶ {self.step + 1}", size=TEXT_PX["small"], weight="bold",
                    color=INK)
        ev = self.trace[self.step]
        if not any(a.step == self.step for a in self.v.arrows) and \
                ev["kind"] not in MARK_KINDS:
            x = self.lane_x(actor(ev["lane"]))
            if x is not None:
                self.d.rect(x - 5, y - 5, 10, 10, fill=ORANGE, stroke=INK, sw=1, rx=5,
                            box="marker", owner="now")
                chars = max(12, int((self.d.width - x - 20) / (TEXT_PX["small"] * 0.62)))
                label = "\n".join(textwrap.wrap(f"{ev['kind']}: {ev['label']}", chars,
                                                break_long_words=False)[:3])
                self._place(x, y, label, INK, True, owner="now")

    def _footer(self, drawn: list[Arrow]) -> None:
        y = self.d.height + 10
        notes = []
        if self.folded:
            what = "drawn as others" if OTHERS in self.lanes else "not drawn (no message " \
                "with the actors above in these rows)"
            notes.append(f"{what}: " + ", ".join(self.folded) + " (lanes=\"all\" draws each)")
            among = sum(1 for a in self.v.arrows if a.step <= self.step and a.step in self.y
                        and a.src in self.folded and a.dst in self.folded)
            if among:
                notes.append(f"{among} message(s) between two of the others not drawn")
        notes += self.footnotes
        notes.append("Key: blue request, black answer, dashed retry, dotted held answer, "
                     "✕ lost, grey marker/fetch, orange: this step")
        chars = int((self.d.width - 12) / (TEXT_PX["small"] * 0.6))
        text = "\n".join(sum((textwrap.wrap(n, chars, break_long_words=False)
                              for n in notes), []))
        self.d.text(6, y + 4, text, size=TEXT_PX["small"], color=MUTED)

    def _alt(self, drawn: list[Arrow]) -> str:
        base = self.v.describe(self.step)
        if self.folded:
            base += f" Drawn: {', '.join(self.lanes)}; others: {', '.join(self.folded)}."
        if self.trace:
            base += f" Rows shown: steps {self.rows[0] + 1} to {self.rows[-1] + 1}."
        return base


def lamport_picture(result: Result, step: int | None = None, *,
                    lanes: str | Sequence[str] = "auto", window: int | None = WINDOW,
                    width: float = MAX_WIDTH_PX) -> Picture:
    """The Lamport diagram of ``result`` up to trace event ``step`` (default: the end), as
    SVG: at most :data:`MAX_LANES` lanes (``lanes="all"`` for every actor, or a list of
    actors to keep), ``window`` rows ending at the step (None: every row)."""
    return LamportView(result, lanes=lanes, window=window, width=width).picture(step)


def lamport_view(result: Result, step: int | None = None, **kw: Any) -> Picture:
    """Same as :func:`lamport_picture` (the name the notebooks know)."""
    return lamport_picture(result, step, **kw)
