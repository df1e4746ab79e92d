"""Just enough of the TPI and IPI streams to name inlined functions.

An inline site names its function by an ID index into the IPI stream:
``LF_FUNC_ID`` (a free function, maybe in a namespace given as a string ID)
or ``LF_MFUNC_ID`` (a method, whose class is a TPI type record). Records are
variable-length and unindexed, so the offsets of all records are collected
in one pass, bounded by the stream size.
"""

from __future__ import annotations

import re
import struct
from array import array

from .binary import Reader, cstr_at, u16_at, u32_at
from .errors import PdbError

TPI_STREAM = 2
IPI_STREAM = 4

LF_FUNC_ID = 0x1601
LF_MFUNC_ID = 0x1602
LF_STRING_ID = 0x1605
_LF_CLASS = 0x1504
_LF_STRUCTURE = 0x1505
_LF_UNION = 0x1506
_LF_ENUM = 0x1507
_LF_INTERFACE = 0x1519

_HEADER = struct.Struct("<IIIII")
#: MSVC's internal name of an anonymous namespace (``?A0x1f2e3d4c``) as one scope of a
#: string ID; procedure names and type names spell it as debuggers print it.
_ANONYMOUS_SCOPE = re.compile(r"(?:(?<=::)|^)\?A0x[0-9A-Fa-f]+(?=::|$)")
_ANONYMOUS = "`anonymous namespace'"
#: Byte sizes of the numeric leaves that may precede a name (cvinfo.h LF_CHAR ...).
_NUMERIC_SIZES = {
    0x8000: 1,
    0x8001: 2,
    0x8002: 2,
    0x8003: 4,
    0x8004: 4,
    0x8005: 4,
    0x8006: 8,
    0x8007: 10,
    0x8008: 16,
    0x8009: 8,
    0x800A: 8,
    0x800B: 6,
    0x800C: 8,
    0x800D: 16,
    0x800E: 20,
    0x800F: 32,
    0x8017: 16,
    0x8018: 16,
    0x8019: 16,
    0x801A: 8,
    0x801C: 2,
}


class TypeStream:
    """The records of a TPI or IPI stream, addressable by type/ID index."""

    def __init__(self, data: bytes, what: str) -> None:
        r = Reader(data, what)
        _version, header_size, begin, end, record_bytes = _HEADER.unpack(r.take(_HEADER.size))
        if header_size < _HEADER.size or header_size > len(data):
            raise PdbError(f"{what}: header size {header_size} is impossible")
        if end < begin or record_bytes > len(data) - header_size:
            raise PdbError(f"{what}: record range is impossible")
        self._data = data
        self._what = what
        self.begin = begin
        offsets = array("I")
        pos = header_size
        stop = header_size + record_bytes
        # Each record takes at least 4 bytes, which bounds the loop and the array.
        while pos + 4 <= stop and len(offsets) < end - begin:
            offsets.append(pos)
            reclen = u16_at(data, pos, what)
            if reclen < 2:
                raise PdbError(f"{what}: record at {pos} has a bad length")
            pos += 2 + reclen
        self._offsets = offsets

    def record(self, index: int) -> tuple[int, int, int] | None:
        """``(kind, body_start, body_end)`` of record ``index``, None if there is none."""
        i = index - self.begin
        if i < 0 or i >= len(self._offsets):
            return None
        pos = self._offsets[i]
        reclen = u16_at(self._data, pos, self._what)
        end = pos + 2 + reclen
        if end > len(self._data):
            raise PdbError(f"{self._what}: record {index:#x} runs past the stream")
        return u16_at(self._data, pos + 2, self._what), pos + 4, end

    def func_id(self, index: int) -> tuple[int, int, str] | None:
        """``(kind, scope or class, name)`` of an LF_FUNC_ID / LF_MFUNC_ID record."""
        rec = self.record(index)
        if rec is None:
            return None
        kind, body, end = rec
        if kind not in (LF_FUNC_ID, LF_MFUNC_ID) or end - body < 8:
            return None
        scope = u32_at(self._data, body, self._what)
        return kind, scope, cstr_at(self._data, body + 8, end, self._what)[0]

    def string_id(self, index: int) -> str | None:
        rec = self.record(index)
        if rec is None or rec[0] != LF_STRING_ID:
            return None
        _kind, body, end = rec
        if end - body < 4:
            return None
        return cstr_at(self._data, body + 4, end, self._what)[0]

    def type_name(self, index: int) -> str | None:
        """The name of a class, struct, union, interface or enum type record."""
        rec = self.record(index)
        if rec is None:
            return None
        kind, body, end = rec
        data = self._data
        if kind in (_LF_CLASS, _LF_STRUCTURE, _LF_INTERFACE):
            pos = body + 2 + 2 + 4 + 4 + 4
        elif kind == _LF_UNION:
            pos = body + 2 + 2 + 4
        elif kind == _LF_ENUM:
            return cstr_at(data, min(body + 12, end), end, self._what)[0]
        else:
            return None
        if pos + 2 > end:
            return None
        leaf = u16_at(data, pos, self._what)
        pos += 2
        if leaf >= 0x8000:
            size = _NUMERIC_SIZES.get(leaf)
            if size is None:
                return None
            pos += size
        if pos > end:
            return None
        return cstr_at(data, pos, end, self._what)[0]


class InlineeNames:
    """Names of inlined functions, as ``Class::method`` or ``ns::function``."""

    def __init__(self, ipi: TypeStream | None, tpi: TypeStream | None) -> None:
        self._ipi = ipi
        self._tpi = tpi
        self._cache: dict[int, str] = {}

    def name(self, item: int) -> str:
        cached = self._cache.get(item)
        if cached is None:
            cached = self._cache[item] = self._lookup(item) or f"<inlinee {item:#x}>"
        return cached

    def _lookup(self, item: int) -> str | None:
        ipi = self._ipi
        found = ipi.func_id(item) if ipi is not None else None
        if ipi is None or found is None:
            return None
        kind, scope, name = found
        prefix = None
        if kind == LF_FUNC_ID and scope:
            prefix = ipi.string_id(scope)
            if prefix and "?A0x" in prefix:
                prefix = _ANONYMOUS_SCOPE.sub(_ANONYMOUS, prefix)
        elif kind == LF_MFUNC_ID and self._tpi is not None:
            prefix = self._tpi.type_name(scope)
        return f"{prefix}::{name}" if prefix else name
