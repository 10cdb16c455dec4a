"""Sweeps: run a scenario over many seeds and parameter values, then plot mean and range.

:func:`sweep` returns a plain table (a dict holding a list of row dicts, no pandas), one row
per (configuration, value, seed) with every count of the run. :func:`summarize` reduces it to
mean / min / max per configuration and value, and :func:`sweep_plot` draws one line per
configuration (e.g. "at-least-once", "idempotent", "exactly-once") with a min-max band.

The progress bar is a widget in a notebook (``tqdm.notebook``), a text bar on a terminal,
and nothing at all otherwise (pipes, CI logs, pytest). A cell that shows it must start with
``# NBVAL_IGNORE_OUTPUT`` (or pass ``progress=False``).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from eoslib.viz.palette import COLORS, INK, pretty
from eoslib.viz.params import default_run, split_params
from eoslib.viz.plots import new_figure, set_alt_text

if TYPE_CHECKING:
    from eoslib.result import Result

#: Line styles and markers that tell the sweep lines apart without colour.
LINE_STYLES: tuple[str, ...] = ("-", "--", "-.", ":")
LINE_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _WidgetBar:
    """A progress bar widget that goes away when closed. Its text (what a saved notebook
    shows without a kernel) says what it was, never a frozen "0%"."""

    def __init__(self, total: int, desc: str) -> None:
        from IPython.display import display

        self.total, self.done, self.desc = total, 0, desc
        self.bar = widgets.IntProgress(value=0, min=0, max=max(1, total), description="",
                                       layout=widgets.Layout(width="260px"))
        self.label = widgets.Label(f"{desc}: 0 of {total} runs")
        self.box = _BarBox([self.bar, self.label])
        self.box.text = f"[{desc}: {total} runs; the progress bar shows while the cell runs]"
        display(self.box)

    def update(self, n: int = 1) -> None:
        self.done += n
        self.bar.value = min(self.done, self.total)
        self.label.value = f"{self.desc}: {self.done} of {self.total} runs"

    def close(self) -> None:
        self.box.close()


class _BarBox(widgets.HBox):
    """An HBox whose text is :attr:`text` (what a notebook saved without a kernel shows)."""

    text = ""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = dict(super()._repr_mimebundle_(**kwargs) or {})
        data["text/plain"] = self.text
        return data


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int, desc: str, enabled: bool = True) -> Any:
    """A progress bar with ``update(n)`` and ``close()``: a widget in a notebook, text on a
    terminal, a no-op elsewhere or when ``enabled`` is False."""
    if not enabled:
        return _NoBar()
    if in_notebook():
        return _WidgetBar(total, desc)
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, leave=False)
    return _NoBar()


def sweep(
    scenario: str,
    param: str,
    values: Iterable[Any],
    seeds: Iterable[int],
    configs: Mapping[str, Mapping[str, Any]],
    progress: bool = True,
    *,
    run: Callable[..., Result] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` for every configuration, value of ``param`` and seed.

    ``configs`` maps a label to parameters (Kafka config keys, course keys such as
    ``transactions``, fault keys such as ``response_loss``, or ``messages``); ``param`` is
    one such name, set to each of ``values`` on top of every configuration. Returns
    ``{"scenario", "param", "values", "seeds", "configs", "rows"}`` where each row is
    ``{"config": label, "value": v, "seed": s, **result.counts}``.
    """
    run = run or default_run()
    values = list(values)
    seeds = list(seeds)
    labels = list(configs)
    rows: list[dict[str, Any]] = []
    bar = progress_bar(len(labels) * len(values) * len(seeds), f"{scenario}: {param}", progress)
    try:
        for label in labels:
            for value in values:
                config, faults, kwargs = split_params({**configs[label], param: value})
                for seed in seeds:
                    result = run(scenario, seed=seed, config=config, faults=faults,
                                 **{k: v for k, v in kwargs.items() if k != "seed"})
                    rows.append({"config": label, "value": value, "seed": seed,
                                 **result.counts})
                    bar.update(1)
    finally:
        bar.close()
    return {"scenario": scenario, "param": param, "values": values, "seeds": seeds,
            "configs": labels, "rows": rows}


def summarize(table: Mapping[str, Any], metric: str = "duplicates") -> dict[str, dict[str, list]]:
    """``{label: {"x", "mean", "min", "max"}}`` of ``metric`` over the seeds of a sweep."""
    out: dict[str, dict[str, list]] = {}
    for label in table["configs"]:
        series: dict[str, list] = {"x": [], "mean": [], "min": [], "max": []}
        for value in table["values"]:
            got = [float(r.get(metric, 0) or 0) for r in table["rows"]
                   if r["config"] == label and r["value"] == value]
            if not got:
                continue
            series["x"].append(value)
            series["mean"].append(statistics.fmean(got))
            series["min"].append(min(got))
            series["max"].append(max(got))
        out[label] = series
    return out


def sweep_plot(
    table: Mapping[str, Any], metric: str = "duplicates", ax: Axes | None = None
) -> Figure:
    """One line per configuration: the mean of ``metric`` over seeds, with a min-max band."""
    if ax is None:
        fig, ax = new_figure((7.0, 3.8))
    else:
        got = ax.get_figure()
        assert isinstance(got, Figure)
        fig = got
    summary = summarize(table, metric)
    nseeds = len(table["seeds"])
    described: list[str] = []
    for j, (label, s) in enumerate(summary.items()):
        colour = COLORS[j % len(COLORS)]
        ax.fill_between(s["x"], s["min"], s["max"], color=colour, alpha=0.18, lw=0)
        ax.plot(s["x"], s["mean"], color=colour, ls=LINE_STYLES[j % len(LINE_STYLES)],
                marker=LINE_MARKERS[j % len(LINE_MARKERS)], ms=5, mec=INK, mew=0.5, lw=1.8,
                label=label + (" (0 at every value)" if not any(s["max"]) else ""))
        pts = ", ".join(f"{x:g}: {m:.1f}" if isinstance(x, int | float) else f"{x}: {m:.1f}"
                        for x, m in zip(s["x"], s["mean"], strict=True))
        described.append(f"{label} ({pts})")
    param = str(table["param"])
    ax.set_xlabel(param.replace("_", " ") + (" (probability)" if "loss" in param else ""))
    ax.set_ylabel(f"{pretty(metric)} per run")
    ax.set_ylim(bottom=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{pretty(metric).capitalize()} vs {param}: {table['scenario']} "
                 f"(mean, min-max over {nseeds} seeds)")
    ax.legend(title="guarantee", fontsize=8, title_fontsize=8, frameon=False)
    set_alt_text(fig, f"Line chart of mean {pretty(metric)} per run against {param}, over "
                      f"{nseeds} seeds, shaded from min to max. " + "; ".join(described) + ".")
    return fig


def rows_where(table: Mapping[str, Any], **match: Any) -> Sequence[dict[str, Any]]:
    """The rows of a sweep whose fields equal ``match`` (e.g. ``config="idempotent"``)."""
    return [r for r in table["rows"] if all(r.get(k) == v for k, v in match.items())]
