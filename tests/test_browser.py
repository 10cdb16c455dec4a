"""The idempotence dashboard in a real browser: JupyterLab + Debian's Chromium via Playwright.

Starts JupyterLab (galata's test configuration: no token, ``window.jupyterapp`` exposed) on a
free 127.0.0.1 port, serving a temporary copy of the notebooks so autosave never writes into
the repository; opens the concept notebook ``notebooks/02-idempotent-producer.ipynb`` (the test
fails if it is missing); waits for the kernel the reliable way (``context.ready``,
``sessionContext.ready``, ``kernel.info``); runs all cells; reads the ``.eoslib-counts`` line;
clicks the ``enable.idempotence`` checkbox; waits for the counts to change; checks that the
duplicates went from some to none (or back) and that the chart's ``<img>`` changed. Screenshots
go to ``test-artifacts/browser-dashboard-before.png`` and ``browser-dashboard.png`` (after the
click), the phase timings to ``test-artifacts/browser-timings.json``.

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
SETTINGS_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}
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


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, float]]]:
    """A JupyterLab server on a copy of the notebooks: (base url, notebook path, timings)."""
    if not CONCEPT.exists():
        pytest.fail(f"the concept notebook {CONCEPT.relative_to(REPO)} is missing")
    if not CHROMIUM.exists():
        pytest.skip("needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("needs the playwright Python package (pip install playwright)")
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
        yield base, f"notebooks/{CONCEPT.name}", timings
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


def test_dashboard_in_jupyterlab(lab, record_property):
    from playwright.sync_api import sync_playwright

    base, path, timings = lab
    t0 = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            timings["browser_launch_s"] = time.perf_counter() - t0
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
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
            browser.close()
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
