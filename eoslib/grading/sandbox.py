"""OS isolation for a grading kernel or judge: Linux namespaces, entered by a forked child.

:func:`enter` (called in a freshly forked, single-threaded child of the fork server) puts the
process in new user, mount, PID, network, IPC and UTS namespaces and builds it a root file
system of its own:

* read-only: the system (``/usr``, ``/etc``, ``/bin``...), the Python installation and its
  site-packages, and the staged copy of eoslib (:mod:`eoslib.grading.stage`), each at its
  usual path; nothing else of the grading machine (no checkout, no ``solutions/``, no other
  submission, no grader files, no home directory);
* writable: its own working directory and kernel-connection folder (bound at the same
  paths), a private ``/tmp`` and ``/dev/shm`` (size-limited ``tmpfs``), minimal ``/dev``;
* its own ``/proc`` (it sees only its own processes), no network but loopback (the kernel
  talks to the grader over Unix sockets in its connection folder).

The caller becomes PID 1's parent and reaper outside the new PID namespace; the process that
returns from :func:`enter` is PID 1 inside it, with every capability dropped,
``no_new_privs`` set and a parent-death signal, so killing it (or the server) ends everything
the submission started. Works as root and, where the kernel allows unprivileged user
namespaces (Debian and Fedora by default), as any user: :func:`available` says.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_ST_TO_MS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME,
             2048: MS_NODIRATIME, 4096: MS_RELATIME}  # fmt: skip
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
NEEDS = ("needs Linux user namespaces for the grader's sandbox (run as root, or allow "
         "unprivileged ones: sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ "
         "kernel.apparmor_restrict_unprivileged_userns=0)")  # fmt: skip


class SandboxError(Exception):
    """The sandbox could not be set up (the message names the step)."""


@dataclass
class Spec:
    """What the sandboxed process sees: read-only paths, writable paths, its working dir."""

    root: str  #: an empty directory to build the new root on
    readonly: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    workdir: str = "/tmp"
    tmp_size: str = "512m"


_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: object) -> int:
    result = getattr(_libc, name)(*args)
    if result != 0:
        error = ctypes.get_errno()
        raise SandboxError(f"{name}{args!r}: {os.strerror(error)}")
    return result


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    enc = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    _call("mount", enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3])


def python_paths() -> list[str]:
    """The Python installation and site-packages this interpreter runs from."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.dirname(os.path.realpath(sys.executable))}  # fmt: skip
    for entry in sys.path:
        if entry and os.path.isdir(entry) and "site-packages" in entry:
            paths.add(os.path.realpath(entry))
    if os.path.islink(sys.prefix):
        paths.add(sys.prefix)
    return sorted(paths)


def _locked_flags(path: str) -> int:
    """Mount flags of ``path`` a user namespace may not clear (kept on a read-only remount)."""
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _ST_TO_MS.items() if flags & st)


def _bind(source: str, root: str, readonly: bool) -> None:
    if os.path.islink(source):
        target = root + source
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return
    if not os.path.exists(source):
        return
    target = root + source
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(target)
        _mount(None, target, None, flags)


def _covered(path: str, done: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in done)


def _build_root(spec: Spec) -> None:
    root = spec.root
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    os.makedirs(root + "/tmp")
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec.tmp_size},mode=1777")  # fmt: skip
    done: list[str] = []
    for path in list(SYSTEM) + sorted(spec.readonly, key=len):
        real = path if os.path.islink(path) else os.path.realpath(path)
        if not _covered(real, done):
            _bind(path, root, readonly=True)
            done.append(path)
    _build_dev(root, spec.tmp_size)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in spec.writable:
        _bind(path, root, readonly=False)


def _build_dev(root: str, size: str) -> None:
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID, "size=1m,mode=0755")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            open(f"{dev}/{name}", "a").close()
            _mount("/dev/" + name, f"{dev}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.makedirs(dev + "/shm")
    _mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")


def _pivot(root: str) -> None:
    os.chdir(root)
    number = _PIVOT_ROOT.get(platform.machine())
    if number is not None:
        _call("syscall", ctypes.c_long(number), b".", b".")
        _call("umount2", b".", ctypes.c_int(MNT_DETACH))
    else:  # an unknown architecture: chroot (escaping needs CAP_SYS_CHROOT, dropped below)
        os.chroot(".")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _drop_capabilities() -> None:
    _call("prctl", PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0)
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        last = 40
    for cap in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2): all empty
    _call("capset", header, data)


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def enter(spec: Spec, on_child: object = None) -> None:
    """Isolate this (forked, single-threaded) process; return in PID 1 of the sandbox.

    The calling process stays outside as the sandbox's parent: it calls ``on_child(pid)``
    with the sandboxed process's PID (as seen outside), waits for it and exits with its
    status; it never returns. Raises :class:`SandboxError` before forking if a namespace
    cannot be created.
    """
    uid, gid = os.getuid(), os.getgid()
    _call("unshare", ctypes.c_int(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
                                  | CLONE_NEWIPC | CLONE_NEWUTS))  # fmt: skip
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")
    pid = os.fork()
    if pid:
        try:
            if callable(on_child):
                on_child(pid)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except BaseException:  # noqa: BLE001 - the reaper must not return
            code = 1
        os._exit(code if code >= 0 else 128 - code)
    _call("prctl", PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _build_root(spec)
    _pivot(spec.root)
    _libc.sethostname(b"grading", 7)
    _drop_capabilities()
    os.chdir(spec.workdir)


_AVAILABLE: bool | None = None


def available() -> bool:
    """Whether :func:`enter` can work here (Linux, user namespaces allowed); cached."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = sys.platform.startswith("linux") and _probe()
    return _AVAILABLE


def _probe() -> bool:
    """Build a whole sandbox once (namespaces, mounts, /proc, pivot) in a throw-away child."""
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="eoslib-probe-")
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                enter(Spec(root=root, readonly=python_paths()))
                code = 0  # here only inside the sandbox: it worked
            except BaseException:  # noqa: BLE001
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
