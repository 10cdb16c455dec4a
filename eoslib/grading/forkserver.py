"""A warm grading interpreter that forks a fresh process for every judge (and kernel).

:class:`ForkServer` (grader side) starts ``serve()`` in a child interpreter, which imports
eoslib, every exercise module and the kernel's own libraries once, then answers one JSON
request per line on stdin with one JSON line on stdout. For each request it ``fork()``\\ s: the
child starts from the pristine, pre-imported state (no submission ever ran in the server
itself), does its job, and exits, so nothing one submission does can reach the next. Ops:

* ``{"op": "judge", "question", "answer", "timeout", "memory"}`` -> ``{"verdict": {...}}``:
  the child runs :func:`eoslib.grading.judge.judge` and pipes the verdict back; a child that
  runs past ``timeout`` is killed, one that dies is reported;
* ``{"op": "kernel", "connection_file", "workdir", "run", "root", "env", "memory"}`` ->
  ``{"pid": n}``: the child starts an IPython kernel in-process on that connection file (see
  :mod:`eoslib.grading.kernels`); ``pid`` is the kernel's process id as the grader sees it.

Where Linux user namespaces are available (:func:`eoslib.grading.sandbox.available`) every
child is sandboxed (:mod:`eoslib.grading.sandbox`): it sees the system, the Python
installation and the staged eoslib (:mod:`eoslib.grading.stage`) read-only, its own
working folder, nothing else. Every child dies with the server, and the server with the
process that started it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import limits, sandbox

STAGE_VARIABLE = "EOSLIB_GRADING_STAGE"
SANDBOX_VARIABLE = "EOSLIB_GRADING_SANDBOX"  # auto (default) | off
VERDICT_CACHE_VARIABLE = "EOSLIB_GRADING_VERDICT_CACHE"  # "0": judge every answer afresh
_BOOT = (
    "import json, sys\n"
    "sys.path[:0] = json.loads(sys.argv[1])\n"
    "from eoslib.grading.forkserver import serve\n"
    "serve()\n"
)


WARM_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                "ipykernel.debugger", "ipykernel.comm", "IPython.core.completer",
                "IPython.core.history", "psutil", "pdb", "pydoc", "matplotlib.pyplot",
                "matplotlib_inline.backend_inline", "ipywidgets", "eoslib.scenarios",
                "eoslib.viz", "eoslib.explore.attack", "eoslib.grading.judge",
                "eoslib.grading.kernel",
                # imported lazily by a kernel's start-up and first cells: load them once here
                "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.logger",
                "IPython.core.oinspect", "IPython.extensions.storemagic",
                "IPython.utils.wildcard", "faulthandler", "importlib.resources.readers",
                "tornado.platform.asyncio")  # fmt: skip
_SANDBOX = {"on": False, "stage": ""}


def _warm() -> None:
    """Import what judges and kernels need, once, before any fork (never starts a thread)."""
    import importlib

    from . import registry

    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing extra only costs start-up time
            pass
    registry.load_all()
    from .judge import prepare

    prepare()  # reference results once, and the judges' pristine fingerprint
    gc.collect()
    gc.freeze()  # the children's collections skip these objects: no copy-on-write storms


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


def _close_fds(keep: set[int]) -> None:
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd") if int(n) > 2):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _spec(root: str, writable: list[str], workdir: str) -> sandbox.Spec:
    readonly = sandbox.python_paths() + ([_SANDBOX["stage"]] if _SANDBOX["stage"] else [])
    return sandbox.Spec(root=root, readonly=readonly, writable=writable, workdir=workdir)


def _isolate(root: str, writable: list[str], workdir: str, report: Any) -> None:
    """In a forked child: sandbox it (or just fork a grandchild); return in the grandchild."""
    _die_with_parent()
    if _SANDBOX["on"]:
        sandbox.enter(_spec(root, writable, workdir), on_child=report)
    else:
        pid = os.fork()
        if pid:
            report(pid)
            _, status = os.waitpid(pid, 0)
            os._exit(max(0, os.waitstatus_to_exitcode(status)))
        _die_with_parent()
        os.chdir(workdir)


def _kernel(request: dict[str, Any]) -> dict[str, Any]:
    """Fork a kernel on ``request["connection_file"]``; reply with its pid (or an error)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the kernel's reaper; its child is the kernel
        try:
            os.close(read_end)
            _devnull_stdio()
            _close_fds({write_end})

            def report(child: int) -> None:
                os.write(write_end, f"{child}\n".encode())
                os.close(write_end)

            workdir = str(request["workdir"])
            _isolate(str(request["root"]), [workdir, str(request["run"])], workdir, report)
            try:
                os.close(write_end)  # in the kernel, the reaper reported already
            except OSError:
                pass
            _start_kernel(request)
        except BaseException as exc:  # noqa: BLE001 - tell the server, never return
            try:
                os.write(write_end, f"error {type(exc).__name__}: {exc}\n".encode())
            except OSError:
                pass
        os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        ready = select.select([reader], [], [], 60)[0]
        line = reader.readline().decode(errors="replace").strip() if ready else ""
    if line.isdigit():
        return {"pid": int(line)}
    _kill(pid)
    return {"error": line or "the kernel's process ended before it started"}


def _start_kernel(request: dict[str, Any]) -> None:
    """In the sandboxed child: the kernel's environment, limits, then IPython's kernel app."""
    import resource

    os.setsid()
    memory = int(request.get("memory", limits.MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    os.chdir(str(request["workdir"]))
    from ipykernel.kernelapp import IPKernelApp

    # no SQLite history: a kernel serves one submission (In/Out still work, in memory)
    sys.argv = ["ipykernel_launcher", "-f", str(request["connection_file"]),
                "--HistoryManager.enabled=False"]
    IPKernelApp.launch_instance(argv=sys.argv[1:])
    os._exit(0)


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
    if pid == 0:  # the judge's reaper, then (sandboxed) the judge
        status = 0
        try:
            os.close(read_end)
            _devnull_stdio()
            _close_fds({write_end})
            root = str(request.get("root") or "")
            if root:
                _isolate(root, [], "/tmp", lambda child: None)
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
    _die_with_parent()
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # a stray print must not corrupt the replies
    _SANDBOX["stage"] = os.environ.get(STAGE_VARIABLE, "")
    wanted = os.environ.get(SANDBOX_VARIABLE, "auto")
    _SANDBOX["on"] = wanted != "off" and sandbox.available()
    _warm()
    replies.write(json.dumps({"ready": os.getpid(), "sandboxed": _SANDBOX["on"]}) + "\n")
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request.get("op") == "judge":
                reply = _judge(request)
            elif request.get("op") == "kernel":
                reply = _kernel(request)
            else:
                reply = {"error": f"unknown op {request.get('op')!r}"}
        except Exception as exc:  # noqa: BLE001 - keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        _reap()
        replies.write(json.dumps(reply) + "\n")


def _plain(encoding: Any, depth: int = 0) -> bool:
    """Whether an answer's encoding is data alone: no ``code`` and no ``ref`` anywhere."""
    if depth > 60:
        return False
    if isinstance(encoding, dict):
        return not ({"code", "ref"} & encoding.keys()) and all(
            _plain(v, depth + 1) for v in encoding.values())
    if isinstance(encoding, list):
        return all(_plain(v, depth + 1) for v in encoding)
    return encoding is None or isinstance(encoding, bool | int | float | str)


def _data_key(question: str, answer: Any, memory: int) -> tuple[str, str] | None:
    """The verdict cache's key for a plain-data answer, None for any other answer."""
    if not _plain(answer):
        return None
    try:
        return question, json.dumps([answer, memory], sort_keys=True)
    except (TypeError, ValueError):
        return None


class ForkServerError(Exception):
    """The fork server died or answered garbage."""


class ForkServer:
    """Grader side of the fork server: start it, send requests, stop it."""

    def __init__(self, env: dict[str, str] | None = None, *, stage: str | None = None,
                 sandbox: str = "auto") -> None:
        self.env = dict(os.environ if env is None else env)
        self.stage = stage
        self.want_sandbox = sandbox
        self.sandboxed = False
        self.proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._folder: str | None = None
        #: verdicts on plain-data answers, by (question, answer): see :meth:`judge`
        self.verdicts: dict[tuple[str, str], dict[str, Any]] | None = (
            None if self.env.get(VERDICT_CACHE_VARIABLE) == "0" else {})

    def start(self) -> None:
        """Start the server and wait until it is warm."""
        root = str(Path(__file__).resolve().parents[2])
        paths = ([self.stage] if self.stage else []) + [root] + [p for p in sys.path if p]
        env = {**self.env, SANDBOX_VARIABLE: self.want_sandbox, "PYTHONHASHSEED": "0"}
        if self.stage:
            env[STAGE_VARIABLE] = self.stage
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(paths)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/",
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1,
        )  # fmt: skip
        self.sandboxed = bool(self._read().get("sandboxed"))
        if self.sandboxed and self._folder is None:
            import tempfile

            self._folder = tempfile.mkdtemp(prefix="eoslib-judges-")

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
        with self._lock:
            return self._request(request)

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
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
        """The verdict for one encoded answer (see :func:`eoslib.grading.judge.judge`).

        An answer that is plain data (no code, no reference to an importable object: a
        configuration, a number) is graded by the question's own seeded checks alone, so
        its verdict is a function of (question, answer): the verdict a judge gave it is
        kept for this grading session and given again to the same answer (a judge that ran
        out of time or died is not kept). ``EOSLIB_GRADING_VERDICT_CACHE=0`` turns it off.
        """
        key = _data_key(question, answer, memory) if self.verdicts is not None else None
        if key is not None and self.verdicts is not None and key in self.verdicts:
            return dict(self.verdicts[key])
        request = {"op": "judge", "question": question, "answer": answer,
                   "timeout": timeout, "memory": memory, "label": label}  # fmt: skip
        if self.proc is None:
            self.start()
        if self.sandboxed and self._folder:
            request["root"] = self._folder  # the judges' (empty) mount point
        reply = self.request(request)
        verdict = reply.get("verdict")
        if isinstance(verdict, dict):
            if key is not None and self.verdicts is not None:
                self.verdicts[key] = dict(verdict)
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
        if self._folder:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> ForkServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

