"""Opaque record identifiers: UUID version 7 (RFC 9562, section 5.7).

A UUIDv7 is 48 bits of Unix time in milliseconds, the version (7), 12 random bits, the
variant (binary 10) and 62 more random bits. Ids sort by creation time (good for B-tree
indexes) and say nothing about how many records exist or were written in between, unlike a
global sequence, whose gaps count other parties' hidden inserts. Python 3.11 has no
``uuid.uuid7`` (it arrives in 3.14), and the layout is a few lines, so no dependency.
"""

from __future__ import annotations

import secrets
import time
import uuid

MS_BITS = 48


def uuid7(at_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7 for the time ``at_ms`` (Unix milliseconds; default: now)."""
    ms = time.time_ns() // 1_000_000 if at_ms is None else at_ms
    if not 0 <= ms < 1 << MS_BITS:
        raise ValueError(f"at_ms {ms} is outside the 48-bit millisecond range of UUIDv7")
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds a UUIDv7 carries."""
    return value.int >> 80
