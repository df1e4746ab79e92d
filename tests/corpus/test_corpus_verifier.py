"""``!verifier`` reports, ``!verifier 0x80`` records and trace logs over curated corpus files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdlens.model import DriverLayout, PoolOp, Session, StackKind, VerifiedDriver
from kdlens.parse import parse_bytes

from helpers import SHARED, shared_path

pytestmark = pytest.mark.corpus

CORPUS = SHARED / "corpus"


def _parse(*parts: str) -> Session:
    session, _ = parse_bytes(shared_path("corpus", *parts).read_bytes())
    assert not session.faults, session.faults
    return session


def _pairs(d: VerifiedDriver) -> list[tuple[str, int | None, int | None]]:
    return [
        (
            p.name,
            p.nonpaged.value if p.nonpaged else None,
            p.paged.value if p.paged else None,
        )
        for p in d.stats
    ]


def test_c4_62_verifier3_new_layout() -> None:
    s = _parse("msdocs", "c4-0x62-memory-leaks-02.txt")
    (rep,) = s.verifier_reports
    flags = rep.flags
    assert flags is not None and not flags.legacy
    assert flags.level is not None and flags.level.value == 0x209BB
    assert len(flags.flags) == 21
    enabled = [f.bit for f in flags.flags if f.enabled]
    assert enabled == [0x0, 0x1, 0x2, 0x8, 0x10, 0x20, 0x80, 0x100, 0x800, 0x20000]
    assert sum(enabled) == 0x209BB
    assert all(f.section == "standard" for f in flags.flags if f.enabled)
    assert [f.name for f in flags.flags if f.section == "additional"][
        -1
    ] == "VM switch verification"
    assert [(x.name, x.value.value) for x in rep.stats][:5] == [
        ("RaiseIrqls", 0),
        ("AcquireSpinLocks", 0),
        ("Synch Executions", 0),
        ("Trims", 0),
        ("Pool Allocations Attempted", 0x2DB1A),
    ]
    assert len(rep.stats) == 13
    current = [x for x in rep.stats if x.name == "Current nonpaged pool allocations"]
    assert [(x.value.value, x.bytes.value if x.bytes else None) for x in current] == [(3, 0x1058)]

    (d,) = rep.drivers
    assert (d.name, d.layout, d.state) == ("MyDriver.sys", DriverLayout.MODULE, "Loaded")
    assert d.entry is not None and d.entry.value == 0x84226B28
    assert _pairs(d) == [
        ("Current Pool Allocations", 3, 0),
        ("Current Pool Bytes", 0x1058, 0),
        ("Peak Pool Allocations", 0x13, 0),
        ("Peak Pool Bytes", 0x4A4A0, 0),
        ("Contiguous Memory Bytes", 0, None),
        ("Peak Contiguous Memory Bytes", 0, None),
    ]
    t = d.allocations
    assert t is not None and not t.truncated and t.caller_column == "Caller"
    rows = [
        (
            r.address.value,
            r.size.value,
            r.tag,
            r.caller.value if r.caller else None,
            r.caller_symbol.text if r.caller_symbol else None,
        )
        for r in t.rows
    ]
    assert rows == [
        (0x982A8FE0, 0x20, "VMdl", 0x9A3BF6AC, "MyDriver!DeviceControlDispatch"),
        (0x8645A000, 0x1008, "mdrv", 0x9A3BF687, "MyDriver!DeviceControlDispatch"),
        (0x9A836FD0, 0x30, "Vfwi", 0x9A3BF6ED, "MyDriver!GetNecessaryObjects"),
    ]
    # the leak count of the table matches the driver's current allocation pair
    cur = d.stat("Current Pool Allocations")
    assert cur is not None and cur.total == len(t.rows)


def test_c4_62_pool_log_searches() -> None:
    s = _parse("msdocs", "c4-0x62-memory-leaks-04.txt")
    heads = [
        (
            r.address.value,
            r.size.value,
            r.thread.value if r.thread else None,
            len(r.stack.frames),
            r.op,
            r.index,
            r.searched_address,
        )
        for r in s.pool_log
    ]
    assert heads == [
        (0x982A8FE0, 0x20, 0x9C158BC0, 13, PoolOp.ALLOCATE, 0, 0x982A8FE0),
        (0x8645A000, 0x1000, 0x9C158BC0, 13, PoolOp.ALLOCATE, 0, 0x8645A000),
        (0x9A836FD0, 0x30, 0x88758740, 13, PoolOp.ALLOCATE, 0, 0x9A836FD0),
    ]
    first = s.pool_log[0].stack.frames
    assert first[0].symbol is not None and first[0].symbol.text == "nt!IovAllocateMdl+0x3d"
    assert first[4].symbol is not None and first[4].symbol.function == "NonPNPIRPDispatch0x51"
    assert first[12].address is not None and first[12].address.value == 0x81915518
    last = s.pool_log[2].stack.frames
    assert last[3].symbol is not None and last[3].symbol.qualified == "MyDriver!GetNecessaryObjects"
    assert s.verifier_reports == []


def test_verifier_02_legacy_x64() -> None:
    s = _parse("msdocs", "verifier-02.txt")
    (rep,) = s.verifier_reports
    flags = rep.flags
    assert flags is not None and flags.legacy
    assert flags.level is not None and flags.level.value == 0x9BB
    assert [f.name for f in flags.flags] == [
        "Special pool",
        "Special irql",
        "All pool allocations checked on unload",
        "Io subsystem checking enabled",
        "Deadlock detection enabled",
        "DMA checking enabled",
        "Security checks enabled",
        "Miscellaneous checks enabled",
    ]
    assert len(rep.stats) == 14
    trims = [x.value.value for x in rep.stats if x.name == "Trims"]
    assert trims == [0xA34A]
    peak = next(x for x in rep.stats if x.name == "Peak nonpaged pool allocations")
    assert peak.value.value == 0x10F and peak.bytes is not None and peak.bytes.value == 0x48E40

    assert [(d.name, d.state, d.layout) for d in rep.drivers] == [
        ("videoprt.sys", "Loaded", DriverLayout.TABLE),
        ("usbport.sys", "Loaded", DriverLayout.TABLE),
    ]
    video, usb = rep.drivers
    assert video.entry is not None and video.entry.value == 0xFFFFFA8003B6F670
    assert video.nonpaged_bytes is not None and video.nonpaged_bytes.value == 0xA0
    assert video.paged_bytes is not None and video.paged_bytes.value == 0x854
    assert _pairs(video) == [
        ("Current Pool Allocations", 2, 0x13),
        ("Current Pool Bytes", 0xA0, 0x854),
        ("Peak Pool Allocations", 6, 0x14),
        ("Peak Pool Bytes", 0x8C0, 0x9C8),
    ]
    assert video.allocations is not None and video.allocations.truncated
    assert video.allocations.caller_column == "CallersAddress"
    assert [(r.address.value, r.size.value, r.tag) for r in video.allocations.rows] == [
        (0xFFFFF9800157EFC0, 0x3C, "Vprt"),
        (0xFFFFF9800146AFC0, 0x34, "Vprt"),
        (0xFFFFF980015BAFE0, 0x18, "Vprt"),
    ]
    assert [r.caller.value for r in video.allocations.rows if r.caller] == [
        0xFFFFF88002C62963,
        0xFFFFF88002C62963,
        0xFFFFF88002C628F7,
    ]
    assert usb.allocations is not None and usb.allocations.truncated
    assert [r.tag for r in usb.allocations.rows] == ["usbp", "usbp", "usbp"]
    assert usb.nonpaged_bytes is not None and usb.nonpaged_bytes.value == 0x46070

    traces = [x for x in s.stacks if x.kind is StackKind.TRACE]
    assert [(x.thread, len(x.frames)) for x in traces] == [("fffff80002bf8c40", 5)] * 4
    assert rep.range.end.line == traces[-1].range.end.line


def test_verifier_03_legacy_pool_log() -> None:
    s = _parse("msdocs", "verifier-03.txt")
    assert [
        (r.address.value, r.size.value, r.op, r.index, r.searched_address, len(r.stack.frames))
        for r in s.pool_log
    ] == [
        (0xA2B1CE98, 0x168, PoolOp.FREE, 0, 0xA2B1CF20, 13),
        (0xA2B1CE98, 0x164, PoolOp.ALLOCATE, 1, 0xA2B1CF20, 13),
    ]
    free = s.pool_log[0].stack.frames
    assert free[0].symbol is not None and free[0].symbol.qualified == "ndis!ndisFreeToNPagedPool"
    # the last frame carries a ``# `` documentation artifact
    assert (
        free[12].symbol is not None and free[12].symbol.text == "test1!HandleCompletedTxPacket+0xea"
    )


def test_miscellaneous_checks_01_legacy_x86() -> None:
    s = _parse("msdocs", "miscellaneous-checks-01.txt")
    (rep,) = s.verifier_reports
    assert rep.flags is not None and rep.flags.level is not None
    assert rep.flags.level.value == 0x800
    assert [f.name for f in rep.flags.flags] == ["Miscellaneous checks enabled"]
    assert len(rep.stats) == 14
    assert [x.value.value for x in rep.stats if x.name.startswith("Pool Allocations")] == [
        1,
        1,
        0,
        0,
        0,
    ]
    (d,) = rep.drivers
    assert (d.name, d.state) == ("buggy.sys", "Loaded")
    assert d.entry is not None and d.entry.value == 0x8459CA50
    assert d.nonpaged_bytes is not None and d.nonpaged_bytes.value == 0
    assert d.allocations is None
    # the report stops before the fatal error that follows it
    assert rep.range.end.line == 28


def test_low_resources_simulation_02_no_prompt() -> None:
    s = _parse("msdocs", "low-resources-simulation-02.txt")
    (rep,) = s.verifier_reports
    assert rep.flags is not None and rep.flags.level is not None
    assert rep.flags.level.value == 5
    assert [f.name for f in rep.flags.flags] == [
        "Special pool",
        "Inject random low-resource API failures",
    ]
    assert [(x.name, x.value.value) for x in rep.stats] == [
        ("RaiseIrqls", 0x2C671F),
        ("AcquireSpinLocks", 0xCA1A02),
        ("Synch Executions", 0x10A623),
        ("Trims", 0),
        ("Pool Allocations Attempted", 0x862E0E),
        ("Pool Allocations Succeeded", 0x8626E3),
        ("Pool Allocations Succeeded SpecialPool", 0x768060),
        ("Pool Allocations With NO TAG", 0),
        ("Pool Allocations Failed", 0x34F),
        ("Resource Allocations Failed Deliberately", 0x3F5),
    ]
    assert rep.drivers == []


def test_real_win7_verifier3_vf_target() -> None:
    s = _parse("real", "windbg", "verifier-c4-62-x86-win7-verifier3.log")
    (rep,) = s.verifier_reports
    flags = rep.flags
    assert flags is not None and flags.level is not None and flags.level.value == 8
    assert len(flags.flags) == 12
    assert [f.bit for f in flags.flags if f.enabled] == [0, 8]
    assert len(rep.stats) == 13
    (d,) = rep.drivers
    assert (d.name, d.layout, d.state) == (
        "Sample.sys",
        DriverLayout.VF_TARGET,
        "Loaded and Unloaded",
    )
    assert d.unloaded
    assert d.entry is not None and d.entry.value == 0xA013F2C8
    cur = d.stat("Current Pool Bytes")
    assert cur is not None and cur.paged is not None and cur.paged.value == 0x70
    t = d.allocations
    assert t is not None
    assert [
        (r.address.value, r.size.value, r.tag, r.caller.value if r.caller else None) for r in t.rows
    ] == [(0x86491D10, 0x70, "abcd", 0xA05C1047)]
    sym = t.rows[0].caller_symbol
    assert sym is not None and (sym.module, sym.function, sym.offset) == (
        "Sample",
        "DriverEntry",
        0x27,
    )


def test_trace_logs_alone() -> None:
    s = _parse("msdocs", "low-resources-simulation-03.txt")
    assert [(x.header, x.thread, len(x.frames)) for x in s.stacks if x.kind is StackKind.TRACE] == [
        ("Entry @ 8354B258 (index 75)", "C2638220", 8),
        ("Entry @ 8354B230 (index 74)", "8436D770", 3),
    ]
    s = _parse("msdocs", "force-pending-i-o-requests-01.txt")
    traces = [x for x in s.stacks if x.kind is StackKind.TRACE]
    assert [len(x.frames) for x in traces] == [31]
    s = _parse("msdocs", "verifier-01.txt")
    traces = [x for x in s.stacks if x.kind is StackKind.TRACE]
    assert [(x.thread, len(x.frames)) for x in traces] == [("fffffa80068c9400", 5)] * 2


_VERIFIER_FILES = {
    "msdocs/c4-0x62-memory-leaks-02.txt",
    "msdocs/c4-0x62-memory-leaks-04.txt",
    "msdocs/verifier-02.txt",
    "msdocs/verifier-03.txt",
    "msdocs/miscellaneous-checks-01.txt",
    "msdocs/low-resources-simulation-02.txt",
    "real/windbg/verifier-c4-62-x86-win7-verifier3.log",
}


def test_no_verifier_records_elsewhere() -> None:
    """No other corpus file yields a report or a pool-log record, and no parser of ours faults."""
    shared_path("corpus")
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".txt", ".log"))
    assert files
    found: set[str] = set()
    for path in files:
        session, _ = parse_bytes(path.read_bytes())
        ours = [
            f.summary() for f in session.faults if f.where.startswith(("verifier-", "pool-log"))
        ]
        assert ours == [], path
        if session.verifier_reports or session.pool_log:
            found.add(Path(path).relative_to(CORPUS).as_posix())
    assert found == _VERIFIER_FILES
