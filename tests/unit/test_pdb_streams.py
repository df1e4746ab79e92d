"""The layers above MSF: info stream, /names, DBI, module symbols, C13 lines, IPI."""

from __future__ import annotations

import struct

import pytest

from kdlens.symbols.pdb import PdbError
from kdlens.symbols.pdb.codeview import parse_module_symbols, parse_publics
from kdlens.symbols.pdb.dbi import AddressMap, Dbi, parse_dbi, parse_section_headers
from kdlens.symbols.pdb.info import StringTable, parse_info
from kdlens.symbols.pdb.lines import parse_c13
from kdlens.symbols.pdb.typeinfo import InlineeNames, TypeStream
from kdlens.symbols.pe import read_image

from fixtures.pdb.pdbtest import BUILDS, pdb_bytes, source, stream_data

OBJECTS = ("driver.obj", "handleioctl.obj", "workitem.obj", "alloc.obj", "stream.obj")


def _dbi(build: str) -> Dbi:
    return parse_dbi(stream_data(pdb_bytes(build), 3))


@pytest.mark.parametrize("build", BUILDS)
def test_info_stream_matches_the_image(build: str) -> None:
    from fixtures.pdb.pdbtest import sys_path

    info = parse_info(stream_data(pdb_bytes(build), 1))
    assert info.version == 20000404
    image = read_image(sys_path(build))
    assert image.codeview is not None
    assert info.guid == image.codeview.guid
    assert _dbi(build).header.age == image.codeview.age == 1
    assert set(info.named_streams) >= {"/names", "/LinkInfo"}


def test_names_table() -> None:
    data = pdb_bytes("x64-O2")
    info = parse_info(stream_data(data, 1))
    table = StringTable(stream_data(data, info.named_streams["/names"]))
    assert table.get(0) == ""
    # Offset 1 holds the first string; walking the table finds every source path.
    raw = stream_data(data, info.named_streams["/names"])
    assert source("driver.c").encode() in raw
    offset = raw.index(source("driver.c").encode()) - 12
    assert table.get(offset) == source("driver.c")
    with pytest.raises(PdbError, match="outside"):
        table.get(len(raw))
    with pytest.raises(PdbError, match="signature"):
        StringTable(b"\0" * 16)


@pytest.mark.parametrize("build", BUILDS)
def test_dbi_modules_and_sections(build: str) -> None:
    dbi = _dbi(build)
    arch = build.split("-")[0]
    assert dbi.header.machine == (0x8664 if arch == "x64" else 0x14C)
    names = [m.name for m in dbi.modules]
    assert names[:5] == [f"{source(build)}\\{obj}" for obj in OBJECTS]
    assert names[-1] == "* Linker *"
    assert "Import:ntoskrnl.exe" in names
    for m in dbi.modules[:5]:
        assert m.stream is not None and m.symbols_size > 4 and m.c13_size > 0
    index = dbi.section_header_stream
    assert index is not None
    sections = parse_section_headers(stream_data(pdb_bytes(build), index))
    # x86 images keep base relocations; the x64 ones are linked without.
    expected = [".text", ".rdata", ".data"] + ([".reloc"] if arch == "x86" else [])
    assert [s.name for s in sections] == expected
    assert sections[0].virtual_address == 0x1000 and sections[0].is_code
    assert not sections[1].is_code


@pytest.mark.parametrize("build", BUILDS)
def test_contributions_cover_every_procedure(build: str) -> None:
    data = pdb_bytes(build)
    dbi = _dbi(build)
    assert dbi.section_header_stream is not None
    sections = parse_section_headers(stream_data(data, dbi.section_header_stream))
    amap = AddressMap(sections, dbi.contributions, len(dbi.modules))
    assert amap.has_contributions
    seen = 0
    for m in dbi.modules:
        if m.stream is None:
            continue
        sym = stream_data(data, m.stream)
        for proc in parse_module_symbols(sym, 4, m.symbols_size, m.name):
            rva = amap.rva(proc.segment, proc.offset)
            assert rva is not None
            owners = amap.modules_at(rva) + amap.unplaced
            assert m.index in owners
            assert m.index in amap.modules_at(rva + proc.length - 1) + amap.unplaced
            if not proc.is_thunk:
                assert owners[0] == m.index
            seen += 1
    assert seen >= 18
    assert amap.rva(0, 5) is None
    assert amap.rva(len(sections) + 1, 0) is None


def _module_stream(build: str, obj: str) -> tuple[bytes, int, int, int]:
    dbi = _dbi(build)
    m = next(m for m in dbi.modules if m.name.endswith(obj))
    assert m.stream is not None
    sym_end = m.symbols_size
    c13 = sym_end + m.c11_size
    return stream_data(pdb_bytes(build), m.stream), sym_end, c13, c13 + m.c13_size


def test_module_symbols_with_nested_inline_sites() -> None:
    data, sym_end, _, _ = _module_stream("x64-O2", "handleioctl.obj")
    procs = parse_module_symbols(data, 4, sym_end, "handleioctl")
    assert [p.name for p in procs] == ["HandleIoctl"]
    sites = procs[0].sites
    # HandlePing inlined with three of its own inlinees, then two more direct ones.
    assert [(s.parent, s.depth) for s in sites] == [
        (-1, 1),
        (0, 2),
        (0, 2),
        (0, 2),
        (-1, 1),
        (-1, 1),
    ]
    assert all(s.annotations for s in sites)


def test_module_symbols_at_o0_have_no_inline_sites() -> None:
    data, sym_end, _, _ = _module_stream("x86-O0", "handleioctl.obj")
    procs = parse_module_symbols(data, 4, sym_end, "handleioctl")
    assert [p.name for p in procs] == [
        "HandleIoctl",
        "HandlePing",
        "NextSequence",
        "BufferLargeEnough",
        "ChecksumBytes",
    ]
    assert all(not p.sites and p.length > 0 and p.segment == 1 for p in procs)


def test_bad_symbol_record_length() -> None:
    data, sym_end, _, _ = _module_stream("x64-O2", "alloc.obj")
    broken = bytearray(data)
    struct.pack_into("<H", broken, 4, 0xFFF0)
    with pytest.raises(PdbError, match="bad length"):
        parse_module_symbols(bytes(broken), 4, sym_end, "alloc")
    struct.pack_into("<H", broken, 4, 1)
    with pytest.raises(PdbError, match="bad length"):
        parse_module_symbols(bytes(broken), 4, sym_end, "alloc")


def test_c13_lines_checksums_and_inlinees() -> None:
    data, _, start, end = _module_stream("x64-O2", "workitem.obj")
    c13 = parse_c13(data, start, end, "workitem")
    assert len(c13.blocks) == 2  # one line table per function
    for block in c13.blocks:
        assert block.segment == 1 and block.code_size > 0
        offsets = [e[0] for e in block.entries]
        assert offsets == sorted(offsets) and offsets[0] == 0
        assert all(e[2] in c13.checksums for e in block.entries)
    assert len(c13.checksums) == 2  # workitem.c and mydriver.h
    assert len(c13.inlinees) == 1  # ChecksumBytes
    ((file, line),) = c13.inlinees.values()
    assert file in c13.checksums and line > 0


def test_c13_huge_line_count_is_rejected() -> None:
    data, _, start, end = _module_stream("x64-O2", "alloc.obj")
    c13 = bytearray(data)
    # Find the first DEBUG_S_LINES subsection and inflate its first block's line count.
    pos = start
    while struct.unpack_from("<I", c13, pos)[0] != 0xF2:
        pos += 8 + struct.unpack_from("<I", c13, pos + 4)[0]
        pos += -pos % 4
    struct.pack_into("<I", c13, pos + 8 + 12 + 4, 0x10000000)
    with pytest.raises(PdbError, match="do not fit"):
        parse_c13(bytes(c13), start, end, "alloc")


def test_inlinee_names_from_ipi_and_tpi() -> None:
    data = pdb_bytes("x64-O2")
    names = InlineeNames(
        TypeStream(stream_data(data, 4), "IPI"), TypeStream(stream_data(data, 2), "TPI")
    )
    mod, sym_end, start, end = _module_stream("x64-O2", "stream.obj")
    ids = [s.inlinee for p in parse_module_symbols(mod, 4, sym_end, "s") for s in p.sites]
    # A method: LF_MFUNC_ID whose class name comes from the TPI record; a function
    # in a namespace: LF_FUNC_ID whose scope is a string ID.
    by_name = {names.name(i): i for i in ids}
    assert set(by_name) == {"CMiniport::NewStream", "mydrv::ClampLength"}
    method, function = by_name["CMiniport::NewStream"], by_name["mydrv::ClampLength"]
    assert {method, function} <= set(parse_c13(mod, start, end, "s").inlinees)
    assert names.name(0x10) == "<inlinee 0x10>"
    assert InlineeNames(None, None).name(method) == f"<inlinee {method:#x}>"
    # Without the TPI the method keeps its bare name.
    bare = InlineeNames(TypeStream(stream_data(data, 4), "IPI"), None)
    assert bare.name(method) == "NewStream"
    assert bare.name(function) == "mydrv::ClampLength"


def test_type_stream_rejects_bad_headers() -> None:
    ipi = bytearray(stream_data(pdb_bytes("x64-O2"), 4))
    struct.pack_into("<I", ipi, 4, 0xFFFF)  # header size
    with pytest.raises(PdbError, match="header size"):
        TypeStream(bytes(ipi), "IPI")
    with pytest.raises(PdbError):
        TypeStream(b"\0" * 8, "IPI")


def test_publics() -> None:
    data = pdb_bytes("x86-O2")
    dbi = _dbi("x86-O2")
    pubs = parse_publics(stream_data(data, dbi.header.symbol_record_stream))
    by_name = {p.name: p for p in pubs}
    assert by_name["_DriverEntry@8"].is_function
    assert by_name["?NewStream@CMiniport@@QAEJKPAX@Z"].segment == 1
    assert not by_name["?g_Miniport@mydrv@@3VCMiniport@@A"].is_function


def _record(kind: int, body: bytes) -> bytes:
    body += b"\0" * (-(len(body) + 4) % 4)  # records are padded to 4 bytes
    return struct.pack("<HH", len(body) + 2, kind) + body


def _proc(name: str, offset: int, length: int) -> bytes:
    fields = struct.pack("<IIIIIIIIHB", 0, 0, 0, length, 0, 0, 0, offset, 1, 0)
    return _record(0x1110, fields + name.encode() + b"\0")


def _site(inlinee: int, annotations: bytes, kind: int = 0x114D) -> bytes:
    extra = b"\0\0\0\0" if kind == 0x115D else b""
    return _record(kind, struct.pack("<III", 0, 0, inlinee) + extra + annotations)


END, SITE_END = _record(0x0006, b""), _record(0x114E, b"")


def test_synthetic_scopes_sepcode_and_thunks() -> None:
    block = _record(0x1103, struct.pack("<IIIIH", 0, 0, 4, 0x10, 1) + b"\0")
    sepcode = _record(0x1132, struct.pack("<IIIIIIHH", 0, 0, 0x20, 0, 0x400, 0x100, 1, 1))
    thunk = _record(0x1102, struct.pack("<IIIIHHB", 0, 0, 0, 0x500, 1, 6, 0) + b"_Imp@4\0")
    records = (
        b"\4\0\0\0"
        + END  # a stray end before any scope is ignored
        + _proc("Outer", 0x100, 0x40)
        + block
        + _site(0x1001, b"\x03\x04\x04\x02")
        + _site(0x1002, b"", kind=0x115D)
        + SITE_END
        + SITE_END
        + END
        + sepcode
        + _site(0x1003, b"")
        + SITE_END
        + END
        + END
        + _site(0x1004, b"")  # outside any procedure: dropped
        + SITE_END
        + thunk
        + END
    )
    procs = parse_module_symbols(records, 4, len(records), "synthetic")
    assert [(p.name, p.offset, p.length, p.is_thunk) for p in procs] == [
        ("Outer", 0x100, 0x40, False),
        ("_Imp@4", 0x500, 6, True),
    ]
    outer = procs[0]
    assert [(s.inlinee, s.parent, s.depth) for s in outer.sites] == [
        (0x1001, -1, 1),
        (0x1002, 0, 2),
        (0x1003, -1, 1),
    ]
    assert outer.sites[0].annotations == b"\x03\x04\x04\x02"
    assert outer.extra == [(1, 0x400, 0x20)]
    with pytest.raises(PdbError, match="too short"):
        parse_module_symbols(_record(0x1110, b"\0" * 8), 0, 12, "short")
