"""At most N diagnostics on a file, and a word on what was left out.

A Pool Allocations table of 200,000 rows is a legal log; its 400,000
diagnostics take the server seconds to convert and send and make an editor
crawl, while no reader goes through them one by one. ``cap_diagnostics``
keeps the most severe ones (errors, then warnings, information, hints; log
order within a severity) and, for each table or kind of finding that was
cut, adds one diagnostic on the table's header (or on the first finding of
that kind) saying how many are not shown and which call sites they come
from, so the shape of the problem stays visible.

Everything here is plain Python over the analysis' own types: the language
server applies it when it publishes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..analysis import Code, Diagnostic, LeakRecord, Severity
from ..model import Range

#: The code of a diagnostic that stands for diagnostics not shown.
NOT_SHOWN = "diagnostics-not-shown"
#: Most "not shown" diagnostics on one file; further groups share the last one.
MAX_SUMMARIES = 20
#: Call sites named in one summary before the rest are counted together.
SITES_NAMED = 5

#: What one finding of a code is called in a summary (singular, plural).
_NOUNS: dict[str, tuple[str, str]] = {
    Code.LEAKED_ALLOCATION: ("leaked allocation", "leaked allocations"),
    Code.NO_ALLOCATION_HISTORY: (
        "leak without allocation history",
        "leaks without allocation history",
    ),
    Code.LEAKED_HANDLE: ("leaked handle", "leaked handles"),
    Code.LEAKED_KEY: ("leaked registry key", "leaked registry keys"),
    Code.LEAKED_RESERVATION: ("leaked reservation", "leaked reservations"),
    Code.LEAKED_BSTR: ("leaked BSTR", "leaked BSTRs"),
    Code.LEAKED_COM_OBJECT: ("leaked COM allocation", "leaked COM allocations"),
    Code.LEAKED_LOCKED_PAGES: ("locked-pages leak", "locked-pages leaks"),
    Code.BUG_CHECK: ("bug check", "bug checks"),
}


@dataclass(frozen=True, slots=True)
class SiteCount:
    """How many hidden findings one call site (and source line, when known) allocated."""

    label: str
    count: int


def site_label(record: LeakRecord) -> str:
    """``MyDriver!AllocBuffer (queue.c:41)``: the allocating function, then its source line."""
    leak = record.pool_leak
    if leak is not None:
        label = leak.function_label
    elif record.call_site is not None and record.call_site.function:
        label = record.call_site.qualified
    else:
        label = record.call_site_label or "an unknown call site"
    if record.source is not None:
        label += f" ({record.source.short})"
    return label


def count_by_call_site(records: Iterable[LeakRecord]) -> list[SiteCount]:
    """Records counted per call site, most first (ties in the order they were met)."""
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    # Rows of one call site repeat the same spelling: normalise each spelling once.
    slots: dict[tuple[object, ...], str] = {}
    for rec in records:
        cs, src = rec.call_site, rec.source
        spelling = (
            rec.pool_leak is not None,
            (cs.text, cs.module, cs.function) if cs is not None else None,
            rec.call_site_address,
            (src.path, src.line) if src is not None else None,
        )
        slot = slots.get(spelling)
        if slot is None:
            key = rec.pool_leak.group_key if rec.pool_leak is not None else rec.group_key
            label = site_label(rec)
            slot = slots[spelling] = f"{key}\0{label}"
            labels.setdefault(slot, label)
        counts[slot] = counts.get(slot, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return [SiteCount(labels[slot], n) for slot, n in ordered]


def describe_sites(sites: Sequence[SiteCount], named: int = SITES_NAMED) -> str:
    """``1,200 from A (queue.c:41), 612 from B`` and the rest summed up."""
    parts = [f"{s.count:,} from {s.label}" for s in sites[:named]]
    rest = sites[named:]
    if rest:
        n = sum(s.count for s in rest)
        others = "other call site" if len(rest) == 1 else "other call sites"
        parts.append(f"{n:,} from {len(rest):,} {others}")
    return ", ".join(parts)


def _noun(code: str, n: int) -> str:
    one, many = _NOUNS.get(code, (f"'{code}' finding", f"'{code}' findings"))
    return one if n == 1 else many


@dataclass(slots=True)
class _Group:
    """Hidden diagnostics of one table (or one kind of finding) and one code."""

    code: str
    anchor: Range
    severity: Severity = Severity.HINT
    count: int = 0
    records: list[LeakRecord] = field(default_factory=list)


class _Lookup:
    """Which leak record a diagnostic reports (by the line it is on), and its group."""

    def __init__(self, records: Sequence[LeakRecord]) -> None:
        self._by_line: dict[int, LeakRecord] = {}
        for rec in records:
            self._by_line.setdefault(rec.range.start.line, rec)

    def record(self, d: Diagnostic) -> LeakRecord | None:
        rec = self._by_line.get(d.range.start.line)
        if rec is None or d.code not in (rec.code, Code.NO_ALLOCATION_HISTORY):
            return None
        return rec

    @staticmethod
    def key(d: Diagnostic, rec: LeakRecord | None) -> tuple[object, ...]:
        if rec is None:
            return ("code", d.code)
        if rec.pool_leak is not None:
            return ("table", id(rec.pool_leak.table), d.code)
        return ("kind", rec.kind, rec.origin, d.code)

    @staticmethod
    def anchor(rec: LeakRecord | None, first: Diagnostic) -> Range:
        """The table's header for a pool table's rows, else the group's first finding."""
        if rec is not None and rec.pool_leak is not None:
            return rec.pool_leak.table.header_range
        return first.range


def cap_diagnostics(
    diagnostics: Sequence[Diagnostic],
    limit: int,
    records: Sequence[LeakRecord] = (),
) -> list[Diagnostic]:
    """At most ``limit`` diagnostics: the most severe, then one summary per group cut.

    ``records`` (``Analysis.leak_records``) let a summary say which call sites
    the hidden leaks come from. The kept diagnostics stay in their order; the
    summaries follow them. Summaries count toward ``limit``.
    """
    limit = max(limit, 1)
    if len(diagnostics) <= limit:
        return list(diagnostics)
    lookup = _Lookup(records)
    recs = [lookup.record(d) for d in diagnostics]
    keys = [_Lookup.key(d, r) for d, r in zip(diagnostics, recs, strict=True)]
    first: dict[tuple[object, ...], int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    order = sorted(range(len(diagnostics)), key=lambda i: diagnostics[i].severity)
    room = min(MAX_SUMMARIES, limit)
    kept = limit - 1
    while True:
        groups = len({keys[i] for i in order[kept:]})
        wanted = min(groups, room)
        if kept + wanted <= limit:
            break
        kept = limit - wanted
    hidden: dict[tuple[object, ...], _Group] = {}
    for i in order[kept:]:
        d, rec = diagnostics[i], recs[i]
        g = hidden.get(keys[i])
        if g is None:
            g = _Group(d.code, _Lookup.anchor(rec, diagnostics[first[keys[i]]]))
            hidden[keys[i]] = g
        g.count += 1
        g.severity = min(g.severity, d.severity)
        if rec is not None:
            g.records.append(rec)
    shown = [diagnostics[i] for i in sorted(order[:kept])]
    return shown + _summaries(list(hidden.values()), limit, room)


def _summaries(groups: list[_Group], limit: int, room: int) -> list[Diagnostic]:
    out = [_summary(g, limit) for g in groups[: room - 1 if len(groups) > room else room]]
    rest = groups[len(out) :]
    if rest:
        n = sum(g.count for g in rest)
        out.append(
            Diagnostic(
                range=rest[0].anchor,
                severity=min(g.severity for g in rest),
                code=NOT_SHOWN,
                message=(
                    f"{n:,} more diagnostics of {len(rest):,} other tables or kinds not shown "
                    f"(kdlens.maxDiagnostics = {limit})"
                ),
                data={"notShown": n},
            )
        )
    return out


def _summary(g: _Group, limit: int) -> Diagnostic:
    message = (
        f"{g.count:,} more {_noun(g.code, g.count)} not shown (kdlens.maxDiagnostics = {limit})"
    )
    sites = count_by_call_site(g.records)
    if sites:
        message += ": " + describe_sites(sites)
    return Diagnostic(
        range=g.anchor,
        severity=g.severity,
        code=NOT_SHOWN,
        message=message,
        data={
            "notShown": g.count,
            "code": g.code,
            "callSites": [{"site": s.label, "count": s.count} for s in sites[:SITES_NAMED]],
        },
    )


# --------------------------------------------------------------------------- source files


@dataclass(frozen=True, slots=True)
class SourceCut:
    """What a source file keeps: the first ``kept`` findings in log order, and the rest by line."""

    kept: int
    #: 0-based source line -> findings there not shown, most first
    hidden_by_line: tuple[tuple[int, int], ...] = ()

    @property
    def hidden(self) -> int:
        return sum(n for _, n in self.hidden_by_line)

    def message(self, limit: int) -> str:
        where = ", ".join(
            f"{n:,} on line {line + 1:,}" for line, n in self.hidden_by_line[:SITES_NAMED]
        )
        rest = self.hidden_by_line[SITES_NAMED:]
        if rest:
            where += f", {sum(n for _, n in rest):,} on {len(rest):,} other lines"
        return (
            f"{self.hidden:,} more leaks allocated in this file not shown "
            f"(kdlens.maxDiagnostics = {limit}): {where}"
        )


def cut_source_findings(lines: Sequence[int], limit: int) -> SourceCut:
    """Keep the first findings of a source file (given by their 0-based lines) within ``limit``.

    One slot goes to the summary when anything is cut.
    """
    limit = max(limit, 1)
    if len(lines) <= limit:
        return SourceCut(len(lines))
    kept = limit - 1
    counts: dict[int, int] = {}
    for line in lines[kept:]:
        counts[line] = counts.get(line, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return SourceCut(kept, tuple(ordered))
