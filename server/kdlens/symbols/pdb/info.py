"""The PDB info stream (identity, named streams) and the ``/names`` string table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .binary import Reader, cstr_at
from .errors import PdbError

#: Stream 1 holds the PDB's identity and its named-stream map.
INFO_STREAM = 1
_NAMES_SIGNATURE = 0xEFFEEFFE


@dataclass(frozen=True, slots=True)
class PdbInfo:
    """What stream 1 says: format version, signature, age, GUID and named streams."""

    version: int
    signature: int
    age: int
    guid: uuid.UUID
    named_streams: dict[str, int] = field(default_factory=dict)


def parse_info(data: bytes) -> PdbInfo:
    """Parse the PDB info stream, including the named stream map after the header."""
    r = Reader(data, "PDB info stream")
    version = r.u32()
    signature = r.u32()
    age = r.u32()
    guid = uuid.UUID(bytes_le=r.take(16))
    named = _parse_named_streams(r) if r.remaining else {}
    return PdbInfo(version, signature, age, guid, named)


def _parse_named_streams(r: Reader) -> dict[str, int]:
    """The name -> stream index map: a string buffer and a serialized hash table."""
    buf_size = r.count(r.u32(), 1, "name bytes")
    names = r.take(buf_size)
    size = r.u32()
    capacity = r.u32()
    present_words = r.count(r.u32(), 4, "present-bit words")
    present = [r.u32() for _ in range(present_words)]
    deleted_words = r.count(r.u32(), 4, "deleted-bit words")
    r.skip(4 * deleted_words)
    r.count(size, 8, "named streams")
    result: dict[str, int] = {}
    bit = 0
    for word in present:
        for i in range(32):
            if word & (1 << i) and bit + i < capacity:
                key = r.u32()
                value = r.u32()
                if key >= len(names):
                    raise PdbError(f"named stream map: name offset {key} is outside the names")
                name, _ = cstr_at(names, key, len(names), "named stream map")
                result[name] = value
        bit += 32
    return result


class StringTable:
    """The ``/names`` stream: file names referenced by offset from line tables."""

    def __init__(self, data: bytes) -> None:
        r = Reader(data, "/names string table")
        if r.u32() != _NAMES_SIGNATURE:
            raise PdbError("/names string table has a bad signature")
        r.u32()  # hash version
        size = r.count(r.u32(), 1, "string bytes")
        self._buffer = r.take(size)
        self._cache: dict[int, str] = {}

    @property
    def size(self) -> int:
        """Bytes of string data."""
        return len(self._buffer)

    def get(self, offset: int) -> str:
        """The string starting at ``offset``."""
        cached = self._cache.get(offset)
        if cached is not None:
            return cached
        if offset < 0 or offset >= len(self._buffer):
            raise PdbError(f"/names: offset {offset} is outside the table")
        text, _ = cstr_at(self._buffer, offset, len(self._buffer), "/names")
        self._cache[offset] = text
        return text
