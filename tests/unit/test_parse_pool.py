"""``!pool``, ``!poolfind`` and ``!poolused`` output."""

from __future__ import annotations

from kdlens.model import Range
from kdlens.parse import parse_text

from helpers import log


def _at(text: str, line: int, token: str, nth: int = 0) -> Range:
    """The range of the ``nth`` occurrence of ``token`` on ``line`` of ``text``."""
    row = text.split("\n")[line]
    start = -1
    for _ in range(nth + 1):
        start = row.index(token, start + 1)
    return Range.on_line(line, start, start + len(token))


# --------------------------------------------------------------------------- !pool

POOL_PAGE = log(
    """
    2: kd> !pool a1c0d0a8
    Pool page a1c0d0a8 region is Nonpaged pool
     a1c0d000 size:   58 previous size:    0  (Allocated)  Wdf0
     a1c0d058 size:   20 previous size:   58  (Free)       Io\x20\x20
    *a1c0d078 size:   90 previous size:   20  (Allocated) *Zork
    \t\tOwning component : Unknown (update pooltag.txt)
     a1c0d108 size:   40 previous size:   90  (Allocated)  Even Process: 8a11b040
     a1c0d148 size:   c8 previous size:   40  (Allocated)  Sema (Protected)
     a1c0d210 size:   18 previous size:   c8  (Allocated)  Qrst
    \t\tPooltag Qrst : Quartz resampler buffers, Binary : qrst.sys
    2: kd> g
    """
)


def test_pool_page_blocks_values() -> None:
    s = parse_text(POOL_PAGE)
    assert not s.faults, s.faults
    blocks = s.pool_blocks
    assert [b.address.value for b in blocks] == [
        0xA1C0D000,
        0xA1C0D058,
        0xA1C0D078,
        0xA1C0D108,
        0xA1C0D148,
        0xA1C0D210,
    ]
    assert [b.tag for b in blocks] == ["Wdf0", "Io  ", "Zork", "Even", "Sema", "Qrst"]
    assert [b.size.value for b in blocks] == [0x58, 0x20, 0x90, 0x40, 0xC8, 0x18]
    assert [b.previous_size.value for b in blocks if b.previous_size] == [
        0,
        0x58,
        0x20,
        0x90,
        0x40,
        0xC8,
    ]
    assert [b.state for b in blocks] == [
        "Allocated",
        "Free",
        "Allocated",
        "Allocated",
        "Allocated",
        "Allocated",
    ]
    assert [b.marked for b in blocks] == [False, False, True, False, False, False]
    assert {b.pool_type for b in blocks} == {"Nonpaged pool"}


def test_pool_page_suffixes_and_descriptions() -> None:
    s = parse_text(POOL_PAGE)
    zork, even, sema, qrst = s.pool_blocks[2], s.pool_blocks[3], s.pool_blocks[4], s.pool_blocks[5]
    assert zork.description == "Unknown (update pooltag.txt)"
    assert zork.description_range == _at(POOL_PAGE, 5, "Unknown (update pooltag.txt)")
    assert even.process is not None and even.process.value == 0x8A11B040
    assert even.process.range == _at(POOL_PAGE, 6, "8a11b040")
    assert even.description is None and not even.protected
    assert sema.protected and sema.process is None and sema.description is None
    assert qrst.description == "Quartz resampler buffers, Binary : qrst.sys"


def test_pool_block_ranges() -> None:
    s = parse_text(POOL_PAGE)
    free, zork = s.pool_blocks[1], s.pool_blocks[2]
    # the tag keeps its trailing spaces and its range covers them
    assert free.tag_range == Range.on_line(3, 55, 59)
    assert zork.tag_range == _at(POOL_PAGE, 4, "Zork")
    assert zork.address.range == Range.on_line(4, 1, 9)
    assert zork.size.range == _at(POOL_PAGE, 4, "90")
    assert zork.previous_size is not None and zork.previous_size.range == _at(POOL_PAGE, 4, "20")
    assert zork.range == Range.on_line(4, 0, len(POOL_PAGE.split("\n")[4]))


def test_pool_block_line_alone() -> None:
    text = " 9e4f2010 size:   30 previous size:   10  (Allocated)  Ab d\n"
    s = parse_text(text)
    assert not s.faults, s.faults
    (b,) = s.pool_blocks
    assert b.address.value == 0x9E4F2010
    assert b.tag == "Ab d"
    assert b.tag_range == Range.on_line(0, 55, 59)
    assert b.pool_type is None and not b.marked


def test_pool_tag_cut_by_trailing_whitespace_is_padded() -> None:
    text = " 9e4f2040 size:   10 previous size:   30  (Free)       Xy\n"
    (b,) = parse_text(text).pool_blocks
    assert b.tag == "Xy  "
    assert b.tag_range == Range.on_line(0, 55, 57)


def test_pool_flag_one_hex_dump_is_skipped() -> None:
    text = log(
        """
        kd> !pool d0412030 1
         d0412000 size:   30 previous size:    0  (Allocated)  Fmfc
         d0412008  00000001 00000000 d0412110 00000000
            d0412018  ffffffff 00000000 00000000 00000000

        *d0412030 size:   20 previous size:   30  (Allocated) *Lfsx
         d0412038  00000000 00000000 00000000 00000000

        kd>
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    assert [(b.address.value, b.tag, b.marked) for b in s.pool_blocks] == [
        (0xD0412000, "Fmfc", False),
        (0xD0412030, "Lfsx", True),
    ]


def test_pool_x64_backtick_and_special_pool() -> None:
    text = log(
        """
        3: kd> !pool ffffc30e`4a7c1f40
        Pool page ffffc30e4a7c1f40 region is Special pool
        *ffffc30e`4a7c1000 size:  2c0 data: ffffc30e4a7c1d40 (Paged) *Gpx1
        \t\tPooltag Gpx1 : graphics port extension, Binary : gpx.sys
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (b,) = s.pool_blocks
    assert b.address.value == 0xFFFFC30E4A7C1000
    assert b.address.text == "ffffc30e`4a7c1000"
    assert b.size.value == 0x2C0
    assert b.previous_size is None
    assert b.data is not None and b.data.value == 0xFFFFC30E4A7C1D40
    assert b.data.range == _at(text, 2, "ffffc30e4a7c1d40")
    assert b.pool_type == "Special pool (Paged)"
    assert b.state == ""
    assert b.marked and b.tag == "Gpx1"
    assert b.tag_range == _at(text, 2, "Gpx1")
    assert b.description == "graphics port extension, Binary : gpx.sys"


def test_pool_header_only_consumes_and_records_nothing() -> None:
    text = log(
        """
        0: kd> !poolval ffff9a0412350000
        Pool page ffff9a0412350000 region is Paged pool

        Validating Pool headers for pool page: ffff9a0412350000
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    assert s.pool_blocks == []


def test_pool_stops_at_the_next_prompt() -> None:
    text = log(
        """
        kd> !pool 80d11000
        *80d11000 size:   40 previous size:    0  (Allocated) *Tst1
        kd> !pool 80d22000
         80d22000 size:   40 previous size:    0  (Allocated)  Tst2
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    assert [(b.tag, b.range.start.line) for b in s.pool_blocks] == [("Tst1", 1), ("Tst2", 3)]


# --------------------------------------------------------------------------- !poolfind

POOLFIND = log(
    """
    kd> !poolfind Qz1  0

    Scanning large pool allocation table for Tag: Qz1  (8a100000 : 8a118000)

    Searching NonPaged pool (89a00000 : 8a000000) for Tag: Qz1

    89a14020 size:   48 previous size:   18  (Allocated) Qz1\x20
    89b00300 size:   18 previous size:   48  (Free)      Qz1\x20

    Searching Paged pool (e2000000 : e5000000) for Tag: Qz1

    e2031ab0 size:  120 previous size:   60  (Allocated) Qz1\x20

    ...terminating - searched pool to e2040000
    kd>
    """
)


def test_poolfind_hits_and_sections() -> None:
    s = parse_text(POOLFIND)
    assert not s.faults, s.faults
    hits = s.pool_blocks
    assert [(b.address.value, b.size.value, b.state, b.pool_type) for b in hits] == [
        (0x89A14020, 0x48, "Allocated", "NonPaged pool"),
        (0x89B00300, 0x18, "Free", "NonPaged pool"),
        (0xE2031AB0, 0x120, "Allocated", "Paged pool"),
    ]
    assert all(b.tag == "Qz1 " and not b.marked for b in hits)
    # no marker column: the tag starts one column after the padded state
    assert hits[0].tag_range == Range.on_line(6, 53, 57)
    assert hits[1].tag_range == Range.on_line(7, 53, 57)


# --------------------------------------------------------------------------- !poolused

POOLUSED = log(
    """
    1: kd> !poolused
       Sorting by  Tag

      Pool Used:
                NonPaged            Paged
     Tag    Allocs     Used    Allocs     Used
     Bq01        2      640         0        0UNKNOWN pooltag 'Bq01', please update pooltag.txt
     Ckt         0        0        12     7680Circuit table , Binary: ckt.sys
     Dd.4       17    81920       305  1249280
     pq..       5     1200         0        0UNKNOWN pooltag '  pq', please update pooltag.txt
     usb3        1      112         0        0307 controller glue

    ...

     zz9z      300   614400         1       56Last row
     TOTAL     4512210 310224512     50111 19880016
    1: kd>
    """
)


def test_poolused_rows() -> None:
    s = parse_text(POOLUSED)
    assert not s.faults, s.faults
    rows = s.pool_usage
    assert [r.tag for r in rows] == ["Bq01", "Ckt ", "Dd.4", "pq..", "usb3", "zz9z"]
    assert [(r.nonpaged_allocs, r.nonpaged_bytes, r.paged_allocs, r.paged_bytes) for r in rows] == [
        (2, 640, 0, 0),
        (0, 0, 12, 7680),
        (17, 81920, 305, 1249280),
        (5, 1200, 0, 0),
        (1, 112, 0, 0),
        (300, 614400, 1, 56),
    ]


def test_poolused_descriptions_are_cut_at_the_column() -> None:
    rows = parse_text(POOLUSED).pool_usage
    assert rows[0].description == "UNKNOWN pooltag 'Bq01', please update pooltag.txt"
    assert rows[1].description == "Circuit table , Binary: ckt.sys"
    assert rows[2].description is None
    # shifted row: whitespace fallback
    assert rows[3].description == "UNKNOWN pooltag '  pq', please update pooltag.txt"
    # the description begins with digits: the cut is by column, not by \d+
    assert rows[4].description == "307 controller glue"
    assert rows[5].description == "Last row"


def test_poolused_ranges_and_total_skipped() -> None:
    s = parse_text(POOLUSED)
    rows = s.pool_usage
    assert rows[1].tag_range == Range.on_line(7, 1, 5)
    assert rows[0].range.start == Range.on_line(6, 1, 1).start
    assert rows[-1].range.start.line == 14
    assert all(r.tag != "TOTA" and r.tag != "TOTAL" for r in rows)


def test_poolused_shifted_row_with_digit_description() -> None:
    text = log(
        """
        Sorting by Tag
         Tag    Allocs     Used    Allocs     Used
         ab..       3       96         0        01394 bus driver
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (row,) = s.pool_usage
    assert (row.nonpaged_allocs, row.nonpaged_bytes, row.paged_allocs, row.paged_bytes) == (
        3,
        96,
        0,
        0,
    )
    assert row.description == "1394 bus driver"


def test_poolused_header_without_sort_line_and_no_descriptions() -> None:
    text = log(
        """
        Tag    Allocs     Used    Allocs     Used\x20
        Lk9         0        0     20113 41190000
        Mno1        3      384       710  1453024
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    assert [(r.tag, r.paged_bytes, r.description) for r in s.pool_usage] == [
        ("Lk9 ", 41190000, None),
        ("Mno1", 1453024, None),
    ]
    assert s.pool_usage[0].tag_range == Range.on_line(1, 0, 4)


def test_poolused_sort_line_without_header_records_nothing() -> None:
    s = parse_text("Sorting by Tag\nsomething else entirely\n")
    assert not s.faults, s.faults
    assert s.pool_usage == []


def test_pool_parsers_survive_malformed_lines() -> None:
    text = log(
        """
        kd> !pool 1
        *12345678 size:
         12345678 size:   zz previous size:    0  (Allocated)
         12345678 size:   10 previous size:    0  (Allocated)
        Pool page 12345678 region is
        Searching  pool (
        Sorting by
        Sorting by Tag
          Tag    Allocs     Used    Allocs     Used
          x
          abcd  1 2 3
          abcd        1        2         3        4
        """
    )
    s = parse_text(text)
    assert not s.faults, s.faults
    (b,) = s.pool_blocks
    assert b.tag == "" and b.address.value == 0x12345678
    assert [(r.tag, r.paged_bytes) for r in s.pool_usage] == []


POOLUSED8 = log(
    """
    1: kd> !poolused 2
     Sorting by NonPaged Pool Consumed

                   NonPaged                                         Paged
     Tag     Allocs     Frees      Diff         Used   Allocs     Frees      Diff         Used

     Abcd      1520        16      1504     12320768        0         0         0            0\tUNKNOWN pooltag 'Abcd', please update pooltag.txt
     Wdf0       120       100        20         8960       12        12         0            0WdfLdr , Binary: wdfldr.sys
     Tkn          4         1         3          768       30        10        20        10240
    """
)


def test_poolused_eight_columns() -> None:
    s = parse_text(POOLUSED8)
    assert not s.faults, s.faults
    (snap,) = s.poolused_snapshots
    assert snap.columns == 8 and snap.sort == "Sorting by NonPaged Pool Consumed"
    abcd, wdf, tkn = snap.rows
    assert (abcd.nonpaged_allocs, abcd.nonpaged_frees, abcd.nonpaged_diff, abcd.nonpaged_bytes) == (
        1520,
        16,
        1504,
        12320768,
    )
    assert (tkn.paged_allocs, tkn.paged_frees, tkn.paged_diff, tkn.paged_bytes) == (
        30,
        10,
        20,
        10240,
    )
    assert abcd.description == "UNKNOWN pooltag 'Abcd', please update pooltag.txt"
    # glued to the last number (older style) is cut at the column
    assert wdf.description == "WdfLdr , Binary: wdfldr.sys" and wdf.paged_bytes == 0
    assert tkn.description is None
    assert len(abcd.number_ranges) == 8
    row = POOLUSED8.split("\n")[6]
    assert abcd.number_ranges[3] == Range.on_line(
        6, row.index("12320768"), row.index("12320768") + 8
    )
    assert s.pool_usage == snap.rows


def test_pool_tag_notes_from_poolused_and_pool() -> None:
    s = parse_text(POOLUSED8)
    (note,) = s.pool_tag_notes  # the UNKNOWN remark teaches nothing
    assert (note.tag, note.description, note.binary) == ("Wdf0", "WdfLdr", "wdfldr.sys")
    row = POOLUSED8.split("\n")[7]
    assert note.binary_range == Range.on_line(
        7, row.index("wdfldr.sys"), row.index("wdfldr.sys") + 10
    )
    text = log(
        """
        1: kd> !pool ffffe2809abee000
        Pool page ffffe2809abee000 region is Paged pool
        *ffffe2809abee000 size:  880 previous size:    0  (Allocated) *MmSt
        \t\tPooltag MmSt : Mm section object prototype ptes, Binary : nt!mm
        """
    )
    (pnote,) = parse_text(text).pool_tag_notes
    assert (pnote.tag, pnote.description, pnote.binary) == (
        "MmSt",
        "Mm section object prototype ptes",
        "nt!mm",
    )
