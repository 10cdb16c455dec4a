"""Run a notebook in a kernel with :mod:`eoslib.site.capture` on, cached by content hash.

Only notebooks whose committed outputs show widgets are run. The cache key is the notebook's
SHA-256 and the SHA-256 of the ``eoslib`` package's code, so a changed notebook or simulator
is run again and an unchanged one is read back from ``<cache>/<key>/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from eoslib.site.capture import SITE_MIME

PACKAGE = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 600
_CAPTURE_ID = "eoslib-site-capture"


#: The site's own modules that shape what a capture records (the others only render it).
_SITE_CAPTURE = {"capture.py", "dashboards.py", "execute.py", "playground.py"}


def code_hash(package: Path = PACKAGE) -> str:
    """SHA-256 over the ``eoslib`` package's Python, HTML and JSON files (names and bytes),
    leaving out the site's rendering code, which a recorded run does not depend on."""
    h = hashlib.sha256()
    for p in sorted(package.rglob("*")):
        rel = p.relative_to(package).parts
        if rel[0] == "site" and p.name not in _SITE_CAPTURE:
            continue
        if p.suffix in (".py", ".html", ".json") and "__pycache__" not in p.parts:
            h.update(p.relative_to(package).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel picks the inline backend itself
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(root) + (os.pathsep + path if path else "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _text(data: dict[str, Any]) -> str:
    t = data.get("text/plain", "")
    return "".join(t) if isinstance(t, list) else t


def run_with_capture(path: Path, folder: Path, root: Path,
                     timeout: int = CELL_TIMEOUT) -> dict[str, list[dict[str, Any]]]:
    """Execute ``path`` (a copy in memory; the file is not written) with capture into
    ``folder``; returns ``{cell id: [{"kind", "ref", "text"}, ...]}`` in display order."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    setup = nbformat.v4.new_code_cell(
        f"import eoslib.site.capture\neoslib.site.capture.install({str(folder)!r})")
    setup["id"] = _CAPTURE_ID
    nb.cells.insert(0, setup)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            record_timing=False, store_widget_state=True)
    # The kernel's stderr only repeats a warning about local TCP; errors come back in cells.
    client.execute(env=_env(root), stderr=subprocess.DEVNULL)
    refs: dict[str, list[dict[str, Any]]] = {}
    for n, cell in enumerate(nb.cells[1:]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if SITE_MIME in data:
                refs.setdefault(cell.get("id") or f"cell-{n}", []).append(
                    {**data[SITE_MIME], "text": _text(data)})
    return refs


def captured(path: Path, cache: Path, root: Path, code: str) -> tuple[Path, dict[str, Any]]:
    """The capture folder and refs of ``path``, from the cache or by running it."""
    key = hashlib.sha256(path.read_bytes() + code.encode()).hexdigest()[:32]
    folder = cache / f"{path.stem}-{key}"
    index = folder / "refs.json"
    if index.exists():
        return folder, json.loads(index.read_text(encoding="utf-8"))
    for old in cache.glob(f"{path.stem}-*"):  # an older run of this notebook
        shutil.rmtree(old, ignore_errors=True)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    refs = run_with_capture(path, tmp, root)
    (tmp / "refs.json").write_text(json.dumps(refs), encoding="utf-8")
    tmp.rename(folder)  # complete or absent: an interrupted run leaves only a .tmp
    return folder, refs


def _worker(args: tuple[str, str, str, str]) -> tuple[str, str, dict[str, Any]]:
    path, cache, root, code = args
    folder, refs = captured(Path(path), Path(cache), Path(root), code)
    return path, str(folder), refs


def capture_all(paths: list[Path], cache: Path, root: Path,
                jobs: int = 1) -> dict[Path, tuple[Path, dict[str, Any]]]:
    """:func:`captured` for each notebook, ``jobs`` at a time (worker processes)."""
    code = code_hash()
    cache.mkdir(parents=True, exist_ok=True)
    work = [(str(p), str(cache), str(root), code) for p in paths]
    if jobs <= 1 or len(work) <= 1:
        done = [_worker(w) for w in work]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned, not forked: a forked child inherits the caller's threads' locks and its
        # ZeroMQ context (a test session that already ran kernels), and nbclient's kernel
        # client can then wait forever (seen in CI: a site build stuck for 10 minutes)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
            done = list(pool.map(_worker, work))
    return {Path(p): (Path(f), refs) for p, f, refs in done}
