"""Limits that protect the class from one submission: memory, leftover processes, originals.

* **Memory**: the grader's hidden prologue sets ``RLIMIT_AS`` (soft and hard, so the kernel
  cannot raise it again) to :data:`MEMORY_LIMIT` bytes before any student code runs; the
  limit is inherited by every process the kernel starts. An allocation past it raises
  ``MemoryError`` in the cell, reported as "used more than 2 GB of memory".
* **Processes**: every grading kernel is a session leader (``jupyter_client`` starts it with
  ``start_new_session``) and carries a private marker in its environment. After each student
  cell, :func:`leftovers` lists the processes the kernel left behind (its descendants, its
  session or process group, or any process carrying the marker) and :func:`kill_all` kills
  them; the cell is reported "a process it started was still running (...)". A process that
  both leaves the session and scrubs its environment (a deliberate double fork) escapes this
  scan: that is one of the reasons the grader is not a sandbox.
* **Originals**: :class:`Originals` hashes every submitted file before grading, grades from
  private copies, and after grading reports the files whose content changed (a submission
  that wrote into another's file); grades come from the copies, so nobody's grade changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 2 * 1024**3  #: bytes of address space per grading kernel
MARKER_VARIABLE = "EOSLIB_GRADING_MARK"
WORKER_VARIABLE = "EOSLIB_GRADING_WORKER"  #: a worker's token, prefix of its kernels' markers


def memory_words(limit: int = MEMORY_LIMIT) -> str:
    """``"2 GB"`` for the limit (binary gigabytes, as ``ulimit`` counts)."""
    gib = limit / 1024**3
    return f"{gib:g} GB" if gib >= 1 else f"{limit / 1024**2:g} MB"


def memory_reason(limit: int = MEMORY_LIMIT) -> str:
    """The reason given to a cell that hit the memory limit."""
    return f"used more than {memory_words(limit)} of memory"


def prologue_source(limit: int = MEMORY_LIMIT) -> str:
    """Python source (run in the kernel before student code) that applies the memory limit."""
    return (
        "import resource as _resource\n"
        f"_resource.setrlimit(_resource.RLIMIT_AS, ({int(limit)}, {int(limit)}))\n"
    )


@dataclass(frozen=True)
class Leftover:
    """A process a kernel left running."""

    pid: int
    command: str

    def words(self) -> str:
        """``pid 123: sleep 1000``."""
        return f"pid {self.pid}: {self.command}" if self.command else f"pid {self.pid}"


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, pgrp, session) from ``/proc/PID/stat``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    except (IndexError, ValueError):
        return None


def _has_marker(pid: int, marker: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER_VARIABLE}={marker}".encode() in environ.split(b"\0")


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:120]


def _descendants(pid: int) -> list[int] | None:
    """The live descendants of ``pid`` through ``/proc/PID/task/*/children``; None if that
    file is not available (an older kernel)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
            except FileNotFoundError:
                if parent == pid:
                    return None
                continue
            except OSError:
                continue
            children = [int(c) for c in text.split()]
            found += children
            todo += children
    return found


def leftovers(kernel_pid: int | None, marker: str, *, contained: bool = False) -> list[Leftover]:
    """Processes started by the kernel ``kernel_pid`` (or carrying ``marker``), still running.

    The kernel itself and zombies (finished, not yet reaped) do not count. ``contained``: the
    kernel is PID 1 of its own PID namespace (:mod:`eoslib.grading.sandbox`), so every
    process it started is its descendant; only those are listed (a quick walk). Linux only
    (``/proc``); elsewhere the list is empty.
    """
    if not Path("/proc/self/stat").exists():
        return []
    if contained and kernel_pid is not None:
        pids = _descendants(kernel_pid)
        if pids is not None:
            alive = [p for p in pids if (_stat(p) or ("X",))[0] not in ("Z", "X")]
            return [Leftover(p, _command(p)) for p in sorted(alive)]
    table: dict[int, tuple[str, int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                table[int(entry.name)] = stat
    me = os.getpid()
    found = []
    for pid, (state, _ppid, pgrp, session) in sorted(table.items()):
        if pid in (kernel_pid, me) or state in ("Z", "X"):
            continue
        related = kernel_pid is not None and (
            session == kernel_pid or pgrp == kernel_pid or _descends(pid, kernel_pid, table)
        )
        if related or (marker and _has_marker(pid, marker)):
            found.append(Leftover(pid, _command(pid)))
    return found


def _descends(pid: int, ancestor: int, table: dict[int, tuple[str, int, int, int]]) -> bool:
    seen = set()
    while pid in table and pid not in seen:
        seen.add(pid)
        pid = table[pid][1]
        if pid == ancestor:
            return True
    return False


def marked(prefix: str) -> list[Leftover]:
    """Running processes whose marker starts with ``prefix`` (a grading worker's kernels)."""
    if not prefix or not Path("/proc/self").exists():
        return []
    needle = f"{MARKER_VARIABLE}={prefix}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[0] in ("Z", "X"):
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except OSError:
            continue
        if any(v.startswith(needle) for v in environ.split(b"\0")):
            found.append(Leftover(int(entry.name), _command(int(entry.name))))
    return found


def kill_all(processes: list[Leftover]) -> None:
    """SIGKILL each process (already gone is fine)."""
    for process in processes:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except OSError:
            pass


def leftover_reason(processes: list[Leftover]) -> str:
    """The reason given to a cell that left processes running."""
    shown = "; ".join(p.words() for p in processes[:3])
    more = f" and {len(processes) - 3} more" if len(processes) > 3 else ""
    return f"a process it started was still running ({shown}{more}); the grader killed it"


def sha256(path: Path) -> str | None:
    """Hex digest of the file's content, or None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class Originals:
    """Hashes of the submitted files, and private copies the grader reads instead.

    ``snapshot(paths)`` copies each file into a fresh private folder (``0700``) and records
    the SHA-256 of the original; :meth:`copy_of` is the copy to grade; :meth:`changed`
    lists the originals whose content differs after grading. Use as a context manager (the
    copies are deleted on exit).
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        self.folder = Path(tempfile.mkdtemp(prefix="eoslib-originals-"))
        self.hashes: dict[Path, str | None] = {}
        self.copies: dict[Path, Path] = {}
        for number, path in enumerate(self.paths):
            self.hashes[path] = sha256(path)
            target = self.folder / f"{number:05d}" / path.name
            target.parent.mkdir()
            try:
                shutil.copyfile(path, target)
                self.copies[path] = target
            except OSError:
                pass  # unreadable: graded from the original, which reports the error

    def copy_of(self, path: Path) -> Path:
        """The private copy of ``path`` (``path`` itself if it could not be copied)."""
        return self.copies.get(path, path)

    def changed(self) -> list[Path]:
        """Originals whose content is not what it was before grading."""
        return [p for p in self.paths if sha256(p) != self.hashes[p]]

    def close(self) -> None:
        """Delete the private copies."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Originals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
