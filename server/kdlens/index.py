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
from .analysis.leaks import Leak
from .gcpause import paused_gc
from .model import (
    BugCheck,
    BugCheckArg,
    Frame,
    LnResult,
    ModuleInfo,
    Num,
    PoolAllocation,
    PoolBlock,
    PoolLogRecord,
    PoolUsage,
    Position,
    Range,
    SourceRef,
    Stack,
    StackKind,
    SymbolRef,
    UmdhRecord,
    VerifiedDriver,
    VerifierFlag,
    VerifierReport,
)
from .numbers import canonical_address


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


@dataclass(frozen=True, slots=True)
class Token:
    range: Range
    kind: Kind
    #: int (address, size, count), str (tag, module), SymbolRef, SourceRef,
    #: BugCheck, BugCheckArg, VerifierFlag or VerifierFlags.
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
        scratch = TokenIndex()
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
        idx.add(Token(bc.symbol.range, Kind.SYMBOL, bc.symbol, bc))
    if bc.stack is not None:
        _stack(idx, bc.stack)


def _arg(idx: TokenIndex, bc: BugCheck, arg: BugCheckArg) -> None:
    idx.add(Token(arg.label_range, Kind.ARG, arg, bc, bugcheck=bc))
    idx.add(Token(arg.value.range, Kind.ARG, arg, bc, bugcheck=bc))
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


def _stack(idx: TokenIndex, stack: Stack, owner: PoolLogRecord | None = None) -> None:
    frames = stack.frames
    log_like = stack.kind in (StackKind.POOL_LOG, StackKind.TRACE)
    for i, fr in enumerate(frames):
        own: object = owner if owner is not None else fr
        # In a log frame the address column is the code location; it is a return
        # address for every frame but the first. In k-style stacks a frame's
        # code location is the RetAddr printed on the row above it.
        here: int | None = None
        ret = i > 0
        if log_like and fr.address is not None:
            here = canonical_address(fr.address.value)
        elif i > 0 and not fr.inline and frames[i - 1].return_address is not None:
            prev = frames[i - 1].return_address
            here = canonical_address(prev.value) if prev is not None else None
        _num(idx, fr.frame_pointer, Kind.ADDRESS, fr)
        _num(idx, fr.return_address, Kind.ADDRESS, fr, return_address=True)
        for a in fr.args:
            _num(idx, a, Kind.ADDRESS, fr)
        if fr.address is not None:
            _num(idx, fr.address, Kind.ADDRESS, own, return_address=ret if log_like else False)
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
