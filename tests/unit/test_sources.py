"""Build paths from the log mapped to workspace files, and the safety rules around it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdlens.sources import SourceMapper, split_build_path, unc_host


def tree(root: Path, *files: str) -> None:
    for f in files:
        p = root / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("int x;\n")


def test_split_build_path() -> None:
    assert split_build_path(r"d:\Coding\WdmDrivers\MyDriver\handleioctl.c") == [
        "coding",
        "wdmdrivers",
        "mydriver",
        "handleioctl.c",
    ]
    assert split_build_path("/home/dev/src/a.c") == ["home", "dev", "src", "a.c"]


def test_unc_host() -> None:
    assert unc_host(r"\\buildbox\share\src\a.c") == "buildbox"
    assert unc_host("//BuildBox/share/a.c") == "buildbox"
    assert unc_host(r"c:\src\a.c") is None
    assert unc_host(r"\\?\c:\src\a.c") is None


def test_longest_suffix_wins_case_insensitively(tmp_path: Path) -> None:
    tree(tmp_path, "old/handleioctl.c", "WdmDrivers/MyDriver/HandleIoctl.c", "other/mydriver/x.c")
    m = SourceMapper.create([tmp_path])
    hit = m.map(r"d:\coding\wdmdrivers\mydriver\handleioctl.c")
    assert hit is not None and hit.how == "suffix"
    assert hit.path == tmp_path / "WdmDrivers" / "MyDriver" / "HandleIoctl.c"


def test_ambiguous_suffix_says_so(tmp_path: Path) -> None:
    tree(tmp_path, "a/driver.c", "b/driver.c")
    mapped, note = SourceMapper.create([tmp_path]).explain(r"x:\y\driver.c")
    assert mapped is not None
    assert "1 other file(s) match as well" in note


def test_source_map_prefix_first(tmp_path: Path) -> None:
    tree(tmp_path, "checkout/src/handleioctl.c", "elsewhere/mydriver/src/handleioctl.c")
    m = SourceMapper.create(
        [tmp_path], source_map=[(r"D:\Build\MyDriver", str(tmp_path / "checkout"))]
    )
    hit = m.map(r"d:\build\mydriver\src\handleioctl.c")
    assert hit is not None and hit.how == "sourceMap"
    assert hit.path == tmp_path / "checkout" / "src" / "handleioctl.c"


def test_srcpath_from_the_log(tmp_path: Path) -> None:
    tree(tmp_path, "wdmdrivers/mydriver/handleioctl.c", "zzz/wdmdrivers/mydriver/handleioctl.c")
    m = SourceMapper.create([tmp_path], srcpath=[r"d:\coding"])
    hit = m.map(r"d:\coding\wdmdrivers\mydriver\handleioctl.c")
    assert hit is not None and hit.how == "srcpath"
    assert hit.path == tmp_path / "wdmdrivers" / "mydriver" / "handleioctl.c"


def test_nothing_maps_says_why(tmp_path: Path) -> None:
    tree(tmp_path, "a.c")
    mapped, why = SourceMapper.create([tmp_path]).explain(r"d:\src\missing.c")
    assert mapped is None
    assert why == "no file named 'missing.c' in the workspace"


def test_untrusted_unc_path_is_refused(tmp_path: Path) -> None:
    mapped, why = SourceMapper.create([]).explain(r"\\buildbox\share\missing.c")
    assert mapped is None
    assert "buildbox" in why and "not trusted" in why


def test_files_reached_through_a_link_out_of_the_workspace_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    tree(outside, "secret.c")
    ws = tmp_path / "ws"
    ws.mkdir()
    try:
        os.symlink(outside / "secret.c", ws / "secret.c")
    except OSError:
        pytest.skip("symlinks are not available")
    mapped, why = SourceMapper.create([ws]).explain(r"c:\src\secret.c")
    assert mapped is None
    assert "outside the workspace" in why
