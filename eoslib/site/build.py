"""`build()`: the whole site in one folder, offline; `check()`: is a built site in step?

The site folder holds ``index.html`` (the landing page), ``notebooks/*.html`` (one page per
lesson), ``exercises/*.html`` (questions, no solutions) and ``exercises/index.html``,
``players/*.html`` (one ``eoslib animate`` page per step player), ``data/*.js`` (the
compressed frames of a dashboard recorded over a named subset), ``static/`` (styles and the
one script) and ``site.json`` (what was built from what: every page's notebook and its
SHA-256, the players, the dashboards and their combinations, the size and the build time).
It is written next to the target and swapped in only when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from eoslib.site import components, landing, pages
from eoslib.site.execute import capture_all, code_hash
from eoslib.site.sources import Source, find_sources, sha256

COURSE = "Exactly-once in Apache Kafka"
#: Every page's Content-Security-Policy: nothing from another host, no inline script.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-src 'self'; connect-src 'none'; font-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'")
#: The site must stay below this size (bytes); the build reports it, a test enforces it.
MAX_BYTES = 50 * 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"


class SiteError(Exception):
    """The site cannot be built as asked (a stale notebook, a solution in an exercise...)."""


@dataclass
class Report:
    """What a build made: counts, size and time (also written to ``site.json``)."""

    out: Path
    pages: int = 0
    players: int = 0
    dashboards: int = 0
    combinations: int = 0
    bytes: int = 0
    seconds: float = 0.0
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The build's summary, one fact per line."""
        return [f"site: {self.pages} pages, {self.players} step players, {self.dashboards} "
                f"dashboards ({self.combinations} recorded combinations)",
                f"site: notebooks run for their widgets: {len(self.executed)} "
                f"(from cache: {len(self.cached)})",
                f"site: {self.bytes / 1e6:.1f} MB in {self.out}, built in {self.seconds:.1f} s",
                f"site: open it with: python -m http.server -d {self.out} 8000"]


def _lab_css() -> str:
    """JupyterLab's notebook styles (nbconvert's lab template) and the code colours."""
    from jupyter_core.paths import jupyter_path
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from pygments.formatters import HtmlFormatter

    for base in jupyter_path("nbconvert", "templates"):
        static = Path(base) / "lab" / "static"
        if (static / "index.css").exists():
            break
    else:  # pragma: no cover - nbconvert installs it
        raise SiteError("nbconvert's lab template styles (lab/static/index.css) are missing")
    css = [(static / "index.css").read_text(encoding="utf-8"),
           (static / "theme-light.css").read_text(encoding="utf-8")]
    style = CSSHTMLHeaderPreprocessor().style  # the colours nbconvert's lab pages use
    css.append(HtmlFormatter(style=style).get_style_defs(".highlight"))
    text = "\n".join(css)
    if re.search(r"url\(\s*['\"]?(https?:)?//", text) or "@import" in text:
        raise SiteError("nbconvert's styles load something from another host")
    return text


def _nav(sources: list[Source], here: str) -> list[dict[str, Any]]:
    base = os.path.dirname(here)
    sections = []
    for kind, title in (("lesson", "Lessons"), ("exercise", "Exercises")):
        items = [{"href": os.path.relpath(s.page, base or "."), "title": s.title,
                  "current": s.page == here} for s in sources if s.kind == kind]
        sections.append({"title": title, "items": items})
    return sections


def _link(page: str, here: str, title: str) -> dict[str, str]:
    return {"href": os.path.relpath(page, os.path.dirname(here) or "."), "title": title}


def _banner(s: Source, root: str) -> str:
    run = f'<a href="{root}index.html#run">how</a>'
    if s.kind == "exercise":
        return ("<p><b>An exercise, to answer in the live notebook.</b> Write your answer in "
                "each answer cell and run the check cell under it: the simulator grades it "
                f"there. Solutions are not published on this site. Open it with "
                f"<code>bash scripts/course</code> ({run}), file <code>{s.rel}</code>.</p>")
    return (f"<p><b>A recorded copy of <code>{s.rel}</code></b>: its text, code and outputs "
            "as committed (the course's tests re-run the notebook and compare every output). "
            "Dashboards and step players replay runs of the <code>eoslib</code> simulator "
            "recorded when this site was built; nothing runs in your browser.</p>"
            "<p><b>Run it live</b> to change any value or to write your own code: from the "
            f"course's repository, <code>bash scripts/course</code> opens it in JupyterLab "
            f"({run}).</p>")


class _Widgets:
    """Turns one page's captured widgets into HTML, copying player pages into the site."""

    def __init__(self, s: Source, folder: Path | None, out: Path) -> None:
        self.s, self.folder, self.out = s, folder, out
        self.players: list[dict[str, Any]] = []
        self.dashboards: list[dict[str, Any]] = []
        self.predictions = 0

    def __call__(self, ref: dict[str, Any], cell: int) -> str:
        assert self.folder is not None
        data = json.loads((self.folder / f"{ref['ref']}.json").read_text(encoding="utf-8"))
        if "error" in data:
            raise SiteError(f"{self.s.rel}: cell {cell}: recording its {ref['kind']} failed: "
                            f"{data['error']}")
        if ref["kind"] == "dashboard":
            n = len(self.dashboards) + 1
            entry = {"id": f"dashboard-{n}", "scenario": data["scenario"],
                     "controls": {c["name"]: c["values"] for c in data["controls"]},
                     "combinations": len(data.get("frames", ())),
                     "too_many": data.get("too_many", 0)}
            pack_src = None
            if "pack" in data:  # a recorded subset: its frames in a file of its own
                name = f"data/{data['pack']['id']}.js"
                (self.out / "data").mkdir(exist_ok=True)
                shutil.copyfile(self.folder / data["pack"]["file"], self.out / name)
                data["pack"]["file_bytes"] = (self.out / name).stat().st_size
                pack_src = os.path.relpath(name, os.path.dirname(self.s.page))
                entry.update(combinations=data["pack"]["combinations"], pack=name)
            if "subset" in data:
                entry.update(subset=data["subset"]["name"], added=data["subset"]["added"],
                             refused=data["subset"]["refused"])
            self.dashboards.append(entry)
            return components.dashboard(data, n, pack_src=pack_src, source=self.s.rel)
        if ref["kind"] == "player":
            n = len(self.players) + 1
            page = self.folder / data["file"]
            name = f"{sha256(page)[:16]}.html"  # the same run shown twice is stored once
            (self.out / "players").mkdir(exist_ok=True)
            if not (self.out / "players" / name).exists():  # the first lesson that shows it
                (self.out / "players" / name).write_text(
                    components.player_page(page.read_text(encoding="utf-8"), self.s.title,
                                             os.path.relpath(self.s.page, "players"),
                                             f"player-{n}"), encoding="utf-8")
            self.players.append({"id": f"player-{n}", "file": f"players/{name}",
                                 "start": data["start"], "steps": data["steps"],
                                 "scenario": data["scenario"],
                                 "of_dashboard": bool(data.get("of_dashboard"))})
            src = os.path.relpath(f"players/{name}", os.path.dirname(self.s.page))
            return components.player(data, src, n,
                                     after_dashboard=bool(data.get("of_dashboard")))
        self.predictions += 1
        return components.prediction(data, self.predictions)


def build(root: Path, out: Path, *, cache: Path | None = None, jobs: int | None = None,
          repo_url: str | None = None) -> Report:
    """Build the site of the course at ``root`` into ``out`` (replaced when done)."""
    started = time.perf_counter()
    root, out = root.resolve(), out.resolve()
    cache = (cache or root / "_build" / "cache" / "site").resolve()
    try:
        sources = find_sources(root)
    except ValueError as exc:
        raise SiteError(str(exc)) from None
    site_pages = {s.page for s in sources} | {"index.html", "exercises/index.html"}
    jobs = jobs or min(2, os.cpu_count() or 1)
    need = [s.path for s in sources if s.has_widgets]
    code = code_hash()
    before = {p for p in need if _cached(p, cache, code)}
    captures = capture_all(need, cache, root, jobs=jobs)
    report = Report(out=out, executed=[p.name for p in need if p not in before],
                    cached=[p.name for p in need if p in before])

    tmp = out.with_name(out.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "static").mkdir(parents=True)
    (tmp / "static" / "jupyterlab.css").write_text(_lab_css(), encoding="utf-8")
    for f in STATIC.iterdir():
        shutil.copyfile(f, tmp / "static" / f.name)
    exp = pages.exporter()
    manifest: list[dict[str, Any]] = []
    stats: dict[str, dict[str, int]] = {}
    order = {kind: [s for s in sources if s.kind == kind] for kind in ("lesson", "exercise")}
    for s in sources:
        folder, refs = captures.get(s.path, (None, {}))
        widgets = _Widgets(s, folder, tmp)
        nb = nbformat.read(s.path, as_version=4)
        try:
            nb = pages.prepare(nb, s, refs, widgets, site_pages, root, repo_url)
        except pages.StaleNotebook as exc:
            raise SiteError(str(exc)) from None
        same = order[s.kind]
        i = same.index(s)
        rootrel = "../" * s.page.count("/")
        related = None
        if s.kind == "lesson" and s.exercise in site_pages:
            ex = next(e for e in order["exercise"] if e.page == s.exercise)
            related = _link(ex.page, s.page, "Exercise: " + ex.title)
        elif s.kind == "exercise":
            lesson = next((x for x in order["lesson"] if x.exercise == s.page), None)
            if lesson:
                related = _link(lesson.page, s.page, "Lesson: " + lesson.title)
        context = {"csp": CSP, "root": rootrel, "course": COURSE, "title": s.title,
                   "kind": s.kind, "source": s.rel, "sha256": s.sha256,
                   "nav": _nav(sources, s.page), "banner": _banner(s, rootrel),
                   "prev": _link(same[i - 1].page, s.page, same[i - 1].title) if i else None,
                   "next": (_link(same[i + 1].page, s.page, same[i + 1].title)
                            if i + 1 < len(same) else None),
                   "related": related}
        target = tmp / s.page
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pages.render(nb, context, exp), encoding="utf-8")
        combos = sum(d["combinations"] for d in widgets.dashboards)
        stats[s.rel] = {"players": len(widgets.players), "dashboards": len(widgets.dashboards),
                        "combinations": combos}
        manifest.append({"page": s.page, "source": s.rel, "sha256": s.sha256, "kind": s.kind,
                         "title": s.title, "players": widgets.players,
                         "dashboards": widgets.dashboards, "predictions": widgets.predictions})
        report.players += len(widgets.players)
        report.dashboards += len(widgets.dashboards)
        report.combinations += combos
    env = landing.environment()
    for page, kind, title, body in (
        ("index.html", "home", COURSE,
         landing.landing_body(sources, stats, site_pages, root, COURSE, repo_url,
                              landing.teaser(manifest))),
        ("exercises/index.html", "exercises", "Exercises", landing.exercises_body(sources)),
    ):
        rootrel = "../" * page.count("/")
        context = {"csp": CSP, "root": rootrel, "course": COURSE, "title": title, "kind": kind,
                   "source": None, "sha256": None, "nav": _nav(sources, page), "body": body,
                   "prev": None, "next": None, "related": None}
        (tmp / page).write_text(env.get_template("page.html.j2").render(eos=context),
                                encoding="utf-8")
    report.pages = len(sources) + 2
    report.bytes = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    report.seconds = time.perf_counter() - started
    summary = {"generator": "eoslib site", "code_sha256": code, "pages": manifest,
               "players": report.players, "dashboards": report.dashboards,
               "combinations": report.combinations, "bytes": report.bytes,
               "build_seconds": round(report.seconds, 1), "executed": report.executed,
               "cached": report.cached}
    (tmp / "site.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if report.bytes > MAX_BYTES:
        raise SiteError(f"the site is {report.bytes / 1e6:.1f} MB, over the "
                        f"{MAX_BYTES / 1e6:.0f} MB limit (left in {tmp})")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return report


def _cached(path: Path, cache: Path, code: str) -> bool:
    import hashlib

    key = hashlib.sha256(path.read_bytes() + code.encode()).hexdigest()[:32]
    return (cache / f"{path.stem}-{key}" / "refs.json").exists()


def check(root: Path, out: Path) -> list[str]:
    """What makes the site at ``out`` older than the notebooks at ``root`` (empty: in step).

    Compares the SHA-256 each page stores with its notebook's, and the set of pages with
    the set of notebooks."""
    root, out = root.resolve(), out.resolve()
    manifest = out / "site.json"
    if not manifest.exists():
        return [f"{out} holds no built site (no site.json): run bash scripts/site"]
    problems = []
    sources = {s.rel: s for s in find_sources(root)}
    built = {p["source"]: p for p in json.loads(manifest.read_text())["pages"]}
    for rel in sorted(set(sources) - set(built)):
        problems.append(f"{rel} has no page")
    for rel in sorted(set(built) - set(sources)):
        problems.append(f"{built[rel]['page']} is built from {rel}, which no longer exists")
    for rel in sorted(set(sources) & set(built)):
        page = out / built[rel]["page"]
        stored = _stored_hash(page)
        if stored != sha256(root / rel):
            problems.append(f"{built[rel]['page']} is older than {rel} (page sha256 "
                            f"{(stored or 'missing')[:12]}, notebook {sources[rel].sha256[:12]})")
    return problems


_META = re.compile(r'<meta\s+content="([0-9a-f]{64})"\s+name="eoslib:source-sha256"'
                   r'|<meta\s+name="eoslib:source-sha256"\s+content="([0-9a-f]{64})"')


def _stored_hash(page: Path) -> str | None:
    """The notebook SHA-256 a page stores in its ``<meta name="eoslib:source-sha256">``."""
    if not page.exists():
        return None
    m = _META.search(page.read_text(encoding="utf-8"))
    return (m.group(1) or m.group(2)) if m else None
