"""The course's widgets in a real browser: JupyterLab + Debian's Chromium via Playwright.

One JupyterLab server and one browser serve the whole module (they are the slow part).

Starts JupyterLab (galata's test configuration: no token, ``window.jupyterapp`` exposed) on a
free 127.0.0.1 port, serving a temporary copy of the notebooks so autosave never writes into
the repository; opens the concept notebook ``notebooks/02-idempotent-producer.ipynb`` (the test
fails if it is missing); waits for the kernel the reliable way (``context.ready``,
``sessionContext.ready``, ``kernel.info``); runs all cells; reads the ``.eoslib-counts`` line;
clicks the ``enable.idempotence`` checkbox; waits for the counts to change; checks that the
duplicates went from some to none (or back) and that the chart's ``<img>`` changed. Screenshots
go to ``test-artifacts/browser-dashboard-before.png`` and ``browser-dashboard.png`` (after the
click), the phase timings to ``test-artifacts/browser-timings.json``.

``test_a_reloaded_notebook_shows_the_widget_or_a_run_line``: the JupyterLab settings that
``scripts/setup`` writes (read from that script) save widget state; a notebook executed with
``scripts/execute-notebooks --widget-state`` opens (no kernel run) with its dashboard drawn,
and a notebook whose widgets were not saved shows "run this cell to use it" where each
widget was, never a Python repr such as ``Dashboard('...', controls=[...])``.

Needs /usr/bin/chromium (``apt-get install chromium``); never ``playwright install``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CONCEPT = REPO / "notebooks" / "02-idempotent-producer.ipynb"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
SETUP = REPO / "scripts" / "setup"


def setup_overrides() -> dict:
    """The JupyterLab settings overrides ``scripts/setup`` writes (its JSON heredoc)."""
    text = SETUP.read_text()
    return json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON", text, re.S).group(1))


SETTINGS_OVERRIDES = setup_overrides()
SERVER_START_S = 90
KERNEL_WAIT_MS = 120_000
COUNTS_WAIT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_config(tmp: Path, root: Path, port: int) -> Path:
    settings = tmp / "app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES))
    config = tmp / "jupyter_server_config.py"
    config.write_text(
        "from jupyterlab.galata import configure_jupyter_server\n"
        "configure_jupyter_server(c)  # noqa: F821\n"
        f"c.ServerApp.ip = '127.0.0.1'\n"
        f"c.ServerApp.port = {port}\n"
        "c.ServerApp.allow_root = True\n"
        f"c.ServerApp.root_dir = {str(root)!r}\n"
        f"c.LabApp.app_settings_dir = {str(settings)!r}\n"
        f"c.LabApp.user_settings_dir = {str(tmp / 'user-settings')!r}\n"
        f"c.LabApp.workspaces_dir = {str(tmp / 'workspaces')!r}\n"
    )
    return config


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, float]]]:
    """A JupyterLab server on a copy of the notebooks: (base url, notebook path, timings)."""
    if not CONCEPT.exists():
        pytest.fail(f"the concept notebook {CONCEPT.relative_to(REPO)} is missing")
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("needs the playwright Python package (pip install playwright)")
    tmp_path = tmp_path_factory.mktemp("lab")
    timings: dict[str, float] = {}
    root = tmp_path / "course"
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port = free_port()
    config = server_config(tmp_path, root, port)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.update(
        PYTHONPATH=str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        TMPDIR=str(private_tmp),  # galata's own temp dirs land here too
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),  # its own trust database (nbsignatures)
        JUPYTERLAB_GALATA_ROOT_DIR=str(root),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    log = (tmp_path / "server.log").open("w")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", f"--config={config}", "--no-browser"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n"
                            + (tmp_path / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within "
                            f"{SERVER_START_S} s:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        timings["server_start_s"] = time.perf_counter() - start
        yield base, f"notebooks/{CONCEPT.name}", timings, root
    finally:
        # Only our server's process group (the server and its kernels).
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        log.close()


WAIT_FOR_KERNEL = """async (path) => {
    const app = window.jupyterapp;
    await app.started;
    await app.restored;
    let nb = null;
    for (let i = 0; i < 600 && !nb; i++) {
        const w = app.shell.currentWidget;
        if (w && w.context && w.context.path === path && w.sessionContext) { nb = w; break; }
        await new Promise(r => setTimeout(r, 100));
    }
    if (!nb) { throw new Error('notebook ' + path + ' did not open'); }
    await nb.context.ready;
    await nb.sessionContext.ready;
    for (let i = 0; i < 600 && !nb.sessionContext.session?.kernel; i++) {
        await new Promise(r => setTimeout(r, 100));
    }
    const kernel = nb.sessionContext.session.kernel;
    const info = await kernel.info;
    return info.implementation;
}"""

WAIT_IDLE = """async () => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    for (let i = 0; i < 100 && kernel.status !== 'idle'; i++) {
        await new Promise(r => setTimeout(r, 100));
    }
}"""

RUN_ALL = "async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }"

DUPLICATES = re.compile(r"duplicates: (\d+)")


def duplicates(text: str) -> int:
    match = DUPLICATES.search(text)
    assert match, f"no 'duplicates: N' in {text!r}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def chrome(lab):
    """One Chromium for the module (after the server: a missing Chromium skips first)."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    lab[2]["browser_launch_s"] = time.perf_counter() - t0
    try:
        yield b
    finally:
        b.close()
        pw.stop()


def test_dashboard_in_jupyterlab(lab, chrome, record_property):
    base, path, timings, _ = lab
    t0 = time.perf_counter()
    page = chrome.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.set_default_timeout(COUNTS_WAIT_MS)
        t = time.perf_counter()
        page.goto(f"{base}/lab/tree/{path}")
        page.wait_for_function("() => window.jupyterapp !== undefined")
        implementation = page.evaluate(WAIT_FOR_KERNEL, path)
        assert implementation == "ipython"
        timings["kernel_ready_s"] = time.perf_counter() - t

        t = time.perf_counter()
        page.evaluate(RUN_ALL)
        counts = page.locator(".eoslib-counts").first
        counts.wait_for(state="visible")
        page.wait_for_function(
            "() => (document.querySelector('.eoslib-counts')?.innerText || '')"
            ".includes('duplicates: ')"
        )
        timings["run_all_s"] = time.perf_counter() - t
        dashboard = page.locator(".eoslib-dashboard").first
        dashboard.scroll_into_view_if_needed()
        before_text = counts.inner_text()
        before_src = dashboard.locator(".eoslib-plot img").get_attribute("src")
        before = duplicates(before_text)

        ARTIFACTS.mkdir(exist_ok=True)
        dashboard.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(ARTIFACTS / "browser-dashboard-before.png"))

        checkbox = dashboard.get_by_role("checkbox", name="enable.idempotence")
        was_checked = checkbox.is_checked()
        t = time.perf_counter()
        checkbox.click()
        page.wait_for_function(
            "old => (document.querySelector('.eoslib-counts')?.innerText || old) !== old",
            arg=before_text,
        )
        timings["click_to_counts_s"] = time.perf_counter() - t
        after_text = counts.inner_text()
        after_src = dashboard.locator(".eoslib-plot img").get_attribute("src")
        after = duplicates(after_text)
        assert checkbox.is_checked() != was_checked

        page.evaluate(WAIT_IDLE)  # a calm screenshot: the kernel has finished the update
        dashboard.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(ARTIFACTS / "browser-dashboard.png"))

        # the step player: one click on "next step" redraws the Lamport view and caption
        lamport = page.locator(".eoslib-lamport-view img").first
        lamport.scroll_into_view_if_needed()
        caption = page.locator(".eoslib-caption").filter(has_text="step ").first
        before_step = (lamport.get_attribute("src"), caption.inner_text())
        page.locator("button[title='next step']").first.click()
        page.wait_for_function(
            "old => (document.querySelector('.eoslib-lamport-view img')?.src || old)"
            " !== old", arg=before_step[0])
        after_step = (lamport.get_attribute("src"), caption.inner_text())
        page.screenshot(path=str(ARTIFACTS / "browser-step-player.png"))
    finally:
        page.close()
    timings["total_s"] = time.perf_counter() - t0 + timings["server_start_s"]
    rounded = {k: round(v, 2) for k, v in timings.items()}
    for name, value in rounded.items():
        record_property(name, value)
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(rounded, indent=1) + "\n")
    print("browser test timings (s):", rounded)

    if was_checked:  # idempotence was on: turning it off brings the duplicates back
        assert before == 0 and after > 0, (before_text, after_text)
    else:
        assert before > 0 and after == 0, (before_text, after_text)
    assert after_src != before_src, "the chart did not change"
    assert after_step[0] != before_step[0], "the Lamport view did not change"
    assert after_step[1] != before_step[1] and "step " in after_step[1], after_step[1]


RELOAD_CELLS = [
    "from eoslib.viz import Dashboard",
    "# NBVAL_IGNORE_OUTPUT\nDashboard(\"producer-retry\", [\"enable.idempotence\", \"seed\"],\n"
    "          {\"enable.idempotence\": False, \"messages\": 10, \"seed\": 1})",
]


def _open(page, base: str, path: str) -> None:
    page.goto(f"{base}/lab/tree/{path}")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate(WAIT_FOR_KERNEL, path)


def test_a_reloaded_notebook_shows_the_widget_or_a_run_line(lab, chrome):
    """Opened without running anything: saved widget state draws the dashboard; without it,
    the widget's place says to run the cell (never a repr)."""
    import nbformat
    from nbformat.sign import NotebookNotary
    from nbformat.v4 import new_code_cell, new_notebook

    from eoslib.notebooks import execute_notebook

    assert SETTINGS_OVERRIDES["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"]
    base, _, _, root = lab
    saved = root / "notebooks" / "reload-saved.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in RELOAD_CELLS]), saved)
    nb = execute_notebook(saved, widget_state=True)  # scripts/execute-notebooks --widget-state
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    unsaved = root / "notebooks" / "reload-unsaved.ipynb"
    nb.metadata.pop("widgets")
    nbformat.write(nb, unsaved)
    # what JupyterLab does to a notebook the learner ran and saved: it trusts it (an untrusted
    # notebook, e.g. one just cloned, renders no widget at all: it shows the text line)
    notary = NotebookNotary(data_dir=str(root.parent / "data"))
    notary.sign(nbformat.read(saved, as_version=4))

    page = chrome.new_page(viewport={"width": 1280, "height": 1000})
    try:
        _open(page, base, "notebooks/reload-saved.ipynb")
        page.locator(".eoslib-dashboard .eoslib-counts").first.wait_for(timeout=60_000)
        assert "duplicates: " in page.locator(".eoslib-counts").first.inner_text()
        assert page.locator(".eoslib-dashboard img.eoslib-log-img").count() == 1
        page.screenshot(path=str(ARTIFACTS / "browser-reload-saved.png"))
    finally:
        page.close()
    page = chrome.new_page(viewport={"width": 1280, "height": 1000})
    try:
        _open(page, base, "notebooks/reload-unsaved.ipynb")
        visible = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        out = page.locator(f"{visible} .jp-OutputArea-output").filter(
            has_text="run this cell").first
        out.wait_for(timeout=60_000)
        text = page.locator(f"{visible} .jp-Notebook").inner_text()
        assert "[Dashboard 'producer-retry': run this cell to use it." in text
        assert "Dashboard('producer-retry'" not in text and "controls=[" not in text
        page.screenshot(path=str(ARTIFACTS / "browser-reload-unsaved.png"))
    finally:
        page.close()
