"""The session outline and its folding regions.

A long log is a sequence of commands, each with blocks of output the
parsers understood. The outline lists them in that shape (command, then the
bug checks, verifier reports, pool records, ``ln`` results, stacks and
module lists printed in its output) so an editor can show breadcrumbs and
jump between commands; the folds let a reader collapse what they are done
with. Text before the first prompt has no command, so its blocks sit at the
top level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from ..analysis import Analysis
from ..analysis.findings import bugcheck_title
from ..analysis.leaks import Leak
from ..model import (
    AppVerifierEntry,
    BugCheck,
    Command,
    CrtLeakReport,
    HandleTraceReport,
    HeapBlockInfo,
    HeapLeakScan,
    LnResult,
    ModuleInfo,
    PoolAllocation,
    PoolAllocationTable,
    PoolLogRecord,
    PoolUsedSnapshot,
    Position,
    Range,
    Stack,
    StackKind,
    UmdhRecord,
    VerifiedDriver,
    VerifierReport,
)
from .crash import reported, stop_where, user_frames_summary


class NodeKind(str, Enum):
    """What an outline entry stands for (the protocol layer picks an icon for each)."""

    COMMAND = "command"
    BUGCHECK = "bugcheck"
    REPORT = "verifier-report"
    DRIVER = "driver"
    TABLE = "pool-table"
    ROW = "pool-row"
    RECORD = "pool-record"
    LN = "ln"
    STACK = "stack"
    MODULES = "modules"
    MODULE = "module"
    CRASH = "crash"  # one stop of the crash triage (bug check, exception, verifier stop)
    # leak evidence beyond the pool tables (``leak_nodes``)
    HEAP_SCAN = "heap-scan"  # !heap -l
    HEAP_ROW = "heap-row"
    HEAP_BLOCK = "heap-block"  # !heap -p -a
    HANDLE_TRACES = "handle-traces"  # !htrace
    HANDLE_TRACE = "handle-trace"
    UMDH = "umdh"  # a UMDH comparison
    UMDH_RECORD = "umdh-record"
    CRT_DUMP = "crt-dump"
    CRT_BLOCK = "crt-block"
    APPVERIF_ENTRY = "appverif-entry"
    POOLUSED = "poolused"
    POOLUSED_ROW = "poolused-row"


@dataclass(frozen=True, slots=True)
class OutlineNode:
    name: str
    kind: NodeKind
    range: Range
    selection: Range  # always inside ``range``
    detail: str = ""
    children: tuple[OutlineNode, ...] = ()


@dataclass(frozen=True, slots=True)
class Fold:
    """Lines ``start``..``end`` (both inclusive) can be collapsed; ``end > start``."""

    start: int
    end: int
    region: bool = False  # a whole command's output (rather than a block inside it)


# --------------------------------------------------------------------------- helpers


def _line_extent(lines: Sequence[str], line: int) -> Range:
    """The non-blank part of one line (the whole line when it is blank)."""
    text = lines[line] if 0 <= line < len(lines) else ""
    stripped = text.lstrip()
    start = len(text) - len(stripped)
    end = len(text.rstrip())
    if end <= start:
        return Range.on_line(line, 0, len(text))
    return Range.on_line(line, start, end)


def _last_text_line(lines: Sequence[str], first: int, end: int) -> int:
    """The last non-blank line in ``first..end-1``, or ``first`` when all are blank."""
    for i in range(min(end, len(lines)) - 1, first, -1):
        if lines[i].strip():
            return i
    return first


def _command_range(cmd: Command, lines: Sequence[str]) -> Range:
    last = _last_text_line(lines, cmd.line, max(cmd.output_end, cmd.line + 1))
    end = len(lines[last]) if last < len(lines) else 0
    return Range(Position(cmd.line, 0), Position(last, end))


def _inside(selection: Range, rng: Range) -> Range:
    """``selection`` when ``rng`` covers it, else the start of ``rng`` (the protocol requires it)."""
    return selection if rng.covers(selection) else Range(rng.start, rng.start)


def _join(a: Range, b: Range) -> Range:
    return Range(min(a.start, b.start), max(a.end, b.end))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- nodes


def _bugcheck_node(bc: BugCheck) -> OutlineNode:
    rng = bc.block_range if bc.block_range is not None else bc.range
    rng = _join(rng, bc.range)
    detail = ", ".join(
        f"Arg{a.index} {a.value.text}" for a in sorted(bc.args, key=lambda a: a.index)
    )
    children: list[OutlineNode] = []
    if bc.stack is not None and bc.stack.frames:
        children.append(_stack_node(bc.stack))
    return OutlineNode(
        name=bugcheck_title(bc.code, bc.name),
        kind=NodeKind.BUGCHECK,
        range=rng,
        selection=_inside(bc.range, rng),
        detail=detail,
        children=tuple(children),
    )


def _row_node(row: PoolAllocation, leak: Leak | None) -> OutlineNode:
    if row.caller_symbol is not None:
        detail = row.caller_symbol.display
    elif row.caller is not None:
        detail = row.caller.text
    else:
        detail = ""
    if leak is not None:
        detail = f"leaked, {detail}" if detail else "leaked"
    return OutlineNode(
        name=f"{row.address.text} {row.tag} 0x{row.size.value:x}",
        kind=NodeKind.ROW,
        range=row.range,
        selection=_inside(row.address.range, row.range),
        detail=detail,
    )


def _table_node(table: PoolAllocationTable, leak_of: dict[int, Leak]) -> OutlineNode:
    rows = [_row_node(r, leak_of.get(id(r))) for r in table.rows]
    leaked = sum(1 for r in table.rows if id(r) in leak_of)
    if leaked:
        name = f"Pool Allocations ({leaked} leaked)"
    else:
        name = f"Pool Allocations ({_plural(len(table.rows), 'row')})"
    total = sum(r.size.value for r in table.rows)
    detail = f"{total:,} bytes" + (", cut short" if table.truncated else "")
    return OutlineNode(
        name=name,
        kind=NodeKind.TABLE,
        range=table.range,
        selection=_inside(table.header_range, table.range),
        detail=detail,
        children=tuple(rows),
    )


def _driver_node(drv: VerifiedDriver, leak_of: dict[int, Leak]) -> OutlineNode:
    children = (_table_node(drv.allocations, leak_of),) if drv.allocations is not None else ()
    return OutlineNode(
        name=drv.name,
        kind=NodeKind.DRIVER,
        range=drv.range,
        selection=_inside(drv.name_range, drv.range),
        detail=drv.state,
        children=children,
    )


def _report_node(
    rep: VerifierReport, lines: Sequence[str], leak_of: dict[int, Leak]
) -> OutlineNode:
    parts: list[str] = []
    if rep.flags is not None and rep.flags.level is not None:
        parts.append(f"level {rep.flags.level.text}")
    parts.append(_plural(len(rep.drivers), "driver"))
    return OutlineNode(
        name="Driver Verifier report",
        kind=NodeKind.REPORT,
        range=rep.range,
        selection=_inside(_line_extent(lines, rep.range.start.line), rep.range),
        detail=", ".join(parts),
        children=tuple(_driver_node(d, leak_of) for d in rep.drivers),
    )


def _record_node(rec: PoolLogRecord) -> OutlineNode:
    name = f"Pool block {rec.address.text}"
    if rec.op.value != "unknown":
        name += f" ({rec.op.value})"
    return OutlineNode(
        name=name,
        kind=NodeKind.RECORD,
        range=rec.range,
        selection=_inside(rec.header_range, rec.range),
        # the frame count would force the lazy stack of every record in a dump
        detail=f"Size {rec.size.text}, {_plural(rec.range.end.line - rec.header_range.end.line, 'line')}",
    )


def _ln_node(ln: LnResult, lines: Sequence[str]) -> OutlineNode:
    sym = ln.before or (ln.exact[0] if ln.exact else None) or ln.after
    if sym is not None:
        name = sym.symbol.display
        selection = sym.symbol.range
    else:
        name = f"ln {ln.query.text}" if ln.query is not None else "ln"
        selection = _line_extent(lines, ln.range.start.line)
    detail = ""
    if ln.source is not None:
        file_name = ln.source.path.replace("\\", "/").rsplit("/", 1)[-1]
        detail = f"{file_name}:{ln.source.line}"
    elif ln.query is not None and sym is not None:
        detail = ln.query.text
    return OutlineNode(
        name=name,
        kind=NodeKind.LN,
        range=ln.range,
        selection=_inside(selection, ln.range),
        detail=detail,
    )


_STACK_NAMES = {
    StackKind.K: "Stack",
    StackKind.STACK_TEXT: "STACK_TEXT",
    StackKind.POOL_LOG: "Allocation stack",
    StackKind.TRACE: "Trace",
}


def _stack_node(stack: Stack) -> OutlineNode:
    first = stack.frames[0].range if stack.frames else stack.range
    detail = _plural(len(stack.frames), "frame")
    if stack.thread:
        detail += f", {stack.thread.strip()}"
    return OutlineNode(
        name=_STACK_NAMES.get(stack.kind, "Stack"),
        kind=NodeKind.STACK,
        range=stack.range,
        selection=_inside(first, stack.range),
        detail=detail,
    )


def _module_nodes(mods: list[ModuleInfo], lines: Sequence[str]) -> OutlineNode:
    rng = mods[0].range
    for m in mods[1:]:
        rng = _join(rng, m.range)
    children = tuple(
        OutlineNode(
            name=m.name,
            kind=NodeKind.MODULE,
            range=m.range,
            selection=_inside(m.name_range, m.range),
            detail=("unloaded" if m.unloaded else (m.symbol_status or "")),
        )
        for m in mods
    )
    unloaded = sum(1 for m in mods if m.unloaded)
    detail = _plural(len(mods) - unloaded, "module")
    if unloaded:
        detail += f", {unloaded} unloaded"
    return OutlineNode(
        name="Modules",
        kind=NodeKind.MODULES,
        range=rng,
        selection=_inside(_line_extent(lines, mods[0].range.start.line), rng),
        detail=detail,
        children=children,
    )


def _module_groups(
    mods: Sequence[ModuleInfo], owner: dict[int, int | None]
) -> list[list[ModuleInfo]]:
    """Module records printed by one command form one list (without a prompt: adjacent rows)."""
    groups: list[list[ModuleInfo]] = []
    last: int | None = -1
    for m in mods:
        key = owner[id(m)]
        near = bool(groups) and m.range.start.line - groups[-1][-1].range.end.line <= 3
        if groups and key == last and (key is not None or near):
            groups[-1].append(m)
        else:
            groups.append([m])
        last = key
    return groups


# --------------------------------------------------------------------------- outline


def outline(analysis: Analysis, lines: Sequence[str]) -> list[OutlineNode]:
    """The session as a tree: commands with the blocks of their output, in log order."""
    session = analysis.session
    leak_of = {id(leak.allocation): leak for leak in analysis.leaks}
    blocks: list[OutlineNode] = []
    blocks.extend(_bugcheck_node(b) for b in session.bugchecks)
    blocks.extend(_report_node(r, lines, leak_of) for r in session.verifier_reports)
    blocks.extend(_record_node(r) for r in session.pool_log)
    blocks.extend(_ln_node(ln, lines) for ln in session.ln_results)
    blocks.extend(_stack_node(s) for s in session.stacks if s.frames)

    mod_owner: dict[int, int | None] = {}
    for m in session.modules:
        cmd = session.command_at(m.range.start.line)
        mod_owner[id(m)] = cmd.line if cmd is not None else None
    blocks.extend(_module_nodes(g, lines) for g in _module_groups(session.modules, mod_owner))
    blocks.extend(leak_nodes(analysis, lines))

    by_command: dict[int, list[OutlineNode]] = {}
    top: list[OutlineNode] = []
    for node in blocks:
        cmd = session.command_at(node.range.start.line)
        if cmd is None:
            top.append(node)
        else:
            by_command.setdefault(cmd.line, []).append(node)

    for cmd in session.commands:
        rng = _command_range(cmd, lines)
        kids = sorted(by_command.get(cmd.line, []), key=lambda n: n.range.start)
        for k in kids:
            rng = _join(rng, k.range)
        top.append(
            OutlineNode(
                name=cmd.text or cmd.prompt.text,
                kind=NodeKind.COMMAND,
                range=rng,
                selection=_inside(cmd.text_range if cmd.text else cmd.prompt.range, rng),
                detail=cmd.prompt.text,
                children=tuple(kids),
            )
        )
    top.sort(key=lambda n: n.range.start)
    return [*crash_nodes(analysis), *(_fit(n) for n in top)]


def crash_nodes(analysis: Analysis) -> list[OutlineNode]:
    """One node per stop, listed first: what stopped, in whose module, where."""
    out: list[OutlineNode] = []
    for t in analysis.triage:
        if not reported(t):
            continue
        parts = [p for p in (t.culprit, stop_where(t)) if p]
        n, _mods = user_frames_summary(t.frames)
        if t.frames:
            parts.append(f"{n} of {_plural(len(t.frames), 'frame')} yours")
        out.append(
            OutlineNode(
                name=f"Crash: {t.title}",
                kind=NodeKind.CRASH,
                range=t.range,
                selection=t.range,
                detail=" · ".join(parts),
            )
        )
    return out


def _fit(node: OutlineNode) -> OutlineNode:
    """Grow a node's range over its children (editors reject a child outside its parent)."""
    if not node.children:
        return node
    kids = tuple(_fit(k) for k in node.children)
    rng = node.range
    for k in kids:
        rng = _join(rng, k.range)
    return OutlineNode(node.name, node.kind, rng, node.selection, node.detail, kids)


# --------------------------------------------------------------------------- folding


def folds(analysis: Analysis, lines: Sequence[str]) -> list[Fold]:
    """Each command's output, then the blocks inside it; at least two lines each."""
    session = analysis.session
    out: dict[tuple[int, int], Fold] = {}

    def add(start: int, end: int, region: bool = False) -> None:
        if end > start and (start, end) not in out:
            out[(start, end)] = Fold(start, end, region)

    for cmd in session.commands:
        add(
            cmd.line,
            _last_text_line(lines, cmd.line, max(cmd.output_end, cmd.line + 1)),
            region=True,
        )
    for bc in session.bugchecks:
        if bc.block_range is not None:
            add(bc.block_range.start.line, bc.block_range.end.line)
        if bc.stack is not None:
            add(bc.stack.range.start.line, bc.stack.range.end.line)
    for rep in session.verifier_reports:
        add(rep.range.start.line, rep.range.end.line)
        for drv in rep.drivers:
            add(drv.range.start.line, drv.range.end.line)
            if drv.allocations is not None:
                add(drv.allocations.range.start.line, drv.allocations.range.end.line)
    for rec in session.pool_log:
        add(rec.range.start.line, rec.range.end.line)
    for st in session.stacks:
        add(st.range.start.line, st.range.end.line)
    for start, end in leak_folds(analysis):
        add(start, end)
    return sorted(out.values(), key=lambda f: (f.start, -f.end))


# --------------------------------------------------------------------------- leak evidence


def _leaked(analysis: Analysis, rng: Range) -> int:
    return sum(1 for r in analysis.leak_records if rng.covers(r.range))


def _heap_scan_node(analysis: Analysis, scan: HeapLeakScan, lines: Sequence[str]) -> OutlineNode:
    rows = tuple(
        OutlineNode(
            name=f"{row.user.text} 0x{row.user_size:x}",
            kind=NodeKind.HEAP_ROW,
            range=row.range,
            selection=_inside(row.user.range, row.range),
            detail=f"heap {row.heap.text}" + (f", {row.flags}" if row.flags else ""),
        )
        for row in scan.rows
    )
    detail = _plural(len(scan.rows), "row")
    if scan.count is not None:
        detail += f", {scan.count.value:,} found"
    if scan.truncated:
        detail += ", cut short"
    name = "!heap -l" + (f" ({_plural(len(scan.rows), 'unreachable block')})" if rows else "")
    return OutlineNode(
        name=name,
        kind=NodeKind.HEAP_SCAN,
        range=scan.range,
        selection=_inside(_line_extent(lines, scan.range.start.line), scan.range),
        detail=detail,
        children=rows,
    )


def _heap_block_node(info: HeapBlockInfo, lines: Sequence[str]) -> OutlineNode:
    what = info.user_address or info.address
    name = f"Heap block {what.text}" if what is not None else "Heap block"
    parts = [p for p in ("page heap" if info.page_heap else "", info.state) if p]
    if info.user_size is not None:
        parts.append(f"0x{info.user_size.value:x} bytes")
    kids = (_stack_node(info.stack),) if info.stack is not None and info.stack.frames else ()
    return OutlineNode(
        name=name,
        kind=NodeKind.HEAP_BLOCK,
        range=info.range,
        selection=_inside(_line_extent(lines, info.range.start.line), info.range),
        detail=", ".join(parts),
        children=kids,
    )


def _htrace_node(report: HandleTraceReport, lines: Sequence[str]) -> OutlineNode:
    kids = tuple(
        OutlineNode(
            name=f"Handle {t.handle.text} {t.op}",
            kind=NodeKind.HANDLE_TRACE,
            range=t.range,
            selection=_inside(t.handle.range, t.range),
            detail=_plural(len(t.stack.frames), "frame") if t.stack is not None else "",
        )
        for t in report.records
    )
    opened = sum(1 for t in report.records if t.op == "OPEN")
    name = "!htrace -diff" if report.diff else "!htrace"
    detail = f"{opened} still open" if report.diff else _plural(len(report.records), "record")
    return OutlineNode(
        name=name,
        kind=NodeKind.HANDLE_TRACES,
        range=report.range,
        selection=_inside(_line_extent(lines, report.range.start.line), report.range),
        detail=detail,
        children=kids,
    )


def _umdh_nodes(analysis: Analysis, lines: Sequence[str]) -> list[OutlineNode]:
    """One node per UMDH comparison: its records, closed by its total line."""
    session = analysis.session
    records = [u for u in session.umdh if u.comparison]
    if not records:
        return []
    totals = sorted(session.umdh_totals, key=lambda t: t.range.start.line)
    groups: dict[int, list[UmdhRecord]] = {}
    for u in records:
        end = next((i for i, t in enumerate(totals) if t.range.start.line > u.range.start.line), -1)
        groups.setdefault(end, []).append(u)
    out: list[OutlineNode] = []
    for end, recs in groups.items():
        total = totals[end] if end >= 0 else None
        rng = Range(recs[0].range.start, (total.range if total else recs[-1].range).end)
        kids = tuple(
            OutlineNode(
                name=u.backtrace,
                kind=NodeKind.UMDH_RECORD,
                range=u.range,
                selection=_inside(u.backtrace_range, u.range),
                detail=f"{'+' if (u.delta or 0) >= 0 else '-'}0x{abs(u.delta or 0):x} bytes",
            )
            for u in recs
        )
        grew = sum(1 for u in recs if (u.delta or 0) > 0)
        detail = f"{grew} of {_plural(len(recs), 'trace')} grew"
        if total is not None:
            word = "increase" if total.increase else "decrease"
            detail += f", total {word} 0x{total.value.value:x}"
        out.append(
            OutlineNode(
                name="UMDH comparison",
                kind=NodeKind.UMDH,
                range=rng,
                selection=_inside(_line_extent(lines, rng.start.line), rng),
                detail=detail,
                children=kids,
            )
        )
    return out


def _crt_node(report: CrtLeakReport, lines: Sequence[str]) -> OutlineNode:
    kids = tuple(
        OutlineNode(
            name=f"{{{b.number.value}}} {b.kind} block {b.address.text}",
            kind=NodeKind.CRT_BLOCK,
            range=b.range,
            selection=_inside(b.number.range, b.range),
            detail=f"{b.size.value:,} bytes"
            + (
                f", {b.source.path.replace(chr(92), '/').rsplit('/', 1)[-1]}:{b.source.line}"
                if b.source
                else ""
            ),
        )
        for b in report.blocks
    )
    head = report.header_range if report.header_range is not None else report.range
    return OutlineNode(
        name=f"CRT leak dump ({_plural(len(report.blocks), 'block')})",
        kind=NodeKind.CRT_DUMP,
        range=report.range,
        selection=_inside(_line_extent(lines, head.start.line), report.range),
        detail=f"{sum(b.size.value for b in report.blocks):,} bytes"
        + ("" if report.complete else ", not complete"),
        children=kids,
    )


def _appverif_node(analysis: Analysis, e: AppVerifierEntry, lines: Sequence[str]) -> OutlineNode:
    code = f"0x{e.stop_code.value:X}" if e.stop_code is not None else "?"
    parts = [p for p in (e.layer, e.severity) if p]
    if _leaked(analysis, e.range):
        parts.insert(0, "leak")
    sel = (
        e.message_range if e.message_range is not None else _line_extent(lines, e.range.start.line)
    )
    return OutlineNode(
        name=f"App Verifier stop {code}: {e.message}" if e.message else f"App Verifier stop {code}",
        kind=NodeKind.APPVERIF_ENTRY,
        range=e.range,
        selection=_inside(sel, e.range),
        detail=", ".join(parts),
    )


def _poolused_node(analysis: Analysis, snap: PoolUsedSnapshot) -> OutlineNode:
    grew = [g for g in analysis.pool_growth if snap.range.covers(g.after.range)]
    kids = tuple(
        OutlineNode(
            name=g.tag.rstrip(),
            kind=NodeKind.POOLUSED_ROW,
            range=g.after.range,
            selection=_inside(g.after.tag_range, g.after.range),
            detail=f"+{g.allocations:,} allocation{'' if g.allocations == 1 else 's'}, "
            f"+{g.bytes:,} bytes",
        )
        for g in grew
    )
    detail = _plural(len(snap.rows), "tag")
    if snap.sort:
        detail += f", {snap.sort.strip()}"
    if grew:
        detail += f", {len(grew)} grew"
    return OutlineNode(
        name="!poolused",
        kind=NodeKind.POOLUSED,
        range=snap.range,
        selection=_inside(snap.header_range, snap.range),
        detail=detail,
        children=kids,
    )


def leak_nodes(analysis: Analysis, lines: Sequence[str]) -> list[OutlineNode]:
    """Outline nodes for heap scans, heap blocks, handle traces, UMDH, CRT dumps,
    App Verifier log entries and ``!poolused`` snapshots."""
    s = analysis.session
    out: list[OutlineNode] = []
    out.extend(_heap_scan_node(analysis, scan, lines) for scan in s.heap_leak_scans)
    out.extend(_heap_block_node(info, lines) for info in s.heap_blocks)
    out.extend(_htrace_node(r, lines) for r in s.handle_traces if r.records)
    out.extend(_umdh_nodes(analysis, lines))
    out.extend(_crt_node(r, lines) for r in s.crt_leaks)
    out.extend(_appverif_node(analysis, e, lines) for e in s.appverif_entries)
    out.extend(_poolused_node(analysis, snap) for snap in s.poolused_snapshots)
    return out


def leak_folds(analysis: Analysis) -> list[tuple[int, int]]:
    """Line spans of the leak-evidence blocks (inclusive)."""
    s = analysis.session
    ranges: list[Range] = [
        *(scan.range for scan in s.heap_leak_scans),
        *(info.range for info in s.heap_blocks),
        *(r.range for r in s.handle_traces),
        *(t.range for r in s.handle_traces for t in r.records),
        *(u.range for u in s.umdh if u.comparison),
        *(r.range for r in s.crt_leaks),
        *(e.range for e in s.appverif_entries),
        *(snap.range for snap in s.poolused_snapshots),
        *(d.range for d in s.dps_dumps),
    ]
    return [(r.start.line, r.end.line) for r in ranges]
