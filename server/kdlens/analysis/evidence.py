"""What the log itself says about addresses, symbols and source lines.

A session often answers its own questions: ``ln`` maps an address to a
symbol and a line, a ``k`` stack with line information maps a symbol+offset
to ``[file @ line]``, and ``!verifier 0x80`` frames pair absolute addresses
with symbols. This index joins those facts so that a caller address printed
in one place can be resolved through a line printed in another. It is the
first link of the resolver chain; symbol files come after it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum

from ..model import (
    LnResult,
    ModuleInfo,
    Range,
    Session,
    SourceRef,
    Stack,
    StackKind,
    SymbolRef,
)
from ..numbers import canonical_address, normalize_module


class Origin(str, Enum):
    LN = "ln"  # ``ln`` output for this address
    ANNOTATION = "annotation"  # ``[file @ line]`` printed after a frame
    SYMBOL_FILE = "pdb"  # read from a PDB


@dataclass(slots=True, unsafe_hash=True)
class SourceLocation:
    """A source line as the debugger or a symbol file names it (build path, 1-based line)."""

    path: str
    line: int
    origin: Origin
    evidence: Range | None = None  # where in the log this was read
    function: str | None = None  # ``module!function+0xoff`` when known
    inline_chain: tuple[str, ...] = ()
    note: str | None = None

    @property
    def file_name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def short(self) -> str:
        return f"{self.file_name}:{self.line}"


def symbol_key(sym: SymbolRef) -> str | None:
    """``module!function+0xoff`` normalised (module aliases folded, offset in hex)."""
    if not sym.function:
        if sym.module and sym.offset is not None:
            return f"{normalize_module(sym.module)}+0x{sym.offset:x}"
        return None
    module = normalize_module(sym.module) if sym.module else ""
    off = sym.offset or 0
    return f"{module}!{sym.function}+0x{off:x}".lower()


@dataclass(slots=True)
class Evidence:
    """Address <-> symbol <-> source facts gathered from one session."""

    address_symbol: dict[int, SymbolRef] = field(default_factory=dict)
    address_source: dict[int, SourceLocation] = field(default_factory=dict)
    symbol_source: dict[str, SourceLocation] = field(default_factory=dict)
    ln_by_address: dict[int, LnResult] = field(default_factory=dict)
    modules: list[ModuleInfo] = field(default_factory=list)
    _spans: list[tuple[int, int, ModuleInfo]] | None = None
    _span_starts: list[int] = field(default_factory=list)

    def symbol_at(self, address: int) -> SymbolRef | None:
        return self.address_symbol.get(canonical_address(address))

    def source_for_address(self, address: int) -> SourceLocation | None:
        a = canonical_address(address)
        hit = self.address_source.get(a)
        if hit is not None:
            return hit
        sym = self.address_symbol.get(a)
        return self.source_for_symbol(sym) if sym is not None else None

    def source_for_symbol(self, sym: SymbolRef) -> SourceLocation | None:
        key = symbol_key(sym)
        return self.symbol_source.get(key) if key else None

    def module_for_address(self, address: int) -> ModuleInfo | None:
        """The module whose range holds ``address`` (a loaded one over an unloaded one)."""
        if self._spans is None:
            spans = [
                (canonical_address(m.start.value), canonical_address(m.end.value), m)
                for m in self.modules
                if m.start is not None and m.end is not None
            ]
            spans.sort(key=lambda t: (t[0], t[1]))
            self._spans = spans
            self._span_starts = [t[0] for t in spans]
        a = canonical_address(address)
        best: ModuleInfo | None = None
        i = bisect_right(self._span_starts, a) - 1
        # Ranges overlap only when a module was unloaded and another loaded in
        # its place, so the few spans starting just below ``a`` are enough.
        for start, end, m in reversed(self._spans[max(i - 7, 0) : i + 1]):
            if start <= a < end and (best is None or (best.unloaded and not m.unloaded)):
                best = m
        return best

    def module_named(self, name: str) -> ModuleInfo | None:
        want = normalize_module(name)
        found: ModuleInfo | None = None
        for m in self.modules:
            if (
                normalize_module(m.name) == want
                or (m.image_name and normalize_module(m.image_name) == want)
            ) and (found is None or (found.start is None and m.start is not None)):
                found = m
        return found


def gather(session: Session) -> Evidence:
    """Index the address/symbol/source facts of ``session``.

    ``!verifier 0x80`` dumps can hold a million frame lines; their frames are
    read lazily, and only the frame that explains a leak is added (by the
    leak analysis), not the whole dump.
    """
    ev = Evidence(modules=list(session.modules))
    for ln in session.ln_results:
        _add_ln(ev, ln)
    for stack in session.stacks:
        _add_stack(ev, stack)
    for bc in session.bugchecks:
        if bc.stack is not None:
            _add_stack(ev, bc.stack)
    for ea in session.exception_analyses:
        if ea.stack is not None:
            _add_stack(ev, ea.stack)
    # allocation stacks of user-mode leak evidence (``!heap -p -a``, ``dps``, ``!htrace``)
    for info in session.heap_blocks:
        if info.stack is not None:
            _add_stack(ev, info.stack)
    for dump in session.dps_dumps:
        if dump.stack is not None:
            _add_stack(ev, dump.stack)
    for report in session.handle_traces:
        for rec in report.records:
            if rec.stack is not None:
                _add_stack(ev, rec.stack)
    for driver in session.drivers:
        table = driver.allocations
        if table is None:
            continue
        for row in table.rows:
            if (
                row.caller is not None
                and row.caller_symbol is not None
                and row.caller_symbol.offset
            ):
                ev.address_symbol.setdefault(canonical_address(row.caller.value), row.caller_symbol)
    return ev


def add_stack(ev: Evidence, stack: Stack) -> None:
    """Add one more stack's facts (a pool-log record that explains a leak)."""
    _add_stack(ev, stack)


def _add_ln(ev: Evidence, ln: LnResult) -> None:
    query = canonical_address(ln.query.value) if ln.query is not None else None
    if query is not None:
        ev.ln_by_address[query] = ln
    sym = ln.before.symbol if ln.before is not None else None
    if sym is None and ln.exact:
        sym = ln.exact[0].symbol
    if query is not None and sym is not None:
        ev.address_symbol[query] = sym
    if ln.source is not None:
        loc = _loc(ln.source, Origin.LN, sym)
        if query is not None:
            ev.address_source[query] = loc
        if sym is not None:
            key = symbol_key(sym)
            if key:
                ev.symbol_source.setdefault(key, loc)


def _add_stack(ev: Evidence, stack: Stack) -> None:
    frames = stack.frames
    for i, fr in enumerate(frames):
        sym = fr.symbol
        # Where this frame's code is: a log frame prints it directly; a k-style
        # frame's location is the return address printed on the row above.
        addr: int | None = None
        if stack.kind is StackKind.POOL_LOG or stack.kind is StackKind.TRACE:
            addr = fr.address.value if fr.address is not None else None
        elif i > 0 and frames[i - 1].return_address is not None and not fr.inline:
            prev = frames[i - 1].return_address
            addr = prev.value if prev is not None else None
        if addr is not None:
            addr = canonical_address(addr)
            if sym is not None and (sym.function or sym.offset is not None):
                ev.address_symbol.setdefault(addr, sym)
        if fr.source is not None and sym is not None:
            loc = _loc(fr.source, Origin.ANNOTATION, sym)
            key = symbol_key(sym)
            if key:
                ev.symbol_source.setdefault(key, loc)
            if addr is not None:
                ev.address_source.setdefault(addr, loc)


def _loc(src: SourceRef, origin: Origin, sym: SymbolRef | None) -> SourceLocation:
    return SourceLocation(
        path=src.path,
        line=src.line,
        origin=origin,
        evidence=src.range,
        function=sym.display if sym is not None else None,
    )
