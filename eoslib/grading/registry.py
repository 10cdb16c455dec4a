"""The question registry, keyed by question id.

Exercise modules live in the package ``eoslib.exercises`` (one module per exercise, each
exposing ``QUESTIONS: list[Question]``); :func:`load_all` imports them all. Extra modules
(tests, instructor add-ons) are named, comma-separated, in the environment variable
``EOSLIB_EXTRA_EXERCISES``; being an environment variable it reaches grading kernels too
(the module must be importable there: put its folder on ``PYTHONPATH``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from types import ModuleType

from .questions import Question, exercise_of

EXTRA_ENV = "EOSLIB_EXTRA_EXERCISES"
EXERCISES_PACKAGE = "eoslib.exercises"

# The fingerprint (see fingerprint.py) watches this dict by name: keep the name.
_REGISTRY: dict[str, Question] = {}
_OWNER: dict[str, str] = {}
_LOAD_ERRORS: dict[str, str] = {}


def register(question: Question, *, replace: bool = False, owner: str | None = None) -> Question:
    """Add ``question`` to the registry and return it.

    Registering the same object twice is a no-op. A *different* question with an id already
    taken raises ``ValueError`` unless ``replace`` is true or it comes from the same
    ``owner`` (module name; re-importing a module re-registers its questions).
    """
    if not isinstance(question, Question):
        raise TypeError(f"expected a Question, got {type(question).__name__}")
    existing = _REGISTRY.get(question.id)
    if existing is not None and existing is not question and not replace:
        if owner is None or _OWNER.get(question.id) != owner:
            raise ValueError(
                f"duplicate question id {question.id!r} "
                f"(already registered by {_OWNER.get(question.id) or 'register()'})"
            )
    _REGISTRY[question.id] = question
    if owner is not None:
        _OWNER[question.id] = owner
    return question


def unregister(question_id: str) -> None:
    """Remove a question (tests use this to clean up)."""
    _REGISTRY.pop(question_id, None)
    _OWNER.pop(question_id, None)


def _import(name: str) -> ModuleType | None:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - one broken module must not hide the others
        _LOAD_ERRORS[name] = f"{type(exc).__name__}: {exc}"
        return None
    _LOAD_ERRORS.pop(name, None)
    return module


def _exercise_modules() -> list[ModuleType]:
    modules: list[ModuleType] = []
    try:
        present = importlib.util.find_spec(EXERCISES_PACKAGE) is not None
    except ModuleNotFoundError:  # no eoslib package at all
        present = False
    package = _import(EXERCISES_PACKAGE) if present else None
    if package is not None:
        modules.append(package)
        names = sorted(info.name for info in pkgutil.iter_modules(getattr(package, "__path__", [])))
        for name in names:
            if not name.startswith("_"):
                modules.append(_import(f"{EXERCISES_PACKAGE}.{name}"))
    for name in os.environ.get(EXTRA_ENV, "").split(","):
        if name.strip():
            modules.append(_import(name.strip()))
    return [m for m in modules if m is not None]


def load_errors() -> dict[str, str]:
    """Exercise modules that failed to import in the last :func:`load_all`: name -> error."""
    return dict(_LOAD_ERRORS)


def _describe_load_errors() -> str:
    if not _LOAD_ERRORS:
        return ""
    return "; exercise modules failed to import: " + "; ".join(
        f"{name}: {error}" for name, error in sorted(_LOAD_ERRORS.items())
    )


def load_all() -> dict[str, Question]:
    """Import every exercise module, register its ``QUESTIONS``, return a copy of the registry.

    A module that fails to import is skipped (see :func:`load_errors`); two modules declaring
    the same question id raise ``ValueError``.
    """
    for module in _exercise_modules():
        for question in getattr(module, "QUESTIONS", ()):
            register(question, owner=module.__name__)
    return dict(_REGISTRY)


def get(question_id: str) -> Question:
    """The question with this id (loading exercise modules if needed); ``KeyError`` if none."""
    if question_id not in _REGISTRY:
        load_all()
    try:
        return _REGISTRY[question_id]
    except KeyError:
        raise KeyError(f"unknown question id {question_id!r}{_describe_load_errors()}") from None


def questions_for(exercise: str) -> list[Question]:
    """The questions of one exercise (e.g. ``"ex2"``), in declaration order."""
    return [q for q in load_all().values() if exercise_of(q.id) == exercise]


def exercises() -> list[str]:
    """All exercise ids that have at least one question, sorted."""
    return sorted({exercise_of(qid) for qid in load_all()})
