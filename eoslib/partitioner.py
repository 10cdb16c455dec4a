"""The clients' default partitioners (Java: murmur2; librdkafka: CRC32), and String.hashCode.

Keyed records go to ``toPositive(murmur2(key)) % partitions`` exactly as the Java
client's ``BuiltInPartitioner.partitionForKey`` does, so a key lands on the same
partition here as on a real cluster with the same partition count. Unkeyed records use
a sticky partition (KIP-480/KIP-794): the producer keeps one partition until a batch for
it is sent, then picks the next one with the simulation's seeded generator.
"""

from __future__ import annotations

import functools
import zlib

MASK32 = 0xFFFFFFFF


def _to_int32(n: int) -> int:
    n &= MASK32
    return n - (1 << 32) if n & 0x80000000 else n


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2``: a signed 32-bit hash of ``data``."""
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & MASK32
    for i in range(length // 4):
        i4 = i * 4
        k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24)
        k = (k * m) & MASK32
        k ^= k >> 24
        k = (k * m) & MASK32
        h = (h * m) & MASK32
        h ^= k
    rem = length % 4
    base = length & ~3
    if rem == 3:
        h ^= data[base + 2] << 16
    if rem >= 2:
        h ^= data[base + 1] << 8
    if rem >= 1:
        h ^= data[base]
        h = (h * m) & MASK32
    h ^= h >> 13
    h = (h * m) & MASK32
    h ^= h >> 15
    return _to_int32(h)


def to_positive(n: int) -> int:
    """Kafka's ``Utils.toPositive``: clear the sign bit."""
    return n & 0x7FFFFFFF


def key_bytes(key: str | bytes) -> bytes:
    """The bytes Kafka's StringSerializer would send for ``key`` (UTF-8)."""
    return key if isinstance(key, bytes) else str(key).encode("utf-8")


def partition_for_key(key: str | bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner picks for ``key``."""
    return to_positive(murmur2(key_bytes(key))) % partitions


def crc32_partition(key: str | bytes, partitions: int) -> int:
    """librdkafka's default partitioner ``consistent_random`` for a non-empty key:
    ``rd_crc32(key) % partitions`` (rdkafka_msg.c ``rd_kafka_msg_partitioner_consistent``;
    rd_crc32 in rdcrc32.h is the standard reflected CRC-32, the same as zlib's). A null or
    empty key is not hashed: it goes to the sticky partition, picked at random."""
    return zlib.crc32(key_bytes(key)) % partitions


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode`` (for UTF-16 code units), as a signed int."""
    h = 0
    for unit in s.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & MASK32
    return _to_int32(h)


@functools.lru_cache(maxsize=4096)  # a pure function, asked on every coordinator request
def coordinator_partition(group_or_txn_id: str, partitions: int) -> int:
    """``Utils.abs(id.hashCode) % partitions``: which ``__consumer_offsets`` (or
    ``__transaction_state``) partition, hence which coordinator, owns an id."""
    h = java_string_hash(group_or_txn_id)
    return 0 if h == -(1 << 31) else abs(h) % partitions
