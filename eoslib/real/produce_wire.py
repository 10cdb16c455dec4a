"""Kafka's Produce wire layout, as much as the proxy needs: a broker's refusal of a request.

Layouts from Kafka's ``clients/src/main/resources/common/message/ProduceRequest.json`` and
``ProduceResponse.json`` (api_key 0, versions 3-13; flexible, KIP-482, from version 9;
version 13 names each topic by its 16-byte topic id instead of its name, KIP-516).
librdkafka 2.16 sends version 10 to Kafka 4.1.1 (its ``debug=protocol`` log: "Sent
ProduceRequest (v10 ...)"); Kafka's Java client 4.1.1 sends version 13 (seen at the proxy,
``ProxyStats.api_versions``). A refusal is what a broker answers when it refuses a partition's
batch before appending it (Kafka ``ReplicaManager.appendToLocalLog``: a
``NotEnoughReplicasException`` from ``Partition.appendRecordsToLeader`` becomes
``LogAppendInfo.unknownLogAppendInfoWithLogStartOffset``, no custom error message): the
error code, base offset -1, log append time -1, no record errors, a null error message
(the broker sends the log's start offset; a refusal made here does not know it and sends -1,
"unknown").
"""

from __future__ import annotations

import base64
import struct
from typing import Any

NOT_ENOUGH_REPLICAS = 19  # Kafka's Errors.NOT_ENOUGH_REPLICAS (retriable)
FIRST_VERSION, LAST_VERSION = 3, 13  # the versions :func:`refusal` reads and writes
FLEXIBLE_FROM = 9
TOPIC_ID_FROM = 13  # topics named by id (uuid), not by name


class _Reader:
    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> int:
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(v)

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            b = self.buf[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += max(n, 0)
        return out

    def skip_tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self.raw(self.uvarint())

    def length(self, flexible: bool, fmt: str) -> int:
        """A string's, bytes' or array's length (-1 for null) in either encoding."""
        return self.uvarint() - 1 if flexible else self.take(fmt)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def partitions(frame: bytes) -> list[tuple[bytes, list[int]]]:
    """``[(topic name, or 16-byte topic id from version 13, [partition index, ...]), ...]``
    of a Produce request frame (length prefix included); raises ValueError for a version
    outside 3-13."""
    return [(name, [index for index, _ in parts]) for name, parts in _topics(frame)]


def batches(frame: bytes) -> list[dict[str, Any]]:
    """The first record batch (magic v2, KIP-98) of each partition of a Produce request:
    ``topic`` (None from version 13), ``partition``, ``producer_id``, ``epoch``,
    ``base_seq``, ``records``, and from version 13 ``topic_id`` (:func:`topic_id_text`)."""
    out = []
    by_id = _version(frame) >= TOPIC_ID_FROM
    for name, parts in _topics(frame):
        for index, records in parts:
            if records is None or len(records) < 61 or records[16] != 2:
                continue
            # baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4)
            # attributes(2) lastOffsetDelta(4) baseTimestamp(8) maxTimestamp(8) = 43
            pid, epoch, seq, count = struct.unpack_from(">qhii", records, 43)
            row = {"topic": None if by_id else name.decode(), "partition": index,
                   "producer_id": pid, "epoch": epoch, "base_seq": seq, "records": count}
            if by_id:
                row["topic_id"] = topic_id_text(name)
            out.append(row)
    return out


def topic_id_text(raw: bytes) -> str:
    """A topic id as Kafka prints it (``Uuid.toString``: URL-safe base64, no padding), the
    form ``Admin.describeTopics`` gives (``TopicDescription.topicId()``)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _version(frame: bytes) -> int:
    api_key, version = struct.unpack_from(">hh", frame, 4)
    if api_key != 0 or not FIRST_VERSION <= version <= LAST_VERSION:
        raise ValueError(f"Produce request version {version}: only {FIRST_VERSION}-"
                         f"{LAST_VERSION} are read here (api_key {api_key})")
    return int(version)


def _topics(frame: bytes) -> list[tuple[bytes, list[tuple[int, bytes | None]]]]:
    """``[(topic name or id, [(partition index, records), ...]), ...]`` of a Produce request."""
    version = _version(frame)
    flex = version >= FLEXIBLE_FROM
    r = _Reader(frame, 4 + 8)  # size, api_key, api_version, correlation_id
    r.raw(r.take(">h"))  # client_id: a plain nullable string even in header v2
    if flex:
        r.skip_tagged_fields()
    r.raw(r.length(flex, ">h"))  # transactional_id
    r.take(">h")  # acks
    r.take(">i")  # timeout_ms
    out = []
    for _ in range(r.length(flex, ">i")):
        name = r.raw(16) if version >= TOPIC_ID_FROM else r.raw(r.length(flex, ">h"))
        parts = []
        for _ in range(r.length(flex, ">i")):
            index = r.take(">i")
            size = r.length(flex, ">i")
            parts.append((index, r.raw(size) if size >= 0 else None))
            if flex:
                r.skip_tagged_fields()
        if flex:
            r.skip_tagged_fields()
        out.append((name, parts))
    return out


def refusal(frame: bytes, error_code: int = NOT_ENOUGH_REPLICAS) -> bytes:
    """The broker's answer (length prefix included) refusing every partition of the Produce
    request ``frame`` with ``error_code``, nothing appended."""
    version, corr = struct.unpack_from(">hi", frame, 6)
    flex = version >= FLEXIBLE_FROM
    topics = partitions(frame)

    def length(n: int, fmt: str) -> bytes:
        return _uvarint(n + 1) if flex else struct.pack(fmt, n)

    out = bytearray(struct.pack(">i", corr))
    if flex:
        out += b"\0"  # response header v1: no tagged fields
    out += length(len(topics), ">i")
    for name, indexes in topics:
        out += name if version >= TOPIC_ID_FROM else length(len(name), ">h") + name
        out += length(len(indexes), ">i")
        for index in indexes:
            out += struct.pack(">ihqq", index, error_code, -1, -1)  # base offset, append time
            if version >= 5:
                out += struct.pack(">q", -1)  # log start offset: unknown
            if version >= 8:
                out += length(0, ">i")  # record_errors: none
                out += b"\0" if flex else struct.pack(">h", -1)  # error_message: null
            if flex:
                out += b"\0"
        if flex:
            out += b"\0"
    out += struct.pack(">i", 0)  # throttle_time_ms
    if flex:
        out += b"\0"
    return struct.pack(">i", len(out)) + bytes(out)


def answers(frame: bytes, version: int) -> list[dict[str, Any]]:
    """Each partition's answer in a Produce response frame (length prefix included) to a
    request of ``version``: ``partition``, ``error_code``, ``base_offset`` and
    ``error_message`` (None when the broker sent none)."""
    if not FIRST_VERSION <= version <= LAST_VERSION:
        raise ValueError(f"Produce response version {version}: only {FIRST_VERSION}-"
                         f"{LAST_VERSION} are read here")
    flex = version >= FLEXIBLE_FROM
    r = _Reader(frame, 4 + 4)  # size, correlation_id
    if flex:
        r.skip_tagged_fields()

    def text() -> str | None:
        n = r.length(flex, ">h")
        return None if n < 0 else r.raw(n).decode("utf-8", "replace")

    out = []
    for _ in range(r.length(flex, ">i")):
        if version >= TOPIC_ID_FROM:
            r.raw(16)
        else:
            r.raw(r.length(flex, ">h"))
        for _ in range(r.length(flex, ">i")):
            index, code, base = r.take(">i"), r.take(">h"), r.take(">q")
            r.take(">q")  # log append time
            if version >= 5:
                r.take(">q")  # log start offset
            message = None
            if version >= 8:
                for _ in range(r.length(flex, ">i")):  # record errors
                    r.take(">i")
                    text()
                    if flex:
                        r.skip_tagged_fields()
                message = text()
            if flex:
                r.skip_tagged_fields()  # current leader (v10+)
            out.append({"partition": index, "error_code": code, "base_offset": base,
                        "error_message": message})
        if flex:
            r.skip_tagged_fields()
    return out
