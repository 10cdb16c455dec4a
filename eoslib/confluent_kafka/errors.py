"""confluent-kafka's ``KafkaError`` and ``KafkaException`` over the simulator's errors.

The simulated clients raise :class:`eoslib.errors.KafkaException` carrying an
:class:`eoslib.errors.KafkaError`; at the surface of :mod:`eoslib.confluent_kafka` each error
is *lifted* into this module's classes (subclasses of those), which behave like
confluent-kafka 2.x's: ``KafkaError(code, reason=None, fatal=False, retriable=False,
txn_requires_abort=False)``, a class attribute per librdkafka error code
(``KafkaError._PARTITION_EOF``...), comparison and hashing by code, and
``KafkaError{code=...,val=...,str="..."}`` as text (``KafkaError_str0`` in
confluent-kafka's src/confluent_kafka/src/confluent_kafka.c).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from eoslib import errors as core
from eoslib.confluent_kafka.codes import CODES

NAME_OF: dict[int, str] = {code: name for name, (code, _) in CODES.items()}
F = TypeVar("F", bound=Callable[..., Any])


class KafkaError(core.KafkaError):
    """An error as confluent-kafka's ``KafkaError`` shapes it (see module docstring)."""

    __slots__ = ("_code",)

    def __init__(self, error: int | str, reason: str | None = None, fatal: bool = False,
                 retriable: bool = False, txn_requires_abort: bool = False) -> None:
        if isinstance(error, str):
            if error not in CODES:
                raise ValueError(f"unknown librdkafka error name {error!r}")
            error = CODES[error][0]
        if isinstance(error, bool) or not isinstance(error, int):
            raise TypeError(f"expected an error code (int), not {type(error).__name__}")
        self._code = error
        self._name = NAME_OF.get(error, f"ERR_{error}?")
        self._msg = reason if reason is not None else (
            CODES[self._name][1] if self._name in CODES else f"Err-{error}?")
        self._fatal = bool(fatal)
        self._retriable = bool(retriable)
        self._abortable = bool(txn_requires_abort)

    def code(self) -> int:
        """The error code (negative: librdkafka's local errors)."""
        return self._code

    def __eq__(self, other: object) -> bool:
        if isinstance(other, core.KafkaError):
            return self._code == other.code()
        if isinstance(other, int):
            return self._code == other
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        return self._code < _code(other)

    def __le__(self, other: object) -> bool:
        return self._code <= _code(other)

    def __gt__(self, other: object) -> bool:
        return self._code > _code(other)

    def __ge__(self, other: object) -> bool:
        return self._code >= _code(other)

    def __hash__(self) -> int:
        return self._code

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        fatal = "FATAL," if self._fatal else ""
        return f'KafkaError{{{fatal}code={self._name},val={self._code},str="{self._msg}"}}'

    __repr__ = __str__


for _name, (_value, _) in CODES.items():
    setattr(KafkaError, _name, _value)


def _code(other: object) -> int:
    if isinstance(other, core.KafkaError):
        return other.code()
    if isinstance(other, int):
        return other
    raise TypeError(f"cannot compare KafkaError with {type(other).__name__}")


class KafkaException(core.KafkaException):
    """confluent-kafka's ``KafkaException``: ``args[0]`` is usually a :class:`KafkaError`.
    A subclass of the simulator's, so ``except KafkaException`` catches both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Exception.__init__(self, *args)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def lift(err: core.KafkaError | None) -> KafkaError | None:
    """The simulator's error as confluent-kafka shows it (same code, text and flags; the
    name is librdkafka's for that code, e.g. ``NOT_LEADER_FOR_PARTITION`` for 6)."""
    if err is None or isinstance(err, KafkaError):
        return err
    return KafkaError(err.code(), err.str(), fatal=err.fatal(), retriable=err.retriable(),
                      txn_requires_abort=err.txn_requires_abort())


def lifted(fn: F) -> F:
    """Decorate a client method: a simulator ``KafkaException`` leaving it is raised again
    as :class:`KafkaException` carrying the lifted error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except core.KafkaException as e:
            if isinstance(e, KafkaException):
                raise
            raise KafkaException(lift(e.args[0])) from None

    return wrapper  # type: ignore[return-value]
