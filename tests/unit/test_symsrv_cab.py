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
import zlib
from pathlib import Path

import pytest

from kdlens.symbols.cab import MSZIP_BLOCK, ArchiveError, checksum, list_cab, unpack

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


def test_a_pdb_spans_several_mszip_blocks() -> None:
    data = (CABS / "x64-O2-mydriver.pd_").read_bytes()
    folders, members, _ = list_cab(io.BytesIO(data), len(data), "x")
    assert [m.name for m in members] == ["mydriver.pdb"]
    assert folders[0].method == 1
    assert folders[0].blocks == -(-pdb_path("x64-O2").stat().st_size // MSZIP_BLOCK) > 1


def _mszip_cab_with_history(payload: bytes, name: bytes = b"big.pdb") -> bytes:
    """An MSZIP cabinet whose blocks refer back into the previous block (as makecab's do).

    gcab starts every block afresh, so its cabinets never exercise the
    history; this one is checked against gcab's reader below.
    """
    blocks: list[bytes] = []
    prev = b""
    for at in range(0, len(payload), MSZIP_BLOCK):
        chunk = payload[at : at + MSZIP_BLOCK]
        c = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=prev) if prev else None
        c = c or zlib.compressobj(9, zlib.DEFLATED, -15)
        body = b"CK" + c.compress(chunk) + c.flush()
        sizes = struct.pack("<HH", len(body), len(chunk))
        blocks.append(struct.pack("<I", checksum(sizes, checksum(body))) + sizes + body)
        prev = chunk
    entry = struct.pack("<IIHHHH", len(payload), 0, 0, 0x5A21, 0, 0x20) + name + b"\0"
    files_at = 36 + 8
    data_at = files_at + len(entry)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, 0, 0, files_at, 0, 3, 1, 1, 1, 0, 0, 0)
    folder = struct.pack("<IHH", data_at, len(blocks), 1)
    data = header + folder + entry + b"".join(blocks)
    return data[:8] + struct.pack("<I", len(data)) + data[12:]


def _history_payload() -> bytes:
    rng = random.Random(5)
    head = rng.randbytes(MSZIP_BLOCK - 100)
    # the second and third blocks repeat what the first one holds
    return head + head[:20000] + head[5000:30000] + head[:MSZIP_BLOCK] + b"tail"


def test_mszip_blocks_use_the_previous_block_as_history() -> None:
    payload = _history_payload()
    cab = _mszip_cab_with_history(payload)
    assert len(cab) < 0.7 * len(payload)  # the repeats were coded as references
    assert _unpack(cab, "big.pdb") == ("MSZIP", payload)


@pytest.mark.skipif(shutil.which("gcab") is None, reason="gcab is not installed")
def test_the_history_cabinet_is_what_gcab_reads_too(tmp_path: Path) -> None:
    payload = _history_payload()
    (tmp_path / "h.cab").write_bytes(_mszip_cab_with_history(payload))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["gcab", "--extract", "--directory", str(out), "../h.cab"], cwd=out, check=True)
    assert (out / "big.pdb").read_bytes() == payload


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
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, 0, 0, files_at, 0, 3, 1, 1, 1, 0, 0, 0)
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
    subprocess.run(["gcab", *flags, "out.pd_", "other.txt", "big.pdb"], cwd=tmp_path, check=True)
    method, got = _unpack((tmp_path / "out.pd_").read_bytes(), "big.pdb")
    assert method == ("MSZIP" if compress else "none")
    assert got == payload
    assert _unpack((tmp_path / "out.pd_").read_bytes(), "other.txt")[1] == b"second member"
