"""``!verifier`` status reports: flags, statistics, drivers and Pool Allocations tables."""

from __future__ import annotations

from kdlens.model import DriverLayout, Range, Session, StackKind
from kdlens.parse import parse_text

from helpers import log


def parse(text: str) -> Session:
    session = parse_text(text)
    assert not session.faults, session.faults
    return session


def rng(line: int, start: int, end: int) -> Range:
    return Range.on_line(line, start, end)


def at(text: str, line: int, token: str) -> Range:
    """The range of the first ``token`` on ``line`` of ``text``."""
    start = text.split("\n")[line].index(token)
    return Range.on_line(line, start, start + len(token))


NEW_X86 = log(
    """
    kd> !verifier 3 Fooflt.sys

    Verify Flags Level 0x0000000b

      STANDARD FLAGS:
        [X] (0x00000000) Automatic Checks
        [X] (0x00000001) Special pool
        [X] (0x00000002) Force IRQL checking
        [X] (0x00000008) Pool tracking
        [ ] (0x00000010) I/O verification

      ADDITIONAL FLAGS:
        [ ] (0x00000004) Randomized low resources simulation

        [X] Indicates flag is enabled


    Summary of All Verifier Statistics

      RaiseIrqls           0x11
      Trims                0x0

      Pool Allocations Attempted             0x4c2
      Current paged pool allocations         0x2 for 00000120 bytes
      Peak nonpaged pool allocations         0x1f for 0000AB40 bytes

    Driver Verification List


      MODULE: 0x8a3c1e08 Fooflt.sys (Loaded)

        Pool Allocation Statistics: ( NonPagedPool / PagedPool )

          Current Pool Allocations: ( 0x00000002 / 0x00000001 )
          Current Pool Bytes:       ( 0x00000150 / 0x00000040 )
          Contiguous Memory Bytes:       0x00000000

        Pool Allocations:

          Address     Length      Tag   Caller    
          ----------  ----------  ----  ----------
          0x9d4e2f80  0x00000080  Foo1  0x91a20b3c  Fooflt!CreateContext
          0x9d4e3fc0  0x00000040  F o   0x91a20c10  Fooflt!QueueWork+0x2a
          0x8c1d0000  0x00000010  Fo.2  0x91a20c44
    kd> g
    """  # noqa: W291  (trailing blanks as the debugger prints them)
)


def test_new_layout_flags() -> None:
    s = parse(NEW_X86)
    assert len(s.verifier_reports) == 1
    rep = s.verifier_reports[0]
    flags = rep.flags
    assert flags is not None and not flags.legacy
    assert flags.level is not None
    assert flags.level.value == 0xB and flags.level.text == "0x0000000b"
    assert flags.level.range == rng(2, 19, 29)
    # the legend line is not a flag
    assert [(f.bit, f.enabled, f.section) for f in flags.flags] == [
        (0x0, True, "standard"),
        (0x1, True, "standard"),
        (0x2, True, "standard"),
        (0x8, True, "standard"),
        (0x10, False, "standard"),
        (0x4, False, "additional"),
    ]
    pool = flags.flags[3]
    assert pool.name == "Pool tracking"
    assert pool.name_range == rng(8, 21, 34)
    assert pool.bit_range == rng(8, 9, 19)
    assert pool.range == rng(8, 4, 34)
    assert flags.range.start.line == 2 and flags.range.end.line == 14


def test_new_layout_statistics() -> None:
    rep = parse(NEW_X86).verifier_reports[0]
    assert [(x.name, x.value.value) for x in rep.stats] == [
        ("RaiseIrqls", 0x11),
        ("Trims", 0),
        ("Pool Allocations Attempted", 0x4C2),
        ("Current paged pool allocations", 2),
        ("Peak nonpaged pool allocations", 0x1F),
    ]
    peak = rep.stats[4]
    assert peak.bytes is not None and peak.bytes.value == 0xAB40
    assert peak.bytes.range == at(NEW_X86, 24, "0000AB40")
    assert peak.value.range == at(NEW_X86, 24, "0x1f")
    assert peak.range == at(
        NEW_X86, 24, "Peak nonpaged pool allocations         0x1f for 0000AB40 bytes"
    )
    assert rep.stats[0].bytes is None


def test_new_layout_driver_and_table() -> None:
    rep = parse(NEW_X86).verifier_reports[0]
    assert len(rep.drivers) == 1
    d = rep.drivers[0]
    assert d.name == "Fooflt.sys" and d.layout is DriverLayout.MODULE
    assert d.name_range == at(NEW_X86, 29, "Fooflt.sys")
    assert d.entry is not None and d.entry.value == 0x8A3C1E08
    assert d.state == "Loaded" and not d.unloaded
    cur = d.stat("current pool allocations")
    assert cur is not None and cur.nonpaged is not None and cur.paged is not None
    assert (cur.nonpaged.value, cur.paged.value, cur.total) == (2, 1, 3)
    assert cur.paged.range == rng(33, 47, 57)
    contiguous = d.stat("Contiguous Memory Bytes")
    assert contiguous is not None and contiguous.paged is None
    assert contiguous.nonpaged is not None and contiguous.nonpaged.value == 0

    t = d.allocations
    assert t is not None and t.caller_column == "Caller" and not t.truncated
    assert t.header_range == at(NEW_X86, 39, "Address     Length      Tag   Caller")
    assert [(r.address.value, r.size.value, r.tag) for r in t.rows] == [
        (0x9D4E2F80, 0x80, "Foo1"),
        (0x9D4E3FC0, 0x40, "F o "),
        (0x8C1D0000, 0x10, "Fo.2"),
    ]
    first, second, third = t.rows
    assert first.address.range == rng(41, 6, 16)
    assert first.tag_range == rng(41, 30, 34)
    assert first.caller is not None and first.caller.value == 0x91A20B3C
    assert first.caller.range == rng(41, 36, 46)
    assert first.caller_symbol is not None
    assert first.caller_symbol.qualified == "Fooflt!CreateContext"
    assert first.caller_symbol.range == rng(41, 48, 68)
    assert first.range == rng(41, 6, 68)
    assert second.tag_range == rng(42, 30, 34)
    assert second.caller_symbol is not None and second.caller_symbol.offset == 0x2A
    assert third.caller_symbol is None
    assert t.range.start.line == 39 and t.range.end.line == 43
    assert d.range.start.line == 29 and d.range.end.line == 43
    assert rep.range.start.line == 2 and rep.range.end.line == 43


X64_VF_TARGET = log(
    """
    0: kd> !verifier 3 leaky.sys

    Verify Flags Level 0x00000008

    Summary of All Verifier Statistics

      Current nonpaged pool allocations      0x2 for 00000050 bytes

    Driver Verification List
    ------------------------

    nt!_VF_TARGET_DRIVER 0xffffe0012a3b4c50: leaky.sys (Loaded and Unloaded)

        Pool Allocation Statistics: ( NonPagedPool / PagedPool )

          Current Pool Allocations: ( 0x00000002 / 0x00000000 )

        Pool Allocations:

          Address             Length      Tag   Caller Address    
          ------------------  ----------  ----  ------------------
          0xffffc38a1e7e2f50  0x00000010  Leak  0xfffff8076d8a1014  leaky!LeakyAlloc+0x14
          0xffffc38a1e7e3010  0x00000040  Lk    0xfffff8076d8a10f0  leaky!Other

        Contiguous allocations are not displayed with public symbols.

    0: kd> lm
    """  # noqa: W291
)


def test_vf_target_layout_x64() -> None:
    s = parse(X64_VF_TARGET)
    assert len(s.verifier_reports) == 1
    rep = s.verifier_reports[0]
    assert rep.flags is not None and rep.flags.flags == []
    d = rep.drivers[0]
    assert d.layout is DriverLayout.VF_TARGET
    assert d.name == "leaky.sys" and d.name_range == rng(11, 41, 50)
    assert d.entry is not None and d.entry.value == 0xFFFFE0012A3B4C50
    assert d.entry.range == rng(11, 21, 39)
    assert d.state == "Loaded and Unloaded" and d.unloaded
    t = d.allocations
    assert t is not None and t.caller_column == "Caller Address"
    assert [r.tag for r in t.rows] == ["Leak", "Lk  "]
    row = t.rows[0]
    assert row.address.value == 0xFFFFC38A1E7E2F50 and row.address.range == rng(21, 6, 24)
    assert row.size.value == 0x10 and row.size.range == rng(21, 26, 36)
    assert row.tag_range == rng(21, 38, 42)
    assert row.caller is not None and row.caller.range == rng(21, 44, 62)
    assert row.caller_symbol is not None and row.caller_symbol.range == rng(21, 64, 85)
    assert row.caller_symbol.function == "LeakyAlloc" and row.caller_symbol.offset == 0x14
    assert t.rows[1].tag_range == rng(22, 38, 42)
    # the note after the table belongs to the report
    assert rep.range.end.line == 24


LEGACY = log(
    """
    2: kd> !verifier 0xf

    Verify Level 9bb ... enabled options are:
        Special pool
          All pool allocations checked on unload
     Io subsystem checking enabled

    Summary of All Verifier Statistics

    RaiseIrqls                             0x0
    Resource Allocations Failed Deliberately   0x3
    Current paged pool allocations         0x1a for 00000950 bytes

    Driver Verification List

    Entry     State           NonPagedPool   PagedPool   Module

    fffffa8004c1d2e0 Loaded           000000b0       00000010    alpha.sys

    Current Pool Allocations  00000003    00000001
    Peak Pool Bytes           000008c0    000009c8

    PoolAddress  SizeInBytes    Tag       CallersAddress
    fffff98001a2bfc0     0x00000040     Alp       fffff88003c4d5e6
    fffff98001a3cfd0     0x00000030     Al p      fffff88003c4d5e6
    ...

    fffffa8004c1d290 Unloaded         00000000       00000000    beta.sys

    ----------------------------------------------- 
    Fault injection trace log                       
    ----------------------------------------------- 

    Driver Verifier didn't inject any faults.

    ----------------------------------------------- 
    Track irql trace log                            
    ----------------------------------------------- 

    Displaying most recent 0x0000000000000001 entries from the IRQL transition log.
    There are up to 0x100 entries in the log.

    Thread:             fffff80002c4d5e0
    Old irql:           0000000000000002
    New irql:           0000000000000000
    Processor:          0000000000000001
    Time stamp:         00000000000012ab

        fffff88004a1b2c3 alpha!TimerDpc+0x9a
        fffff80002a5b5bf nt!KiProcessTimerDpcTable+0x66
    """  # noqa: W291
)


def test_legacy_flags_and_stats() -> None:
    rep = parse(LEGACY).verifier_reports[0]
    flags = rep.flags
    assert flags is not None and flags.legacy
    assert (
        flags.level is not None
        and flags.level.value == 0x9BB
        and flags.level.range == rng(2, 13, 16)
    )
    assert [(f.name, f.bit, f.enabled, f.section) for f in flags.flags] == [
        ("Special pool", 0, True, "legacy"),
        ("All pool allocations checked on unload", 0, True, "legacy"),
        ("Io subsystem checking enabled", 0, True, "legacy"),
    ]
    assert flags.flags[1].name_range == rng(4, 6, 44)
    assert flags.flags[2].name_range == rng(5, 1, 30)
    assert flags.flags[0].bit_range is None
    assert [(x.name, x.value.value) for x in rep.stats] == [
        ("RaiseIrqls", 0),
        ("Resource Allocations Failed Deliberately", 3),
        ("Current paged pool allocations", 0x1A),
    ]
    assert rep.stats[2].bytes is not None and rep.stats[2].bytes.value == 0x950


def test_legacy_driver_table() -> None:
    s = parse(LEGACY)
    rep = s.verifier_reports[0]
    assert [d.name for d in rep.drivers] == ["alpha.sys", "beta.sys"]
    alpha, beta = rep.drivers
    assert alpha.layout is DriverLayout.TABLE and alpha.state == "Loaded"
    assert alpha.entry is not None and alpha.entry.value == 0xFFFFFA8004C1D2E0
    assert alpha.nonpaged_bytes is not None and alpha.nonpaged_bytes.value == 0xB0
    assert alpha.paged_bytes is not None and alpha.paged_bytes.range == rng(17, 49, 57)
    assert alpha.name_range == rng(17, 61, 70)
    cur = alpha.stat("Current Pool Allocations")
    assert cur is not None and cur.nonpaged is not None and cur.paged is not None
    assert (cur.nonpaged.value, cur.paged.value) == (3, 1)
    assert cur.nonpaged.range == rng(19, 26, 34)
    t = alpha.allocations
    assert t is not None and t.caller_column == "CallersAddress" and t.truncated
    assert [(r.address.value, r.size.value, r.tag) for r in t.rows] == [
        (0xFFFFF98001A2BFC0, 0x40, "Alp "),
        (0xFFFFF98001A3CFD0, 0x30, "Al p"),
    ]
    assert t.rows[1].tag_range == rng(24, 36, 40)
    assert t.rows[0].caller is not None and t.rows[0].caller.value == 0xFFFFF88003C4D5E6
    assert t.rows[0].caller_symbol is None
    assert beta.state == "Unloaded" and beta.unloaded and beta.allocations is None


def test_legacy_trace_sections_are_consumed() -> None:
    s = parse(LEGACY)
    rep = s.verifier_reports[0]
    assert rep.range.end.line == 49
    traces = [x for x in s.stacks if x.kind is StackKind.TRACE]
    assert len(traces) == 1
    tr = traces[0]
    assert tr.thread == "fffff80002c4d5e0"
    assert [f.symbol.qualified for f in tr.frames if f.symbol] == [
        "alpha!TimerDpc",
        "nt!KiProcessTimerDpcTable",
    ]
    assert tr.x64 is True
    assert [x.kind for x in s.stacks] == [StackKind.TRACE]


def test_legacy_report_stops_before_unknown_output() -> None:
    text = log(
        """
        1: kd> !verifier 1

        Verify Level 800 ... enabled options are:
         Miscellaneous checks enabled

        Summary of All Verifier Statistics

        Trims                                  0x0

        Driver Verification List

        Entry     State           NonPagedPool   PagedPool   Module

        8459ca50 Loaded           00000000       00000000    gamma.sys



        *** Fatal System Error: 0x000000c4
                               (0x000000D2,0x9655D4A8,0x9655D468,0x000000B0)
        """
    )
    s = parse(text)
    rep = s.verifier_reports[0]
    assert rep.range.start.line == 2 and rep.range.end.line == 13
    assert [d.name for d in rep.drivers] == ["gamma.sys"]
    assert rep.drivers[0].entry is not None and rep.drivers[0].entry.range == rng(13, 0, 8)


def test_fragment_table_takes_driver_from_command() -> None:
    text = log(
        """
        kd> !verifier 3 Mydrv.sys
              Address     Length      Tag   Caller
              ----------  ----------  ----  ----------
              0x982a8fe0  0x00000020  VMdl  0x9a3bf6ac  Mydrv!Dispatch
        kd> g
        """
    )
    s = parse(text)
    assert len(s.verifier_reports) == 1
    d = s.verifier_reports[0].drivers[0]
    assert d.name == "Mydrv.sys"
    assert d.name_range == rng(0, 16, 25)  # on the command echo
    assert d.allocations is not None and len(d.allocations.rows) == 1
    assert d.allocations.rows[0].tag == "VMdl"


def test_fragment_without_command_gets_unnamed_driver() -> None:
    text = log(
        """
        Pool Allocations:

          Address     Length      Tag   Caller
          ----------  ----------  ----  ----------
          0x8645a000  0x00001008  mdrv  0x9a3bf687  Mydrv!Dispatch
          0x9a836fd0  0x00000030  Vfwi  0x9a3bf6ed
        """
    )
    s = parse(text)
    assert len(s.verifier_reports) == 1
    rep = s.verifier_reports[0]
    assert rep.flags is None and rep.stats == []
    assert [d.name for d in rep.drivers] == [""]
    t = rep.drivers[0].allocations
    assert t is not None and [r.tag for r in t.rows] == ["mdrv", "Vfwi"]
    assert rep.range.start.line == 0 and rep.range.end.line == 5


def test_unknown_line_inside_report_keeps_one_report() -> None:
    text = log(
        """
        kd> !verifier 3 x.sys

        Verify Flags Level 0x00000008

          STANDARD FLAGS:
            [X] (0x00000008) Pool tracking

        Some message a newer debugger prints here

        Summary of All Verifier Statistics

          Trims                0x0

        Driver Verification List

          MODULE: 0x84226b28 x.sys (Loaded)
        """
    )
    s = parse(text)
    assert len(s.verifier_reports) == 1
    rep = s.verifier_reports[0]
    assert rep.flags is not None and len(rep.flags.flags) == 1
    assert [x.name for x in rep.stats] == ["Trims"]
    assert [d.name for d in rep.drivers] == ["x.sys"]
    assert rep.range.start.line == 2 and rep.range.end.line == 15


def test_two_pasted_reports_stay_apart() -> None:
    text = log(
        """
        Verify Flags Level 0x00000008

        Summary of All Verifier Statistics

          Trims                0x1

        Verify Flags Level 0x000209bb

        Summary of All Verifier Statistics

          Trims                0x2
        """
    )
    s = parse(text)
    assert [r.flags.level.value for r in s.verifier_reports if r.flags and r.flags.level] == [
        0x8,
        0x209BB,
    ]
    assert [[x.value.value for x in r.stats] for r in s.verifier_reports] == [[1], [2]]


def test_docs_heading_artifacts_and_tabs() -> None:
    text = (
        "kd> !verifier 3 t.sys\n"
        "## Driver Verification List\n"
        "\n"
        "\tMODULE: 0x84226b28 t.sys (Loaded)\n"
        "\n"
        "    Pool Allocations:\n"
        "\n"
        "      Address     Length      Tag   Caller\n"
        "      ----------  ----------  ----  ----------\n"
        "      0x982a8fe0  0x00000020  VMdl  0x9a3bf6ac  t!Dispatch\n"
    )
    s = parse(text)
    d = s.verifier_reports[0].drivers[0]
    assert d.name == "t.sys" and d.name_range == rng(3, 20, 25)
    assert d.allocations is not None and d.allocations.rows[0].tag_range == rng(9, 30, 34)


def test_crlf_log() -> None:
    s = parse(NEW_X86.replace("\n", "\r\n"))
    d = s.verifier_reports[0].drivers[0]
    assert d.allocations is not None and len(d.allocations.rows) == 3
    assert d.allocations.rows[0].tag_range == rng(41, 30, 34)


def test_broken_lines_do_not_fault() -> None:
    text = log(
        """
        kd> !verifier 3
        Verify Flags Level 0x
        Verify Level zz
          MODULE: 0x
        nt!_VF_TARGET_DRIVER 0xffff: (Loaded
        Pool Allocations:
          Address     Length      Tag   Caller
          ----------  ----------  ----
          0x982a8fe0  0x00000020  VM
          0x982a8fe0  0x000000200000000000000000000  VMdl  0x1
          0x982a8fe0
        Driver Verification List
        Entry     State           NonPagedPool   PagedPool   Module
        ffffffffffffffffffffff Loaded 00000000 00000000 a.sys
        Current Pool Allocations: ( 0x1 / )
        """
    )
    s = parse(text)
    for rep in s.verifier_reports:
        for d in rep.drivers:
            if d.allocations:
                assert all(len(r.tag) == 4 for r in d.allocations.rows)


def test_irql_records_without_banner_are_not_driver_stats() -> None:
    text = log(
        """
        kd> !verifier 0xb
        Driver Verification List

        Entry     State           NonPagedPool   PagedPool   Module

        8459ca50 Loaded           00000000       00000000    delta.sys

        Thread:             8a1b2c3d
        Old irql:           00000002
        New irql:           00000000
        Processor:          00000000
        Time stamp:         0000495e

            9a1b2c3d delta!Dpc+0x9a
        """
    )
    s = parse(text)
    (rep,) = s.verifier_reports
    assert rep.drivers[0].stats == []
    (trace,) = s.stacks
    assert trace.kind is StackKind.TRACE and trace.thread == "8a1b2c3d" and len(trace.frames) == 1
    assert rep.range.end.line == 13


def test_second_driver_list_starts_a_new_report() -> None:
    text = log(
        """
        Driver Verification List

          MODULE: 0x84226b28 one.sys (Loaded)

        an unexpected line

        Driver Verification List

          MODULE: 0x84226c40 two.sys (Loaded)
        """
    )
    s = parse(text)
    assert [[d.name for d in r.drivers] for r in s.verifier_reports] == [["one.sys"], ["two.sys"]]
