"""Finding a PDB in symbol stores, two-tier stores and flat folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.symbols.symtest import flat, key_of, store
from kdlens.symbols.store import SymbolStore, file_name


def test_store_layout_by_key(tmp_path: Path) -> None:
    root = store(tmp_path / "sym", "x64-O0", "x64-O2")
    key = key_of("x64-O2")
    found = SymbolStore([root]).find("mydriver.pdb", key)
    assert [f.key for f in found] == [key, key_of("x64-O0")]
    assert found[0].path == root / "mydriver.pdb" / key / "mydriver.pdb"
    assert found[0].layout == "store"


def test_names_and_keys_ignore_case(tmp_path: Path) -> None:
    root = store(tmp_path / "sym", "x86-O0")
    key = key_of("x86-O0")
    found = SymbolStore([root]).find("MyDriver.PDB", key.lower())
    assert len(found) == 1
    assert found[0].path == root / "mydriver.pdb" / key / "mydriver.pdb"


def test_other_versions_newest_first(tmp_path: Path) -> None:
    root = store(tmp_path / "sym", "x64-O0", "x86-O2")
    old = root / "mydriver.pdb" / key_of("x86-O2") / "mydriver.pdb"
    os.utime(old, (1_000_000, 1_000_000))
    found = SymbolStore([root]).find("mydriver.pdb")
    assert [f.key for f in found] == [key_of("x64-O0"), key_of("x86-O2")]


def test_two_tier_store(tmp_path: Path) -> None:
    root = tmp_path / "sym"
    store(root / "my", "x64-O2")
    (root / "index2.txt").write_text("")
    found = SymbolStore([root]).find("mydriver.pdb", key_of("x64-O2"))
    assert len(found) == 1
    assert found[0].layout == "two-tier store"
    assert found[0].path == root / "my" / "mydriver.pdb" / key_of("x64-O2") / "mydriver.pdb"


def test_flat_folder_and_image_beside(tmp_path: Path) -> None:
    out = flat(tmp_path / "out", "x86-O2", "x86-O2")
    s = SymbolStore([tmp_path / "missing", out])
    (found,) = s.find("mydriver.pdb", key_of("x86-O2"))
    assert (found.path, found.layout, found.key) == (out / "mydriver.pdb", "folder", None)
    assert s.beside(found.path, ["MyDriver.dll", "MYDRIVER.SYS"]) == out / "mydriver.sys"
    assert s.beside(found.path, ["other.sys"]) is None


def test_store_folders_in_path_order_then_flat_files(tmp_path: Path) -> None:
    a = store(tmp_path / "a", "x64-O0")
    b = flat(tmp_path / "b", "x64-O2")
    found = SymbolStore([b, a]).find("mydriver.pdb")
    assert [f.layout for f in found] == ["store", "folder"]


@pytest.mark.parametrize(
    ("printed", "name"),
    [
        ("d:\\work\\mydriver\\build\\MyDriver.pdb", "MyDriver.pdb"),
        ("/home/x/mydriver.pdb", "mydriver.pdb"),
        ("MyDriver.pdb", "MyDriver.pdb"),
        ('"c:\\a b\\x.pdb"', "x.pdb"),
        ("c:\\build\\..", None),
        ("c:", None),
        ("", None),
        ("x\\", None),
    ],
)
def test_only_the_file_name_of_a_printed_path_is_used(printed: str, name: str | None) -> None:
    assert file_name(printed) == name
