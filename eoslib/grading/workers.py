"""Long-lived grading worker processes, one per job slot.

Each worker is a ``python -c`` subprocess that reads one JSON request per line on stdin
(``{"path": ..., "options": {...}}``), grades that notebook with
:func:`eoslib.grading.single.grade_notebook` and answers one line on stdout. The kernels a
worker starts are its children, so a submission can kill its worker (``os.kill(os.getppid(),
9)``); then only that notebook is lost (reported as a crash) and a fresh worker takes over.
Workers are reused because starting one costs about a second of imports.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from . import limits
from .results import NotebookGrade
from .single import crashed, grade_notebook

MARK = "EOSLIB-GRADE "
_BOOT = (
    "import json, sys\n"
    "sys.path[:0] = json.loads(sys.argv[1])\n"
    "from eoslib.grading.workers import serve\n"
    "serve(sys.stdin, sys.stdout)\n"
)


def _prepare(options: dict[str, Any], judges: Any) -> Any:
    """A kernel started ahead of need for a submission graded with ``options``, or None."""
    from .single import fresh_kernel

    try:
        return fresh_kernel(judges, options.get("resources"),
                            options.get("kernel_name", "python3"),
                            int(options.get("memory_limit", limits.MEMORY_LIMIT)))  # fmt: skip
    except Exception:  # noqa: BLE001 - the normal path will report (and retry) the problem
        return None


def _server(options: dict[str, Any]) -> Any:
    from .forkserver import ForkServer

    return ForkServer(stage=options.get("stage"), sandbox=options.get("sandbox", "auto"))


def serve(requests: IO[str], replies: IO[str]) -> None:
    """Worker side: answer each request line with one ``MARK``-prefixed JSON line.

    Kernels are started one submission ahead: while a submission is graded, the kernel for
    the next one boots. Each kernel still serves exactly one submission. The worker's fork
    server (:mod:`eoslib.grading.forkserver`) forks every kernel and every judge.
    """
    from .kernels import discard

    spare, spare_options = None, None
    judges = None
    try:
        for line in requests:
            request = json.loads(line)
            path, options = Path(request["path"]), request["options"]
            if judges is None:
                judges = _server(options)
            current = spare if spare_options == options else None
            if current is None and spare is not None:
                discard(spare)
            current = current or _prepare(options, judges)
            spare, spare_options = _prepare(options, judges), options  # boots meanwhile
            try:
                result = grade_notebook(path, copy=request.get("copy"), prepared=current,
                                        judges=judges, **options)  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                result = crashed(path, f"grader error: {type(exc).__name__}: {exc}")
            finally:
                if current is not None:
                    discard(current)
            replies.write(MARK + json.dumps(result.to_json()) + "\n")
            replies.flush()
    finally:
        if spare is not None:
            discard(spare)
        if judges is not None:
            judges.close()


class _Worker:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        paths = [root] + [p for p in sys.path if p]
        self.token = "w" + secrets.token_hex(8) + "-"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(paths)],
            env={**os.environ, limits.WORKER_VARIABLE: self.token},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )

    def ask(self, path: Path, copy: Path, options: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON reply for one notebook, or None if the worker died or answered garbage."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"path": str(path), "copy": str(copy), "options": options}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line.startswith(MARK):
                    reply = json.loads(line[len(MARK) :])
                    return reply if isinstance(reply, dict) else None
        except (OSError, ValueError):
            pass
        return None

    def kill(self) -> None:
        """Kill the worker and every kernel (and marked process) it started."""
        self.proc.kill()
        self.proc.wait()
        limits.kill_all(limits.marked(self.token))

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        limits.kill_all(limits.marked(self.token))


def run_parallel(
    notebooks: list[Path],
    copies: list[Path],
    options: dict[str, Any],
    jobs: int,
    done: Callable[[int, NotebookGrade], None],
    crashed: Callable[[Path, str], NotebookGrade],
    begin: Callable[[int], None] | None = None,
) -> None:
    """Grade ``notebooks`` (read from ``copies``) on ``jobs`` workers.

    Calls ``begin(index)`` when a notebook is handed to a worker and ``done(index, grade)``
    when its grade is known.
    """
    todo: queue.Queue[int] = queue.Queue()
    for index in range(len(notebooks)):
        todo.put(index)
    lock = threading.Lock()

    def slot() -> None:
        worker: _Worker | None = None
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                if begin is not None:
                    with lock:
                        begin(index)
                try:
                    worker = worker or _Worker()
                    reply = worker.ask(notebooks[index], copies[index], options)
                    result = NotebookGrade.from_json(reply) if reply is not None else None
                    if result is None:
                        worker.kill()
                        worker = None
                        message = "grader worker died (did the submission kill its parent?)"
                        result = crashed(notebooks[index], message)
                except Exception as exc:  # noqa: BLE001 - every notebook gets a result
                    result = NotebookGrade(
                        str(notebooks[index]), None, error=f"grader error: {exc}"
                    )
                with lock:
                    done(index, result)
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=slot, daemon=True) for _ in range(max(1, jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
