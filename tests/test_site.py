"""The course website (`bash scripts/site`, :mod:`eoslib.site`): built, complete, in step.

The fast tests check the pieces (links, refusals, stale outputs, the command line). The
``slow`` ones build the site once from the repository's committed notebooks (recorded runs are
cached by content hash under ``_build/cache/site``) and check what it holds: a page per
notebook and nothing else, no solution, nothing loaded from another host, every notebook's
dashboards and players where its cells show them, every recorded dashboard run equal to a
direct ``run_scenario`` of that combination, the size under 50 MB, and pages that fail the
check once their notebook changes. ``tests/test_site_browser.py`` opens the pages in Chromium.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from eoslib.site import pages
from eoslib.site.build import MAX_BYTES, build, check
from eoslib.site.sources import WIDGET_MIME, find_sources, read_source

REPO = Path(__file__).resolve().parent.parent
SITE_PAGES = {"notebooks/01-a.html", "notebooks/02-b.html", "exercises/ex01-a.html",
              "exercises/index.html", "index.html"}


# -- the pieces --------------------------------------------------------------------------------
def test_links_point_at_pages_and_unlink_what_the_site_lacks(tmp_path: Path) -> None:
    md = ("Next: [02](02-b.ipynb). Try [ex01](../exercises/ex01-a.ipynb#q1), see "
          "[all](../exercises/), the [solution](../solutions/ex01-a.ipynb), "
          "[Kafka](https://kafka.apache.org/) and [above](#top).")
    out = pages.rewrite_links(md, "notebooks/01-a.ipynb", SITE_PAGES, tmp_path)
    assert "[02](02-b.html)" in out
    assert "[ex01](../exercises/ex01-a.html#q1)" in out
    assert "[all](../exercises/index.html)" in out
    assert "solution (`solutions/ex01-a.ipynb` in the course's repository)" in out
    assert "[Kafka](https://kafka.apache.org/)" in out and "[above](#top)" in out
    # the same summary shown on the landing page (the site's root folder)
    root = pages.rewrite_links(md, "notebooks/01-a.ipynb", SITE_PAGES, tmp_path, page_dir="")
    assert "[02](notebooks/02-b.html)" in root and "[all](exercises/index.html)" in root


def test_an_exercise_holding_a_solution_is_refused(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Exercise 1"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    (tmp_path / "exercises").mkdir()
    path = tmp_path / "exercises" / "ex01.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match=r"exercises/ex01.ipynb holds a solution"):
        read_source(tmp_path, path, "exercise")


def _widget_notebook(tmp_path: Path, text: str) -> tuple[nbformat.NotebookNode, object]:
    out = nbformat.v4.new_output("display_data", data={
        WIDGET_MIME: {"model_id": "m1", "version_major": 2, "version_minor": 0},
        "text/plain": text})
    cell = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nDashboard('x', ['seed'])",
                                     outputs=[out])
    cell["id"] = "c1"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · A"), cell])
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    path = tmp_path / "notebooks" / "01-a.ipynb"
    nbformat.write(nb, path)
    return nb, read_source(tmp_path, path, "lesson")


def test_a_widget_that_differs_from_a_fresh_run_is_a_stale_notebook(tmp_path: Path) -> None:
    nb, source = _widget_notebook(tmp_path, "Dashboard('x', controls=['seed'])")
    fresh = {"c1": [{"kind": "dashboard", "ref": 0, "text": "Dashboard('y', controls=[])"}]}
    with pytest.raises(pages.StaleNotebook, match=r"notebooks/01-a.ipynb: cell 1.*re-execute"):
        pages.prepare(nb, source, fresh, lambda ref, n: "", SITE_PAGES, tmp_path)
    with pytest.raises(pages.StaleNotebook, match="a fresh run does not display"):
        pages.prepare(nb, source, {}, lambda ref, n: "", SITE_PAGES, tmp_path)
    same = {"c1": [{"kind": "dashboard", "ref": 0, "text": "Dashboard('x', controls=['seed'])"}]}
    ready = pages.prepare(nb, source, same, lambda ref, n: "<p>player</p>", SITE_PAGES, tmp_path)
    assert ready.cells[1].outputs[0]["data"] == {"text/html": "<p>player</p>"}
    assert ready.cells[1].source == "Dashboard('x', ['seed'])"  # marker line not shown
    # the line a widget shows without a kernel names the same widget as its repr
    newer = {"c1": [{"kind": "dashboard", "ref": 0,
                     "text": "[Dashboard 'x': run this cell to use it. ...]"}]}
    ready = pages.prepare(nb, source, newer, lambda ref, n: "<p>player</p>", SITE_PAGES,
                          tmp_path)
    assert ready.cells[1].outputs[0]["data"] == {"text/html": "<p>player</p>"}


def test_a_predictions_code_reads_as_code_and_stays_escaped() -> None:
    from eoslib.site.components import prediction

    out = prediction({"question": "Which outputs will `out` hold <twice>?",
                      "choices": ["none", "`m25'` only"]}, 1)
    assert "<code>out</code>" in out and "&lt;twice&gt;" in out and "`" not in out
    assert "<code>m25&#x27;</code> only</button>" in out


def test_progress_bars_are_dropped_and_other_widgets_say_they_need_a_kernel(
        tmp_path: Path) -> None:
    nb, source = _widget_notebook(tmp_path, "sweep: 0%|          | 0/30 [00:00<?, ?it/s]")
    assert pages.prepare(nb, source, {}, None, SITE_PAGES, tmp_path).cells[1].outputs == []
    nb, source = _widget_notebook(tmp_path, "interactive(children=(Dropdown(...),))")
    html = pages.prepare(nb, source, {}, None, SITE_PAGES, tmp_path).cells[1].outputs[0]
    assert "needs a running kernel" in html["data"]["text/html"]


def test_a_subset_records_the_notebooks_values_and_greys_the_rest() -> None:
    from eoslib.site.playground import PLAYGROUND, options, recorded_values, subset_for, widened
    from eoslib.viz import Dashboard
    from eoslib.viz.params import CRASH_STEPS

    dash = Dashboard("pipeline", ["transactions", "delivery", "enable.idempotence", "acks",
                                  "isolation.level", "response_loss", "crash_step", "seed"],
                     {"response_loss": 0.2, "crash_step": "after_poll", "seed": 7,
                      "messages": 20})
    assert subset_for(dash) is PLAYGROUND
    assert subset_for(Dashboard("pipeline", ["transactions"], {"messages": 20})) is None
    wide = widened(dash, PLAYGROUND)  # the site adds the client, values unchanged
    assert list(wide.controls) == [*dash.controls, "client"]
    assert wide.values() == {**dash.values(), "client": "librdkafka"}
    rec = recorded_values(wide, PLAYGROUND)
    assert rec["response_loss"] == [0.0, 0.05, 0.2, 0.3]  # the notebook's value joins
    assert rec["seed"] == [1, 2, 3, 7] and rec["crash_step"] == list(CRASH_STEPS)
    assert rec["client"] == ["librdkafka", "java"]
    seed = options(wide, "seed", rec["seed"])
    assert seed[3] == {"label": "7", "index": 3} and seed[-1]["index"] is None
    loss = options(wide, "response_loss", rec["response_loss"])
    assert [o["label"] for o in loss] == ["0", "0.05", "0.2", "0.3", "other: 0 to 0.5 (live)"]
    # a finite control lists every value the notebook offers, greyed when not recorded
    acks = options(wide, "acks", ["all"])
    assert [o["index"] for o in acks] == [None, None, 0]
    assert acks[0]["label"] == "0 (not recorded)"


def test_a_pack_holds_a_subsets_frames_and_says_exactly_what_is_recorded(
        tmp_path: Path) -> None:
    from eoslib.site import components
    from eoslib.site.dashboards import PACKED, pack, unpack

    data = {"kind": "dashboard", "scenario": "pipeline", "repr": "Dashboard('pipeline')",
            "fixed": {}, "frames": {"0.0": 0, "1.0": 1},
            "frames_list": [{"counts": {"duplicates": 1}, "pictures": [{"svg": 0}]},
                            {"counts": {}, "pictures": [], "error": "cannot run: X"}],
            "svgs": ["<svg/>"],
            "controls": [{"name": "acks", "values": ["1", "all"], "default": "all",
                          "options": [{"label": "0 (not recorded)", "index": None},
                                      {"label": "1", "index": 0}, {"label": "all", "index": 1}],
                          "why": "because", "added": False},
                         {"name": "client", "values": ["java"], "default": "java",
                          "options": [{"label": "java", "index": 0}], "why": "",
                          "added": True}],
            "subset": {"name": "demo", "combinations": 2, "refused": 1, "added": ["client"],
                       "refusals": {"cannot run: X": 1}}}
    rest = pack(data, tmp_path / "p.js")
    text = (tmp_path / "p.js").read_text()
    assert text.startswith("(window.eosPacks = window.eosPacks || {})") and \
        rest["pack"]["id"] in text
    assert not set(PACKED) & set(rest) and unpack(text) == {k: data[k] for k in PACKED}
    assert rest["pack"]["combinations"] == 2 and rest["pack"]["count_keys"] == ["duplicates"]
    assert pack(data, tmp_path / "q.js") == {**rest, "pack": {**rest["pack"], "file": "q.js"}}
    page = components.dashboard(rest, 1, pack_src="../data/x.js",
                                source="notebooks/11-playground.ipynb")
    assert 'data-pack="../data/x.js"' in page and "<svg/>" not in page
    assert "2 combinations</b>" in page
    assert "1 run and 1 combination of settings the simulator refuses" in page
    assert "<td>1, all</td><td>0 (not recorded)</td><td>because</td>" in page
    assert "<i>(added by the site)</i>" in page and "bash scripts/course" in page
    assert "<li>1 &times; <code>cannot run: X</code></li>" in page
    assert "open <code>notebooks/11-playground.ipynb</code>" in page


@pytest.mark.parametrize("args, says", [
    (["--jobs", "0"], "Invalid value 0 for --jobs"),
    (["--root", "/nonexistent"], "Invalid value '/nonexistent' for --root"),
])
def test_bad_arguments_exit_2_with_one_line(args: list[str], says: str) -> None:
    p = subprocess.run([sys.executable, "-m", "eoslib.cli", "site", *args], capture_output=True,
                       text=True, cwd=REPO)
    assert p.returncode == 2, p.stderr
    assert says in p.stderr and len(p.stderr.strip().splitlines()) == 1


# -- the built site ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once per test session (test_site_browser.py reuses it)."""
    out = tmp_path_factory.getbasetemp() / "eoslib-site" / "site"
    if not (out / "site.json").exists():
        print("\n".join(build(REPO, out).lines()))
    return out


def _manifest(site: Path) -> dict:
    return json.loads((site / "site.json").read_text())


def _widgets(path: Path) -> list[tuple[tuple[str, str], str]]:
    """((kind, scenario), cell source) of each course widget a notebook's outputs show."""
    nb = nbformat.read(path, as_version=4)
    return [(sig, c.source) for c in nb.cells for o in c.get("outputs", [])
            if WIDGET_MIME in o.get("data", {})
            and (sig := pages.signature(o["data"].get("text/plain", ""))) is not None]


def _dashboard_call(source: str) -> tuple[str, list[str]] | None:
    """(scenario, controls) of the ``Dashboard(...)`` call in a cell, when both are literal."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Dashboard"
                and len(node.args) >= 2):
            try:
                return ast.literal_eval(node.args[0]), ast.literal_eval(node.args[1])
            except ValueError:
                return None
    return None


@pytest.mark.slow
def test_one_page_per_notebook_no_solution_nothing_remote(site: Path) -> None:
    sources = find_sources(REPO)
    built = {p["source"]: p for p in _manifest(site)["pages"]}
    assert set(built) == {s.rel for s in sources}
    assert not any(r.startswith("solutions/") for r in built)
    html_files = sorted(site.rglob("*.html"))
    assert {f.relative_to(site).as_posix() for f in html_files} >= (
        {s.page for s in sources} | {"index.html", "exercises/index.html"})
    remote = re.compile(r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*?"""
                        r"""\b(?:src|href|data)\s*=\s*["']?(?:https?:)?//""", re.I)
    for f in html_files:
        text = f.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text, f
        assert not remote.search(text), f"{f} loads something from another host"
        assert "Content-Security-Policy" in text, f
    for f in (site / "static").iterdir():
        assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", f.read_text()), f
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    assert size < MAX_BYTES
    assert size - (site / "site.json").stat().st_size == _manifest(site)["bytes"]


@pytest.mark.slow
def test_every_dashboard_and_player_of_a_notebook_is_on_its_page(site: Path) -> None:
    """Derived from each notebook's own committed outputs, not from a list."""
    for page in _manifest(site)["pages"]:
        found = _widgets(REPO / page["source"])
        dashboards = [(sig, src) for sig, src in found if sig[0] == "dashboard"]
        players = [sig for sig, _ in found if sig[0] == "player"]
        assert len(page["dashboards"]) == len(dashboards), page["source"]
        assert len(page["players"]) == len(players), page["source"]
        for d, ((_, scenario), src) in zip(page["dashboards"], dashboards, strict=True):
            assert d["scenario"] == scenario
            call = _dashboard_call(src)
            if call is not None:  # the controls the notebook's own cell asks for
                assert d["scenario"] == call[0]
                # the controls the notebook's cell asks for, and those a subset adds
                assert set(d["controls"]) <= set(call[1]) | set(d.get("added", [])), \
                    page["source"]
        for p, (_, scenario) in zip(page["players"], players, strict=True):
            assert scenario in ("", p["scenario"]), page["source"]
        html = (site / page["page"]).read_text(encoding="utf-8")
        assert html.count('class="eos-box eos-dashboard"') == sum(
            1 for d in page["dashboards"] if not d["too_many"])
        assert html.count('class="eos-player"') == len(players)
        for p in page["players"]:
            assert (site / p["file"]).exists() and 0 <= p["start"] < p["steps"]
        # a player of a dashboard's run says it shows the notebook's run only (11's timeline
        # player, TimelinePlayer(dash.result) under the playground)
        of_dashboard = sum(1 for p in page["players"] if p["of_dashboard"])
        assert html.count("does not follow the dashboard") == of_dashboard, page["page"]
        if any(d.get("subset") for d in page["dashboards"]):
            assert of_dashboard == 1, page["page"]
    lessons = [p for p in _manifest(site)["pages"] if p["kind"] == "lesson"]
    recorded = [d for p in lessons for d in p["dashboards"]]
    assert recorded and all(not d["too_many"] for d in recorded), \
        "every dashboard of every lesson is recorded (11's playground over its named subset)"


def _page_dashboards(site: Path, page: str) -> list[dict]:
    """Every dashboard's data on a page, a subset's frames read back from its pack file."""
    from eoslib.site.dashboards import unpack

    html = (site / page).read_text(encoding="utf-8")
    found = [json.loads(m.replace("<\\/", "</")) for m in
             re.findall(r'<script[^>]*class="eos-data"[^>]*>(.*?)</script>', html, re.S)]
    for d in found:
        if "pack" in d:
            d.update(unpack((site / "data" / f"{d['pack']['id']}.js").read_text()))
    return found


@pytest.mark.slow
def test_every_recorded_run_equals_a_direct_run(site: Path) -> None:
    from eoslib.scenarios import run_scenario
    from eoslib.viz.params import split_params

    runs = refused = subsets = 0
    for page in _manifest(site)["pages"]:
        for d in _page_dashboards(site, page["page"]):
            dashboard_runs = runs
            names = [c["name"] for c in d["controls"]]
            combos = list(itertools.product(*(range(len(c["values"])) for c in d["controls"])))
            assert sorted(d["frames"]) == sorted(".".join(map(str, c)) for c in combos)
            for combo in combos:
                values = {n: c["values"][i] for n, c, i in zip(names, d["controls"], combo,
                                                               strict=True)}
                frame = d["frames_list"][d["frames"][".".join(map(str, combo))]]
                config, faults, kwargs = split_params({**d["fixed"], **values})
                try:
                    result = run_scenario(d["scenario"], config=config, faults=faults, **kwargs)
                except Exception as exc:
                    assert frame["error"] and type(exc).__name__ in frame["error"]
                    refused += 1
                    continue
                assert not frame.get("error"), (page["page"], values, frame["error"])
                runs += 1
                assert frame["counts"] == {k: result.counts[k] for k in frame["counts"]}, \
                    (page["page"], values)
                assert frame["verdict"] == str(result.report).split("\n", 1)[0]
            # a dashboard whose every combination is refused would teach nothing
            assert runs > dashboard_runs, (page["page"], d["scenario"])
            if "subset" in d:
                subsets += 1
                assert d["subset"]["combinations"] == len(combos)
                assert d["subset"]["refused"] == len(combos) - (runs - dashboard_runs) == \
                    sum(d["subset"]["refusals"].values())
    # every recorded frame was compared: a run, or a refusal the page shows as such
    assert runs + refused == sum(len(d["frames"]) for page in _manifest(site)["pages"]
                                 for d in _page_dashboards(site, page["page"]))
    assert subsets == 1 and runs >= 500, (subsets, runs)


@pytest.mark.slow
def test_a_page_older_than_its_notebook_fails_the_check(site: Path, tmp_path: Path) -> None:
    assert check(REPO, site) == []
    root = tmp_path / "repo"
    for folder in ("notebooks", "exercises"):
        shutil.copytree(REPO / folder, root / folder)
    changed = sorted((root / "notebooks").glob("*.ipynb"))[1]
    nb = nbformat.read(changed, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new paragraph."))
    nbformat.write(nb, changed)
    problems = check(root, site)
    assert len(problems) == 1 and f"is older than notebooks/{changed.name}" in problems[0]
    p = subprocess.run([sys.executable, "-m", "eoslib.site", "--root", str(root), "--out",
                        str(site), "--check"], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 1 and "stale" in p.stdout
