"""Reading a submitted notebook defensively and telling which exercise it belongs to."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import registry

MAX_BYTES = 50_000_000
MAX_CODE_CELLS = 500  # non-empty code cells; more is not a submission a person wrote
_CHECK_CALL = re.compile(r"""\bcheck\s*\(\s*(?:question_id\s*=\s*)?["']([^"'\\\s]+)["']""")
_NAME_EXERCISE = re.compile(r"(?:^|[^a-z0-9])(ex\d+)(?![0-9])", re.IGNORECASE)


class SubmissionError(Exception):
    """The file cannot be graded (its message is a one-line explanation)."""


@dataclass(frozen=True)
class Submission:
    """The parts of a notebook the grader uses."""

    path: Path
    code_cells: list[tuple[int, str]]  # (position among all cells, source)
    metadata_exercise: str | None


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return source if isinstance(source, str) else ""


def read_submission(path: Path) -> Submission:
    """Parse ``path`` as a notebook; raise :class:`SubmissionError` with a clear message."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SubmissionError(f"file is larger than {MAX_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionError("not a notebook: the file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"not a notebook: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("not a notebook: JSON without a 'cells' list")
    if data.get("nbformat") != 4:
        raise SubmissionError(f"unsupported notebook format {data.get('nbformat')!r} (need 4)")
    code_cells = [
        (position, _source(cell))
        for position, cell in enumerate(data["cells"])
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    ]
    filled = sum(1 for _, source in code_cells if source.strip())
    if filled > MAX_CODE_CELLS:
        raise SubmissionError(
            f"the notebook has {filled} code cells; the grader runs at most {MAX_CODE_CELLS}"
        )
    metadata = data.get("metadata")
    eoslib_meta = metadata.get("eoslib") if isinstance(metadata, dict) else None
    exercise = eoslib_meta.get("exercise") if isinstance(eoslib_meta, dict) else None
    return Submission(path, code_cells, exercise if isinstance(exercise, str) else None)


def checked_ids(source: str) -> list[str]:
    """Question ids named literally in ``check("...")`` calls of a cell's source."""
    return _CHECK_CALL.findall(source)


def exercise_from_name(path: Path, known: list[str] | None = None) -> str | None:
    """The exercise named in a file name: ``ex2-transactions.ipynb``, ``alice_ex2.ipynb``.

    The first ``-``/``_``/``.``/space-separated word that is a ``known`` exercise id wins,
    else the first ``exN`` (N digits) in the name.
    """
    for word in re.split(r"[-_. ]+", path.stem):
        if known and word.lower() in known:
            return word.lower()
    match = _NAME_EXERCISE.search(path.stem)
    return match.group(1).lower() if match else None


def detect_exercise(submission: Submission) -> str | None:
    """Notebook metadata ``eoslib.exercise``, else the file name, else the checked ids."""
    if submission.metadata_exercise:
        return submission.metadata_exercise
    named = exercise_from_name(submission.path, registry.exercises())
    if named:
        return named
    prefixes = Counter(
        qid.split(".", 1)[0] for _, source in submission.code_cells for qid in checked_ids(source)
    )
    return prefixes.most_common(1)[0][0] if prefixes else None
