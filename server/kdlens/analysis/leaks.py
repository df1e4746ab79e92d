"""Leaked pool allocations: which rows are leaks, and everything the log knows about each.

A row of a ``Pool Allocations`` table is a leak when its driver has unloaded,
or when a 0xC4/0x62 bug check ("driver unloaded without freeing its pool")
names that driver. Each leak is then linked to the evidence that explains it:
its ``!verifier 0x80`` allocation record and stack, ``ln`` output for its
caller, the module it belongs to, and the source line of the code that
allocated it (through the resolver chain).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..model import (
    Frame,
    LnResult,
    ModuleInfo,
    PoolAllocation,
    PoolAllocationTable,
    PoolLogRecord,
    PoolOp,
    Session,
    Stack,
    SymbolRef,
    VerifiedDriver,
)
from ..numbers import canonical_address, normalize_module, split_symbol
from .bugchecks import BugCheckCase
from .evidence import Evidence, SourceLocation, symbol_key
from .resolve import Resolver
from .settings import AnalysisSettings

#: Arg1 of bug check 0xC4 for "driver unloaded without freeing its pool allocations".
C4_LEAK_AT_UNLOAD = 0x62
BUGCHECK_VERIFIER = 0xC4


@dataclass(slots=True)
class Leak:
    allocation: PoolAllocation
    driver: VerifiedDriver
    table: PoolAllocationTable
    case: BugCheckCase | None = None
    history: list[PoolLogRecord] = field(default_factory=list)
    record: PoolLogRecord | None = None  # the allocation record (newest)
    frame: Frame | None = None  # the first frame outside the allocator wrappers
    ln: LnResult | None = None
    module: ModuleInfo | None = None
    call_site: SymbolRef | None = None
    call_site_address: int | None = None
    source: SourceLocation | None = None

    @property
    def address(self) -> int:
        return canonical_address(self.allocation.address.value)

    @property
    def size(self) -> int:
        return self.allocation.size.value

    @property
    def tag(self) -> str:
        return self.allocation.tag

    @property
    def call_site_label(self) -> str:
        if self.call_site is not None:
            return self.call_site.display
        if self.call_site_address is not None:
            return f"0x{self.call_site_address:x}"
        return "an unknown caller"

    @property
    def function_label(self) -> str:
        """``module!function`` of the call site (no offset), else the address."""
        if self.call_site is not None and self.call_site.function:
            return self.call_site.qualified
        return self.call_site_label

    @property
    def group_key(self) -> str:
        """Leaks group by allocating function: ``module!function``, case-folded."""
        if self.call_site is not None and self.call_site.function:
            key = symbol_key(
                SymbolRef(
                    self.call_site.text,
                    self.call_site.range,
                    self.call_site.module,
                    self.call_site.function,
                )
            )
            if key:
                return key.rsplit("+", 1)[0]
        if self.call_site_address is not None:
            return f"0x{self.call_site_address:x}"
        return "?"


@dataclass(slots=True)
class CallSiteGroup:
    """Leaks allocated by one function (each leak keeps its own line)."""

    key: str
    label: str
    leaks: list[Leak] = field(default_factory=list)

    @property
    def sources(self) -> list[SourceLocation]:
        """The distinct source lines of the group's leaks, in order of first appearance."""
        out: list[SourceLocation] = []
        for leak in self.leaks:
            if leak.source is not None and all(
                (s.path, s.line) != (leak.source.path, leak.source.line) for s in out
            ):
                out.append(leak.source)
        return out

    @property
    def count(self) -> int:
        return len(self.leaks)

    @property
    def bytes(self) -> int:
        return sum(leak.size for leak in self.leaks)


def iter_frames(stack: Stack) -> Iterator[Frame]:
    """A stack's frames, read one at a time when the stack supports it (pool-log stacks)."""
    lazy = getattr(stack, "iter_frames", None)
    if callable(lazy):
        frames: Iterator[Frame] = lazy()
        return frames
    return iter(stack.frames)


def leak_cases(cases: Sequence[BugCheckCase]) -> list[BugCheckCase]:
    return [c for c in cases if c.code == BUGCHECK_VERIFIER and c.arg(1) == C4_LEAK_AT_UNLOAD]


def _driver_matches(driver: VerifiedDriver, names: Sequence[str]) -> bool:
    mine = normalize_module(driver.name)
    return any(normalize_module(n) == mine for n in names)


def _case_for(
    driver: VerifiedDriver, session: Session, cases: Sequence[BugCheckCase], line: int
) -> BugCheckCase | None:
    """The 0x62 case that blames ``driver``, if any."""
    if not cases:
        return None
    for case in cases:
        if _driver_matches(driver, case.driver_names()):
            return case
    cmd = session.command_at(line)
    if cmd is not None and cmd.verb == "!verifier":
        named = [a for a in cmd.args.split() if "." in a or not a.lower().startswith("0x")]
        if named and _driver_matches(driver, named):
            return cases[-1]
    # A 0x62 case that names no driver at all still speaks for the drivers shown.
    for case in cases:
        if not case.driver_names():
            return case
    return None


def find_leaks(
    session: Session,
    cases: Sequence[BugCheckCase],
    evidence: Evidence,
    resolver: Resolver,
    settings: AnalysisSettings,
) -> list[Leak]:
    by_address: dict[int, list[PoolLogRecord]] = {}
    for rec in session.pool_log:
        by_address.setdefault(canonical_address(rec.address.value), []).append(rec)
    for recs in by_address.values():
        recs.sort(key=lambda r: (r.index, r.range.start.line))

    c62 = leak_cases(cases)
    leaks: list[Leak] = []
    for driver in session.drivers:
        table = driver.allocations
        if table is None or not table.rows:
            continue
        case = _case_for(driver, session, c62, table.range.start.line)
        if case is None and not driver.unloaded:
            continue
        for row in table.rows:
            leak = Leak(allocation=row, driver=driver, table=table, case=case)
            _link(leak, by_address, evidence, resolver, settings)
            leaks.append(leak)
    return leaks


def _link(
    leak: Leak,
    by_address: dict[int, list[PoolLogRecord]],
    evidence: Evidence,
    resolver: Resolver,
    settings: AnalysisSettings,
) -> None:
    row = leak.allocation
    leak.history = by_address.get(leak.address, [])
    allocs = [r for r in leak.history if r.op is PoolOp.ALLOCATE]
    unknown = [r for r in leak.history if r.op is PoolOp.UNKNOWN]
    leak.record = allocs[0] if allocs else (unknown[0] if unknown else None)

    caller = canonical_address(row.caller.value) if row.caller is not None else None
    if caller is not None:
        leak.ln = evidence.ln_by_address.get(caller)
    leak.call_site_address = caller
    leak.call_site = row.caller_symbol
    if leak.call_site is None and caller is not None:
        leak.call_site = evidence.symbol_at(caller)

    if leak.record is not None:
        # Pool-log stacks are read lazily; stop at the first frame that counts.
        for fr in iter_frames(leak.record.stack):
            if fr.symbol is None and fr.address is None:
                continue
            if settings.is_wrapper(fr.symbol):
                continue
            leak.frame = fr
            if fr.symbol is not None:
                leak.call_site = fr.symbol
            if fr.address is not None:
                leak.call_site_address = canonical_address(fr.address.value)
                if fr.symbol is not None and (fr.symbol.function or fr.symbol.offset is not None):
                    evidence.address_symbol.setdefault(leak.call_site_address, fr.symbol)
            break

    if leak.call_site_address is not None:
        leak.module = evidence.module_for_address(leak.call_site_address)
    if leak.module is None:
        name = (
            leak.call_site.module if leak.call_site and leak.call_site.module else leak.driver.name
        )
        leak.module = evidence.module_named(name)

    leak.source = resolver.resolve(leak.call_site_address, leak.call_site, return_address=True)
    if leak.source is None and caller is not None and caller != leak.call_site_address:
        leak.source = resolver.resolve(caller, row.caller_symbol, return_address=True)
    if (
        (leak.call_site is None or not leak.call_site.function)
        and leak.source
        and leak.source.function
    ):
        # the log printed no function name (no symbols loaded); the symbol file knows it
        named = _symbol_from_text(leak.source.function, row)
        if named is not None:
            leak.call_site = named


def _symbol_from_text(text: str, row: PoolAllocation) -> SymbolRef | None:
    module, function, offset = split_symbol(text)
    if function is None:
        return None
    where = row.caller.range if row.caller is not None else row.range
    return SymbolRef(text, where, module, function, offset)


def group_by_call_site(leaks: Sequence[Leak]) -> list[CallSiteGroup]:
    """Leaks grouped by allocating call site, largest total first (each address once)."""
    groups: dict[str, CallSiteGroup] = {}
    seen: set[int] = set()
    for leak in leaks:
        if leak.address in seen:
            continue
        seen.add(leak.address)
        g = groups.get(leak.group_key)
        if g is None:
            g = groups[leak.group_key] = CallSiteGroup(leak.group_key, leak.function_label)
        g.leaks.append(leak)
    return sorted(groups.values(), key=lambda g: (-g.bytes, -g.count, g.label))
