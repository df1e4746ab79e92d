"""Workspace files are judged before they are touched and read without ever blocking.

Each read that could hang (a FIFO) runs in a thread with a time limit
(``fs_probe.within``), so a regression fails the test instead of hanging
the suite.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kdlens.symbols.pdb import PdbError, PdbFile
from kdlens.symbols.pe import ImageError, read_image
from kdlens.workspace_io import (
    PathPolicy,
    Refused,
    WalkStats,
    iter_source_files,
    open_regular_file,
    read_regular_file,
)

from fs_probe import make_fifo, record_touches, symlink, within

LIMIT = 20.0  # seconds before a blocked call fails its test


def _write(path: Path, text: str = "int x;\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _refusal(fn: object) -> str:
    """The reason of the ``Refused`` that ``fn()`` raises (within the time limit)."""

    def call() -> str:
        try:
            fn()  # type: ignore[operator]
        except Refused as exc:
            return exc.reason
        raise AssertionError("not refused")

    return within(LIMIT, call)


# --------------------------------------------------------------------------- read_regular_file


def test_reads_a_regular_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "a.c", "ULONG tag = 'looP';\n")
    assert read_regular_file(f) == b"ULONG tag = 'looP';\n"
    with open_regular_file(f) as fh:
        assert fh.read() == b"ULONG tag = 'looP';\n"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "src" / "a.c"
    make_fifo(fifo)
    assert "FIFO" in _refusal(lambda: read_regular_file(fifo))
    assert "FIFO" in _refusal(lambda: open_regular_file(fifo))


def test_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    link = tmp_path / "zero.c"
    symlink("/dev/zero", link)
    assert "symbolic link" in _refusal(lambda: read_regular_file(link))
    policy = PathPolicy([tmp_path])
    assert "outside" in _refusal(lambda: read_regular_file(link, policy=policy))


def test_device_node_is_refused(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert "device" in _refusal(lambda: read_regular_file("/dev/zero"))


def test_directory_named_like_a_source_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "x.c"
    folder.mkdir()
    assert "directory" in _refusal(lambda: read_regular_file(folder))


def test_huge_sparse_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.c"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024 * 1024)  # 64 GiB of holes
    reason = _refusal(lambda: read_regular_file(big, max_bytes=16 * 1024 * 1024))
    assert "68,719,476,736 bytes" in reason and "16,777,216" in reason


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    f = tmp_path / "edge.c"
    f.write_bytes(b"x" * 100)
    assert read_regular_file(f, max_bytes=100) == b"x" * 100
    assert "more than" in _refusal(lambda: read_regular_file(f, max_bytes=99))


def test_symlink_escaping_the_root_is_refused_without_touching_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    secret = _write(outside / "secret.c")
    ws = tmp_path / "ws"
    symlink(secret, ws / "src" / "a.c")
    policy = PathPolicy([ws])
    touched = record_touches(monkeypatch)
    reason = _refusal(lambda: read_regular_file(ws / "src" / "a.c", policy=policy))
    assert "outside the workspace" in reason
    assert touched.under(outside) == []


def test_device_namespace_paths_are_refused_before_any_access(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    touched = record_touches(monkeypatch)
    for path in (r"\\.\PhysicalDrive0", "//./pipe/x", r"\\?\GLOBALROOT\Device\Null"):
        assert "device" in _refusal(lambda p=path: read_regular_file(p))
    assert touched.paths == []


# --------------------------------------------------------------------------- PathPolicy.resolve


def test_links_inside_the_workspace_are_followed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    real = _write(ws / "real" / "a.c")
    symlink(Path("..") / "real" / "a.c", ws / "links" / "a.c")
    symlink(ws / "real", ws / "dirlink")
    policy = PathPolicy([ws])
    assert policy.resolve(ws / "links" / "a.c").path == real.resolve()
    resolved = policy.resolve(ws / "dirlink" / "a.c")
    assert resolved.path == real.resolve() and resolved.is_file
    assert read_regular_file(ws / "links" / "a.c", policy=policy) == b"int x;\n"


def test_link_between_two_allowed_folders_is_followed(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    target = _write(b / "x.c")
    symlink(target, a / "x.c")
    assert PathPolicy([a, b]).resolve(a / "x.c").path == target.resolve()
    with pytest.raises(Refused):
        PathPolicy([a]).resolve(a / "x.c")


@pytest.mark.parametrize(
    "target",
    [
        r"\\buildbox\share\x.c",
        "//?/UNC/buildbox/share/x.c",
        r"\\?\unc\buildbox\share\x.c",
        r"\??\UNC\buildbox\share\x.c",
        r"\\.\pipe\x",
    ],
)
def test_link_to_a_network_or_device_path_is_judged_as_text(
    tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    symlink(target, ws / "a.c")
    policy = PathPolicy([ws])
    policy.resolve(ws)  # resolve the base before recording
    touched = record_touches(monkeypatch)
    reason = _refusal(lambda: policy.resolve(ws / "a.c"))
    assert "symbolic link" in reason
    assert "buildbox" in reason or "device" in reason
    # only the link itself was looked at
    assert set(touched.paths) == {os.path.abspath(ws / "a.c")}


def test_dotdot_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _write(tmp_path / "secret.c")
    ws.mkdir()
    assert "climbs outside" in _refusal(lambda: PathPolicy([ws]).resolve(f"{ws}/../secret.c"))
    symlink("../secret.c", ws / "up.c")
    assert "outside" in _refusal(lambda: PathPolicy([ws]).resolve(ws / "up.c"))


def test_link_loop_is_refused(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    symlink(ws / "b.c", ws / "a.c")
    symlink(ws / "a.c", ws / "b.c")
    assert "too many symbolic links" in _refusal(lambda: PathPolicy([ws]).resolve(ws / "a.c"))


def test_paths_outside_every_folder_are_refused_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    elsewhere = tmp_path / "elsewhere"
    _write(elsewhere / "a.c")
    policy = PathPolicy([ws])
    policy.resolve(ws)  # resolve the base before recording
    touched = record_touches(monkeypatch)
    assert not policy.allows(elsewhere / "a.c")
    assert touched.under(elsewhere) == []
    assert "no workspace folder" in _refusal(lambda: PathPolicy([]).resolve(ws))


def test_untrusted_network_bases_are_dropped() -> None:
    policy = PathPolicy([r"\\?\UNC\buildbox\share", r"\\.\PhysicalDrive0"], ["other"])
    assert policy.bases == []
    assert len(policy.dropped) == 2
    trusted = PathPolicy(["//buildbox/share"], ["BUILDBOX"])
    assert len(trusted.bases) == 1 and trusted.dropped == []


def test_missing_files_resolve_only_when_not_strict(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    policy = PathPolicy([ws])
    with pytest.raises(FileNotFoundError):
        policy.resolve(ws / "new" / "a.c")
    loose = policy.resolve(ws / "new" / "a.c", strict=False)
    assert loose.stat is None and loose.path == ws.resolve() / "new" / "a.c"
    assert policy.allows(ws / "new" / "a.c")
    assert not policy.allows(ws / "new" / ".." / ".." / "x.c")


# --------------------------------------------------------------------------- symbol files


def test_pdb_open_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "drv.pdb"
    make_fifo(fifo)

    def call() -> str:
        with pytest.raises(PdbError) as info:
            PdbFile.open(fifo)
        return str(info.value)

    assert "FIFO" in within(LIMIT, call)


def test_image_read_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "drv.sys"
    make_fifo(fifo)

    def call() -> str:
        with pytest.raises(ImageError) as info:
            read_image(fifo)
        return str(info.value)

    assert "FIFO" in within(LIMIT, call)


# --------------------------------------------------------------------------- iter_source_files


def _tree(ws: Path) -> None:
    _write(ws / "src" / "a.c", "A")
    _write(ws / "src" / "b.h", "BB")
    _write(ws / "src" / "notes.txt", "no")
    _write(ws / "inc" / "c.cpp", "CCC")
    _write(ws / ".git" / "hidden.c", "hidden")
    _write(ws / "node_modules" / "dep.c", "dep")


def _names(files: object) -> list[str]:
    return [f.path.name for f in files]  # type: ignore[attr-defined]


def test_walk_reads_matching_files_in_a_stable_order(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _tree(ws)
    stats = WalkStats()
    files = list(iter_source_files([ws], {".c", ".h", ".cpp"}, stats=stats))
    assert [(f.path.relative_to(ws).as_posix(), f.data) for f in files] == [
        ("inc/c.cpp", b"CCC"),
        ("src/a.c", b"A"),
        ("src/b.h", b"BB"),
    ]
    assert (stats.files, stats.bytes, stats.stopped) == (3, 6, None)


def test_walk_skips_fifos_links_and_folders_named_like_sources(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _write(ws / "src" / "ok.c", "ok")
    make_fifo(ws / "src" / "a.c")
    (ws / "src" / "dir.c").mkdir()
    _write(ws / "src" / "dir.c" / "inner.c", "inner")
    outside = _write(tmp_path / "outside" / "secret.c", "secret")
    symlink(outside, ws / "src" / "link.c")
    symlink(tmp_path / "outside", ws / "outlink")
    stats = WalkStats()
    files = within(LIMIT, lambda: list(iter_source_files([ws], {".c"}, stats=stats)))
    # a folder's files come before its subfolders
    assert [f.path.relative_to(ws).as_posix() for f in files] == ["src/ok.c", "src/dir.c/inner.c"]
    skipped = {p.name: why for p, why in stats.skipped}
    assert skipped == {"a.c": "not a regular file", "link.c": "a symbolic link"}


def test_walk_skips_huge_files_and_stops_at_its_budgets(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    for i in range(5):
        _write(ws / f"f{i}.c", "x" * 10)
    with open(ws / "big.c", "wb") as f:
        f.truncate(1 << 40)
    stats = WalkStats()
    files = list(iter_source_files([ws], {".c"}, max_file_bytes=1000, stats=stats))
    assert _names(files) == ["f0.c", "f1.c", "f2.c", "f3.c", "f4.c"]
    assert [p.name for p, _ in stats.skipped] == ["big.c"]

    stats = WalkStats()
    assert len(list(iter_source_files([ws], {".c"}, max_files=2, stats=stats))) == 2
    assert stats.stopped == "max_files"

    stats = WalkStats()
    files = list(
        iter_source_files([ws], {".c"}, max_file_bytes=1000, max_bytes_total=35, stats=stats)
    )
    assert _names(files) == ["f0.c", "f1.c", "f2.c"] and stats.stopped == "max_bytes_total"


def test_walk_stops_at_its_deadline(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _tree(ws)
    stats = WalkStats()
    past = time.monotonic() - 1.0
    assert list(iter_source_files([ws], {".c"}, deadline=past, stats=stats)) == []
    assert stats.stopped == "deadline"


def test_overlapping_roots_are_walked_once(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _tree(ws)
    files = list(iter_source_files([ws, ws / "src", ws], {".c"}))
    assert [f.path.relative_to(ws).as_posix() for f in files] == ["src/a.c"]
