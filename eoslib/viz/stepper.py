"""Step through a run with both pictures in sync: :func:`show_moment` and :class:`StepPlayer`.

One function draws a step, :func:`moment_pictures`: the log view (with each reader's view and
``__consumer_offsets`` where offsets were committed) and the Lamport view, as SVG, from the
protocol state after that step. :func:`show_moment` shows its result as static SVG outputs
(readable without a kernel, sharp at any zoom); :class:`StepPlayer` shows the very same
pictures for whatever step its slider is at, with play, previous/next, speed and "jump to"
buttons (:class:`eoslib.viz.players.PlayerBar`). The caption of a step comes from
:func:`eoslib.viz.captions.caption` on the same state, so words and pictures agree.

``at`` / ``start`` name a step as an int (0-based trace index), ``"end"``, or an anomaly flag
(``duplicate``, ``lost``, ``aborted``, ``fenced``, ``crash``: the first step flagged so).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.display import display

from eoslib.protocol_state import _BIRTHS, ProtocolState, first_step, fold
from eoslib.viz.captions import caption, step_title
from eoslib.viz.lamport import LamportView
from eoslib.viz.logview import log_picture
from eoslib.viz.players import PlayerBar, run_line
from eoslib.viz.svg import Picture

if TYPE_CHECKING:
    from eoslib.result import Result

#: The views :func:`show_moment` and :class:`StepPlayer` can draw.
VIEWS = ("log", "lamport")
#: Names of the "jump to" buttons, by anomaly.
JUMP_NAMES = {"duplicate": "first duplicate", "lost": "first lost write",
              "aborted": "first abort", "fenced": "first fencing", "crash": "the crash"}


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


def moment_pictures(result: Result, step: int, views: Sequence[str] = VIEWS, *,
                    state: ProtocolState | None = None, offsets_topic: bool | None = None,
                    lamport: LamportView | None = None,
                    lanes: str | Sequence[str] = "auto") -> dict[str, Picture]:
    """The pictures of trace event ``step``: view name -> SVG picture. The one drawing
    function of :func:`show_moment`, :class:`StepPlayer` and the HTML player."""
    st = state if state is not None else fold(result.trace, step)
    out: dict[str, Picture] = {}
    for v in _check_views(views):
        if v == "log":
            out[v] = log_picture(st, offsets_topic=offsets_topic)
        else:
            view = lamport or LamportView(result, lanes=lanes)
            out[v] = view.picture(step)
    return out


class Moment:
    """One step of a run as pictures and a caption (what :func:`show_moment` displays)."""

    def __init__(self, result: Result, step: int, views: Sequence[str] = VIEWS, *,
                 offsets_topic: bool | None = None, lanes: str | Sequence[str] = "auto"
                 ) -> None:
        self.result, self.step = result, step
        self.views = _check_views(views)
        self.title = step_title(result, step)
        state = fold(result.trace, step)
        self.caption = caption(result, step, state)
        self.pictures = moment_pictures(result, step, self.views, state=state,
                                        offsets_topic=offsets_topic, lanes=lanes)

    def text(self) -> str:
        """``step 7 of 40 · 1107 ms: <caption>``."""
        return f"{self.title}: {self.caption}"

    def display(self) -> None:
        """Display the caption, then each picture (SVG, with its alt text as the text)."""
        display({"text/plain": self.text(),
                 "text/markdown": f"**{self.title}** · {html.escape(self.caption)}"}, raw=True)
        for pic in self.pictures.values():
            data, meta = pic._repr_mimebundle_()
            display(data, metadata=meta, raw=True)

    def _ipython_display_(self) -> None:
        self.display()

    def __repr__(self) -> str:
        return self.text()


def show_moment(result: Result, at: int | str = "end", views: Sequence[str] = VIEWS, *,
                offsets_topic: bool | None = None,
                lanes: str | Sequence[str] = "auto") -> Moment:
    """Show step ``at`` of ``result``: its caption, the log view and the Lamport view.

    In a notebook the pictures are static SVG (committed outputs show them without a
    kernel); the text of each output is its alt text. ``offsets_topic``: draw
    ``__consumer_offsets`` (default: when offsets were committed); ``lanes``: the Lamport
    view's actors (``"auto"``: at most six, ``"all"``, or a list)."""
    return Moment(result, resolve_step(result, at), views, offsets_topic=offsets_topic,
                  lanes=lanes)


def jump_steps(result: Result) -> dict[str, int]:
    """The first step of each anomaly the run shows: button name -> 0-based step."""
    out = {}
    for what in _BIRTHS:
        step = first_step(result, what)
        if step is not None:
            out[JUMP_NAMES[what]] = step
    return out


class StepPlayer:
    """Both views of ``result`` at a step, with play, previous/next, slider, speed and
    "jump to" buttons (in the order they happen); one caption (CSS class
    ``eoslib-caption``) and one count. Each step draws exactly what
    ``show_moment(result, at=step)`` draws.

    Attributes: :attr:`bar` (the :class:`~eoslib.viz.players.PlayerBar`), :attr:`slider`
    (1-based step), :attr:`play`, :attr:`caption`, :attr:`images` (view -> HTML widget),
    :attr:`jumps` (name -> button), :attr:`widget`, :attr:`last_update_ms`."""

    def __init__(self, result: Result, *, start: int | str = "end",
                 views: Sequence[str] = VIEWS, offsets_topic: bool | None = None,
                 interval_ms: int | None = None, lanes: str | Sequence[str] = "auto",
                 speed: str | None = None) -> None:
        self.result = result
        self.views = _check_views(views)
        self.offsets_topic = offsets_topic
        first = resolve_step(result, start)
        n = len(result.trace)
        self.lamport = LamportView(result, lanes=lanes) if "lamport" in self.views else None
        self.caption = widgets.HTML()
        self.caption.add_class("eoslib-caption")
        self.images = {v: widgets.HTML() for v in self.views}
        for v, w in self.images.items():
            w.add_class(f"eoslib-{v}-view")
        self.last_update_ms = 0.0
        self.step = first
        self._log_cache: dict[str, Picture] = {}
        self.bar = PlayerBar(n, first, self.show, jumps=jump_steps(result), speed=speed)
        if interval_ms is not None:
            self.bar.play.interval = interval_ms
        self.play, self.slider, self.jumps = self.bar.play, self.bar.slider, self.bar.jumps
        self.widget = widgets.VBox([self.bar.widget, self.caption, *self.images.values()])
        self.widget.add_class("eoslib-step-player")
        self.show(first)

    def render(self, i: int) -> dict[str, Picture]:
        """The pictures of step ``i``: view -> SVG picture. No widget is touched."""
        state = fold(self.result.trace, i)
        out = {}
        if "log" in self.views:
            key = _log_key(state)
            pic = self._log_cache.get(key)
            if pic is None:
                pic = self._log_cache[key] = moment_pictures(
                    self.result, i, ("log",), state=state,
                    offsets_topic=self.offsets_topic)["log"]
            out["log"] = pic
        if "lamport" in self.views:
            assert self.lamport is not None
            out["lamport"] = self.lamport.picture(i)
        return {v: out[v] for v in self.views}

    def show(self, i: int) -> None:
        """Show step ``i`` (0-based) in both views, with its caption."""
        started = time.perf_counter()
        self.step = i
        self.bar.step = i
        if self.slider.value != i + 1:
            self.slider.value = i + 1  # observe() calls show() again; that call draws
            return
        pics = self.render(i)
        text = caption(self.result, i)
        self.caption.value = (f"<b>{html.escape(step_title(self.result, i))}</b> · "
                              f"{html.escape(text)}")
        for v, pic in pics.items():
            self.images[v].value = pic.img_html(f"eoslib-{v}-img")
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = dict(self.widget._repr_mimebundle_() or {})
        data["image/svg+xml"] = self.render(self.step)[self.views[0]].svg
        data["text/plain"] = run_line("StepPlayer", self.result.scenario)
        return data

    def __repr__(self) -> str:
        return (f"StepPlayer({self.result.scenario!r}, {step_title(self.result, self.step)}: "
                f"{caption(self.result, self.step)})")


def _log_key(state: Any) -> str:
    """Everything the log view draws of ``state``, as a string (equal states, equal key)."""
    parts = [repr(sorted((n, [(c.offset, c.value, c.status, c.retry, c.dropped)
                              for c in p.cells + p.truncated], p.hw, p.lso)
                         for n, p in state.partitions.items())),
             repr(sorted(state.committed.items())), repr(sorted(state.positions.items())),
             repr(sorted((c, sorted(t.items())) for c, t in state.handed.items())),
             repr(sorted(state.isolation.items())), repr(sorted(state.crashed)),
             repr([(r.id, r.value, r.applied, r.copy) for r in state.sink])]
    return "|".join(parts)
