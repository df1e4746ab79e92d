"""Finding a PDB in symbol stores, two-tier stores and flat folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdlens.symbols.store import SymbolStore, file_name

from fixtures.symbols.symtest import flat, key_of, store
from fs_probe import make_fifo, record_touches, symlink, within


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


# --------------------------------------------------------------------------- judged before touched


def test_a_pdb_linked_from_outside_the_symbol_path_is_not_found_nor_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = flat(tmp_path / "elsewhere", "x64-O2")
    out = tmp_path / "out"
    symlink(elsewhere / "mydriver.pdb", out / "mydriver.pdb")
    symlink(elsewhere, out / "mydriver.sys")  # a folder link where a store folder would be
    s = SymbolStore([out])
    touched = record_touches(monkeypatch)
    assert s.find("mydriver.pdb", key_of("x64-O2")) == []
    assert s.find("mydriver.sys") == []
    assert touched.under(tmp_path / "elsewhere") == []


def test_links_inside_the_symbol_path_are_found_at_their_real_place(tmp_path: Path) -> None:
    real = flat(tmp_path / "real", "x64-O2")
    link = tmp_path / "linked"
    symlink(real, link)  # the configured folder itself is a link: allowed
    symlink(real / "mydriver.pdb", real / "alias.pdb")
    s = SymbolStore([link])
    (found,) = s.find("alias.pdb")
    assert found.path == (real / "mydriver.pdb").resolve()
    (plain,) = s.find("mydriver.pdb")
    assert plain.path == (real / "mydriver.pdb").resolve()


def test_a_fifo_in_a_store_is_not_a_pdb(tmp_path: Path) -> None:
    out = tmp_path / "out"
    make_fifo(out / "mydriver.pdb")
    make_fifo(out / "mydriver.pdb.d" / "x")
    s = SymbolStore([out])
    assert within(20.0, lambda: s.find("mydriver.pdb")) == []


def test_network_folders_need_a_trusted_host_even_in_the_store() -> None:
    s = SymbolStore([Path("//?/UNC/buildsrv/sym")], trusted_unc_hosts=[])
    assert s.policy.bases == [] and "buildsrv" in s.policy.dropped[0]
    # by default the store trusts the network folders it was given (parse_symbol_path judged them)
    assert len(SymbolStore([Path(r"\\buildsrv\sym")]).policy.bases) == 1
