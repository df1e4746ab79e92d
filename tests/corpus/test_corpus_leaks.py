"""Leak findings read off the curated corpus: UMDH comparisons and snapshots, heap displays,
bug check 0xCB, ``!poolused``. Every finding a file gives is asserted, and nothing more."""

from __future__ import annotations

import pytest

from kdlens.analysis import Code, analyze
from kdlens.analysis.usermode_leaks import LeakKind, LeakOrigin
from kdlens.model import Session
from kdlens.parse import parse_bytes

from helpers import shared_path

pytestmark = pytest.mark.corpus


def _parse(*parts: str) -> Session:
    session, _ = parse_bytes(shared_path("corpus", *parts).read_bytes())
    assert not session.faults, session.faults
    return session


def _leak_lines(session: Session) -> list[tuple[int, str, str]]:
    return [
        (d.range.start.line + 1, d.code, d.message)
        for d in analyze(session).diagnostics
        if d.code.startswith("leaked-") or d.code.startswith("leak-")
    ]


def test_umdh_comparison_real_x64() -> None:
    s = _parse("real", "windbg", "umdh-compare-x64-head-dbghelp-header-entries.log")
    a = analyze(s)
    recs = a.leak_records
    assert all(r.kind is LeakKind.HEAP_BLOCK and r.origin is LeakOrigin.UMDH for r in recs)
    # decimal numbers (no hex letter, the entries agree only in decimal)
    assert [(r.detail, r.size, r.count) for r in recs] == [
        ("BackTrace9933FD81", 154944, 1),
        ("BackTrace95A3B4C1", 23680, 1),
        ("BackTrace95B06F41", 21296, 11),
        ("BackTrace994284C1", 19200, 16),
        ("BackTrace95AF0501", 16384, 1),
    ]
    # ntdll's heap, LocalAlloc and the CRT's calloc are looked past
    assert [r.call_site.display if r.call_site else None for r in recs] == [
        "SHELL32!SHGetItemFromDataObject+0x612",
        "combase!CInternalPageAllocator::Grow+0x3b",
        "ucrtbase!o__execute_onexit_table+0xd2",
        "SHELL32!SHCreateDirectory+0xcca",
        "gdi32full!UspInitMemory+0x62",
    ]
    assert [r.source.short if r.source else None for r in recs] == [
        None,
        "pgalloc.cxx:348",
        None,
        None,
        None,
    ]
    assert [line for line, _, _ in _leak_lines(s)] == [222, 258, 278, 291, 327]
    assert _leak_lines(s)[1][2] == (
        "Heap grew by 0x5c80 (23,680) bytes in 1 more allocation (BackTrace95A3B4C1), "
        "allocated by combase!CInternalPageAllocator::Grow+0x3b at pgalloc.cxx:348"
    )
    assert s.umdh_totals == []  # the excerpt ends before the total
    assert a.leak_summary == "5 leaks: 5 heap blocks (UMDH growth) · 5 call sites"


def test_umdh_raw_snapshot_is_not_a_leak() -> None:
    s = _parse("real", "windbg", "umdh-snapshot-raw-allocation-entry.log")
    (rec,) = s.umdh
    assert not rec.comparison and rec.address is not None and rec.address.value == 0x206EDDA8BA0
    assert rec.stack is not None and len(rec.stack.frames) == 11
    assert _leak_lines(s) == []


@pytest.mark.parametrize(
    ("name", "trace"),
    [
        ("umdh-user-mode-memory-leak-01.txt", "BackTrace00B53"),
        ("interpreting-a-log-comparison-01.txt", "BackTrace00053"),
    ],
)
def test_umdh_msdocs_comparisons(name: str, trace: str) -> None:
    s = _parse("msdocs", name)
    (total,) = s.umdh_totals
    assert total.increase and total.value.value == 0x5320
    # the total agrees with the one record: no mismatch
    assert _leak_lines(s) == [
        (
            1,
            Code.LEAKED_ALLOCATION,
            f"Heap grew by 0x5320 (21,280) bytes in 58 allocations ({trace})",
        )
    ]


def test_umdh_msdocs_snapshot_is_not_a_leak() -> None:
    s = _parse("msdocs", "umdh-user-mode-memory-leak-02.txt")
    (rec,) = s.umdh
    assert (rec.bytes, rec.count, rec.size_each) == (0x5320, 0x14, 0x428)
    assert _leak_lines(s) == []


def test_umdh_frames_without_a_record_are_not_a_leak() -> None:
    # a trace printed alone (its record line cut away by the docs)
    s = _parse("msdocs", "interpreting-a-log-comparison-02.txt")
    assert s.umdh == [] and _leak_lines(s) == []


def test_heap_flt_rows_are_blocks_not_leaks() -> None:
    s = _parse("real", "windbg", "heap-flt-s-x86.log")
    assert len(s.heap_blocks) == 18
    assert all(b.user_size is not None and b.user_size.value == 0x10000 for b in s.heap_blocks)
    assert s.heap_blocks[0].user_address is not None
    assert s.heap_blocks[0].user_address.value == 0x0C24AFE8
    assert s.heap_leak_scans == [] and _leak_lines(s) == []


@pytest.mark.parametrize(
    "name", ["heap-s-x86-usermode.log", "usermode-x64-heap-double-free-c0000374-analyze.log"]
)
def test_other_heap_files_show_no_leak(name: str) -> None:
    s = _parse("real", "windbg", name)
    assert _leak_lines(s) == []
    assert analyze(s).leak_records == []


def test_bugcheck_cb_msdocs() -> None:
    s = _parse("msdocs", "interpreting-bug-check-0xcb-01.txt")
    assert _leak_lines(s) == [
        (
            2,
            Code.LEAKED_LOCKED_PAGES,
            "0x26 (38) pages left locked (MDL 0x81861788), locked by ks!KsProbeStreamIrp+0x333",
        )
    ]
    s2 = _parse("msdocs", "interpreting-bug-check-0xcb-02.txt")
    assert _leak_lines(s2) == [(2, Code.LEAKED_LOCKED_PAGES, "Pages left locked (MDL 0x81861788)")]


def test_single_poolused_snapshot_shows_no_growth() -> None:
    s = _parse("msdocs", "kernel-debugger-kernel-memory-leak-01.txt")
    (snap,) = s.poolused_snapshots
    assert snap.columns == 4 and len(snap.rows) == 5
    a = analyze(s)
    assert a.pool_growth == [] and Code.POOL_GROWTH not in [d.code for d in a.diagnostics]


def test_pool_tag_notes_from_real_pool_output() -> None:
    s = _parse("real", "windbg", "pool-x64-pooltag-description.log")
    assert [(n.tag, n.description, n.binary) for n in s.pool_tag_notes] == [
        ("MmSt", "Mm section object prototype ptes", "nt!mm")
    ]
    s2 = _parse("real", "windbg", "pool-page-x86-kd-prompt.log")
    assert s2.pool_tag_notes == []  # 'Unknown (update pooltag.txt)' teaches nothing
