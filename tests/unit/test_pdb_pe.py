"""Image identity (``symbols/pe.py``): CodeView record, timestamp, size."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.pe import ImageError, read_image, read_image_bytes

from fixtures.pdb.pdbtest import BUILDS, pdb_path, sys_path


@pytest.mark.parametrize("build", BUILDS)
def test_image_matches_its_pdb(build: str) -> None:
    image = read_image(sys_path(build))
    pdb = PdbFile.open(pdb_path(build))
    assert image.codeview is not None
    assert image.codeview.pdb_name == "mydriver.pdb"  # /pdbaltpath keeps the build path out
    assert (image.codeview.guid, image.codeview.age) == (pdb.guid, pdb.age)
    assert image.codeview.symbol_key == pdb.symbol_key
    assert image.machine == pdb.machine
    assert image.is_64bit == build.startswith("x64")
    assert (
        image.size_of_image % 0x1000 == 0 and image.size_of_image > pdb.sections[-1].virtual_address
    )
    assert image.symbol_key == f"{image.timestamp:08X}{image.size_of_image:x}"


def test_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not a PE image"):
        read_image_bytes(b"MZ" + bytes(200))
    with pytest.raises(PdbError):  # one except clause covers both readers
        read_image_bytes(pdb_path("x64-O0").read_bytes())
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "missing.sys")


def test_truncated_and_corrupted_images() -> None:
    data = sys_path("x64-O2").read_bytes()
    for size in range(0, len(data), 61):
        with contextlib.suppress(ImageError):
            read_image_bytes(data[:size])
    for pos in range(0, 1024, 3):
        broken = bytearray(data)
        broken[pos] ^= 0xFF
        with contextlib.suppress(ImageError):
            read_image_bytes(bytes(broken))


def test_image_without_codeview_record() -> None:
    data = bytearray(sys_path("x86-O0").read_bytes())
    at = data.find(b"RSDS")
    assert at > 0
    data[at : at + 4] = b"XXXX"
    image = read_image_bytes(bytes(data))
    assert image.codeview is None
    assert image.machine == 0x14C
