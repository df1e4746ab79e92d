"""Corrupted PDBs: every query ends in a result or ``PdbError``, never another exception."""

from __future__ import annotations

import random
import struct
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.pdb.pdbtest import BUILDS, patch_stream, pdb_bytes, stream_data
from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.pdb.msf import Msf


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
