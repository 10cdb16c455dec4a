"""The course's graded exercises, one module per concept (``ex01_duplicates`` ... ``ex08``).

Each module exposes ``QUESTIONS`` (see :mod:`eoslib.grading.questions`); the registry finds
them here. :mod:`eoslib.exercises.harness` drives a learner's transactional loop under crash
and fault schedules. After a failed ``check()`` of an implement or configure question, the
failing run is kept: ``failed_run("ex07.q2")`` returns its :class:`~eoslib.result.Result`
(draw it with ``eoslib.viz.timeline.timeline(result)``).
"""

from eoslib.exercises._common import failed_run

__all__ = ["failed_run"]
