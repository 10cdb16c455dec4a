"""Run an unmodified confluent-kafka program inside a simulation, in virtual time.

:func:`run_program` runs a Python file as ``__main__`` (``runpy``) with its own
``sys.argv``, after :func:`installed` has made ``import confluent_kafka`` give this package
and made the program's clock the simulation's:

* ``time.time()``/``time_ns()`` read the virtual clock (0 ms = :data:`~eoslib.confluent_kafka.
  backend.EPOCH_MS`), ``time.monotonic()``/``perf_counter()`` the virtual ms as seconds,
  ``time.sleep(s)`` lets ``s`` virtual seconds pass (the cluster runs meanwhile);
* ``random`` is seeded and ``uuid.uuid4()`` drawn from a seeded generator, so a program that
  makes up a group id (``"eos_example_" + str(uuid4())``) makes the same one on every run
  with the same seed (and a new one when it is started again, as on a real machine);
* a wait without a limit ends, as a user's Ctrl-C would, in ``KeyboardInterrupt`` after
  the backend's idle bound (:class:`~eoslib.confluent_kafka.backend.Backend`).

Only the thread that runs the program sees the virtual clock: other threads of the process
(a Jupyter kernel's heartbeat) keep the real one and never move the simulation.
``datetime.now()`` and the program's own threads are not virtualised.
"""

from __future__ import annotations

import contextlib
import io
import random
import runpy
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from eoslib.confluent_kafka import backend as backends
from eoslib.confluent_kafka.surface import AppCrash

#: the modules ``import confluent_kafka...`` resolves to while a program runs
MODULES = {"confluent_kafka": "eoslib.confluent_kafka",
           "confluent_kafka.admin": "eoslib.confluent_kafka.admin",
           "confluent_kafka.error": "eoslib.confluent_kafka.errors"}


@dataclass
class Exit:
    """How a program ended: ``code`` as a shell would see it (0 ok, 1 an exception, 130
    Ctrl-C), ``error`` the exception's one-line text (None when it exited normally),
    ``crashed`` when the explorer killed it."""

    code: int
    error: str | None = None
    crashed: bool = False


@contextlib.contextmanager
def installed(b: backends.Backend, seed: int) -> Iterator[None]:
    """Inside the block: ``confluent_kafka`` is this package, every client talks to ``b``,
    and time, ``random`` and ``uuid4`` are virtual and seeded (see module docstring)."""
    import importlib

    saved_modules = {name: sys.modules.get(name) for name in MODULES}
    for name, real in MODULES.items():
        sys.modules[name] = importlib.import_module(real)
    kernel = b.sim.kernel
    ids = random.Random(seed ^ 0x5EED)
    saved_time = {n: getattr(time, n) for n in ("time", "time_ns", "monotonic",
                                                "monotonic_ns", "perf_counter",
                                                "perf_counter_ns", "sleep")}
    saved_uuid4, saved_random = uuid.uuid4, random.getstate()

    owner = threading.get_ident()

    def mine(virtual: Callable[..., Any], real: Callable[..., Any]) -> Callable[..., Any]:
        """``virtual`` for the program's thread; other threads (a Jupyter kernel's
        heartbeat, a progress bar) keep the real clock and must never move the simulation."""
        def call(*args: Any) -> Any:
            return (virtual if threading.get_ident() == owner else real)(*args)
        return call

    def sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        kernel.advance(seconds * 1000)
        b.active()  # a sleeping program is busy, not waiting for input: only --max-time
        b.checkpoint()

    virtual: dict[str, Callable[..., Any]] = {
        "time": lambda: (backends.EPOCH_MS + kernel.now) / 1000,
        "time_ns": lambda: int(round((backends.EPOCH_MS + kernel.now) * 1_000_000)),
        "monotonic": lambda: kernel.now / 1000, "perf_counter": lambda: kernel.now / 1000,
        "monotonic_ns": lambda: int(kernel.now * 1_000_000),
        "perf_counter_ns": lambda: int(kernel.now * 1_000_000), "sleep": sleep}
    for n, fn in virtual.items():
        setattr(time, n, mine(fn, saved_time[n]))
    uuid.uuid4 = mine(lambda: uuid.UUID(int=ids.getrandbits(128), version=4), saved_uuid4)
    random.seed(seed)
    try:
        with backends.use(b):
            yield
    finally:
        for n, fn in saved_time.items():
            setattr(time, n, fn)
        uuid.uuid4 = saved_uuid4
        random.setstate(saved_random)
        for name, mod in saved_modules.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def run_program(b: backends.Backend, path: str | Path, args: list[str], *,
                stdin: TextIO | None = None, process: str | None = None,
                echo_errors: bool = True) -> Exit:
    """Run the program at ``path`` with ``args`` as ``__main__`` on ``b`` (inside
    :func:`installed`); its clients are recorded as ``process``. When it ends, what a process
    exit does to its clients is done: producers are closed (queued records dropped, requests
    on the wire still land), consumers vanish without a commit or LeaveGroup (confluent-kafka
    destroys an unclosed consumer with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)."""
    path = Path(path)
    b.process = process
    first = len(b.clients)
    saved_argv, saved_path0, saved_stdin = sys.argv, sys.path[0], sys.stdin
    sys.argv = [str(path), *args]
    sys.path[0] = str(path.resolve().parent)
    if stdin is not None:
        sys.stdin = stdin
    try:
        runpy.run_path(str(path), run_name="__main__")
        out = Exit(0)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        out = Exit(code, None if code == 0 else f"SystemExit: {e.code}")
    except AppCrash as e:
        out = Exit(137, f"crashed {e}", crashed=True)
    except KeyboardInterrupt as e:
        if echo_errors:
            _print_traceback(e, path)
        out = Exit(130, f"KeyboardInterrupt: {e}")
    except Exception as e:  # the program's own failure, reported as Python would
        if echo_errors:
            _print_traceback(e, path)
        out = Exit(1, f"{type(e).__name__}: {e}")
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
        sys.path[0] = saved_path0
    exit_clients(b, b.clients[first:])
    return out


def _print_traceback(e: BaseException, path: Path) -> None:
    """The traceback Python would print for the program: its own frames (and its
    libraries'), not the runner's above them nor the simulated client's below them."""
    tb = e.__traceback__
    target = str(path.resolve())
    while tb is not None and str(Path(tb.tb_frame.f_code.co_filename).resolve()) != target:
        tb = tb.tb_next
    frames = traceback.extract_tb(tb) if tb is not None else traceback.extract_tb(
        e.__traceback__)
    inside = str(Path(__file__).resolve().parent.parent)  # the eoslib package
    cut = next((i for i, f in enumerate(frames) if i and f.filename.startswith(inside)),
               len(frames))
    print("Traceback (most recent call last):\n" + "".join(traceback.format_list(frames[:cut]))
          + "".join(traceback.format_exception_only(type(e), e)), end="", file=sys.stderr)


def exit_clients(b: backends.Backend, clients: list[Any]) -> None:
    """What a process exit does to ``clients`` (see :func:`run_program`)."""
    from eoslib.consumer import Consumer
    from eoslib.producer import Producer

    for c in clients:
        if isinstance(c, Consumer):
            c.crash()
        elif isinstance(c, Producer) and c.alive:
            Producer.close(c)


def no_input() -> TextIO:
    """An empty standard input (a program that reads it sees end of file)."""
    return io.StringIO("")
