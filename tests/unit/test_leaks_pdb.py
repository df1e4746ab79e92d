"""User-mode leak evidence resolved to source lines through the fixture driver's PDBs.

The log holds no source line at all: a ``!heap -l`` row whose ``!heap -p -a``
record has the allocation stack, and an ``!htrace -diff`` record of a handle.
Their frames are return addresses of real calls of the x86 build, so the
allocating line is found one byte earlier, in the PDB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.analysis import FrameKind
from kdlens.analysis.evidence import Origin
from kdlens.analysis.usermode_leaks import LeakKind
from kdlens.features.leaks import site_message, source_sites
from kdlens.features.navigation import definition
from kdlens.index import Kind, build_index
from kdlens.model import Position
from kdlens.sources import SourceMapper

from fixtures.logs.make_crash_logs import X86_BASE, _ret
from fixtures.symbols.make_logs import _image_identity
from fixtures.symbols.symtest import analyze_log, copy_sources, source, store, where

BUILD = "x86-O0"


def _log() -> str:
    base = X86_BASE
    _, size, _ = _image_identity(BUILD)
    alloc_ret, alloc_sym = _ret(BUILD, base, "MyAllocate", "ExAllocatePoolWithTag")
    queue_ret, queue_sym = _ret(BUILD, base, "QueueDeferredWork", "MyAllocate")
    item_ret, item_sym = _ret(BUILD, base, "QueueDeferredWork", "IoAllocateWorkItem")
    lines = [
        "0:000> lm m mydriver",
        "start    end        module name",
        f"{base:08x} {base + size:08x}   mydriver   (private pdb symbols)  "
        f"C:\\build\\mydriver\\{BUILD}\\mydriver.pdb",
        "0:000> !heap -l",
        "Searching the memory for potential unreachable busy blocks.",
        "Heap 00520000",
        "Entry     User      Heap      Segment       Size  PrevSize  Unused    Flags",
        "-----------------------------------------------------------------------------",
        "0052b120  0052b128  00520000  00520000        40        38        10  busy extra fill",
        "1 potential unreachable blocks were detected.",
        "0:000> !heap -p -a 0052b128",
        "    address 0052b128 found in",
        "    _HEAP @ 520000",
        "      HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state",
        "        0052b120 0008 0000  [00]   0052b128    00030 - (busy)",
        "        77bf0c0e ntdll!RtlAllocateHeap+0x0000023a",
        f"        {alloc_ret:08x} {alloc_sym}",
        f"        {queue_ret:08x} {queue_sym}",
        "",
        "0:000> !htrace -diff",
        "Handle tracing information snapshot successfully taken.",
        "0x1 new stack traces since the previous snapshot.",
        "Ignoring handles that were already closed...",
        "Outstanding handles opened since the previous snapshot:",
        "--------------------------------------",
        "Handle = 0x00000128 - OPEN",
        "Thread ID = 0x00001a2c, Process ID = 0x00000f10",
        "",
        "0x77d0a4c4: ntdll!NtCreateEvent+0x0000000c",
        f"0x{item_ret:08x}: {item_sym}",
        "--------------------------------------",
        "Displayed 0x1 stack traces for outstanding handles opened since",
        "the previous snapshot.",
        "0:000> q",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    tmp = tmp_path_factory.mktemp("leaks-pdb")
    symbols = source(store(tmp / "sym", BUILD), tmp / "cache")
    text = _log()
    _, analysis = analyze_log(text, symbols)
    return analysis, text


def test_heap_and_handle_leaks_land_on_their_calls(analysed: tuple[object, str]) -> None:
    a, _ = analysed
    recs = a.leak_records  # type: ignore[attr-defined]
    assert [r.kind for r in recs] == [LeakKind.HEAP_BLOCK, LeakKind.HANDLE]
    heap, handle = recs
    # past ntdll's heap: the driver's wrapper made the call to the allocator
    assert heap.call_site is not None and heap.call_site.function == "MyAllocate"
    assert heap.source is not None and heap.source.origin is Origin.SYMBOL_FILE
    assert (heap.source.file_name, heap.source.line) == where("alloc.c", "ExAllocatePoolWithTag(")
    assert handle.call_site is not None and handle.call_site.function == "QueueDeferredWork"
    assert handle.source is not None
    assert (handle.source.file_name, handle.source.line) == where(
        "workitem.c", "IoAllocateWorkItem("
    )


def test_saved_stack_frames_are_return_addresses(analysed: tuple[object, str]) -> None:
    a, _ = analysed
    (block,) = a.session.heap_blocks  # type: ignore[attr-defined]
    assert block.stack is not None
    assert set(a.frame_kinds(block.stack)) == {FrameKind.RETURN}  # type: ignore[attr-defined]


def test_definition_of_the_frame_and_of_the_row(
    analysed: tuple[object, str], tmp_path: Path
) -> None:
    a, text = analysed
    copy_sources(tmp_path)
    mapper = SourceMapper.create([tmp_path])
    index = build_index(a)  # type: ignore[arg-type]
    lines = text.splitlines()
    frame_line = next(i for i, t in enumerate(lines) if "mydriver!MyAllocate+" in t)
    col = lines[frame_line].index("mydriver!")
    tok = index.at(Position(frame_line, col + 1))
    assert tok is not None and tok.kind is Kind.SYMBOL and tok.return_address
    res = definition(a, index, mapper, Position(frame_line, col + 1))  # type: ignore[arg-type]
    (target,) = res.targets
    assert target.path.name == "alloc.c"
    assert target.range.start.line + 1 == where("alloc.c", "ExAllocatePoolWithTag(")[1]
    # the !heap -l row's user address leads to the same line (its leak's allocating site)
    row_line = next(i for i, t in enumerate(lines) if t.startswith("0052b120  0052b128"))
    res = definition(a, index, mapper, Position(row_line, 11))  # type: ignore[arg-type]
    (row_target,) = res.targets
    assert (row_target.path, row_target.range.start.line) == (target.path, target.range.start.line)


def test_source_sites_of_both_kinds(analysed: tuple[object, str], tmp_path: Path) -> None:
    a, _ = analysed
    src = copy_sources(tmp_path)
    mapper = SourceMapper.create([tmp_path])

    def locate(build_path: str) -> Path | None:
        mapped, _why = mapper.explain(build_path)
        return mapped.path if mapped is not None else None

    sites = source_sites(a.leak_records, locate)  # type: ignore[attr-defined]
    got = {(s.path.resolve(), s.line): site_message(s, "app.log") for s in sites}
    alloc_line = where("alloc.c", "ExAllocatePoolWithTag(")[1]
    item_line = where("workitem.c", "IoAllocateWorkItem(")[1]
    assert got == {
        (
            (src / "alloc.c").resolve(),
            alloc_line,
        ): "leaked heap block of 0x30 (48) bytes, see app.log:9",
        ((src / "workitem.c").resolve(), item_line): "leaked handle 0x128, see app.log:26",
    }
