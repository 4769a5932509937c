"""Messages between the confidential mode's coordinator and the allies' processes.

A message is one line of JSON (``kind``, named scalars, the names and shapes of its arrays)
followed by the arrays' raw float64 bytes (little-endian, C order). Nothing is unpickled: a
message from another organisation's process can only be numbers of declared shapes. Every
message a party sends or receives can be logged as a :class:`Record` (what crossed, not the
values), which the privacy test audits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from critmin.errors import InputError

MAX_HEADER_BYTES = 1 << 16
DTYPE = np.dtype("<f8")


@dataclass(frozen=True)
class Message:
    """A decoded message: ``kind``, named scalars (floats) and named float arrays."""

    kind: str
    scalars: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class Record:
    """What crossed a process boundary: direction (``"to USA"`` / ``"from USA"``), kind,
    scalar names and each array's name and shape."""

    direction: str
    kind: str
    scalars: tuple[str, ...]
    arrays: tuple[tuple[str, tuple[int, ...]], ...]


def send(
    stream: IO[bytes],
    kind: str,
    scalars: Mapping[str, float] | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    text: str = "",
) -> Message:
    """Write one message and flush; returns it (for the sender's log)."""
    numbers = {k: float(v) for k, v in (scalars or {}).items()}
    blocks = {k: np.ascontiguousarray(v, dtype=DTYPE) for k, v in (arrays or {}).items()}
    header = {
        "kind": kind,
        "scalars": numbers,
        "arrays": [[name, list(a.shape)] for name, a in blocks.items()],
        "text": text,
    }
    stream.write(json.dumps(header).encode("utf-8") + b"\n")
    for block in blocks.values():
        stream.write(block.tobytes())
    stream.flush()
    return Message(kind, numbers, blocks, text)


def receive(stream: IO[bytes]) -> Message:
    """Read one message; :class:`InputError` if the stream ends or is malformed."""
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.endswith(b"\n"):
        raise InputError("confidential mode: a party closed its channel or sent a bad header")
    try:
        header = json.loads(line)
        kind = str(header["kind"])
        scalars = {str(k): float(v) for k, v in header["scalars"].items()}
        shapes = [(str(name), tuple(int(n) for n in shape)) for name, shape in header["arrays"]]
        text = str(header.get("text", ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"confidential mode: malformed message header ({exc})") from None
    arrays = {}
    for name, shape in shapes:
        size = int(np.prod(shape, dtype=np.int64)) * DTYPE.itemsize
        data = stream.read(size)
        if len(data) != size:
            raise InputError(f"confidential mode: message {kind!r} cut short in array {name!r}")
        arrays[name] = np.frombuffer(data, dtype=DTYPE).reshape(shape).copy()
    return Message(kind, scalars, arrays, text)


def record(direction: str, message: Message) -> Record:
    """The log entry of ``message`` (names and shapes, no values)."""
    return Record(
        direction,
        message.kind,
        tuple(message.scalars),
        tuple((name, tuple(a.shape)) for name, a in message.arrays.items()),
    )
