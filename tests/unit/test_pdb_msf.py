"""The MSF container layer: superblock, directory, streams, and their failures."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.pdb.msf import MAGIC, Msf, read_superblock

from fixtures.pdb.pdbtest import BUILDS, pdb_bytes, pdb_path


@pytest.mark.parametrize("build", BUILDS)
def test_superblock_and_directory(build: str) -> None:
    data = pdb_bytes(build)
    sb = read_superblock(data)
    assert sb.block_size == 4096
    assert sb.num_blocks * sb.block_size == len(data)
    msf = Msf(data)
    # lld writes the fixed streams 1-4 (info, TPI, DBI, IPI) and one per module after them.
    assert msf.stream_count >= 10
    for index in range(1, 5):
        assert msf.has_stream(index)
        assert len(msf.read_stream(index, "t")) == msf.stream_size(index)
    assert not msf.has_stream(msf.stream_count)
    assert not msf.has_stream(0xFFFF)


def test_stream_reading_across_blocks_and_file_offsets() -> None:
    data = pdb_bytes("x64-O2")
    msf = Msf(data)
    info = msf.read_stream(1, "info")
    # The info stream starts with the VC70 version number.
    assert struct.unpack_from("<I", info, 0)[0] == 20000404
    at = msf.file_offset(1, 0)
    assert data[at : at + 4] == info[:4]
    with pytest.raises(PdbError):
        msf.file_offset(1, len(info))
    with pytest.raises(PdbError, match="does not exist"):
        msf.read_stream(msf.stream_count + 3, "missing")


def test_wrong_magic() -> None:
    data = bytearray(pdb_bytes("x64-O0"))
    data[10] ^= 0x20
    with pytest.raises(PdbError, match="magic"):
        PdbFile.from_bytes(bytes(data))


def test_msf_2_is_named() -> None:
    old = b"Microsoft C/C++ program database 2.00\r\n\x1aJG\0\0" + bytes(100)
    with pytest.raises(PdbError, match=r"2\.00"):
        PdbFile.from_bytes(old)


@pytest.mark.parametrize("size", [0, 1, 31, len(MAGIC), 55])
def test_too_small(size: int) -> None:
    with pytest.raises(PdbError):
        PdbFile.from_bytes(pdb_bytes("x64-O0")[:size])


def _with_superblock(field: int, value: int) -> bytes:
    data = bytearray(pdb_bytes("x64-O0"))
    struct.pack_into("<I", data, len(MAGIC) + 4 * field, value)
    return bytes(data)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (0, 4095, "block size"),
        (0, 0, "block size"),
        (2, 0, "block count"),
        (2, 0x7FFFFFFF, "block count"),
        (3, 0, "directory size"),
        (3, 0xFFFFFFFF, "directory size"),
        (5, 0, "block map"),
        (5, 0xFFFFFF, "block map"),
    ],
)
def test_bad_superblock_fields(field: int, value: int, reason: str) -> None:
    with pytest.raises(PdbError, match=reason):
        PdbFile.from_bytes(_with_superblock(field, value))


def _directory_offset(data: bytes | bytearray) -> int:
    sb = read_superblock(data)
    first_block = struct.unpack_from("<I", data, sb.block_map_addr * sb.block_size)[0]
    return int(first_block) * sb.block_size


def test_huge_stream_count_is_bounded() -> None:
    data = bytearray(pdb_bytes("x64-O0"))
    struct.pack_into("<I", data, _directory_offset(data), 0xFFFFFFF0)
    with pytest.raises(PdbError, match="stream sizes do not fit"):
        PdbFile.from_bytes(bytes(data))


def test_huge_stream_size_is_bounded() -> None:
    data = bytearray(pdb_bytes("x64-O0"))
    # Stream 3 (DBI) claims 3 GB.
    struct.pack_into("<I", data, _directory_offset(data) + 4 + 3 * 4, 0xC0000000)
    with pytest.raises(PdbError, match="larger than the file"):
        PdbFile.from_bytes(bytes(data))


def test_block_outside_the_file() -> None:
    data = bytearray(pdb_bytes("x64-O0"))
    msf = Msf(bytes(data))
    count = msf.stream_count
    # The first block number of stream 1 sits after the count and all sizes
    # (stream 0 is empty in lld's output, so it has no block numbers).
    assert msf.stream_size(0) == 0
    struct.pack_into("<I", data, _directory_offset(data) + 4 + 4 * count, 0x00FFFFFF)
    with pytest.raises(PdbError, match="outside the file"):
        PdbFile.from_bytes(bytes(data))


@pytest.mark.parametrize("build", ["x64-O2", "x86-O0"])
def test_truncated_files_fail_cleanly(build: str) -> None:
    data = pdb_bytes(build)
    for size in list(range(56, 8192, 97)) + list(range(8192, len(data), 1531)):
        try:
            pdb = PdbFile.from_bytes(data[:size])
            pdb.functions()
            pdb.lookup(0x1000)
        except PdbError:
            pass


def test_open_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdb"
    empty.write_bytes(b"")
    with pytest.raises(PdbError, match="empty"):
        PdbFile.open(empty)
    with pytest.raises(PdbError, match="cannot read"):
        PdbFile.open(tmp_path / "missing.pdb")
    with pytest.raises(PdbError, match="cannot read"):
        PdbFile.open(tmp_path)


def test_open_maps_and_closes() -> None:
    with PdbFile.open(pdb_path("x64-O2")) as pdb:
        assert pdb.lookup(pdb.functions()[0].rva) is not None
    pdb.close()  # closing twice is harmless
