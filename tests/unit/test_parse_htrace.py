"""``!htrace`` records and the ``-diff`` summary lines."""

from __future__ import annotations

from kdlens.model import Range
from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, log


def test_htrace_diff_fixture() -> None:
    s, _ = parse_bytes((FIXTURES / "logs" / "leak-htrace.log").read_bytes())
    assert not s.faults, s.faults
    snapshot, diff, single = s.handle_traces
    assert snapshot.records == [] and snapshot.range.start.line == 2
    assert diff.diff
    assert diff.new_traces is not None and diff.new_traces.value == 3
    assert diff.displayed is not None and diff.displayed.value == 2
    # the summary was hard-wrapped onto a second line
    assert diff.displayed_range is not None
    assert (diff.displayed_range.start.line, diff.displayed_range.end.line) == (28, 29)
    first, second = diff.records
    assert (first.handle.value, first.op) == (0x128, "OPEN")
    assert first.thread is not None and first.thread.value == 0x1A2C
    assert first.process is not None and first.process.value == 0xF10
    assert first.stack is not None
    frames = first.stack.frames
    # an unnamed kernel address is a frame with no symbol
    assert frames[0].symbol is None and frames[0].address is not None
    assert frames[0].address.value == 0x8A4C9D12
    assert [f.symbol.display for f in frames[1:] if f.symbol] == [
        "ntdll!NtCreateFile+0xc",
        "KERNELBASE!CreateFileW+0x371",
        "Tally!OpenJournal+0x46",
        "Tally!wmain+0x2b",
    ]
    assert second.handle.value == 0x134 and second.stack is not None
    assert not single.diff
    assert single.query is not None and single.query.value == 0x134
    assert [(r.op, r.thread.value if r.thread else None) for r in single.records] == [
        ("OPEN", 0x1A2C),
        ("CLOSE", 0x1B04),
    ]
    assert single.displayed is not None and single.displayed.value == 2


def test_htrace_record_ranges_tabs_and_bad_reference() -> None:
    text = log(
        """
        \t--------------------------------------
        \tHandle = 0x0000007c - *** BAD REFERENCE ***
        \tThread ID = 0x00000abc, Process ID = 0x00000def

        \t0x00401000: Widget!Close+0x00000010
        \t--------------------------------------
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (report,) = s.handle_traces
    (rec,) = report.records
    assert rec.op == "BAD REFERENCE"
    row = text.split("\n")[1]
    start = row.index("0x0000007c")
    assert rec.handle.range == Range.on_line(1, start, start + 10)
    assert rec.stack is not None and rec.stack.frames[0].symbol is not None
    assert rec.stack.frames[0].symbol.display == "Widget!Close+0x10"
    assert rec.range.end.line == 4
