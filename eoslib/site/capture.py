"""Inside a kernel: make the course's widgets leave what the site needs to replay them.

:func:`install` wraps how a :class:`~eoslib.viz.dashboard.Dashboard`, a
:class:`~eoslib.viz.stepper.StepPlayer`, a :class:`~eoslib.viz.dashboard.TimelinePlayer` and a
prediction widget display themselves: each display also carries ``SITE_MIME`` with a small
reference, and the widget's data (a dashboard's frames, a player's ``eoslib animate`` page, a
prediction's question) is written to a file in the capture folder. The site's build runs each
notebook with this installed (:mod:`eoslib.site.execute`) and reads the files back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The extra MIME type a captured display carries: ``{"kind": ..., "ref": n}``.
SITE_MIME = "application/vnd.eoslib.site+json"


class _Capture:
    """Numbered files in one folder, one per displayed widget object (a second display
    of the same object reuses its file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: dict[int, tuple[Any, dict[str, Any]]] = {}

    def ref(self, obj: Any, kind: str, make: Any) -> dict[str, Any]:
        hit = self.seen.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        n = len(self.seen)
        try:
            data = make(obj, self.folder, n)
        except Exception as exc:  # the page then shows the committed output and says why
            data = {"error": f"{type(exc).__name__}: {exc}"}
        data = {"kind": kind, "repr": repr(obj), **data}
        (self.folder / f"{n}.json").write_text(json.dumps(data), encoding="utf-8")
        ref = {"kind": kind, "ref": n}
        self.seen[id(obj)] = (obj, ref)  # keeps obj alive, so its id is never reused
        return ref


#: The capture :func:`install` set up in this kernel.
_CURRENT: _Capture | None = None


def _dashboard(dash: Any, folder: Path, n: int) -> dict[str, Any]:
    from eoslib.site.dashboards import pack, payload

    data = payload(dash)
    if "subset" in data:  # thousands of frames: in a compressed file the page loads
        data = pack(data, folder / f"{n}.pack.js")
    return data


def _player(player: Any, folder: Path, n: int) -> dict[str, Any]:
    from eoslib.animate import render_html

    result = player.result
    (folder / f"{n}.html").write_text(render_html(result), encoding="utf-8")
    # the run a dashboard shown earlier holds (notebook 11: TimelinePlayer(dash.result))
    of_dashboard = _CURRENT is not None and any(
        getattr(o, "result", None) is result for o, _ in _CURRENT.seen.values()
        if type(o).__name__ == "Dashboard")
    return {"source": type(player).__name__, "file": f"{n}.html", "start": int(player.step),
            "steps": len(result.trace), "scenario": result.scenario,
            "of_dashboard": of_dashboard}


def _prediction(p: Any, folder: Path, n: int) -> dict[str, Any]:
    choices = getattr(p, "choices", None)
    return {"question": str(getattr(p, "question", "")),
            "choices": list(choices) if choices else None}


def _wrap_reveal(cls: type, cap: _Capture) -> None:
    """A captured prediction's file also gets the run's answer and the explanation of each
    wrong guess once the notebook reveals it, so the page can answer a click as the widget
    does."""
    original = cls.reveal

    def reveal(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        hit = cap.seen.get(id(self))
        if hit is not None and hit[0] is self:
            path = cap.folder / f"{hit[1]['ref']}.json"
            data = json.loads(path.read_text(encoding="utf-8"))
            data.update(actual=str(self.actual), answer=str(self.answer),
                        why={str(k): str(v) for k, v in (self.why or {}).items()})
            path.write_text(json.dumps(data), encoding="utf-8")
        return out

    cls.reveal = reveal


def _wrap_bundle(cls: type, kind: str, make: Any, cap: _Capture) -> None:
    original = cls._repr_mimebundle_

    def _repr_mimebundle_(self: Any, **kwargs: Any) -> dict[str, Any]:
        data = dict(original(self, **kwargs) or {})
        data[SITE_MIME] = cap.ref(self, kind, make)
        return data

    cls._repr_mimebundle_ = _repr_mimebundle_


def _wrap_display(cls: type, kind: str, make: Any, cap: _Capture) -> None:
    from IPython.display import display

    original = cls._ipython_display_

    def _ipython_display_(self: Any) -> None:
        if not hasattr(self, "widget"):
            return original(self)
        data = dict(self.widget._repr_mimebundle_() or {})
        data.setdefault("text/plain", repr(self))
        data[SITE_MIME] = cap.ref(self, kind, make)
        display(data, raw=True)

    cls._ipython_display_ = _ipython_display_


def install(folder: str | Path) -> None:
    """Capture, into ``folder``, every course widget this kernel displays from now on."""
    global _CURRENT
    cap = _CURRENT = _Capture(Path(folder))
    cap.folder.mkdir(parents=True, exist_ok=True)
    import eoslib.viz as viz

    _wrap_bundle(viz.Dashboard, "dashboard", _dashboard, cap)
    for name in ("StepPlayer", "TimelinePlayer"):
        if hasattr(viz, name):
            _wrap_bundle(getattr(viz, name), "player", _player, cap)
    try:
        from eoslib.lessons import predict
    except ImportError:  # no prediction widget in this version of the course
        return
    cls = getattr(predict, "Prediction", None)
    if cls is None:
        return
    if hasattr(cls, "reveal"):
        _wrap_reveal(cls, cap)
    if hasattr(cls, "_repr_mimebundle_"):
        _wrap_bundle(cls, "prediction", _prediction, cap)
    elif hasattr(cls, "_ipython_display_"):
        _wrap_display(cls, "prediction", _prediction, cap)
