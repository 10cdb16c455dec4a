"""The grading kernel's set-up, run by the grader's hidden prologue before any student code.

Kept apart from :mod:`eoslib.grading.session` (the answer store that
:mod:`eoslib.grading.feedback` writes into) so that the two do not import each other.
"""

from __future__ import annotations

from . import feedback, registry, session


def begin() -> None:
    """Prepare a grading kernel: import every exercise module before the submission runs.

    Modules imported later are not covered by the integrity fingerprint, so everything a
    grading function relies on must be loaded here (this module imports ``feedback``).
    """
    assert feedback.check is not None  # loaded for the fingerprint
    registry.load_all()
    session.drain()
