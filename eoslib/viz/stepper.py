"""Step through a run with both pictures in sync: :func:`show_moment` and :class:`StepPlayer`.

:func:`show_moment` shows one step of a run as static images (the log view and the Lamport
view) and its caption: what a notebook's committed output carries, readable without a kernel.
:class:`StepPlayer` is the interactive version: a slider, step buttons, play, and one
"jump to the first <anomaly>" button per anomaly the run shows; one count ("step 7 of 40")
and one caption per step.

``at`` / ``start`` name a step as an int (0-based trace index), ``"end"``, or an anomaly flag
(``duplicate``, ``lost``, ``aborted``, ``fenced``, ``crash``: the first step flagged so).
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.display import display

from eoslib.protocol_state import _BIRTHS, first_step, fold
from eoslib.viz.captions import caption, step_title
from eoslib.viz.lamport import LamportView
from eoslib.viz.logview import log_view
from eoslib.viz.plots import alt_text, to_png

if TYPE_CHECKING:
    from eoslib.result import Result

#: The views :func:`show_moment` and :class:`StepPlayer` can draw.
VIEWS = ("log", "lamport")
#: Resolution of the pictures (dots per inch).
DPI = 72
#: A static Lamport view shows at most this many rows (distinct times), ending at the step.
LAMPORT_ROWS = 36


def resolve_step(result: Result, at: int | str) -> int:
    """The 0-based trace index that ``at`` names (see module docstring)."""
    n = len(result.trace)
    if n == 0:
        raise ValueError("this run has no trace (was it run with tracing=False?)")
    if isinstance(at, bool):
        raise ValueError(f"Invalid value {at!r} for at: expected a step or a name")
    if isinstance(at, int):
        if not 0 <= at < n:
            raise ValueError(f"Invalid value {at!r} for at: expected a step 0..{n - 1}")
        return at
    if at == "end":
        return n - 1
    if at in _BIRTHS:
        step = first_step(result, at)
        if step is None:
            raise ValueError(f"Invalid value {at!r} for at: this run has no step flagged "
                             f"{at!r} (its counts: {result.counts})")
        return step
    raise ValueError(f"Invalid value {at!r} for at: expected a step 0..{n - 1}, 'end', or "
                     f"one of {', '.join(_BIRTHS)}")


def _check_views(views: Sequence[str]) -> tuple[str, ...]:
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        raise ValueError(f"Invalid value {bad[0] if bad else views!r} for views: expected "
                         f"some of {', '.join(VIEWS)}")
    return tuple(views)


class Moment:
    """One step of a run as pictures and a caption (what :func:`show_moment` displays)."""

    def __init__(self, result: Result, step: int, views: Sequence[str] = VIEWS, *,
                 offsets_topic: bool = False, dpi: int = DPI) -> None:
        self.result, self.step = result, step
        self.views = _check_views(views)
        self.title = step_title(result, step)
        state = fold(result.trace, step)
        self.caption = caption(result, step, state)
        self.images: list[tuple[str, bytes, str]] = []  # (view, png, alt)
        for v in self.views:
            if v == "log":
                fig = log_view(state, offsets_topic=offsets_topic)
            else:
                fig = LamportView(result, upto=step, window=LAMPORT_ROWS).fig
            self.images.append((v, to_png(fig, dpi=dpi), alt_text(fig)))

    def text(self) -> str:
        """``step 7 of 40 · 1107 ms: <caption>``."""
        return f"{self.title}: {self.caption}"

    def display(self) -> None:
        """Display the caption, then each picture (PNG, with its alt text as the text)."""
        display({"text/plain": self.text(),
                 "text/markdown": f"**{self.title}** · {html.escape(self.caption)}"}, raw=True)
        for _, png, alt in self.images:
            display({"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt},
                    raw=True)

    def _ipython_display_(self) -> None:
        self.display()

    def __repr__(self) -> str:
        return self.text()


def show_moment(result: Result, at: int | str = "end", views: Sequence[str] = VIEWS, *,
                offsets_topic: bool = False) -> Moment:
    """Show step ``at`` of ``result``: its caption, the log view and the Lamport view.

    In a notebook the pictures are static PNGs (committed outputs show them without a
    kernel); the text of the output is the caption and each picture's alt text."""
    m = Moment(result, resolve_step(result, at), views, offsets_topic=offsets_topic)
    return m


def _img(png: bytes, alt: str, css: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{css}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}" '
            'style="max-width:100%;height:auto"/>')


def _log_key(state: Any) -> str:
    """Everything the log view draws of ``state``, as a string (equal states, equal key)."""
    parts = [repr(sorted((n, [(c.offset, c.value, c.status) for c in p.cells + p.truncated],
                          p.hw, p.lso) for n, p in state.partitions.items())),
             repr(sorted(state.committed.items())), repr(sorted(state.positions.items())),
             repr([(r.id, r.value, r.applied, r.copy) for r in state.sink])]
    return "|".join(parts)


class StepPlayer:
    """Both views of ``result`` at a step, with slider, step buttons, play and "jump to"
    buttons; one caption (CSS class ``eoslib-caption``) and one count.

    Attributes: :attr:`slider` (1-based step), :attr:`play`, :attr:`caption`,
    :attr:`images` (view -> HTML widget), :attr:`jumps` (anomaly -> button),
    :attr:`widget`, :attr:`last_update_ms`."""

    def __init__(self, result: Result, *, start: int | str = "end",
                 views: Sequence[str] = VIEWS, offsets_topic: bool = False,
                 interval_ms: int = 600, dpi: int = DPI) -> None:
        self.result, self.dpi = result, dpi
        self.views = _check_views(views)
        self.offsets_topic = offsets_topic
        first = resolve_step(result, start)
        n = len(result.trace)
        self.lamport = LamportView(result, upto=first) if "lamport" in self.views else None
        self.play = widgets.Play(value=first + 1, min=1, max=n, step=1, interval=interval_ms,
                                 description="play")
        self.slider = widgets.IntSlider(value=first + 1, min=1, max=n, description="step",
                                        continuous_update=False,
                                        layout=widgets.Layout(width="55%"))
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        back = widgets.Button(description="<", tooltip="previous step",
                              layout=widgets.Layout(width="3em"))
        fwd = widgets.Button(description=">", tooltip="next step",
                             layout=widgets.Layout(width="3em"))
        back.on_click(lambda _: self._move(-1))
        fwd.on_click(lambda _: self._move(+1))
        self.jumps: dict[str, widgets.Button] = {}
        for what in _BIRTHS:
            step = first_step(result, what)
            if step is not None:
                b = widgets.Button(description=f"jump to the first {what}",
                                   layout=widgets.Layout(width="auto"))
                b.on_click(lambda _, s=step: self.show(s))
                self.jumps[what] = b
        self.caption = widgets.HTML()
        self.caption.add_class("eoslib-caption")
        self.images = {v: widgets.HTML() for v in self.views}
        for v, w in self.images.items():
            w.add_class(f"eoslib-{v}-view")
        self.widget = widgets.VBox([
            widgets.HBox([self.play, back, self.slider, fwd]),
            widgets.HBox(list(self.jumps.values())),
            self.caption, *self.images.values()])
        self.last_update_ms = 0.0
        self.step = first
        self._log_cache: dict[str, tuple[bytes, str]] = {}
        self.slider.observe(lambda ch: self.show(ch["new"] - 1), names="value")
        self.show(first)

    def _move(self, delta: int) -> None:
        self.show(min(max(self.step + delta, 0), len(self.result.trace) - 1))

    def render(self, i: int) -> dict[str, tuple[bytes, str]]:
        """The pictures of step ``i``: view -> (PNG, alt text). No widget is touched."""
        out = {}
        state = fold(self.result.trace, i)
        for v in self.views:
            if v == "log":
                out[v] = self._log_png(state)
            else:
                assert self.lamport is not None
                out[v] = (self.lamport.frame(i, self.dpi), self.lamport.describe())
        return out

    def _log_png(self, state: Any) -> tuple[bytes, str]:
        """The log view of ``state``; steps that leave the log as it was reuse its picture."""
        key = _log_key(state)
        hit = self._log_cache.get(key)
        if hit is None:
            fig = log_view(state, offsets_topic=self.offsets_topic)
            hit = self._log_cache[key] = (to_png(fig, dpi=self.dpi), alt_text(fig))
        return hit

    def show(self, i: int) -> None:
        """Show step ``i`` (0-based) in both views, with its caption."""
        started = time.perf_counter()
        self.step = i
        if self.slider.value != i + 1:
            self.slider.value = i + 1  # observe() calls show() again; that call draws
            return
        pics = self.render(i)
        text = caption(self.result, i)
        self.caption.value = (f"<b>{html.escape(step_title(self.result, i))}</b> · "
                              f"{html.escape(text)}")
        for v, (png, alt) in pics.items():
            self.images[v].value = _img(png, alt, f"eoslib-{v}-img")
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = dict(self.widget._repr_mimebundle_() or {})
        png, _ = self.render(self.step)[self.views[0]]
        data["image/png"] = base64.b64encode(png).decode("ascii")
        data["text/plain"] = repr(self)
        return data

    def __repr__(self) -> str:
        return (f"StepPlayer({self.result.scenario!r}, {step_title(self.result, self.step)}: "
                f"{caption(self.result, self.step)})")
