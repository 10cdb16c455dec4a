"""The pages that are not notebooks: the landing page and the exercises' index."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2

from eoslib.site.pages import TEMPLATES, rewrite_links
from eoslib.site.sources import Source


def environment() -> jinja2.Environment:
    """Jinja for the site's own pages (the partials are the notebook template's)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES / "eos"), str(TEMPLATES)]),
        autoescape=False, keep_trailing_newline=True)


def _md(text: str) -> str:
    from nbconvert.filters import markdown2html

    return markdown2html(text)


def teaser(manifest: list[dict[str, Any]]) -> str:
    """The first step player of the course, for the landing page ('' if there is none)."""
    from eoslib.site.components import player

    for page in manifest:
        if page["kind"] == "lesson" and page["players"]:
            pl = page["players"][0]
            return (f'<h2 id="see">See it first</h2><p>The first step player of '
                    f'<a href="{html.escape(page["page"])}">{html.escape(page["title"])}</a>, '
                    "as that lesson shows it: a recorded run, event by event, with the log "
                    "and the messages side by side.</p>"
                    + player({**pl, "source": "StepPlayer"}, pl["file"], 1))
    return ""


def landing_body(sources: list[Source], stats: dict[str, dict[str, int]], pages: set[str],
                 root: Path, course: str, repo_url: str | None, first_player: str = "") -> str:
    """The landing page's HTML (inside ``<main>``); ``stats`` per source: players,
    dashboards, combinations; ``first_player`` the :func:`teaser`."""
    exercise_titles = {s.page: s.title for s in sources if s.kind == "exercise"}
    lessons: list[dict[str, Any]] = []
    for s in sources:
        if s.kind != "lesson":
            continue
        summary = _md(rewrite_links(s.summary, s.rel, pages, root, repo_url, page_dir=""))
        st = stats.get(s.rel, {})
        ex = s.exercise if s.exercise in exercise_titles else None
        lessons.append({"page": s.page, "title": s.title, "summary_html": summary,
                        "players": st.get("players", 0), "dashboards": st.get("dashboards", 0),
                        "combinations": st.get("combinations", 0),
                        "exercise": ({"href": ex, "title": exercise_titles[ex]} if ex else None)})
    total = {k: sum(st.get(k, 0) for st in stats.values())
             for k in ("players", "dashboards", "combinations")}
    return environment().get_template("landing.html.j2").render(
        course=course, lessons=lessons, teaser=first_player,
        exercises=[s for s in sources if s.kind == "exercise"], repo_url=repo_url, **total)


def exercises_body(sources: list[Source]) -> str:
    """The exercises' index (inside ``<main>``), each with the lesson that links it."""
    by_page = {s.exercise: s for s in sources if s.kind == "lesson" and s.exercise}
    rows = []
    for s in sources:
        if s.kind != "exercise":
            continue
        lesson = by_page.get(s.page)
        after = (f' — after <a href="../{html.escape(lesson.page)}">{html.escape(lesson.title)}'
                 "</a>" if lesson else "")
        rows.append(f'<li><a href="{html.escape(Path(s.page).name)}">{html.escape(s.title)}'
                    f"</a>{after}</li>")
    return ("<h1>Exercises</h1><p>Each exercise follows a lesson. Its questions are graded by "
            "the simulator when you run the check cells in the live notebook "
            '(<a href="../index.html#run">how to run it</a>). Solutions are not published '
            f'here.</p><ol class="eos-exercises">{"".join(rows)}</ol>')
