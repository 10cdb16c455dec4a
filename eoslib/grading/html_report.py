"""The class report: one self-contained HTML file an instructor opens after ``eoslib grade``.

:func:`class_report` returns the page; ``eoslib grade DIR --report report.html`` writes it.
It holds, with inline SVG pictures and no script, style sheet or image from anywhere else
(a Content-Security-Policy forbids any network request):

* the class at a glance (submissions, mean score, files that could not be graded, flags);
* per question, the distribution of scores (bars, with counts written on them; full marks
  solid, partial dotted, zero hatched, so nothing relies on colour);
* the most frequent failure reasons (pids, paths and numbers of seconds normalised);
* which fault schedules broke the most answers ("fails on schedule [...]" in the reasons);
* the flagged submissions (borrowed or copied reference code, tampering, limits broken,
  originals modified during grading, files that could not be graded), each with its reason.

Everything that comes from a submission (file names, reasons quoting exceptions) is
HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from pathlib import Path

from .questions import format_points
from .results import NotebookGrade, QuestionGrade

#: Colour-blind-safe colours (Okabe & Ito 2008); shapes and text carry the meaning too.
FULL_COLOUR, PARTIAL_COLOUR, ZERO_COLOUR, INK = "#0072B2", "#E69F00", "#D55E00", "#222222"
TOP_REASONS = 15
TOP_SCHEDULES = 10

#: Reasons that put a submission on the instructor's list (substring -> why, in words).
FLAG_MARKS: dict[str, str] = {
    "uses eoslib's reference implementation": "borrowed the reference implementation",
    "same as the reference implementation": "same as the reference implementation",
    "submission modified eoslib": "modified eoslib while graded",
    "a process it started was still running": "left a process running",
    "used more than": "hit the memory limit",
    "grader worker died": "killed the grader's worker",
    "carried a verdict": "forged a verdict",
    "a replay or forgery of the grader's channel": "replayed or forged a grader message",
    "patched the kernel's channel": "patched the channel to the grader",
    "the answer was not graded: ": "answer refused by the judge's rules",
    "modified eoslib while it was graded": "modified eoslib in the judge",
}

_SCHEDULE = re.compile(r"fails on (schedule \[[^\]]*\])")
_PID = re.compile(r"\bpid \d+")
_PATH = re.compile(r"(?:/[^\s/:;,()'\"]+){2,}")
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? s\b")

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;text-align:left;
vertical-align:top;border-bottom:1px solid #eee}th{background:#f4f4f4}
.num{text-align:right;font-variant-numeric:tabular-nums}.q{display:inline-block;margin:0 1.5em
1em 0;vertical-align:top}figcaption{font-size:.9em}.muted{color:#555}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def normalise_reason(reason: str) -> str:
    """The reason with what varies between students removed (pids, paths, seconds, trace)."""
    text = reason.split(" Checker:")[0].split("\n")[0].strip()
    text = _PID.sub("pid N", text)
    text = _PATH.sub("PATH", text)
    text = _SECONDS.sub("N s", text) if "limit" not in text else text
    return text if len(text) <= 160 else text[:159] + "…"


def _patterns() -> str:
    return (
        "<defs>"
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{ZERO_COLOUR}" stroke-width="3"/></pattern>'
        '<pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="{PARTIAL_COLOUR}"/>'
        '<circle cx="2.5" cy="2.5" r="1.1" fill="#fff"/></pattern>'
        "</defs>"
    )


def _fill(score: float, max_score: float) -> str:
    if score >= max_score:
        return FULL_COLOUR
    return "url(#hatch)" if score <= 0 else "url(#dots)"


def score_histogram(title: str, scores: list[float], max_score: float) -> str:
    """An inline SVG: one bar per score reached, its count written above it.

    Partial and zero bars use the patterns ``#dots`` and ``#hatch`` the page defines once.
    """
    counts = Counter(scores)
    values = sorted(set(counts) | {0.0, float(max_score)})
    bar, gap, height, top, bottom = 34, 10, 110, 24, 34
    width = max(200, len(values) * (bar + gap) + gap)
    peak = max(counts.values(), default=1)
    words = ", ".join(f"{counts.get(v, 0)} scored {format_points(v)}" for v in values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + bottom}"'
        f' role="img" aria-label="{_e(title)}: {_e(words)}">',
        f"<title>{_e(title)}: {_e(words)}</title>",
    ]
    for i, value in enumerate(values):
        n = counts.get(value, 0)
        h = 0 if peak == 0 else round(height * n / peak)
        x, y = gap + i * (bar + gap), top + height - h
        parts.append(
            f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{_fill(value, max_score)}" '
            f'stroke="{INK}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{y - 5}" text-anchor="middle" font-size="12">{n}</text>'
        )
        parts.append(
            f'<text x="{x + bar / 2}" y="{top + height + 15}" text-anchor="middle" '
            f'font-size="12">{_e(format_points(value))}</text>'
        )
    parts.append(
        f'<text x="{width / 2}" y="{top + height + 30}" text-anchor="middle" font-size="11" '
        f'fill="#555">points (of {_e(format_points(max_score))})</text>'
    )
    parts.append(
        f'<line x1="{gap / 2}" y1="{top + height}" x2="{width - gap / 2}" y2="{top + height}" '
        f'stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _bar(count: int, peak: int, label: str) -> str:
    width = 160
    w = 0 if peak == 0 else max(2, round(width * count / peak))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 40}" height="16" role="img" '
        f'aria-label="{_e(label)}"><rect x="0" y="2" width="{w}" height="12" '
        f'fill="{ZERO_COLOUR}" stroke="{INK}" stroke-width="0.5"/>'
        f'<text x="{w + 4}" y="13" font-size="11">{count}</text></svg>'
    )


def _questions(grades: list[NotebookGrade]) -> dict[str, list[QuestionGrade]]:
    by_id: dict[str, list[QuestionGrade]] = defaultdict(list)
    for grade in grades:
        if grade.error is None:
            for q in grade.questions:
                by_id[q.id].append(q)
    return dict(sorted(by_id.items()))


def flagged(grades: list[NotebookGrade]) -> list[tuple[str, str, str]]:
    """(notebook, what, detail) for every submission the instructor should look at."""
    rows = []
    for grade in grades:
        if grade.error:
            rows.append((grade.notebook, "not graded", grade.error))
        rows += [(grade.notebook, "flag", flag) for flag in grade.flags]
        for q in grade.questions:
            for mark, words in FLAG_MARKS.items():
                if mark in q.reason and not (grade.error and q.reason.endswith(grade.error)):
                    rows.append((grade.notebook, f"{q.id}: {words}", q.reason))
                    break
    return rows


def _reason_rows(grades: list[NotebookGrade]) -> list[tuple[str, int, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for grade in grades:
        if grade.error:
            counts[("(whole notebook)", normalise_reason(grade.error))] += 1
            continue
        for q in grade.questions:
            if q.score < q.max_score and q.reason:
                counts[(q.id, normalise_reason(q.reason))] += 1
    return [(qid, n, reason) for (qid, reason), n in counts.most_common(TOP_REASONS)]


def _schedule_rows(grades: list[NotebookGrade]) -> list[tuple[str, int, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for grade in grades:
        for q in grade.questions:
            match = _SCHEDULE.search(q.reason) if q.score < q.max_score else None
            if match:
                counts[(q.id, match.group(1))] += 1
    return [(qid, n, schedule) for (qid, schedule), n in counts.most_common(TOP_SCHEDULES)]


def _counted_table(rows: list[tuple[str, int, str]], what: str, empty: str) -> list[str]:
    if not rows:
        return [f'<p class="muted">{_e(empty)}</p>']
    peak = max(n for _, n, _ in rows)
    out = [f"<table><tr><th>question</th><th>answers</th><th>{_e(what)}</th></tr>"]
    for qid, n, text in rows:
        label = f"{n} answers of {qid}: {text}"
        out.append(f"<tr><td>{_e(qid)}</td><td>{_bar(n, peak, label)}</td><td>{_e(text)}</td></tr>")
    out.append("</table>")
    return out


def class_report(grades: list[NotebookGrade], *, title: str = "Class report") -> str:
    """The whole HTML page for ``grades`` (see the module docstring)."""
    graded = [g for g in grades if g.error is None]
    flags = flagged(grades)
    mean = sum(g.score for g in graded) / len(graded) if graded else 0.0
    best = max((g.max_score for g in graded), default=0.0)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        '<svg width="0" height="0" style="position:absolute" aria-hidden="true">',
        _patterns(),
        "</svg>",
        f"<h1>{_e(title)}</h1>",
        "<p>"
        f"{len(grades)} submissions; {len(graded)} graded, {len(grades) - len(graded)} could "
        f"not be graded; mean score {mean:.2f} of {format_points(best)}; "
        f"{len({row[0] for row in flags})} submissions flagged.</p>",
        "<h2>Total scores</h2>",
        f'<figure class="q">{score_histogram("Total", [g.score for g in graded], best)}'
        "<figcaption>Total points per submission (graded ones).</figcaption></figure>",
        "<h2>Scores per question</h2>",
        '<p class="muted">Bars: full marks solid, partial dotted, zero hatched; the number '
        "above a bar is how many submissions got that score.</p>",
    ]
    for qid, answers in _questions(grades).items():
        max_score = max(q.max_score for q in answers)
        full = sum(1 for q in answers if q.score >= q.max_score)
        svg = score_histogram(qid, [q.score for q in answers], max_score)
        out.append(
            f'<figure class="q">{svg}<figcaption><b>{_e(qid)}</b>: {full} of {len(answers)} '
            "full marks</figcaption></figure>"
        )
    out.append("<h2>Most frequent failure reasons</h2>")
    out += _counted_table(_reason_rows(grades), "reason", "No answer lost points.")
    out.append("<h2>Fault schedules that broke the most answers</h2>")
    out += _counted_table(
        _schedule_rows(grades), "schedule", "No answer failed under a fault schedule."
    )
    out.append("<h2>Flagged submissions</h2>")
    if flags:
        out.append("<table><tr><th>submission</th><th>what</th><th>detail</th></tr>")
        for notebook, what, detail in flags:
            short = detail if len(detail) <= 400 else detail[:399] + "…"
            out.append(
                f"<tr><td>{_e(Path(notebook).name)}</td><td>{_e(what)}</td>"
                f"<td>{_e(short)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append('<p class="muted">Nothing to look at.</p>')
    out.append("</body></html>")
    return "\n".join(out)


def write_report(grades: list[NotebookGrade], path: Path, *, title: str = "Class report") -> None:
    """Write :func:`class_report` to ``path`` (UTF-8)."""
    path.write_text(class_report(grades, title=title), encoding="utf-8")
