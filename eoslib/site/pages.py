"""One notebook as one page: its committed outputs, widgets replaced by players, links rewritten.

The page is rendered by nbconvert with the site's template (``templates/eos``), which loads
nothing from another host. Markdown links to other notebooks point at their pages; links to
files the site does not hold become plain text naming the file (or a link into the
repository, given ``repo_url``). ``# NBVAL_...`` marker lines (test plumbing) are not shown.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from eoslib.site import components
from eoslib.site.sources import WIDGET_MIME, Source

TEMPLATES = Path(__file__).resolve().parent / "templates"
_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+\"[^\"]*\")?\s*\)")
_HREF = re.compile(r'href="([^"#:][^":]*)"')
_MARKER = re.compile(r"^\s*# NBVAL_[A-Z_]+\s*$")
#: A course widget's text, as its repr (``Dashboard('pipeline', ...)``) or as the line it
#: shows without a kernel (``[Dashboard 'pipeline': run this cell ...]``, ``Predict: ...``).
_COURSE_WIDGET = re.compile(r"^\[?(Dashboard|StepPlayer|TimelinePlayer)\W{1,3}'([^']*)'"
                            r"|^(Predict):|^VBox\(children=\(HTML\(value=.<b>(Predict):")
_KINDS = {"Dashboard": "dashboard", "StepPlayer": "player", "TimelinePlayer": "player",
          "Predict": "prediction"}
#: Rich fallbacks a widget's output may carry, kept (in this order) when it is not replayed.
_STATIC = ("image/svg+xml", "image/png", "text/html")


def signature(text: str) -> tuple[str, str] | None:
    """(kind, scenario) of a course widget's output text; None for any other widget."""
    m = _COURSE_WIDGET.match(text)
    if m is None:
        return None
    name = m.group(1) or m.group(3) or m.group(4)
    return _KINDS[name], m.group(2) or ""


def _other_widget(out: Any, text: str) -> list[Any]:
    """What stands for a widget the site does not replay: its static picture or HTML if it
    has one, else a line saying it needs a kernel (nothing for a progress bar)."""
    data = {k: out["data"][k] for k in _STATIC if k in out["data"]}
    if data:
        data["text/plain"] = text
        return [nbformat.v4.new_output("display_data", data=data)]
    note = components.other_widget(text)
    return [] if note is None else [_html_output(note)]


class StaleNotebook(Exception):
    """A notebook's committed outputs differ from a fresh run: it must be re-executed."""


def _target(source_rel: str, target: str, pages: set[str], root: Path,
            repo_url: str | None, page_dir: str | None = None) -> tuple[str | None, str]:
    """(new href or None to unlink, the repository path) for a relative link target written
    in ``source_rel`` and shown on a page in folder ``page_dir`` (default: the source's)."""
    path, _, anchor = target.partition("#")
    here = posixpath.dirname(source_rel)
    resolved = posixpath.normpath(posixpath.join(here, path)) if path else source_rel
    page = posixpath.dirname(source_rel) if page_dir is None else page_dir
    frag = f"#{anchor}" if anchor else ""
    candidates = [resolved.removesuffix(".ipynb") + ".html", resolved,
                  posixpath.join(resolved, "index.html")]
    for c in candidates:
        if c in pages:
            return posixpath.relpath(c, page or ".") + frag, resolved
    if repo_url and not resolved.startswith("..") and (root / resolved).exists():
        kind = "tree" if (root / resolved).is_dir() else "blob"
        return f"{repo_url.rstrip('/')}/{kind}/HEAD/{resolved}{frag}", resolved
    return None, resolved


def rewrite_links(text: str, source_rel: str, pages: set[str], root: Path,
                  repo_url: str | None = None, page_dir: str | None = None) -> str:
    """Point a markdown cell's relative links at the site's pages (see module docstring)."""
    def md(m: re.Match[str]) -> str:
        bang, label, target, title = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if "://" in target or target.startswith(("#", "mailto:")):
            return m.group(0)
        href, resolved = _target(source_rel, target, pages, root, repo_url, page_dir)
        if href is not None:
            return f"{bang}[{label}]({href}{title})"
        if bang:
            return f"*(picture `{resolved}`: in the repository)*"
        return f"{label} (`{resolved}` in the course's repository)"

    def raw(m: re.Match[str]) -> str:
        href, _ = _target(source_rel, m.group(1), pages, root, repo_url, page_dir)
        return f'href="{href}"' if href is not None else 'href="#live"'

    return _HREF.sub(raw, _MD_LINK.sub(md, text))


def _strip_markers(source: str) -> str:
    lines = [ln for ln in source.split("\n") if not _MARKER.match(ln)]
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def _html_output(html: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/html": html})


def _text(data: dict[str, Any]) -> str:
    t = data.get("text/plain", "")
    return "".join(t) if isinstance(t, list) else t


#: What a page says where a notebook's reveal says no guess was recorded (the page's box
#: above answers a pick itself; there is no cell to run again).
SITE_NO_GUESS = " (Pick an answer in the box above: the page marks it.)"


def _no_guess_here(out: Any) -> Any:
    from eoslib.lessons.predict import NO_GUESS

    if out.get("output_type") == "stream" and NO_GUESS in "".join(out.get("text", "")):
        out["text"] = "".join(out["text"]).replace(NO_GUESS, SITE_NO_GUESS)
    return out


def prepare(nb: nbformat.NotebookNode, source: Source, refs: dict[str, list[dict[str, Any]]],
            widget_html: Callable[[dict[str, Any], int], str], pages: set[str], root: Path,
            repo_url: str | None = None) -> nbformat.NotebookNode:
    """A copy of ``nb`` ready to render: each committed widget output replaced by
    ``widget_html(ref, n)`` when the fresh run captured it, else by a note; markdown links
    rewritten; marker lines dropped. Raises :class:`StaleNotebook` when a captured widget
    does not match the committed output (the notebook must be re-executed)."""
    nb = copy.deepcopy(nb)
    for n, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, source.rel, pages, root, repo_url)
            continue
        if cell.cell_type != "code":
            continue
        cell.source = _strip_markers(cell.source)
        queue = list(refs.get(cell.get("id") or f"cell-{n}", []))
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME not in data:
                outputs.append(_no_guess_here(out))
                continue
            text = _text(data)
            if queue and (queue[0]["text"] == text or
                          signature(text) == signature(queue[0]["text"]) is not None):
                outputs.append(_html_output(widget_html(queue.pop(0), n)))
                continue
            if signature(text) is not None:
                raise StaleNotebook(
                    f"{source.rel}: cell {n} (id {cell.get('id')}): its committed output shows "
                    f"{text[:120]!r}, which a fresh run does not display: re-execute it "
                    f"(bash scripts/execute-notebooks {source.rel})")
            outputs += _other_widget(out, text)
        if queue:
            raise StaleNotebook(
                f"{source.rel}: cell {n} (id {cell.get('id')}): a fresh run displays "
                f"{queue[0]['text'][:120]!r}, which its committed outputs do not show: "
                f"re-execute it (bash scripts/execute-notebooks {source.rel})")
        cell.outputs = outputs
    return nb


def exporter() -> Any:
    """nbconvert's HTML exporter with the site's template (no prompts, nothing remote)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="eos",
                        exclude_input_prompt=True, exclude_output_prompt=True,
                        exclude_anchor_links=False, sanitize_html=False)


def render(nb: nbformat.NotebookNode, context: dict[str, Any], exp: Any = None) -> str:
    """The page's HTML; ``context`` is what the template reads as ``resources.eos``."""
    exp = exp or exporter()
    body, _ = exp.from_notebook_node(nb, resources={"eos": context})
    return body
