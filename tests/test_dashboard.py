"""The concept-notebook widgets, headless: Dashboard, TimelinePlayer, latency; notebook rules.

Widgets are driven by setting a control's ``.value`` (which runs the observers synchronously)
and checked through ``Dashboard.result`` and the widgets' values, never through
``Output.outputs`` (see the course's testing notes). Every dashboard runs the real simulation
(``eoslib.scenarios.run_scenario``, the Dashboard's default) on the ``producer-retry`` scenario
of notebook 02.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

from eoslib import ConfigException, notebooks  # noqa: E402
from eoslib.scenarios import SCENARIOS, run_scenario  # noqa: E402
from eoslib.viz.dashboard import (  # noqa: E402
    CONTROLS,
    Dashboard,
    TimelinePlayer,
    measure_update_latency,
    split_params,
)
from eoslib.viz.frame import Frame  # noqa: E402

LOSS = 0.2  # probability that a produce response is lost: enough to force retries
SCENARIO = "producer-retry"  # the idempotent-producer scenario of notebook 02
assert SCENARIO in SCENARIOS


@pytest.fixture
def dash():
    # 5 in flight: librdkafka's default (1000000) retries every request in flight after
    # each lost answer, a trace too long for the player's speed check below
    return Dashboard(SCENARIO, ["enable.idempotence", "response_loss", "seed"],
                     {"enable.idempotence": False, "response_loss": LOSS,
                      "max.in.flight.requests.per.connection": 5})


@pytest.fixture(autouse=True)
def no_figures_left():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a figure was left open in pyplot"


def shown_count(dash: Dashboard, key: str) -> int:
    """A count as the learner reads it in the counts line (tags stripped)."""
    text = re.sub(r"<[^>]+>", "", dash.counts_html.value)
    match = re.search(rf"{key}: (\d+)", text)
    assert match, text
    return int(match.group(1))


# -- Dashboard ---------------------------------------------------------------------------------


def test_controls_are_the_named_widgets(dash):
    box = dash.controls["enable.idempotence"]
    assert isinstance(box, widgets.Checkbox)
    assert box.description == "enable.idempotence"
    assert isinstance(dash.controls["response_loss"], widgets.FloatSlider)
    assert dash.controls["response_loss"].value == LOSS
    assert isinstance(dash.controls["seed"], widgets.IntText)


def test_dashboard_runs_the_real_simulation(dash):
    assert dash.run is run_scenario
    assert dash.result.trace_digest == run_scenario(
        SCENARIO, config={"enable.idempotence": False,
                          "max.in.flight.requests.per.connection": 5},
        faults={"response_loss": LOSS}).trace_digest


def test_idempotence_removes_the_duplicates_of_retries(dash):
    """The concept: lost responses make the producer retry; without idempotence a retry
    writes a second copy, with it the broker discards the copy."""
    off = dash.result
    assert off.counts["duplicates"] > 0
    assert not off.report.ok
    assert shown_count(dash, "duplicates") == off.counts["duplicates"]
    png_off = dash.plot.value

    dash.controls["enable.idempotence"].value = True

    on = dash.result
    assert on is not off
    assert on.config["enable.idempotence"] is True
    assert on.counts["duplicates"] == 0
    assert shown_count(dash, "duplicates") == 0
    assert dash.plot.value != png_off
    assert "OK" in dash.verdict_html.value


def test_no_lost_responses_no_duplicates_even_without_idempotence(dash):
    dash.controls["response_loss"].value = 0.0
    assert dash.result.counts["duplicates"] == 0


def test_the_widget_shows_the_frame_the_kernel_free_api_computes(dash):
    """One source: what the widget shows is Dashboard.frame() of its current values."""
    dash.controls["seed"].value = 3
    assert dash.result.seed == 3 and dash.updates == 2
    values = {n: w.value for n, w in dash.controls.items()}
    frame = dash.frame(**values)
    assert frame.pictures == dash.frame_now.pictures
    assert frame.counts == dash.result.counts and frame.caption == dash.frame_now.caption
    assert dash.log.value == frame.picture_html("log")
    assert frame.caption in dash.caption.value.replace("&#x27;", "'")


def test_choices_and_frames_for_a_static_page(dash):
    choices = dash.choices()
    assert choices == {"enable.idempotence": [False, True], "response_loss": [LOSS],
                       "seed": [0]}
    frames = {v: dash.frame(**{"enable.idempotence": v}) for v in (False, True)}
    off, on = frames[False], frames[True]
    assert isinstance(off, Frame) and off.error is None
    assert off.counts["duplicates"] > 0 and on.counts["duplicates"] == 0
    assert off.verdict.startswith("NOT OK") and on.verdict.startswith("OK")
    for f in (off, on):
        assert set(f.pictures) == {"log", "messages", "counts"} == set(f.alt)
        assert all(svg.startswith("<svg") and "<desc" in svg for svg in f.pictures.values())
        assert all(f.alt.values()) and f.caption
        assert "retries" in f.counts_html()
    assert off.pictures["log"] != on.pictures["log"]
    assert "at two offsets" in off.caption and "at two offsets" not in on.caption
    with pytest.raises(ValueError, match="for a control name"):
        dash.frame(acks="all")
    bad = Dashboard(SCENARIO, ["acks"], {"enable.idempotence": True}).frame(acks="0")
    assert bad.error and "cannot run" in bad.verdict_html() and not bad.pictures


def test_last_update_ms_is_measured(dash):
    dash.controls["enable.idempotence"].value = True
    assert isinstance(dash.last_update_ms, float) and dash.last_update_ms > 0


def test_counts_html_has_its_css_class_and_text(dash):
    assert "eoslib-counts" in dash.counts_html._dom_classes
    text = re.sub(r"<[^>]+>", "", dash.counts_html.value)
    assert text.startswith(f"duplicates: {dash.result.counts['duplicates']} · lost: ")
    assert dash.counts_text == text


def test_pictures_are_svg_imgs_with_alt_text(dash):
    assert dash.plot.value.startswith('<img class="eoslib-counts-img" alt="Bar chart of')
    assert dash.log.value.startswith('<img class="eoslib-log-img" alt="Log view. partition')
    assert "data:image/svg+xml;base64," in dash.log.value


def test_every_control_has_a_tooltip():
    d = Dashboard(SCENARIO, list(CONTROLS))
    assert all(w.tooltip for w in d.controls.values())


def test_fixed_defaults_go_to_config_and_faults():
    calls = []

    def spy(name, **kwargs):
        calls.append((name, kwargs))
        return run_scenario(name, **kwargs)

    d = Dashboard(SCENARIO, ["crash_step", "messages"],
                  {"acks": "all", "response_loss": 0.1, "messages": 50}, run=spy)
    name, kwargs = calls[-1]
    assert d.result.config["acks"] == "all" and d.result.messages == 50
    assert name == SCENARIO
    assert kwargs == {"config": {"acks": "all"}, "faults": {"response_loss": 0.1,
                                                            "crash_step": None},
                      "messages": 50}


def test_split_params():
    config, faults, kwargs = split_params({
        "enable.idempotence": True, "transactions": False, "isolation.level": "read_committed",
        "response_loss": 0.1, "crash_step": "none", "lost_acks": 2, "seed": 4, "messages": 30,
    })
    assert config == {"enable.idempotence": True, "transactions": False,
                      "isolation.level": "read_committed"}
    assert faults == {"response_loss": 0.1, "crash_step": None, "lost_acks": 2}
    assert kwargs == {"seed": 4, "messages": 30}


def test_every_control_can_be_built():
    d = Dashboard(SCENARIO, list(CONTROLS))
    assert d.error is None
    assert set(d.controls) == set(CONTROLS)
    assert d.controls["crash_step"].options[0] == "none"
    assert d.controls["isolation.level"].options == ("read_uncommitted", "read_committed")


def test_unknown_control_is_refused():
    with pytest.raises(ValueError, match="for controls"):
        Dashboard(SCENARIO, ["enable.idempotency"])


def test_a_failing_run_shows_the_error_and_keeps_the_last_result():
    """The simulation refuses acks=0 for an idempotent producer, as Kafka does."""
    d = Dashboard(SCENARIO, ["acks"], {"enable.idempotence": True})
    good = d.result
    d.controls["acks"].value = "0"
    assert d.result is good and isinstance(d.error, ConfigException)
    assert "cannot run" in d.verdict_html.value and "idempotence" in d.verdict_html.value
    d.controls["acks"].value = "all"
    assert d.error is None and d.result is not good


def test_display_bundle_is_short_and_stable(dash):
    bundle = dash._repr_mimebundle_()
    assert bundle["text/plain"].startswith(f"[Dashboard {dash.scenario!r}: run this cell")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/svg+xml"] == dash.frame_now.pictures["log"]  # for a code host


def test_measure_update_latency(dash):
    first = dash.controls["enable.idempotence"].value
    stats = measure_update_latency(dash, n=5)
    assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]
    assert stats["n"] == 5
    assert dash.controls["enable.idempotence"].value == first


# -- TimelinePlayer ----------------------------------------------------------------------------


def test_timeline_player_steps_through_the_trace(dash):
    player = TimelinePlayer(dash.result)
    n = len(dash.result.trace)
    assert player.slider.max == player.play.max == n  # 1-based, like the step player
    first = player.image.value
    player.slider.value = 8
    assert player.view.upto == 7
    assert "step 8 of " in player.caption.value
    assert dash.result.trace[7]["kind"] in player.caption.value
    assert player.image.value != first
    player.bar.fwd.click()
    assert player.view.upto == 8 and player.slider.value == 9
    player.bar.back.click()
    assert player.view.upto == 7
    assert player.play.interval * n <= 30_000  # the default speed plays it in <= 30 s
    assert player.last_update_ms > 0
    assert "eoslib-caption" in player.caption._dom_classes
    assert player._repr_mimebundle_()["text/plain"].startswith("[TimelinePlayer ")


# -- notebook rules (eoslib.notebooks.lint_notebook) -------------------------------------------


def write_nb(path: Path, *cells) -> Path:
    nb = new_notebook(cells=list(cells))
    nbformat.write(nb, path)
    return path


GOOD_HEAD = new_markdown_cell("# Title\n\n**Objectives**\n\n- one")
GOOD_TAIL = new_markdown_cell("## Key points\n\n- one")


def codes(path: Path) -> list[str]:
    return [i.code for i in notebooks.lint_notebook(path)]


def test_lint_accepts_a_good_notebook(tmp_path):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD,
                  new_code_cell("# NBVAL_IGNORE_OUTPUT\nd = Dashboard('s', ['seed'])\nd"),
                  new_code_cell("print(d.result.counts)"), GOOD_TAIL)
    assert notebooks.lint_notebook(nb) == []


@pytest.mark.parametrize("source", [
    "d = Dashboard('s', ['seed'])\nd.display()",
    "TimelinePlayer(r)",
    "widgets.IntSlider()",
    "interact(f, x=1)",
    "table = sweep('s', 'response_loss', [0.1], range(3), configs)",
])
def test_lint_wants_the_marker_on_widget_cells(tmp_path, source):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD, new_code_cell(source), GOOD_TAIL)
    assert codes(nb) == ["widget-marker"]


def test_lint_follows_widget_variables_across_cells(tmp_path):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD,
                  new_code_cell("# NBVAL_IGNORE_OUTPUT\nd = Dashboard('s', ['seed'])"),
                  new_code_cell("d"), GOOD_TAIL)
    issues = notebooks.lint_notebook(nb)
    assert [(i.cell, i.code) for i in issues] == [(2, "widget-marker")]


def test_lint_display_of_a_widget_variable_needs_the_marker(tmp_path):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD,
                  new_code_cell("# NBVAL_IGNORE_OUTPUT\np = TimelinePlayer(r)\ndisplay(p)"),
                  new_code_cell("display(p)"), new_code_cell("display(fig)"), GOOD_TAIL)
    issues = notebooks.lint_notebook(nb)
    assert [(i.cell, i.code) for i in issues] == [(2, "widget-marker")]


def test_lint_sweep_without_progress_needs_no_marker(tmp_path):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD,
                  new_code_cell("t = sweep('s', 'x', [1], range(2), c, progress=False)"),
                  GOOD_TAIL)
    assert codes(nb) == []


def test_lint_catches_the_marker_trap_and_a_late_marker(tmp_path):
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD,
                  new_code_cell("# NBVAL_IGNORE_OUTPUT because widgets\nDashboard('s', [])"),
                  new_code_cell("x = 1\n# NBVAL_IGNORE_OUTPUT\nTimelinePlayer(r)"), GOOD_TAIL)
    assert codes(nb) == ["marker-trap", "widget-marker", "widget-marker"]


def test_lint_long_cells_and_missing_prose(tmp_path):
    long = "\n".join(f"x{i} = {i}" for i in range(16))
    nb = write_nb(tmp_path / "a.ipynb", new_code_cell(long))
    assert codes(nb) == ["long-cell", "no-title", "no-objectives", "no-takeaways"]
    ok = write_nb(tmp_path / "b.ipynb", GOOD_HEAD, new_code_cell(long[: long.rindex("\n")]),
                  GOOD_TAIL)
    assert codes(ok) == []


def test_lint_widget_outputs_count_even_without_a_pattern(tmp_path):
    cell = new_code_cell("make_it()")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                              "text/plain": "VBox()"})]
    nb = write_nb(tmp_path / "a.ipynb", GOOD_HEAD, cell, GOOD_TAIL)
    assert codes(nb) == ["widget-marker"]


def course_notebooks() -> list[Path]:
    return notebooks.find_notebooks()


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_course_notebook_follows_the_rules(path):
    issues = notebooks.lint_notebook(path)
    assert not issues, "\n".join(map(str, issues))


def test_find_notebooks_skips_checkpoints(tmp_path):
    (tmp_path / "notebooks" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    a = write_nb(tmp_path / "notebooks" / "01-a.ipynb", GOOD_HEAD)
    write_nb(tmp_path / "notebooks" / ".ipynb_checkpoints" / "01-a-checkpoint.ipynb", GOOD_HEAD)
    b = write_nb(tmp_path / "solutions" / "01-a.ipynb", GOOD_HEAD)
    assert notebooks.find_notebooks(tmp_path) == [a, b]


# -- re-execution (eoslib.notebooks.execute_notebook) ------------------------------------------

DEMO_CELLS = [
    "from eoslib.viz.dashboard import Dashboard",
    "# NBVAL_IGNORE_OUTPUT\ndash = Dashboard(SCENARIO, ['enable.idempotence'],\n"
    "                 {'response_loss': 0.2, 'enable.idempotence': False})\ndash",
    "print(dash.counts_text)",
    "import os\nprint(os.path.basename(os.getcwd()))",
]


@pytest.mark.slow
def test_execute_notebook_is_deterministic_and_runs_in_its_folder(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    cells = [new_code_cell(s.replace("SCENARIO", repr(SCENARIO))) for s in DEMO_CELLS]
    path = write_nb(folder / "demo.ipynb", GOOD_HEAD, *cells, GOOD_TAIL)
    notebooks.execute_notebook(path)
    first = path.read_text()
    notebooks.execute_notebook(path)
    assert path.read_text() == first
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, 3, 4]
    assert code[3].outputs[0]["text"] == "notebooks\n"
    assert code[2].outputs[0]["text"].startswith("duplicates: ")
    view = code[1].outputs[0]["data"]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == "eoslib-demo-1"
    assert all("execution" not in c.metadata for c in code)
    assert "widgets" not in nb.metadata
    assert notebooks.lint_notebook(path) == []


def test_execute_cli_reports_a_failing_notebook_and_leaves_it_unchanged(tmp_path, capsys):
    path = write_nb(tmp_path / "bad.ipynb", GOOD_HEAD, new_code_cell("1 / 0"), GOOD_TAIL)
    before = path.read_text()
    assert notebooks.main([str(path)]) == 1
    assert path.read_text() == before
    assert "FAILED" in capsys.readouterr().out


def test_the_caption_names_the_client_and_the_update_leaves_the_collector_on(dash) -> None:
    import gc

    assert dash.frame_now.caption.startswith("client: librdkafka (confluent-kafka).")
    assert "client: " in dash.caption.value
    gc.disable()
    try:
        dash.update()
        assert not gc.isenabled()  # held off, and left as it was
    finally:
        gc.enable()
    dash.update()
    assert gc.isenabled() and dash.last_update_ms > 0


def test_a_caption_counts_copies_beyond_two() -> None:
    from eoslib.protocol_state import state_at
    from eoslib.viz.captions import summary_caption

    r = run_scenario("pipeline", seed=1, messages=50,
                     config={"delivery": "at-least-once", "enable.idempotence": False},
                     faults={"response_loss": 0.05, "crash_step": "after_produce"})
    st = state_at(r)
    most = max(len(o) for p in st.partitions.values() for o in p.duplicates().values())
    assert most > 2
    assert f"at two to {most} offsets" in summary_caption(r, st)


def test_the_counts_line_shows_every_anomaly_the_verdict_names() -> None:
    """10b's acks=1 failover: the verdict names inconsistent_offsets, which no count holds."""
    d = Dashboard("leader-failover", ["acks", "seed"],
                  {"acks": "1", "enable.idempotence": False, "min.insync.replicas": 2,
                   "seed": 1, "messages": 50})
    named = d.result.report.failures()
    text = re.sub(r"<[^>]+>", "", d.counts_html.value)
    assert "inconsistent_offsets" in named and "inconsistent offsets: 1" in text, (named, text)
    assert d.counts_text == text
