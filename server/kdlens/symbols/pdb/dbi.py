"""The DBI stream: modules, section contributions and the image's section headers.

Symbols and line tables address code as ``section:offset``; the section
headers copied into the PDB (through the optional debug header) turn that
into an RVA. Section contributions say which module owns which bytes, so a
lookup only has to read that module's stream.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

from .binary import Reader
from .errors import PdbError

DBI_STREAM = 3
_NO_STREAM = 0xFFFF
_HEADER = struct.Struct("<iIIHHHHHHiiiiiIiiHHI")
_SECTION_HEADER = struct.Struct("<8sIIIIIIHHI")
_CONTRIB_V60 = 0xEFFE0000 + 19970605
_CONTRIB_V2 = 0xEFFE0000 + 20140516
_SECTION_HEADER_SLOT = 5  # index of the section header stream in the optional debug header

#: IMAGE_SCN_CNT_CODE | IMAGE_SCN_MEM_EXECUTE: a section that holds instructions.
CODE_SECTION = 0x00000020 | 0x20000000


@dataclass(frozen=True, slots=True)
class DbiHeader:
    """The fields of the DBI header this reader uses."""

    age: int
    global_stream: int
    public_stream: int
    symbol_record_stream: int
    machine: int
    mod_info_size: int
    section_contribution_size: int
    section_map_size: int
    source_info_size: int
    type_server_map_size: int
    optional_debug_header_size: int
    ec_substream_size: int


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """One compiland (object file or import) as the DBI lists it."""

    index: int
    name: str
    object_name: str
    stream: int | None
    symbols_size: int
    c11_size: int
    c13_size: int


@dataclass(frozen=True, slots=True)
class SectionHeader:
    """An image section as copied into the PDB."""

    name: str
    virtual_size: int
    virtual_address: int
    characteristics: int

    @property
    def is_code(self) -> bool:
        return bool(self.characteristics & CODE_SECTION)


@dataclass(frozen=True, slots=True)
class Dbi:
    """The parsed DBI stream (without the module symbol streams)."""

    header: DbiHeader
    modules: tuple[ModuleInfo, ...]
    #: (section, offset, size, module) for each contribution, as stored.
    contributions: tuple[tuple[int, int, int, int], ...]
    debug_streams: tuple[int | None, ...]

    @property
    def section_header_stream(self) -> int | None:
        if len(self.debug_streams) > _SECTION_HEADER_SLOT:
            return self.debug_streams[_SECTION_HEADER_SLOT]
        return None


def _stream_or_none(value: int) -> int | None:
    return None if value == _NO_STREAM else value


def parse_dbi(data: bytes) -> Dbi:
    """Parse the DBI header and the substreams this reader needs."""
    if len(data) < _HEADER.size:
        raise PdbError(f"DBI stream is too small ({len(data)} bytes)")
    (
        signature,
        _version,
        age,
        global_stream,
        _build,
        public_stream,
        _dll_version,
        sym_records,
        _rebuild,
        mod_info_size,
        contrib_size,
        section_map_size,
        source_info_size,
        type_server_map_size,
        _mfc_index,
        debug_header_size,
        ec_size,
        _flags,
        machine,
        _pad,
    ) = _HEADER.unpack_from(data, 0)
    if signature != -1:
        raise PdbError("DBI stream has an old (pre-VC 4.1) header")
    sizes = (
        mod_info_size,
        contrib_size,
        section_map_size,
        source_info_size,
        type_server_map_size,
        ec_size,
        debug_header_size,
    )
    if any(s < 0 for s in sizes) or _HEADER.size + sum(sizes) > len(data):
        raise PdbError("DBI substream sizes exceed the DBI stream")
    header = DbiHeader(
        age,
        global_stream,
        public_stream,
        sym_records,
        machine,
        mod_info_size,
        contrib_size,
        section_map_size,
        source_info_size,
        type_server_map_size,
        debug_header_size,
        ec_size,
    )
    pos = _HEADER.size
    modules = _parse_modules(data, pos, pos + mod_info_size)
    pos += mod_info_size
    contributions = _parse_contributions(data, pos, pos + contrib_size)
    pos += contrib_size + section_map_size + source_info_size + type_server_map_size + ec_size
    r = Reader(data, "DBI optional debug header", pos, pos + debug_header_size)
    debug_streams = tuple(_stream_or_none(r.u16()) for _ in range(r.remaining // 2))
    return Dbi(header, modules, contributions, debug_streams)


def _parse_modules(data: bytes, start: int, end: int) -> tuple[ModuleInfo, ...]:
    r = Reader(data, "DBI module info", start, end)
    modules: list[ModuleInfo] = []
    while r.remaining >= 64:
        r.skip(4)  # unused
        r.skip(28)  # the module's first section contribution
        r.u16()  # flags
        stream = r.u16()
        sym_size = r.u32()
        c11_size = r.u32()
        c13_size = r.u32()
        r.u16()  # source file count
        r.skip(2 + 4 + 4 + 4)  # padding, unused, source and PDB file name indices
        name = r.cstr()
        obj = r.cstr()
        r.align(4)
        modules.append(
            ModuleInfo(
                len(modules), name, obj, _stream_or_none(stream), sym_size, c11_size, c13_size
            )
        )
    return tuple(modules)


def _parse_contributions(
    data: bytes, start: int, end: int
) -> tuple[tuple[int, int, int, int], ...]:
    if end <= start:
        return ()
    r = Reader(data, "DBI section contributions", start, end)
    version = r.u32()
    if version == _CONTRIB_V60:
        entry = 28
    elif version == _CONTRIB_V2:
        entry = 32
    else:
        return ()  # an unknown layout: lookups fall back to reading every module
    result = []
    for _ in range(r.remaining // entry):
        at = r.pos
        section = r.u16()
        r.skip(2)
        offset = r.i32()
        size = r.i32()
        r.u32()  # characteristics
        module = r.u16()
        r.pos = at + entry
        if size > 0 and offset >= 0:
            result.append((section, offset, size, module))
    return tuple(result)


def parse_section_headers(data: bytes) -> tuple[SectionHeader, ...]:
    """The IMAGE_SECTION_HEADER array stored in its own stream."""
    result = []
    for i in range(len(data) // _SECTION_HEADER.size):
        raw_name, vsize, vaddr, _rawsize, _rawptr, _r, _l, _nr, _nl, chars = (
            _SECTION_HEADER.unpack_from(data, i * _SECTION_HEADER.size)
        )
        name = raw_name.split(b"\0", 1)[0].decode("utf-8", "replace")
        result.append(SectionHeader(name, vsize, vaddr, chars))
    return tuple(result)


class AddressMap:
    """``section:offset`` <-> RVA, and RVA -> owning module via contributions."""

    def __init__(
        self,
        sections: tuple[SectionHeader, ...],
        contributions: tuple[tuple[int, int, int, int], ...],
        module_count: int,
    ) -> None:
        self.sections = sections
        spans = []
        for section, offset, size, module in contributions:
            rva = self.rva(section, offset)
            if rva is not None and module < module_count:
                spans.append((rva, rva + size, module))
        spans.sort()
        self._span_starts = [s[0] for s in spans]
        self._spans = spans
        placed = {s[2] for s in spans}
        #: Modules no contribution names (lld files import thunks under "* Linker *"
        #: while their symbols sit in the import module): always searched.
        self.unplaced = [i for i in range(module_count) if i not in placed]

    def rva(self, section: int, offset: int) -> int | None:
        """The RVA of ``section:offset`` (sections count from 1), or None for no section."""
        if section < 1 or section > len(self.sections):
            return None
        return self.sections[section - 1].virtual_address + offset

    @property
    def has_contributions(self) -> bool:
        return bool(self._spans)

    def modules_at(self, rva: int) -> list[int]:
        """Indices of the modules whose contributions cover ``rva`` (usually one)."""
        i = bisect.bisect_right(self._span_starts, rva)
        found = []
        # Contributions do not overlap in a linked image, but be tolerant: look back a little.
        for start, end, module in reversed(self._spans[max(0, i - 4) : i]):
            if start <= rva < end and module not in found:
                found.append(module)
        return found
