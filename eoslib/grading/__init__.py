"""Grading for the course: in-notebook checks, exercise generation, the instructor's grader.

Students call :func:`check` in a notebook. Exercise modules declare :class:`Question`\\ s
returning :class:`Verdict`\\ s (see :mod:`eoslib.grading.checks` for ready-made graders).
Instructors run :func:`eoslib.grading.runner.grade` (or ``grade`` on the command line) and
``make-exercises`` (:mod:`eoslib.grading.generate`); ``grade --report FILE`` writes the class
report (:mod:`eoslib.grading.html_report`).

What the grader guarantees
--------------------------
* **Verdicts outside the submission's reach.** A score is decided by the grader from a
  verdict its judge computed (:mod:`eoslib.grading.judge`), in a process forked from the
  grader's own pristine interpreter that never runs the notebook: the kernel only hands over
  *answers* (data, or an answer's source and what it uses). Nothing in the kernel's memory,
  output or files is read as a verdict; a record or message that carries one (a forged store,
  a replayed "passed", a patched channel) scores its question 0, naming what was tried.
* Each submission runs in its own fresh kernel (never reused), in its own temporary working
  directory and ``TMPDIR``, graded from a private copy of the file; a submission that kills
  its worker loses only itself.
* One question's crash, time-out, ``sys.exit``/``os._exit``, memory bomb (address space
  limited to 2 GB, ``--memory-gb``), flood of output or leftover process (killed and
  reported on the cell that started it) scores that question 0 with that reason; the other
  questions are graded on their own merits; the class carries on.
* Borrowing eoslib's reference implementation scores 0 (:mod:`eoslib.grading.borrowed`);
  tampering with eoslib that the integrity fingerprint sees zeroes every later answer.
* Every original file is hashed before grading; one that changed by the end is flagged with
  the submissions graded at that time, and nobody's grade changes (grades come from copies).
* A file that is not a notebook, over 50 MB or over 500 code cells gets one line.

What it does not guarantee
--------------------------
The answer's own code runs in the judge (it must, to be tested). It is screened first
(:mod:`eoslib.grading.vet`: no imports outside a list, no interpreter internals, no writes
into eoslib's modules) and the judge's fingerprint is compared around it, but a screen is
not a proof: an answer written to subvert its own check from inside (for example by editing
the simulation objects it is handed) may not be caught. Review flagged and surprising
scores. Without OS isolation the kernel runs as the grading user, with that user's files
and network: it can read other files, start a process that leaves the kernel's session *and*
scrubs its environment, or fill the disk. For high stakes grade inside a throw-away
container or VM per class (no network, read-only mounts, a CPU/memory/pids cgroup).
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
