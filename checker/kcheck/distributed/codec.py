"""States on the wire: a batch of states and their discovery keys as one bytes object.

A state is a fixed-width tuple of small ints (kcheck.model.ir), so a batch is its states laid
end to end in the narrowest machine integer that holds every value of the batch (one byte a
field for most models), then the keys as 64-bit ints. Decoding rebuilds the tuples at C speed
(`zip` over one iterator). Values past 64 bits (sets over many slots) fall back to pickle.
"""

from __future__ import annotations

import pickle
import struct
from array import array
from itertools import chain

from kcheck.model.ir import State

_HEAD = struct.Struct("<cII")  # typecode, state width, count
_CODES = "bhiq"


def encode(states: list[State], keys: list[int]) -> bytes:
    """`states` (all of one width) and their keys, as bytes."""
    if not states:
        return b""
    width = len(states[0])
    keys_bytes = array("q", keys).tobytes()
    for code in _CODES:
        try:
            body = array(code, chain.from_iterable(states)).tobytes()
        except OverflowError:
            continue
        return _HEAD.pack(code.encode(), width, len(states)) + body + keys_bytes
    body = pickle.dumps(states, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(b"p", width, len(states)) + keys_bytes + body


def decode(data: bytes) -> tuple[list[State], array[int]]:
    """The states and keys `encode` was given."""
    keys: array[int] = array("q")
    if not data:
        return [], keys
    code, width, count = _HEAD.unpack_from(data)
    at = _HEAD.size
    if code == b"p":
        keys.frombytes(data[at : at + 8 * count])
        states: list[State] = pickle.loads(data[at + 8 * count :])
        return states, keys
    flat = array(code.decode())
    end = at + flat.itemsize * width * count
    flat.frombytes(data[at:end])
    keys.frombytes(data[end:])
    if width == 0:
        return [()] * count, keys
    it = iter(flat)
    return list(zip(*([it] * width), strict=False)), keys
