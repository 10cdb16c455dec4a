"""A warm grading interpreter that forks a fresh process for every judge (and kernel).

:class:`ForkServer` (grader side) starts ``serve()`` in a child interpreter, which imports
eoslib, every exercise module and the kernel's own libraries once, then answers one JSON
request per line on stdin with one JSON line on stdout. For each request it ``fork()``\\ s: the
child starts from the pristine, pre-imported state (no submission ever ran in the server
itself), does its job, and exits, so nothing one submission does can reach the next. Ops:

* ``{"op": "judge", "question", "answer", "timeout", "memory"}`` -> ``{"verdict": {...}}``:
  the child runs :func:`eoslib.grading.judge.judge` and pipes the verdict back; a child that
  runs past ``timeout`` is killed, one that dies is reported.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import limits

_BOOT = (
    "import json, sys\n"
    "sys.path[:0] = json.loads(sys.argv[1])\n"
    "from eoslib.grading.forkserver import serve\n"
    "serve()\n"
)


def _warm() -> None:
    """Import what judges and kernels need, once, before any fork."""
    from . import judge, registry

    registry.load_all()
    assert judge.judge is not None


def _devnull_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _limit(memory: int, seconds: float) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _judge(request: dict[str, Any]) -> dict[str, Any]:
    """Fork a judge for one answer; its verdict, or a verdict saying how it ended."""
    timeout = float(request.get("timeout", 60))
    memory = int(request.get("memory", limits.MEMORY_LIMIT))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the judge
        status = 0
        try:
            os.close(read_end)
            _devnull_stdio()
            _limit(memory, timeout)
            from .judge import judge

            verdict = judge(str(request["question"]), request.get("answer"),
                            memory_limit=memory, label=str(request.get("label", "answer")))
            data = json.dumps(verdict).encode()
            while data:
                data = data[os.write(write_end, data):]
        except BaseException:  # noqa: BLE001 - never return into the server's loop
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    chunks, deadline, timed_out = [], time.monotonic() + timeout, False
    with os.fdopen(read_end, "rb") as reader:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([reader], [], [], left)
            if ready:
                chunk = os.read(reader.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    if timed_out:
        _kill(pid)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"verdict": None, "problem": f"ran past the {timeout:g} s limit"}
    try:
        verdict = json.loads(b"".join(chunks))
    except ValueError:
        verdict = None
    if not isinstance(verdict, dict):
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")  # fmt: skip
        return {"verdict": None, "problem": f"ended the judge process ({how})"}
    return {"verdict": verdict}


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _reap() -> None:
    """Collect children that have ended (kernels' reapers)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve() -> None:
    """Server side: warm up, then answer requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # a stray print must not corrupt the replies
    _warm()
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request.get("op") == "judge":
                reply = _judge(request)
            else:
                reply = {"error": f"unknown op {request.get('op')!r}"}
        except Exception as exc:  # noqa: BLE001 - keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        _reap()
        replies.write(json.dumps(reply) + "\n")


class ForkServerError(Exception):
    """The fork server died or answered garbage."""


class ForkServer:
    """Grader side of the fork server: start it, send requests, stop it."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the server and wait until it is warm."""
        root = str(Path(__file__).resolve().parents[2])
        paths = [root] + [p for p in sys.path if p]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(paths)],
            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1,
        )  # fmt: skip
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            self.close()
            raise ForkServerError("the grading fork server died")
        return reply

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; restart the server once if it has died."""
        for attempt in range(2):
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            assert self.proc is not None and self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
                return self._read()
            except (OSError, ForkServerError):
                self.close()
                if attempt:
                    raise ForkServerError("the grading fork server died") from None
        raise AssertionError("unreachable")

    def judge(self, question: str, answer: Any, *, timeout: float, memory: int,
              label: str = "answer") -> dict[str, Any]:
        """The verdict for one encoded answer (see :func:`eoslib.grading.judge.judge`)."""
        reply = self.request({"op": "judge", "question": question, "answer": answer,
                              "timeout": timeout, "memory": memory, "label": label})
        verdict = reply.get("verdict")
        if isinstance(verdict, dict):
            return verdict
        problem = reply.get("problem") or reply.get("error") or "no verdict"
        return {"passed": False, "score": 0.0, "reason": f"the answer {problem} when graded"}

    def close(self) -> None:
        """Stop the server (its children are forked judges/kernels: they end with it)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> ForkServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

