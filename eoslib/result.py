"""The result of one run: counts, the checker's report, the history and the trace.

Every backend (the simulation, the real broker) and every consumer of results
(notebooks, widgets, exercises, the CLI) goes through :class:`Result`.

The trace is a list of :data:`TraceEvent` dicts, one per thing that happened, used to
draw timelines and to compute ``trace_digest``. Fields:

``i``      position in the trace (int)
``t``      virtual time in ms (float)
``lane``   who it happened at: ``producer-1``, ``partition out-0``, ``txn-coordinator``,
           ``group-coordinator``, ``consumer-1``, ``app-1``, ``sink``
``kind``   one of :data:`TRACE_KINDS`
``label``  a short human text, e.g. ``"m7 seq=3"`` or ``"Ongoing -> PrepareCommit"``
``flag``   ``None`` or one of ``duplicate``, ``aborted``, ``lost``, ``fenced``, ``crash``,
           ``error`` - what a timeline should make stand out
``ref``    ``None`` or a correlation key (e.g. a batch id) linking a send to its ack
``data``   (only on some events) the structured content: offsets, producer id, epoch,
           sequence, values, HW/LSO after the event, a request's sender and receiver...
           :mod:`eoslib.protocol_state` folds these into the protocol state at each step
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoslib.history import History

if TYPE_CHECKING:
    from eoslib.checker import Report

TraceEvent = dict[str, Any]

TRACE_KINDS = (
    "send",  # a client put a request on the wire
    "request",  # a request reached its receiver (data: sender, receiver, send time)
    "response",  # a response reached the client (data: as for request)
    "retry",  # a client re-sent a request after a timeout or retriable error
    "ack",  # a client received a success response
    "error",  # a client received an error response
    "append",  # a partition leader appended a batch (offsets in label)
    "dedup",  # a partition leader recognised a duplicate batch and appended nothing
    "reject",  # a partition leader or coordinator refused a request
    "marker",  # a COMMIT/ABORT control record was written
    "lost",  # the network dropped a request or a response
    "timeout",  # a client gave up waiting for a response
    "crash",  # a process died
    "restart",  # a process started again
    "state",  # a coordinator changed state
    "fence",  # an epoch bump fenced an older producer
    "poll",  # a consumer returned records to the application
    "seek",  # the application moved a consumer's position
    "commit",  # offsets were committed (or sent to a transaction)
    "write",  # the application wrote to the sink
    "rebalance",  # the consumer group changed generation
    "replicate",  # followers caught up; the high watermark moved
    "leader",  # a partition elected a new leader
)


#: how a result's header names each client (``config["client"]``)
CLIENT_NAMES = {"librdkafka": "librdkafka (confluent-kafka)", "java": "Java (kafka-clients)"}


def client_line(config: dict[str, Any]) -> str:
    """``client: librdkafka (confluent-kafka)``: the client whose semantics a run follows."""
    client = config.get("client")
    return f"client: {CLIENT_NAMES.get(str(client), client or 'not recorded')}"


def digest(trace: list[TraceEvent]) -> str:
    """SHA-256 of the canonical JSON of a trace: equal traces, equal digests."""
    h = hashlib.sha256()
    for ev in trace:
        h.update(json.dumps(ev, sort_keys=True, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class Result:
    """What a scenario run returns.

    ``counts`` always holds at least: ``duplicates``, ``lost``, ``aborted_reads``,
    ``uncommitted_reads``, ``processed_twice``, ``reordered``, ``fenced``,
    ``txn_committed``, ``txn_aborted``, ``lso_lag_ms``.
    """

    scenario: str
    seed: int
    messages: int
    config: dict[str, Any]
    faults: dict[str, Any]
    counts: dict[str, Any]
    report: Report
    history: History
    trace: list[TraceEvent] = field(default_factory=list)
    backend: str = "sim"
    #: how many requests of each API the run sent (``{"produce": 4, ...}``): the explorer
    #: places faults on them
    requests: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        """The client it ran (first line), then the checker's verdict."""
        return f"{client_line(self.config)}\n{self.report}"

    @property
    def trace_digest(self) -> str:
        """Hash of the full trace (see :func:`digest`)."""
        return digest(self.trace)

    def to_json(self, *, include_trace: bool = False) -> dict[str, Any]:
        """A JSON-ready dict: the counts at top level, then config, faults, report."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "backend": self.backend,
            "seed": self.seed,
            "messages": self.messages,
            **self.counts,
            "trace_digest": self.trace_digest,
            "trace_events": len(self.trace),
            "config": self.config,
            "faults": self.faults,
            "report": self.report.to_json(),
        }
        if include_trace:
            out["trace"] = self.trace
            out["history"] = self.history.to_json()
        return out
