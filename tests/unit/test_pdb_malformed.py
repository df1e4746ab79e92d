"""Corrupted PDBs: every query ends in a result or ``PdbError``, never another exception."""

from __future__ import annotations

import random
import struct
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.pdb.dbi import parse_dbi
from kdlens.symbols.pdb.msf import Msf

from fixtures.pdb.pdbtest import BUILDS, patch_stream, pdb_bytes, stream_data
from fuzz.pdbmutants import damaged


@cache
def _live_offsets(build: str) -> tuple[int, ...]:
    """File offsets that some stream (or the superblock/directory map) actually uses."""
    data = pdb_bytes(build)
    msf = Msf(data)
    offsets = set(range(0, 56))
    for index in range(msf.stream_count):
        offsets.update(msf.file_offset(index, i) for i in range(msf.stream_size(index)))
    sb = msf.superblock
    offsets.update(range(sb.block_map_addr * sb.block_size, sb.block_map_addr * sb.block_size + 8))
    return tuple(sorted(offsets))


def _exercise(data: bytes) -> bool:
    """Open and query everything; True when it all worked, False on PdbError."""
    try:
        pdb = PdbFile.from_bytes(data)
        assert pdb.symbol_key
        functions = pdb.functions()
        for f in functions[:40]:
            pdb.function_by_name(f.name)
            for rva in (f.rva, f.rva + f.length // 2, f.rva + f.length):
                loc = pdb.lookup(rva)
                if loc is not None:
                    assert loc.frames and loc.frames[-1].function == loc.function
        for rva in range(0x1000, 0x1600, 37):
            pdb.lookup(rva)
        return True
    except PdbError as exc:
        assert exc.reason
        return False


def test_untouched_fixtures_work() -> None:
    assert all(_exercise(pdb_bytes(b)) for b in BUILDS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    build=st.sampled_from(BUILDS),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=6
    ),
)
def test_byte_edits_in_live_data(build: str, edits: list[tuple[int, int]]) -> None:
    offsets = _live_offsets(build)
    data = bytearray(pdb_bytes(build))
    for which, value in edits:
        data[offsets[which % len(offsets)]] = value
    _exercise(bytes(data))


def test_bit_flips_at_many_positions() -> None:
    """A deterministic sweep: one flipped bit at every 13th live byte of one fixture."""
    build = "x64-O2"
    base = pdb_bytes(build)
    offsets = _live_offsets(build)
    rng = random.Random(7)
    outcomes = {True: 0, False: 0}
    for pos in offsets[::13]:
        data = bytearray(base)
        data[pos] ^= 1 << rng.randrange(8)
        outcomes[_exercise(bytes(data))] += 1
    # Many flips hit names or unused fields; many others must be caught.
    assert outcomes[True] > 0 and outcomes[False] > 0


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_garbage_after_a_valid_magic(tail: bytes) -> None:
    magic = pdb_bytes("x64-O0")[:32]
    _exercise(magic + tail)


def _dbi_field(build: str, offset: int, value: int) -> bytes:
    return patch_stream(pdb_bytes(build), 3, offset, struct.pack("<i", value))


def test_huge_dbi_substream_size() -> None:
    # ModInfoSize at offset 24 of the DBI header.
    assert not _exercise(_dbi_field("x64-O2", 24, 0x7FFFFFF0))
    assert not _exercise(_dbi_field("x64-O2", 24, -4))


def test_huge_module_line_size() -> None:
    """A module whose C13 size claims more than its stream holds."""
    data = pdb_bytes("x64-O2")
    dbi = stream_data(data, 3)
    # The first module entry starts at 64; its C13 byte size is at +44.
    patched = patch_stream(data, 3, 64 + 44, struct.pack("<I", 0x40000000))
    assert dbi != stream_data(patched, 3)
    pdb = PdbFile.from_bytes(patched)  # the module is only read when needed
    with pytest.raises(PdbError, match="exceed the stream"):
        pdb.functions()


def test_named_stream_map_with_huge_counts() -> None:
    data = pdb_bytes("x86-O2")
    # After version, signature, age and GUID (28 bytes) comes the name buffer size.
    assert not _exercise(patch_stream(data, 1, 28, struct.pack("<I", 0xFFFFFF00)))


# ------------------------------------------------------------------ why no source line


def _probe(pdb: PdbFile, name: str = "MyAllocate") -> int:
    f = pdb.function_by_name(name)
    assert f is not None
    return f.rva + 4


@pytest.mark.parametrize("build", BUILDS)
def test_line_problem_is_none_where_lines_resolve(build: str) -> None:
    pdb = PdbFile.from_bytes(pdb_bytes(build))
    rva = _probe(pdb)
    loc = pdb.lookup(rva)
    assert loc is not None and loc.file and loc.line
    assert pdb.line_problem(rva) is None
    assert pdb.line_problem() is None
    # an address in the image headers: nothing covers it, and that is the reason
    assert pdb.lookup(0x10) is None
    assert pdb.line_problem(0x10) == "no function of the PDB covers RVA 0x10"


@pytest.mark.parametrize("build", BUILDS)
def test_zeroed_section_headers_are_an_error_not_wrong_addresses(build: str) -> None:
    pristine = PdbFile.from_bytes(pdb_bytes(build))
    pdb = PdbFile.from_bytes(damaged(pdb_bytes(build), "sections zeroed"))
    assert pdb.symbol_key == pristine.symbol_key  # the identity is still readable
    with pytest.raises(PdbError, match=r"section headers are damaged \(section 1 '' at RVA 0\)"):
        pdb.functions()
    with pytest.raises(PdbError, match="section headers are damaged"):
        pdb.lookup(_probe(pristine))
    reason = pdb.line_problem()
    assert reason is not None and "section headers are damaged" in reason


def test_missing_section_headers_are_named() -> None:
    pdb = PdbFile.from_bytes(damaged(pdb_bytes("x86-O2"), "sections missing"))
    assert pdb.sections == ()
    assert pdb.line_problem(0x1000) == (
        "the PDB has no section headers: addresses cannot be computed"
    )


def test_section_headers_out_of_order_are_damaged() -> None:
    data = pdb_bytes("x64-O0")
    index = parse_dbi(stream_data(data, 3)).section_header_stream
    assert index is not None
    # the second header's RVA (at 40 + 12) moved below the first one's
    pdb = PdbFile.from_bytes(patch_stream(data, index, 52, struct.pack("<I", 0x800)))
    with pytest.raises(PdbError, match=r"section 2 '\.rdata' overlaps the one before it"):
        pdb.functions()


@pytest.mark.parametrize("build", BUILDS)
def test_unreadable_names_stream_is_the_reason(build: str) -> None:
    rva = _probe(PdbFile.from_bytes(pdb_bytes(build)))
    pdb = PdbFile.from_bytes(damaged(pdb_bytes(build), "names zeroed"))
    assert pdb.functions()  # functions need no file names
    with pytest.raises(PdbError, match="/names string table has a bad signature"):
        pdb.lookup(rva)
    for at in (rva, None):
        assert pdb.line_problem(at) == (
            "the /names stream is unreadable: /names string table has a bad signature"
        )


def test_missing_names_stream_is_the_reason() -> None:
    data = damaged(pdb_bytes("x64-O2"), "names missing")
    pdb = PdbFile.from_bytes(data)
    assert "/names" not in pdb.named_streams
    rva = _probe(pdb)
    loc = pdb.lookup(rva)
    assert loc is not None and loc.function == "MyAllocate" and loc.file is None
    assert pdb.line_problem(rva) == "the PDB has no /names stream, so source files cannot be named"


def test_module_without_line_data_is_the_reason() -> None:
    pdb = PdbFile.from_bytes(damaged(pdb_bytes("x86-O0"), "no line data"))
    rva = _probe(pdb)
    loc = pdb.lookup(rva)
    assert loc is not None and loc.function == "MyAllocate" and loc.line is None
    assert pdb.line_problem(rva) == (
        "no line data for the module C:\\build\\mydriver\\x86-O0\\alloc.obj"
    )
    assert pdb.line_problem() == "no line data for any module"


def test_module_stream_claimed_twice_is_refused() -> None:
    pdb = PdbFile.from_bytes(damaged(pdb_bytes("x64-O2"), "module stream shared"))
    with pytest.raises(PdbError, match="its stream 11 is also another module's"):
        pdb.functions()
