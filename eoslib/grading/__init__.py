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
* **Nothing to copy, nothing left behind** (Linux with user namespaces: as root, or where
  unprivileged user namespaces are allowed, the default on Debian and Fedora; Ubuntu 24.04
  and later allow them only with ``sysctl kernel.apparmor_restrict_unprivileged_userns=0``;
  :func:`eoslib.grading.runner.isolation` says). Every kernel and every judge is a fresh
  process forked from a pristine warm interpreter into a sandbox of its own
  (:mod:`eoslib.grading.sandbox`): it sees the system, the Python installation and a
  read-only copy of the eoslib package alone (:mod:`eoslib.grading.stage`), its own working
  folder (its notebook and the instructor's ``--resources``), a private ``/tmp``; not the
  checkout, not ``solutions/``, not another submission, not the grader's files or home
  directory, not the network; it sees only its own processes, none of its capabilities,
  and everything it starts ends with it. Nothing a submission does (module attributes,
  ``sys.modules``, files, environment, threads, patched eoslib) survives into the next.
* A judge grades one answer and ends. A plain-data answer (a configuration, a number: no
  code) is graded by the question's seeded runs alone, so within one grading session the
  same answer to the same question gets the verdict a judge already gave it
  (``EOSLIB_GRADING_VERDICT_CACHE=0`` judges every answer afresh); an answer with code is
  judged afresh every time. Measure questions' expected numbers are computed once, in the
  warm interpreter, before any judge is forked.
* Each submission is graded from a private copy of the file; a submission that kills its
  worker (possible only without the sandbox) loses only itself.
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
scores. The sandbox shares the machine's kernel, CPU and memory (each kernel's address
space is limited, its ``/tmp`` is a 512 MB ``tmpfs``; CPU time is not shared out) and it
can read the system's files (``/usr``, ``/etc``). A submission can still copy from a
classmate *before* submitting, or from the course's public repository: the grader compares
answers with eoslib's reference (:mod:`eoslib.grading.borrowed`), not with each other.
Without user namespaces (macOS, Windows, a locked-down Linux) the grader runs kernels
unsandboxed (``eoslib grade`` warns; ``--sandbox require`` refuses): then a kernel runs as
the grading user, with that user's files and network, as in a notebook server; grade in a
throw-away container or VM there.
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
