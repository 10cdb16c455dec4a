"""Starting and stopping a grading kernel: forked from the warm server, or by jupyter_client.

A Python kernel is ``fork()``\\ ed by the grader's fork server (:mod:`eoslib.grading.forkserver`)
from an interpreter that has already imported ipykernel, matplotlib and eoslib, so it is up
in a fraction of the time a new interpreter takes, and every kernel starts from the same
pristine state (nothing a submission does survives into the next one: each is a new
process, in a sandbox of its own where available, :mod:`eoslib.grading.sandbox`). It talks
to the grader over Unix sockets (``transport="ipc"``) in a folder of its own, so kernels
never race for TCP ports. Another kernel name is started by jupyter_client as usual.

Each kernel gets a folder ``eoslib-grade-*`` with ``work/`` (its working directory: the
notebook and the instructor's resources), ``run/`` (connection file and sockets) and
``root/`` (where the sandbox builds its root).
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from . import limits
from .forkserver import ForkServer

FORKED_KERNEL = "python3"


@dataclass
class PreparedKernel:
    """A kernel started ahead of need, in its own fresh working directory.

    It has run nothing: the submission that gets it is the first and only one to use it
    (the prologue and the baseline fingerprint come when it is graded).
    """

    km: AsyncKernelManager
    workdir: Path
    env: dict[str, str]
    folder: tempfile.TemporaryDirectory[str]
    sandboxed: bool = False


_LOOP: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, so a kernel started ahead of need is used in its loop."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    return _LOOP


class _Forked:
    """A ``Popen``-like handle on a kernel the fork server started (not our child)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stdin = self.stdout = self.stderr = None
        self.returncode: int | None = None
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._fd = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self._fd is not None:
                ended = bool(select.select([self._fd], [], [], 0)[0])
            else:
                stat = limits._stat(self.pid)  # noqa: SLF001 - same package
                ended = stat is None or stat[0] in ("Z", "X")
            if ended:
                self.returncode = -signal.SIGKILL
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        waited = 0.0
        while self.poll() is None:
            if timeout is not None and waited >= timeout:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            select.select([], [], [], 0.02)
            waited += 0.02
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is not None:
            return
        if self._fd is not None:
            signal.pidfd_send_signal(self._fd, signum)
        else:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is forked by a :class:`ForkServer` (transport ipc)."""

    def __init__(self, server: ForkServer, request: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server
        self._request = request

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        request = {**self._request, "op": "kernel", "connection_file": self.connection_file,
                   "env": kw.get("env") or {}, "workdir": kw.get("cwd")}  # fmt: skip
        reply = await asyncio.get_running_loop().run_in_executor(
            None, self._server.request, request)  # fmt: skip
        pid = reply.get("pid")
        if not isinstance(pid, int):
            raise RuntimeError(f"the fork server could not start a kernel: {reply.get('error')}")
        provisioner: Any = self.provisioner
        provisioner.process = _Forked(pid)
        provisioner.pid = provisioner.pgid = pid
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)


def kernel_env(base: dict[str, str], workdir: Path, marker: str = "", *,
               sandboxed: bool = False, stage: str | None = None) -> dict[str, str]:
    """Environment of a grading kernel: grading mode on, eoslib importable, private TMPDIR.

    ``marker`` (not a secret: the kernel can read it) tags processes the kernel starts for
    :func:`eoslib.grading.limits.leftovers`. In the sandbox ``TMPDIR`` is its private /tmp.
    """
    env = {k: v for k, v in base.items() if k != "JPY_PARENT_PID"}
    if marker:
        env[limits.MARKER_VARIABLE] = marker
    root = stage or str(Path(__file__).resolve().parents[2])
    extra = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(":") if p]
    paths = [root] + [p for p in extra if p != root and not stage]
    env["PYTHONPATH"] = ":".join(paths)
    env["EOSLIB_GRADING"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if sandboxed:
        env["TMPDIR"] = "/tmp"
        env["HOME"] = str(workdir)
        env["IPYTHONDIR"] = "/tmp/.ipython"
    else:
        tmp = workdir / ".tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
    return env


def prepare_kernel(
    base_env: dict[str, str],
    *,
    kernel_name: str = FORKED_KERNEL,
    resources: Path | None = None,
    marker: str = "",
    server: ForkServer | None = None,
    memory_limit: int = limits.MEMORY_LIMIT,
) -> PreparedKernel:
    """Start a kernel now (it boots in the background) for a submission graded later.

    With a ``server`` a Python kernel is forked by it (sandboxed if the server is); raises
    ``NoSuchKernel`` for an unknown kernel name.
    """
    folder = tempfile.TemporaryDirectory(prefix="eoslib-grade-")
    base = Path(folder.name)
    workdir, run = base / "work", base / "run"
    for sub in (workdir, run, base / "root"):
        sub.mkdir()
    if resources is not None:
        shutil.copytree(resources, workdir, dirs_exist_ok=True)
    forked = server is not None and kernel_name == FORKED_KERNEL
    sandboxed = bool(forked and server is not None and server.sandboxed)
    env = kernel_env(base_env, workdir, marker=marker, sandboxed=sandboxed,
                     stage=server.stage if forked and server is not None else None)
    if forked:
        assert server is not None
        request = {"run": str(run), "root": str(base / "root"), "memory": int(memory_limit)}
        km: AsyncKernelManager = ForkedKernelManager(
            server, request, kernel_name=kernel_name, transport="ipc", ip=str(run / "k"),
            connection_file=str(run / "kernel.json"))  # fmt: skip
    else:
        km = AsyncKernelManager(kernel_name=kernel_name)
    launch = {"env": env, "cwd": str(workdir), "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL, "stdin": subprocess.DEVNULL}  # fmt: skip
    try:
        loop().run_until_complete(km.start_kernel(**launch))
    except BaseException:
        folder.cleanup()
        raise
    return PreparedKernel(km, workdir, env, folder, sandboxed)


def discard(prepared: PreparedKernel) -> None:
    """Shut the kernel down (if it still runs) and delete its folder."""

    async def stop() -> None:
        try:
            if await prepared.km.is_alive():
                await prepared.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            await prepared.km.cleanup_resources()
        except Exception:  # noqa: BLE001
            pass

    loop().run_until_complete(stop())
    prepared.folder.cleanup()
