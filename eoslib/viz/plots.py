"""Bar charts of a run's anomaly counts, alone or compared across configurations.

Every figure has a title, labelled axes and alt text. Alt text lives in the figure's label
(``fig.set_label(text)``; read it back with :func:`alt_text`): :func:`to_png` writes it into the
PNG's ``Title``/``Description`` metadata and the dashboard puts it in the ``<img alt=...>`` it
shows. Figures are made with pyplot (so a notebook shows a returned figure once, through the
inline backend's formatter) and closed at once, so they never pile up in pyplot's registry.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import PIL.Image
import PIL.PngImagePlugin
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from eoslib.viz.palette import ANOMALY_KEYS, COLORS, INK, outcome_style, pretty

if TYPE_CHECKING:
    from eoslib.result import Result

#: Hatches that tell configurations apart in :func:`compare_bar` (with colour and legend).
GROUP_HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "++", "--", "oo")

#: Default figure size (inches) of the bar charts.
BAR_FIGSIZE = (7.0, 3.4)


def new_figure(figsize: tuple[float, float] = BAR_FIGSIZE) -> tuple[Figure, Axes]:
    """A figure with one axes, already closed in pyplot (it will not pile up or auto-show)."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig, ax


def set_alt_text(fig: Figure, text: str) -> None:
    """Attach alt text to a figure (stored as the figure's label)."""
    fig.set_label(text)


def alt_text(fig: Figure) -> str:
    """The alt text of a figure made by :mod:`eoslib.viz` ('' if none)."""
    return fig.get_label() or ""


def to_png(fig: Figure, *, dpi: float | None = None, compress_level: int = 1) -> bytes:
    """Render a figure to PNG bytes (one Agg draw), its title and alt text in the metadata.

    ``dpi`` (default: the figure's) applies to this render only. Faster than ``savefig``,
    which may draw twice; the bytes depend only on the figure and the matplotlib version.
    """
    canvas = agg_canvas(fig)
    old_dpi = fig.dpi
    if dpi is not None and dpi != old_dpi:
        fig.set_dpi(dpi)
    try:
        canvas.draw()
        return encode_png(fig, compress_level=compress_level)
    finally:
        if fig.dpi != old_dpi:
            fig.set_dpi(old_dpi)


def agg_canvas(fig: Figure) -> FigureCanvasAgg:
    """The figure's Agg canvas (attached on first use: closed pyplot figures have none)."""
    if isinstance(fig.canvas, FigureCanvasAgg):
        return fig.canvas
    return FigureCanvasAgg(fig)


def encode_png(fig: Figure, *, compress_level: int = 1) -> bytes:
    """PNG bytes of what the figure's Agg canvas holds now (no new draw), with metadata."""
    canvas = agg_canvas(fig)
    width, height = canvas.get_width_height(physical=True)
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA",
                                 0, 1)
    info = PIL.PngImagePlugin.PngInfo()
    info.add_text("Title", _title(fig) or "figure")
    info.add_text("Description", alt_text(fig))
    info.add_text("Software", "eoslib.viz (matplotlib)")
    buf = io.BytesIO()
    image.save(buf, format="png", pnginfo=info, compress_level=compress_level)
    return buf.getvalue()


def _title(fig: Figure) -> str:
    sup = fig.get_suptitle()
    if sup:
        return sup
    return fig.axes[0].get_title() if fig.axes else ""


def _axes(ax: Axes | None, figsize: tuple[float, float] = BAR_FIGSIZE) -> tuple[Figure, Axes]:
    if ax is None:
        return new_figure(figsize)
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    return fig, ax


def _label(key: str) -> str:
    return pretty(key).replace(" ", "\n", 1)


def _describe(result: Result) -> str:
    bits = [f"scenario {result.scenario}", f"seed {result.seed}", f"{result.messages} messages"]
    return ", ".join(bits)


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


class CountsPlot:
    """A bar chart of one result's anomaly counts that can be updated in place.

    :meth:`update` changes bar heights, the printed numbers, the limits and the title of the
    existing artists: no new figure, no new axes (what the dashboard redraws on every change).
    """

    def __init__(
        self, result: Result, ax: Axes | None = None, *, keys: Sequence[str] = ANOMALY_KEYS
    ) -> None:
        self.keys = tuple(keys)
        self.fig, self.ax = _axes(ax)
        ax = self.ax
        styles = [outcome_style(k) for k in self.keys]
        x = range(len(self.keys))
        self.bars = ax.bar(
            x, [0] * len(self.keys), color=[s.color for s in styles],
            hatch=[s.hatch for s in styles], edgecolor=INK, linewidth=0.8,
        )
        self.labels = [
            ax.text(i, 0, "0", ha="center", va="bottom", fontsize=10, fontweight="bold")
            for i in x
        ]
        ax.set_xticks(list(x), [_label(k) for k in self.keys], fontsize=9)
        ax.set_xlabel("anomaly (checker)")
        ax.set_ylabel("count in this run")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlim(-0.6, len(self.keys) - 0.4)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.update(result)

    def update(self, result: Result) -> None:
        """Redraw the bars for another result (same keys)."""
        values = [float(result.counts.get(k, 0) or 0) for k in self.keys]
        top = max([1.0, *values])
        for bar, text, v in zip(self.bars, self.labels, values, strict=True):
            bar.set_height(v)
            text.set_position((bar.get_x() + bar.get_width() / 2, v + top * 0.02))
            text.set_text(_fmt(v))
        self.ax.set_ylim(0, top * 1.18)
        verdict = "OK" if result.report.ok else "NOT OK"
        self.ax.set_title(f"Anomalies: {result.scenario} (seed {result.seed}) - {verdict}")
        listing = ", ".join(f"{pretty(k)} {_fmt(v)}" for k, v in zip(self.keys, values,
                                                                       strict=True))
        set_alt_text(self.fig, f"Bar chart of anomaly counts for {_describe(result)}: "
                               f"{listing}. Checker verdict: {verdict}.")


def counts_bar(
    result_or_results: Result | Sequence[Result] | Mapping[str, Result],
    ax: Axes | None = None,
    *,
    keys: Sequence[str] = ANOMALY_KEYS,
) -> Figure:
    """A bar chart of anomaly counts, the number printed on each bar.

    One :class:`~eoslib.result.Result`: its counts. A sequence of results (e.g. many seeds):
    the mean count, with a min-max error bar. A mapping ``{label: result}``: same as
    :func:`compare_bar`. Draws into ``ax`` when given; returns the figure.
    """
    if isinstance(result_or_results, Mapping):
        return compare_bar(result_or_results, ax, keys=keys)
    if not isinstance(result_or_results, Sequence):
        return CountsPlot(result_or_results, ax, keys=keys).fig
    results = list(result_or_results)
    if not results:
        raise ValueError("counts_bar needs at least one result")
    fig, ax = _axes(ax)
    keys = tuple(keys)
    per_key = [[float(r.counts.get(k, 0) or 0) for r in results] for k in keys]
    means = [sum(v) / len(v) for v in per_key]
    lo = [m - min(v) for m, v in zip(means, per_key, strict=True)]
    hi = [max(v) - m for m, v in zip(means, per_key, strict=True)]
    styles = [outcome_style(k) for k in keys]
    bars = ax.bar(
        range(len(keys)), means, yerr=[lo, hi], capsize=4, color=[s.color for s in styles],
        hatch=[s.hatch for s in styles], edgecolor=INK, linewidth=0.8,
        error_kw={"ecolor": INK, "linewidth": 1},
    )
    ax.bar_label(bars, labels=[_fmt(m) for m in means], padding=2, fontweight="bold")
    ax.set_xticks(range(len(keys)), [_label(k) for k in keys], fontsize=9)
    ax.set_ylim(0, max([1.0, *(max(v) for v in per_key)]) * 1.18)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("anomaly (checker)")
    ax.set_ylabel(f"mean count over {len(results)} runs")
    first = results[0]
    ax.set_title(f"Anomalies: {first.scenario}, {len(results)} runs (mean, min-max)")
    listing = ", ".join(
        f"{pretty(k)} mean {_fmt(m)} (min {_fmt(min(v))}, max {_fmt(max(v))})"
        for k, m, v in zip(keys, means, per_key, strict=True)
    )
    set_alt_text(fig, f"Bar chart of mean anomaly counts over {len(results)} runs of "
                      f"scenario {first.scenario}: {listing}.")
    return fig


def compare_bar(
    results: Mapping[str, Result],
    ax: Axes | None = None,
    *,
    keys: Sequence[str] = ANOMALY_KEYS,
    title: str | None = None,
) -> Figure:
    """Grouped bars: for each anomaly, one bar per labelled result (e.g. idempotence off / on).

    Configurations differ by colour, hatch and legend entry; each bar carries its number.
    """
    if not results:
        raise ValueError("compare_bar needs at least one result")
    fig, ax = _axes(ax)
    keys = tuple(keys)
    n = len(results)
    width = 0.8 / n
    top = 1.0
    for j, (name, res) in enumerate(results.items()):
        values = [float(res.counts.get(k, 0) or 0) for k in keys]
        top = max(top, *values)
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(keys))]
        bars = ax.bar(
            xs, values, width, label=name, color=COLORS[j % len(COLORS)],
            hatch=GROUP_HATCHES[j % len(GROUP_HATCHES)], edgecolor=INK, linewidth=0.8,
        )
        ax.bar_label(bars, labels=[_fmt(v) for v in values], padding=2, fontsize=8,
                     fontweight="bold")
    ax.set_ylim(0, top * 1.2)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xticks(range(len(keys)), [_label(k) for k in keys], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("anomaly (checker)")
    ax.set_ylabel("count in the run")
    names = list(results)
    ax.set_title(title or "Anomalies: " + " vs ".join(names))
    ax.legend(title="configuration", fontsize=8, title_fontsize=8, frameon=False)
    parts = []
    for name, res in results.items():
        listing = ", ".join(f"{pretty(k)} {_fmt(float(res.counts.get(k, 0) or 0))}"
                            for k in keys)
        parts.append(f"{name}: {listing}")
    set_alt_text(fig, "Grouped bar chart comparing anomaly counts. " + "; ".join(parts) + ".")
    return fig


def counts_text(result: Result, keys: Sequence[str] | None = None) -> str:
    """The counts as one line: ``"duplicates: 3 · lost: 0 · ..."``."""
    keys = keys or (*ANOMALY_KEYS, "txn_committed", "txn_aborted")
    return " · ".join(f"{pretty(k)}: {_fmt(float(result.counts.get(k, 0) or 0))}" for k in keys)
