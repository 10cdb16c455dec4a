"""Re-execute the course notebooks in place, deterministically, and lint them.

``scripts/execute-notebooks`` (or ``python -m eoslib.notebooks``) runs every notebook in
``notebooks/`` and ``solutions/`` (or the files given) top to bottom with nbclient, in the
``python3`` kernel of the current interpreter, with the notebook's folder as working directory
and a 600 s limit per cell, and writes the outputs back. What changes from run to run is
removed or made stable, so re-running an unchanged notebook gives an identical file:

- no execution timestamps (``record_timing=False``) and no saved widget state (unless
  ``widget_state=True``), execution counts kept (nbval needs them);
- widget model ids in outputs are renamed ``eoslib-<notebook>-<n>`` in order of appearance;
- cells without an id get ``cell-<n>``.

A notebook that fails is left untouched and reported. :func:`lint_notebook` checks the
course's notebook rules (see :data:`RULES`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: Folders (relative to the repository) whose notebooks are executed and linted.
NOTEBOOK_DIRS: tuple[str, ...] = ("notebooks", "solutions")
#: Per-cell time limit in seconds.
CELL_TIMEOUT = 600
#: The marker line that makes nbval skip a cell's outputs (alone, first line of the cell).
IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
#: Code cells longer than this many non-blank lines break the short-cells rule.
MAX_CELL_LINES = 15

REPO = Path(__file__).resolve().parent.parent
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

#: The lint rules, by code.
RULES: dict[str, str] = {
    "widget-marker": f"a cell that shows a widget must start with the line {IGNORE_MARKER!r}",
    "marker-trap": f"{IGNORE_MARKER!r} must be alone on its line (nbval ignores it otherwise)",
    "long-cell": f"a code cell has more than {MAX_CELL_LINES} non-blank lines (one idea per cell)",
    "no-title": "the first cell must be a markdown cell starting with a '# ' title",
    "no-objectives": "a markdown cell near the top must state the objectives (or questions)",
    "no-takeaways": "a markdown cell near the end must list the key points (takeaways)",
}

# Source patterns of cells that create or show widgets (or a widget progress bar).
_WIDGET_SOURCE = re.compile(
    r"\b(Dashboard|TimelinePlayer|interactive|interact|interact_manual)\s*\("
    r"|\bwidgets\.\w+\s*\(|\.display\s*\(\s*\)|\btqdm\b"
)
# A sweep shows a progress bar unless called with progress=False.
_SWEEP = re.compile(r"\bsweep\s*\(")
_NO_PROGRESS = re.compile(r"progress\s*=\s*False")
_ASSIGNED_WIDGET = re.compile(
    r"^\s*(\w+)\s*=\s*(?:\w+\.)*(Dashboard|TimelinePlayer|interactive|widgets\.\w+)\s*\(", re.M
)
_DISPLAYED = re.compile(r"\bdisplay\s*\(\s*(\w+)")
_OBJECTIVES = re.compile(r"\b(objectives?|learning goals?|questions|you will learn)\b", re.I)
_TAKEAWAYS = re.compile(r"\b(key ?points?|take-?aways?|summary|what we learned)\b", re.I)


@dataclass(frozen=True)
class LintIssue:
    """One broken rule: where (notebook, cell index or None for the whole notebook) and why."""

    path: Path
    cell: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f": cell {self.cell}" if self.cell is not None else "")
        return f"{where}: {self.code}: {self.message}"


def find_notebooks(root: Path = REPO, dirs: Iterable[str] = NOTEBOOK_DIRS) -> list[Path]:
    """Every ``*.ipynb`` under ``root/<dir>`` for each dir, sorted, skipping checkpoints."""
    found: list[Path] = []
    for d in dirs:
        base = root / d
        if base.is_dir():
            found += [p for p in base.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts]
    return sorted(found)


def _kernel_env(root: Path = REPO) -> dict[str, str]:
    env = dict(os.environ)
    # The kernel picks the inline backend itself; a leftover MPLBACKEND=Agg would make figure
    # cells print text instead of showing images.
    env.pop("MPLBACKEND", None)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(root) + (os.pathsep + path if path else "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning
    return env


def _stable_ids(nb: nbformat.NotebookNode, stem: str) -> None:
    """Rename widget model ids to stable ones (outputs and any saved widget state)."""
    ids: dict[str, str] = {}

    def rename(model_id: str) -> str:
        return ids.setdefault(model_id, f"eoslib-{stem}-{len(ids) + 1}")

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_MIME)
            if isinstance(view, dict) and "model_id" in view:
                view["model_id"] = rename(view["model_id"])
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME)
    if state:
        for model_id in list(state.get("state", {})):
            rename(model_id)
        text = json.dumps(state)
        for old, new in ids.items():
            text = text.replace(old, new)
        nb.metadata["widgets"][WIDGET_STATE_MIME] = json.loads(text)


def normalize(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Remove or stabilise what changes between runs (see the module docstring)."""
    for n, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = f"cell-{n}"
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if "metadata" in out and out.output_type in ("display_data", "execute_result"):
                    out.metadata.pop("execution", None)
    _stable_ids(nb, re.sub(r"[^A-Za-z0-9_-]", "-", stem))
    nb.metadata.pop("papermill", None)
    return nb


def execute_notebook(
    path: Path | str,
    *,
    timeout: int = CELL_TIMEOUT,
    kernel_name: str = "python3",
    widget_state: bool = False,
    write: bool = True,
) -> nbformat.NotebookNode:
    """Execute one notebook top to bottom in its own folder and (by default) save it in place.

    Raises ``nbclient.exceptions.CellExecutionError`` (the file is then left unchanged).
    """
    from nbclient import NotebookClient

    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=True,  # False trips nbclient 0.11 on Output-widget captures
    )
    client.execute(env=_kernel_env())
    if not widget_state:
        nb.metadata.pop("widgets", None)
    normalize(nb, path.stem)
    if write:
        nbformat.validate(nb)
        text = nbformat.writes(nb) + "\n"
        path.write_text(text, encoding="utf-8")
    return nb


def _first_line(source: str) -> str:
    return source.split("\n", 1)[0].rstrip()


def lint_notebook(path: Path | str, *, max_lines: int = MAX_CELL_LINES) -> list[LintIssue]:
    """Check one notebook against :data:`RULES`; returns the issues found (empty: clean)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    issues: list[LintIssue] = []

    def add(cell: int | None, code: str, detail: str = "") -> None:
        issues.append(LintIssue(path, cell, code, RULES[code] + (f" ({detail})" if detail else "")))

    widget_names: set[str] = set()
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        src = cell.source
        lines = src.split("\n")
        widget_names.update(m.group(1) for m in _ASSIGNED_WIDGET.finditer(src))
        for k, line in enumerate(lines):
            s = line.strip()
            if s.startswith(IGNORE_MARKER) and s != IGNORE_MARKER:
                add(n, "marker-trap", f"line {k + 1}: {s[:60]!r}")
        code_lines = [ln for ln in lines if ln.strip() and ln.strip() != IGNORE_MARKER]
        last = code_lines[-1].strip() if code_lines else ""
        shows_widget = (
            bool(_WIDGET_SOURCE.search(src))
            or bool(_SWEEP.search(src) and not _NO_PROGRESS.search(src))
            or last in widget_names
            or any(m.group(1) in widget_names for m in _DISPLAYED.finditer(src))
            or any(WIDGET_MIME in out.get("data", {}) for out in cell.get("outputs", []))
        )
        if shows_widget and _first_line(src) != IGNORE_MARKER:
            add(n, "widget-marker")
        if len(code_lines) > max_lines:
            add(n, "long-cell", f"{len(code_lines)} lines")

    md = [(n, c.source) for n, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.lstrip().startswith("# "):
        add(0 if first is not None else None, "no-title")
    head = [src for n, src in md if n < 4]
    if not any(_OBJECTIVES.search(src) for src in head):
        add(None, "no-objectives")
    tail_from = max(0, len(nb.cells) - 3)
    if not any(_TAKEAWAYS.search(src) for n, src in md if n >= tail_from):
        add(None, "no-takeaways")
    return issues


def lint_notebooks(paths: Iterable[Path | str] | None = None) -> list[LintIssue]:
    """:func:`lint_notebook` over ``paths`` (default: every course notebook)."""
    return [i for p in (paths if paths is not None else find_notebooks()) for i in
            lint_notebook(p)]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: execute notebooks in place (all by default), then lint them."""
    parser = argparse.ArgumentParser(
        prog="execute-notebooks",
        description="Re-execute the course notebooks in place (deterministic outputs).",
    )
    parser.add_argument("files", nargs="*", type=Path,
                        help="notebooks to execute (default: every notebook in "
                             + " and ".join(f"{d}/" for d in NOTEBOOK_DIRS) + ")")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help="seconds allowed per cell (default %(default)s)")
    parser.add_argument("--widget-state", action="store_true",
                        help="also save the widgets' state in the notebook metadata")
    parser.add_argument("--lint-only", action="store_true",
                        help="only lint, execute nothing")
    parser.add_argument("--no-lint", action="store_true", help="skip the lint step")
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.files] if args.files else find_notebooks()
    missing = [p for p in paths if not p.is_file()]
    if missing:
        parser.error("no such notebook: " + ", ".join(map(str, missing)))
    if not paths:
        print("execute-notebooks: no notebooks found")
        return 0
    failed: list[Path] = []
    if not args.lint_only:
        from nbclient.exceptions import CellExecutionError, CellTimeoutError

        for p in paths:
            rel = p.relative_to(REPO) if p.is_relative_to(REPO) else p
            start = time.perf_counter()
            print(f"execute-notebooks: {rel} ...", end=" ", flush=True)
            try:
                execute_notebook(p, timeout=args.timeout, widget_state=args.widget_state)
            except (CellExecutionError, CellTimeoutError) as exc:
                failed.append(p)
                print("FAILED (file left unchanged)")
                print(str(exc)[-3000:], file=sys.stderr)
                continue
            print(f"ok ({time.perf_counter() - start:.1f} s)")
    issues = [] if args.no_lint else lint_notebooks(paths)
    for issue in issues:
        print(f"lint: {issue}")
    if not args.no_lint:
        print(f"lint: {len(paths)} notebook(s), {len(issues)} issue(s)")
    if failed:
        print(f"execute-notebooks: {len(failed)} notebook(s) failed: "
              + ", ".join(p.name for p in failed))
    return 1 if failed or issues else 0


if __name__ == "__main__":
    sys.exit(main())
