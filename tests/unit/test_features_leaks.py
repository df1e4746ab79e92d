"""Editor features over every leak kind: tokens, hovers, definitions, references,
source sites, lenses, outline and the user's pooltag.txt."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from kdlens.analysis import FrameKind
from kdlens.analysis.usermode_leaks import LeakKind
from kdlens.features.hints import leak_lenses, lenses
from kdlens.features.hover import hover
from kdlens.features.leaks import record_of, site_message, source_sites
from kdlens.features.navigation import definition, references
from kdlens.features.outline import NodeKind, OutlineNode, folds, outline
from kdlens.index import Kind, TokenIndex
from kdlens.knowledge.user_tags import parse_pool_tags
from kdlens.model import HandleTrace, HeapLeakRow, Position
from kdlens.pipeline import Snapshot, build_snapshot, load_pool_tags
from kdlens.settings import Settings, add_arguments
from kdlens.sources import SourceMapper
from kdlens.text import Document

from helpers import FIXTURES

LOGS = FIXTURES / "logs"


def _snap(name: str, root: Path | None = None, settings: Settings | None = None) -> Snapshot:
    path = (LOGS / name).resolve()
    doc = Document(path.read_text(encoding="utf-8"))
    mapper = SourceMapper.create([root] if root is not None else [])
    snap = build_snapshot(doc, settings or Settings(), mapper, uri=path.as_uri())
    assert not snap.faults, snap.faults
    return snap


def _pos(snap: Snapshot, needle: str, nth: int = 0, offset: int = 1) -> Position:
    seen = 0
    for i, line in enumerate(snap.lines):
        col = line.find(needle)
        if col >= 0:
            if seen == nth:
                return Position(i, col + offset)
            seen += 1
    raise AssertionError(f"{needle!r} not in the log")


def _hover(snap: Snapshot, needle: str, nth: int = 0, offset: int = 1) -> str:
    result = hover(
        snap.analysis,
        snap.index,
        snap.lines,
        snap.mapper,
        _pos(snap, needle, nth, offset),
        pool_tags=snap.pool_tags,
    )
    assert result is not None, needle
    return result.markdown


def _refs(snap: Snapshot, needle: str, nth: int = 0) -> list[tuple[int, str]]:
    ranges = references(snap.analysis, snap.index, snap.lines, _pos(snap, needle, nth))
    return [
        (r.start.line + 1, snap.lines[r.start.line][r.start.character : r.end.character])
        for r in ranges
    ]


# --------------------------------------------------------------------------- tokens


def _token(index: TokenIndex, snap: Snapshot, needle: str, nth: int = 0) -> object:
    tok = index.at(_pos(snap, needle, nth))
    assert tok is not None, needle
    return tok


def test_every_kind_of_evidence_has_tokens() -> None:
    heap = _snap("leak-heap.log")
    row = _token(heap.index, heap, "0052b128  00520000")
    assert row.kind is Kind.ADDRESS and isinstance(row.owner, HeapLeakRow)  # type: ignore[attr-defined]
    col = _token(heap.index, heap, "00520000  00520000       210")
    assert col.kind is Kind.HEAP  # type: ignore[attr-defined]
    size = _token(heap.index, heap, "210        40")
    assert (size.kind, size.value) == (Kind.SIZE, 0x210)  # type: ignore[attr-defined]
    htrace = _snap("leak-htrace.log")
    handle = _token(htrace.index, htrace, "0x00000128")
    assert (handle.kind, handle.value) == (Kind.HANDLE, 0x128)  # type: ignore[attr-defined]
    assert isinstance(handle.owner, HandleTrace)  # type: ignore[attr-defined]
    thread = _token(htrace.index, htrace, "0x00001a2c")
    assert thread.kind is Kind.ID  # type: ignore[attr-defined]
    umdh = _snap("leak-umdh.log")
    trace = _token(umdh.index, umdh, "BackTrace4A21C")
    assert (trace.kind, trace.value) == (Kind.TRACE_ID, "BackTrace4A21C")  # type: ignore[attr-defined]
    crt = _snap("leak-crt.log")
    number = _token(crt.index, crt, "{231}")
    assert (number.kind, number.value) == (Kind.ALLOC_NUMBER, 231)  # type: ignore[attr-defined]


def test_saved_stack_frames_take_their_kind_from_the_analysis() -> None:
    snap = _snap("leak-heap.log")
    (block,) = snap.analysis.session.heap_blocks
    assert block.stack is not None
    first = block.stack.frames[0]
    assert first.symbol is not None
    tok = snap.index.at(first.symbol.range.start)
    assert tok is not None and tok.kind is Kind.SYMBOL
    # a captured back trace holds only return addresses, the first frame too
    assert snap.analysis.frame_kinds(block.stack)[0] is FrameKind.RETURN
    assert tok.return_address and tok.address == 0x77C5EF1E


# --------------------------------------------------------------------------- hovers


def test_heap_row_hover_tells_the_block_its_site_evidence_and_fingerprint() -> None:
    snap = _snap("leak-heap.log")
    md = _hover(snap, "0052b128  00520000")
    rec = snap.analysis.leak_records[1]
    assert md.startswith("**User address `0x0052b128`**")
    assert "Size: `0x1f8` = 504 bytes" in md
    assert "Allocated by `ReportGen!Report::AddLine+0x4d`" in md
    assert "**report.cpp:57**" in md
    assert "!heap -p -a record for this block (line 17)" in md
    assert "the debugger found 29" in md  # the count cross-check of its table
    assert f"Fingerprint `{rec.fingerprint}`" in md
    # the entry size column: header included, the program's size beside it
    size = _hover(snap, "210        40")
    assert "**`210`** = `0x210` = 528 bytes" in size
    assert "asked for `0x1f8` (504 bytes)" in size
    # a row without a stack says how to get one
    assert "`!heap -p -a 0x52a4d8` shows the allocation stack" in _hover(snap, "0052a4d8  00520000")


def test_frame_hover_names_the_allocating_site() -> None:
    snap = _snap("leak-heap.log")
    site = _hover(snap, "ReportGen!Report::AddLine+0x0000004d")
    assert "Frame 6 of 8 of a `!heap -p -a` record" in site
    assert "**the allocating site**" in site
    layer = _hover(snap, "ntdll!RtlAllocateHeap+0x0000023a")
    assert "an allocator layer above the allocating site" in layer


def test_handle_crt_umdh_and_stop_hovers() -> None:
    htrace = _snap("leak-htrace.log")
    md = _hover(htrace, "0x00000128")
    assert md.startswith("**Handle `0x128`**: OPEN")
    assert "Opened by `Tally!OpenJournal+0x46`" in md
    closed = _hover(htrace, "0x00000134", nth=2)
    assert "CLOSE" in closed
    crt = _hover(_snap("leak-crt.log"), "{231}")
    assert "`_CrtSetBreakAlloc(231)`" in crt and "**ledger.cpp:88**" in crt
    umdh = _hover(_snap("leak-umdh.log"), "BackTrace4A21C")
    assert "**UMDH trace `BackTrace4A21C`**" in umdh
    assert "116,640 bytes = 113.9 KiB in 483 more allocations" in umdh
    stop = _snap("leak-appverif-stop.log")
    p2 = _hover(stop, "0C4D1F70 :")
    assert "where the allocation stack was saved (parameter 2)" in p2
    assert "the log's `dps` of it is the stack" in p2
    assert "allocation stack (dps of parameter 2) (line 17)" in p2
    xml = _hover(_snap("leak-appverif.xml"), "2a4 -")
    assert xml.startswith("**Handle `0x2a4`**: the leaked handle (parameter 1)")
    assert "**worker.cpp:54**" in xml


def test_record_of_finds_the_leak_behind_each_record() -> None:
    snap = _snap("leak-mixed.log")
    a = snap.analysis
    (report,) = [r for r in a.session.handle_traces if r.records]
    assert record_of(a, report.records[0]) is a.leak_records[0]
    row = a.session.heap_leak_scans[0].rows[0]
    found = record_of(a, row)
    assert found is not None and found.kind is LeakKind.HEAP_BLOCK and found.range == row.range


# --------------------------------------------------------------------------- navigation


def test_references_join_an_address_and_a_handle_across_kinds() -> None:
    stop = _snap("leak-appverif-stop.log")
    # the stop's parameter, the !heap -p -a command, its header and its UserAddr column
    assert _refs(stop, "0C5A2FE8 :") == [
        (6, "0C5A2FE8"),
        (27, "0C5A2FE8"),
        (28, "0c5a2fe8"),
        (31, "c5a2fe8"),
    ]
    mixed = _snap("leak-mixed.log")
    # the !htrace record and the verifier stop's parameter 1
    assert _refs(mixed, "0x00000128") == [(8, "0x00000128"), (47, "00000128")]
    assert _refs(mixed, "00000128 :") == [(8, "0x00000128"), (47, "00000128")]


def test_definition_of_a_leaked_value_is_its_allocating_line(tmp_path: Path) -> None:
    src = tmp_path / "sampler"
    src.mkdir()
    (src / "worker.cpp").write_text("".join(f"// line {i}\n" for i in range(1, 40)))
    snap = _snap("leak-mixed.log", root=tmp_path)
    for needle, line in (("0x00000128", 12), ("0052b128  00520000", 14), ("{232}", 12)):
        res = definition(snap.analysis, snap.index, snap.mapper, _pos(snap, needle))
        (target,) = res.targets
        assert (target.path.name, target.range.start.line + 1) == ("worker.cpp", line), needle


# --------------------------------------------------------------------------- source sites


def test_source_sites_group_kinds_on_one_line(tmp_path: Path) -> None:
    snap = _snap("leak-mixed.log")
    worker = tmp_path / "worker.cpp"

    def locate(build_path: str) -> Path | None:
        return worker if build_path.lower().endswith("worker.cpp") else None

    sites = source_sites(snap.analysis.leak_records, locate)
    got = {s.line: site_message(s, "app.log") for s in sites}
    assert got == {
        12: "4 leaks here: 2 handles, 2 heap blocks (0x40, 0x40 bytes), see app.log:8",
        14: "leaked heap block of 0x40 (64) bytes, see app.log:25",
    }
    (twelve,) = [s for s in sites if s.line == 12]
    assert twelve.code == "leaked-allocation"  # a tie goes to the allocation code
    # nothing lands on a file the workspace does not have
    assert source_sites(snap.analysis.leak_records, lambda _p: None) == []


# --------------------------------------------------------------------------- lenses and outline


def test_lenses_sum_up_the_log_and_each_section() -> None:
    snap = _snap("leak-mixed.log")
    got = [(lens.range.start.line, lens.title) for lens in leak_lenses(snap.analysis)]
    assert got[0] == (
        0,
        "5 leaks: 2 handles, 2 heap blocks (CRT debug heap), 1 heap block (unreachable) · 2 call sites",
    )
    assert (22, "1 leak: 1 heap block (unreachable) · 1 call site") in got  # the !heap -l header
    assert any(title.startswith("2 leaks: 2 heap blocks (CRT debug heap)") for _, title in got)
    top = leak_lenses(snap.analysis)[0]
    assert "line 25: Leaked heap block (unreachable) of 0x40 (64) bytes" in top.text
    growth = _snap("leak-poolused.log")
    (lens,) = lenses(growth.analysis)
    assert (
        lens.title == "2 pool tags grew since line 8: Abcd +1,204 allocations, Tkn +5 allocations"
    )


def _kinds(nodes: tuple[OutlineNode, ...] | list[OutlineNode]) -> list[NodeKind]:
    out: list[NodeKind] = []
    for n in nodes:
        out.append(n.kind)
        out += _kinds(n.children)
    return out


def test_outline_has_a_node_for_each_section() -> None:
    snap = _snap("leak-mixed.log")
    kinds = _kinds(outline(snap.analysis, snap.lines))
    for kind in (
        NodeKind.HANDLE_TRACES,
        NodeKind.HANDLE_TRACE,
        NodeKind.HEAP_SCAN,
        NodeKind.HEAP_ROW,
        NodeKind.HEAP_BLOCK,
        NodeKind.CRT_DUMP,
        NodeKind.CRT_BLOCK,
    ):
        assert kind in kinds, kind
    umdh = _snap("leak-umdh.log")
    (node,) = outline(umdh.analysis, umdh.lines)
    assert node.kind is NodeKind.UMDH
    assert [c.name for c in node.children] == ["BackTrace4A21C", "BackTrace4A2F0", "BackTrace4A0F0"]
    assert node.detail == "2 of 3 traces grew, total increase 0x1cb00"
    xml = _snap("leak-appverif.xml")
    names = [n.name for n in outline(xml.analysis, xml.lines)]
    assert names[0] == "App Verifier stop 0x900: A heap allocation was leaked."
    pool = _snap("leak-poolused.log")
    assert NodeKind.POOLUSED_ROW in _kinds(outline(pool.analysis, pool.lines))
    assert any((f.start, f.end) == (16, 24) for f in folds(pool.analysis, pool.lines))


# --------------------------------------------------------------------------- pooltag.txt


POOLTAG = """rem Tags of this machine's drivers
rem   (comments start with rem)
Abcd - mydrv.sys    - Widget buffers
Tk?  - tokendrv.sys - Token cache
Wdf* - <unknown>    - Framework objects
Abcd - other.sys    - a later duplicate is ignored
this line is not an entry
TooLongTag - x.sys - never a tag
"""


def test_pooltag_file_entries_wildcards_and_comments() -> None:
    tags = parse_pool_tags(POOLTAG, "pooltag.txt")
    abcd = tags.lookup("Abcd")
    assert abcd is not None and (abcd.owner, abcd.line) == ("mydrv.sys: Widget buffers", 3)
    tkn = tags.lookup("Tkn ")
    assert tkn is not None and tkn.binary == "tokendrv.sys"
    wdf = tags.lookup("Wdf0")
    assert wdf is not None and wdf.owner == "Framework objects"
    assert tags.lookup("Zzzz") is None
    assert tags.skipped == 2
    assert len(tags) == 3


def test_pooltag_file_is_read_bounded_and_relative_to_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "pooltag.txt").write_text(POOLTAG)
    settings = Settings(pool_tag_file="pooltag.txt")
    table = load_pool_tags(settings, tmp_path)
    assert table is not None and table.error is None and len(table) == 3
    assert load_pool_tags(Settings(), tmp_path) is None
    too_big = load_pool_tags(settings, tmp_path, max_bytes=16)
    assert too_big is not None and too_big.error is not None and len(too_big) == 0
    missing = load_pool_tags(Settings(pool_tag_file="nowhere.txt"), tmp_path)
    assert missing is not None and missing.error is not None
    # a network path on a host the user does not trust is never opened
    unc = load_pool_tags(Settings(pool_tag_file="\\\\buildhost\\share\\pooltag.txt"), None)
    assert unc is not None and unc.error is not None and len(unc) == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_pooltag_file_never_opens_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pooltag.txt")
    table = load_pool_tags(Settings(pool_tag_file=str(tmp_path / "pooltag.txt")), None)
    assert table is not None and table.error is not None


def test_pool_tag_hover_says_where_the_owner_came_from(tmp_path: Path) -> None:
    (tmp_path / "pooltag.txt").write_text(POOLTAG)
    settings = Settings(pool_tag_file=str(tmp_path / "pooltag.txt"))
    snap = _snap("leak-poolused.log", settings=settings)
    abcd = _hover(snap, "Abcd", nth=1)
    assert abcd.startswith("**Pool tag `Abcd`**: mydrv.sys: Widget buffers (your pooltag.txt")
    assert ", line 3)" in abcd
    # the kdlens table answers first; the log's own description follows with its line
    file_tag = _hover(snap, "File", nth=1)
    assert "(kdlens' table)" in file_tag.splitlines()[0]
    assert "This log: File objects (this log, line 9)" in file_tag
    # without the user's file the log's description is the owner
    plain = _snap("leak-poolused.log")
    wdf = _hover(plain, "Wdf0", nth=1)
    assert wdf.startswith("**Pool tag `Wdf0`**: WdfLdr, binary wdfldr.sys (this log, line 10)")


def test_pool_tag_file_setting_from_both_front_ends() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cli = Settings.from_args(parser.parse_args(["--pool-tag-file", "C:\\dbg\\pooltag.txt"]), {})
    editor = Settings.from_json({"kdlens": {"poolTagFile": "C:\\dbg\\pooltag.txt"}}, environ={})
    assert cli == editor and cli.pool_tag_file == "C:\\dbg\\pooltag.txt"
    folder = Settings.from_json(
        {"poolTagFile": "${workspaceFolder}/pooltag.txt"}, [Path("/ws")], environ={}
    )
    assert folder.pool_tag_file == "/ws/pooltag.txt"
    bad = Settings.from_json({"poolTagFile": ["x"]}, environ={})
    assert bad.pool_tag_file == "" and len(bad.problems) == 1
