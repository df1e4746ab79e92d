"""Every kind of leak a Windows debugger log can show, as one kind of record.

Driver Verifier's pool tables (``leaks.py``) are one source of leaks. A log
can hold many others: unreachable heap blocks (``!heap -l``), heap growth
between two UMDH snapshots, CRT debug-heap dumps, handles still open after
``!htrace -diff``, Application Verifier leak stops (in the console or in its
XML log), and bug checks that report resources left behind (0xCB and 0x76
locked pages, 0xC4 with Arg1 0x60/0x61 pool). Each becomes a ``LeakRecord``
with its kind, size or handle, tag or heap, the stack that allocated it when
the log has one, and the first frame of that stack that is the user's code:
allocator layers (the heap, page heap, Application Verifier, the C runtime,
the Win32 allocation and handle APIs, the configured wrappers) are looked
past. Return addresses are resolved through the resolver chain as return
addresses (one byte earlier), like the pool leaks' callers.

Each record also gets a fingerprint built only from what survives a rerun
(kind, module, function and offset or source line, tag or size class), so a
leak can be recognised in the next log although its addresses differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import pairwise

from ..model import (
    AppVerifierEntry,
    CrtLeakBlock,
    DpsDump,
    Frame,
    HandleTrace,
    HeapBlockInfo,
    HeapLeakRow,
    PoolTagNote,
    PoolUsage,
    Range,
    Session,
    SourceRef,
    Stack,
    SymbolRef,
    UmdhRecord,
    VerifierStop,
)
from ..numbers import canonical_address, normalize_module, split_symbol
from .bugchecks import BugCheckCase
from .diagnostics import Code, Diagnostic, Related, Severity
from .evidence import Evidence, Origin, SourceLocation, add_stack
from .leaks import Leak
from .resolve import Resolver
from .settings import AnalysisSettings

# --------------------------------------------------------------------------- kinds


class LeakKind(str, Enum):
    HEAP_BLOCK = "heap block"
    POOL_BLOCK = "pool block"
    HANDLE = "handle"
    KEY = "registry key"
    RESERVATION = "virtual reservation"
    BSTR = "BSTR"
    COM_OBJECT = "COM allocation"
    POWER_NOTIFICATION = "power notification"
    LOCKED_PAGES = "locked pages"


class LeakOrigin(str, Enum):
    """Which evidence showed the leak."""

    HEAP_SCAN = "!heap -l"
    UMDH = "umdh"
    CRT = "crt"
    HTRACE = "!htrace -diff"
    VERIFIER_STOP = "verifier stop"
    APPVERIF_LOG = "appverif log"
    BUGCHECK = "bug check"
    POOL_TABLE = "pool table"


#: The diagnostic code of each kind (documented with the codes in ``diagnostics.Code``).
KIND_CODES: dict[LeakKind, str] = {
    LeakKind.HEAP_BLOCK: Code.LEAKED_ALLOCATION,
    LeakKind.POOL_BLOCK: Code.LEAKED_ALLOCATION,
    LeakKind.HANDLE: Code.LEAKED_HANDLE,
    LeakKind.POWER_NOTIFICATION: Code.LEAKED_HANDLE,
    LeakKind.KEY: Code.LEAKED_KEY,
    LeakKind.RESERVATION: Code.LEAKED_RESERVATION,
    LeakKind.BSTR: Code.LEAKED_BSTR,
    LeakKind.COM_OBJECT: Code.LEAKED_COM_OBJECT,
    LeakKind.LOCKED_PAGES: Code.LEAKED_LOCKED_PAGES,
}

#: Application Verifier's leak-layer stops and the resource each one reports.
VERIFIER_LEAK_STOPS: dict[int, LeakKind] = {
    0x900: LeakKind.HEAP_BLOCK,
    0x901: LeakKind.HANDLE,
    0x902: LeakKind.KEY,
    0x903: LeakKind.RESERVATION,
    0x904: LeakKind.BSTR,
    0x905: LeakKind.POWER_NOTIFICATION,
    0x906: LeakKind.COM_OBJECT,
}

BUGCHECK_LOCKED_PAGES_IN_PROCESS = 0xCB  # DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS
BUGCHECK_PROCESS_HAS_LOCKED_PAGES = 0x76  # PROCESS_HAS_LOCKED_PAGES
BUGCHECK_VERIFIER = 0xC4
#: 0xC4 subcodes for pool left allocated at unload (paged bytes, nonpaged bytes, count).
C4_POOL_AT_UNLOAD = (0x60, 0x61)

#: Frames of the loader unloading a DLL: a stop stack holding one was captured
#: when the leak was found (the owner unloaded), not when it was allocated.
_UNLOAD_FRAMES = ("ldrunloaddll", "ldrpcallinitroutine", "freelibrary", "ldrshutdownprocess")


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class LeakRecord:
    """One leaked resource, whatever showed it."""

    kind: LeakKind
    origin: LeakOrigin
    range: Range  # the row or line the finding is reported on
    size: int | None = None  # bytes (total for a record that counts many allocations)
    unit_size: int | None = None  # bytes of one allocation, when known
    count: int | None = None  # allocations (UMDH growth, 0xC4/0x60 count) or pages
    handle: int | None = None  # handle or HKEY value
    address: int | None = None
    tag: str | None = None
    heap: int | None = None
    pid: int | None = None
    stack: Stack | None = None  # the allocating stack, when the log has one
    stack_label: str = ""  # where the stack was read (``!heap -p -a``, ``dps``...)
    frame: Frame | None = None  # the first frame outside the allocator layers
    call_site: SymbolRef | None = None
    call_site_address: int | None = None
    source: SourceLocation | None = None
    owner: str | None = None  # a driver or DLL named by the evidence itself
    qualifier: str = ""  # ``unreachable``, ``grew``...
    count_grew: bool = False  # ``count`` is the growth, not the total (UMDH count lines)
    detail: str = ""  # the rest of the message (``BackTrace4A21C``, ``MDL 0x...``)
    related: list[Related] = field(default_factory=list)
    pool_leak: Leak | None = None  # a Driver Verifier table row (reported by leaks.py)
    fingerprint: str = ""

    @property
    def code(self) -> str:
        return KIND_CODES[self.kind]

    @property
    def call_site_label(self) -> str:
        if self.call_site is not None:
            return self.call_site.display
        if self.call_site_address is not None:
            return f"0x{self.call_site_address:x}"
        return ""

    @property
    def group_key(self) -> str:
        """``module!function`` of the allocating site (case-folded), else the address or ``?``."""
        cs = self.call_site
        if cs is not None and cs.function:
            module = normalize_module(cs.module) if cs.module else ""
            return f"{module}!{cs.function}".lower()
        if self.source is not None:
            return f"{self.source.file_name}:{self.source.line}".lower()
        if cs is not None and cs.module:
            return normalize_module(cs.module)
        if self.call_site_address is not None:
            return f"0x{self.call_site_address:x}"
        return "?"


# --------------------------------------------------------------------------- App Verifier stops


# --------------------------------------------------------------------------- attribution


def _is_layer(sym: SymbolRef | None, settings: AnalysisSettings, handles: bool) -> bool:
    if sym is None:
        return False
    return settings.is_wrapper(sym) or (handles and settings.is_handle_layer(sym))


def _location(frame: Frame) -> SourceLocation | None:
    src = frame.source
    if src is None:
        return None
    return _printed(src, frame.symbol)


def _printed(src: SourceRef, sym: SymbolRef | None) -> SourceLocation:
    return SourceLocation(
        path=src.path,
        line=src.line,
        origin=Origin.ANNOTATION,
        evidence=src.range,
        function=sym.display if sym is not None else None,
    )


def attribute(
    rec: LeakRecord,
    stack: Stack | None,
    settings: AnalysisSettings,
    resolver: Resolver,
    evidence: Evidence,
) -> None:
    """Set ``rec``'s allocating frame, call site and source line from ``stack``.

    The site is the first frame that is not an allocator layer. Frames with
    neither symbol nor address are skipped; a frame with an address only
    (an unnamed kernel address, a raw UMDH trace) is kept only when no named
    frame follows.
    """
    if stack is None or not stack.frames:
        return
    handles = rec.kind in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION)
    chosen: Frame | None = None
    unnamed: Frame | None = None
    for fr in stack.frames:
        if fr.symbol is None:
            if fr.address is not None and unnamed is None:
                unnamed = fr
            continue
        if _is_layer(fr.symbol, settings, handles):
            continue
        if not fr.symbol.module and not fr.symbol.function:
            continue
        chosen = fr
        break
    if chosen is None:
        chosen = unnamed
    if chosen is None:
        return
    rec.frame = chosen
    rec.call_site = chosen.symbol
    address = canonical_address(chosen.address.value) if chosen.address is not None else None
    rec.call_site_address = address
    named = chosen.symbol
    if named is not None and named.function == "???":
        named = None  # UMDH's ``module!???+0``: only the address means anything
    if address is not None and named is not None and (named.function or named.offset):
        evidence.address_symbol.setdefault(address, named)
    rec.source = _location(chosen)
    if rec.source is None:
        rec.source = resolver.resolve(address, named, return_address=True)
        if rec.source is not None and rec.call_site is None and rec.source.function:
            module, function, offset = split_symbol(rec.source.function)
            if function is not None:
                rec.call_site = SymbolRef(
                    rec.source.function, chosen.range, module, function, offset
                )


# --------------------------------------------------------------------------- evidence index


class _Blocks:
    """``!heap -p -a`` records, looked up by any address inside their block."""

    def __init__(self, blocks: Sequence[HeapBlockInfo]) -> None:
        self.blocks = [b for b in blocks if b.stack is not None or b.user_address is not None]

    def find(self, address: int) -> HeapBlockInfo | None:
        a = canonical_address(address)
        best: HeapBlockInfo | None = None
        for b in self.blocks:
            hit = b.holds(a) or (b.block is not None and canonical_address(b.block.value) == a)
            if hit and (best is None or (best.stack is None and b.stack is not None)):
                best = b
        return best


def _link_block(rec: LeakRecord, blocks: _Blocks, *addresses: int | None) -> HeapBlockInfo | None:
    for a in addresses:
        if a is None:
            continue
        info = blocks.find(a)
        if info is not None:
            rec.related.append(Related(info.range, "!heap -p -a record for this block"))
            if info.stack is not None and rec.stack is None:
                rec.stack = info.stack
                rec.stack_label = "!heap -p -a"
            return info
    return None


# --------------------------------------------------------------------------- finders


def _heap_scan_leaks(session: Session, blocks: _Blocks) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for scan in session.heap_leak_scans:
        for row in scan.rows:
            out.append(_heap_row_leak(row, blocks))
    return out


def _heap_row_leak(row: HeapLeakRow, blocks: _Blocks) -> LeakRecord:
    rec = LeakRecord(
        kind=LeakKind.HEAP_BLOCK,
        origin=LeakOrigin.HEAP_SCAN,
        range=row.range,
        size=row.user_size,
        unit_size=row.user_size,
        address=canonical_address(row.user.value),
        heap=row.heap.value,
        qualifier="unreachable",
    )
    info = _link_block(rec, blocks, row.user.value, row.entry.value)
    if info is not None and info.user_size is not None:
        rec.size = rec.unit_size = info.user_size.value
    return rec


def _umdh_leaks(session: Session) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for r in session.umdh:
        if not r.comparison or r.delta is None or r.delta <= 0:
            continue
        out.append(_umdh_leak(r))
    return out


def _umdh_leak(r: UmdhRecord) -> LeakRecord:
    new_count = r.count
    grew = None
    if r.old_count is not None and new_count is not None:
        grew = new_count - r.old_count
    unit = None
    if r.bytes and new_count:
        unit = r.bytes // new_count
    rec = LeakRecord(
        kind=LeakKind.HEAP_BLOCK,
        origin=LeakOrigin.UMDH,
        range=_first_line(r),
        size=r.delta,
        unit_size=unit,
        count=grew if grew is not None else new_count,
        count_grew=grew is not None,
        stack=r.stack,
        stack_label="UMDH trace",
        qualifier="grew",
        detail=r.backtrace,
    )
    rec.related.append(Related(r.backtrace_range, f"UMDH trace {r.backtrace}"))
    return rec


def _first_line(r: UmdhRecord) -> Range:
    """The record's first line (the ``+ delta ( new - old )`` line)."""
    end = r.backtrace_range.end
    return Range(r.range.start, end)


def _crt_leaks(session: Session, blocks: _Blocks) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for report in session.crt_leaks:
        for b in report.blocks:
            out.append(_crt_leak(b, blocks))
    return out


def _crt_leak(b: CrtLeakBlock, blocks: _Blocks) -> LeakRecord:
    rec = LeakRecord(
        kind=LeakKind.HEAP_BLOCK,
        origin=LeakOrigin.CRT,
        range=Range(b.range.start, b.size.range.end),
        size=b.size.value,
        unit_size=b.size.value,
        address=canonical_address(b.address.value),
        qualifier=f"CRT {b.kind} block",
        detail=f"{{{b.number.value}}}",
    )
    _link_block(rec, blocks, b.address.value)
    return rec


def _htrace_leaks(session: Session) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for report in session.handle_traces:
        if not report.diff:
            continue
        for t in report.records:
            if t.op != "OPEN":
                continue
            out.append(_handle_leak(t))
    return out


def _handle_leak(t: HandleTrace) -> LeakRecord:
    rec = LeakRecord(
        kind=LeakKind.HANDLE,
        origin=LeakOrigin.HTRACE,
        range=Range(t.range.start, t.op_range.end),
        handle=t.handle.value,
        pid=t.process.value if t.process is not None else None,
        stack=t.stack,
        stack_label="!htrace",
        qualifier="still open",
    )
    if t.thread is not None:
        rec.detail = f"thread 0x{t.thread.value:x}"
    return rec


def _dps_for(dumps: Sequence[DpsDump], address: int | None, after: int) -> DpsDump | None:
    if address is None:
        return None
    a = canonical_address(address)
    best: DpsDump | None = None
    for d in dumps:
        if d.query is None or canonical_address(d.query.value) != a or d.stack is None:
            continue
        if best is None or (best.range.start.line < after <= d.range.start.line):
            best = d
    return best


def stop_leak(
    stop: VerifierStop,
    session: Session,
    blocks: _Blocks | None = None,
) -> LeakRecord | None:
    """The leak an Application Verifier stop 0x900-0x906 reports (None for other stops).

    Parameter 1 is the leaked resource (address, handle or key), parameter 2
    the address of its saved allocation stack (shown by ``dps`` if the user
    ran it), parameter 4 the base of the DLL that owned it.
    """
    code = stop.code.value
    if code not in VERIFIER_LEAK_STOPS:
        return None
    kind = VERIFIER_LEAK_STOPS[code]
    first, second, fourth = stop.param(1), stop.param(2), stop.param(4)
    p1 = first.value.value if first is not None else None
    p2 = second.value.value if second is not None else None
    p4 = fourth.value.value if fourth is not None else None
    rec = LeakRecord(
        kind=kind,
        origin=LeakOrigin.VERIFIER_STOP,
        range=stop.range,
        pid=stop.pid.value if stop.pid is not None else None,
        detail=f"Application Verifier stop 0x{code:X}",
    )
    if kind in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION):
        rec.handle = p1
    else:
        rec.address = canonical_address(p1) if p1 is not None else None
    if first is not None:
        rec.related.append(Related(first.value.range, "the leaked resource (parameter 1)"))
    dump = _dps_for(session.dps_dumps, p2, stop.range.start.line)
    if dump is not None and dump.stack is not None:
        rec.stack = dump.stack
        rec.stack_label = "dps"
        rec.related.append(Related(dump.range, "allocation stack (dps of parameter 2)"))
    if kind is LeakKind.HEAP_BLOCK and p1 is not None:
        _link_block(rec, blocks or _Blocks(session.heap_blocks), p1)
    if rec.stack is None and rec.handle is not None:
        _link_handle_trace(rec, session)
    if p4 is not None:
        rec.owner = _module_at(session, p4)
    return rec


def _link_handle_trace(rec: LeakRecord, session: Session) -> None:
    """The newest ``OPEN`` trace of the same handle value, when ``!htrace`` was run."""
    for report in session.handle_traces:
        for t in report.records:
            if t.op == "OPEN" and t.handle.value == rec.handle and t.stack is not None:
                rec.stack = t.stack
                rec.stack_label = "!htrace"
                rec.related.append(Related(t.range, "!htrace record of this handle"))


def _module_at(session: Session, base: int) -> str | None:
    for m in session.modules:
        if m.start is not None and canonical_address(m.start.value) == canonical_address(base):
            return m.name
    return None


def _is_unload_stack(stack: Stack) -> bool:
    for fr in stack.frames:
        fn = (fr.symbol.function or "").lower() if fr.symbol is not None else ""
        if any(u in fn for u in _UNLOAD_FRAMES):
            return True
    return False


def _appverif_leaks(session: Session) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for e in session.appverif_entries:
        rec = _appverif_leak(e)
        if rec is not None:
            out.append(rec)
    return out


def _appverif_leak(e: AppVerifierEntry) -> LeakRecord | None:
    if e.stop_code is None or e.stop_code.value not in VERIFIER_LEAK_STOPS:
        return None
    code = e.stop_code.value
    kind = VERIFIER_LEAK_STOPS[code]
    p1 = e.param(1)
    value = p1.value.value if p1 is not None and p1.value is not None else None
    where = e.message_range or (e.stop_code.range if e.stop_code is not None else e.range)
    rec = LeakRecord(
        kind=kind,
        origin=LeakOrigin.APPVERIF_LOG,
        range=where,
        pid=e.pid.value if e.pid is not None else None,
        detail=f"Application Verifier stop 0x{code:X}",
    )
    if kind in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION):
        rec.handle = value
    else:
        rec.address = value
    if p1 is not None:
        rec.related.append(Related(p1.range, "the leaked resource (parameter 1)"))
    if e.stack is not None:
        if _is_unload_stack(e.stack):
            # captured when the owner unloaded: it says who leaked, not where
            rec.related.append(Related(e.stack.range, "stack when the stop was reported"))
        else:
            rec.stack = e.stack
            rec.stack_label = "App Verifier log"
    return rec


def _bugcheck_leaks(cases: Sequence[BugCheckCase], evidence: Evidence) -> list[LeakRecord]:
    out: list[LeakRecord] = []
    for case in cases:
        if case.code == BUGCHECK_LOCKED_PAGES_IN_PROCESS:
            rec = LeakRecord(
                kind=LeakKind.LOCKED_PAGES,
                origin=LeakOrigin.BUGCHECK,
                range=case.range,
                count=case.arg(4),
                detail=_mdl(case.arg(3)),
            )
            sym = _case_symbol(case)
            caller = case.arg(1)
            if sym is None and caller is not None:
                sym = evidence.symbol_at(caller)
            rec.call_site = sym
            rec.call_site_address = caller
            out.append(rec)
        elif case.code == BUGCHECK_PROCESS_HAS_LOCKED_PAGES:
            rec = LeakRecord(
                kind=LeakKind.LOCKED_PAGES,
                origin=LeakOrigin.BUGCHECK,
                range=case.range,
                count=case.arg(3),
                detail=f"process 0x{case.arg(2):x}" if case.arg(2) is not None else "",
            )
            rec.call_site = _case_symbol(case)
            out.append(rec)
        elif case.code == BUGCHECK_VERIFIER and case.arg(1) in C4_POOL_AT_UNLOAD:
            paged, nonpaged = case.arg(2), case.arg(3)
            known = paged is not None or nonpaged is not None
            total = (paged or 0) + (nonpaged or 0) if known else None
            rec = LeakRecord(
                kind=LeakKind.POOL_BLOCK,
                origin=LeakOrigin.BUGCHECK,
                range=case.range,
                size=total,
                count=case.arg(4),
                detail=_pool_split(paged, nonpaged),
            )
            names = case.driver_names()
            rec.owner = names[0] if names else None
            rec.call_site = _case_symbol(case)
            out.append(rec)
    return out


def _case_symbol(case: BugCheckCase) -> SymbolRef | None:
    for b in case.occurrences:
        if b.symbol is not None:
            return b.symbol
    return None


def _mdl(value: int | None) -> str:
    return f"MDL 0x{value:x}" if value is not None else ""


def _pool_split(paged: int | None, nonpaged: int | None) -> str:
    parts = []
    if paged is not None:
        parts.append(f"0x{paged:x} ({paged:,}) bytes paged")
    if nonpaged is not None:
        parts.append(f"0x{nonpaged:x} ({nonpaged:,}) bytes nonpaged")
    return ", ".join(parts)


def _pool_table_leak(leak: Leak) -> LeakRecord:
    """A Driver Verifier table row as a general record (its diagnostic comes from leaks.py)."""
    return LeakRecord(
        kind=LeakKind.POOL_BLOCK,
        origin=LeakOrigin.POOL_TABLE,
        range=leak.allocation.range,
        size=leak.size,
        unit_size=leak.size,
        address=leak.address,
        tag=leak.tag,
        stack=leak.record.stack if leak.record is not None else None,
        frame=leak.frame,
        call_site=leak.call_site,
        call_site_address=leak.call_site_address,
        source=leak.source,
        owner=leak.driver.name,
        pool_leak=leak,
    )


def find_all_leaks(
    session: Session,
    cases: Sequence[BugCheckCase],
    evidence: Evidence,
    resolver: Resolver,
    settings: AnalysisSettings,
    pool_leaks: Sequence[Leak] = (),
) -> list[LeakRecord]:
    """Every leak the session shows, in log order, each attributed and fingerprinted."""
    blocks = _Blocks(session.heap_blocks)
    records: list[LeakRecord] = [_pool_table_leak(leak) for leak in pool_leaks]
    records += _heap_scan_leaks(session, blocks)
    records += _umdh_leaks(session)
    records += _crt_leaks(session, blocks)
    records += _htrace_leaks(session)
    for stop in session.verifier_stops:
        rec = stop_leak(stop, session, blocks)
        if rec is not None:
            records.append(rec)
    records += _appverif_leaks(session)
    records += _bugcheck_leaks(cases, evidence)
    for rec in records:
        if rec.pool_leak is None and rec.stack is not None:
            add_stack(evidence, rec.stack)
    for rec in records:
        if rec.pool_leak is None and rec.stack is not None:
            attribute(rec, rec.stack, settings, resolver, evidence)
        elif rec.origin is LeakOrigin.CRT:
            _crt_source(rec, session)
        elif rec.origin is LeakOrigin.BUGCHECK and rec.call_site_address is not None:
            rec.source = resolver.resolve(
                rec.call_site_address, rec.call_site, return_address=False
            )
        if rec.origin is LeakOrigin.CRT and rec.source is None:
            _crt_source(rec, session)
        rec.fingerprint = fingerprint(rec)
    records.sort(key=lambda r: (r.range.start.line, r.range.start.character))
    return records


def _crt_source(rec: LeakRecord, session: Session) -> None:
    """The ``path(line) :`` prefix of a CRT block line is the allocating source line."""
    for report in session.crt_leaks:
        for b in report.blocks:
            if b.range.start == rec.range.start and b.source is not None:
                rec.source = _printed(b.source, None)
                return


# --------------------------------------------------------------------------- fingerprints


def _size_class(n: int | None) -> str:
    """Sizes in powers of two (``<=64``): a rebuilt program may round differently."""
    if n is None or n <= 0:
        return ""
    return f"<={1 << (n - 1).bit_length()}"


def fingerprint_key(rec: LeakRecord) -> str:
    """The readable text a fingerprint is hashed from: only facts that survive a rerun.

    Kind, the allocating module and function, then the source file and line
    when known (else the offset in the function), then the pool tag or the
    size class. Never an address, a process id, a handle value or a time.
    """
    cs = rec.call_site
    module = ""
    function = ""
    where = ""
    if cs is not None:
        module = normalize_module(cs.module) if cs.module else ""
        function = (cs.function or "").lower()
        if function == "???":
            function = ""
        if cs.offset is not None and cs.function and function:
            where = f"+0x{cs.offset:x}"
        elif cs.offset is not None and not cs.function:
            where = f"+0x{cs.offset:x}"  # ``module+0xoff``: stable within one build
    if not module and rec.owner:
        module = normalize_module(rec.owner)
    if rec.source is not None:
        where = f"{rec.source.file_name.lower()}:{rec.source.line}"
    if rec.tag is not None:
        extra = f"tag={rec.tag}"
    elif rec.kind in (LeakKind.HEAP_BLOCK, LeakKind.BSTR, LeakKind.COM_OBJECT):
        extra = f"size{_size_class(rec.unit_size if rec.unit_size is not None else rec.size)}"
    else:
        extra = ""
    return "|".join((rec.kind.name.lower(), module, function, where, extra))


def fingerprint(rec: LeakRecord) -> str:
    """A stable 16-hex-digit identity for ``rec`` (see ``fingerprint_key``)."""
    return hashlib.sha256(fingerprint_key(rec).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- diagnostics


def _size(n: int) -> str:
    return f"0x{n:x} ({n:,}) bytes" if n != 1 else "0x1 (1) byte"


def _what(rec: LeakRecord) -> str:
    """The first words of the message: which resource, how much."""
    k = rec.kind
    if k is LeakKind.LOCKED_PAGES:
        n = rec.count
        pages = f"0x{n:x} ({n:,}) pages" if n is not None else "Pages"
        return f"{pages} left locked" if n is not None else "Pages left locked"
    if k is LeakKind.POOL_BLOCK and rec.origin is LeakOrigin.BUGCHECK:
        who = rec.owner or "A driver"
        n = rec.count
        what = f"0x{n:x} ({n:,}) pool allocations" if n is not None else "pool allocations"
        return f"{who} unloaded without freeing {what}"
    if k in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION):
        label = {
            LeakKind.HANDLE: "handle",
            LeakKind.KEY: "registry key handle",
            LeakKind.POWER_NOTIFICATION: "power notification handle",
        }[k]
        value = f" 0x{rec.handle:x}" if rec.handle is not None else ""
        return f"Leaked {label}{value}"
    if rec.origin is LeakOrigin.UMDH:
        size = _size(rec.size) if rec.size is not None else "memory"
        n = rec.count
        more = " more" if rec.count_grew else ""
        count = f" in {n:,}{more} allocation{'s' if n != 1 else ''}" if n is not None else ""
        return f"Heap grew by {size}{count}"
    noun = {
        LeakKind.HEAP_BLOCK: "heap block",
        LeakKind.POOL_BLOCK: "pool block",
        LeakKind.RESERVATION: "virtual reservation",
        LeakKind.BSTR: "BSTR",
        LeakKind.COM_OBJECT: "COM allocation",
    }.get(k, k.value)
    if rec.origin is LeakOrigin.CRT:
        noun = rec.qualifier
    elif rec.qualifier:
        noun = f"{noun} ({rec.qualifier})"
    size = f" of {_size(rec.size)}" if rec.size is not None else ""
    at = f" at 0x{rec.address:x}" if rec.address is not None else ""
    return f"Leaked {noun}{size}{at}"


def leak_message(rec: LeakRecord) -> str:
    """``Leaked heap block (unreachable) of 0x30 (48) bytes at 0x52a4d8 in heap 0x520000, ...``."""
    parts = [_what(rec)]
    if rec.heap is not None:
        parts[0] += f" in heap 0x{rec.heap:x}"
    if rec.tag is not None:
        parts[0] += f", tag '{rec.tag}'"
    notes = [rec.detail] if rec.detail else []
    if rec.qualifier and rec.kind in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION):
        notes.insert(0, rec.qualifier)
    if notes:
        parts[0] += f" ({', '.join(notes)})"
    site = rec.call_site_label
    verb = "locked by" if rec.kind is LeakKind.LOCKED_PAGES else "allocated by"
    if rec.kind in (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION):
        verb = "opened by"
    if site:
        where = f" at {rec.source.short}" if rec.source is not None else ""
        parts.append(f"{verb} {site}{where}")
    elif rec.source is not None:
        parts.append(f"{verb} {rec.source.short}")
    elif rec.owner and rec.origin is not LeakOrigin.BUGCHECK:
        parts.append(f"owned by {rec.owner}")
    hint = _next_step(rec)
    message = ", ".join(parts)
    return f"{message}; {hint}" if hint else message


def _next_step(rec: LeakRecord) -> str:
    """The command that would show the allocating stack, when the log lacks it."""
    if rec.stack is not None or rec.origin in (LeakOrigin.BUGCHECK, LeakOrigin.UMDH):
        return ""
    if rec.origin is LeakOrigin.HEAP_SCAN and rec.address is not None:
        return f"'!heap -p -a 0x{rec.address:x}' shows its allocation stack (needs gflags +ust)"
    if rec.origin is LeakOrigin.CRT and rec.detail:
        n = rec.detail.strip("{}")
        return f"'_CrtSetBreakAlloc({n})' stops at this allocation on the next run"
    return ""


def leak_record_diagnostics(records: Sequence[LeakRecord]) -> list[Diagnostic]:
    """One ``leaked-*`` diagnostic per record (pool-table rows are reported by leaks.py)."""
    out: list[Diagnostic] = []
    for rec in records:
        if rec.pool_leak is not None:
            continue
        related = list(rec.related)
        if rec.stack is not None:
            label = f"allocation stack ({rec.stack_label})" if rec.stack_label else "stack"
            related.insert(0, Related(rec.stack.range, label))
        if rec.frame is not None:
            related.append(Related(rec.frame.range, "first frame outside the allocator layers"))
        if rec.source is not None and rec.source.evidence is not None:
            related.append(Related(rec.source.evidence, f"source line {rec.source.short}"))
        data: dict[str, object] = {
            "kind": rec.kind.value,
            "origin": rec.origin.value,
            "fingerprint": rec.fingerprint,
        }
        for key, value in (
            ("size", rec.size),
            ("count", rec.count),
            ("tag", rec.tag),
            ("owner", rec.owner),
            ("pid", rec.pid),
        ):
            if value is not None:
                data[key] = value
        for key, num in (
            ("address", rec.address),
            ("handle", rec.handle),
            ("heap", rec.heap),
            ("caller", rec.call_site_address),
        ):
            if num is not None:
                data[key] = f"0x{num:x}"
        if rec.source is not None:
            data["source"] = {"path": rec.source.path, "line": rec.source.line}
        if rec.origin is LeakOrigin.HEAP_SCAN and rec.stack is None and rec.address is not None:
            data["command"] = f"!heap -p -a 0x{rec.address:x}"
        out.append(
            Diagnostic(
                range=rec.range,
                severity=Severity.WARNING,
                code=rec.code,
                message=leak_message(rec),
                related=tuple(related),
                data=data,
            )
        )
    return out


# --------------------------------------------------------------------------- cross-checks


def _n(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def cross_checks(session: Session) -> list[Diagnostic]:
    """Counts the log prints against the records it shows (``!heap -l``, UMDH, ``!htrace``)."""
    out: list[Diagnostic] = []
    for scan in session.heap_leak_scans:
        if scan.count is None or scan.count_range is None:
            continue
        shown = len(scan.rows)
        found = scan.count.value
        note = (Related(scan.range, "the !heap -l output"),)
        if found > shown:
            cut = " (cut with '...')" if scan.truncated else ""
            out.append(
                Diagnostic(
                    scan.count_range,
                    Severity.INFORMATION,
                    Code.LEAK_LISTING_INCOMPLETE,
                    f"{_n(shown, 'row')} shown{cut}, the debugger found {found:,}: "
                    f"the table is not the whole list",
                    note,
                    data={"shown": shown, "found": found},
                )
            )
        elif found < shown:
            out.append(
                Diagnostic(
                    scan.count_range,
                    Severity.WARNING,
                    Code.LEAK_COUNT_MISMATCH,
                    f"The debugger reports {found:,} potential unreachable blocks, "
                    f"but the table shows {_n(shown, 'row')}",
                    note,
                    data={"shown": shown, "found": found},
                )
            )
    out += _umdh_checks(session)
    for report in session.handle_traces:
        if report.displayed is None or report.displayed_range is None:
            continue
        shown = len(report.records)
        said = report.displayed.value
        if said != shown:
            out.append(
                Diagnostic(
                    report.displayed_range,
                    Severity.WARNING,
                    Code.LEAK_COUNT_MISMATCH,
                    f"!htrace says it displayed {said:,} stack traces, "
                    f"but the log holds {_n(shown, 'record')}",
                    (Related(report.range, "the !htrace output"),),
                    data={"shown": shown, "found": said},
                )
            )
    return out


def _umdh_checks(session: Session) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    totals = sorted(session.umdh_totals, key=lambda t: t.range.start.line)
    prev = -1
    for t in totals:
        line = t.range.start.line
        recs = [
            r
            for r in session.umdh
            if r.comparison and r.delta is not None and prev < r.range.start.line < line
        ]
        prev = line
        if not recs:
            continue
        net = sum(r.delta or 0 for r in recs)
        said = t.value.value if t.increase else -t.value.value
        if net == said:
            continue
        word = "increase" if t.increase else "decrease"
        out.append(
            Diagnostic(
                t.value.range,
                Severity.WARNING,
                Code.LEAK_BYTES_MISMATCH,
                f"UMDH reports a total {word} of {_size(t.value.value)}, but the "
                f"{_n(len(recs), 'record')} listed add up to {_signed(net)}: "
                f"some records are not shown",
                (Related(t.range, "UMDH total"),),
                data={"total": said, "listed": net},
            )
        )
    return out


def _signed(n: int) -> str:
    return _size(n) if n >= 0 else f"-{_size(-n)}"


# --------------------------------------------------------------------------- pool growth


@dataclass(slots=True)
class PoolGrowth:
    """One tag's growth between two ``!poolused`` snapshots of the same log."""

    tag: str
    before: PoolUsage
    after: PoolUsage
    allocations: int  # outstanding allocations added (nonpaged + paged)
    bytes: int
    note: PoolTagNote | None = None


def _outstanding(u: PoolUsage) -> int:
    """Allocations still held: ``Diff`` in the eight-column layout, ``Allocs`` in the older one."""
    if u.nonpaged_diff is not None and u.paged_diff is not None:
        return u.nonpaged_diff + u.paged_diff
    return u.nonpaged_allocs + u.paged_allocs


def pool_growth(session: Session) -> list[PoolGrowth]:
    """Tags whose outstanding allocations and bytes both grew from one snapshot to the next."""
    notes: dict[str, PoolTagNote] = {}
    for n in session.pool_tag_notes:
        notes.setdefault(n.tag.rstrip().lower(), n)
    out: list[PoolGrowth] = []
    snaps = [s for s in session.poolused_snapshots if s.rows]
    for before, after in pairwise(snaps):
        old = {r.tag: r for r in before.rows}
        for row in after.rows:
            prev = old.get(row.tag)
            if prev is None:
                continue
            grew = _outstanding(row) - _outstanding(prev)
            delta = (row.nonpaged_bytes + row.paged_bytes) - (
                prev.nonpaged_bytes + prev.paged_bytes
            )
            if grew > 0 and delta > 0:
                out.append(
                    PoolGrowth(row.tag, prev, row, grew, delta, notes.get(row.tag.rstrip().lower()))
                )
    return out


def _human(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"


def pool_growth_diagnostics(growth: Sequence[PoolGrowth]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for g in growth:
        a = g.before.range.start.line + 1
        b = g.after.range.start.line + 1
        owner = ""
        if g.note is not None:
            owner = f" ({g.note.binary or g.note.description})"
        out.append(
            Diagnostic(
                g.after.range,
                Severity.WARNING,
                Code.POOL_GROWTH,
                f"Pool tag '{g.tag.rstrip()}'{owner} grew by {_n(g.allocations, 'allocation')} / "
                f"{_human(g.bytes)} between line {a:,} and line {b:,}",
                (Related(g.before.range, f"earlier !poolused row (line {a:,})"),),
                data={"tag": g.tag, "allocations": g.allocations, "bytes": g.bytes},
            )
        )
    return out


# --------------------------------------------------------------------------- summary

_PLURAL = {
    LeakKind.HEAP_BLOCK: "heap blocks",
    LeakKind.POOL_BLOCK: "pool blocks",
    LeakKind.HANDLE: "handles",
    LeakKind.KEY: "registry keys",
    LeakKind.RESERVATION: "virtual reservations",
    LeakKind.BSTR: "BSTRs",
    LeakKind.COM_OBJECT: "COM allocations",
    LeakKind.POWER_NOTIFICATION: "power notifications",
    LeakKind.LOCKED_PAGES: "locked-page reports",
}

_ORIGIN_NOTE = {
    LeakOrigin.HEAP_SCAN: "unreachable",
    LeakOrigin.UMDH: "UMDH growth",
    LeakOrigin.CRT: "CRT debug heap",
}


def _label(kind: LeakKind, origin: LeakOrigin, n: int) -> str:
    word = _PLURAL[kind]
    if n == 1:
        word = {"BSTRs": "BSTR"}.get(word, word[:-1] if word.endswith("s") else word)
        if kind is LeakKind.LOCKED_PAGES:
            word = "locked-page report"
    note = _ORIGIN_NOTE.get(origin)
    return f"{n:,} {word} ({note})" if note else f"{n:,} {word}"


def summarize(records: Sequence[LeakRecord]) -> str:
    """``12 leaks: 8 heap blocks (unreachable), 3 handles, 1 pool block · 2 call sites``.

    Kinds are listed by count (largest first); call sites are the distinct
    allocating functions across all kinds (records without one do not count).
    """
    if not records:
        return "no leaks"
    counts: dict[tuple[LeakKind, LeakOrigin], int] = {}
    for r in records:
        origin = r.origin if r.origin in _ORIGIN_NOTE else LeakOrigin.POOL_TABLE
        counts[(r.kind, origin)] = counts.get((r.kind, origin), 0) + 1
    parts = [
        _label(k, o, n)
        for (k, o), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0].value))
    ]
    sites = {r.group_key for r in records if r.group_key != "?"}
    total = len(records)
    head = f"{total:,} leak{'s' if total != 1 else ''}: {', '.join(parts)}"
    return f"{head} · {len(sites):,} call site{'s' if len(sites) != 1 else ''}"
