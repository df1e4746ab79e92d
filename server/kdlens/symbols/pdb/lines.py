"""C13 debug subsections of a module: line tables, file checksums, inlinee lines.

A module stream ends with a list of ``(kind, length, data)`` subsections.
Line tables map code offsets to lines in files named by an offset into the
file checksum subsection, which in turn points into ``/names``. Inlinee
lines give the first line (and file) of each function that was inlined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .binary import Reader
from .errors import PdbError

DEBUG_S_LINES = 0xF2
DEBUG_S_FILECHKSMS = 0xF4
DEBUG_S_INLINEELINES = 0xF6
_DEBUG_S_IGNORE = 0x80000000
_CV_LINES_HAVE_COLUMNS = 0x0001
_INLINEE_SOURCE_LINE_EX = 0x1
#: Line numbers the compiler uses as markers ("hidden" code), not source lines.
_MARKER_LINES = (0xFEEFEE, 0xF00F00)


@dataclass(frozen=True, slots=True)
class LineBlock:
    """One DEBUG_S_LINES subsection: a code range and its (offset, line, file) entries.

    Entries are in file order; ``offset`` is relative to ``offset`` of the block.
    ``file`` is an offset into the module's file checksum subsection.
    """

    segment: int
    offset: int
    code_size: int
    entries: tuple[tuple[int, int, int], ...]


@dataclass(slots=True)
class C13Info:
    """Everything a module's C13 area says about lines."""

    blocks: list[LineBlock] = field(default_factory=list)
    #: file checksum offset -> name offset in /names
    checksums: dict[int, int] = field(default_factory=dict)
    #: inlinee id -> (file checksum offset, first line)
    inlinees: dict[int, tuple[int, int]] = field(default_factory=dict)


def parse_c13(data: bytes, start: int, end: int, what: str) -> C13Info:
    """Parse the C13 subsections in ``data[start:end]``."""
    info = C13Info()
    r = Reader(data, what, start, end)
    while r.remaining >= 8:
        kind = r.u32()
        length = r.count(r.u32(), 1, "subsection bytes")
        body = r.pos
        r.skip(length)
        if kind & _DEBUG_S_IGNORE:
            pass
        elif kind == DEBUG_S_LINES:
            info.blocks.append(_parse_lines(data, body, body + length, what))
        elif kind == DEBUG_S_FILECHKSMS:
            _parse_checksums(data, body, body + length, what, info.checksums)
        elif kind == DEBUG_S_INLINEELINES:
            _parse_inlinees(data, body, body + length, what, info.inlinees)
        r.align(4)
    return info


def _parse_lines(data: bytes, start: int, end: int, what: str) -> LineBlock:
    r = Reader(data, f"{what} line table", start, end)
    offset = r.u32()
    segment = r.u16()
    flags = r.u16()
    code_size = r.u32()
    entry_size = 12 if flags & _CV_LINES_HAVE_COLUMNS else 8
    entries: list[tuple[int, int, int]] = []
    while r.remaining >= 12:
        block_start = r.pos
        file = r.u32()
        count = r.u32()
        block_size = r.u32()
        if block_size < 12 or block_size > end - block_start:
            raise PdbError(f"{what}: line block size {block_size} is impossible")
        if count * entry_size > block_size - 12:
            raise PdbError(f"{what}: {count} line entries do not fit their block")
        for _ in range(count):
            code = r.u32()
            line = r.u32() & 0xFFFFFF
            if line not in _MARKER_LINES:
                entries.append((code, line, file))
        r.pos = block_start + block_size
    return LineBlock(segment, offset, code_size, tuple(entries))


def _parse_checksums(data: bytes, start: int, end: int, what: str, out: dict[int, int]) -> None:
    r = Reader(data, f"{what} file checksums", start, end)
    while r.remaining >= 6:
        at = r.pos - start
        name = r.u32()
        size = r.u8()
        r.u8()  # checksum kind
        r.skip(size)
        out[at] = name
        r.pos = min(r.pos + (-(r.pos - start)) % 4, end)


def _parse_inlinees(
    data: bytes, start: int, end: int, what: str, out: dict[int, tuple[int, int]]
) -> None:
    r = Reader(data, f"{what} inlinee lines", start, end)
    signature = r.u32()
    while r.remaining >= 12:
        inlinee = r.u32()
        file = r.u32()
        line = r.u32()
        if signature == _INLINEE_SOURCE_LINE_EX:
            extra = r.count(r.u32(), 4, "extra inlinee files")
            r.skip(4 * extra)
        out.setdefault(inlinee, (file, line))
