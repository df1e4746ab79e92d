"""``!heap -l`` leak scans and ``!heap -p -a`` block records."""

from __future__ import annotations

from kdlens.model import Range
from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, log


def _at(text: str, line: int, token: str) -> Range:
    row = text.split("\n")[line]
    start = row.index(token)
    return Range.on_line(line, start, start + len(token))


def test_heap_l_fixture_rows_count_and_crlf() -> None:
    data = (FIXTURES / "logs" / "leak-heap.log").read_bytes()
    assert b"\r\n" in data
    s, _ = parse_bytes(data)
    assert not s.faults, s.faults
    first, empty = s.heap_leak_scans
    assert [r.user.value for r in first.rows] == [0x52A4D8, 0x52B128, 0x52C3F8, 0x61E010]
    assert [r.entry.value for r in first.rows][:2] == [0x52A4D0, 0x52B120]
    assert [r.heap.value for r in first.rows] == [0x520000] * 3 + [0x610000]
    assert [h.value for h in first.heaps] == [0x520000, 0x610000]
    row = first.rows[1]
    assert (row.size.value, row.unused.value if row.unused else None) == (0x210, 0x18)
    assert row.user_size == 0x1F8
    assert row.flags == "busy extra fill"
    assert first.truncated
    assert first.count is not None and first.count.value == 29
    assert first.count_range is not None and first.count_range.start.line == 14
    # the second scan found nothing and says so
    assert empty.rows == [] and empty.count is not None and empty.count.value == 0
    assert empty.range.start.line == 35


def test_heap_l_ranges_x64_and_quoted() -> None:
    text = log(
        """
        > Entry             User              Heap              Segment               Size  PrevSize  Unused    Flags
        > -------------------------------------------------------------------------------------------------------------
        > 000001f23c4d5e50  000001f23c4d5e60  000001f23c400000  000001f23c400000        40        30        10  busy extra fill
        > 2 potential unreachable blocks were
        > detected.
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (scan,) = s.heap_leak_scans
    (row,) = scan.rows
    assert row.user.value == 0x1F23C4D5E60
    assert row.user.range == _at(text, 2, "000001f23c4d5e60")
    assert row.range.start == _at(text, 2, "000001f23c4d5e50").start
    # the count line was hard-wrapped: both lines belong to it
    assert scan.count is not None and scan.count.value == 2
    assert scan.count_range is not None
    assert (scan.count_range.start.line, scan.count_range.end.line) == (3, 4)


def test_heap_l_without_anything_found_and_no_count() -> None:
    s = parse_text(
        log(
            """
            0:000> !heap -l
            Searching the memory for potential unreachable busy blocks.
            Heap 00520000
            Scanning VM ...
            0:000> k
            """
        )
    )
    (scan,) = s.heap_leak_scans
    assert scan.rows == [] and scan.count is None
    assert scan.range.end.line == 3


def test_heap_p_a_page_heap_record() -> None:
    s, _ = parse_bytes((FIXTURES / "logs" / "leak-appverif-stop.log").read_bytes())
    (info,) = s.heap_blocks
    assert info.page_heap and info.state == "busy"
    assert info.address is not None and info.address.value == 0xC5A2FE8
    assert info.heap is not None and info.heap.value == 0x5A1000
    assert info.block is not None and info.block.value == 0xBB72A90
    assert info.user_address is not None and info.user_address.value == 0xC5A2FE8
    assert info.user_size is not None and info.user_size.value == 0x18
    assert info.virtual_size is not None and info.virtual_size.value == 0x2000
    assert info.stack is not None
    assert [f.symbol.qualified for f in info.stack.frames if f.symbol][4] == (
        "plugin!Registry::Remember"
    )
    assert info.stack.frames[4].address is not None
    assert info.stack.frames[4].address.value == 0x6A2C1A3D
    assert info.holds(0xC5A2FE8 + 0x17) and not info.holds(0xC5A2FE8 + 0x18)


def test_heap_p_a_normal_heap_entry_row() -> None:
    text = log(
        """
        0:000> !heap -p -a 00ae6340
            address 00ae6340 found in
            _HEAP @ ad0000
              HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state
                00ae6338 0009 0000  [00]   00ae6340    00040 - (busy)
                7c96d6dc ntdll!RtlDebugAllocateHeap+0x000000e1
                00401b2e Widget!Make+0x0000001e
        0:000> g
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (info,) = s.heap_blocks
    assert not info.page_heap and info.state == "busy"
    assert info.block is not None and info.block.range == _at(text, 4, "00ae6338")
    assert info.user_size is not None and info.user_size.value == 0x40
    assert info.stack is not None and len(info.stack.frames) == 2
    assert info.range.end.line == 6


def test_heap_entry_table_rows_with_hints() -> None:
    text = log(
        """
              HEAP_ENTRY Size Prev Flags    UserPtr UserSize - state
                0c24afe0 2001 0000  [00]   0c24afe8    10000 - (busy)
                  ? Widget!Table::Grow+157e4
                0c25afe8 2001 2001  [00]   0c25aff0    10000 - (busy)
                ......
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    assert [(b.user_address.value, b.user_size.value) for b in s.heap_blocks] == [  # type: ignore[union-attr]
        (0xC24AFE8, 0x10000),
        (0xC25AFF0, 0x10000),
    ]
    assert all(b.stack is None and b.state == "busy" for b in s.heap_blocks)


def test_heap_p_h_block_lists() -> None:
    text = log(
        """
        0:000> !heap -p -h 1a80000
            _DPH_HEAP_ROOT @ 1a81000
            Freed and decommitted blocks
              DPH_HEAP_BLOCK : VirtAddr VirtSize
                01a81f40 : 01a90000 00002000
            Busy allocations
              DPH_HEAP_BLOCK : UserAddr  UserSize - VirtAddr VirtSize
                01a8224c : 01a84ff0 00000010 - 01a84000 00002000
                01a82288 : 01a86fc8 00000038 - 01a86000 00002000
        0:000> g
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    freed, busy1, busy2 = s.heap_blocks
    assert all(
        b.page_heap and b.heap is not None and b.heap.value == 0x1A81000 for b in s.heap_blocks
    )
    assert freed.state == "free" and freed.virtual_address is not None
    assert freed.virtual_address.value == 0x1A90000 and freed.user_address is None
    assert (busy1.state, busy1.block.value if busy1.block else None) == ("busy", 0x1A8224C)
    assert busy2.user_address is not None and busy2.user_address.value == 0x1A86FC8
    assert busy2.user_size is not None and busy2.user_size.value == 0x38
    assert busy2.user_size.range == _at(text, 8, "00000038")
