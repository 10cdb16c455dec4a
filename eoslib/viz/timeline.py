"""A run's trace as a timeline: one lane per actor, one marker per event, flags stand out.

x is virtual time (ms). Lanes come in a fixed order (producers, partitions, the transaction
coordinator, the group coordinator, consumers, apps, the sink, anything else). A marker's
shape says what happened (:data:`eoslib.viz.palette.KIND_MARKERS`); events with a ``flag``
(duplicate, aborted, lost, fenced, crash, error) are bigger, outlined in black, coloured by the
flag and labelled with text, so they stand out without relying on colour. The flags are the
simulation's own (e.g. a partition flags the second append of the same batch ``"duplicate"``);
the timeline draws them as they are and infers none.

:class:`TimelineView` draws everything once and then only changes which events are visible,
so stepping through a trace (``upto=i``) is cheap; :func:`timeline` is the one-call version.
"""

from __future__ import annotations

import bisect
import re
import statistics
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from eoslib.viz.palette import (
    BLUE,
    INK,
    KIND_MARKERS,
    LINE_MARKERS,
    is_line_marker,
    kind_marker,
    outcome_style,
)
from eoslib.viz.plots import agg_canvas, encode_png, new_figure, set_alt_text, to_png

if TYPE_CHECKING:
    from eoslib.result import Result, TraceEvent

#: Lane families, top to bottom. A lane belongs to the first family its name starts with.
LANE_FAMILIES: tuple[str, ...] = (
    "producer",
    "partition",
    "txn-coordinator",
    "group-coordinator",
    "consumer",
    "app",
    "sink",
)

#: The data path in the log view's colours (records appended: blue; transaction markers:
#: black), the protocol's chatter (requests, answers, state changes...) in a lighter grey.
KIND_COLOURS: dict[str, str] = {"append": BLUE, "marker": INK}
CHATTER = "#9aa3ad"


def kind_colour(kind: str) -> str:
    """The colour of an unflagged event of ``kind`` (see :data:`KIND_COLOURS`)."""
    return KIND_COLOURS.get(kind, CHATTER)


#: At most this many flagged events get a text label (all of them keep their big marker).
MAX_LABELS = 12

_SIZE = 46.0
_FLAG_SIZE = 150.0


def _natural(s: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s))


_APP = re.compile(r"^(app-\d+)(?:#(\d+))?(.*)$")


def lane_order(lanes: Iterable[str]) -> list[str]:
    """Lanes sorted top to bottom: by family (:data:`LANE_FAMILIES`), then naturally by name.

    An app's lanes stay together, incarnation by incarnation: ``app-1``, ``app-1-consumer``,
    ``app-1-producer``, then ``app-1#2``, ``app-1#2-consumer``...
    """

    def key(lane: str) -> tuple[int, tuple[Any, ...]]:
        for rank, family in enumerate(LANE_FAMILIES):
            if lane.startswith(family):
                m = _APP.match(lane) if family == "app" else None
                if m:
                    return rank, (_natural(m.group(1)), int(m.group(2) or 1), m.group(3))
                return rank, _natural(lane)
        return len(LANE_FAMILIES), _natural(lane)

    return sorted(set(lanes), key=key)


def event_caption(ev: TraceEvent, total: int | None = None) -> str:
    """One line naming an event: ``"step 13 of 448 · t=35 ms · producer-1 · retry: m7 seq=3"``
    (steps count from 1, as the player's slider and title do)."""
    pos = f"step {ev['i'] + 1}" + (f" of {total}" if total else "")
    text = f"{pos} · t={float(ev['t']):g} ms · {ev['lane']} · {ev['kind']}: {ev.get('label', '')}"
    if ev.get("flag"):
        text += f"  [flag: {ev['flag']}]"
    return text


def _pick_labels(
    flagged: Sequence[TraceEvent], max_labels: int, span: float, x: Callable[[float], float]
) -> list[TraceEvent]:
    """Which flagged events get a text label: rarer flags first, spread out along each lane."""
    freq = Counter(ev["flag"] for ev in flagged)
    gap = span * 0.13  # about the width of one label; labels alternate above and below
    chosen: list[TraceEvent] = []
    for ev in sorted(flagged, key=lambda e: (freq[e["flag"]], e["i"])):
        if len(chosen) >= max_labels:
            break
        if any(c["lane"] == ev["lane"] and abs(x(float(c["t"])) - x(float(ev["t"]))) < gap
               for c in chosen):
            continue
        chosen.append(ev)
    return sorted(chosen, key=lambda e: e["i"])


def _short(text: str, n: int = 30) -> str:
    """``text`` wrapped at word boundaries into lines of about ``n`` characters: never cut."""
    return "\n".join(textwrap.wrap(text, n, break_long_words=False)) or text


class TimeAxis:
    """Virtual time -> drawn x, shortening idle gaps (e.g. a 1,000 ms request timeout).

    Gaps between consecutive event times longer than ``cap`` ms are drawn ``cap`` wide (and
    marked); everything else keeps its true scale. ``cap`` is the fixed point of
    ``cap = share * sum(min(gap, cap))``, where ``share`` is 6% per shortened gap and at most
    35% for all of them together, but never less than 10x the median gap. With no long gap:
    the identity.
    """

    def __init__(self, times: Iterable[float], *, share: float = 0.06,
                 total_share: float = 0.35) -> None:
        uniq = sorted(set(times)) or [0.0, 1.0]
        gaps = [b - a for a, b in zip(uniq, uniq[1:], strict=False)]
        cap = sum(gaps) or 1.0
        for _ in range(60):
            long_gaps = sum(1 for g in gaps if g > cap) or 1
            each = min(share, total_share / long_gaps)
            cap = each * sum(min(g, cap) for g in gaps) or cap
        if gaps:
            cap = max(cap, 10 * statistics.median(gaps))
        self.cap = cap
        self.real = [uniq[0]]
        self.drawn = [uniq[0]]
        self.breaks: list[tuple[float, float]] = []  # (drawn x of the middle, real ms skipped)
        for a, b in zip(uniq, uniq[1:], strict=False):
            d = b - a
            if d > cap:
                self.breaks.append((self.drawn[-1] + cap / 2, d))
                d = cap
            self.real.append(b)
            self.drawn.append(self.drawn[-1] + d)

    def __call__(self, t: float) -> float:
        """The drawn x of virtual time ``t``."""
        return float(np.interp(t, self.real, self.drawn))

    def ticks(self, n: int = 8) -> tuple[list[float], list[str]]:
        """Tick positions (drawn x) and labels (virtual ms) inside the unshortened stretches."""
        total = (self.drawn[-1] - self.drawn[0]) or 1.0
        edges = [0] + [k for k in range(1, len(self.real))
                       if self.real[k] - self.real[k - 1] != self.drawn[k] - self.drawn[k - 1]]
        stretches = []
        for j, start in enumerate(edges):
            end = (edges[j + 1] - 1) if j + 1 < len(edges) else len(self.real) - 1
            stretches.append((self.real[start], self.real[end]))
        xs: list[float] = []
        labels: list[str] = []
        for lo, hi in stretches:
            width = self(hi) - self(lo)
            bins = max(1, round(n * width / total))
            values = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
            for v in values:
                x = self(v)
                if lo - 1e-9 <= v <= hi + 1e-9 and all(abs(x - p) > total / 11 for p in xs):
                    xs.append(x)
                    labels.append(f"{v:g}")
        return xs, labels


class TimelineView:
    """A timeline drawn once; :meth:`show` reveals the events up to an index.

    Attributes: ``fig``, ``ax``, ``lanes`` (top to bottom), ``collections`` (kind, flag) ->
    the scatter of those events, ``labels`` (the flag annotations), ``cursor`` (the ring
    around the current event) and ``upto`` (the last index shown, or None for all).
    """

    def __init__(
        self,
        result: Result,
        ax: Axes | None = None,
        *,
        upto: int | None = None,
        max_labels: int = MAX_LABELS,
        caption_in_figure: bool = True,
    ) -> None:
        self.result = result
        trace: Sequence[TraceEvent] = result.trace
        self.events = list(trace)
        self.time = TimeAxis(float(ev["t"]) for ev in self.events)
        self.lanes = lane_order(ev["lane"] for ev in self.events) or ["(no events)"]
        row = {lane: k for k, lane in enumerate(self.lanes)}
        if ax is None:
            self.fig, self.ax = new_figure((8.4, 1.9 + 0.42 * len(self.lanes)))
        else:
            fig = ax.get_figure()
            assert isinstance(fig, Figure)
            self.fig, self.ax = fig, ax
        ax = self.ax

        groups: dict[tuple[str, str | None], list[tuple[int, float, int]]] = {}
        for ev in self.events:
            groups.setdefault((ev["kind"], ev.get("flag")), []).append(
                (int(ev["i"]), self.time(float(ev["t"])), row[ev["lane"]])
            )
        # Ordinary events under flagged ones.
        order = sorted(groups, key=lambda g: (g[1] is not None, g[0], g[1] or ""))
        self.collections: dict[tuple[str, str | None], PathCollection] = {}
        self._idx: dict[tuple[str, str | None], list[int]] = {}
        self._xy: dict[tuple[str, str | None], np.ndarray] = {}
        for g in order:
            kind, flag = g
            pts = sorted(groups[g])
            self._idx[g] = [p[0] for p in pts]
            self._xy[g] = np.array([(p[1], p[2]) for p in pts], dtype=float).reshape(-1, 2)
            marker = kind_marker(kind)
            style: dict[str, Any] = {"marker": marker, "zorder": 4 if flag else
                                     3 if kind in KIND_COLOURS else 2}  # data over chatter
            colour = outcome_style(flag).color if flag else kind_colour(kind)
            if marker in LINE_MARKERS:  # no face: colour the lines, never pass an edge colour
                style.update(c=colour, linewidths=2.6 if flag else 1.6)
            elif flag:
                style.update(c=colour, edgecolors=INK, linewidths=1.6)
            elif is_line_marker(marker):  # a glyph: outline it in its own colour
                style.update(c=colour, edgecolors=colour, linewidths=0.6)
            else:
                style.update(c=colour, edgecolors="white", linewidths=0.4)
            coll = ax.scatter([], [], s=_FLAG_SIZE if flag else _SIZE, **style)
            self.collections[g] = coll

        flagged = [ev for ev in self.events if ev.get("flag")]
        xs = [self.time(float(ev["t"])) for ev in self.events] or [0.0, 1.0]
        span = max(xs) - min(xs) or 1.0
        self.labels: list[tuple[int, Text]] = []
        per_lane: Counter[str] = Counter()
        for ev in _pick_labels(flagged, max_labels, span, self.time):
            dy = 11 if per_lane[ev["lane"]] % 2 == 0 else -15
            per_lane[ev["lane"]] += 1
            x = self.time(float(ev["t"]))
            where = (x - min(xs)) / span  # keep labels near the edges inside the axes
            ha = "left" if where < 0.12 else "right" if where > 0.88 else "center"
            txt = ax.annotate(
                _short(f"{ev['flag']}: {ev.get('label', '')}"), (x, row[ev["lane"]]),
                xytext=(-6 if ha == "right" else 6 if ha == "left" else 0, dy),
                textcoords="offset points", ha=ha, fontsize=7.5,
                color=INK, zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            self.labels.append((int(ev["i"]), txt))
        self.hidden_labels = len(flagged) - len(self.labels)

        (self.cursor,) = ax.plot(
            [], [], marker="o", ms=17, mfc="none", mec=INK, mew=1.4, ls="none", zorder=6
        )
        ax.set_xlim(min(xs) - span * 0.02, max(xs) + span * 0.02)
        ticks, tick_labels = self.time.ticks()
        ax.set_xticks(ticks, tick_labels)
        labelled: list[float] = []
        for x, _ in self.time.breaks:
            ax.axvline(x, color="#bbbbbb", lw=0.8, ls=(0, (2, 2)), zorder=1)
        for x, skipped in sorted(self.time.breaks, key=lambda b: -b[1]):  # longest first
            if any(abs(x - other) < span * 0.09 for other in labelled):
                continue  # no room for another "+N ms"
            labelled.append(x)
            ax.annotate(f"+{skipped:g} ms", (x, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color="#555555")
        ax.set_ylim(len(self.lanes) - 0.4, -0.6)
        ax.set_yticks(range(len(self.lanes)), self.lanes, fontsize=8.5)
        ax.grid(axis="y", color="#dddddd", lw=0.8, zorder=0)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlabel("virtual time (ms)" + ("; dashed lines: idle gaps drawn shorter"
                                             if self.time.breaks else ""))
        ax.set_ylabel("actor")
        ax.set_title(
            f"Timeline: {result.scenario} (seed {result.seed}, {len(self.events)} events)",
            fontsize=11,
        )
        # The caption sits under the x axis label, so a title set later does not hide it.
        self.caption_artist = ax.annotate(
            "", xy=(0, 0), xycoords=("axes fraction", ax.xaxis.label), xytext=(0, -4),
            textcoords="offset points", ha="left", va="top", fontsize=8.5, color=INK,
        )
        self._legend(order)
        self._flag_summary = Counter(ev["flag"] for ev in flagged)
        self.upto: int | None = None
        self._background: Any = None
        self.caption_in_figure = caption_in_figure
        self.show(upto)

    def _legend(self, groups: Sequence[tuple[str, str | None]]) -> None:
        handles: list[Line2D] = []
        known = list(KIND_MARKERS)
        kinds = sorted({k for k, _ in groups}, key=lambda k: (k not in known, known.index(k)
                                                              if k in known else 0, k))
        for kind in kinds:
            marker = kind_marker(kind)
            handles.append(Line2D([], [], marker=marker, color=kind_colour(kind), ls="none", ms=7,
                                  mew=1.5 if is_line_marker(marker) else 0.4, label=kind))
        for flag in dict.fromkeys(f for _, f in groups if f):
            handles.append(Line2D([], [], marker="o", ls="none", ms=10, mfc=outcome_style(
                flag).color, mec=INK, mew=1.6, label=f"flag: {flag}"))
        self.legend = self.ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5,
            frameon=False, title="event kind", title_fontsize=8, borderaxespad=0.0,
        )

    def show(self, upto: int | None = None) -> None:
        """Show only the events with ``i <= upto`` (all when None); ring and name event upto."""
        self.upto = upto
        limit = float("inf") if upto is None else upto
        for g, coll in self.collections.items():
            k = bisect.bisect_right(self._idx[g], limit)
            coll.set_offsets(self._xy[g][:k])
        for i, txt in self.labels:
            txt.set_visible(i <= limit)
        total = len(self.events)
        if upto is None or not self.events:
            self.cursor.set_data([], [])
            flags = ", ".join(f"{f} x{n}" for f, n in sorted(self._flag_summary.items()))
            caption = f"all {total} events" + (f"; flagged: {flags}" if flags else "")
            if self.hidden_labels:
                caption += f" ({self.hidden_labels} flagged events not labelled)"
        else:
            ev = self.events[max(0, min(upto, total - 1))]
            self.cursor.set_data([self.time(float(ev["t"]))], [self.lanes.index(ev["lane"])])
            caption = event_caption(ev, total)
        self.caption = caption
        self.caption_artist.set_text(_short(caption, 130) if self.caption_in_figure else "")
        set_alt_text(
            self.fig,
            f"Timeline of scenario {self.result.scenario} (seed {self.result.seed}): lanes "
            f"{', '.join(self.lanes)}; x is virtual time in ms. Showing {caption}.",
        )


    def _dynamic(self) -> list[Artist]:
        return [*self.collections.values(), *(t for _, t in self.labels), self.cursor,
                self.caption_artist]

    def freeze(self, dpi: float | None = None) -> None:
        """Prepare fast step-through: fix the layout, draw the static parts (axes, lanes,
        legend) once, and let :meth:`png` redraw only the events, labels and caption.

        The moving artists become "animated", so after this only :meth:`png` draws them
        (``to_png`` or ``savefig`` of the figure would leave them out)."""
        fig = self.fig
        if dpi is not None:
            fig.set_dpi(dpi)
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        dynamic = self._dynamic()
        for artist in dynamic:
            artist.set_animated(True)
        canvas = agg_canvas(fig)
        canvas.draw()
        self._background = canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        """The timeline as PNG bytes; after :meth:`freeze`, only the moving parts are drawn."""
        if self._background is None:
            return to_png(self.fig)
        canvas = agg_canvas(self.fig)
        canvas.restore_region(self._background)
        for artist in self._dynamic():
            if artist.get_visible():
                self.fig.draw_artist(artist)
        return encode_png(self.fig)


def timeline(
    result: Result, ax: Axes | None = None, upto: int | None = None, *,
    max_labels: int = MAX_LABELS,
) -> Figure:
    """Draw ``result.trace`` as a timeline (events with ``i <= upto`` only, when given)."""
    return TimelineView(result, ax, upto=upto, max_labels=max_labels).fig
