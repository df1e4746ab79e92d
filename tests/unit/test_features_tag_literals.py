"""The workspace walk behind pool-tag hovers: bounded, never blocked, never waited for."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kdlens.features.tag_literals import Limits, LiteralIndex, c_literal, read_source, scan_literals
from kdlens.sources import SourceMapper


def _in_thread(fn: object, timeout: float = 20.0) -> object:
    """Run ``fn`` in a thread so that a regression that blocks fails instead of hanging."""
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)  # type: ignore[operator]
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the workspace walk blocked"
    return out[0]


def test_c_literal_reverses_the_printed_tag() -> None:
    assert c_literal("mdrv") == "'vrdm'"


def test_the_walk_collects_every_constant_once(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("x = 'vrdm';\ny = 'abcd'; z = 'vrdm';\n")
    (tmp_path / "b.h").write_text("#define T 'abcd'\n")
    (tmp_path / "notes.txt").write_text("'vrdm'\n")  # not a source file
    scan = scan_literals(SourceMapper.create([tmp_path]))
    assert [
        (t.path.name, t.range.start.line, t.range.start.character) for t in scan.find("mdrv")
    ] == [
        ("a.c", 0, 4),
        ("a.c", 1, 16),
    ]
    assert [t.path.name for t in scan.find("dcba")] == ["a.c", "b.h"]
    assert scan.cut_short is None and scan.files == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_a_device_link_and_a_directory_named_like_sources_are_skipped(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "a.c")
    (tmp_path / "zero.c").symlink_to("/dev/zero")
    (tmp_path / "dir.c").mkdir()
    (tmp_path / "real.c").write_text("t = 'vrdm';\n")
    mapper = SourceMapper.create([tmp_path])
    assert read_source(mapper, tmp_path / "a.c", 1024) is None
    assert read_source(mapper, tmp_path / "zero.c", 1024) is None
    scan = _in_thread(lambda: scan_literals(SourceMapper.create([tmp_path])))
    assert [t.path.name for t in scan.find("mdrv")] == ["real.c"]  # type: ignore[attr-defined]


def test_files_outside_the_workspace_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.c").write_text("k = 'vrdm';\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link.c").symlink_to(outside / "secret.c")
    assert scan_literals(SourceMapper.create([ws])).find("mdrv") == ()


def test_limits_cut_the_walk_short_and_say_so(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.c").write_text("t = 'vrdm';\n")
    (tmp_path / "big.c").write_text("'vrdm'" + " " * 5000)
    scan = scan_literals(SourceMapper.create([tmp_path]), Limits(max_files=3, max_file_bytes=1000))
    assert scan.cut_short == "stopped after 3 source files"
    found = [t.path.name for t in scan.find("mdrv")]
    assert found == ["f0.c", "f1.c", "f2.c"]  # big.c (first in order) is over the size cap


def test_the_index_answers_without_walking_until_a_walk_has_run(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("t = 'vrdm';\n")
    mapper = SourceMapper.create([tmp_path])
    index = LiteralIndex()
    pending = index.lookup(mapper, "mdrv")
    assert not pending.ready and pending.targets == () and pending.note
    assert index.stale(mapper)
    index.refresh(mapper)
    assert not index.stale(mapper)
    assert [t.path.name for t in index.lookup(mapper, "mdrv").targets] == ["a.c"]
    other = SourceMapper.create([tmp_path / "elsewhere"])
    assert not index.lookup(other, "mdrv").ready  # another workspace is not answered from this one
