"""Bounds-checked little-endian reads over a byte string.

Every length and offset in a PDB comes from the file itself, so every read
goes through here and fails with ``PdbError`` instead of ``IndexError`` or
``struct.error`` when the file lies.
"""

from __future__ import annotations

import struct

from .errors import PdbError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")


def u16_at(data: bytes, offset: int, what: str) -> int:
    """The u16 at ``offset``."""
    if offset < 0 or offset + 2 > len(data):
        raise PdbError(f"{what}: u16 at {offset} is past the end ({len(data)} bytes)")
    value: int = _U16.unpack_from(data, offset)[0]
    return value


def u32_at(data: bytes, offset: int, what: str) -> int:
    """The u32 at ``offset``."""
    if offset < 0 or offset + 4 > len(data):
        raise PdbError(f"{what}: u32 at {offset} is past the end ({len(data)} bytes)")
    value: int = _U32.unpack_from(data, offset)[0]
    return value


def cstr_at(data: bytes, offset: int, end: int, what: str) -> tuple[str, int]:
    """The zero-terminated string at ``offset`` (not past ``end``) and the offset after it.

    A string that runs to ``end`` without a terminator is accepted as ending
    there; names are decoded as UTF-8 with replacement, as PDBs do not promise
    valid UTF-8.
    """
    end = min(end, len(data))
    if offset < 0 or offset > end:
        raise PdbError(f"{what}: string at {offset} is outside the record")
    nul = data.find(b"\0", offset, end)
    stop = end if nul < 0 else nul
    text = data[offset:stop].decode("utf-8", "replace")
    return text, (stop + 1 if nul >= 0 else end)


class Reader:
    """A cursor over ``data[pos:end]`` whose reads never leave that window."""

    __slots__ = ("data", "end", "pos", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.what = what
        self.pos = pos
        self.end = len(data) if end is None else min(end, len(data))
        if pos < 0 or pos > self.end:
            raise PdbError(f"{what}: start {pos} is outside the data ({self.end} bytes)")

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def _need(self, n: int) -> int:
        if n < 0 or self.pos + n > self.end:
            raise PdbError(
                f"{self.what}: needs {n} bytes at {self.pos}, only {self.end - self.pos} left"
            )
        at = self.pos
        self.pos += n
        return at

    def u8(self) -> int:
        return self.data[self._need(1)]

    def u16(self) -> int:
        value: int = _U16.unpack_from(self.data, self._need(2))[0]
        return value

    def u32(self) -> int:
        value: int = _U32.unpack_from(self.data, self._need(4))[0]
        return value

    def i32(self) -> int:
        value: int = _I32.unpack_from(self.data, self._need(4))[0]
        return value

    def take(self, n: int) -> bytes:
        at = self._need(n)
        return self.data[at : at + n]

    def skip(self, n: int) -> None:
        self._need(n)

    def cstr(self) -> str:
        text, self.pos = cstr_at(self.data, self.pos, self.end, self.what)
        return text

    def align(self, n: int) -> None:
        """Skip padding up to a multiple of ``n`` (clamped at the end)."""
        pad = (-self.pos) % n
        self.pos = min(self.pos + pad, self.end)

    def count(self, n: int, item_size: int, what: str) -> int:
        """Check that ``n`` items of ``item_size`` bytes fit in what is left; return ``n``."""
        if n < 0 or n * item_size > self.remaining:
            raise PdbError(f"{self.what}: {n} {what} do not fit in {self.remaining} bytes")
        return n
