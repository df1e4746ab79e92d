"""Leak records of every kind: attribution, evidence links, cross-checks, growth, fingerprints."""

from __future__ import annotations

from kdlens.analysis import AnalysisSettings, Code, Severity, analyze
from kdlens.analysis.evidence import Evidence, Origin, SourceLocation, gather
from kdlens.analysis.resolve import LogResolver
from kdlens.analysis.settings import DEFAULT_ALLOCATOR_WRAPPERS
from kdlens.analysis.usermode_leaks import (
    LeakKind,
    LeakOrigin,
    LeakRecord,
    attribute,
    find_all_leaks,
    fingerprint,
    fingerprint_key,
    stop_leak,
    summarize,
)
from kdlens.model import Num, Range, Session, SymbolRef, VerifierStop, VerifierStopParam
from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, log


def _fixture(name: str) -> Session:
    s, _ = parse_bytes((FIXTURES / "logs" / name).read_bytes())
    assert not s.faults, s.faults
    return s


def _codes(session: Session) -> list[tuple[int, str]]:
    return [(d.range.start.line, d.code) for d in analyze(session).diagnostics]


# --------------------------------------------------------------------------- !heap -l


def test_heap_scan_rows_are_leaks_and_the_linked_one_has_its_site() -> None:
    a = analyze(_fixture("leak-heap.log"))
    recs = a.leak_records
    assert [(r.kind, r.origin, r.address) for r in recs] == [
        (LeakKind.HEAP_BLOCK, LeakOrigin.HEAP_SCAN, 0x52A4D8),
        (LeakKind.HEAP_BLOCK, LeakOrigin.HEAP_SCAN, 0x52B128),
        (LeakKind.HEAP_BLOCK, LeakOrigin.HEAP_SCAN, 0x52C3F8),
        (LeakKind.HEAP_BLOCK, LeakOrigin.HEAP_SCAN, 0x61E010),
    ]
    linked = recs[1]
    assert linked.stack is not None and linked.stack_label == "!heap -p -a"
    # past ntdll's heap and the debug CRT's _malloc_dbg
    assert linked.call_site is not None and linked.call_site.display == (
        "ReportGen!Report::AddLine+0x4d"
    )
    assert linked.source is not None and linked.source.short == "report.cpp:57"
    assert linked.size == 0x1F8
    diags = [d for d in a.diagnostics if d.code == Code.LEAKED_ALLOCATION]
    assert len(diags) == 4
    assert diags[1].message == (
        "Leaked heap block (unreachable) of 0x1f8 (504) bytes at 0x52b128 in heap 0x520000, "
        "allocated by ReportGen!Report::AddLine+0x4d at report.cpp:57"
    )
    assert diags[0].data["command"] == "!heap -p -a 0x52a4d8"
    assert "!heap -p -a 0x52a4d8" in diags[0].message


def test_heap_scan_count_cross_check_never_claims_completeness() -> None:
    a = analyze(_fixture("leak-heap.log"))
    (note,) = [d for d in a.diagnostics if d.code == Code.LEAK_LISTING_INCOMPLETE]
    assert note.severity is Severity.INFORMATION
    assert note.message == (
        "4 rows shown (cut with '...'), the debugger found 29: the table is not the whole list"
    )
    assert note.range.start.line == 14
    # the empty scan (found nothing) is neither a leak nor a mismatch
    assert all(d.range.start.line < 35 for d in a.diagnostics)


def test_heap_scan_more_rows_than_count_is_a_mismatch() -> None:
    text = log(
        """
        Entry     User      Heap      Segment       Size  PrevSize  Unused    Flags
        -----------------------------------------------------------------------------
        0052a4d0  0052a4d8  00520000  00520000        40        38        10  busy
        0052b120  0052b128  00520000  00520000       210        40        18  busy
        1 potential unreachable blocks were detected.
        """
    )
    d = [x for x in analyze(parse_text(text)).diagnostics if x.code == Code.LEAK_COUNT_MISMATCH]
    assert len(d) == 1 and d[0].severity is Severity.WARNING and d[0].range.start.line == 4


# --------------------------------------------------------------------------- UMDH


def test_umdh_growth_records_are_leaks_past_crt_and_localalloc() -> None:
    a = analyze(_fixture("leak-umdh.log"))
    recs = a.leak_records
    assert [(r.origin, r.size, r.count, r.detail) for r in recs] == [
        (LeakOrigin.UMDH, 0x1C7A0, 0x1E3, "BackTrace4A21C"),
        (LeakOrigin.UMDH, 0x3C0, 5, "BackTrace4A2F0"),
    ]
    assert [r.call_site.display for r in recs if r.call_site] == [
        "Tally!Journal::Append+0x43",
        "Tally!Settings::Load+0xb1",
    ]
    assert [r.source.short for r in recs if r.source] == ["journal.cpp:91", "settings.cpp:40"]
    assert recs[0].source is not None and recs[0].source.origin is Origin.ANNOTATION
    # the totals agree with the records (the '-' record included): no mismatch
    assert Code.LEAK_BYTES_MISMATCH not in [d.code for d in a.diagnostics]
    msgs = [d.message for d in a.diagnostics if d.code == Code.LEAKED_ALLOCATION]
    assert msgs[1] == (
        "Heap grew by 0x3c0 (960) bytes in 5 more allocations (BackTrace4A2F0), "
        "allocated by Tally!Settings::Load+0xb1 at settings.cpp:40"
    )


def test_umdh_total_mismatch() -> None:
    text = (FIXTURES / "logs" / "leak-umdh.log").read_text()
    text = text.replace("Total increase ==   1cb00", "Total increase ==   1d000")
    a = analyze(parse_text(text))
    (d,) = [x for x in a.diagnostics if x.code == Code.LEAK_BYTES_MISMATCH]
    assert d.message == (
        "UMDH reports a total increase of 0x1d000 (118,784) bytes, but the 3 records listed "
        "add up to 0x1cb00 (117,504) bytes: some records are not shown"
    )


# --------------------------------------------------------------------------- CRT


def test_crt_blocks_are_leaks_with_their_printed_source() -> None:
    a = analyze(_fixture("leak-crt.log"))
    recs = a.leak_records
    assert [(r.address, r.size, r.detail) for r in recs] == [
        (0xE4A2C8, 64, "{231}"),
        (0xE49F10, 12, "{187}"),
        (0xE48010, 24, "{96}"),
        (0xF1C008, 64, "{240}"),
    ]
    assert [r.source.short if r.source else None for r in recs] == [
        "ledger.cpp:88",
        None,
        None,
        "ledger.cpp:88",
    ]
    diags = [d for d in a.diagnostics if d.code == Code.LEAKED_ALLOCATION]
    assert diags[2].message == (
        "Leaked CRT client block of 0x18 (24) bytes at 0xe48010 ({96}); "
        "'_CrtSetBreakAlloc(96)' stops at this allocation on the next run"
    )
    # the same leak in the quoted copy of a later run: same fingerprint
    assert recs[0].fingerprint == recs[3].fingerprint


# --------------------------------------------------------------------------- handles


def test_htrace_diff_handles_past_the_syscall_and_win32_layers() -> None:
    a = analyze(_fixture("leak-htrace.log"))
    recs = a.leak_records
    assert [(r.kind, r.handle, r.pid) for r in recs] == [
        (LeakKind.HANDLE, 0x128, 0xF10),
        (LeakKind.HANDLE, 0x134, 0xF10),
    ]
    assert [r.call_site.display for r in recs if r.call_site] == [
        "Tally!OpenJournal+0x46",
        "Tally!Worker::Start+0x32",
    ]
    diags = [d for d in a.diagnostics if d.code == Code.LEAKED_HANDLE]
    assert diags[0].message == (
        "Leaked handle 0x128 (still open, thread 0x1a2c), opened by Tally!OpenJournal+0x46"
    )
    assert Code.LEAK_COUNT_MISMATCH not in [d.code for d in a.diagnostics]


def test_htrace_displayed_count_mismatch() -> None:
    text = (FIXTURES / "logs" / "leak-htrace.log").read_text()
    text = text.replace("Displayed 0x2 stack traces", "Displayed 0x3 stack traces")
    d = [x for x in analyze(parse_text(text)).diagnostics if x.code == Code.LEAK_COUNT_MISMATCH]
    assert [x.message for x in d] == [
        "!htrace says it displayed 3 stack traces, but the log holds 2 records"
    ]


# --------------------------------------------------------------------------- App Verifier


def _stop(session: Session, code: int, values: list[int]) -> VerifierStop:
    """A stop as the VERIFIER STOP parser records it, placed near the top of ``session``."""
    line = 3
    params = [
        VerifierStopParam(
            k + 1,
            Num(v, f"{v:08X}", Range.on_line(line + 2 + k, 1, 9)),
            Range.on_line(line + 2 + k, 1, 40),
            f"parameter {k + 1}",
        )
        for k, v in enumerate(values)
    ]
    head = Range.on_line(line, 0, 60)
    pid = Num(0x1F3C, "0x1F3C", Range.on_line(line, 28, 34))
    return VerifierStop(head, Num(code, f"{code:08X}", head), head, pid=pid, params=params)


def _leaks_with(session: Session, stop: VerifierStop) -> list[LeakRecord]:
    """The leaks of ``session`` with ``stop`` standing for its parsed stops."""
    session.verifier_stops = [stop]
    ev = gather(session)
    return find_all_leaks(session, [], ev, LogResolver(ev), AnalysisSettings(), ())


def test_heap_leak_stop_takes_the_dps_stack_and_the_heap_record() -> None:
    s = _fixture("leak-appverif-stop.log")
    stop = _stop(s, 0x900, [0x0C5A2FE8, 0x0C4D1F70, 0x0C3B0FF8, 0x6A2C0000])
    (rec,) = _leaks_with(s, stop)
    assert (rec.kind, rec.origin, rec.address, rec.pid) == (
        LeakKind.HEAP_BLOCK,
        LeakOrigin.VERIFIER_STOP,
        0xC5A2FE8,
        0x1F3C,
    )
    assert rec.stack_label == "dps"
    assert rec.call_site is not None and rec.call_site.display == "plugin!Registry::Remember+0x3d"
    assert rec.call_site_address == 0x6A2C1A3D
    labels = [r.message for r in rec.related]
    assert "allocation stack (dps of parameter 2)" in labels
    assert "!heap -p -a record for this block" in labels
    assert rec.detail == "Application Verifier stop 0x900"


def test_other_stops_are_not_leaks_and_handle_stops_find_htrace() -> None:
    s = _fixture("leak-htrace.log")
    assert stop_leak(_stop(s, 0x303, [0, 0, 0, 0]), s) is None
    (rec,) = _leaks_with(s, _stop(s, 0x901, [0x134, 0xDEAD0000, 0, 0]))[-1:]
    assert rec.kind is LeakKind.HANDLE and rec.handle == 0x134
    assert rec.stack_label == "!htrace"
    assert rec.call_site is not None and rec.call_site.display == "Tally!Worker::Start+0x32"
    key = _stop(s, 0x902, [0x2C8, 0, 0, 0])
    rec2 = stop_leak(key, s)
    assert rec2 is not None and rec2.kind is LeakKind.KEY and rec2.code == Code.LEAKED_KEY


def test_appverif_xml_entries_become_leaks() -> None:
    s = _fixture("leak-appverif.xml")
    a = analyze(s)
    assert [(r.kind, r.origin) for r in a.leak_records] == [
        (LeakKind.HEAP_BLOCK, LeakOrigin.APPVERIF_LOG),
        (LeakKind.HANDLE, LeakOrigin.APPVERIF_LOG),
    ]
    heap, handle = a.leak_records
    assert heap.call_site is not None and heap.call_site.qualified == "plugin!Registry::Remember"
    assert heap.source is not None and heap.source.short == "registry.cpp:118"
    assert handle.handle == 0x2A4 and handle.pid == 7996
    assert [d.code for d in a.diagnostics] == [Code.LEAKED_ALLOCATION, Code.LEAKED_HANDLE]


def test_appverif_stop_stack_taken_at_unload_names_no_allocating_site() -> None:
    text = (FIXTURES / "logs" / "leak-appverif.xml").read_text()
    text = text.replace(
        "<avrf:trace>ntdll!RtlAllocateHeap+23a ( @ 0)</avrf:trace>",
        "<avrf:trace>ntdll!LdrpCallInitRoutine+14 ( @ 0)</avrf:trace>",
    )
    heap = analyze(parse_text(text)).leak_records[0]
    assert heap.stack is None and heap.call_site is None
    assert "stack when the stop was reported" in [r.message for r in heap.related]


# --------------------------------------------------------------------------- bug checks


def test_bugcheck_cb_is_a_locked_pages_leak() -> None:
    a = analyze(_fixture("leak-bugcheck-cb.log"))
    (rec,) = a.leak_records
    assert (rec.kind, rec.count, rec.detail) == (LeakKind.LOCKED_PAGES, 0x26, "MDL 0x81861788")
    (d,) = [x for x in a.diagnostics if x.code == Code.LEAKED_LOCKED_PAGES]
    assert d.message == (
        "0x26 (38) pages left locked (MDL 0x81861788), locked by capdrv!CapProbeStreamIrp+0x333"
    )


def test_bugcheck_76_and_c4_60() -> None:
    text = log(
        """
        BugCheck 76, {0, 8a2c1040, 12, 0}
        BugCheck C4, {60, 200, 1f0, 5}
        Probably caused by : flakey.sys ( flakey!FlakeyUnload+0x2a )
        """
    )
    a = analyze(parse_text(text))
    kinds = sorted((r.kind.value, r.count, r.size) for r in a.leak_records)
    assert kinds == [("locked pages", 0x12, None), ("pool block", 5, 0x3F0)]
    msgs = sorted(d.message for d in a.diagnostics if d.code.startswith("leaked-"))
    assert msgs[0] == "0x12 (18) pages left locked (process 0x8a2c1040)"
    assert msgs[1].startswith("flakey.sys unloaded without freeing 0x5 (5) pool allocations")
    assert "0x200 (512) bytes paged, 0x1f0 (496) bytes nonpaged" in msgs[1]


# --------------------------------------------------------------------------- pool growth


def test_poolused_growth_per_tag() -> None:
    a = analyze(_fixture("leak-poolused.log"))
    assert [(g.tag, g.allocations, g.bytes) for g in a.pool_growth] == [
        ("Abcd", 1204, 4815360),
        ("Tkn ", 5, 1280),
    ]
    msgs = [d.message for d in a.diagnostics if d.code == Code.POOL_GROWTH]
    assert msgs == [
        "Pool tag 'Abcd' grew by 1,204 allocations / 4.6 MiB between line 8 and line 22",
        "Pool tag 'Tkn' grew by 5 allocations / 1.2 KiB between line 11 and line 25",
    ]


def test_poolused_growth_names_the_owner_the_log_printed() -> None:
    lines = (FIXTURES / "logs" / "leak-poolused.log").read_text().split("\n")
    assert lines[23].startswith(" Wdf0")
    bigger = lines[23].replace(
        "    120       100        20         8960", "    220       100       120        51200"
    )
    grown = list(lines)
    grown[23] = bigger
    a = analyze(parse_text("\n".join(grown)))
    (g,) = [x for x in a.pool_growth if x.tag == "Wdf0"]
    assert (g.allocations, g.bytes) == (100, 51200 - 8960)
    assert g.note is not None and g.note.binary == "wdfldr.sys"
    (d,) = [x for x in a.diagnostics if x.code == Code.POOL_GROWTH and "Wdf0" in x.message]
    assert d.message == (
        "Pool tag 'Wdf0' (wdfldr.sys) grew by 100 allocations / 41.2 KiB "
        "between line 10 and line 24"
    )
    # the same rows in the other order shrink: no finding
    shrunk = list(lines)
    shrunk[9] = bigger
    assert [x.tag for x in analyze(parse_text("\n".join(shrunk))).pool_growth] == ["Abcd", "Tkn "]


# --------------------------------------------------------------------------- attribution


class _Recorder:
    """A resolver that remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | None, str | None, bool]] = []

    def resolve(
        self, address: int | None, symbol: SymbolRef | None, *, return_address: bool = False
    ) -> SourceLocation | None:
        self.calls.append((address, symbol.display if symbol else None, return_address))
        return SourceLocation("c:\\src\\x.cpp", 7, Origin.SYMBOL_FILE)


def test_site_resolved_as_a_return_address_and_configured_wrappers() -> None:
    s = _fixture("leak-appverif-stop.log")
    (dump,) = s.dps_dumps
    assert dump.stack is not None
    rec = LeakRecord(LeakKind.HEAP_BLOCK, LeakOrigin.VERIFIER_STOP, Range.on_line(0, 0, 1))
    r = _Recorder()
    attribute(rec, dump.stack, AnalysisSettings(), r, Evidence())
    assert r.calls == [(0x6A2C1A3D, "plugin!Registry::Remember+0x3d", True)]
    assert rec.source is not None and rec.source.short == "x.cpp:7"
    # the user's own helper is looked past when configured
    rec2 = LeakRecord(LeakKind.HEAP_BLOCK, LeakOrigin.VERIFIER_STOP, Range.on_line(0, 0, 1))
    settings = AnalysisSettings(allocator_wrappers=("plugin!Registry::*",))
    attribute(rec2, dump.stack, settings, _Recorder(), Evidence())
    assert rec2.call_site is not None and rec2.call_site.display == "plugin!PluginInit+0x58"


def test_default_wrappers_cover_every_allocator_layer() -> None:
    settings = AnalysisSettings()
    for text in (
        "ntdll!RtlAllocateHeap",
        "ntdll!RtlpAllocateHeapInternal",
        "verifier!AVrfDebugPageHeapAllocate",
        "vfbasics!AVrfpCreateEventW",
        "ucrtbase!_malloc_base",
        "MyApp!operator new",
        "MyApp!_malloc_dbg",
        "KERNELBASE!LocalAlloc",
        "kernel32!GlobalAlloc",
        "KERNELBASE!CreateFileW",
        "kernelbase!OpenThread",
        "KERNELBASE!CreateEventW",
        "ADVAPI32!RegOpenKeyExW",
        "advapi32!RegCreateKeyExW",
        "OLEAUT32!SysAllocStringLen",
    ):
        module, _, function = text.partition("!")
        assert settings.is_wrapper(SymbolRef(text, Range.on_line(0, 0, 1), module, function)), text
    assert not settings.is_wrapper(SymbolRef("a", Range.on_line(0, 0, 1), "MyApp", "Cache::Put"))
    assert "ntdll!Rtl*Heap*" in DEFAULT_ALLOCATOR_WRAPPERS


# --------------------------------------------------------------------------- fingerprints


def test_fingerprint_survives_a_rerun_and_separates_sites() -> None:
    base = (FIXTURES / "logs" / "leak-htrace.log").read_text()
    rerun = (
        base.replace("0x00000128", "0x000001f0")
        .replace("Process ID = 0x00000f10", "Process ID = 0x00002b44")
        .replace("0x00d314f6", "0x012a14f6")
        .replace("0x00d3163b", "0x012a163b")
    )
    one = analyze(parse_text(base)).leak_records
    two = analyze(parse_text(rerun)).leak_records
    assert [r.handle for r in one] != [r.handle for r in two]
    assert [r.pid for r in one] != [r.pid for r in two]
    assert [r.fingerprint for r in one] == [r.fingerprint for r in two]
    assert one[0].fingerprint != one[1].fingerprint  # OpenJournal vs Worker::Start
    key = fingerprint_key(one[0])
    assert key == "handle|tally|openjournal|+0x46|"
    for forbidden in ("128", "f10", "1a2c", "d314f6"):
        assert forbidden not in key


def test_fingerprint_uses_source_line_and_size_class() -> None:
    def rec(size: int, line: int, offset: int) -> LeakRecord:
        r = LeakRecord(LeakKind.HEAP_BLOCK, LeakOrigin.UMDH, Range.on_line(0, 0, 1))
        r.call_site = SymbolRef("x", Range.on_line(0, 0, 1), "App", "Cache::Put", offset)
        r.source = SourceLocation("c:\\a\\cache.cpp", line, Origin.ANNOTATION)
        r.unit_size = size
        r.address = 0x1000 + size
        return r

    assert fingerprint(rec(40, 12, 0x10)) == fingerprint(rec(48, 12, 0x22))  # both <=64
    assert fingerprint(rec(40, 12, 0x10)) != fingerprint(rec(80, 12, 0x10))
    assert fingerprint(rec(40, 12, 0x10)) != fingerprint(rec(40, 13, 0x10))


# --------------------------------------------------------------------------- summary


def test_summary_groups_by_kind_and_counts_sites_across_kinds() -> None:
    heap = analyze(_fixture("leak-heap.log")).leak_records
    handles = analyze(_fixture("leak-htrace.log")).leak_records
    cb = analyze(_fixture("leak-bugcheck-cb.log")).leak_records
    assert summarize(heap + handles + cb) == (
        "7 leaks: 4 heap blocks (unreachable), 2 handles, 1 locked-page report · 4 call sites"
    )
    assert summarize([]) == "no leaks"
    assert analyze(_fixture("leak-umdh.log")).leak_summary == (
        "2 leaks: 2 heap blocks (UMDH growth) · 2 call sites"
    )


def test_pool_table_leaks_join_the_records_once() -> None:
    s = _fixture("../logs/seed-c4-62.log")
    a = analyze(s)
    pool = [r for r in a.leak_records if r.origin is LeakOrigin.POOL_TABLE]
    assert len(pool) == len(a.leaks) > 0
    assert all(r.pool_leak is not None and r.tag for r in pool)
    # leaks.py reports them; no second diagnostic per row
    assert sum(d.code == Code.LEAKED_ALLOCATION for d in a.diagnostics) == len(a.leaks)


def test_a_console_leak_stop_is_a_leak_with_its_dps_stack_not_a_verifier_error() -> None:
    """The VERIFIER STOP parser feeds the leak analysis; a leak stop is no crash-triage error."""
    session = _fixture("leak-appverif-stop.log")
    a = analyze(session)
    codes = [d.code for d in a.diagnostics]
    assert Code.VERIFIER_STOP not in codes
    (leak,) = [d for d in a.diagnostics if d.code == "leaked-allocation"]
    assert "plugin!Registry::Remember+0x3d" in leak.message
    assert leak.range.start.line == 3  # the VERIFIER STOP line
