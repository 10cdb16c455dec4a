"""Grade records returned by the runner, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class QuestionGrade:
    """Points earned on one question, with the reason for any loss."""

    id: str
    score: float
    max_score: float
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """``{"id", "score", "max_score", "reason"}``."""
        return {
            "id": self.id,
            "score": self.score,
            "max_score": self.max_score,
            "reason": self.reason,
        }


@dataclass
class NotebookGrade:
    """The grade of one submitted notebook.

    ``error`` is a one-line explanation when the notebook could not be graded at all
    (unreadable file, unknown exercise, grader setup failure); its questions then score 0.
    ``flags`` are notes for the instructor that do not change the score (the original file
    changed during grading, a process survived the kernel, an answer the same as the
    reference implementation).
    """

    notebook: str
    exercise: str | None
    questions: list[QuestionGrade] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)
    restarts: int = 0  #: kernels that died before running the first cell, replaced

    @property
    def score(self) -> float:
        """Total points earned."""
        return round(sum(q.score for q in self.questions), 4)

    @property
    def max_score(self) -> float:
        """Total points available."""
        return round(sum(q.max_score for q in self.questions), 4)

    def to_json(self) -> dict[str, Any]:
        """JSON object: notebook, exercise, score, max_score, questions, error, seconds, flags,
        restarts."""
        return {
            "notebook": self.notebook,
            "exercise": self.exercise,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [q.to_json() for q in self.questions],
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "flags": list(self.flags),
            "restarts": self.restarts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotebookGrade | None:
        """Inverse of :meth:`to_json`; None if ``data`` does not have that shape."""
        try:
            questions = [
                QuestionGrade(
                    str(q["id"]), float(q["score"]), float(q["max_score"]), str(q["reason"])
                )
                for q in data["questions"]
            ]
            error = data["error"]
            return cls(
                notebook=str(data["notebook"]),
                exercise=None if data["exercise"] is None else str(data["exercise"]),
                questions=questions,
                error=None if error is None else str(error),
                seconds=float(data["seconds"]),
                flags=[str(f) for f in data.get("flags", [])],
                restarts=int(data.get("restarts", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
