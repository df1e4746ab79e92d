"""The compressed store files (``name.pd_``): MSZIP cabinets and ZIP archives.

The cabinets under ``tests/fixtures/symbols/cab`` were made by gcab
(``make_cabs.sh``) from the fixture PDBs and images, so unpacking them must
give those files back byte for byte. When gcab is installed, fresh cabinets
of awkward data are checked against it too.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from kdlens.symbols.cab import MSZIP_BLOCK, ArchiveError, list_cab, unpack

from fixtures.pdb.pdbtest import pdb_path, sys_path
from helpers import FIXTURES

CABS = FIXTURES / "symbols" / "cab"
PACKED = [
    ("x64-O2-mydriver.pd_", pdb_path("x64-O2")),
    ("x86-O0-mydriver.pd_", pdb_path("x86-O0")),
    ("x64-O2-mydriver.sy_", sys_path("x64-O2")),
    ("x86-O0-mydriver.sy_", sys_path("x86-O0")),
]


def _unpack(data: bytes, want: str, max_bytes: int = 1 << 30) -> tuple[str, bytes]:
    out = io.BytesIO()
    method = unpack(io.BytesIO(data), len(data), want, out, max_bytes, "test.pd_")
    return method, out.getvalue()


@pytest.mark.parametrize(("packed", "original"), PACKED)
def test_committed_cabinets_unpack_to_the_fixture_files(packed: str, original: Path) -> None:
    data = (CABS / packed).read_bytes()
    method, got = _unpack(data, original.name)
    assert method == "MSZIP"
    assert got == original.read_bytes()


def test_a_pdb_spans_several_mszip_blocks_each_using_the_previous_as_history() -> None:
    data = (CABS / "x64-O2-mydriver.pd_").read_bytes()
    folders, members, _ = list_cab(io.BytesIO(data), len(data), "x")
    assert [m.name for m in members] == ["mydriver.pdb"]
    assert folders[0].method == 1
    assert folders[0].blocks == -(-pdb_path("x64-O2").stat().st_size // MSZIP_BLOCK) > 1


def test_zip_archives_under_the_compressed_name_are_read_too() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", "not this one")
        z.write(pdb_path("x64-O2"), "MyDriver.PDB")
    method, got = _unpack(buf.getvalue(), "mydriver.pdb")
    assert method == "ZIP" and got == pdb_path("x64-O2").read_bytes()


def _cab_with_method(method: int) -> bytes:
    """A minimal one-file cabinet whose folder claims ``method``."""
    name = b"mydriver.pdb\0"
    files_at = 36 + 8
    header = struct.pack(
        "<4sIIIIIBBHHHHH", b"MSCF", 0, 0, 0, files_at, 0, 3, 1, 1, 1, 0, 0, 0
    )
    folder = struct.pack("<IHH", files_at + 16 + len(name), 1, method)
    entry = struct.pack("<IIHHHH", 4, 0, 0, 0, 0, 0) + name
    block = struct.pack("<IHH", 0, 4, 4) + b"abcd"
    data = header + folder + entry + block
    return data[:8] + struct.pack("<I", len(data)) + data[12:]


def test_stored_folders_are_copied() -> None:
    assert _unpack(_cab_with_method(0), "mydriver.pdb") == ("none", b"abcd")


@pytest.mark.parametrize(("method", "name"), [(3, "LZX"), (2, "Quantum")])
def test_lzx_and_quantum_say_so_and_name_the_file(method: int, name: str) -> None:
    with pytest.raises(ArchiveError, match=rf"test\.pd_ is compressed with {name}"):
        _unpack(_cab_with_method(method | 0x1500), "mydriver.pdb")


def test_unpacking_is_bounded() -> None:
    data = (CABS / "x64-O2-mydriver.pd_").read_bytes()
    with pytest.raises(ArchiveError, match="larger than 1000 bytes"):
        _unpack(data, "mydriver.pdb", max_bytes=1000)


def test_garbage_and_truncation_are_archive_errors() -> None:
    data = (CABS / "x64-O2-mydriver.pd_").read_bytes()
    with pytest.raises(ArchiveError, match="neither a CAB nor a ZIP"):
        _unpack(b"<html>not found</html>", "mydriver.pdb")
    with pytest.raises(ArchiveError, match="truncated"):
        _unpack(data[: len(data) // 2], "mydriver.pdb")
    damaged = bytearray(data)
    damaged[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    with pytest.raises(ArchiveError):
        _unpack(bytes(damaged), "mydriver.pdb")


def test_random_damage_never_escapes_as_another_exception() -> None:
    data = (CABS / "x86-O0-mydriver.pd_").read_bytes()
    rng = random.Random(7)
    outcomes = set()
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            _unpack(bytes(mutated), "mydriver.pdb", max_bytes=1 << 20)
            outcomes.add("ok")
        except ArchiveError:
            outcomes.add("refused")
    assert "refused" in outcomes


@pytest.mark.skipif(shutil.which("gcab") is None, reason="gcab is not installed")
@pytest.mark.parametrize("compress", [True, False])
def test_fresh_gcab_cabinets_of_awkward_data(tmp_path: Path, compress: bool) -> None:
    rng = random.Random(11)
    # incompressible runs, long repeats reaching back into the previous block,
    # and a size that is not a multiple of the block size
    parts = [rng.randbytes(50000), b"ABCDEFGH" * 9000, rng.randbytes(30001), b"\0" * 70000]
    payload = b"".join(parts)
    (tmp_path / "big.pdb").write_bytes(payload)
    (tmp_path / "other.txt").write_bytes(b"second member")
    flags = ["--create", "--nopath"] + (["--zip"] if compress else [])
    subprocess.run(
        ["gcab", *flags, "out.pd_", "other.txt", "big.pdb"], cwd=tmp_path, check=True
    )
    method, got = _unpack((tmp_path / "out.pd_").read_bytes(), "big.pdb")
    assert method == ("MSZIP" if compress else "none")
    assert got == payload
    assert _unpack((tmp_path / "out.pd_").read_bytes(), "other.txt")[1] == b"second member"
