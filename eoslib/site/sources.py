"""What the site is made of: the lesson and exercise notebooks, their order, titles and hashes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: Folders whose notebooks become pages, with the kind of page. ``solutions/`` never does.
SECTIONS: tuple[tuple[str, str], ...] = (("notebooks", "lesson"), ("exercises", "exercise"))
#: A cell holding this is a solution: a page with one is refused (exercises are solution-free).
SOLUTION_MARKER = "### BEGIN SOLUTION"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?[^)]*\)")


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (a page stores its notebook's, to prove it is in step)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _title_and_summary(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The first ``# `` heading of the first markdown cell, and the paragraph after it."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.strip().split("\n")
        if not lines or not lines[0].startswith("# "):
            continue
        title = lines[0][2:].strip()
        paras = "\n".join(lines[1:]).strip().split("\n\n")
        summary = next((p.strip() for p in paras if p.strip() and not p.lstrip().startswith("#")),
                       "")
        return title, summary
    return "", ""


@dataclass
class Source:
    """One notebook that becomes one page."""

    path: Path          # absolute
    rel: str            # repository-relative, POSIX (e.g. "notebooks/01-duplicates.ipynb")
    kind: str           # "lesson" or "exercise"
    title: str
    summary: str        # markdown
    sha256: str
    links: list[str] = field(default_factory=list)  # repo-relative .ipynb files it links to
    has_widgets: bool = False

    @property
    def page(self) -> str:
        """The page's path in the site folder (same folders as the repository)."""
        return self.rel.removesuffix(".ipynb") + ".html"

    @property
    def stem(self) -> str:
        return Path(self.rel).stem

    @property
    def exercise(self) -> str | None:
        """The first exercise notebook a lesson links to (its page), if any."""
        return next((r.removesuffix(".ipynb") + ".html" for r in self.links
                     if r.startswith("exercises/")), None)


def read_source(root: Path, path: Path, kind: str) -> Source:
    """Read one notebook; refuses an exercise page that holds a solution."""
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(root).as_posix()
    if kind == "exercise" and any(SOLUTION_MARKER in c.source for c in nb.cells):
        raise ValueError(f"{rel} holds a solution ({SOLUTION_MARKER!r}): the site publishes "
                         "exercises without solutions; regenerate them with "
                         "`bash scripts/make-exercises`")
    title, summary = _title_and_summary(nb)
    links = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for target in _LINK.findall(cell.source):
                target = target.split("#", 1)[0]
                if target.endswith(".ipynb") and "://" not in target:
                    resolved = (path.parent / target).resolve()
                    if resolved.is_relative_to(root):
                        links.append(resolved.relative_to(root).as_posix())
    widgets = any(WIDGET_MIME in o.get("data", {}) for c in nb.cells
                  for o in c.get("outputs", []))
    return Source(path=path, rel=rel, kind=kind, title=title or path.stem, summary=summary,
                  sha256=sha256(path), links=links, has_widgets=widgets)


def find_sources(root: Path) -> list[Source]:
    """Every lesson (``notebooks/``), then every exercise (``exercises/``), by file name."""
    out = []
    for folder, kind in SECTIONS:
        for p in sorted((root / folder).glob("*.ipynb")):
            out.append(read_source(root, p, kind))
    if not any(s.kind == "lesson" for s in out):
        raise ValueError(f"no notebooks in {root / 'notebooks'}: is {root} the course's "
                         "repository?")
    return out
