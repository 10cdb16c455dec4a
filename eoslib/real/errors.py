"""The two exceptions of the real-broker mode.

Problems raise :class:`BrokerError` with a one-line message; a missing prerequisite raises
:class:`NeedsError`, whose message starts with "needs" (tests turn it into a skip).
"""

from __future__ import annotations


class BrokerError(RuntimeError):
    """The broker could not be fetched, started, stopped or reached (one-line message)."""


class NeedsError(BrokerError):
    """A prerequisite is missing; the message starts with "needs" (tests skip on it)."""
