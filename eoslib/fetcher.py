"""The consumer's fetcher: positions, fetch requests, the isolation filter, offset resets.

Java: ``Fetcher``/``FetchCollector`` and ``SubscriptionState``'s positions; librdkafka: the
fetcher of ``rdkafka_fetcher.c``. Fetching goes on in the background between polls, as
librdkafka's does; a fetch returns records up to the high watermark (read_uncommitted) or
the last stable offset (read_committed, with aborted transactions filtered out by
:func:`eoslib.isolation.read_committed_filter`). A fetch that finds nothing is parked at the
broker until something becomes readable or ``fetch.max.wait.ms`` passes (DelayedFetch).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from eoslib.errors import KafkaError, KafkaException
from eoslib.messages import Message
from eoslib.partition import SEQ_SPACE

TP = tuple[str, int]
#: the buffer entry's marker for a ``_PARTITION_EOF`` event (``enable.partition.eof``)
PARTITION_EOF = object()


class Fetcher:
    """Mixin of :class:`~eoslib.consumer.Consumer` (whose state it uses): where to read
    next and what a fetch returns."""

    def _init_positions(self) -> None:
        positions = self._positions
        for tp in self._assignment:
            if positions.get(tp) is None:
                break
        else:
            return  # every position known: the common case, on every poll
        missing = [tp for tp in self._assignment if positions.get(tp) is None]
        committed: dict[TP, int | None] = {}
        if self.group_id:
            committed = self._fetch_committed(missing, None)
        for tp in missing:
            off = committed.get(tp)
            if off is None:
                reset = self.config["auto.offset.reset"]
                p = self.cluster.partition(*tp)
                if reset == "earliest":
                    off = 0
                elif reset == "latest":
                    off = p.lso if self.isolation == "read_committed" else p.hw
                else:
                    raise KafkaException(KafkaError("OFFSET_OUT_OF_RANGE",
                                                    f"no committed offset for {tp[0]}-{tp[1]} "
                                                    "and auto.offset.reset=none"))
            self._positions[tp] = off
            self._buffers[tp] = deque()
            self._next_fetch[tp] = off

    def _has_data(self) -> bool:
        buffers = self._buffers
        for tp in self._assignment:  # a plain loop: this runs on every poll
            if buffers.get(tp):
                return True
        return False

    def _take(self, n: int) -> list[Message]:
        out: list[Message] = []
        parts = self._assignment
        if not parts or not self._has_data():
            return out  # fetches that return no records move the position in deliver()
        now = self.kernel.now
        for i in range(len(parts)):
            tp = parts[(self._rr + i) % len(parts)]
            buf = self._buffers.get(tp)
            topic, part = tp
            while buf and len(out) < n:
                off, key, value, meta = buf.popleft()
                if meta is PARTITION_EOF:  # an event, not a record: the position stays
                    out.append(Message(topic, part, off, None, None, value))
                    continue
                msg = Message(topic, part, off, key, value, None, now)
                if meta is not None:
                    msg._writer, msg._headers = meta[:3], meta[3]
                out.append(msg)
                self._positions[tp] = off + 1
            if buf is not None and not buf and self._positions.get(tp) is not None:
                self._positions[tp] = max(self._positions[tp] or 0,
                                          self._next_fetch.get(tp, 0))
            if len(out) >= n:
                self._rr = (self._rr + i + 1) % len(parts)
                break
        return out

    def _fetch_all(self) -> None:
        for tp in self._assignment:
            if tp in self._fetching or self._buffers.get(tp) or self._positions.get(tp) is None:
                continue
            self._fetch(tp)

    def _fetch(self, tp: TP) -> None:
        self._fetching.add(tp)
        offset = self._positions[tp]
        assert offset is not None
        latency = self.cluster.config["network.latency.ms"]

        def arrive() -> None:
            if not self._alive():
                self._fetching.discard(tp)
                return
            resp = self.cluster.handle_fetch(tp[0], tp[1], offset, self.isolation,
                                             self.config["max.poll.records"])
            if resp.get("error") is not None or resp["batches"]:
                self.kernel.schedule(latency, deliver, resp)
                return
            # nothing readable yet: the broker parks the fetch (DelayedFetch) until data
            # below the HW/LSO passes the offset or fetch.max.wait.ms runs out
            # (ReplicaManager.fetchMessages; DelayedFetch.tryComplete / onExpiration)
            done = [False]

            def complete() -> None:
                if done[0]:
                    return
                done[0] = True
                cancel()
                again = self.cluster.handle_fetch(tp[0], tp[1], offset, self.isolation,
                                                  self.config["max.poll.records"])
                self.kernel.schedule(latency, deliver, again)

            cancel = self.cluster.partition(*tp).wait_for_data(offset, self.isolation,
                                                                complete)
            self.kernel.schedule(self.config["fetch.max.wait.ms"], complete)

        def deliver(resp: dict[str, Any]) -> None:
            self._fetching.discard(tp)
            if not self._alive() or tp not in self._assignment or \
                    self._positions.get(tp) != offset:
                return
            if resp.get("error") == "OFFSET_OUT_OF_RANGE":
                self._reset_offset(tp, offset, resp)
                return
            if resp.get("error"):
                return
            if self.config["enable.partition.eof"]:
                self._maybe_eof(tp, offset, resp)
            batches = resp["batches"]
            if not batches:
                return
            records = [r for r in self.fetch_filter(batches, resp["aborted"]) if r[0] >= offset]
            meta = record_meta(batches) if records else {}
            self._buffers[tp].extend((o, k, v, meta.get(o)) for o, k, v in records)
            self._next_fetch[tp] = batches[-1].last_offset + 1
            if not records:
                self._positions[tp] = self._next_fetch[tp]

        self.kernel.schedule(latency, arrive)

    def _maybe_eof(self, tp: TP, offset: int, resp: dict[str, Any]) -> None:
        """``enable.partition.eof``: a fetch at the partition's end offset (the HW, or the LSO
        under read_committed) queues a ``_PARTITION_EOF`` event, once per end offset until
        the next seek (librdkafka: ``rd_kafka_fetch_reply_handle_partition``,
        rktp_offsets.eof_offset, src/rdkafka_fetcher.c)."""
        end = resp["lso"] if self.isolation == "read_committed" else resp["hw"]
        if offset != end or self._eof_at.get(tp) == end:
            return
        self._eof_at[tp] = end
        leader = self.cluster.partition(*tp).leader
        err = KafkaError("_PARTITION_EOF", f"Fetch from broker {leader} reached end of "
                         f"partition at offset {offset} (HighwaterMark {resp['hw']})")
        self._buffers[tp].append((offset, None, err, PARTITION_EOF))

    def _reset_offset(self, tp: TP, offset: int, resp: dict[str, Any]) -> None:
        """The fetch position is outside the log: apply ``auto.offset.reset`` (Java:
        ``FetchCollector.handleInitializeErrors`` -> ``SubscriptionState.requestOffsetReset``,
        or ``OffsetOutOfRangeException`` from ``poll()`` with ``none``; librdkafka:
        ``rd_kafka_offset_reset``)."""
        reset = self.config["auto.offset.reset"]
        if reset == "none":
            self._fetch_error = KafkaError("OFFSET_OUT_OF_RANGE", f"fetch offset {offset} is "
                                           f"out of range for {tp[0]}-{tp[1]} and "
                                           "auto.offset.reset=none")
            return
        new = 0 if reset == "earliest" else (
            resp["lso"] if self.isolation == "read_committed" else resp["hw"])
        self._positions[tp] = new
        self._next_fetch[tp] = new
        self._buffers[tp] = deque()
        self.kernel.emit(self.lane, "seek", f"OFFSET_OUT_OF_RANGE at {offset}: "
                         f"auto.offset.reset={reset} -> {new}",
                         data={"group": self.group_id, "positions": {f"{tp[0]}-{tp[1]}": new}}
                         if self.kernel.tracing else None)


def record_meta(batches: Any) -> dict[int, tuple[int, int, int, Any]]:
    """offset -> (producer id, epoch, sequence, headers) of every data record in
    ``batches``: what the record batch's header says about who wrote it (sequence -1 when
    the writer had none) and the record's own headers (None when it has none)."""
    out: dict[int, tuple[int, int, int, Any]] = {}
    for b in batches:
        if b.control is None:
            pid, epoch, base, seq, hs = (b.producer_id, b.epoch, b.base_offset, b.base_seq,
                                         b.headers)
            for i in range(len(b.records)):
                out[base + i] = (pid, epoch, (seq + i) % SEQ_SPACE if seq >= 0 else -1,
                                 hs[i] if hs else None)
    return out
