"""Build paths from the log mapped to workspace files, and the safety rules around it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdlens.sources import SourceMapper, split_build_path, unc_host
from kdlens.workspace_io import Refused

from fs_probe import make_fifo, record_touches, symlink, within


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


# --------------------------------------------------------------------------- every spelling of a share

SHARE_SPELLINGS = [
    r"\\buildbox\share\src\missing.c",
    "//buildbox/share/src/missing.c",
    r"\\?\UNC\buildbox\share\src\missing.c",
    r"\\?\unc\buildbox\share\src\missing.c",
    r"\\.\UNC\buildbox\share\src\missing.c",
    r"\??\UNC\buildbox\share\src\missing.c",
    "//?/UNC/buildbox/share/src/missing.c",
    "//./Unc/BuildBox/share/src/missing.c",
]


@pytest.mark.parametrize("build_path", SHARE_SPELLINGS)
def test_every_share_spelling_of_a_build_path_is_refused(build_path: str) -> None:
    assert unc_host(build_path) == "buildbox"
    mapped, why = SourceMapper.create([]).explain(build_path)
    assert mapped is None
    assert "buildbox" in why and "not trusted" in why
    trusted = SourceMapper.create([], trusted_unc_hosts=["BuildBox"])
    assert "not trusted" not in trusted.explain(build_path)[1]


@pytest.mark.parametrize("build_path", [r"\\.\PhysicalDrive0", r"\\?\GLOBALROOT\x.c", "//./pipe/x"])
def test_device_build_paths_are_refused(build_path: str) -> None:
    mapped, why = SourceMapper.create([], trusted_unc_hosts=["."]).explain(build_path)
    assert mapped is None and "device" in why


@pytest.mark.parametrize(
    "dst", [r"\\buildbox\share\src", r"\\?\UNC\buildbox\share\src", "//?/unc/buildbox/share/src"]
)
def test_source_map_to_an_untrusted_share_is_not_used(tmp_path: Path, dst: str) -> None:
    m = SourceMapper.create([tmp_path], source_map=[(r"d:\build", dst)])
    assert len(m.policy.dropped) == 1 and "buildbox" in m.policy.dropped[0]
    mapped, why = m.explain(r"d:\build\a.c")
    assert mapped is None
    assert "sourceMap 'd:\\build' is not used" in why and "buildbox" in why


# --------------------------------------------------------------------------- judged before touched


def test_link_out_of_the_workspace_is_refused_without_touching_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    tree(outside, "secret.c", "deep/dir/handleioctl.c")
    ws = tmp_path / "ws"
    tree(ws, "other.c")
    symlink(outside / "secret.c", ws / "secret.c")
    symlink(outside / "deep", ws / "deep")  # a folder link: srcpath and suffix lookups
    m = SourceMapper.create([ws], srcpath=[r"d:\coding"])
    touched = record_touches(monkeypatch)
    assert m.explain(r"c:\src\secret.c")[0] is None
    assert m.explain(r"d:\coding\deep\dir\handleioctl.c")[0] is None
    assert not m.allowed(ws / "secret.c")
    assert touched.under(outside) == []


def test_fifo_named_like_a_source_is_not_mapped_nor_read(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    make_fifo(ws / "src" / "a.c")
    m = SourceMapper.create([ws])
    mapped, why = within(20.0, lambda: m.explain(r"d:\x\src\a.c"))
    assert mapped is None and "not a regular file" in why
    with pytest.raises(Refused) as info:
        within(20.0, lambda: m.read_file(ws / "src" / "a.c"))
    assert "FIFO" in info.value.reason


def test_read_file_reads_workspace_files_only(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    tree(ws, "src/a.c")
    tree(tmp_path, "outside/b.c")
    symlink(tmp_path / "outside" / "b.c", ws / "src" / "b.c")
    m = SourceMapper.create([ws])
    assert m.read_file(ws / "src" / "a.c") == b"int x;\n"
    with pytest.raises(Refused, match="outside the workspace"):
        m.read_file(ws / "src" / "b.c")
    with pytest.raises(Refused, match="outside the workspace"):
        m.read_file(tmp_path / "outside" / "b.c")
    assert [f.path.name for f in m.iter_files()] == ["a.c"]


def test_source_map_cannot_climb_out_of_its_destination(tmp_path: Path) -> None:
    tree(tmp_path, "checkout/src/a.c", "secret.c")
    m = SourceMapper.create([], source_map=[(r"d:\build", str(tmp_path / "checkout"))])
    assert m.map(r"d:\build\src\a.c") is not None
    mapped, _why = m.explain(r"d:\build\..\secret.c")
    assert mapped is None
