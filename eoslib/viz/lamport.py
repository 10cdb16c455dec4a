"""The Lamport view: one vertical line per actor, one arrow per message, time flowing down.

Each request and response in the trace is an arrow from its sender's line at the time it was
sent to its receiver's line at the time it arrived (``request`` / ``response`` events, see
:mod:`eoslib.network`). A lost message is an arrow that stops half-way and ends in an X; a
retried Produce is dashed and says ``retry``. Markers written by the transaction coordinator
(WriteTxnMarkers) and fetches that handed records to a consumer are arrows too, drawn thinner.
A crash cuts the actor's line with a ``crash`` mark; a restarted application gets a new line.
Idle stretches are drawn short (:class:`RankAxis`: one row per distinct time, with the ms
skipped written where real time jumps). Arrow labels say
what the message carries, in full ("Produce pid=1000 seq=0 [m0]", "offset 0 (duplicate)",
"EndTxn COMMIT"): a label is never cut, at worst a crowded one is left off (the step caption
still says it).

:class:`LamportView` draws every arrow once and then shows those up to a step, so stepping is
cheap; :func:`lamport_view` is the one-call version.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import PIL.Image
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from eoslib.viz.palette import BLUE, GREY, INK, ORANGE, RED, SLATE
from eoslib.viz.plots import agg_canvas, set_alt_text, to_png
from eoslib.viz.timeline import lane_order

if TYPE_CHECKING:
    from eoslib.result import Result, TraceEvent

#: Arrow kinds: network messages, and the two internal ones drawn thinner.
ARROW_KINDS = ("request", "response", "marker", "fetch")


@dataclass
class Arrow:
    """One message drawn as an arrow."""

    step: int  # the trace event where it arrived (or was lost)
    kind: str  # one of ARROW_KINDS
    src: str
    dst: str
    t0: float
    t1: float
    label: str
    lost: bool = False
    retry: bool = False


def _values(vals: list[str]) -> str:
    return ",".join(vals)


def arrows(trace: list[TraceEvent]) -> list[Arrow]:
    """Every arrow of a trace, in trace order (one per request, response, lost message,
    transaction marker and records-returning fetch)."""
    sends: dict[str, dict[str, Any]] = {}  # batch ref -> its latest send/retry event
    last_state: dict[str, float] = {}
    out: list[Arrow] = []
    for ev in trace:
        d = ev.get("data") or {}
        kind = ev["kind"]
        if kind in ("send", "retry") and ev.get("ref"):
            sends[ev["ref"]] = ev
        if kind == "state" and d:
            last_state[str(d.get("pid"))] = ev["t"]
        if "msg" in d:
            label = d["api"]
            send = sends.get(ev.get("ref") or "")
            retry = bool(send and send["kind"] == "retry")
            if d["msg"] == "request":
                sd = send.get("data") if send else None
                if d["api"] == "Produce" and sd and sd["seq"] >= 0:
                    label = (f"Produce pid={sd['pid']} seq={sd['seq']} "
                             f"[{_values(sd['values'])}]")
                elif d["api"] == "Produce" and sd:
                    label = f"Produce [{_values(sd['values'])}] (no pid, no seq)"
                elif d.get("text") and d["text"] != d["api"]:
                    label = d["text"] if d["text"].startswith(d["api"]) else \
                        f"{d['api']} {d['text']}"
                if retry:
                    label = "retry: " + label
            else:
                label = f"{d['api']}: {d.get('reply', 'ok')}"
            t1 = d.get("at", ev["t"]) if d.get("lost") else ev["t"]
            out.append(Arrow(ev["i"], d["msg"], d["from"], d["to"], d["sent"], t1, label,
                             lost=bool(d.get("lost")), retry=retry))
        elif kind == "marker" and d:
            t0 = last_state.get(str(d["pid"]), ev["t"])
            out.append(Arrow(ev["i"], "marker", "txn-coordinator", ev["lane"], min(t0, ev["t"]),
                             ev["t"], f"WriteTxnMarkers {d['kind']}"))
        elif kind == "poll" and d and d.get("records"):
            tp = d["records"][0][0]
            vals = [r[2] for r in d["records"]]
            shown = _values(vals) if len(vals) <= 4 else f"{vals[0]}..{vals[-1]}"
            out.append(Arrow(ev["i"], "fetch", f"partition {tp}", ev["lane"], ev["t"], ev["t"],
                             f"Fetch -> {shown}"))
    return out


def _actors(trace: list[TraceEvent], arrs: list[Arrow]) -> list[str]:
    lanes = {a.src for a in arrs} | {a.dst for a in arrs}
    lanes |= {ev["lane"] for ev in trace if ev["kind"] in ("crash", "restart", "write")}
    return lane_order(lanes)


class RankAxis:
    """Virtual time -> drawn y: every distinct time of the run is one row, so a 1 ms hop
    and a 1,000 ms timeout both take one row (idle stretches drawn short), and the order of
    events is kept exactly. ``gaps`` lists the rows after which real time jumps by more than
    ``long_ms`` (drawn with a break mark and the ms skipped)."""

    def __init__(self, times: list[float], long_ms: float = 50.0) -> None:
        self.times = sorted(set(times)) or [0.0]
        self.row = {t: k for k, t in enumerate(self.times)}
        self.gaps = [(k, b - a) for k, (a, b) in enumerate(zip(self.times, self.times[1:],
                                                               strict=False))
                     if b - a > long_ms]

    def __call__(self, t: float) -> float:
        """The row of time ``t`` (times between rows interpolate)."""
        k = self.row.get(t)
        if k is not None:
            return float(k)
        j = bisect.bisect_left(self.times, t)
        if j <= 0:
            return 0.0
        if j >= len(self.times):
            return float(len(self.times) - 1)
        a, b = self.times[j - 1], self.times[j]
        return j - 1 + (t - a) / (b - a)


class LamportView:
    """A run's Lamport diagram, drawn once; :meth:`show` reveals it up to a step."""

    def __init__(self, result: Result, *, upto: int | None = None, max_labels: int = 60,
                 width: float | None = None, window: int | None = None) -> None:
        """Draw ``result``'s diagram, showing trace events up to ``upto``. ``window`` (rows)
        draws only that many rows, ending a few rows after ``upto``: a long run's moment
        stays readable."""
        self.result = result
        trace = result.trace
        self.arrows = arrows(trace)
        self.actors = _actors(trace, self.arrows)
        times = [a.t0 for a in self.arrows] + [a.t1 for a in self.arrows] + [
            ev["t"] for ev in trace]
        self.axis = RankAxis(times or [0.0])
        n = len(self.actors)
        rows = len(self.axis.times)
        lo, hi = 0, rows - 1
        if window is not None and rows > window:
            focus = self.axis(trace[upto]["t"]) if upto is not None else rows - 1
            hi = int(min(rows - 1, max(window - 1, focus + 4)))
            lo = hi - window + 1
        self.rows_shown = (lo, hi)
        height = min(30.0, max(4.0, 0.3 * (hi - lo + 1) + 1.2))
        self.fig = Figure(figsize=(width or max(6.5, 2.6 * n), height))
        ax = self.fig.add_axes((0.02, 0.02, 0.96, 0.9))
        self.ax = ax
        self.x = {lane: k for k, lane in enumerate(self.actors)}
        top, bottom = 0.0, float(rows - 1)
        ax.set_xlim(-1.1, n - 0.1)
        ax.set_ylim(hi + 0.8, lo - 1.6)
        ax.set_axis_off()
        if lo > 0:
            ax.text(-1.05, lo - 0.6, f"(the first {lo} rows are above)", fontsize=6.5,
                    color=GREY, style="italic", va="center")
        for lane, x in self.x.items():
            ax.text(x, lo - 0.9, lane.replace("partition ", "partition\n"),
                    ha="center", va="bottom", fontsize=8.5, weight="bold", color=INK)
        for k, ms in self.axis.gaps:  # a break mark where real time jumps
            ax.text(-0.55, k + 0.5, f"~ {ms:g} ms later", fontsize=6.5, color=GREY,
                    va="center", ha="left", style="italic")
            ax.axhline(k + 0.5, color=GREY, lw=0.5, ls=":", zorder=0)
        self._lines(trace, top, bottom)
        self._artists: list[tuple[int, list[Any]]] = []
        self._label_rows: dict[tuple[int, int], int] = {}
        labelled = 0
        for a in self.arrows:
            arts = self._draw(a, label=labelled < max_labels or a.lost or a.retry)
            labelled += 1
            self._artists.append((a.step, arts))
        self._crashes(trace)
        self.highlight = ax.axhline(top, color=ORANGE, lw=6, alpha=0.0, zorder=0)
        set_alt_text(self.fig, self.describe())
        self.show(upto)

    # ------------------------------------------------------------------ drawing
    def _lines(self, trace: list[TraceEvent], top: float, bottom: float) -> None:
        ends: dict[str, float] = {}
        for ev in trace:
            if ev["kind"] == "crash" and ev["lane"] in self.x:
                ends.setdefault(ev["lane"], self.axis(ev["t"]))
        for lane, x in self.x.items():
            self.ax.plot([x, x], [top, ends.get(lane, bottom)], color=GREY, lw=1.2, zorder=1)

    def _crashes(self, trace: list[TraceEvent]) -> None:
        self._marks: list[tuple[int, list[Any]]] = []
        for ev in trace:
            if ev["kind"] not in ("crash", "restart", "write") or ev["lane"] not in self.x:
                continue
            x, y = self.x[ev["lane"]], self.axis(ev["t"])
            if ev["kind"] == "crash":
                arts = [self.ax.plot([x - 0.18, x + 0.18], [y, y], color=RED, lw=3)[0],
                        self.ax.text(x + 0.2, y, f"crash: {ev['label']}", fontsize=7.5,
                                     color=RED, va="center", weight="bold")]
            elif ev["kind"] == "restart":
                arts = [self.ax.text(x + 0.1, y, "start", fontsize=7.5, color=INK,
                                     va="center")]
            else:
                d = ev.get("data") or {}
                dup = ev.get("flag") == "duplicate"
                arts = [self.ax.plot([x], [y], marker="s", color=RED if dup else SLATE,
                                     ms=5)[0],
                        self.ax.text(x + 0.08, y, f"row {d.get('id', ev['label'])}"
                                     + (" (REPEAT)" if dup else "")
                                     + ("" if d.get("applied", True) else " (no-op)"),
                                     fontsize=7, color=RED if dup else INK, va="center")]
            self._marks.append((ev["i"], arts))

    def _draw(self, a: Arrow, *, label: bool) -> list[Any]:
        x0, x1 = self.x[a.src], self.x[a.dst]
        y0, y1 = self.axis(a.t0), self.axis(a.t1)
        if y1 - y0 < 0.3:
            y0 = y1 - 0.3  # a same-instant hop is drawn slightly slanted so direction shows
        if a.lost:
            x1, y1 = x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2
        color = {"request": BLUE, "response": INK, "marker": SLATE, "fetch": GREY}[a.kind]
        if a.lost:
            color = RED
        arts: list[Any] = [self.ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1), arrowstyle="-" if a.lost else "-|>", mutation_scale=10,
            color=color, lw=1.0 if a.kind in ("marker", "fetch") else 1.4,
            linestyle="--" if a.retry else "-", zorder=3))]
        if a.lost:
            arts.append(self.ax.plot([x1], [y1], marker="X", color=RED, ms=9, zorder=4)[0])
        if label:
            text = a.label + ("  LOST" if a.lost else "")
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            key = (round(ym * 2), round(xm * 2))
            shift = self._label_rows.get(key, 0)  # labels at one spot stack downwards
            self._label_rows[key] = shift + 1
            ym += 0.38 * shift
            arts.append(self.ax.text(xm, ym, text, fontsize=6.8, ha="center", va="bottom",
                                     color=RED if a.lost else INK, zorder=5,
                                     rotation=0, bbox={"facecolor": "white", "edgecolor":
                                                       "none", "pad": 0.3, "alpha": 0.8}))
        return arts

    # ------------------------------------------------------------------ stepping
    def show(self, upto: int | None = None) -> None:
        """Show the arrows and marks of trace events ``0..upto`` (default: all)."""
        last = len(self.result.trace) - 1 if upto is None else upto
        for step, arts in self._artists + self._marks:
            for art in arts:
                art.set_visible(step <= last)
        if upto is not None and 0 <= upto < len(self.result.trace):
            y = self.axis(self.result.trace[upto]["t"])
            self.highlight.set_ydata([y, y])
            self.highlight.set_alpha(0.35)
        else:
            self.highlight.set_alpha(0.0)
        self.upto = last

    def visible_arrows(self) -> list[Arrow]:
        """The arrows shown at the current step."""
        return [a for a in self.arrows if a.step <= self.upto]

    def png(self, dpi: float = 80) -> bytes:
        """The figure as PNG bytes, as :meth:`show` left it."""
        return to_png(self.fig, dpi=dpi)

    def frame(self, step: int, dpi: float = 72, window: int = 40) -> bytes:
        """PNG of the diagram up to the time of trace event ``step``, fast: the whole
        diagram and the empty one are drawn once (per dpi), and each frame joins the top
        of the first (everything until that time) to the bottom of the second. Unlike
        :meth:`show`, events at the same virtual time as ``step`` all show."""
        full, empty = self._layers(dpi)
        y = self.axis(self.result.trace[step]["t"]) + 0.5
        ax = self.ax
        cut = int(round(ax.transData.transform((0, y))[1]))  # pixels from the bottom
        h = full.shape[0]
        row = min(max(h - cut, 0), h)
        img = empty.copy()
        img[:row] = full[:row]
        band = slice(max(row - 4, 0), row)  # the current time, as a thin orange band
        img[band, :, :3] = (img[band, :, :3] * 0.5 + np.array([230, 159, 0]) * 0.5).astype(
            np.uint8)
        rows = len(self.axis.times)
        if rows > window:  # keep the actors' names and a window of rows around the step
            def px(r: float) -> int:
                return h - int(round(ax.transData.transform((0, r))[1]))

            focus = self.axis(self.result.trace[step]["t"])
            hi = min(rows - 1, max(window - 1, focus + 4))
            lo = hi - window + 1
            img = np.concatenate([img[:max(px(-0.4), 0)],
                                  img[max(px(lo - 0.5), 0):min(px(hi + 0.6), h)]])
        buf = io.BytesIO()
        PIL.Image.fromarray(img).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    def _layers(self, dpi: float) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "_cache_dpi", None) != dpi:
            old = self.upto
            self.fig.set_dpi(dpi)
            self.highlight.set_alpha(0.0)
            for _, arts in self._artists + self._marks:
                for art in arts:
                    art.set_visible(True)
            canvas = agg_canvas(self.fig)
            canvas.draw()
            full = np.asarray(canvas.buffer_rgba()).copy()
            for _, arts in self._artists + self._marks:
                for art in arts:
                    art.set_visible(False)
            canvas.draw()
            empty = np.asarray(canvas.buffer_rgba()).copy()
            self._cache = (full, empty)
            self._cache_dpi = dpi
            self.show(old)
        return self._cache

    def describe(self) -> str:
        """Alt text: the message flow in words."""
        counts: dict[str, int] = {}
        for a in self.arrows:
            counts[a.kind] = counts.get(a.kind, 0) + 1
        lost = sum(a.lost for a in self.arrows)
        return (f"Lamport diagram of {len(self.actors)} actors ({', '.join(self.actors)}): "
                f"{counts.get('request', 0)} requests, {counts.get('response', 0)} responses, "
                f"{lost} lost, {counts.get('marker', 0)} transaction markers, "
                f"{counts.get('fetch', 0)} fetches that returned records.")


def lamport_view(result: Result, step: int | None = None, **kw: Any) -> Figure:
    """The Lamport diagram of ``result`` up to trace event ``step`` (default: all)."""
    return LamportView(result, upto=step, **kw).fig
