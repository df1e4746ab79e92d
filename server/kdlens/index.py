"""What is at a position: the meaningful tokens of a session, by line.

Hover, go to definition, references and inlay hints all start from "what did
the user point at". This index answers that from the model alone (no
re-parsing): every address, size, tag, symbol, source annotation, bug check
code, argument and verifier flag the parsers read, with the record it
belongs to. Tokens the model does not hold (a hex number in free text) are
found by ``word_at`` as a fallback.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from .analysis import Analysis
from .analysis.evidence import symbol_key
from .analysis.frames import FrameKind, frame_address
from .analysis.leaks import Leak
from .analysis.triage import ValueKind
from .analysis.usermode_leaks import VERIFIER_LEAK_STOPS, LeakKind
from .gcpause import paused_gc
from .model import (
    AnalyzeField,
    AppVerifierEntry,
    BugCheck,
    BugCheckArg,
    CodeSite,
    CrtLeakBlock,
    DpsDump,
    ExceptionAnalysis,
    ExceptionRecord,
    Frame,
    HandleTrace,
    HandleTraceReport,
    HeapBlockInfo,
    HeapLeakRow,
    HeapLeakScan,
    LnResult,
    ModuleInfo,
    Num,
    PoolAllocation,
    PoolBlock,
    PoolLogRecord,
    PoolUsage,
    Position,
    Range,
    RegisterContext,
    SourceRef,
    Stack,
    StackKind,
    SymbolRef,
    UmdhRecord,
    UmdhTotal,
    VerifiedDriver,
    VerifierFlag,
    VerifierReport,
    VerifierStop,
)
from .numbers import canonical_address, parse_hex


class Kind(str, Enum):
    ADDRESS = "address"
    SIZE = "size"
    COUNT = "count"
    TAG = "tag"
    SYMBOL = "symbol"
    SOURCE = "source"
    BUGCHECK = "bugcheck"
    ARG = "arg"
    FLAG = "flag"
    MASK = "mask"
    MODULE = "module"
    # crash triage
    REGISTER = "register"  # ``rip=fffff802084d9062`` in a trap frame or context: Register
    STATUS = "status"  # an exception / NTSTATUS code: int
    IRQL = "irql"  # an IRQL value (``CURRENT_IRQL:``): int
    STOP = "stop"  # an Application Verifier stop code: VerifierStop or ExceptionAnalysis
    PARAM = "param"  # a stop's parameter: VerifierStopParam, ExceptionParameter, BugCheckArg
    # leak evidence beyond the pool tables (``_leak_evidence``)
    HANDLE = "handle"  # a handle value (``!htrace``, App Verifier 0x901)
    HEAP = "heap"  # a heap's address (``!heap -l`` Heap column, ``_HEAP @``)
    TRACE_ID = "trace-id"  # a UMDH ``BackTraceNNN`` id
    ALLOC_NUMBER = "alloc-number"  # a CRT allocation request number ``{231}``
    ID = "id"  # a thread or process id


@dataclass(frozen=True, slots=True)
class Token:
    range: Range
    kind: Kind
    #: int (address, size, count, status code, IRQL), str (tag, module), SymbolRef,
    #: SourceRef, BugCheck, BugCheckArg, VerifierFlag, VerifierFlags, Register (REGISTER),
    #: VerifierStop or ExceptionAnalysis (STOP), VerifierStopParam, ExceptionParameter or
    #: BugCheckArg (PARAM).
    value: object
    #: The record the token belongs to (Leak, PoolLogRecord, Frame, LnResult...).
    owner: object | None = None
    #: An absolute code address that goes with a symbol token, when known.
    address: int | None = None
    #: True for return addresses (caller columns, RetAddr): look up at address - 1.
    return_address: bool = False
    #: The bug check an ARG token belongs to.
    bugcheck: BugCheck | None = None


@dataclass(slots=True)
class _Lazy:
    first: int
    last: int  # inclusive
    fill: Callable[[TokenIndex], None]
    done: bool = False
    #: the lines (sorted) the region put tokens on, known once it is materialised
    lines: list[int] = field(default_factory=list)


@dataclass(slots=True)
class TokenIndex:
    """Tokens by line. Big regions (``!verifier 0x80`` dumps) are indexed on first touch.

    Every lookup costs what exists near the lines asked for, never the width of
    the request: an editor may ask for lines 0..2**31-1, and a loop over those
    line numbers would hold the event loop for minutes. ``in_lines`` therefore
    finds the regions and the lines that hold tokens by bisection.
    """

    by_line: dict[int, list[Token]] = field(default_factory=dict)
    _starts: dict[int, list[int]] = field(default_factory=dict)
    _lazy: list[_Lazy] = field(default_factory=list)
    _lazy_firsts: list[int] = field(default_factory=list)
    #: running maximum of ``last`` over ``_lazy`` (sorted by ``first``), to stop
    #: a backwards search as soon as no earlier region can reach a line
    _reach: list[int] = field(default_factory=list)
    #: Per frame of a stack: exact (faulting / current) or a return address; set from the
    #: analysis so every stack layout marks its tokens the way the triage reads them.
    frame_kinds: Callable[[Stack], list[FrameKind]] | None = None
    #: Code locations the crash triage found for printed values, by ``id`` of the record:
    #: a bug check argument holding an instruction address (Arg4 of 0xD1), a
    #: ``SYMBOL_NAME`` that is a frame of the stop's stack. Value: (address, return address).
    code_refs: dict[int, tuple[int | None, bool]] = field(default_factory=dict)
    #: lines holding tokens added directly (not by a lazy region), and them sorted
    #: (None until next needed after a new one was added)
    _eager: set[int] = field(default_factory=set)
    _eager_sorted: list[int] | None = None

    def add(self, token: Token) -> None:
        line = token.range.start.line
        self.by_line.setdefault(line, []).append(token)
        if line not in self._eager:
            self._eager.add(line)
            self._eager_sorted = None

    def add_lazy(self, first: int, last: int, fill: Callable[[TokenIndex], None]) -> None:
        """Index lines ``first``..``last`` only when one of them is asked for."""
        self._lazy.append(_Lazy(first, last, fill))

    def freeze(self) -> None:
        for line in self.by_line:
            self._sort(line)
        self._lazy.sort(key=lambda z: z.first)
        self._lazy_firsts = [z.first for z in self._lazy]
        reach = -1
        self._reach = []
        for z in self._lazy:
            reach = max(reach, z.last)
            self._reach.append(reach)

    def _sort(self, line: int) -> None:
        toks = self.by_line[line]
        toks.sort(key=lambda t: (t.range.start.character, -t.range.end.character))
        self._starts[line] = [t.range.start.character for t in toks]

    def _materialize(self, z: _Lazy) -> None:
        """Make a region's tokens; the work is the region's tokens, not the lines it spans."""
        if z.done:
            return
        z.done = True
        # the fill sees the facts the analysis set on this index (frame kinds, code refs)
        scratch = TokenIndex(frame_kinds=self.frame_kinds, code_refs=self.code_refs)
        z.fill(scratch)
        for ln, toks in scratch.by_line.items():
            self.by_line.setdefault(ln, []).extend(toks)
            self._sort(ln)
        z.lines = sorted(scratch.by_line)

    def _ensure(self, line: int) -> None:
        if not self._lazy:
            return
        i = bisect_right(self._lazy_firsts, line) - 1
        while i >= 0 and self._reach[i] >= line:
            z = self._lazy[i]
            if z.last >= line:
                self._materialize(z)
            i -= 1

    def materialize_all(self) -> None:
        for z in self._lazy:
            self._materialize(z)

    def at(self, pos: Position) -> Token | None:
        """The narrowest token containing ``pos`` (end inclusive, so a cursor after a word counts)."""
        self._ensure(pos.line)
        toks = self.by_line.get(pos.line)
        if not toks:
            return None
        starts = self._starts.get(pos.line)
        hi = bisect_right(starts, pos.character) if starts is not None else len(toks)
        best: Token | None = None
        best_width = 1 << 62
        for t in toks[:hi]:
            r = t.range
            if (
                r.start.line != r.end.line
                or not r.start.character <= pos.character <= r.end.character
            ):
                continue
            width = r.end.character - r.start.character
            if width < best_width:
                best, best_width = t, width
        return best

    def on_line(self, line: int) -> list[Token]:
        self._ensure(line)
        return self.by_line.get(line, [])

    def lines_in(self, first: int, last: int) -> list[int]:
        """The lines in ``first``..``last`` that hold tokens, in order (materialising lazy regions there).

        Found by bisection over the regions and over the lines each one filled,
        so a request for lines 0..2**31-1 costs the tokens that exist.
        """
        if last < first:
            return []
        found: set[int] = set()
        if self._eager_sorted is None:
            self._eager_sorted = sorted(self._eager)
        eager = self._eager_sorted
        found.update(eager[bisect_left(eager, first) : bisect_right(eager, last)])
        lazy = self._lazy
        if lazy:
            i = bisect_right(self._lazy_firsts, first) - 1
            while i >= 0 and self._reach[i] >= first:
                i -= 1
            for j in range(i + 1, bisect_right(self._lazy_firsts, last)):
                z = lazy[j]
                if z.last < first:
                    continue
                self._materialize(z)
                found.update(z.lines[bisect_left(z.lines, first) : bisect_right(z.lines, last)])
        return sorted(found)

    def in_lines(self, first: int, last: int) -> Iterator[Token]:
        """Tokens starting on lines ``first``..``last`` (materialising lazy regions there)."""
        for line in self.lines_in(first, last):
            yield from self.by_line.get(line, ())

    def __iter__(self) -> Iterator[Token]:
        self.materialize_all()
        for line in sorted(self.by_line):
            yield from self.by_line[line]


def build_index(analysis: Analysis) -> TokenIndex:
    """Every token of ``analysis.session`` with the leak or record it belongs to."""
    with paused_gc():
        return _build_index(analysis)


def _build_index(analysis: Analysis) -> TokenIndex:
    """Register every record as a lazy region: tokens are made when a line is asked for.

    Building every token of a million-line log up front costs seconds; a hover
    needs the tokens of one line, inlay hints those of one screen.
    """
    idx = TokenIndex()
    session = analysis.session
    leak_of: dict[int, Leak] = {id(leak.allocation): leak for leak in analysis.leaks}

    _lazily(idx, session.bugchecks, _bugcheck_span, _bugcheck)
    _lazily(idx, session.verifier_reports, lambda r: _lines(r.range), _report_head)
    drivers = [d for r in session.verifier_reports for d in r.drivers]
    _lazily(idx, drivers, _driver_span, _driver_head)
    rows = [
        (row, leak_of.get(id(row), row))
        for d in drivers
        if d.allocations is not None
        for row in d.allocations.rows
    ]
    _lazily(idx, rows, lambda r: _lines(r[0].range), _row)
    _lazily(idx, session.pool_log, lambda r: _lines(r.range), _record)
    _lazily(idx, session.stacks, lambda st: _lines(st.range), _stack)
    _lazily(idx, session.ln_results, lambda ln: _lines(ln.range), _ln)
    _lazily(idx, session.modules, lambda m: _lines(m.range), _module)
    _lazily(idx, session.pool_blocks, lambda b: _lines(b.range), _pool_block)
    _lazily(idx, session.pool_usage, lambda u: _lines(u.range), _pool_usage)
    _lazily(idx, session.umdh, lambda u: _lines(u.range), _umdh)
    _crash_tokens(idx, analysis)
    _leak_evidence(idx, analysis)
    idx.freeze()
    return idx


_T = TypeVar("_T")

#: Records per lazy region: small enough that materialising one is instant.
_CHUNK = 8


def _lines(r: Range) -> tuple[int, int]:
    return r.start.line, r.end.line


def _lazily(
    idx: TokenIndex,
    items: Sequence[_T],
    span: Callable[[_T], tuple[int, int]],
    emit: Callable[[TokenIndex, _T], None],
) -> None:
    for k in range(0, len(items), _CHUNK):
        chunk = items[k : k + _CHUNK]
        spans = [span(x) for x in chunk]
        first = min(a for a, _ in spans)
        last = max(b for _, b in spans)
        idx.add_lazy(first, last, _emitter(chunk, emit))


def _emitter(
    chunk: Sequence[_T], emit: Callable[[TokenIndex, _T], None]
) -> Callable[[TokenIndex], None]:
    def fill(ix: TokenIndex) -> None:
        for x in chunk:
            emit(ix, x)

    return fill


def _bugcheck_span(bc: BugCheck) -> tuple[int, int]:
    ranges = [bc.range, bc.code_range]
    if bc.block_range is not None:
        ranges.append(bc.block_range)
    if bc.stack is not None:
        ranges.append(bc.stack.range)
    ranges.extend(a.range for a in bc.args)
    return min(r.start.line for r in ranges), max(r.end.line for r in ranges)


def _driver_span(d: VerifiedDriver) -> tuple[int, int]:
    ranges = [d.range, d.name_range, *(ps.range for ps in d.stats)]
    return min(r.start.line for r in ranges), max(r.end.line for r in ranges)


def _pool_block(idx: TokenIndex, b: PoolBlock) -> None:
    idx.add(Token(b.address.range, Kind.ADDRESS, canonical_address(b.address.value), b))
    idx.add(Token(b.size.range, Kind.SIZE, b.size.value, b))
    idx.add(Token(b.tag_range, Kind.TAG, b.tag, b))


def _pool_usage(idx: TokenIndex, u: PoolUsage) -> None:
    idx.add(Token(u.tag_range, Kind.TAG, u.tag, u))


def _umdh(idx: TokenIndex, rec: UmdhRecord) -> None:
    if rec.stack is not None:
        _stack(idx, rec.stack)


def _num(idx: TokenIndex, n: Num | None, kind: Kind, owner: object, **kw: object) -> None:
    if n is None:
        return
    value = canonical_address(n.value) if kind is Kind.ADDRESS else n.value
    idx.add(Token(n.range, kind, value, owner, **kw))  # type: ignore[arg-type]


def _bugcheck(idx: TokenIndex, bc: BugCheck) -> None:
    idx.add(Token(bc.code_range, Kind.BUGCHECK, bc, bc, bugcheck=bc))
    if bc.name_range is not None:
        idx.add(Token(bc.name_range, Kind.BUGCHECK, bc, bc, bugcheck=bc))
    for arg in bc.args:
        _arg(idx, bc, arg)
    if bc.symbol is not None:
        _symbol_name(idx, bc.symbol, bc)
    if bc.stack is not None:
        _stack(idx, bc.stack)


def _arg(idx: TokenIndex, bc: BugCheck, arg: BugCheckArg) -> None:
    # an argument the triage reads as an instruction address (Arg4 of 0xD1) is code
    code = idx.code_refs.get(id(arg), (None, False))[0]
    idx.add(Token(arg.label_range, Kind.ARG, arg, bc, bugcheck=bc))
    idx.add(Token(arg.value.range, Kind.ARG, arg, bc, address=code, bugcheck=bc))
    d = arg.description_range
    if d is not None and d.start.line == d.end.line:
        idx.add(Token(d, Kind.ARG, arg, bc, bugcheck=bc))


def _report_head(idx: TokenIndex, rep: VerifierReport) -> None:
    flags = rep.flags
    if flags is not None:
        if flags.level is not None:
            idx.add(Token(flags.level.range, Kind.MASK, flags, flags))
        for f in flags.flags:
            idx.add(Token(f.range, Kind.FLAG, f, flags))
    for st in rep.stats:
        _num(idx, st.value, Kind.COUNT, st)
        _num(idx, st.bytes, Kind.SIZE, st)


def _driver_head(idx: TokenIndex, drv: VerifiedDriver) -> None:
    idx.add(Token(drv.name_range, Kind.MODULE, drv.name, drv))
    _num(idx, drv.entry, Kind.ADDRESS, drv)
    _num(idx, drv.nonpaged_bytes, Kind.SIZE, drv)
    _num(idx, drv.paged_bytes, Kind.SIZE, drv)
    for ps in drv.stats:
        kind = Kind.SIZE if "bytes" in ps.name.lower() else Kind.COUNT
        _num(idx, ps.nonpaged, kind, ps)
        _num(idx, ps.paged, kind, ps)


def _row(idx: TokenIndex, item: tuple[PoolAllocation, PoolAllocation | Leak]) -> None:
    row, owner = item
    _num(idx, row.address, Kind.ADDRESS, owner)
    _num(idx, row.size, Kind.SIZE, owner)
    idx.add(Token(row.tag_range, Kind.TAG, row.tag, owner))
    caller = canonical_address(row.caller.value) if row.caller is not None else None
    _num(idx, row.caller, Kind.ADDRESS, owner, return_address=True)
    if row.caller_symbol is not None:
        idx.add(
            Token(
                row.caller_symbol.range,
                Kind.SYMBOL,
                row.caller_symbol,
                owner,
                address=caller,
                return_address=True,
            )
        )


def _record(idx: TokenIndex, rec: PoolLogRecord) -> None:
    _num(idx, rec.address, Kind.ADDRESS, rec)
    _num(idx, rec.size, Kind.SIZE, rec)
    _num(idx, rec.thread, Kind.ADDRESS, rec)
    _stack(idx, rec.stack, rec)


def _frame_kinds(idx: TokenIndex, stack: Stack) -> list[FrameKind]:
    """The analysis' frame kinds, or by position (top exact, the rest return addresses)."""
    if idx.frame_kinds is not None:
        kinds = idx.frame_kinds(stack)
        if len(kinds) == len(stack.frames):
            return kinds
    return [FrameKind.CURRENT if i == 0 else FrameKind.RETURN for i in range(len(stack.frames))]


def _stack(idx: TokenIndex, stack: Stack, owner: PoolLogRecord | None = None) -> None:
    frames = stack.frames
    log_like = stack.kind in (StackKind.POOL_LOG, StackKind.TRACE)
    kinds = _frame_kinds(idx, stack)
    for i, fr in enumerate(frames):
        own: object = owner if owner is not None else fr
        # In a log frame the address column is the code location; in k-style stacks a
        # frame's code location is the RetAddr printed on the row above it. Whether it
        # is a return address (looked up one byte earlier) or the exact instruction (the
        # top frame, the frame after a trap handler, a known faulting address) is the
        # frame's kind.
        here: int | None = None
        ret = kinds[i] is FrameKind.RETURN
        if log_like or not fr.inline:
            here = frame_address(stack, i)
        _num(idx, fr.frame_pointer, Kind.ADDRESS, fr)
        # this row's RetAddr is where the next frame's code is
        nxt = kinds[i + 1] if i + 1 < len(kinds) else FrameKind.RETURN
        _num(idx, fr.return_address, Kind.ADDRESS, fr, return_address=nxt is FrameKind.RETURN)
        for a in fr.args:
            _num(idx, a, Kind.ADDRESS, fr)
        if fr.address is not None:
            _num(idx, fr.address, Kind.ADDRESS, own, return_address=ret)
        if fr.symbol is not None:
            idx.add(
                Token(
                    fr.symbol.range, Kind.SYMBOL, fr.symbol, own, address=here, return_address=ret
                )
            )
        if fr.source is not None:
            idx.add(Token(fr.source.range, Kind.SOURCE, fr.source, fr))


def _ln(idx: TokenIndex, ln: LnResult) -> None:
    q = canonical_address(ln.query.value) if ln.query is not None else None
    _num(idx, ln.query, Kind.ADDRESS, ln)
    if ln.source is not None:
        idx.add(Token(ln.source.range, Kind.SOURCE, ln.source, ln))
    for part in (ln.before, ln.after, *ln.exact):
        if part is None:
            continue
        _num(idx, part.address, Kind.ADDRESS, ln)
        addr = q if part is ln.before else None
        idx.add(Token(part.symbol.range, Kind.SYMBOL, part.symbol, ln, address=addr))


def _module(idx: TokenIndex, m: ModuleInfo) -> None:
    idx.add(Token(m.name_range, Kind.MODULE, m.name, m))
    _num(idx, m.start, Kind.ADDRESS, m)
    _num(idx, m.end, Kind.ADDRESS, m)


# --------------------------------------------------------------------------- crash triage


def _crash_tokens(idx: TokenIndex, analysis: Analysis) -> None:
    """Register the crash records: code sites, register dumps, exception records, stops."""
    session = analysis.session
    idx.frame_kinds = analysis.frame_kinds
    idx.code_refs = _code_refs(analysis)
    _lazily(idx, session.code_sites, lambda c: _lines(c.range), _code_site)
    _lazily(idx, session.register_contexts, lambda c: _lines(c.range), _context)
    _lazily(idx, session.exception_records, lambda r: _lines(r.range), _exception_record)
    _lazily(idx, session.verifier_stops, _stop_span, _verifier_stop)
    _lazily(idx, session.exception_analyses, _analysis_span, _exception_analysis)
    with_fields = [bc for bc in session.bugchecks if bc.fields]
    _lazily(idx, with_fields, lambda bc: _fields_span(bc.fields), _bugcheck_fields)


def _code_refs(analysis: Analysis) -> dict[int, tuple[int | None, bool]]:
    """Bug check arguments the triage reads as instruction addresses, and ``SYMBOL_NAME``
    symbols that name a frame of the stop's stack (with that frame's address and kind)."""
    out: dict[int, tuple[int | None, bool]] = {}
    for t in analysis.triage:
        names: list[SymbolRef] = []
        if t.case is not None:
            for p in t.params:
                if p.kind is not ValueKind.CODE:
                    continue
                for occ in t.case.occurrences:
                    a = occ.arg(p.index)
                    if a is not None:
                        out[id(a)] = (canonical_address(a.value.value), False)
            names = [o.symbol for o in t.case.occurrences if o.symbol is not None]
        elif t.analysis is not None and t.analysis.symbol is not None:
            names = [t.analysis.symbol]
        for sym in names:
            key = symbol_key(sym)
            frame = next(
                (
                    f
                    for f in t.frames
                    if f.frame.symbol is not None and symbol_key(f.frame.symbol) == key
                ),
                None,
            )
            if frame is not None:
                out[id(sym)] = (frame.address, frame.kind is FrameKind.RETURN)
    return out


def _symbol_name(idx: TokenIndex, sym: SymbolRef, owner: object) -> None:
    """``SYMBOL_NAME`` / ``Probably caused by``: looked up as the stack frame it names."""
    address, ret = idx.code_refs.get(id(sym), (None, False))
    idx.add(Token(sym.range, Kind.SYMBOL, sym, owner, address=address, return_address=ret))


def _code_site(idx: TokenIndex, site: CodeSite) -> None:
    """``FAULTING_IP:`` / a register dump's label: the instruction itself, looked up exactly."""
    here = canonical_address(site.address.value) if site.address is not None else None
    if site.symbol is not None:
        idx.add(Token(site.symbol.range, Kind.SYMBOL, site.symbol, site, address=here))
    if site.source is not None:
        idx.add(Token(site.source.range, Kind.SOURCE, site.source, site))
    ins = site.instruction
    if ins is not None:
        _num(idx, ins.address, Kind.ADDRESS, site)
        _num(idx, ins.memory, Kind.ADDRESS, ins)


def _context(idx: TokenIndex, ctx: RegisterContext) -> None:
    _num(idx, ctx.frame_address, Kind.ADDRESS, ctx)
    ip = ctx.ip
    for reg in ctx.registers:
        code = canonical_address(reg.value.value) if reg is ip else None
        idx.add(Token(reg.range, Kind.REGISTER, reg, ctx, address=code))
    if ctx.site is not None:
        _code_site(idx, ctx.site)


def _exception_record(idx: TokenIndex, rec: ExceptionRecord) -> None:
    here = canonical_address(rec.address.value) if rec.address is not None else None
    _num(idx, rec.address, Kind.ADDRESS, rec)
    if rec.symbol is not None:
        idx.add(Token(rec.symbol.range, Kind.SYMBOL, rec.symbol, rec, address=here))
    if rec.code is not None:
        status = rec.code.value & 0xFFFFFFFF
        idx.add(Token(rec.code.range, Kind.STATUS, status, rec))
        if rec.code_text_range is not None:
            idx.add(Token(rec.code_text_range, Kind.STATUS, status, rec))
    for p in rec.parameters:
        idx.add(Token(p.value.range, Kind.PARAM, p, rec))
    _num(idx, rec.access_address, Kind.ADDRESS, rec)
    if rec.record_address is not None and rec.record_address.value >= 0:
        _num(idx, rec.record_address, Kind.ADDRESS, rec)


def _stop_span(stop: VerifierStop) -> tuple[int, int]:
    return (
        min(stop.range.start.line, stop.block_range.start.line),
        max(stop.range.end.line, stop.block_range.end.line),
    )


def _verifier_stop(idx: TokenIndex, stop: VerifierStop) -> None:
    idx.add(Token(stop.code.range, Kind.STOP, stop, stop))
    if stop.code.value in VERIFIER_LEAK_STOPS:
        return  # a leak stop's parameters are leak evidence (``_leak_evidence``)
    for p in stop.params:
        idx.add(Token(p.value.range, Kind.PARAM, p, stop))


def _analysis_span(ea: ExceptionAnalysis) -> tuple[int, int]:
    ranges = [ea.range, ea.block_range]
    if ea.stack is not None:
        ranges.append(ea.stack.range)
    return min(r.start.line for r in ranges), max(r.end.line for r in ranges)


def _exception_analysis(idx: TokenIndex, ea: ExceptionAnalysis) -> None:
    """A user-mode analysis: its stop name and code, arguments, symbol, fields and stack.

    The exception record, context and ``FAULTING_IP`` under it are in the session's
    own lists and indexed from there.
    """
    if ea.verifier:
        if ea.name_range is not None:
            idx.add(Token(ea.name_range, Kind.STOP, ea, ea))
        if ea.code is not None:
            idx.add(Token(ea.code.range, Kind.STOP, ea, ea))
    for a in ea.args:
        idx.add(Token(a.label_range, Kind.PARAM, a, ea))
        idx.add(Token(a.value.range, Kind.PARAM, a, ea))
    if ea.symbol is not None:
        _symbol_name(idx, ea.symbol, ea)
    _fields(idx, ea.fields, ea)
    if ea.stack is not None:
        _stack(idx, ea.stack)


def _fields_span(fields: Sequence[AnalyzeField]) -> tuple[int, int]:
    return min(f.range.start.line for f in fields), max(f.range.end.line for f in fields)


def _bugcheck_fields(idx: TokenIndex, bc: BugCheck) -> None:
    _fields(idx, bc.fields, bc)


#: ``!analyze`` fields holding an exception code (``ERROR_CODE: (NTSTATUS) 0xc0000005 - ...``).
_STATUS_FIELDS = frozenset({"EXCEPTION_CODE", "EXCEPTION_CODE_STR", "ERROR_CODE"})
_STATUS_VALUE = re.compile(r"^(?:\([A-Za-z]+\)[ \t]*)?((?:0x)?[0-9a-fA-F]{1,8})(?![0-9A-Za-z_`])")
_IRQL_FIELDS = frozenset({"CURRENT_IRQL"})
_IRQL_VALUE = re.compile(r"^((?:0x)?[0-9a-fA-F]{1,2})(?![0-9A-Za-z_`])")


def _fields(idx: TokenIndex, fields: Sequence[AnalyzeField], owner: object) -> None:
    """Exception codes and IRQLs printed as ``KEY: value`` fields."""
    for f in fields:
        if f.key in _STATUS_FIELDS:
            kind, pattern = Kind.STATUS, _STATUS_VALUE
        elif f.key in _IRQL_FIELDS:
            kind, pattern = Kind.IRQL, _IRQL_VALUE
        else:
            continue
        r = f.value_range
        # the value's columns are known only when the range holds exactly the printed value
        if r.start.line != r.end.line or r.end.character - r.start.character != len(f.value):
            continue
        m = pattern.match(f.value)
        if m is None:
            continue
        value = parse_hex(m.group(1))
        if value is None:
            continue
        col = r.start.character
        rng = Range.on_line(r.start.line, col + m.start(1), col + m.end(1))
        idx.add(Token(rng, kind, value, owner))


# --------------------------------------------------------------------------- leak evidence
#
# ``!heap -l`` rows, ``!heap -p -a`` records, ``!htrace`` records, UMDH
# comparison lines and totals, CRT dump blocks, Application Verifier stops
# (leak codes) and XML entries, ``dps`` dumps. Each token's owner is the model
# record it was read from; the features find the leak record behind it.

#: Leak kinds whose first stop parameter is a handle, not an address.
_HANDLE_KINDS = (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION)


def _leak_evidence(idx: TokenIndex, analysis: Analysis) -> None:
    """Register the leak-evidence records of ``analysis.session`` as lazy regions."""
    session = analysis.session

    def with_frames(
        emit: Callable[[TokenIndex, Analysis, _T], None],
    ) -> Callable[[TokenIndex, _T], None]:
        return lambda ix, x: emit(ix, analysis, x)

    _lazily(idx, session.heap_leak_scans, _heap_scan_span, _heap_scan_head)
    rows = [row for scan in session.heap_leak_scans for row in scan.rows]
    _lazily(idx, rows, lambda r: _lines(r.range), _heap_row)
    _lazily(idx, session.heap_blocks, lambda b: _lines(b.range), with_frames(_heap_block))
    _lazily(idx, session.handle_traces, lambda r: _lines(r.range), _htrace_report)
    traces = [t for report in session.handle_traces for t in report.records]
    _lazily(idx, traces, lambda t: _lines(t.range), with_frames(_htrace_record))
    compared = [u for u in session.umdh if u.comparison]
    _lazily(idx, compared, lambda u: _lines(u.range), _umdh_numbers)
    _lazily(idx, session.umdh_totals, lambda t: _lines(t.range), _umdh_total)
    blocks = [b for report in session.crt_leaks for b in report.blocks]
    _lazily(idx, blocks, lambda b: _lines(b.range), _crt_block)
    _lazily(idx, session.appverif_entries, lambda e: _lines(e.range), with_frames(_appverif))
    stops = [s for s in session.verifier_stops if s.code.value in VERIFIER_LEAK_STOPS]
    _lazily(idx, stops, lambda s: _lines(s.block_range), _leak_stop)
    _lazily(idx, session.dps_dumps, lambda d: _lines(d.range), with_frames(_dps))


def _trace(idx: TokenIndex, analysis: Analysis, stack: Stack) -> None:
    """Frames of a saved stack trace; each address's kind comes from ``analysis.frame_kinds``."""
    kinds = analysis.frame_kinds(stack)
    for fr, fk in zip(stack.frames, kinds, strict=False):
        ret = not fk.exact
        here = canonical_address(fr.address.value) if fr.address is not None else None
        _num(idx, fr.address, Kind.ADDRESS, fr, return_address=ret)
        if fr.symbol is not None:
            idx.add(
                Token(fr.symbol.range, Kind.SYMBOL, fr.symbol, fr, address=here, return_address=ret)
            )
        if fr.source is not None:
            idx.add(Token(fr.source.range, Kind.SOURCE, fr.source, fr))


def _heap_scan_span(scan: HeapLeakScan) -> tuple[int, int]:
    ranges = [scan.range, *(h.range for h in scan.heaps)]
    if scan.count is not None:
        ranges.append(scan.count.range)
    return min(r.start.line for r in ranges), max(r.end.line for r in ranges)


def _heap_scan_head(idx: TokenIndex, scan: HeapLeakScan) -> None:
    for h in scan.heaps:
        _num(idx, h, Kind.HEAP, scan)
    _num(idx, scan.count, Kind.COUNT, scan)


def _heap_row(idx: TokenIndex, row: HeapLeakRow) -> None:
    _num(idx, row.entry, Kind.ADDRESS, row)
    _num(idx, row.user, Kind.ADDRESS, row)
    _num(idx, row.heap, Kind.HEAP, row)
    _num(idx, row.segment, Kind.ADDRESS, row)
    _num(idx, row.size, Kind.SIZE, row)
    _num(idx, row.previous_size, Kind.SIZE, row)
    _num(idx, row.unused, Kind.SIZE, row)


def _heap_block(idx: TokenIndex, analysis: Analysis, info: HeapBlockInfo) -> None:
    _num(idx, info.address, Kind.ADDRESS, info)
    _num(idx, info.heap, Kind.HEAP, info)
    _num(idx, info.block, Kind.ADDRESS, info)
    _num(idx, info.user_address, Kind.ADDRESS, info)
    _num(idx, info.user_size, Kind.SIZE, info)
    _num(idx, info.virtual_address, Kind.ADDRESS, info)
    _num(idx, info.virtual_size, Kind.SIZE, info)
    if info.stack is not None:
        _trace(idx, analysis, info.stack)


def _htrace_report(idx: TokenIndex, report: HandleTraceReport) -> None:
    _num(idx, report.query, Kind.HANDLE, report)
    _num(idx, report.new_traces, Kind.COUNT, report)
    _num(idx, report.displayed, Kind.COUNT, report)


def _htrace_record(idx: TokenIndex, analysis: Analysis, rec: HandleTrace) -> None:
    _num(idx, rec.handle, Kind.HANDLE, rec)
    _num(idx, rec.thread, Kind.ID, rec)
    _num(idx, rec.process, Kind.ID, rec)
    if rec.stack is not None:
        _trace(idx, analysis, rec.stack)


def _umdh_numbers(idx: TokenIndex, rec: UmdhRecord) -> None:
    """A comparison's BackTrace id and its numbers (the stack is indexed by ``_umdh``)."""
    idx.add(Token(rec.backtrace_range, Kind.TRACE_ID, rec.backtrace, rec))
    _num(idx, rec.address, Kind.ADDRESS, rec)
    for r, value in (
        (rec.delta_range, rec.delta),
        (rec.new_range, rec.bytes),
        (rec.old_range, rec.old_bytes),
    ):
        if r is not None and value is not None:
            idx.add(Token(r, Kind.SIZE, value, rec))
    if rec.count_range is not None and rec.count is not None:
        idx.add(Token(rec.count_range, Kind.COUNT, rec.count, rec))


def _umdh_total(idx: TokenIndex, total: UmdhTotal) -> None:
    for n in (total.value, total.requested, total.overhead, total.total):
        if n is not None and (n is total.value or n.range != total.value.range):
            _num(idx, n, Kind.SIZE, total)


def _crt_block(idx: TokenIndex, b: CrtLeakBlock) -> None:
    _num(idx, b.number, Kind.ALLOC_NUMBER, b)
    _num(idx, b.address, Kind.ADDRESS, b)
    _num(idx, b.size, Kind.SIZE, b)
    if b.source is not None:
        idx.add(Token(b.source.range, Kind.SOURCE, b.source, b))


def _stop_value_kind(code: int | None) -> Kind:
    kind = VERIFIER_LEAK_STOPS.get(code) if code is not None else None
    return Kind.HANDLE if kind in _HANDLE_KINDS else Kind.ADDRESS


def _appverif(idx: TokenIndex, analysis: Analysis, e: AppVerifierEntry) -> None:
    first = _stop_value_kind(e.stop_code.value if e.stop_code is not None else None)
    for p in e.params:
        if p.value is not None:
            _num(idx, p.value, first if p.index == 1 else Kind.ADDRESS, e)
    _num(idx, e.pid, Kind.ID, e)
    if e.stack is not None:
        _trace(idx, analysis, e.stack)


def _leak_stop(idx: TokenIndex, stop: VerifierStop) -> None:
    """Parameters of an Application Verifier leak stop (0x900-0x906)."""
    first = _stop_value_kind(stop.code.value)
    for p in stop.params:
        _num(idx, p.value, first if p.index == 1 else Kind.ADDRESS, stop)
    _num(idx, stop.pid, Kind.ID, stop)


def _dps(idx: TokenIndex, analysis: Analysis, dump: DpsDump) -> None:
    _num(idx, dump.query, Kind.ADDRESS, dump)
    for row in dump.rows:
        _num(idx, row.slot, Kind.ADDRESS, dump)
        if row.symbol is None:
            _num(idx, row.value, Kind.ADDRESS, dump)
    if dump.stack is not None:
        _trace(idx, analysis, dump.stack)


# --------------------------------------------------------------------------- free-text fallback

#: A whole word: identifiers, hex numbers (``0x`` and the x64 backtick included).
_WORD = re.compile(r"[0-9A-Za-z_]+(?:`[0-9A-Fa-f]{8}(?![0-9A-Za-z_]))?")


def word_at(line_text: str, character: int) -> tuple[str, int, int] | None:
    """The hex number or identifier under ``character`` in ``line_text``."""
    for m in _WORD.finditer(line_text):
        if m.start() <= character <= m.end():
            return m.group(0), m.start(), m.end()
        if m.start() > character:
            break
    return None


__all__ = [
    "Frame",
    "Kind",
    "SourceRef",
    "SymbolRef",
    "Token",
    "TokenIndex",
    "VerifierFlag",
    "build_index",
    "word_at",
]
