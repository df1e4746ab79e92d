"""Leak records as the editor shows them: which record a token belongs to, what
evidence and cross-checks go with it, and leaks grouped by allocating source line.

The analysis makes one ``LeakRecord`` per leaked resource whatever showed it
(``!heap -l``, UMDH, a CRT dump, ``!htrace -diff``, an Application Verifier
stop or XML entry, a bug check, a Driver Verifier table row). The token index
keeps the model record each token was read from; this module finds the leak
record behind it, so hovers, references, lenses and source diagnostics speak
about leaks the same way whatever the kind.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis import Analysis, Code, Diagnostic
from ..analysis.usermode_leaks import LeakKind, LeakOrigin, LeakRecord
from ..model import (
    AppVerifierEntry,
    CrtLeakBlock,
    Frame,
    HandleTrace,
    HeapLeakRow,
    Range,
    Stack,
    UmdhRecord,
    VerifierStop,
)

#: Leak kinds that are handles (their value is a handle, not an address).
HANDLE_KINDS = (LeakKind.HANDLE, LeakKind.KEY, LeakKind.POWER_NOTIFICATION)
#: Diagnostics that compare what the log prints with what it counts.
CROSS_CHECK_CODES = (
    Code.LEAK_LISTING_INCOMPLETE,
    Code.LEAK_COUNT_MISMATCH,
    Code.LEAK_BYTES_MISMATCH,
)
#: Where each origin's evidence comes from, in words.
ORIGIN_LABEL = {
    LeakOrigin.HEAP_SCAN: "`!heap -l` (no pointer to it was found in memory)",
    LeakOrigin.UMDH: "a UMDH comparison (growth between two snapshots)",
    LeakOrigin.CRT: "the CRT debug heap's leak dump",
    LeakOrigin.HTRACE: "`!htrace -diff` (opened since the last snapshot, still open)",
    LeakOrigin.VERIFIER_STOP: "an Application Verifier stop",
    LeakOrigin.APPVERIF_LOG: "an Application Verifier XML log entry",
    LeakOrigin.BUGCHECK: "a bug check",
    LeakOrigin.POOL_TABLE: "Driver Verifier's Pool Allocations table",
}


# --------------------------------------------------------------------------- finding records


def _starting_at(analysis: Analysis, line: int) -> list[LeakRecord]:
    """Records whose range starts on ``line`` (``leak_records`` is in log order)."""
    recs = analysis.leak_records
    i = bisect_left(recs, line, key=lambda r: r.range.start.line)
    out: list[LeakRecord] = []
    while i < len(recs) and recs[i].range.start.line == line:
        out.append(recs[i])
        i += 1
    return out


def record_of(analysis: Analysis, owner: object) -> LeakRecord | None:
    """The leak record a model record (a token's owner) reported, if it is a leak."""
    want: LeakOrigin | None = None
    line: int | None = None
    inside: Range | None = None
    if isinstance(owner, HeapLeakRow):
        want, line = LeakOrigin.HEAP_SCAN, owner.range.start.line
    elif isinstance(owner, CrtLeakBlock):
        want, line = LeakOrigin.CRT, owner.range.start.line
    elif isinstance(owner, HandleTrace):
        want, line = LeakOrigin.HTRACE, owner.range.start.line
    elif isinstance(owner, UmdhRecord):
        want, line = LeakOrigin.UMDH, owner.range.start.line
    elif isinstance(owner, VerifierStop):
        want, line = LeakOrigin.VERIFIER_STOP, owner.range.start.line
    elif isinstance(owner, AppVerifierEntry):
        want, inside = LeakOrigin.APPVERIF_LOG, owner.range
    if want is None:
        return None
    if inside is not None:
        for line_no in range(inside.start.line, inside.end.line + 1):
            for rec in _starting_at(analysis, line_no):
                if rec.origin is want and inside.contains(rec.range.start):
                    return rec
        return None
    assert line is not None
    for rec in _starting_at(analysis, line):
        if rec.origin is want:
            return rec
    return None


def records_citing(analysis: Analysis, rng: Range) -> list[LeakRecord]:
    """Records that use the evidence printed in ``rng`` (a ``!heap -p -a`` record, a dump)."""
    out: list[LeakRecord] = []
    for rec in analysis.leak_records:
        if any(rng.covers(rel.range) or rel.range == rng for rel in rec.related) or (
            rec.stack is not None and rng.covers(rec.stack.range)
        ):
            out.append(rec)
    return out


def evidence_stacks(analysis: Analysis) -> list[tuple[Stack, object]]:
    """Every saved stack of the leak evidence, with the record it was printed in."""
    s = analysis.session
    out: list[tuple[Stack, object]] = []
    out += [(b.stack, b) for b in s.heap_blocks if b.stack is not None]
    out += [(t.stack, t) for r in s.handle_traces for t in r.records if t.stack is not None]
    out += [(d.stack, d) for d in s.dps_dumps if d.stack is not None]
    out += [(u.stack, u) for u in s.umdh if u.stack is not None]
    out += [(e.stack, e) for e in s.appverif_entries if e.stack is not None]
    return out


@dataclass(frozen=True, slots=True)
class FramePlace:
    """Where a frame sits: its stack, its index, the record printing it, the leaks using it."""

    stack: Stack
    index: int
    printed_in: object
    records: tuple[LeakRecord, ...]


def frame_place(analysis: Analysis, frame: Frame) -> FramePlace | None:
    """The leak-evidence stack holding ``frame``, or None for any other stack."""
    line = frame.range.start.line
    for stack, printed_in in evidence_stacks(analysis):
        if not stack.range.start.line <= line <= stack.range.end.line:
            continue
        for i, fr in enumerate(stack.frames):
            if fr is frame:
                recs = tuple(r for r in analysis.leak_records if r.stack is stack)
                return FramePlace(stack, i, printed_in, recs)
    return None


def cross_checks_for(analysis: Analysis, rec: LeakRecord) -> list[Diagnostic]:
    """Count and byte cross-checks about the listing ``rec`` was read from."""
    out: list[Diagnostic] = []
    total_line: int | None = None
    if rec.origin is LeakOrigin.UMDH:
        # a UMDH total checks the comparison records printed between it and the one before
        after = [
            t.range.start.line
            for t in analysis.session.umdh_totals
            if t.range.start.line > rec.range.start.line
        ]
        total_line = min(after) if after else None
    for d in analysis.diagnostics:
        if d.code not in CROSS_CHECK_CODES:
            continue
        if any(rel.range.covers(rec.range) for rel in d.related) or (
            d.code == Code.LEAK_BYTES_MISMATCH and d.range.start.line == total_line
        ):
            out.append(d)
    return out


# --------------------------------------------------------------------------- words


def hex_size(n: int) -> str:
    return f"0x{n:x} ({n:,}) bytes" if n != 1 else "0x1 (1) byte"


_NOUN = {
    LeakKind.HEAP_BLOCK: ("heap block", "heap blocks"),
    LeakKind.POOL_BLOCK: ("pool block", "pool blocks"),
    LeakKind.HANDLE: ("handle", "handles"),
    LeakKind.KEY: ("registry key", "registry keys"),
    LeakKind.RESERVATION: ("virtual reservation", "virtual reservations"),
    LeakKind.BSTR: ("BSTR", "BSTRs"),
    LeakKind.COM_OBJECT: ("COM allocation", "COM allocations"),
    LeakKind.POWER_NOTIFICATION: ("power notification", "power notifications"),
    LeakKind.LOCKED_PAGES: ("locked-page report", "locked-page reports"),
}


def noun(kind: LeakKind, n: int = 1) -> str:
    one, many = _NOUN[kind]
    return one if n == 1 else many


def one_leak(rec: LeakRecord) -> str:
    """A few words for one leak: ``heap block of 0x40 (64) bytes``, ``handle 0x128``."""
    if rec.kind is LeakKind.POOL_BLOCK and rec.size is not None:
        tag = f", tag '{rec.tag}'" if rec.tag else ""
        return f"{hex_size(rec.size)}{tag}"
    if rec.kind in HANDLE_KINDS:
        value = f" 0x{rec.handle:x}" if rec.handle is not None else ""
        return f"{noun(rec.kind)}{value}"
    if rec.kind is LeakKind.LOCKED_PAGES:
        return f"0x{rec.count:x} locked pages" if rec.count is not None else "locked pages"
    if rec.origin is LeakOrigin.UMDH and rec.size is not None:
        n = rec.count
        more = f" in {n:,} allocation{'s' if n != 1 else ''}" if n is not None else ""
        return f"heap growth of {hex_size(rec.size)}{more}"
    if rec.size is not None:
        return f"{noun(rec.kind)} of {hex_size(rec.size)}"
    return noun(rec.kind)


# --------------------------------------------------------------------------- source lines


@dataclass(slots=True)
class SourceSite:
    """Leaks of any kind allocated on one line of one local source file."""

    path: Path
    line: int  # 1-based, as the debugger and the symbol files print it
    records: list[LeakRecord] = field(default_factory=list)

    @property
    def code(self) -> str:
        """The diagnostic code of the most frequent kind here."""
        counts: dict[str, int] = {}
        for r in self.records:
            counts[r.code] = counts.get(r.code, 0) + 1
        return max(counts.items(), key=lambda kv: (kv[1], kv[0] == Code.LEAKED_ALLOCATION))[0]


def source_sites(
    records: Sequence[LeakRecord], locate: Callable[[str], Path | None]
) -> list[SourceSite]:
    """Leaks grouped by the local file and line that allocated them, in log order.

    ``locate`` maps a build path to a workspace file (None when it has none);
    two spellings of one build path that land on the same file share a site.
    """
    sites: dict[tuple[Path, int], SourceSite] = {}
    for rec in records:
        src = rec.source
        if src is None or src.line <= 0:
            continue
        local = locate(src.path)
        if local is None:
            continue
        key = (local, src.line)
        site = sites.get(key)
        if site is None:
            site = sites[key] = SourceSite(local, src.line)
        site.records.append(rec)
    return list(sites.values())


def _sizes(recs: Sequence[LeakRecord], shown: int = 4) -> str:
    sizes = [r.size for r in recs if r.size is not None]
    if not sizes:
        return ""
    text = ", ".join(f"0x{s:x}" for s in sizes[:shown])
    if len(sizes) > shown:
        text += f", … {len(sizes) - shown} more"
    return f" ({text} bytes)"


def site_message(site: SourceSite, log_name: str) -> str:
    """``3 leaks here: 2 heap blocks (0x40, 0x40 bytes), 1 handle, see app.log:12``.

    One leak reads ``leaked <what>, see <log>:<line>``; several are counted by
    kind (most first) with their sizes, and the log line is the first record's.
    """
    recs = site.records
    first = min(r.range.start.line for r in recs) + 1
    see = f"see {log_name}:{first}"
    if len(recs) == 1:
        return f"leaked {one_leak(recs[0])}, {see}"
    by_kind: dict[LeakKind, list[LeakRecord]] = {}
    for r in recs:
        by_kind.setdefault(r.kind, []).append(r)
    parts = []
    for kind, group in sorted(by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0].value)):
        sizes = "" if kind in HANDLE_KINDS else _sizes(group)
        parts.append(f"{len(group):,} {noun(kind, len(group))}{sizes}")
    return f"{len(recs):,} leaks here: {', '.join(parts)}, {see}"


def record_label(rec: LeakRecord) -> str:
    """The related-information text for one record of a site."""
    where = {
        LeakOrigin.HEAP_SCAN: "!heap -l row",
        LeakOrigin.UMDH: "UMDH comparison",
        LeakOrigin.CRT: "CRT leak dump",
        LeakOrigin.HTRACE: "!htrace -diff record",
        LeakOrigin.VERIFIER_STOP: "verifier stop",
        LeakOrigin.APPVERIF_LOG: "App Verifier log entry",
        LeakOrigin.BUGCHECK: "bug check",
        LeakOrigin.POOL_TABLE: "Pool Allocations row",
    }[rec.origin]
    owner = f" of {rec.owner}" if rec.origin is LeakOrigin.POOL_TABLE and rec.owner else ""
    return f"{where}{owner}: {one_leak(rec)}"


__all__ = [
    "CROSS_CHECK_CODES",
    "HANDLE_KINDS",
    "ORIGIN_LABEL",
    "FramePlace",
    "SourceSite",
    "cross_checks_for",
    "evidence_stacks",
    "frame_place",
    "hex_size",
    "noun",
    "one_leak",
    "record_label",
    "record_of",
    "records_citing",
    "site_message",
    "source_sites",
]
