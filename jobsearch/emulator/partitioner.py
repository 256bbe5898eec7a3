"""Kafka's default partitioner for keyed records: murmur2 of the key bytes.

Using Kafka's own hash means a key lands on the same partition number here as it would
on a real cluster with the same partition count.
"""

from __future__ import annotations

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 hash, as an unsigned integer."""
    length = len(data)
    hashed = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for index in range(0, whole, 4):
        block = int.from_bytes(data[index : index + 4], "little")
        block = (block * _M) & _MASK
        block ^= block >> 24
        block = (block * _M) & _MASK
        hashed = ((hashed * _M) & _MASK) ^ block
    tail = data[whole:]
    if len(tail) == 3:
        hashed ^= tail[2] << 16
    if len(tail) >= 2:
        hashed ^= tail[1] << 8
    if tail:
        hashed = ((hashed ^ tail[0]) * _M) & _MASK
    hashed ^= hashed >> 13
    hashed = (hashed * _M) & _MASK
    return hashed ^ (hashed >> 15)


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
