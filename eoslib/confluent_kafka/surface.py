"""What the simulated Producer and Consumer share: configuration, the call decorator, bytes.

Every public client method is wrapped by :func:`api`: a simulator ``KafkaException`` leaves
it as confluent-kafka's (:func:`eoslib.confluent_kafka.errors.lift`), the backend counts the
call (the explorer crashes the program between two calls), and once the program has
crashed (:class:`AppCrash`) no client call does anything but crash again - as a dead
process's ``finally:`` blocks cannot reach the cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from eoslib import errors as core
from eoslib.confluent_kafka.backend import Backend
from eoslib.confluent_kafka.errors import KafkaException, lift

F = TypeVar("F", bound=Callable[..., Any])


class AppCrash(BaseException):  # noqa: N818 - a process death, not an error
    """The program's process died here (raised by the explorer's hook; a BaseException so
    the program's ``except Exception`` cannot catch it)."""


def conf_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """confluent-kafka's ways to pass a configuration: a dict, keyword arguments, or both
    (the keywords win), as ``common_conf_setup`` merges them."""
    if len(args) > 1:
        raise TypeError("expected tuple containing single dict")
    if args and not isinstance(args[0], Mapping):
        raise TypeError("expected configuration dict")
    if not args and not kwargs:
        raise TypeError("expected configuration dict")
    conf = dict(args[0]) if args else {}
    conf.update(kwargs)
    return conf


def to_bytes(v: Any, what: str) -> bytes | None:
    """A key or value as librdkafka sends it: bytes as given, a str as UTF-8, None as null
    (anything else is the TypeError confluent-kafka raises)."""
    if v is None or isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, bytearray | memoryview):
        return bytes(v)
    raise TypeError(f"a bytes-like object is required, not '{type(v).__name__}'")


def headers_of(headers: Any) -> dict[str, bytes | None] | None:
    """A produce() ``headers`` argument (a dict or a list of ``(str, str|bytes|None)``
    pairs) as the simulator stores it; a repeated key keeps its last value."""
    if headers is None:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, bytes | None] = {}
    for item in items:
        k, v = item
        if not isinstance(k, str):
            raise TypeError(f"expected header key to be str, not {type(k).__name__}")
        out[k] = to_bytes(v, "header value")
    return out


def ms(timeout: float | None) -> float | None:
    """A confluent-kafka timeout in seconds (None or negative: infinite) as ms or None."""
    return None if timeout is None or timeout < 0 else timeout * 1000


#: how long an unbounded wait lasts when the backend sets no idle bound (virtual ms)
UNBOUNDED_MS = 300_000.0


def wait(backend: Backend, done: Callable[[], bool], timeout_ms: float | None) -> bool:
    """Run the simulation until ``done()`` or ``timeout_ms`` (None: no limit). A wait with
    no limit ends, like a user's Ctrl-C, at the backend's idle or time bound
    (:meth:`Backend.checkpoint` raises); without a bound, after 300 s of virtual time."""
    kernel = backend.sim.kernel
    if timeout_ms is None and backend.idle_exit_s is None and backend.max_s is None:
        timeout_ms = UNBOUNDED_MS
    deadline = None if timeout_ms is None else kernel.now + timeout_ms
    while not done():
        left = None if deadline is None else (deadline - kernel.now) / 1000
        if left is not None and left <= 0:
            break
        step = backend.wait_slice_s(left)
        kernel.run_until(done, None if step is None else step * 1000)
        if not done():
            backend.checkpoint()
    return done()


def api(name: str, counted: Callable[[Any], bool] | None = None) -> Callable[[F], F]:
    """Decorate a client method (see module docstring); ``counted(result)`` says whether
    this call counts as a call of ``name`` (e.g. a poll that returned something). Every
    counted call, and every call that raised, resets the backend's idle clock: only empty
    polls are idle time."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            backend: Backend = self._backend
            if backend.crashed is not None:
                raise AppCrash(backend.crashed)
            try:
                out = fn(self, *args, **kwargs)
            except core.KafkaException as e:
                err = e if isinstance(e, KafkaException) else KafkaException(lift(e.args[0]))
                backend.active()
                backend.called(name, err.args[0].name())
                if err is e:
                    raise
                raise err from None
            if counted is None or counted(out):
                backend.active()  # the program got something: it is not idle
                backend.called(name, "ok")
            return out

        return wrapper  # type: ignore[return-value]

    return deco
