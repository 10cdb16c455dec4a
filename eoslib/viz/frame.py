"""One dashboard frame without a kernel: pictures as SVG, counts, verdict, caption, alt text.

:func:`make_frame` runs a scenario with a dashboard's values and returns a :class:`Frame`:
the log view with each reader's view (and ``__consumer_offsets`` where offsets were
committed), a bar picture of the counts, the counts, the checker's verdict line, a caption
that says what the run's final state holds, and alt text for every picture. The notebook
widget (:class:`eoslib.viz.dashboard.Dashboard`) shows exactly this, and a static page
(``eoslib.site``) can render every choice of a dashboard ahead of time from it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoslib.protocol_state import ProtocolState, state_at
from eoslib.viz.captions import summary_caption
from eoslib.viz.column import MAX_WIDTH_PX, TEXT_PX
from eoslib.viz.logview import log_picture
from eoslib.viz.palette import ANOMALY_KEYS, INK, outcome_style, pretty
from eoslib.viz.params import split_params
from eoslib.viz.svg import Drawing, Picture
from eoslib.viz.textmetrics import text_width

if TYPE_CHECKING:
    from eoslib.result import Result

#: Counts shown in the counts line, in order.
TEXT_KEYS = (*ANOMALY_KEYS, "retries", "txn_committed", "txn_aborted")
#: Counts drawn as bars.
BAR_KEYS = (*ANOMALY_KEYS, "retries")
#: The checker's anomaly names the counts above already show (as ``duplicates``...).
SHOWN_ANOMALIES = frozenset({"duplicate", "lost", "aborted_read", "uncommitted_read",
                             "processed_twice", "reordered", "fenced"})


def also_failed(result: Result) -> dict[str, int]:
    """The anomalies that make the verdict NOT OK and that no count shows (e.g.
    ``inconsistent_offsets``, ``torn_txn``): name -> count, for the counts line."""
    report = result.report
    return {n: report.count(n) for n in report.failures() if n not in SHOWN_ANOMALIES}

_PATTERN = {"//": "diag", "xx": "cross", "..": "dots", "\\\\": "diag", "++": "cross",
            "--": "diag", "||": "diag", "oo": "dots"}


@dataclass
class Frame:
    """What a dashboard shows for one set of values (see module docstring).

    ``pictures`` maps a name (``"log"``, ``"messages"``: the Lamport view up to the first
    anomaly, ``"counts"``) to SVG text, ``alt`` the same names
    to alt text; ``counts`` is the run's counts; ``verdict`` the checker's first line with
    ``OK``/``NOT OK``; ``caption`` one paragraph about the final state; ``values`` the
    parameters that made it; ``error`` the message when the run refused them."""

    values: dict[str, Any]
    pictures: dict[str, str] = field(default_factory=dict)
    alt: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""
    ok: bool = True
    caption: str = ""
    error: str | None = None
    note: str = ""
    also: dict[str, int] = field(default_factory=dict)  # see also_failed
    _pics: dict[str, Picture] = field(default_factory=dict, repr=False)

    @property
    def svg(self) -> str:
        """The main picture (the log view with the readers' rows) as SVG text."""
        return self.pictures.get("log", "")

    @property
    def svgs(self) -> dict[str, str]:
        """Every picture: name -> SVG text (same as :attr:`pictures`)."""
        return self.pictures

    def counts_html(self, keys: Iterable[str] = TEXT_KEYS) -> str:
        """The counts as HTML whose text reads ``"duplicates: 3 · lost: 0 · ..."``."""
        parts = []
        for key in keys:
            v = self.counts.get(key, 0)
            shown = f"{v:g}" if isinstance(v, float) else str(v)
            parts.append(f'<span class="eoslib-count" data-key="{key}">'
                         f"<b>{html.escape(pretty(key))}</b>: {shown}</span>")
        for key, v in self.also.items():  # what the verdict names and no count shows
            parts.append(f'<span class="eoslib-count" data-key="{key}">'
                         f"<b>{html.escape(pretty(key))}</b>: {v}</span>")
        return " · ".join(parts)

    def verdict_html(self, details: str = "") -> str:
        """The verdict line with a mark and the words (details folded under it)."""
        if self.error:
            return f"<div><b>&#9888; {html.escape(self.error)}</b></div>"
        mark = "&#10003;" if self.ok else "&#10007;"
        head = f"<b>{mark} checker: {html.escape(self.verdict)}</b>"
        if not details:
            return f"<div>{head}</div>"
        return (f"<details><summary>{head}</summary><pre style=\"white-space:pre-wrap;"
                f'font-size:90%">{html.escape(details)}</pre></details>')

    def picture_html(self, name: str) -> str:
        """Picture ``name`` as an ``<img>`` with its alt text."""
        pic = self._pics.get(name)
        return pic.img_html(f"eoslib-{name}-img") if pic else ""

    def html(self) -> str:
        """The whole frame as one HTML fragment (counts, verdict, caption, pictures)."""
        return (f'<div class="eoslib-frame"><div class="eoslib-counts">{self.counts_html()}'
                f'</div><div class="eoslib-verdict">{self.verdict_html()}</div>'
                f'<p class="eoslib-caption">{html.escape(self.caption)}</p>'
                + "".join(f"<div>{self.picture_html(n)}</div>" for n in self.pictures)
                + "</div>")


def counts_picture(counts: Mapping[str, Any], keys: Iterable[str] = BAR_KEYS, *,
                   title: str = "") -> Picture:
    """Horizontal bars of ``counts``: one row per key, its name, a bar and its number
    (colour, hatch and the number: nothing rests on colour)."""
    keys = list(keys)
    size = TEXT_PX["label"]
    name_w = max(text_width(pretty(k), size) for k in keys) + 12
    d = Drawing(min(MAX_WIDTH_PX, 560.0))
    top = 8.0
    if title:
        d.text(8, 20, title, size=TEXT_PX["name"], weight="bold")
        top = 30.0
    values = [float(counts.get(k, 0) or 0) for k in keys]
    hi = max([1.0, *values])
    room = d.width - name_w - 60
    for k, (key, v) in enumerate(zip(keys, values, strict=True)):
        y = top + k * 22
        style = outcome_style(key) if key in ANOMALY_KEYS else outcome_style("crash")
        d.text(name_w, y + 15, pretty(key), size=size, anchor="end")
        w = room * v / hi
        if w > 0:
            d.rect(name_w + 6, y + 3, w, 16, fill=style.color + "cc", stroke=INK, sw=0.7,
                   hatch=_PATTERN.get(style.hatch))
        d.text(name_w + 12 + w, y + 15, f"{v:g}", size=size, weight="bold")
    listing = ", ".join(f"{pretty(k)} {v:g}" for k, v in zip(keys, values, strict=True))
    return d.picture(f"Bar chart of the run's counts: {listing}.", title=title or "counts")


def frame_of(result: Result, values: Mapping[str, Any] | None = None,
             state: ProtocolState | None = None) -> Frame:
    """The :class:`Frame` of a finished run."""
    st = state or state_at(result)
    log = log_picture(st)
    bars = counts_picture(result.counts)
    messages = _messages(result)
    verdict = str(result.report).splitlines()[0] if str(result.report) else ""
    longest = max((len(p.cells) for n, p in st.partitions.items()), default=0)
    note = (f"The log view shows the first and newest records of each partition and those "
            f"around a pointer or a duplicate ({longest} in the longest)." if longest > 16
            else "")
    f = Frame(dict(values or {}), counts=dict(result.counts), verdict=verdict,
              ok=bool(result.report.ok), caption=summary_caption(result, st), note=note,
              also=also_failed(result))
    for name, pic in (("log", log), ("messages", messages), ("counts", bars)):
        if pic is None:
            continue
        f.pictures[name] = pic.svg
        f.alt[name] = pic.alt
        f._pics[name] = pic
    return f


def _messages(result: Result) -> Picture | None:
    """The Lamport view of the rows up to the run's first anomaly (or crash), else to its
    end: the messages that made what the log view shows."""
    from eoslib.viz.lamport import LamportView

    if not result.trace:
        return None
    flags = ("duplicate", "lost", "aborted", "fenced", "crash")  # as the simulation flags them
    first = next((ev["i"] for ev in result.trace if ev.get("flag") in flags),
                 len(result.trace) - 1)
    return LamportView(result, upto=first).picture(first)


def make_frame(scenario: str, values: Mapping[str, Any], run: Callable[..., Result]
               ) -> tuple[Frame, Result | None]:
    """Run ``scenario`` with dashboard ``values`` (see :func:`eoslib.viz.params.split_params`)
    and return its frame and result (None, and ``frame.error``, if the run refused them)."""
    config, faults, kwargs = split_params(values)
    try:
        result = run(scenario, config=config, faults=faults, **kwargs)
    except Exception as exc:  # shown to the learner: a bad combination of settings
        return Frame(dict(values), error=f"cannot run: {type(exc).__name__}: {exc}",
                     ok=False), None
    return frame_of(result, values), result
