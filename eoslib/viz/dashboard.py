"""Widgets for the concept notebooks: a scenario dashboard and a trace step-through player.

:class:`Dashboard` shows a few controls (Kafka config keys, faults, seed, message count).
Every change re-runs the scenario and redraws, in place, a bar chart of the anomaly counts,
a line of counts as text and the checker's verdict. The chart is the same matplotlib figure
every time (only its artists change), rendered once to PNG and shown as an ``<img>`` with alt
text inside an ``HTML`` widget: one render per change, identical headless and in a browser.
(An ``Output`` widget with ``display(fig)`` would render twice per change through the inline
backend, cannot be asserted on headless, and swallows exceptions raised inside it.)

:class:`TimelinePlayer` steps through a run's trace: an ``ipywidgets.Play`` linked to an
``IntSlider`` redraws :class:`~eoslib.viz.timeline.TimelineView` up to the chosen event.

Cells that display either widget must start with the line ``# NBVAL_IGNORE_OUTPUT``.
"""

from __future__ import annotations

import base64
import html
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from eoslib.protocol_state import state_at
from eoslib.viz.logview import log_view
from eoslib.viz.palette import ANOMALY_KEYS, pretty
from eoslib.viz.params import CRASH_STEPS, default_run, split_params
from eoslib.viz.plots import CountsPlot, alt_text, counts_text, to_png
from eoslib.viz.timeline import TimelineView, event_caption

if TYPE_CHECKING:
    from eoslib.result import Result

RunFunction = Callable[..., "Result"]

__all__ = [
    "CONTROLS",
    "Dashboard",
    "TimelinePlayer",
    "measure_update_latency",
    "split_params",
]


#: Counts shown in the text line under the controls.
TEXT_KEYS = (*ANOMALY_KEYS, "txn_committed", "txn_aborted")

#: PNG resolution of the dashboard chart (pixels per inch).
DPI = 96

_WIDE = {"description_width": "initial"}


@dataclass(frozen=True)
class ControlSpec:
    """How to build one control: a widget factory and the default value."""

    make: Callable[[Any], widgets.ValueWidget]
    default: Any


def _checkbox(name: str) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.Checkbox(value=bool(v), description=name, indent=False)


def _dropdown(name: str, options: Iterable[str]) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.Dropdown(options=list(options), value=v, description=name,
                                      style=_WIDE)


def _float_slider(name: str, hi: float) -> Callable[[Any], widgets.ValueWidget]:
    return lambda v: widgets.FloatSlider(
        value=v, min=0.0, max=hi, step=0.01, description=name, readout_format=".2f",
        continuous_update=False, style=_WIDE,
    )


#: Every control a dashboard can show, by name.
CONTROLS: dict[str, ControlSpec] = {
    "enable.idempotence": ControlSpec(_checkbox("enable.idempotence"), True),
    "transactions": ControlSpec(_checkbox("transactions"), False),
    "isolation.level": ControlSpec(
        _dropdown("isolation.level", ("read_uncommitted", "read_committed")), "read_uncommitted"
    ),
    "delivery": ControlSpec(
        _dropdown("delivery", ("at-most-once", "at-least-once", "exactly-once")),
        "at-least-once",
    ),
    "acks": ControlSpec(_dropdown("acks", ("0", "1", "all")), "all"),
    "response_loss": ControlSpec(_float_slider("response_loss", 0.5), 0.1),
    "request_loss": ControlSpec(_float_slider("request_loss", 0.5), 0.0),
    "crash_step": ControlSpec(_dropdown("crash_step", CRASH_STEPS), "none"),
    "lost_acks": ControlSpec(
        lambda v: widgets.IntSlider(value=v, min=0, max=10, description="lost_acks",
                                    continuous_update=False, style=_WIDE),
        0,
    ),
    "seed": ControlSpec(
        lambda v: widgets.IntText(value=v, description="seed", style=_WIDE,
                                  layout=widgets.Layout(width="10em")),
        0,
    ),
    "messages": ControlSpec(
        lambda v: widgets.IntSlider(value=v, min=10, max=1000, step=10, description="messages",
                                    continuous_update=False, style=_WIDE),
        100,
    ),
}


def img_html(png: bytes, alt: str, css_class: str) -> str:
    """An ``<img>`` tag showing PNG bytes inline, with alt text."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css_class}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}" style="max-width:100%;height:auto"/>')


def counts_html(result: Result, keys: Iterable[str] = TEXT_KEYS) -> str:
    """The counts as HTML whose text reads ``"duplicates: 3 · lost: 0 · ..."``."""
    parts = []
    for key in keys:
        v = result.counts.get(key, 0)
        shown = f"{v:g}" if isinstance(v, float) else str(v)
        parts.append(f'<span class="eoslib-count" data-key="{key}">'
                     f"<b>{html.escape(pretty(key))}</b>: {shown}</span>")
    return " · ".join(parts)


def verdict_html(result: Result) -> str:
    """The checker's verdict: a first line with a mark and the words, the details folded."""
    text = str(result.report)
    head, _, rest = text.partition("\n")
    mark = "&#10003;" if result.report.ok else "&#10007;"  # check / cross, plus the words
    if not rest:
        return f"<div><b>{mark} checker: {html.escape(head)}</b></div>"
    return (f"<details><summary><b>{mark} checker: {html.escape(head)}</b></summary>"
            f'<pre style="white-space:pre-wrap;font-size:85%">{html.escape(rest)}</pre>'
            "</details>")


def _bundle(widget: widgets.Widget, text: str) -> dict[str, Any]:
    data = dict(widget._repr_mimebundle_() or {})
    data["text/plain"] = text  # short and stable (the default repr embeds the widget values)
    return data


class _Shows:
    """Display a widget-backed object in a notebook (``self.widget``), with text fallback."""

    widget: widgets.Widget

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _bundle(self.widget, repr(self))

    def _ipython_display_(self) -> None:
        display(self._repr_mimebundle_(), raw=True)

    def display(self) -> None:
        """Show it in the notebook."""
        self._ipython_display_()


#: The dashboard draws the log view when no partition holds more records than this.
LOG_VIEW_MAX_CELLS = 40
#: Resolution of the dashboard's log view (it is wide; fewer dots keep the update fast).
LOG_VIEW_DPI = 72


class Dashboard(_Shows):
    """Controls, a counts chart, the counts as text and the verdict, for one scenario.

    ``controls`` are names from :data:`CONTROLS`; ``defaults`` sets their first values and may
    also hold fixed parameters that have no control (e.g. ``{"acks": "all"}``). ``run`` is
    ``run_scenario`` unless given. Attributes: :attr:`result` (the last Result),
    :attr:`controls` (name -> widget), :attr:`counts_html` (HTML widget, CSS class
    ``eoslib-counts``), :attr:`verdict_html`, :attr:`plot` (HTML widget with the chart's
    ``<img>``), :attr:`last_update_ms` (time from a change to the redrawn chart),
    :attr:`widget` (the whole box), :attr:`error` (the last run's exception, or None).
    """

    def __init__(
        self,
        scenario: str,
        controls: Iterable[str],
        defaults: Mapping[str, Any] | None = None,
        run: RunFunction | None = None,
        *,
        dpi: int = DPI,
    ) -> None:
        names = list(controls)
        unknown = [n for n in names if n not in CONTROLS]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; known: {', '.join(CONTROLS)}")
        self.scenario = scenario
        self.run = run or default_run()
        self.dpi = dpi
        defaults = dict(defaults or {})
        self.fixed = {k: v for k, v in defaults.items() if k not in names}
        self.controls: dict[str, widgets.ValueWidget] = {
            n: CONTROLS[n].make(defaults.get(n, CONTROLS[n].default)) for n in names
        }
        self.counts_html = widgets.HTML()
        self.counts_html.add_class("eoslib-counts")
        self.verdict_html = widgets.HTML()
        self.verdict_html.add_class("eoslib-verdict")
        self.plot = widgets.HTML()
        self.plot.add_class("eoslib-plot")
        self.log = widgets.HTML()
        self.log.add_class("eoslib-logview")
        box = widgets.Box(list(self.controls.values()),
                          layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = widgets.VBox([box, self.counts_html, self.verdict_html,
                                    widgets.HBox([self.plot, self.log],
                                                 layout=widgets.Layout(flex_flow="row wrap"))])
        self.widget.add_class("eoslib-dashboard")
        self.result: Result | None = None
        self.error: Exception | None = None
        self.last_update_ms: float = 0.0
        self.updates = 0
        self._chart: CountsPlot | None = None
        self._digits = 0
        self._positions: dict[int, Bbox] = {}
        self.update()
        for w in self.controls.values():
            w.observe(self._changed, names="value")

    # -- parameters and runs -------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The current parameters: fixed defaults, then the controls' values."""
        return {**self.fixed, **{n: w.value for n, w in self.controls.items()}}

    def _changed(self, change: Mapping[str, Any]) -> None:
        self.update()

    def update(self) -> Result | None:
        """Re-run the scenario with the current values and redraw. Returns the new result."""
        start = time.perf_counter()
        config, faults, kwargs = split_params(self.values())
        try:
            result = self.run(self.scenario, config=config, faults=faults, **kwargs)
        except Exception as exc:  # shown to the learner: a bad combination of settings
            self.error = exc
            self.verdict_html.value = (f"<div><b>&#9888; cannot run: {type(exc).__name__}</b>: "
                                       f"{html.escape(str(exc))}</div>")
            self.last_update_ms = (time.perf_counter() - start) * 1000
            return None
        self.error = None
        self.result = result
        self._redraw(result)
        self.updates += 1
        self.last_update_ms = (time.perf_counter() - start) * 1000
        return result

    def _redraw(self, result: Result) -> None:
        if self._chart is None:
            self._chart = CountsPlot(result)
            self.figure.set_dpi(self.dpi)
        else:
            self._chart.update(result)
        self._layout_if_needed()
        self.png = to_png(self.figure, dpi=self.dpi)
        self.plot.value = img_html(self.png, alt_text(self.figure), "eoslib-chart")
        self.counts_html.value = counts_html(result)
        self.verdict_html.value = verdict_html(result)
        self.log.value = self._log_html(result)

    def _log_html(self, result: Result) -> str:
        """The log view of the run's end, when its logs are short enough to read."""
        if not result.trace:
            return ""
        state = state_at(result)
        longest = max((len(p.cells) for n, p in state.partitions.items()
                       if not n.startswith("__")), default=0)
        if longest > LOG_VIEW_MAX_CELLS:
            return (f'<div style="max-width:28em;font-size:90%">The log view is drawn for '
                    f"runs of at most {LOG_VIEW_MAX_CELLS} records a partition (this one has "
                    f"{longest}): lower <code>messages</code> to see each cell.</div>")
        fig = log_view(state)
        self.log_png = to_png(fig, dpi=LOG_VIEW_DPI)  # a wide picture: 72 dpi stays sharp
        return img_html(self.log_png, alt_text(fig), "eoslib-logview-img")

    def _layout_if_needed(self) -> None:
        # Constrained layout costs a second pass per draw. The chart's only layout change is
        # the width of the y tick labels, so lay out once per number of digits, remember the
        # axes position, and draw with a fixed layout.
        fig = self.figure
        ax = fig.axes[0]
        digits = len(str(int(ax.get_ylim()[1])))
        if digits != self._digits:
            if digits not in self._positions:
                fig.set_layout_engine("constrained")
                fig.draw_without_rendering()
                fig.set_layout_engine("none")
                self._positions[digits] = ax.get_position(original=True)
            ax.set_position(self._positions[digits])
            self._digits = digits

    @property
    def figure(self) -> Figure:
        """The chart's matplotlib figure (the same object across updates)."""
        assert self._chart is not None
        return self._chart.fig

    @property
    def counts_text(self) -> str:
        """The counts line as plain text: ``"duplicates: 3 · lost: 0 · ..."``."""
        return "" if self.result is None else counts_text(self.result, TEXT_KEYS)

    def __repr__(self) -> str:
        return f"Dashboard({self.scenario!r}, controls={list(self.controls)})"


class TimelinePlayer(_Shows):
    """Step through ``result.trace``: Play / slider -> the timeline up to event ``i``.

    Attributes: :attr:`play`, :attr:`slider`, :attr:`caption` (HTML, CSS class
    ``eoslib-caption``, naming event ``i``), :attr:`image` (HTML with the ``<img>``),
    :attr:`view` (the :class:`~eoslib.viz.timeline.TimelineView`), :attr:`widget`,
    :attr:`last_update_ms`.
    """

    def __init__(self, result: Result, *, interval_ms: int = 400, dpi: int = 80,
                 start: int = 0) -> None:
        self.result = result
        self.dpi = dpi
        last = max(0, len(result.trace) - 1)
        self.view = TimelineView(result, upto=start, caption_in_figure=False)  # caption: below
        self.view.freeze(dpi)  # static parts drawn once; each step redraws only the events
        self.play = widgets.Play(value=start, min=0, max=last, step=1, interval=interval_ms,
                                 description="play")
        self.slider = widgets.IntSlider(value=start, min=0, max=last, description="event",
                                        readout=False,
                                        continuous_update=True,
                                        layout=widgets.Layout(width="60%"))
        self._link = widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.caption = widgets.HTML()
        self.caption.add_class("eoslib-caption")
        self.image = widgets.HTML()
        self.image.add_class("eoslib-timeline")
        self.widget = widgets.VBox([widgets.HBox([self.play, self.slider]), self.caption,
                                    self.image])
        self.last_update_ms = 0.0
        self.slider.observe(lambda ch: self.show(ch["new"]), names="value")
        self.show(start)

    def show(self, i: int) -> None:
        """Redraw the timeline up to event ``i`` and name that event in the caption."""
        start = time.perf_counter()
        self.view.show(i)
        trace = self.result.trace
        text = event_caption(trace[i], len(trace)) if trace else "no events"
        self.caption.value = f"<code>{html.escape(text)}</code>"
        self.image.value = img_html(self.view.png(), alt_text(self.view.fig),
                                    "eoslib-timeline-img")
        self.last_update_ms = (time.perf_counter() - start) * 1000

    def __repr__(self) -> str:
        return f"TimelinePlayer({self.result.scenario!r}, events={len(self.result.trace)})"


def measure_update_latency(dashboard: Dashboard, n: int = 30) -> dict[str, float]:
    """Toggle the dashboard's first checkbox ``n`` times; percentiles of ``last_update_ms``.

    Returns ``{"p50_ms", "p95_ms", "mean_ms", "max_ms", "n"}``. The checkbox ends as it began.
    """
    box = next((w for w in dashboard.controls.values() if isinstance(w, widgets.Checkbox)), None)
    if box is None:
        raise ValueError("the dashboard has no checkbox to toggle")
    if n < 1:
        raise ValueError("n must be at least 1")
    first = box.value
    times = []
    for _ in range(n):
        box.value = not box.value
        times.append(dashboard.last_update_ms)
    if box.value != first:
        box.value = first
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.fmean(times), 2),
        "max_ms": round(ordered[-1], 2),
        "n": float(n),
    }
