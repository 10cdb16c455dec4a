"""A small Kafka-aware TCP proxy that can lose Produce acknowledgements and hold a request.

It sits in front of the broker's ``PROXIED`` listener (see :mod:`eoslib.real.broker`).
Kafka's wire protocol frames every request and response as a 4-byte big-endian length
followed by the payload. A request header starts with ``api_key`` (int16), ``api_version``
(int16) and ``correlation_id`` (int32); a response starts with the ``correlation_id``. The
proxy remembers, per connection, which api_key each correlation_id belongs to, forwards
everything unchanged, and on command (:meth:`FaultProxy.drop_produce_response`) swallows
the response to the N-th Produce request (api_key 0) and cuts the client's connection.

The broker has appended the batch by the time it answers, so the client sees a produce that
may or may not have been written, and retries it: the lost-acknowledgement fault.

On command (:meth:`FaultProxy.hold_request`) it also *holds* the N-th request of an API (e.g.
EndTxn, api_key 26) instead of forwarding it: the client times out and retries on a new
connection. :meth:`FaultProxy.release_held` later delivers the held bytes to the broker on a
fresh connection and reads the broker's error code from the answer: a request delayed in
the network that arrives after its retry (the fault of KAFKA-17754 and KIP-890).

On command (:meth:`FaultProxy.refuse_produce`) it *refuses* the N-th Produce request: the
request never reaches the broker, and the proxy answers it as the broker answers a batch it
refuses before appending it (:func:`eoslib.real.produce_wire.refusal`; NOT_ENOUGH_REPLICAS by
default), once the client's next Produce request on that connection is on its way: the
refused request is still in flight when the client sends the next one, as over a slow link.
(A single broker cannot refuse NOT_ENOUGH_REPLICAS itself: Kafka's
``Partition.effectiveMinIsr`` caps ``min.insync.replicas`` at the replica count, so a
replication-factor-1 topic with ``min.insync.replicas=2`` takes acks=all writes; tried on
Kafka 4.1.1, 2026-12-06. Not forwarding the request leaves the broker as a refusal does:
nothing appended, no producer state.)

It runs an asyncio loop in a background thread; use it as a context manager::

    with FaultProxy(listen_port=st.proxy_advertised_port,
                    target_port=st.proxied_listener_port) as proxy:
        proxy.drop_produce_response(3)
        ...
        assert proxy.dropped == 1
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eoslib.real.produce_wire import NOT_ENOUGH_REPLICAS, answers, batches, refusal

PRODUCE = 0  # api_key of a Produce request
END_TXN = 26  # api_key of an EndTxn request
HOST = "127.0.0.1"
#: the first flexible (KIP-482: tagged fields in the response header) version of each API
#: whose answer :meth:`FaultProxy.release_held` reads
FLEXIBLE_FROM = {END_TXN: 3}


@dataclass
class ProxyStats:
    """What the proxy saw and did (read it after the run)."""

    connections: int = 0
    requests: int = 0
    produce_requests: int = 0
    dropped: int = 0  # Produce responses swallowed
    cut: int = 0  # client connections cut after a swallowed response
    dropped_correlation_ids: list[int] = field(default_factory=list)
    by_api: dict[int, int] = field(default_factory=dict)  # api_key -> requests seen
    held: int = 0  # requests held back (not forwarded)
    refused: int = 0  # Produce requests answered with an error by the proxy (not forwarded)
    refused_correlation_ids: list[int] = field(default_factory=list)
    not_refused: list[str] = field(default_factory=list)  # why a refusal was not possible
    #: every Produce request's record batches (:func:`~eoslib.real.produce_wire.batches`),
    #: each with ``request`` (its number, from 1), ``refused`` (answered by the proxy) and,
    #: once answered, the answer's ``error_code``, ``base_offset`` and ``error_message``
    #: (:func:`~eoslib.real.produce_wire.answers`; the refusal's code for a refused one)
    produce_batches: list[dict[str, Any]] = field(default_factory=list)
    api_versions: dict[int, set[int]] = field(default_factory=dict)  # api_key -> versions


@dataclass
class _Refusal:
    """A refused request's answer, written once released and every earlier request of the
    connection is answered (a broker answers a connection's requests in order)."""

    answer: bytes
    before: set[int]  # correlation ids forwarded earlier and not yet answered
    released: bool = False


@dataclass
class _Conn:
    """One client connection's bookkeeping, shared by its two directions."""

    client: asyncio.StreamWriter
    pending: dict[int, int] = field(default_factory=dict)  # correlation_id -> api_key
    #: correlation_id -> (api_version, request number) of each forwarded Produce
    produce: dict[int, tuple[int, int]] = field(default_factory=dict)
    doomed: set[int] = field(default_factory=set)  # correlation_ids whose answer is lost
    refusals: list[_Refusal] = field(default_factory=list)  # oldest first

    def flush(self) -> None:
        """Write every released refusal whose turn has come."""
        while self.refusals and self.refusals[0].released and not self.refusals[0].before:
            answer = self.refusals.pop(0).answer
            if not self.client.is_closing():
                self.client.write(answer)


class FaultProxy:
    """Forward ``127.0.0.1:listen_port`` to ``127.0.0.1:target_port``, losing acks on demand."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._drop_at: set[int] = set()  # produce request numbers (1-based) to lose
        self._hold_at: set[tuple[int, int]] = set()  # (api_key, request number) to hold
        self._held: list[bytes] = []  # held request frames, oldest first
        self._refuse_at: dict[int, tuple[int, float]] = {}  # produce number -> (code, wait)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----------------------------------------------------------------- public API

    @property
    def dropped(self) -> int:
        """How many Produce responses were swallowed so far."""
        return self.stats.dropped

    def drop_produce_response(self, nth: int) -> None:
        """Lose the response to the ``nth`` Produce request from now on (1 = the next one)."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        with self._lock:
            self._drop_at.add(self.stats.produce_requests + nth)

    def hold_request(self, api_key: int, nth: int = 1) -> None:
        """Hold (do not forward) the ``nth`` request of ``api_key`` from now on.

        Later requests on that connection are still forwarded, and their answers reach the
        client before the held one's, which no broker does (it answers a connection's
        requests in order): Kafka's Java client then fails the connection with a
        ``CorrelationIdMismatchException`` (seen 2026-12-06 holding a Produce). Hold a
        request nothing else follows on its connection until the client gives it up."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        with self._lock:
            self._hold_at.add((api_key, self.stats.by_api.get(api_key, 0) + nth))

    def refuse_produce(self, nth: int, error_code: int = NOT_ENOUGH_REPLICAS,
                       wait: float = 1.0) -> None:
        """Refuse the ``nth`` Produce request from now on (1 = the next one) with
        ``error_code`` for each of its partitions: it is not forwarded, and the proxy answers
        it as the broker answers a batch refused before it is appended. The answer is sent
        when the client's next Produce request on that connection arrives (so both are in
        flight), or after ``wait`` seconds, and never before the answers to earlier
        requests (so not on a connection with an unanswered acks=0 Produce: it has none)."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        if wait < 0:
            raise ValueError(f"wait must be >= 0 seconds, got {wait}")
        with self._lock:
            self._refuse_at[self.stats.produce_requests + nth] = (error_code, wait)

    @property
    def holding(self) -> int:
        """How many held requests wait to be released."""
        with self._lock:
            return len(self._held)

    def release_held(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Deliver every held request to the broker, each on a fresh connection, oldest
        first; return, per request, ``api_key``, ``api_version`` and the broker's
        ``error_code`` (read from the answer; ``None`` for an API whose answer layout is not
        known here)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the proxy is not running")
        with self._lock:
            frames, self._held = self._held, []
        out = []
        for frame in frames:
            fut = asyncio.run_coroutine_threadsafe(self._deliver(frame), loop)
            out.append(fut.result(timeout))
        return out

    async def _deliver(self, frame: bytes) -> dict[str, Any]:
        api_key, version, _corr = struct.unpack_from(">hhi", frame, 4)
        reader, writer = await asyncio.open_connection(HOST, self.target_port)
        try:
            writer.write(frame)
            await writer.drain()
            answer = await _read_frame(reader)
        finally:
            writer.close()
        code = None
        if answer is not None and api_key in FLEXIBLE_FROM:
            # size(4) correlation_id(4) [tagged fields: an empty set is one 0 byte]
            # throttle_time_ms(4) error_code(2)
            at = 4 + 4 + (1 if version >= FLEXIBLE_FROM[api_key] else 0) + 4
            (code,) = struct.unpack_from(">h", answer, at)
        return {"api_key": api_key, "api_version": version, "error_code": code}

    def start(self) -> FaultProxy:
        """Start listening (returns once the port is bound)."""
        self._thread = threading.Thread(target=self._run, name="eoslib-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise OSError(f"proxy could not listen on {HOST}:{self.listen_port}: {self._error}")
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and stop the thread."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._shutdown)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- internals

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, HOST, self.listen_port, reuse_address=True)
            )
        except OSError as e:
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        assert self._loop is not None
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        self._loop.call_later(0.05, self._loop.stop)

    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        try:
            breader, bwriter = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            cwriter.close()
            self._tasks.discard(task)
            return
        conn = _Conn(cwriter)
        up = asyncio.ensure_future(self._requests(creader, bwriter, conn))
        down = asyncio.ensure_future(self._responses(breader, conn))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            for t in (up, down):
                t.cancel()
            for w in (cwriter, bwriter):
                w.close()
            self._tasks.discard(task)

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        conn: _Conn,
    ) -> None:
        """Client -> broker: note each request's api_key, forward it unchanged."""
        while True:
            frame = await _read_frame(reader)
            if frame is None:
                return
            api_key, version, corr = struct.unpack_from(">hhi", frame, 4)
            self.stats.requests += 1
            if api_key == PRODUCE:
                for r in conn.refusals:  # the client's next Produce is on its way
                    r.released = True
                conn.flush()
            with self._lock:
                self.stats.api_versions.setdefault(api_key, set()).add(version)
                n = self.stats.by_api[api_key] = self.stats.by_api.get(api_key, 0) + 1
                hold = (api_key, n) in self._hold_at
                if hold:
                    self._hold_at.discard((api_key, n))
                    self._held.append(frame)
                    self.stats.held += 1
            if hold:
                continue  # never forwarded now: the client waits, times out, retries
            if api_key == PRODUCE:
                with self._lock:
                    self.stats.produce_requests += 1
                    if self.stats.produce_requests in self._drop_at:
                        self._drop_at.discard(self.stats.produce_requests)
                        conn.doomed.add(corr)
                    refuse = self._refuse_at.pop(self.stats.produce_requests, None)
                    n_produce = self.stats.produce_requests
                refused = refuse is not None and self._refuse(frame, corr, conn, *refuse)
                self._note_batches(frame, n_produce, refuse[0] if refused and refuse else None)
                if refused:
                    continue  # never forwarded
                conn.produce[corr] = (version, n_produce)
            conn.pending[corr] = api_key
            writer.write(frame)
            await writer.drain()

    async def _responses(
        self,
        reader: asyncio.StreamReader,
        conn: _Conn,
    ) -> None:
        """Broker -> client: forward, except a doomed response, which ends the connection;
        then any refusal whose turn has come."""
        writer = conn.client
        while True:
            frame = await _read_frame(reader)
            if frame is None:
                return
            (corr,) = struct.unpack_from(">i", frame, 4)
            conn.pending.pop(corr, None)
            if corr in conn.produce:
                self._note_answer(frame, *conn.produce.pop(corr))
            for r in conn.refusals:
                r.before.discard(corr)
            if corr in conn.doomed:
                self.stats.dropped += 1
                self.stats.cut += 1
                self.stats.dropped_correlation_ids.append(corr)
                return  # the caller closes both sides: the client sees a dead connection
            writer.write(frame)
            conn.flush()
            await writer.drain()

    def _note_batches(self, frame: bytes, n: int, refused_with: int | None) -> None:
        try:
            found = batches(frame)
        except (ValueError, IndexError, struct.error):
            return  # a layout not read here, or not a well-formed request: not noted
        refused = {"error_code": refused_with, "base_offset": -1, "error_message": None}
        with self._lock:
            self.stats.produce_batches += [
                {**b, "request": n, "refused": refused_with is not None,
                 **(refused if refused_with is not None else {})} for b in found]

    def _note_answer(self, frame: bytes, version: int, n: int) -> None:
        """Note the broker's answer to the ``n``-th Produce request on its batches."""
        try:
            found = answers(frame, version)
        except (ValueError, IndexError, struct.error):
            return
        with self._lock:
            for a in found:
                for b in self.stats.produce_batches:
                    if b["request"] == n and b["partition"] == a["partition"] \
                            and "error_code" not in b:
                        b.update(error_code=a["error_code"], base_offset=a["base_offset"],
                                 error_message=a["error_message"])
                        break

    def _refuse(self, frame: bytes, corr: int, conn: _Conn, code: int, wait: float) -> bool:
        """Queue the broker-like refusal of ``frame`` and release it after ``wait`` seconds
        at the latest; False (noted in ``stats.not_refused``) for a layout not known here."""
        try:
            answer = refusal(frame, code)
        except (ValueError, IndexError, struct.error) as e:
            self.stats.not_refused.append(f"{type(e).__name__}: {e}")
            return False
        r = _Refusal(answer, set(conn.pending))
        conn.refusals.append(r)
        self.stats.refused += 1
        self.stats.refused_correlation_ids.append(corr)
        assert self._loop is not None
        self._loop.call_later(wait, _release(r, conn))
        return True


def _release(r: _Refusal, conn: _Conn) -> Callable[[], None]:
    def go() -> None:
        r.released = True
        conn.flush()
    return go


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """One length-prefixed frame (prefix included), or None at end of stream."""
    try:
        head = await reader.readexactly(4)
        (size,) = struct.unpack(">i", head)
        return head + await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
