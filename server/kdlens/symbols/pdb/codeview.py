"""CodeView symbol records: procedures, thunks, inline sites and publics.

Module symbol streams hold a flat list of records in which procedures,
blocks and inline sites open scopes that ``S_END``/``S_INLINESITE_END``
close; the nesting tells which inline site sits inside which. Inline sites
carry "binary annotations", a compact line program decoded here into code
ranges with a file and line each.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .binary import cstr_at, u16_at
from .errors import PdbError

S_END = 0x0006
S_THUNK32 = 0x1102
S_BLOCK32 = 0x1103
S_COMPILE2 = 0x1116
S_COMPILE3 = 0x113C
S_WITH32 = 0x1104
S_PUB32 = 0x110E
S_LPROC32 = 0x110F
S_GPROC32 = 0x1110
S_SEPCODE = 0x1132
S_LPROC32_ID = 0x1146
S_GPROC32_ID = 0x1147
S_INLINESITE = 0x114D
S_INLINESITE_END = 0x114E
S_PROC_ID_END = 0x114F
S_LPROC32_DPC = 0x1155
S_LPROC32_DPC_ID = 0x1156
S_INLINESITE2 = 0x115D

PROC_KINDS = frozenset(
    {S_LPROC32, S_GPROC32, S_LPROC32_ID, S_GPROC32_ID, S_LPROC32_DPC, S_LPROC32_DPC_ID}
)
#: Records that open a scope closed by S_END but that this reader does not otherwise use:
#: blocks, "with" scopes, managed procedures and the old length-prefixed (_ST) variants.
_OTHER_SCOPES = frozenset(
    {S_BLOCK32, S_WITH32, 0x112A, 0x112B, 0x100A, 0x100B, 0x0206, 0x0207, 0x0208}
)
_SCOPE_ENDS = frozenset({S_END, S_PROC_ID_END, S_INLINESITE_END})

_PROC = struct.Struct("<IIIIIIIIHB")
_THUNK = struct.Struct("<IIIIHHB")
_SITE = struct.Struct("<III")
_SEPCODE = struct.Struct("<IIIIIIHH")
_PUB = struct.Struct("<IIH")
#: Where the producer's version string starts in a compile record body: after the
#: flags, the machine and four (S_COMPILE3) or three (S_COMPILE2) pairs of version numbers.
_COMPILE_VERSION_AT = {S_COMPILE3: 4 + 2 + 8 * 2, S_COMPILE2: 4 + 2 + 6 * 2}


@dataclass(slots=True)
class InlineSite:
    """An S_INLINESITE: which function was inlined, under which parent, and its program."""

    inlinee: int
    parent: int  # index of the enclosing site in the procedure's list, -1 for the procedure
    depth: int
    annotations: bytes


@dataclass(slots=True)
class Procedure:
    """A procedure or thunk with its code range(s) as section:offset."""

    name: str
    segment: int
    offset: int
    length: int
    is_thunk: bool = False
    #: the name is the linker's decorated symbol (``_ExFreePoolWithTag@8``): true for
    #: thunks written by lld; Microsoft's linker names thunks undecorated (``_initterm``)
    decorated: bool = False
    sites: list[InlineSite] = field(default_factory=list)
    #: separated code chunks (S_SEPCODE) that belong to this procedure
    extra: list[tuple[int, int, int]] = field(default_factory=list)


def parse_module_symbols(data: bytes, start: int, end: int, what: str) -> list[Procedure]:
    """Procedures and their inline sites from the symbol records in ``data[start:end]``."""
    procs: list[Procedure] = []
    # Each open scope: (procedure index or -1, site index or -1).
    stack: list[tuple[int, int]] = []
    # The producer named by the latest S_COMPILE2/3 record, None before any.
    producer: str | None = None
    pos = start
    end = min(end, len(data))
    while pos + 4 <= end:
        reclen = u16_at(data, pos, what)
        kind = u16_at(data, pos + 2, what)
        rec_end = pos + 2 + reclen
        if reclen < 2 or rec_end > end:
            raise PdbError(f"{what}: symbol record at {pos} has a bad length {reclen}")
        body = pos + 4
        if kind in PROC_KINDS:
            if rec_end - body < _PROC.size:
                raise PdbError(f"{what}: procedure record at {pos} is too short")
            f = _PROC.unpack_from(data, body)
            name, _ = cstr_at(data, body + _PROC.size, rec_end, what)
            procs.append(Procedure(name, f[8], f[7], f[3]))
            stack.append((len(procs) - 1, -1))
        elif kind == S_THUNK32:
            if rec_end - body < _THUNK.size:
                raise PdbError(f"{what}: thunk record at {pos} is too short")
            t = _THUNK.unpack_from(data, body)
            name, _ = cstr_at(data, body + _THUNK.size, rec_end, what)
            # Only lld writes decorated thunk names; keep the old reading when
            # no compile record says who wrote the module.
            decorated = producer is None or producer.startswith("LLVM Linker")
            procs.append(Procedure(name, t[4], t[3], t[5], is_thunk=True, decorated=decorated))
            stack.append((len(procs) - 1, -1))
        elif kind in (S_INLINESITE, S_INLINESITE2):
            fixed = _SITE.size + (4 if kind == S_INLINESITE2 else 0)
            if rec_end - body < fixed:
                raise PdbError(f"{what}: inline site record at {pos} is too short")
            proc_index, parent = stack[-1] if stack else (-1, -1)
            if proc_index >= 0:
                sites = procs[proc_index].sites
                depth = sites[parent].depth + 1 if parent >= 0 else 1
                inlinee = _SITE.unpack_from(data, body)[2]
                sites.append(InlineSite(inlinee, parent, depth, data[body + fixed : rec_end]))
                stack.append((proc_index, len(sites) - 1))
            else:
                stack.append((-1, -1))
        elif kind == S_SEPCODE:
            if rec_end - body < _SEPCODE.size:
                raise PdbError(f"{what}: separated code record at {pos} is too short")
            s = _SEPCODE.unpack_from(data, body)
            proc_index = stack[-1][0] if stack else -1
            if proc_index >= 0:
                procs[proc_index].extra.append((s[6], s[4], s[2]))
            stack.append(stack[-1] if stack else (-1, -1))
        elif kind in _COMPILE_VERSION_AT:
            at = body + _COMPILE_VERSION_AT[kind]
            producer = cstr_at(data, at, rec_end, what)[0] if at < rec_end else ""
        elif kind in _OTHER_SCOPES:
            stack.append(stack[-1] if stack else (-1, -1))
        elif kind in _SCOPE_ENDS and stack:
            stack.pop()
        pos = rec_end
        # Records are 4-byte aligned in PDBs; padding is part of the length already.
    return procs


@dataclass(frozen=True, slots=True)
class Public:
    """An S_PUB32: a decorated name at section:offset."""

    name: str
    segment: int
    offset: int
    flags: int

    @property
    def is_function(self) -> bool:
        return bool(self.flags & 0x3)  # CVPSF_CODE | CVPSF_FUNCTION


def parse_publics(data: bytes) -> list[Public]:
    """All S_PUB32 records of the symbol record stream."""
    result: list[Public] = []
    pos = 0
    end = len(data)
    while pos + 4 <= end:
        reclen = u16_at(data, pos, "symbol records")
        kind = u16_at(data, pos + 2, "symbol records")
        rec_end = pos + 2 + reclen
        if reclen < 2 or rec_end > end:
            raise PdbError(f"symbol records: record at {pos} has a bad length {reclen}")
        if kind == S_PUB32 and rec_end - (pos + 4) >= _PUB.size:
            flags, offset, segment = _PUB.unpack_from(data, pos + 4)
            name, _ = cstr_at(data, pos + 4 + _PUB.size, rec_end, "symbol records")
            result.append(Public(name, segment, offset, flags))
        pos = rec_end
    return result


# Binary annotation opcodes (cvinfo.h BinaryAnnotationOpcode).
_BA_CODE_OFFSET = 1
_BA_CHANGE_CODE_OFFSET_BASE = 2
_BA_CHANGE_CODE_OFFSET = 3
_BA_CHANGE_CODE_LENGTH = 4
_BA_CHANGE_FILE = 5
_BA_CHANGE_LINE_OFFSET = 6
_BA_CHANGE_LINE_END_DELTA = 7
_BA_CHANGE_RANGE_KIND = 8
_BA_CHANGE_COLUMN_START = 9
_BA_CHANGE_COLUMN_END_DELTA = 10
_BA_CHANGE_CODE_OFFSET_AND_LINE_OFFSET = 11
_BA_CHANGE_CODE_LENGTH_AND_CODE_OFFSET = 12
_BA_CHANGE_COLUMN_END = 13


def _uncompress(data: bytes, pos: int) -> tuple[int, int]:
    """CodeView's compressed unsigned integer (1, 2 or 4 bytes) at ``pos``."""
    n = len(data)
    if pos >= n:
        raise PdbError("inline annotations: truncated operand")
    b0 = data[pos]
    if b0 & 0x80 == 0:
        return b0, pos + 1
    if b0 & 0xC0 == 0x80:
        if pos + 2 > n:
            raise PdbError("inline annotations: truncated operand")
        return ((b0 & 0x3F) << 8) | data[pos + 1], pos + 2
    if b0 & 0xE0 == 0xC0:
        if pos + 4 > n:
            raise PdbError("inline annotations: truncated operand")
        value = ((b0 & 0x1F) << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
        return value, pos + 4
    raise PdbError(f"inline annotations: bad compressed integer 0x{b0:02x}")


def _signed(value: int) -> int:
    return -(value >> 1) if value & 1 else value >> 1


def decode_annotations(
    data: bytes, file: int, line: int, limit: int
) -> list[tuple[int, int, int, int]]:
    """Run an inline site's line program: rows ``(start, end, file, line)``.

    Offsets are relative to the start of the enclosing procedure. A row's end
    is set by an explicit code length or by the start of the next row; a row
    still open at the end runs to ``limit`` (the procedure's length).
    """
    rows: list[list[int]] = []  # [start, end or -1, file, line]
    offset = 0
    pos = 0
    n = len(data)

    def emit(length: int = -1) -> None:
        if rows and rows[-1][1] < 0:
            rows[-1][1] = offset
        rows.append([offset, offset + length if length >= 0 else -1, file, line])

    while pos < n:
        op, pos = _uncompress(data, pos)
        if op == 0:
            break  # padding up to the record end
        if op == _BA_CHANGE_CODE_OFFSET_AND_LINE_OFFSET:
            value, pos = _uncompress(data, pos)
            offset += value & 0xF
            line += _signed(value >> 4)
            emit()
        elif op == _BA_CHANGE_CODE_OFFSET:
            value, pos = _uncompress(data, pos)
            offset += value
            emit()
        elif op == _BA_CHANGE_CODE_LENGTH:
            value, pos = _uncompress(data, pos)
            if rows and rows[-1][1] < 0:
                rows[-1][1] = rows[-1][0] + value
            offset += value
        elif op == _BA_CHANGE_CODE_LENGTH_AND_CODE_OFFSET:
            length, pos = _uncompress(data, pos)
            value, pos = _uncompress(data, pos)
            offset += value
            emit(length)
        elif op == _BA_CHANGE_LINE_OFFSET:
            value, pos = _uncompress(data, pos)
            line += _signed(value)
        elif op == _BA_CHANGE_FILE:
            file, pos = _uncompress(data, pos)
        elif op == _BA_CODE_OFFSET:
            offset, pos = _uncompress(data, pos)
        elif op in (
            _BA_CHANGE_CODE_OFFSET_BASE,
            _BA_CHANGE_LINE_END_DELTA,
            _BA_CHANGE_RANGE_KIND,
            _BA_CHANGE_COLUMN_START,
            _BA_CHANGE_COLUMN_END_DELTA,
            _BA_CHANGE_COLUMN_END,
        ):
            _, pos = _uncompress(data, pos)
        else:
            raise PdbError(f"inline annotations: unknown opcode {op}")
    if rows and rows[-1][1] < 0:
        rows[-1][1] = max(limit, rows[-1][0])
    return [(s, e, f, ln) for s, e, f, ln in rows if e > s]
