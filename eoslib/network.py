"""Requests and responses between clients and brokers, with latency and injected faults.

Produce requests travel on a :class:`Connection`, one per (client, broker), with Kafka's
ordering rules: the broker handles one request of a connection at a time, in order, and
responses come back in that order. So when a response is lost, every later response on
that connection waits behind it until the client's ``request.timeout.ms`` fires; the
client then drops the connection and every request still in flight on it fails and is
retried. (This is why ``max.in.flight.requests.per.connection <= 5`` matches the
broker's cache of 5 batches: a retry never falls out of the cache.)

Lost requests never reach the broker; lost responses leave the broker's work done and the
client in the dark — exactly how retries create duplicates. A request lost on an ordered
connection means the TCP connection died: the requests sent after it on that connection are
lost too, until the client's timeout drops the connection and it retries them in order on a
new one (without this, a later batch could reach the broker before a lost earlier one, which
TCP never does).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eoslib.faults import FaultInjector

if TYPE_CHECKING:
    from eoslib.kernel import Kernel

Response = dict[str, Any]
Handler = Callable[[Callable[[Response], None]], None]
_PENDING = object()
_LOST = object()

#: Who answers each API (the receiver's trace lane); Produce goes to the partition's lane.
API_LANES: dict[str, str] = {
    "init_pid": "txn-coordinator", "add_partitions": "txn-coordinator",
    "add_offsets": "txn-coordinator", "end_txn": "txn-coordinator",
    "txn_offset_commit": "group-coordinator", "offset_commit": "group-coordinator",
}
#: Kafka's name of each API, for arrow labels.
API_NAMES: dict[str, str] = {
    "produce": "Produce", "init_pid": "InitProducerId", "add_partitions": "AddPartitionsToTxn",
    "add_offsets": "AddOffsetsToTxn", "end_txn": "EndTxn",
    "txn_offset_commit": "TxnOffsetCommit", "offset_commit": "OffsetCommit",
}


def response_text(resp: Any) -> str:
    """A response in a few words: ``ok``, ``offset 3``, ``offset 0 (duplicate)``, an error."""
    if not isinstance(resp, dict):
        return "ok"
    if resp.get("error"):
        return str(resp["error"])
    if "base_offset" in resp:
        return f"offset {resp['base_offset']}" + (" (duplicate)" if resp.get("duplicate")
                                                  else "")
    if "pid" in resp:
        return f"pid={resp['pid']} epoch={resp.get('epoch')}"
    return "ok"


def _ignore(resp: Response) -> None:
    """A response nobody waits for."""


class Call:
    """One request in flight."""

    __slots__ = ("api", "done", "timed_out", "label", "response", "on_response",
                 "on_timeout", "handler", "lose_req", "lose_resp", "delay", "respond",
                 "silenced")

    def __init__(self, api: str, label: str) -> None:
        self.api = api
        self.done = False
        self.timed_out = False
        self.label = label
        self.response: Any = _PENDING
        self.on_response: Callable[[Response], None] = _ignore
        self.on_timeout: Callable[[], None] | None = None
        self.handler: Handler | None = None
        self.lose_req = False
        self.lose_resp = False
        self.delay = 0.0
        self.respond: Callable[[Response], None] = _ignore
        self.silenced = False  # its handler died before answering (a placed ``kill``)


class Connection:
    """An ordered client-broker connection (see module docstring)."""

    __slots__ = ("inflight", "broker_queue", "broker_busy", "closed", "broken")

    def __init__(self) -> None:
        self.inflight: deque[Call] = deque()  # client side, in send order
        self.broker_queue: deque[Call] = deque()  # arrived, waiting to be handled
        self.broker_busy = False
        self.closed = False
        # a request on it was lost: over TCP that means the connection died, so nothing sent
        # after it arrives either, until the client times out and reconnects
        self.broken = False


class Network:
    """Delivers calls between clients and brokers (see module docstring)."""

    def __init__(self, kernel: Kernel, injector: FaultInjector, latency: float,
                 broker_alive: Callable[[int], bool]) -> None:
        self.kernel = kernel
        self.injector = injector
        self.latency = latency
        self.broker_alive = broker_alive
        self._conns: dict[tuple[str, int], Connection] = {}
        self._handling: Call | None = None  # the request whose handler is running

    def fault_point(self, where: str) -> bool:
        """A place where a placed ``kill`` can strike (:data:`eoslib.faults.KILL_POINTS`):
        True when the plan kills the process here. The request being handled then gets no
        answer: its handler died before sending one."""
        if not self.injector.at(where):
            return False
        if self._handling is not None:
            self._handling.silenced = True
        return True

    def _handle(self, call: Call, handler: Handler, respond: Callable[[Response], None]
                ) -> None:
        outer, self._handling = self._handling, call
        try:
            handler(respond)
        finally:
            self._handling = outer

    def call(
        self,
        lane: str,
        api: str,
        broker: int,
        handler: Handler,
        on_response: Callable[[Response], None],
        *,
        timeout: float,
        on_timeout: Callable[[], None] | None = None,
        client_alive: Callable[[], bool] = lambda: True,
        label: str = "",
        ref: str | None = None,
        ordered: bool | None = None,
        to: str | None = None,
    ) -> Call:
        """Send a request; ``on_response`` or ``on_timeout`` runs exactly once, if the
        client is still alive then. Produce requests are ``ordered`` by default.

        ``to`` is the receiver's trace lane (default: :data:`API_LANES`). The trace gets
        one ``request`` event when the request arrives, one ``response`` event when the
        answer reaches the client, and a ``lost`` event for either one dropped; their
        ``data`` name sender, receiver and send time (the Lamport view's arrows)."""
        call = Call(api, label)
        call.lose_req, call.lose_resp, call.delay = self.injector.decide(api)
        call.on_response, call.on_timeout, call.handler = on_response, on_timeout, handler
        k = self.kernel
        dest = to or API_LANES.get(api) or f"broker {broker}"
        name = API_NAMES.get(api, api)
        sent = k.now
        resp_sent = [sent]

        def msg(direction: str, t0: float, lost: bool = False, **extra: Any) -> dict[str, Any]:
            src, dst = (lane, dest) if direction == "request" else (dest, lane)
            return {"msg": direction, "api": name, "from": src, "to": dst,
                    "sent": round(t0, 3), "lost": lost, "text": label, **extra}

        if ordered is None:
            ordered = api == "produce"
        conn: Connection | None = None
        if ordered:
            key = (lane, broker)
            conn = self._conns.get(key)
            if conn is None or conn.closed:
                conn = self._conns[key] = Connection()
            conn.inflight.append(call)

        def respond(resp: Response) -> None:
            if not self.broker_alive(broker) or call.silenced:
                return  # a dead broker (or a handler killed mid-request) sends nothing
            resp_sent[0] = k.now
            if call.lose_resp:
                k.emit(lane, "lost", f"response to {label} lost", flag="lost", ref=ref,
                       data=msg("response", k.now, True, reply=response_text(resp),
                                at=round(k.now + self.latency / 2, 3))
                       if k.tracing else None)
                resp_value: Any = _LOST
            else:
                resp_value = resp
            k.schedule(self.latency + call.delay, deliver, resp_value)
            if conn is not None:
                conn.broker_busy = False
                k.schedule(0, broker_next)

        def deliver(resp: Any) -> None:
            if k.tracing and resp is not _LOST:
                stale = call.done or not client_alive()
                k.emit(lane, "response", f"{name} response: {response_text(resp)}"
                       + (" (ignored)" if stale else ""), ref=ref,
                       data=msg("response", resp_sent[0], reply=response_text(resp),
                                ignored=stale))
            if call.done or not client_alive():
                return
            if conn is None:
                if resp is not _LOST:
                    call.done = True
                    on_response(resp)
                return
            call.response = resp
            # hand out responses in order; a lost one blocks the rest until the timeout
            while conn.inflight and conn.inflight[0].response is not _PENDING \
                    and conn.inflight[0].response is not _LOST:
                head = conn.inflight.popleft()
                if not head.done:
                    head.done = True
                    head.on_response(head.response)

        def broker_next() -> None:
            assert conn is not None
            if conn.broker_busy or not conn.broker_queue or conn.closed:
                return
            nxt = conn.broker_queue.popleft()
            conn.broker_busy = True
            assert nxt.handler is not None
            self._handle(nxt, nxt.handler, nxt.respond)

        def arrive() -> None:
            died = conn is not None and conn.broken and not call.lose_req
            if died:
                call.lose_req = True  # behind a lost request on a dead connection
            if call.lose_req:
                label_lost = (f"request {label} lost (its connection died)" if died
                              else f"request {label} lost")
                if conn is not None:
                    conn.broken = True
                k.emit(lane, "lost", label_lost, flag="lost", ref=ref,
                       data=msg("request", sent, True, at=round(sent + self.latency / 2, 3))
                       if k.tracing else None)
                return
            if not self.broker_alive(broker):
                return
            if k.tracing:
                k.emit(dest, "request", name if label in ("", name) else f"{name} {label}",
                       ref=ref,
                       data=msg("request", sent))
            if conn is None:
                self._handle(call, handler, respond)
                return
            if conn.closed:
                return  # the client dropped this connection before the request arrived
            conn.broker_queue.append(call)
            broker_next()

        def expire() -> None:
            if call.done or not client_alive():
                return
            if conn is None:
                call.done = True
                call.timed_out = True
                if on_timeout is not None:
                    on_timeout()
                return
            # drop the connection: everything still in flight on it fails
            conn.closed = True
            conn.broker_queue.clear()
            pending = [c for c in conn.inflight if not c.done]
            conn.inflight.clear()
            for c in pending:
                c.done = True
                c.timed_out = True
                if c.on_timeout is not None:
                    c.on_timeout()

        call.respond = respond
        k.schedule(self.latency, arrive)
        k.schedule(timeout, expire)
        return call

