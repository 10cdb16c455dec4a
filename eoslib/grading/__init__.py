"""Grading for the course: in-notebook checks, exercise generation, the instructor's grader.

Students call :func:`check` in a notebook. Exercise modules declare :class:`Question`\\ s
returning :class:`Verdict`\\ s (see :mod:`eoslib.grading.checks` for ready-made graders).
Instructors run :func:`eoslib.grading.runner.grade` (or ``grade`` on the command line) and
``make-exercises`` (:mod:`eoslib.grading.generate`); ``grade --report FILE`` writes the class
report (:mod:`eoslib.grading.html_report`).

What the grader guarantees
--------------------------
* Each submission runs in its own fresh kernel (never reused), in its own temporary working
  directory and ``TMPDIR``, graded from a private copy of the file; a submission that kills
  its worker loses only itself.
* One question's crash, time-out, ``sys.exit``/``os._exit``, memory bomb (address space
  limited to 2 GB, ``--memory-gb``), flood of output or leftover process (killed and
  reported on the cell that started it) scores that question 0 with that reason; the other
  questions are graded on their own merits; the class carries on.
* Borrowing eoslib's reference implementation scores 0 (:mod:`eoslib.grading.borrowed`);
  tampering with eoslib that the integrity fingerprint sees zeroes every later verdict.
* Every original file is hashed before grading; one that changed by the end is flagged with
  the submissions graded at that time, and nobody's grade changes (grades come from copies).
* A file that is not a notebook, over 50 MB or over 500 code cells gets one line.

What it does not guarantee
--------------------------
It is **not a sandbox**. Student code runs as the grading user, with that user's files and
network; a determined attacker can read other submissions, forge verdicts in the kernel's
memory, patch what the fingerprint does not cover (C-level state via ``ctypes``), start a
process that leaves the kernel's session *and* scrubs its environment, or exhaust the disk.
For high stakes grade inside a throw-away container or VM per class (no network,
read-only mounts, a CPU/memory/pids cgroup, e.g. ``docker run --network none --memory 2g
--pids-limit 256 --read-only``), or with nbgrader/otter-grader in such a container, and
review notebooks with surprising scores or flags.
"""

from .feedback import check, evaluate
from .questions import Question, Verdict
from .registry import get, load_all, questions_for, register

__all__ = [
    "Question",
    "Verdict",
    "check",
    "evaluate",
    "get",
    "load_all",
    "questions_for",
    "register",
]
