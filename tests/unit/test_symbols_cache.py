"""The PDB table cache: on disk (atomic, hashed, keyed by file version), in memory, with a time limit."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from kdlens.symbols import cache as cache_module
from kdlens.symbols.cache import (
    CACHE_ENV,
    DiskCache,
    FileKey,
    LoadTimeout,
    TableCache,
    default_cache_dir,
)
from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.table import SymbolTable, read_table

from fixtures.pdb.pdbtest import pdb_path


def far() -> float:
    return time.monotonic() + 30


@pytest.fixture
def pdb(tmp_path: Path) -> Path:
    target = tmp_path / "mydriver.pdb"
    shutil.copy(pdb_path("x64-O2"), target)
    return target


def test_cache_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.setenv(CACHE_ENV, "")
    assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    folder = default_cache_dir()
    assert folder is not None and folder.name == "symbols" and "kdlens" in str(folder)


def test_table_matches_the_pdb(pdb: Path) -> None:
    with PdbFile.open(pdb) as f:
        data = read_table(f)
        assert data.key == f.symbol_key
        assert data.image_extent == 0x4000  # .data ends in the fourth page
        names = {name for name, *_ in data.functions}
        assert {"MyAllocate", "StreamRequest", "ExAllocatePoolWithTag"} <= names
        private = {name for name, _rva, _len, p in data.functions if p}
        assert "MyAllocate" in private and "ExAllocatePoolWithTag" not in private
        assert not data.stripped


def test_second_load_comes_from_disk(
    pdb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = DiskCache(tmp_path / "cache")
    first = TableCache(disk).get(pdb, far())
    assert not first.from_cache
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"  # no temporary file left behind

    def no_indexing(_pdb: PdbFile) -> None:
        raise AssertionError("the PDB was indexed again")

    monkeypatch.setattr(cache_module, "read_table", no_indexing)
    started = time.perf_counter()
    again = TableCache(disk).get(pdb, far())
    assert time.perf_counter() - started < 0.5
    assert again.from_cache
    assert again.data == first.data
    fn = again.function_by_name("MyAllocate")
    assert fn is not None
    loc = again.lookup(fn[1] + 0x1C)  # lines still come from the PDB itself
    assert loc is not None and loc.function == "MyAllocate" and loc.line == 13


def test_damaged_cache_file_is_rebuilt(pdb: Path, tmp_path: Path) -> None:
    disk = DiskCache(tmp_path / "cache")
    TableCache(disk).get(pdb, far())
    (entry,) = (tmp_path / "cache").iterdir()
    raw = bytearray(entry.read_bytes())
    raw[-20] ^= 0x01  # one flipped bit: the hash no longer matches
    entry.write_bytes(bytes(raw))
    assert disk.load(FileKey.of(pdb)) is None
    rebuilt = TableCache(disk).get(pdb, far())
    assert not rebuilt.from_cache
    assert disk.load(FileKey.of(pdb)) == rebuilt.data


@pytest.mark.parametrize("content", [b"", b"garbage", b"kdlens-pdb-table 1 00\n{}", b"\xff\xfe\n"])
def test_foreign_cache_files_are_ignored(pdb: Path, tmp_path: Path, content: bytes) -> None:
    disk = DiskCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    disk.file_for(FileKey.of(pdb)).write_bytes(content)
    assert disk.load(FileKey.of(pdb)) is None
    assert not TableCache(disk).get(pdb, far()).from_cache


def test_a_changed_pdb_gets_a_new_entry(pdb: Path, tmp_path: Path) -> None:
    disk = DiskCache(tmp_path / "cache")
    before = TableCache(disk).get(pdb, far())
    shutil.copy(pdb_path("x86-O0"), pdb)
    os.utime(pdb, ns=(1, 1))
    after = TableCache(disk).get(pdb, far())
    assert not after.from_cache
    assert after.key != before.key
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_unwritable_cache_folder_is_not_fatal(pdb: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    table = TableCache(DiskCache(blocker / "sub")).get(pdb, far())
    assert table.function_by_name("MyAllocate") is not None


def test_memory_is_a_bounded_lru(tmp_path: Path) -> None:
    paths = []
    for build in ("x64-O0", "x64-O2", "x86-O0"):
        p = tmp_path / build / "mydriver.pdb"
        p.parent.mkdir()
        shutil.copy(pdb_path(build), p)
        paths.append(p)
    tables = TableCache(None, slots=2)
    first = tables.get(paths[0], far())
    assert tables.get(paths[0], far()) is first
    tables.get(paths[1], far())
    tables.get(paths[2], far())  # evicts the first
    assert tables.get(paths[0], far()) is not first
    # an evicted table still answers (it reopens its file)
    fn = first.function_by_name("MyAllocate")
    assert fn is not None and first.lookup(fn[1]) is not None


def test_errors_are_pdb_errors(tmp_path: Path) -> None:
    tables = TableCache(None)
    with pytest.raises(PdbError, match="cannot read"):
        tables.get(tmp_path / "absent.pdb", far())
    bad = tmp_path / "bad.pdb"
    bad.write_bytes(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + b"\0" * 100)
    with pytest.raises(PdbError):
        tables.get(bad, far())
    truncated = tmp_path / "truncated.pdb"
    truncated.write_bytes(pdb_path("x86-O2").read_bytes()[:5000])
    with pytest.raises(PdbError):
        tables.get(truncated, far())


def test_time_limit_gives_up_and_the_load_finishes_later(
    pdb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = cache_module.read_table

    def slow(f: PdbFile) -> object:
        release.wait(10)
        return real(f)

    monkeypatch.setattr(cache_module, "read_table", slow)
    tables = TableCache(None)
    started = time.monotonic()
    with pytest.raises(LoadTimeout):
        tables.get(pdb, time.monotonic() + 0.2)
    assert time.monotonic() - started < 2
    release.set()
    table = tables.get(pdb, far())  # the same load, finished in the background
    assert isinstance(table, SymbolTable)
    assert tables.get(pdb, far()) is table
