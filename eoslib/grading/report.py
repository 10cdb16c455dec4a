"""Human-readable tables, JSON and gradebook CSV for a list of grades."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .questions import format_points
from .results import NotebookGrade


def to_json(grades: list[NotebookGrade]) -> str:
    """The JSON list of :meth:`NotebookGrade.to_json` objects."""
    return json.dumps([g.to_json() for g in grades], indent=2, ensure_ascii=False)


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(grades: list[NotebookGrade]) -> str:
    """Per notebook: a header line with the total, then one line per question."""
    lines = []
    for grade in grades:
        total = f"{format_points(grade.score)}/{format_points(grade.max_score)}"
        restarted = f", kernel restarted {grade.restarts}x" if grade.restarts else ""
        lines.append(
            f"{grade.notebook}  [{grade.exercise or '?'}]  {total}  ({grade.seconds:.1f} s"
            f"{restarted})"
        )
        if grade.error:
            lines.append(f"  ERROR: {grade.error}")
        for q in grade.questions:
            points = f"{format_points(q.score)}/{format_points(q.max_score)}"
            mark = "✔" if q.score >= q.max_score else "✘"
            reason = f"  {_short(q.reason, 90)}" if q.reason else ""
            lines.append(f"  {mark} {q.id:<12} {points:>9}{reason}")
    if grades:
        errors = sum(1 for g in grades if g.error)
        lines.append(f"{len(grades)} notebook(s) graded, {errors} with errors")
    return "\n".join(lines)


def gradebook_rows(grades: list[NotebookGrade]) -> list[list[str]]:
    """Header + one row per notebook: notebook, exercise, each question id, total, max, error,
    and kernel restarts (a kernel that died before the first cell, replaced)."""
    ids: list[str] = []
    for grade in grades:
        for q in grade.questions:
            if q.id not in ids:
                ids.append(q.id)
    rows = [["notebook", "exercise", *ids, "total", "max_score", "error", "kernel_restarts"]]
    for grade in grades:
        scores = {q.id: format_points(q.score) for q in grade.questions}
        rows.append(
            [
                grade.notebook,
                grade.exercise or "",
                *(scores.get(qid, "") for qid in ids),
                format_points(grade.score),
                format_points(grade.max_score),
                grade.error or "",
                str(grade.restarts),
            ]
        )
    return rows


def write_csv(grades: list[NotebookGrade], path: Path) -> None:
    """Write the gradebook CSV (see :func:`gradebook_rows`)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(gradebook_rows(grades))
    path.write_text(buffer.getvalue(), encoding="utf-8")
