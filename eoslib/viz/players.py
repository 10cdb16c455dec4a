"""The controls every player shares: play, previous/next, a step slider, speed, jumps.

:class:`PlayerBar` is one row of widgets with a tooltip on each: play/pause (ipywidgets'
``Play``, linked to the slider in the browser), ``<`` and ``>`` for one step, the slider
(1-based steps), a speed choice, and "jump to" buttons in the order the events happen in the
run, each naming its step. The step player (:class:`eoslib.viz.stepper.StepPlayer`) and the
timeline player (:class:`eoslib.viz.dashboard.TimelinePlayer`) both use it.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.display import display

from eoslib.viz.column import enforce_min_text
from eoslib.viz.plots import alt_text
from eoslib.viz.timeline import TimelineView, event_caption

if TYPE_CHECKING:
    from eoslib.result import Result

#: Speed choices: label -> milliseconds between steps when playing.
SPEEDS: dict[str, int] = {"slow (1 step/s)": 1000, "normal (2 steps/s)": 500,
                          "fast (5 steps/s)": 200, "very fast (12 steps/s)": 80}


def speed_for(steps: int) -> str:
    """A default speed that plays ``steps`` steps in about half a minute at most."""
    for label, ms in SPEEDS.items():
        if steps * ms <= 30_000:
            return label
    return list(SPEEDS)[-1]


class PlayerBar:
    """Play, ``<``, slider, ``>``, speed and jump buttons for ``n`` steps.

    ``on_step(i)`` is called with the 0-based step whenever the learner moves (the slider is
    1-based: "step 1" is trace index 0). ``jumps`` maps a name ("first duplicate") to a
    0-based step; buttons come in step order. Attributes: :attr:`play`, :attr:`slider`,
    :attr:`back`, :attr:`fwd`, :attr:`speed`, :attr:`jumps` (name -> button), :attr:`widget`.
    """

    def __init__(self, n: int, start: int, on_step: Callable[[int], None], *,
                 jumps: Mapping[str, int] | None = None, speed: str | None = None,
                 what: str = "step") -> None:
        self.n = n
        self.on_step = on_step
        label = speed or speed_for(n)
        self.play = widgets.Play(value=start + 1, min=1, max=max(n, 1), step=1,
                                 interval=SPEEDS[label], description="play", show_repeat=False,
                                 tooltip=f"Play the run {what} by {what}, from here "
                                         "(press again to pause)")
        self.slider = widgets.IntSlider(value=start + 1, min=1, max=max(n, 1),
                                        description=what, continuous_update=False,
                                        tooltip=f"Drag to any {what} of the run",
                                        layout=widgets.Layout(width="45%"))
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.back = widgets.Button(description="<", tooltip=f"previous {what}",
                                   layout=widgets.Layout(width="3em"))
        self.fwd = widgets.Button(description=">", tooltip=f"next {what}",
                                  layout=widgets.Layout(width="3em"))
        self.back.on_click(lambda _: self.move(-1))
        self.fwd.on_click(lambda _: self.move(+1))
        self.speed = widgets.Dropdown(options=list(SPEEDS), value=label, description="speed",
                                      tooltip="How fast play moves through the steps",
                                      layout=widgets.Layout(width="16em"))
        self.speed.observe(lambda ch: setattr(self.play, "interval", SPEEDS[ch["new"]]),
                           names="value")
        self.jumps: dict[str, widgets.Button] = {}
        for name, step in sorted((jumps or {}).items(), key=lambda kv: kv[1]):
            b = widgets.Button(description=f"{name} (step {step + 1})",
                               tooltip=f"Jump to step {step + 1}: the {name} of this run",
                               layout=widgets.Layout(width="auto"))
            b.on_click(lambda _, s=step: self.go(s))
            self.jumps[name] = b
        self.slider.observe(lambda ch: self.on_step(ch["new"] - 1), names="value")
        rows = [widgets.HBox([self.play, self.back, self.slider, self.fwd, self.speed])]
        if self.jumps:
            rows.append(widgets.HBox([widgets.Label("jump to:"), *self.jumps.values()],
                                     layout=widgets.Layout(flex_flow="row wrap")))
        self.widget = widgets.VBox(rows)
        self.step = start

    def go(self, i: int) -> None:
        """Move to 0-based step ``i`` (clamped); the slider's observer redraws."""
        i = min(max(i, 0), self.n - 1)
        self.step = i
        if self.slider.value != i + 1:
            self.slider.value = i + 1
        else:
            self.on_step(i)

    def move(self, delta: int) -> None:
        """One step back (``-1``) or forward (``+1``)."""
        self.go(self.step + delta)


def run_line(kind: str, name: str) -> str:
    """The text a widget shows where its kernel is gone: what to do, never a repr."""
    return (f"[{kind} '{name}': run this cell to use it. The interactive {kind} needs a "
            "running kernel (Run > Run All Cells).]")


class _Shows:
    """Display a widget-backed object in a notebook (``self.widget``), with a text line
    (and, where there is one, a static picture) for where widgets cannot be shown."""

    widget: widgets.Widget

    def _static(self) -> dict[str, Any]:
        return {}

    def _run_line(self) -> str:
        return run_line(type(self).__name__, "")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = dict(self.widget._repr_mimebundle_() or {})
        data.update(self._static())
        data["text/plain"] = self._run_line()
        return data

    def _ipython_display_(self) -> None:
        display(self._repr_mimebundle_(), raw=True)

    def display(self) -> None:
        """Show it in the notebook."""
        self._ipython_display_()


#: The timeline player's picture: drawn at twice this many dots per inch, shown at this.
TIMELINE_DPI = 96


class TimelinePlayer(_Shows):
    """Step through ``result.trace`` on its timeline (one lane per actor, one marker per
    event): the same controls as the step player (:class:`PlayerBar`), a caption naming the
    event, and the timeline up to it (a 2x PNG shown at 1x: sharp at 200% zoom).

    Attributes: :attr:`bar`, :attr:`play`, :attr:`slider` (1-based), :attr:`caption` (HTML,
    CSS class ``eoslib-caption``), :attr:`image` (HTML with the ``<img>``), :attr:`view`
    (the :class:`~eoslib.viz.timeline.TimelineView`), :attr:`widget`,
    :attr:`last_update_ms`."""

    def __init__(self, result: Result, *, interval_ms: int | None = None, start: int = 0,
                 speed: str | None = None) -> None:
        self.result = result
        n = max(1, len(result.trace))
        self.view = TimelineView(result, upto=start, caption_in_figure=False)
        self.view.fig.set_dpi(TIMELINE_DPI)
        enforce_min_text(self.view.fig)  # every text >= 11 px as shown (1 in = 96 px)
        self.view.freeze(2 * TIMELINE_DPI)  # static parts drawn once; each step: the events
        self.caption = widgets.HTML()
        self.caption.add_class("eoslib-caption")
        self.image = widgets.HTML()
        self.image.add_class("eoslib-timeline")
        self.last_update_ms = 0.0
        self.step = start
        self.bar = PlayerBar(n, start, self.show, speed=speed, what="event")
        if interval_ms is not None:
            self.bar.play.interval = interval_ms
        self.play, self.slider = self.bar.play, self.bar.slider
        self.widget = widgets.VBox([self.bar.widget, self.caption, self.image])
        self.show(start)

    def show(self, i: int) -> None:
        """Redraw the timeline up to event ``i`` (0-based) and name that event."""
        started = time.perf_counter()
        self.step = self.bar.step = i
        if self.slider.value != i + 1:
            self.slider.value = i + 1
            return
        self.view.show(i)
        trace = self.result.trace
        text = event_caption(trace[i], len(trace)) if trace else "no events"
        self.caption.value = f"<code>{html.escape(text)}</code>"
        png = self.view.png()
        width = round(self.view.fig.get_figwidth() * TIMELINE_DPI)
        data = base64.b64encode(png).decode("ascii")
        self.image.value = (f'<img class="eoslib-timeline-img" width="{width}" '
                            f'alt="{html.escape(alt_text(self.view.fig))}" '
                            f'src="data:image/png;base64,{data}" '
                            'style="max-width:100%;height:auto"/>')
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _run_line(self) -> str:
        return run_line("TimelinePlayer", self.result.scenario)

    def __repr__(self) -> str:
        return f"TimelinePlayer({self.result.scenario!r}, events={len(self.result.trace)})"
