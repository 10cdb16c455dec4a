"""Figures of eoslib.viz: titles, labelled axes, artists, alt text, palette, timeline, sweeps.

Every figure is drawn from real runs (``eoslib.scenarios.run_scenario``). Structure tests derive
the expected number of bars, markers, flags and labels from the run's Result (its counts and
trace), never from constants.
"""

from __future__ import annotations

import io
import math
import statistics

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import PIL.Image  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from eoslib.result import TRACE_KINDS  # noqa: E402
from eoslib.scenarios import SCENARIOS, run_scenario  # noqa: E402
from eoslib.viz import palette  # noqa: E402
from eoslib.viz.plots import (  # noqa: E402
    CountsPlot,
    alt_text,
    compare_bar,
    counts_bar,
    counts_text,
    to_png,
)
from eoslib.viz.sweep import progress_bar, summarize, sweep, sweep_plot  # noqa: E402
from eoslib.viz.timeline import (  # noqa: E402
    TimeAxis,
    TimelineView,
    event_caption,
    lane_order,
    timeline,
)

KEYS = palette.ANOMALY_KEYS


def retries(idempotence: bool, seed: int = 1):
    """producer-retry with lost responses: the producer retries; idempotence decides."""
    return run_scenario("producer-retry", seed=seed,
                        config={"enable.idempotence": idempotence},
                        faults={"response_loss": 0.2})


def flags_of(result) -> set[str]:
    return {ev["flag"] for ev in result.trace if ev["flag"]}


@pytest.fixture(scope="module")
def dup():
    """A run with duplicates (idempotence off, responses lost)."""
    result = retries(idempotence=False)
    assert result.counts["duplicates"] > 0 and not result.report.ok
    return result


@pytest.fixture(scope="module")
def clean():
    """The same run with idempotence on: no duplicates."""
    result = retries(idempotence=True)
    assert result.counts["duplicates"] == 0 and result.report.ok
    return result


@pytest.fixture(scope="module")
def txn_crash():
    """Transactions, an app crash (fenced and aborted) and lost responses: many flags."""
    result = run_scenario("transactional-crash", seed=1, faults={"response_loss": 0.3},
                          config={"client": "java"})  # Java's timeouts: a few fences
    assert {"crash", "aborted", "lost"} <= flags_of(result)
    return result


@pytest.fixture(autouse=True)
def no_figures_left():
    """Every test must leave pyplot's figure registry as it found it."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a figure was left open in pyplot"


def labelled(ax) -> None:
    assert ax.get_xlabel().strip(), "x axis has no label"
    assert ax.get_ylabel().strip(), "y axis has no label"


def test_package_exports_the_functions_not_the_submodules():
    import eoslib.viz as viz

    assert callable(viz.timeline) and callable(viz.sweep)
    from eoslib.viz import sweep as sweep_fn
    from eoslib.viz import timeline as timeline_fn

    assert sweep_fn is sweep and timeline_fn is timeline


# -- palette -----------------------------------------------------------------------------------


def test_palette_is_petroff10_when_matplotlib_has_it():
    expected = "petroff10" if "petroff10" in matplotlib.style.library else "okabe-ito"
    assert palette.PALETTE_NAME == expected
    assert len(set(palette.COLORS)) == len(palette.COLORS)


def test_outcomes_differ_in_colour_marker_and_hatch():
    styles = list(palette.OUTCOME_STYLES.values())
    for attr in ("color", "marker", "hatch", "label"):
        values = [getattr(s, attr) for s in styles]
        assert len(set(values)) == len(values), f"two outcomes share a {attr}"
    # Colours are far enough apart to tell apart (not just different hex strings).
    rgbs = [to_rgb(s.color) for s in styles]
    for i, a in enumerate(rgbs):
        for b in rgbs[i + 1:]:
            assert sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5 > 0.1


def test_every_anomaly_and_flag_has_its_own_style():
    for key in KEYS:
        assert key in palette.OUTCOME_STYLES
    for flag in ("duplicate", "aborted", "lost", "fenced", "crash"):
        assert palette.outcome_style(flag) is palette.OUTCOME_STYLES[palette.FLAG_OUTCOME[flag]]
    assert palette.outcome_style("error").color == "#ffffff"  # hollow, outlined in black


def test_every_trace_kind_has_a_distinct_marker():
    assert set(palette.KIND_MARKERS) == set(TRACE_KINDS)
    markers = list(palette.KIND_MARKERS.values())
    assert len(set(markers)) == len(markers)


# -- bar charts --------------------------------------------------------------------------------


def test_counts_bar_has_title_labels_one_bar_and_number_per_anomaly(dup):
    fig = counts_bar(dup)
    ax = fig.axes[0]
    assert ax.get_title()
    labelled(ax)
    assert len(ax.patches) == len(KEYS)
    numbers = [t.get_text() for t in ax.texts]
    assert numbers == [str(dup.counts[k]) for k in KEYS]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [float(dup.counts[k]) for k in KEYS]
    assert [p.get_hatch() for p in ax.patches] == [palette.outcome_style(k).hatch for k in KEYS]


def test_counts_bar_alt_text_lists_the_counts(dup):
    fig = counts_bar(dup)
    text = alt_text(fig)
    assert text.startswith("Bar chart")
    assert f"duplicates {dup.counts['duplicates']}" in text
    assert "NOT OK" in text


def test_counts_bar_draws_into_a_given_axes(dup):
    fig, (left, right) = plt.subplots(1, 2)
    plt.close(fig)
    assert counts_bar(dup, ax=right) is fig
    assert len(right.patches) == len(KEYS) and not left.patches


def test_counts_bar_of_many_runs_shows_mean_and_range():
    results = [retries(idempotence=False, seed=s) for s in range(4)]
    fig = counts_bar(results)
    ax = fig.axes[0]
    labelled(ax)
    assert "4 runs" in ax.get_title()
    mean = statistics.fmean(r.counts["duplicates"] for r in results)
    assert ax.patches[0].get_height() == pytest.approx(mean)
    assert "min" in alt_text(fig)


def test_compare_bar_groups_bars_and_has_a_legend(dup, clean):
    fig = compare_bar({"idempotence off": dup, "idempotence on": clean})
    ax = fig.axes[0]
    assert ax.get_title() == "Anomalies: idempotence off vs idempotence on"
    labelled(ax)
    assert len(ax.patches) == 2 * len(KEYS)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["idempotence off", "idempotence on"]
    assert len(ax.texts) == 2 * len(KEYS)  # one number per bar
    assert "idempotence on: duplicates 0" in alt_text(fig)


def test_counts_bar_of_a_mapping_is_compare_bar(dup, clean):
    fig = counts_bar({"a": dup, "b": clean})
    assert len(fig.axes[0].patches) == 2 * len(KEYS)


def test_counts_plot_updates_in_place(dup, clean):
    plot = CountsPlot(dup)
    bars, fig = list(plot.ax.patches), plot.fig
    plot.update(clean)
    assert plot.fig is fig and list(plot.ax.patches) == bars
    assert bars[0].get_height() == 0 and plot.labels[0].get_text() == "0"
    assert "- OK" in plot.ax.get_title()


def test_counts_text(dup):
    text = counts_text(dup)
    assert text.startswith(f"duplicates: {dup.counts['duplicates']} · lost: 0 · ")


def test_to_png_carries_title_and_alt_text(dup):
    fig = counts_bar(dup)
    png = to_png(fig)
    assert png.startswith(b"\x89PNG")
    image = PIL.Image.open(io.BytesIO(png))
    assert image.text["Description"] == alt_text(fig)
    assert image.text["Title"].startswith("Anomalies")
    assert to_png(fig) == png  # deterministic


# -- timeline ----------------------------------------------------------------------------------


def test_lane_order_is_fixed_by_family():
    lanes = ["sink", "app-1#2", "consumer-1", "app-1", "group-coordinator", "txn-coordinator",
             "partition out-1", "partition out-0", "producer-2", "producer-10", "producer-1",
             "zookeeper", "app-1#2-producer", "app-1-producer", "app-1-consumer", "app-2"]
    assert lane_order(lanes) == [
        "producer-1", "producer-2", "producer-10", "partition out-0", "partition out-1",
        "txn-coordinator", "group-coordinator", "consumer-1", "app-1", "app-1-consumer",
        "app-1-producer", "app-1#2", "app-1#2-producer", "app-2", "sink", "zookeeper",
    ]


def test_timeline_has_title_labels_lanes_and_legend(txn_crash):
    fig = timeline(txn_crash)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Timeline")
    labelled(ax)
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == lane_order({ev["lane"] for ev in txn_crash.trace})
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    kinds = {ev["kind"] for ev in txn_crash.trace}
    assert {k for k in legend if not k.startswith("flag")} == kinds
    assert {k for k in legend if k.startswith("flag")} == {
        f"flag: {f}" for f in flags_of(txn_crash)}
    assert "Timeline" in alt_text(fig) and "virtual time" in alt_text(fig)


def test_timeline_draws_every_event_once(txn_crash):
    view = TimelineView(txn_crash)
    drawn = sum(len(c.get_offsets()) for c in view.collections.values())
    assert drawn == len(txn_crash.trace)


def test_flagged_events_are_bigger_outlined_and_labelled(dup):
    view = TimelineView(dup)
    flagged = {g: c for g, c in view.collections.items() if g[1]}
    plain = {g: c for g, c in view.collections.items() if not g[1]}
    assert flagged and plain
    big = min(c.get_sizes()[0] for c in flagged.values())
    assert big > max(c.get_sizes()[0] for c in plain.values())
    n_flagged = sum(1 for ev in dup.trace if ev["flag"])
    assert 0 < len(view.labels) <= min(n_flagged, 12)
    assert {t.get_text().split(":")[0] for _, t in view.labels} <= flags_of(dup)


def test_timeline_caps_labels_on_long_traces(txn_crash):
    view = TimelineView(txn_crash, max_labels=5)
    n_flagged = sum(1 for ev in txn_crash.trace if ev["flag"])
    assert n_flagged > 5 and len(view.labels) <= 5
    assert view.hidden_labels == n_flagged - len(view.labels)
    assert "not labelled" in view.caption
    # The rare flags get a label before the common ones.
    texts = [t.get_text() for _, t in view.labels]
    assert any(t.startswith("crash") for t in texts)
    assert any(t.startswith("aborted") for t in texts)


def test_timeline_upto_shows_only_events_up_to_i(dup):
    i = 40
    view = TimelineView(dup, upto=i)
    drawn = sum(len(c.get_offsets()) for c in view.collections.values())
    assert drawn == i + 1
    assert view.caption == event_caption(dup.trace[i], len(dup.trace))
    # one count everywhere: steps from 1, "of" the number of events in the title
    assert view.caption.startswith(f"step {i + 1} of {len(dup.trace)} ")
    assert view.caption_artist.get_text() == view.caption
    x, y = view.cursor.get_data()
    assert list(x) == [view.time(float(dup.trace[i]["t"]))]
    assert list(y) == [view.lanes.index(dup.trace[i]["lane"])]
    # Stepping back and forth keeps the same artists and the same x range.
    xlim = view.ax.get_xlim()
    view.show(5)
    assert sum(len(c.get_offsets()) for c in view.collections.values()) == 6
    view.show(None)
    assert sum(len(c.get_offsets()) for c in view.collections.values()) == len(dup.trace)
    assert view.ax.get_xlim() == xlim


def test_timeline_upto_hides_later_labels(dup):
    first_flag = next(ev["i"] for ev in dup.trace if ev["flag"])
    assert first_flag > 0
    view = TimelineView(dup, upto=first_flag - 1)
    assert not any(t.get_visible() for _, t in view.labels)


def test_time_axis_shortens_only_long_idle_gaps():
    times = [0, 1, 2, 3, 5, 6, 1006, 1007, 1008]  # a 1,000 ms timeout in the middle
    axis = TimeAxis(times)
    assert [axis(t) for t in (0, 1, 2, 3)] == [0, 1, 2, 3]  # true scale where it is busy
    assert axis(1006) - axis(6) < 100  # the idle second is drawn short
    assert axis(1007) - axis(1006) == 1
    assert len(axis.breaks) == 1 and axis.breaks[0][1] == 1000
    xs, labels = axis.ticks()
    assert labels and all(float(lab) in range(0, 1009) for lab in labels)
    assert xs == sorted(xs)
    assert TimeAxis([0, 1, 2, 3]).breaks == []  # nothing to shorten: the identity


def test_the_simulations_duplicate_appends_are_drawn_as_duplicates(dup):
    """Without idempotence a retried batch is appended again; the partition flags that second
    append ``duplicate`` and the timeline draws and counts exactly those events."""
    seen: set[tuple[str, object]] = set()
    for ev in dup.trace:
        if ev["kind"] == "append":
            key = (ev["lane"], ev["ref"])
            assert (ev["flag"] == "duplicate") == (key in seen), ev
            seen.add(key)
    again = [ev for ev in dup.trace if ev["kind"] == "append" and ev["flag"] == "duplicate"]
    assert again
    view = TimelineView(dup)
    drawn = view.collections[("append", "duplicate")].get_offsets()
    assert len(drawn) == len(again)
    assert sorted(map(tuple, drawn)) == sorted(
        (view.time(float(ev["t"])), view.lanes.index(ev["lane"])) for ev in again)
    legend = [t.get_text() for t in view.ax.get_legend().get_texts()]
    assert "flag: duplicate" in legend
    n_dup = sum(1 for ev in dup.trace if ev["flag"] == "duplicate")
    assert f"duplicate x{n_dup}" in view.caption


def test_with_idempotence_the_retries_are_deduplicated_not_flagged(clean):
    assert any(ev["kind"] == "dedup" for ev in clean.trace)
    assert "duplicate" not in flags_of(clean)
    view = TimelineView(clean)
    assert not any(flag == "duplicate" for _, flag in view.collections)
    assert "duplicate" not in view.caption


def test_timeline_of_an_empty_trace(dup):
    from dataclasses import replace

    fig = timeline(replace(dup, trace=[]))
    assert fig.axes[0].get_title()


# -- sweeps ------------------------------------------------------------------------------------

CONFIGS = {
    "at-least-once": {"enable.idempotence": False},
    "idempotent": {"enable.idempotence": True},
    "exactly-once": {"enable.idempotence": True, "transactions": True,
                     "isolation.level": "read_committed"},
}


def test_sweep_table_and_summary(capsys):
    table = sweep("producer-retry", "response_loss", [0.0, 0.1, 0.3], range(3), CONFIGS)
    assert len(table["rows"]) == 3 * 3 * 3
    assert set(table["rows"][0]) >= {"config", "value", "seed", "duplicates"}
    summary = summarize(table)
    assert summary["at-least-once"]["x"] == [0.0, 0.1, 0.3]
    assert summary["at-least-once"]["mean"][0] == 0
    assert summary["at-least-once"]["max"][-1] > 0
    assert summary["idempotent"]["max"] == [0, 0, 0]
    s = summary["at-least-once"]
    assert all(lo <= m <= hi for lo, m, hi in zip(s["min"], s["mean"], s["max"], strict=True))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # no progress bar outside a notebook or terminal


def test_sweep_plot_one_line_and_band_per_configuration():
    table = sweep("producer-retry", "response_loss", [0.0, 0.2], range(2), CONFIGS,
                  progress=False)
    fig = sweep_plot(table)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Duplicates vs response_loss")
    labelled(ax)
    assert len(ax.lines) == len(CONFIGS)
    assert len(ax.collections) == len(CONFIGS)  # min-max bands
    styles = {(ln.get_linestyle(), ln.get_marker()) for ln in ax.lines}
    assert len(styles) == len(CONFIGS)  # lines differ without colour
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "at-least-once" and legend[1].startswith("idempotent")
    assert "Line chart" in alt_text(fig)


def test_progress_bar_is_silent_when_disabled(capsys):
    bar = progress_bar(3, "x", enabled=False)
    bar.update(3)
    bar.close()
    assert capsys.readouterr().err == ""


# -- every scenario draws ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_plots_of_every_scenario(name):
    result = run_scenario(name, seed=1)
    for fig in (counts_bar(result), timeline(result), timeline(result, upto=10)):
        assert alt_text(fig)
        assert to_png(fig).startswith(b"\x89PNG")


def test_a_png_is_drawn_once_per_svg_and_the_same_when_drawn_again() -> None:
    from eoslib.viz import show_moment
    from eoslib.viz.raster import clear_cache, render, to_png

    r = run_scenario("transactional-crash", seed=1, messages=12)
    pic = show_moment(r, at="crash").pictures["lamport"]
    clear_cache()
    first = to_png(pic)
    assert to_png(pic) is first  # cached by content
    clear_cache()
    assert render(pic) == first  # and drawn the same way again
    image = PIL.Image.open(io.BytesIO(first))
    assert image.size == (math.ceil(2 * pic.width), math.ceil(2 * pic.height))
    assert min(image.convert("RGB").getpixel((0, 0))) >= 250  # a white page


def test_a_saved_sweep_progress_bar_says_what_it_was(monkeypatch) -> None:
    import importlib

    sweep_module = importlib.import_module("eoslib.viz.sweep")

    monkeypatch.setattr(sweep_module, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    bar = progress_bar(6, "pipeline: seed")
    bar.update(2)
    assert bar.bar.value == 2 and bar.label.value == "pipeline: seed: 2 of 6 runs"
    text = bar.box._repr_mimebundle_()["text/plain"]
    assert text == "[pipeline: seed: 6 runs; the progress bar shows while the cell runs]"
    bar.close()


def test_wrap_px_breaks_names_at_their_joints_never_mid_word() -> None:
    from eoslib.viz.textmetrics import text_width, wrap_px

    assert wrap_px("__consumer_offsets-1", 90, 12, True) == ["__consumer_", "offsets-1"]
    assert wrap_px("__consumer_offsets-1", 400, 12, True) == ["__consumer_offsets-1"]
    lines = wrap_px("app-1#2 (starts later)", 90, 12, True)
    assert "".join(lines).replace(" ", "") == "app-1#2(startslater)"
    assert all(text_width(s, 12, True) <= 90 for s in lines)
    assert wrap_px("transactional", 20, 12) == ["transactional"]  # no joint: kept whole
