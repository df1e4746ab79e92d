"""Pool commands and UMDH over the curated corpus files: exact facts read off each file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.model import Session
from kdlens.parse import parse_bytes

from helpers import SHARED, shared_path

pytestmark = pytest.mark.corpus


def _parse(*parts: str) -> Session:
    session, _ = parse_bytes(shared_path("corpus", *parts).read_bytes())
    assert not session.faults, session.faults
    return session


def test_pool_01() -> None:
    s = _parse("msdocs", "pool-01.txt")
    blocks = s.pool_blocks
    assert [b.tag for b in blocks] == ["MmDT", "Mm  ", "ObDi", "ObDi", "Symt", "ObDm", "ObDi"]
    assert [b.address.value for b in blocks][:3] == [0xE1001000, 0xE1001040, 0xE1001050]
    marked = [b for b in blocks if b.marked]
    assert [b.address.value for b in marked] == [0xE1001050]
    assert blocks[1].state == "Free" and blocks[0].state == "Allocated"
    assert blocks[5].size.value == 0x40 and blocks[6].previous_size is not None
    assert blocks[6].previous_size.value == 0x40


def test_pool_02_hex_dump_skipped() -> None:
    s = _parse("msdocs", "pool-02.txt")
    assert [(b.address.value, b.tag, b.marked) for b in s.pool_blocks] == [
        (0xE1001000, "MmDT", False),
        (0xE1001040, "Mm  ", False),
        (0xE1001050, "ObDi", True),
        (0xE1001060, "ObDi", False),
    ]


def test_miscellaneous_checks_02() -> None:
    (b,) = _parse("msdocs", "miscellaneous-checks-02.txt").pool_blocks
    assert (b.address.value, b.size.value, b.tag, b.marked, b.pool_type) == (
        0x9655D468,
        0xB0,
        "Bug_",
        True,
        "Paged pool",
    )
    assert b.previous_size is not None and b.previous_size.value == 8


def test_poolfind_01() -> None:
    blocks = _parse("msdocs", "poolfind-01.txt").pool_blocks
    assert len(blocks) == 23
    assert all(b.tag == "SeSd" and not b.marked for b in blocks)
    assert [b.pool_type for b in blocks].count("NonPaged pool") == 19
    assert [b.pool_type for b in blocks].count("Paged pool") == 4
    assert [b.address.value for b in blocks if b.state == "Free"] == [0x82721C00, 0x8278B830]
    assert blocks[11].address.value == 0x8278B730 and blocks[11].size.value == 0x100
    assert blocks[11].previous_size is not None and blocks[11].previous_size.value == 0x290
    assert blocks[-1].address.value == 0xE1224250


def test_poolused_01() -> None:
    rows = _parse("msdocs", "poolused-01.txt").pool_usage
    assert len(rows) == 35
    by_tag = {r.tag: r for r in rows}
    assert "TOTAL" not in by_tag and "TOTA" not in by_tag
    r1394 = by_tag["1394"]
    assert (r1394.nonpaged_allocs, r1394.nonpaged_bytes, r1394.paged_allocs, r1394.paged_bytes) == (
        1,
        520,
        0,
        0,
    )
    assert r1394.description == "UNKNOWN pooltag '1394', please update pooltag.txt"
    wmit = by_tag["Wmit"]
    assert (wmit.nonpaged_allocs, wmit.nonpaged_bytes, wmit.paged_allocs, wmit.paged_bytes) == (
        1,
        4096,
        7,
        49480,
    )
    assert wmit.description == "Wmi Trace"
    assert by_tag["ohci"].paged_bytes == 0
    assert by_tag["ohci"].description == "1394 OHCI host controller driver"
    assert by_tag["rx.."].nonpaged_bytes == 1248 and by_tag["rx.."].paged_bytes == 0
    assert by_tag["AGP "].paged_bytes == 384
    assert by_tag["8042"].description == "PS/2 kb and mouse , Binary: i8042prt.sys"
    assert rows[-1].tag == "vPrt" and rows[-1].paged_bytes == 68160


def test_kernel_memory_leak_poolused_4() -> None:
    rows = _parse("msdocs", "kernel-debugger-kernel-memory-leak-01.txt").pool_usage
    assert [(r.tag, r.paged_allocs, r.paged_bytes) for r in rows] == [
        ("Abc ", 36405, 33930272),
        ("Tron", 552, 7863232),
        ("IoN7", 10939, 998432),
        ("Gla5", 2222, 924352),
        ("Ggb ", 22, 828384),
    ]
    assert rows[3].nonpaged_allocs == 1 and rows[3].nonpaged_bytes == 128
    assert all(r.description is None for r in rows)


def test_real_pool_page_x86() -> None:
    blocks = _parse("real", "windbg", "pool-page-x86-kd-prompt.log").pool_blocks
    assert len(blocks) == 25
    assert {b.pool_type for b in blocks} == {"Nonpaged pool"}
    (hack,) = [b for b in blocks if b.marked]
    assert (hack.address.value, hack.size.value, hack.tag) == (0x85246428, 0x200, "Hack")
    assert hack.description == "Unknown (update pooltag.txt)"
    (npfn,) = [b for b in blocks if b.process is not None]
    assert npfn.tag == "NpFn" and npfn.process is not None and npfn.process.value == 0x8507A030
    assert [b.address.value for b in blocks if b.protected] == [0x85246B98, 0x85246E80]
    assert all(b.tag == "File" for b in blocks if b.protected)
    assert [b.tag for b in blocks if b.state == "Free"] == [".PZH", "CcSc", "EtwG", "Nb29", "Clfs"]
    assert [b.tag for b in blocks].count("Vad ") == 2


def test_real_special_pool_x64() -> None:
    (b,) = _parse("real", "windbg", "pool-special-pool-x64.log").pool_blocks
    assert b.address.value == 0xFFFFB98851F06000 and b.size.value == 0x4F0
    assert b.data is not None and b.data.value == 0xFFFFB98851F06B10
    assert b.marked and b.tag == "Scbf"
    assert b.pool_type == "Special pool (NonPaged)"
    assert b.description == "Mass storage driver tags"


def test_real_pooltag_description_x64() -> None:
    mmst, free = _parse("real", "windbg", "pool-x64-pooltag-description.log").pool_blocks
    assert (mmst.tag, mmst.size.value, mmst.marked, mmst.pool_type) == (
        "MmSt",
        0x880,
        True,
        "Paged pool",
    )
    assert mmst.description == "Mm section object prototype ptes, Binary : nt!mm"
    assert (free.state, free.tag, free.size.value) == ("Free", '.r."', 0x760)


def test_real_poolhittag() -> None:
    (b,) = _parse("real", "windbg", "poolhittag-x86-win7-kvn-pool.log").pool_blocks
    assert (b.address.value, b.size.value, b.tag, b.marked) == (0x91C26128, 0x78, "abcd", True)
    assert b.pool_type == "Paged pool"


def test_umdh_msdocs_comparisons() -> None:
    for name, trace in (
        ("umdh-user-mode-memory-leak-01.txt", "BackTrace00B53"),
        ("interpreting-a-log-comparison-01.txt", "BackTrace00053"),
    ):
        (r,) = _parse("msdocs", name).umdh
        assert r.comparison and not r.decimal
        assert (r.delta, r.bytes, r.old_bytes, r.count) == (0x5320, 0xF110, 0x9DF0, 0x3A)
        assert r.backtrace == trace
        assert r.stack is None


def test_umdh_msdocs_snapshot_record() -> None:
    (r,) = _parse("msdocs", "umdh-user-mode-memory-leak-02.txt").umdh
    assert not r.comparison
    assert (r.bytes, r.count, r.size_each) == (0x5320, 0x14, 0x428)
    assert r.stack is not None and len(r.stack.frames) == 12
    names = [f.symbol.qualified for f in r.stack.frames if f.symbol]
    assert names[0] == "ntdll!RtlDebugAllocateHeap"
    assert names[7] == "MyApp!operator new"
    assert names[-1] == "KERNEL32!BaseProcessStart"
    assert r.stack.frames[-1].symbol is not None and r.stack.frames[-1].symbol.offset == 0x3D


def test_real_umdh_comparison_x64() -> None:
    records = _parse("real", "windbg", "umdh-compare-x64-head-dbghelp-header-entries.log").umdh
    assert [r.backtrace for r in records] == [
        "BackTrace9933FD81",
        "BackTrace95A3B4C1",
        "BackTrace95B06F41",
        "BackTrace994284C1",
        "BackTrace95AF0501",
    ]
    # digit-only numbers: 19200 bytes in 16 allocations only divides in decimal
    assert all(r.decimal and r.comparison for r in records)
    assert [(r.delta, r.count, r.old_count) for r in records] == [
        (154944, 1, 0),
        (23680, 1, 0),
        (21296, 11, 0),
        (19200, 16, 0),
        (16384, 1, 0),
    ]
    first = records[0]
    assert first.stack is not None and len(first.stack.frames) == 32
    last = first.stack.frames[-1]
    assert last.symbol is not None and last.symbol.qualified == "notepad!???"
    assert last.address is not None and last.address.value == 0x7FF738EC2941
    second = records[1]
    assert second.stack is not None and len(second.stack.frames) == 16
    grow = second.stack.frames[2]
    assert grow.symbol is not None and grow.symbol.function == "CInternalPageAllocator::Grow"
    assert grow.symbol.offset == 0x3B
    assert grow.source is not None
    assert (grow.source.path, grow.source.line) == ("onecore\\com\\combase\\coll\\pgalloc.cxx", 348)


def test_real_umdh_raw_snapshot() -> None:
    (r,) = _parse("real", "windbg", "umdh-snapshot-raw-allocation-entry.log").umdh
    assert (r.bytes, r.overhead) == (0x30, 0x30)
    assert r.address is not None and r.address.value == 0x206EDDA8BA0
    assert r.backtrace == "BackTraceEDD4EEA6"
    assert r.stack is not None and len(r.stack.frames) == 11
    assert r.stack.frames[0].address is not None
    assert r.stack.frames[0].address.value == 0x7FFE82352933


def _corpus_files() -> list[Path]:
    root = SHARED / "corpus"
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in (".txt", ".log") and p.is_file())


def test_whole_corpus_has_no_parser_faults() -> None:
    files = _corpus_files()
    if not files:
        pytest.skip("corpus not available")
    faulty = []
    for path in files:
        session, _ = parse_bytes(path.read_bytes())
        if session.faults:
            faulty.append((path.name, next(iter(session.faults)).summary()))
    assert faulty == []
