"""CRT debug-heap leak dumps relayed to the debugger."""

from __future__ import annotations

from kdlens.model import Range
from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, log


def test_crt_fixture_blocks_sources_data_and_quoted_copy() -> None:
    s, _ = parse_bytes((FIXTURES / "logs" / "leak-crt.log").read_bytes())
    assert not s.faults, s.faults
    plain, quoted = s.crt_leaks
    assert plain.complete and quoted.complete
    assert [(b.number.value, b.kind, b.address.value, b.size.value) for b in plain.blocks] == [
        (231, "normal", 0xE4A2C8, 64),
        (187, "normal", 0xE49F10, 12),
        (96, "client", 0xE48010, 24),
    ]
    first, second, client = plain.blocks
    assert first.source is not None
    assert (first.source.path, first.source.line) == ("c:\\src\\tally\\ledger.cpp", 88)
    assert second.source is None
    # the preview holds a '>' of its own
    assert second.data == "a>b         "
    assert client.subtype == 0
    assert first.range.start.line == 4 and first.range.end.line == 5
    (q,) = quoted.blocks
    assert q.number.value == 240 and q.range.start.character == 2


def test_crt_ranges_and_block_without_header() -> None:
    text = log(
        """
        some debug output
        {12} crt block at 0x00A01000, 8 bytes long.
         Data: <        > 00 00 00 00 00 00 00 00
        more output
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (report,) = s.crt_leaks
    assert report.header_range is None and not report.complete
    (b,) = report.blocks
    row = text.split("\n")[1]
    assert b.address.range == Range.on_line(
        1, row.index("0x00A01000"), row.index("0x00A01000") + 10
    )
    assert b.size.range == Range.on_line(1, row.index("8 bytes"), row.index("8 bytes") + 1)
    assert b.kind == "crt" and b.data_range is not None and b.data_range.start.line == 2
    assert report.range.end.line == 2
