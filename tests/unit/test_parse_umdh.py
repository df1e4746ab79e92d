"""UMDH comparison entries, snapshot records and raw snapshot entries."""

from __future__ import annotations

from kdlens.model import Range, StackKind
from kdlens.parse import parse_text

from helpers import log


def _at(text: str, line: int, token: str) -> Range:
    row = text.split("\n")[line]
    start = row.index(token)
    return Range.on_line(line, start, start + len(token))


def test_comparison_hex_with_frames_and_total() -> None:
    text = log(
        """
        + 1a40 ( 3b00 - 20c0) 2c allocs BackTrace01F2A

        \tgadget!Pool::Grow+0x0000004C
        \tgadget!Pool::Get+0x00000011

        - 80 ( 100 - 180) 4 allocs BackTrace01F30

        Total increase == 19c0
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    grow, shrink = s.umdh
    assert grow.comparison and not grow.decimal
    assert (grow.delta, grow.bytes, grow.old_bytes, grow.count) == (0x1A40, 0x3B00, 0x20C0, 0x2C)
    assert grow.backtrace == "BackTrace01F2A"
    assert grow.backtrace_range == _at(text, 0, "BackTrace01F2A")
    assert grow.range.start.line == 0 and grow.range.end.line == 3
    assert grow.stack is not None and grow.stack.kind is StackKind.TRACE
    frames = grow.stack.frames
    assert [f.symbol.qualified for f in frames if f.symbol] == [
        "gadget!Pool::Grow",
        "gadget!Pool::Get",
    ]
    assert frames[0].symbol is not None and frames[0].symbol.offset == 0x4C
    assert frames[0].range == _at(text, 2, "gadget!Pool::Grow+0x0000004C")
    # a decrease
    assert (shrink.delta, shrink.bytes, shrink.old_bytes, shrink.count) == (-0x80, 0x100, 0x180, 4)
    assert shrink.stack is None


def test_comparison_two_line_form_tabs_and_decimal_evidence() -> None:
    text = log(
        """
        +   30720 (  30720 -      0)     16 allocs\tBackTrace7A11C0D1
        +      16 (     16 -      0)\tBackTrace7A11C0D1\tallocations

        \tntdll!RtlAllocateHeap+A64
        \twidget!Cache::Fill+3B (src\\widget\\cache.cpp, 212)
        \twidget!???+0 : 7FF6120410AC

        +    3800 (   5000 -   1200)      8 allocs\tBackTrace7A11C0E5
        +       6 (      8 -      2)\tBackTrace7A11C0E5\tallocations

        \tntdll!RtlAllocateHeap+A64
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    first, second = s.umdh
    # 30720 / 16 divides only in decimal, 5000 - 1200 == 3800 only in decimal
    assert first.decimal and second.decimal
    assert (first.delta, first.bytes, first.old_bytes, first.count, first.old_count) == (
        30720,
        30720,
        0,
        16,
        0,
    )
    assert (second.delta, second.old_bytes, second.old_count) == (3800, 1200, 2)
    assert first.range.start.line == 0 and first.range.end.line == 5
    assert first.stack is not None
    alloc, fill, unknown = first.stack.frames
    assert alloc.symbol is not None and alloc.symbol.offset == 0xA64
    assert fill.symbol is not None and fill.symbol.display == "widget!Cache::Fill+0x3b"
    assert fill.source is not None
    assert (fill.source.path, fill.source.line) == ("src\\widget\\cache.cpp", 212)
    assert fill.source.range == _at(text, 4, "(src\\widget\\cache.cpp, 212)")
    assert fill.source.line_range == _at(text, 4, "212")
    assert fill.range == _at(text, 4, "widget!Cache::Fill+3B (src\\widget\\cache.cpp, 212)")
    assert unknown.symbol is not None and unknown.symbol.function == "???"
    assert unknown.address is not None and unknown.address.value == 0x7FF6120410AC
    assert unknown.address.range == _at(text, 5, "7FF6120410AC")


def test_digit_only_comparison_without_evidence_is_hex() -> None:
    s = parse_text("+ 100 ( 300 - 200) 1 allocs BackTrace00010\n")
    assert not s.faults, s.faults
    (r,) = s.umdh
    assert not r.decimal
    assert (r.delta, r.bytes, r.old_bytes, r.count) == (0x100, 0x300, 0x200, 1)


def test_dash_d_header_means_decimal() -> None:
    text = log(
        """
        // umdh -d before.txt after.txt
        //

        + 100 ( 300 - 200) 1 allocs BackTrace00010
        """
    )
    (r,) = parse_text(text).umdh
    assert r.decimal
    assert (r.delta, r.bytes, r.old_bytes) == (100, 300, 200)


def test_hex_letters_win_over_a_dash_d_header() -> None:
    text = log(
        """
        // umdh -d before.txt after.txt

        + 10 ( 30 - 20) 1 allocs BackTrace00010
        + 1e ( 2e - 10) 1 allocs BackTrace00011
        """
    )
    first, second = parse_text(text).umdh
    assert not first.decimal and not second.decimal
    assert first.delta == 0x10 and second.delta == 0x1E


def test_snapshot_records_until_blank_line() -> None:
    text = log(
        """
        00000c60 bytes in 0x6 allocations (@ 0x00000210) by: BackTrace00A07
        ntdll!RtlAllocateHeap+0x00000808
        Tool!operator new+0x0000000E
        Tool!Loader::Read+0x00000031

        00000040 bytes in 0x1 allocations (@ 0x00000040) by: BackTrace00A08
        Tool!main+0x00000012
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    a, b = s.umdh
    assert not a.comparison and not a.decimal
    assert (a.bytes, a.count, a.size_each) == (0xC60, 6, 0x210)
    assert a.backtrace == "BackTrace00A07"
    assert a.range.start.line == 0 and a.range.end.line == 3
    assert a.stack is not None
    assert [f.symbol.function for f in a.stack.frames if f.symbol] == [
        "RtlAllocateHeap",
        "operator new",
        "Loader::Read",
    ]
    assert a.stack.frames[1].range == Range.on_line(2, 0, len("Tool!operator new+0x0000000E"))
    assert (b.bytes, b.count, b.size_each) == (0x40, 1, 0x40)
    assert b.stack is not None and len(b.stack.frames) == 1


def test_raw_snapshot_entry_with_bare_addresses() -> None:
    text = log(
        """
        58 bytes + 28 at 1B2C4F0A010 by BackTrace51C0FF02
        \t7FFD10203344
        \t7FFD10205A90
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (r,) = s.umdh
    assert (r.bytes, r.overhead, r.count) == (0x58, 0x28, 1)
    assert r.address is not None and r.address.value == 0x1B2C4F0A010
    assert r.address.range == _at(text, 0, "1B2C4F0A010")
    assert r.stack is not None
    assert [f.address.value for f in r.stack.frames if f.address] == [
        0x7FFD10203344,
        0x7FFD10205A90,
    ]
    assert r.stack.frames[0].range == Range.on_line(1, 1, 13)
    assert r.stack.frames[0].symbol is None


def test_umdh_survives_malformed_lines() -> None:
    text = log(
        """
        + 10 (
        + 10 ( 20 - 10) allocs BackTrace
        + 1 ( 1 - 0) BackTrace00001 allocations
        10 bytes in 0x2 allocations (@ 0x8) by: BackTrace00002
        not a frame !!
        10 bytes + at 5 by BackTrace3
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (r,) = s.umdh
    assert r.backtrace == "BackTrace00002" and r.stack is None


def test_comparison_fixture_totals_and_number_ranges() -> None:
    from kdlens.parse import parse_bytes

    from helpers import FIXTURES

    s, _ = parse_bytes((FIXTURES / "logs" / "leak-umdh.log").read_bytes())
    assert not s.faults, s.faults
    grow, small, shrink = s.umdh
    assert (grow.delta, grow.count, grow.old_count) == (0x1C7A0, 0x1E3, 0)
    assert (small.delta, small.bytes, small.old_bytes, small.count, small.old_count) == (
        0x3C0,
        0x600,
        0x240,
        8,
        3,
    )
    assert shrink.delta == -0x60
    text = (FIXTURES / "logs" / "leak-umdh.log").read_text()
    row = text.split("\n")[grow.range.start.line]
    assert grow.delta_range == Range.on_line(
        grow.range.start.line, row.index("1c7a0"), row.index("1c7a0") + 5
    )
    assert grow.sign_range is not None and grow.sign_range.start.character == 0
    assert grow.stack is not None
    src = grow.stack.frames[3].source
    assert src is not None and (src.path, src.line) == ("c:\\src\\tally\\journal.cpp", 91)
    (total,) = s.umdh_totals
    assert total.increase and not total.decimal
    assert total.requested is not None and total.requested.value == 0x1CB00
    assert total.overhead is not None and total.overhead.value == 0x3C60
    assert total.total is not None and total.total.value == 0x20760


def test_total_forms_wrapped_and_decimal() -> None:
    text = log(
        """
        // umdh -d before.txt after.txt
        +     640 (     960 -     320)      3 allocs\tBackTrace11
        +       2 (       3 -       1)\tBackTrace11\tallocations

        \tWidget!Make+0000001E

        Total increase ==     640 requested +
             96 overhead =     736
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (rec,) = s.umdh
    assert rec.decimal and rec.delta == 640
    (total,) = s.umdh_totals
    assert total.decimal and total.value.value == 640
    assert total.overhead is not None and total.overhead.value == 96
    assert total.total is not None and total.total.value == 736
    assert (total.range.start.line, total.range.end.line) == (6, 7)


def test_total_alone_and_decrease() -> None:
    s = parse_text("Total decrease == 1a0\n")
    assert not s.faults, s.faults
    (total,) = s.umdh_totals
    assert not total.increase and total.value.value == 0x1A0 and total.requested is None
