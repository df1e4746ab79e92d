"""Go to definition and find references.

Definition goes from a caller address, a frame's return address or a
``Module!Function+0xNN`` to the source line, through the resolver chain
(the log's ``ln`` output, ``[file @ line]`` annotations, then symbol
files), and from the build path to a workspace file. A pool tag goes to its
literal in the workspace's C sources (``mdrv`` is written ``'vrdm'``).

References find every spelling of the same address (``0x982a8fe0``,
``982a8fe0``, ``fffff807`1b2c1014``), of a tag, or of a symbol.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..analysis import Analysis
from ..analysis.evidence import Origin, SourceLocation
from ..analysis.leaks import Leak
from ..analysis.usermode_leaks import VERIFIER_LEAK_STOPS
from ..index import Kind, Token, TokenIndex, word_at
from ..model import (
    AppVerifierEntry,
    BugCheckArg,
    CodeSite,
    CrtLeakBlock,
    DpsDump,
    Frame,
    HandleTrace,
    HandleTraceReport,
    HeapBlockInfo,
    HeapLeakRow,
    HeapLeakScan,
    LnResult,
    Num,
    PoolAllocation,
    Position,
    Range,
    Register,
    RegisterContext,
    SourceRef,
    SymbolRef,
    UmdhRecord,
    UmdhTotal,
    VerifierStop,
)
from ..numbers import canonical_address, normalize_module, parse_hex
from ..sources import SourceMapper
from .crash import frame_source
from .leaks import HANDLE_KINDS, evidence_stacks, record_of, records_citing
from .places import Target
from .tag_literals import LiteralIndex, LiteralLookup, c_literal


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a token leads, or why it leads nowhere."""

    targets: tuple[Target, ...]
    source: SourceLocation | None = None
    why: str | None = None


_NOTHING = Resolution(())
#: The walk used when no caller-owned index is given (CLI, tests).
_LITERALS = LiteralIndex()


def code_location(token: Token) -> tuple[int | None, SymbolRef | None, bool]:
    """The code address, symbol and return-address flag a token stands for."""
    owner = token.owner
    if token.kind is Kind.SYMBOL and isinstance(token.value, SymbolRef):
        return token.address, token.value, token.return_address
    crash = crash_code_location(token)
    if crash is not None:
        return crash
    if token.kind is Kind.ADDRESS and isinstance(token.value, int):
        if isinstance(owner, Leak):
            return owner.call_site_address, owner.call_site, True
        if isinstance(owner, PoolAllocation):
            caller = canonical_address(owner.caller.value) if owner.caller is not None else None
            return caller, owner.caller_symbol, True
        return token.value, None, token.return_address
    return None, None, False


def resolve_source(analysis: Analysis, token: Token) -> SourceLocation | None:
    """The source line behind a token (before any path mapping)."""
    owner = token.owner
    if token.kind is Kind.SOURCE and isinstance(token.value, SourceRef):
        src = token.value
        return SourceLocation(src.path, src.line, Origin.ANNOTATION, src.range)
    handled, leak_src = leak_source(analysis, token)
    if handled:
        return leak_src
    if (
        isinstance(owner, Leak)
        and owner.source is not None
        and token.kind in (Kind.ADDRESS, Kind.SYMBOL, Kind.SIZE)
    ):
        return owner.source
    address, sym, ret = code_location(token)
    if address is None and sym is None:
        return None
    if isinstance(owner, LnResult) and token.kind is Kind.ADDRESS:
        ret = False
    if isinstance(owner, Frame) and owner.source is not None and token.kind is Kind.SYMBOL:
        return SourceLocation(
            owner.source.path, owner.source.line, Origin.ANNOTATION, owner.source.range
        )
    if isinstance(owner, Frame) and token.kind in (Kind.SYMBOL, Kind.ADDRESS):
        # a frame of a stop's stack: the line the triage found (same lookup, or the stop's
        # FAULTING_IP line for a faulting frame printed without its address)
        ret_col = owner.return_address is not None and token.range == owner.return_address.range
        code_col = token.kind is Kind.SYMBOL or (
            owner.address is not None and token.range == owner.address.range
        )
        if ret_col or code_col:
            found = frame_source(analysis, owner, next_frame=ret_col)
            if found is not None:
                return found
    # ``FAULTING_IP: X!Y+off [path @ line]``: the debugger's own line for the instruction
    if isinstance(owner, CodeSite) and owner.source is not None and _site_code(token, owner):
        return SourceLocation(
            owner.source.path, owner.source.line, Origin.ANNOTATION, owner.source.range
        )
    return analysis.resolver.resolve(address, sym, return_address=ret)


def definition(
    analysis: Analysis,
    index: TokenIndex,
    mapper: SourceMapper,
    pos: Position,
    literals: LiteralLookup | None = None,
) -> Resolution:
    """Where the token at ``pos`` leads. ``literals`` answers pool-tag searches (the server
    passes its background index; without it the workspace is walked here, when due)."""
    token = index.at(pos)
    if token is None:
        return _NOTHING
    if token.kind is Kind.TAG and isinstance(token.value, str):
        answer = (literals or _LITERALS.lookup_now)(mapper, token.value)
        if answer.targets:
            return Resolution(answer.targets)
        why = (
            answer.note
            if not answer.ready
            else f"no literal {c_literal(token.value)} in the workspace"
        )
        return Resolution((), why=why)
    src = resolve_source(analysis, token)
    if src is None:
        if token.kind in (Kind.ADDRESS, Kind.SYMBOL) or crash_code_location(token) is not None:
            return Resolution(
                (),
                why="nothing in this log (ln output, source annotations) or in the symbol files resolves it",
            )
        return _NOTHING
    mapped, why = mapper.explain(src.path)
    if mapped is None:
        return Resolution((), src, f"{src.path} is not in the workspace: {why}")
    line = max(src.line - 1, 0)
    return Resolution((Target(mapped.path, Range.on_line(line, 0, 0), src.short),), src)


# --------------------------------------------------------------------------- crash values


def _site_code(token: Token, site: CodeSite, address: int | None = None) -> bool:
    """True when ``token`` is the instruction of ``site``: its label, its address column, or
    (``address``) a register holding the same address."""
    if address is not None:
        return site.address is not None and canonical_address(site.address.value) == address
    if token.kind is Kind.SYMBOL:
        return True
    return (
        token.kind is Kind.ADDRESS
        and site.address is not None
        and token.range == site.address.range
    )


def crash_code_location(token: Token) -> tuple[int | None, SymbolRef | None, bool] | None:
    """Instruction addresses of crash records that are not plain address tokens: the
    instruction pointer of a register dump (``rip=``), a bug check argument the triage
    reads as the faulting instruction (Arg4 of 0xD1). Both are exact: never a return address."""
    value, owner = token.value, token.owner
    if token.kind is Kind.REGISTER and isinstance(value, Register) and token.address is not None:
        site = owner.site if isinstance(owner, RegisterContext) else None
        sym = None
        if site is not None and _site_code(token, site, token.address):
            sym = site.symbol
        return token.address, sym, False
    if token.kind is Kind.ARG and isinstance(value, BugCheckArg) and token.address is not None:
        return token.address, None, False
    return None


# --------------------------------------------------------------------------- pool tag literals


# --------------------------------------------------------------------------- references

_HEX_RUN = re.compile(r"(?:0x)?[0-9a-fA-F`]+")


def _address_occurrences(lines: list[str], value: int) -> Iterator[Range]:
    value = canonical_address(value)
    lo = f"{value & 0xFFFFFFFF:08x}"
    for i, line in enumerate(lines):
        low = line.lower()
        start = low.find(lo)
        while start >= 0:
            # expand to the whole hex token around the hit
            s = start
            while s > 0 and (low[s - 1] in "0123456789abcdef`x"):
                s -= 1
            e = start + len(lo)
            while e < len(low) and low[e] in "0123456789abcdef`":
                e += 1
            m = _HEX_RUN.fullmatch(line, s, e)
            if m is not None:
                v = parse_hex(m.group(0))
                if v is not None and canonical_address(v) == value:
                    yield Range.on_line(i, s, e)
            start = low.find(lo, e)


def _word_occurrences(lines: list[str], word: str) -> Iterator[Range]:
    pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])")
    for i, line in enumerate(lines):
        if word in line:
            for m in pat.finditer(line):
                yield Range.on_line(i, m.start(), m.end())


#: Values below this are not looked for as addresses (``2``, ``8`` are everywhere).
_MIN_ADDRESS = 0x10000


def _crash_value(token: Token) -> tuple[int, Kind] | None:
    """What to look for when references are asked on a crash value: an address (a register,
    a stop parameter, a code argument) in every spelling, or the same status / stop code."""
    value = token.value
    if token.kind is Kind.ARG and token.address is not None:
        return token.address, Kind.ADDRESS
    if token.kind is Kind.REGISTER and isinstance(value, Register):
        v = canonical_address(value.value.value)
        return (v, Kind.ADDRESS) if v >= _MIN_ADDRESS else None
    if token.kind is Kind.PARAM:
        num = getattr(value, "value", None)
        if isinstance(num, Num) and canonical_address(num.value) >= _MIN_ADDRESS:
            return canonical_address(num.value), Kind.ADDRESS
        return None
    if token.kind is Kind.STATUS and isinstance(value, int):
        return value, Kind.STATUS
    return None


def _symbol_key(sym: SymbolRef) -> str:
    return f"{normalize_module(sym.module or '')}!{(sym.function or '').lower()}"


def references(
    analysis: Analysis, index: TokenIndex, lines: list[str], pos: Position
) -> list[Range]:
    """Every occurrence in the log of the address, tag or symbol under ``pos``."""
    token = index.at(pos)
    found: dict[tuple[int, int, int], Range] = {}

    def add(r: Range) -> None:
        found[(r.start.line, r.start.character, r.end.character)] = r

    if token is None:
        if pos.line >= len(lines):
            return []
        w = word_at(lines[pos.line], pos.character)
        if w is None:
            return []
        value = parse_hex(w[0]) if len(w[0].removeprefix("0x").replace("`", "")) >= 8 else None
        if value is not None:
            for r in _address_occurrences(lines, value):
                add(r)
            for r in leak_value_ranges(analysis, Kind.ADDRESS, value):
                add(r)
        return sorted(found.values(), key=lambda r: (r.start.line, r.start.character))
    crash = _crash_value(token)
    if token.kind in (Kind.ADDRESS, Kind.HEAP) and isinstance(token.value, int):
        for r in _address_occurrences(lines, token.value):
            add(r)
        for r in leak_value_ranges(analysis, Kind.ADDRESS, token.value):
            add(r)
    elif token.kind in (Kind.HANDLE, Kind.ID) and isinstance(token.value, int):
        for r in leak_value_ranges(analysis, token.kind, token.value):
            add(r)
        add(token.range)
    elif token.kind in (Kind.TRACE_ID, Kind.ALLOC_NUMBER):
        word = token.value if isinstance(token.value, str) else f"{{{token.value}}}"
        for r in _literal_occurrences(lines, word):
            add(r)
        add(token.range)
    elif crash is not None:
        value, kind = crash
        if kind is Kind.ADDRESS:
            for r in _address_occurrences(lines, value):
                add(r)
        for t in index:
            if t.kind is kind and t.value == value:
                add(t.range)
        add(token.range)
    elif token.kind is Kind.TAG and isinstance(token.value, str):
        for t in index:
            if t.kind is Kind.TAG and t.value == token.value:
                add(t.range)
        if token.value.strip() == token.value:
            for r in _word_occurrences(lines, token.value):
                add(r)
    elif token.kind is Kind.SYMBOL and isinstance(token.value, SymbolRef):
        key = _symbol_key(token.value)
        for t in index:
            if (
                t.kind is Kind.SYMBOL
                and isinstance(t.value, SymbolRef)
                and _symbol_key(t.value) == key
            ):
                add(t.range)
        sym = token.value
        if sym.module and sym.function:
            pat = re.compile(
                r"(?<![A-Za-z0-9_])(?i:"
                + re.escape(sym.module)
                + r")!"
                + re.escape(sym.function)
                + r"(?![A-Za-z0-9_])"
            )
            needle = sym.function
            for i, line in enumerate(lines):
                if needle in line:
                    for m in pat.finditer(line):
                        add(Range.on_line(i, m.start(), m.end()))
    else:
        add(token.range)
    return sorted(found.values(), key=lambda r: (r.start.line, r.start.character))


# --------------------------------------------------------------------------- leak evidence


#: Model records whose tokens stand for a leaked resource (not for code).
_LEAK_OWNERS = (
    AppVerifierEntry,
    CrtLeakBlock,
    DpsDump,
    HandleTrace,
    HandleTraceReport,
    HeapBlockInfo,
    HeapLeakRow,
    HeapLeakScan,
    UmdhRecord,
    UmdhTotal,
    VerifierStop,
)


def leak_source(analysis: Analysis, token: Token) -> tuple[bool, SourceLocation | None]:
    """For a token of leak evidence: (True, the allocating source line or None).

    A leaked block's address, size or handle leads to the line that allocated
    it; it is data, never looked up as code. Frames of the evidence's stacks
    are code and are left to the resolver chain (``(False, None)``).
    """
    owner = token.owner
    if not isinstance(owner, _LEAK_OWNERS) or token.kind in (Kind.SYMBOL, Kind.SOURCE):
        return False, None
    rec = record_of(analysis, owner)
    if rec is None and isinstance(owner, HeapBlockInfo | DpsDump | HandleTrace):
        cited = records_citing(analysis, owner.range)
        rec = cited[0] if cited else None
    return True, rec.source if rec is not None else None


def _literal_occurrences(lines: list[str], word: str) -> Iterator[Range]:
    """``word`` as printed (``BackTrace4A21C``, ``{231}``), not inside a longer word."""
    if word.startswith("{"):
        pat = re.compile(re.escape(word))
    else:
        pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])")
    for i, line in enumerate(lines):
        if word in line:
            for m in pat.finditer(line):
                yield Range.on_line(i, m.start(), m.end())


def _nums_of(analysis: Analysis, kind: Kind) -> Iterator[Num]:
    """Every number of the leak evidence that is an address (or a handle, or an id)."""
    s = analysis.session
    handle_stop = {c for c, k in VERIFIER_LEAK_STOPS.items() if k in HANDLE_KINDS}
    if kind is Kind.HANDLE:
        for rep in s.handle_traces:
            if rep.query is not None:
                yield rep.query
            yield from (t.handle for t in rep.records)
        for stop in s.verifier_stops:
            p = stop.param(1)
            if stop.code.value in handle_stop and p is not None:
                yield p.value
        for e in s.appverif_entries:
            q = e.param(1)
            handles = e.stop_code is not None and e.stop_code.value in handle_stop
            if handles and q is not None and q.value is not None:
                yield q.value
        return
    if kind is Kind.ID:
        for rep in s.handle_traces:
            for t in rep.records:
                yield from (n for n in (t.thread, t.process) if n is not None)
        yield from (st.pid for st in s.verifier_stops if st.pid is not None)
        yield from (e.pid for e in s.appverif_entries if e.pid is not None)
        return
    for scan in s.heap_leak_scans:
        yield from scan.heaps
        for row in scan.rows:
            yield from (n for n in (row.entry, row.user, row.heap, row.segment) if n is not None)
    for b in s.heap_blocks:
        nums = (b.address, b.heap, b.block, b.user_address, b.virtual_address)
        yield from (n for n in nums if n is not None)
    for report in s.crt_leaks:
        yield from (blk.address for blk in report.blocks)
    for stop in s.verifier_stops:
        if stop.code.value not in handle_stop:
            yield from (p.value for p in stop.params)
        else:
            yield from (p.value for p in stop.params if p.index != 1)
    for e in s.appverif_entries:
        handles = e.stop_code is not None and e.stop_code.value in handle_stop
        for q in e.params:
            if q.value is not None and not (handles and q.index == 1):
                yield q.value
    for d in s.dps_dumps:
        if d.query is not None:
            yield d.query
        for slot in d.rows:
            yield slot.slot
            yield slot.value
    for u in s.umdh:
        if u.address is not None:
            yield u.address
    for stack, _printed_in in evidence_stacks(analysis):
        yield from (fr.address for fr in stack.frames if fr.address is not None)


def leak_value_ranges(analysis: Analysis, kind: Kind, value: int) -> list[Range]:
    """Where the leak evidence prints ``value`` as an address, a handle or an id.

    The text search of ``references`` finds eight-digit spellings; page-heap
    records and stops print shorter ones (``c5a2fe8``), and handles are too
    short to search for as text, so these come from the model.
    """
    if kind in (Kind.ADDRESS, Kind.HEAP):
        want = canonical_address(value)
        return [
            n.range for n in _nums_of(analysis, Kind.ADDRESS) if canonical_address(n.value) == want
        ]
    return [n.range for n in _nums_of(analysis, kind) if n.value == value]
