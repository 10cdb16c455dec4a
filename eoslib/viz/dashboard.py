"""The scenario dashboard: controls that re-run a scenario and redraw what the run did.

:class:`Dashboard` shows a few controls (Kafka config keys, faults, seed, message count, see
:mod:`eoslib.viz.controls`). Every change re-runs the scenario and shows its
:class:`~eoslib.viz.frame.Frame`: the counts line (retries included), the checker's verdict,
a caption on the final state, the log view with what each reader is handed under its
``isolation.level`` (and ``__consumer_offsets`` where offsets were committed), and a bar
picture of the counts. The pictures are SVG (sharp at any zoom, text >= 11 px in the
notebook column) shown as ``<img>`` with alt text inside ``HTML`` widgets. The same frame is
what :meth:`Dashboard.frame` returns without a kernel, for a static page.

:class:`TimelinePlayer` steps through a run's trace: an ``ipywidgets.Play`` linked to an
``IntSlider`` redraws :class:`~eoslib.viz.timeline.TimelineView` up to the chosen event.

Cells that display either widget must start with the line ``# NBVAL_IGNORE_OUTPUT``. After a
page reload without a kernel, a widget whose state was not saved shows the text
"run this cell ..." (its ``text/plain``), never a Python repr.
"""

from __future__ import annotations

import gc
import html
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from eoslib.viz.controls import CONTROLS, ControlSpec, check_controls
from eoslib.viz.frame import TEXT_KEYS, Frame, also_failed, frame_of, make_frame
from eoslib.viz.palette import pretty
from eoslib.viz.params import default_run, split_params
from eoslib.viz.players import TimelinePlayer, _Shows, run_line
from eoslib.viz.plots import counts_text

if TYPE_CHECKING:
    from eoslib.result import Result

RunFunction = Callable[..., "Result"]

__all__ = [
    "CONTROLS",
    "ControlSpec",
    "Dashboard",
    "TimelinePlayer",
    "measure_update_latency",
    "split_params",
]


def img_html(png: bytes, alt: str, css_class: str) -> str:
    """An ``<img>`` tag showing PNG bytes inline, with alt text."""
    import base64

    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css_class}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{data}" style="max-width:100%;height:auto"/>')


def counts_html(result: Result, keys: Iterable[str] = TEXT_KEYS) -> str:
    """The counts as HTML whose text reads ``"duplicates: 3 · lost: 0 · ..."``."""
    return Frame({}, counts=dict(result.counts)).counts_html(keys)


def verdict_html(result: Result) -> str:
    """The checker's verdict: a first line with a mark and the words, the details folded."""
    text = str(result.report)
    head, _, rest = text.partition("\n")
    return Frame({}, verdict=head, ok=bool(result.report.ok)).verdict_html(rest)


class Dashboard(_Shows):
    """Controls, the counts, the verdict, a caption and the run's pictures, for one scenario.

    ``controls`` are names from :data:`CONTROLS`; ``defaults`` sets their first values and may
    also hold fixed parameters that have no control (e.g. ``{"acks": "all"}``). ``run`` is
    ``run_scenario`` unless given. Attributes: :attr:`result` (the last Result),
    :attr:`frame_now` (its :class:`~eoslib.viz.frame.Frame`), :attr:`controls` (name ->
    widget), :attr:`counts_html` (HTML widget, CSS class ``eoslib-counts``),
    :attr:`verdict_html`, :attr:`caption` (HTML, ``eoslib-caption``), :attr:`log` (HTML
    with the log view's ``<img>``), :attr:`plot` (HTML with the counts picture),
    :attr:`last_update_ms` (time from a change to the redrawn pictures), :attr:`widget`
    (the whole box), :attr:`error` (the last run's exception, or None).
    """

    def __init__(
        self,
        scenario: str,
        controls: Iterable[str],
        defaults: Mapping[str, Any] | None = None,
        run: RunFunction | None = None,
    ) -> None:
        names = check_controls(controls)
        self.scenario = scenario
        self.run = run or default_run()
        defaults = dict(defaults or {})
        self.fixed = {k: v for k, v in defaults.items() if k not in names}
        self.defaults = {n: defaults.get(n, CONTROLS[n].default) for n in names}
        self.controls: dict[str, widgets.ValueWidget] = {
            n: CONTROLS[n].make(self.defaults[n]) for n in names}
        self.counts_html = widgets.HTML()
        self.counts_html.add_class("eoslib-counts")
        self.verdict_html = widgets.HTML()
        self.verdict_html.add_class("eoslib-verdict")
        self.caption = widgets.HTML()
        self.caption.add_class("eoslib-caption")
        self.log = widgets.HTML()
        self.log.add_class("eoslib-logview")
        self.messages = widgets.HTML()
        self.messages.add_class("eoslib-messages")
        self.plot = widgets.HTML()
        self.plot.add_class("eoslib-plot")
        box = widgets.Box(list(self.controls.values()),
                          layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = widgets.VBox([box, self.counts_html, self.verdict_html, self.caption,
                                    self.log, self.plot, self.messages])
        self.widget.add_class("eoslib-dashboard")
        self.result: Result | None = None
        self.frame_now: Frame | None = None
        self.error: Exception | None = None
        self.last_update_ms: float = 0.0
        self.updates = 0
        self.update()
        for w in self.controls.values():
            w.observe(self._changed, names="value")

    # -- the kernel-free API (one source for the widget and a static page) ----------------
    def choices(self) -> dict[str, list[Any]]:
        """Every value of each finite control (checkboxes, drop-downs); a numeric control
        (slider, seed) keeps its default only: the frames a static page can offer."""
        return {n: list(CONTROLS[n].choices) if CONTROLS[n].choices is not None
                else [self.defaults[n]] for n in self.controls}

    def frame(self, **values: Any) -> Frame:
        """The :class:`~eoslib.viz.frame.Frame` for ``values`` (control name -> value; the
        rest from the defaults), computed without touching a widget."""
        unknown = [k for k in values if k not in self.controls]
        if unknown:
            raise ValueError(f"Invalid value {unknown[0]!r} for a control name: expected one "
                             f"of {', '.join(self.controls)}")
        frame, _ = make_frame(self.scenario, {**self.fixed, **self.defaults, **values},
                              self.run)
        return frame

    # -- parameters and runs -------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The current parameters: fixed defaults, then the controls' values."""
        return {**self.fixed, **{n: w.value for n, w in self.controls.items()}}

    def _changed(self, change: Mapping[str, Any]) -> None:
        self.update()

    def update(self) -> Result | None:
        """Re-run the scenario with the current values and redraw. Returns the new result.

        Python's cycle collector is held off during the run and redraw, then collects the
        young generations only: a run leaves its simulation's callbacks as ~20,000 objects
        in cycles, and a full collection in the middle of a run walks the whole kernel's
        heap (matplotlib, widgets...): 60 ms of a 90 ms update at p95."""
        start = time.perf_counter()
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._update()
        finally:
            if enabled:
                gc.enable()
            gc.collect(1)  # the run's own cycles, without a walk of the old heap
            self.last_update_ms = (time.perf_counter() - start) * 1000  # all of it

    def _update(self) -> Result | None:
        values = self.values()
        config, faults, kwargs = split_params(values)
        try:
            result = self.run(self.scenario, config=config, faults=faults, **kwargs)
        except Exception as exc:  # shown to the learner: a bad combination of settings
            self.error = exc
            self.verdict_html.value = Frame(
                values, error=f"cannot run: {type(exc).__name__}: {exc}").verdict_html()
            return None
        self.error = None
        self.result = result
        self._show(frame_of(result, values), result)
        self.updates += 1
        return result

    def _show(self, frame: Frame, result: Result) -> None:
        # pictures first, the counts line last: when the counts change, everything has
        self.frame_now = frame
        self.log.value = frame.picture_html("log")
        self.plot.value = frame.picture_html("counts")
        self.messages.value = ("<details><summary>the messages, up to the first anomaly (Lamport "
                               "diagram)</summary>" + frame.picture_html("messages")
                               + "</details>")
        self.caption.value = f"<p>{html.escape(frame.caption)}</p>"
        self.verdict_html.value = frame.verdict_html(str(result.report).partition("\n")[2])
        self.counts_html.value = frame.counts_html()

    @property
    def counts_text(self) -> str:
        """The counts line as plain text: ``"duplicates: 3 · lost: 0 · ..."``."""
        if self.result is None:
            return ""
        also = "".join(f" · {pretty(k)}: {v}" for k, v in also_failed(self.result).items())
        return counts_text(self.result, TEXT_KEYS) + also

    def _static(self) -> dict[str, Any]:
        return {"image/svg+xml": self.frame_now.pictures["log"]} if self.frame_now else {}

    def _run_line(self) -> str:
        return run_line("Dashboard", self.scenario)

    def __repr__(self) -> str:
        return f"Dashboard({self.scenario!r}, controls={list(self.controls)})"


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
