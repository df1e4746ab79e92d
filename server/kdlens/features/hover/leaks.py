"""Hovers on leak evidence other than Driver Verifier's pool tables.

A row of ``!heap -l``, a ``!heap -p -a`` record, an ``!htrace`` record, a
UMDH comparison, a CRT dump block, an Application Verifier stop or XML entry
and a ``dps`` dump each say something about one value; the hover first says
what the value under the cursor is, then what the leak it belongs to is
(size, allocating site and source line, the evidence linked to it, the
log's own count checks, its fingerprint), so every kind reads the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...analysis.usermode_leaks import LeakKind, LeakOrigin, LeakRecord, fingerprint_key
from ...index import Kind, Token
from ...model import (
    AppVerifierEntry,
    CrtLeakBlock,
    DpsDump,
    Frame,
    HandleTrace,
    HandleTraceReport,
    HeapBlockInfo,
    HeapLeakRow,
    HeapLeakScan,
    Num,
    Range,
    UmdhRecord,
    UmdhTotal,
    VerifierStop,
)
from ..leaks import (
    HANDLE_KINDS,
    ORIGIN_LABEL,
    cross_checks_for,
    frame_place,
    noun,
    record_of,
    records_citing,
)
from .code import address_markdown, source_facts, symbol_markdown
from .format import address, bullets, byte_size, code, esc, paragraphs, plural
from .types import HoverContext

# --------------------------------------------------------------------------- shared


def _same(r: Range, num: Num | None) -> bool:
    return num is not None and num.range == r


def _line(r: Range) -> str:
    return f"line {r.start.line + 1}"


def _printed(ctx: HoverContext, r: Range) -> str:
    if r.start.line != r.end.line or not 0 <= r.start.line < len(ctx.lines):
        return ""
    return ctx.lines[r.start.line][r.start.character : r.end.character]


def size_head(printed: str, value: int) -> str:
    """``**`0x1f8`** = 0x1f8 = 504 bytes``: the printed spelling, hex, decimal, KiB."""
    return f"**{code(printed or hex(value))}** = `0x{value:x}` = {byte_size(value)}"


def leak_title(rec: LeakRecord) -> str:
    """``Leaked heap block 0x0052b128`` / ``Leaked handle 0x128``."""
    value = ""
    if rec.kind in HANDLE_KINDS and rec.handle is not None:
        value = f" {code(f'0x{rec.handle:x}')}"
    elif rec.address is not None:
        value = f" {code(address(rec.address))}"
    if rec.origin is LeakOrigin.UMDH:
        return f"Heap growth at {code(rec.detail)}" if rec.detail else "Heap growth"
    if rec.kind is LeakKind.LOCKED_PAGES:
        return "Pages left locked"
    return f"Leaked {noun(rec.kind)}{value}"


def _next_step(rec: LeakRecord) -> str | None:
    if rec.stack is not None:
        return None
    if rec.origin is LeakOrigin.HEAP_SCAN and rec.address is not None:
        return (
            f"Next: {code(f'!heap -p -a 0x{rec.address:x}')} shows the allocation stack "
            "(with `gflags /i <program> +ust` set before the run)."
        )
    if rec.origin is LeakOrigin.CRT and rec.detail:
        n = rec.detail.strip("{}")
        return (
            f"Next: {code(f'_CrtSetBreakAlloc({n})')} breaks at this allocation on a rerun "
            "that allocates in the same order."
        )
    if rec.origin is LeakOrigin.VERIFIER_STOP:
        return "Next: `dps` of parameter 2 shows the allocation stack Application Verifier saved."
    return None


def record_facts(ctx: HoverContext, rec: LeakRecord) -> list[str]:
    """What a leak record says, as hover bullets."""
    facts = [f"Shown by {ORIGIN_LABEL[rec.origin]}, {_line(rec.range)}"]
    if rec.size is not None:
        size = f"Size: `0x{rec.size:x}` = {byte_size(rec.size)}"
        if rec.origin is LeakOrigin.UMDH:
            size = f"Growth: `0x{rec.size:x}` = {byte_size(rec.size)}"
            if rec.count is not None:
                more = "more " if rec.count_grew else ""
                size += f" in {rec.count:,} {more}allocation{'' if rec.count == 1 else 's'}"
            if rec.unit_size:
                size += f", about {byte_size(rec.unit_size)} each"
        facts.append(size)
    elif rec.count is not None and rec.kind is LeakKind.LOCKED_PAGES:
        facts.append(f"Pages: `0x{rec.count:x}` = {rec.count:,}")
    if rec.heap is not None:
        facts.append(f"Heap: {code(address(rec.heap))}")
    if rec.tag is not None:
        facts.append(f"Tag: {code(rec.tag)}")
    if rec.pid is not None:
        facts.append(f"Process id: `0x{rec.pid:x}` ({rec.pid:,})")
    if rec.owner:
        facts.append(f"Owner: {code(rec.owner)}")
    if rec.detail and rec.origin is not LeakOrigin.UMDH:
        facts.append(f"Note: {esc(rec.detail)}")
    verb = "Opened by" if rec.kind in HANDLE_KINDS else "Allocated by"
    if rec.call_site_label:
        facts.append(f"{verb} {code(rec.call_site_label)}")
    facts.extend(source_facts(ctx, rec.source, _why_no_source(rec)))
    if rec.stack is not None:
        where = f" ({esc(rec.stack_label)})" if rec.stack_label else ""
        stack = f"Allocation stack{where}: {_line(rec.stack.range)}, {plural(len(rec.stack.frames), 'frame')}"
        if rec.frame is not None:
            stack += f"; first frame outside the allocator layers on {_line(rec.frame.range)}"
        facts.append(stack)
    for rel in rec.related:
        facts.append(f"Evidence: {esc(rel.message)} ({_line(rel.range)})")
    for d in cross_checks_for(ctx.analysis, rec):
        facts.append(f"Check: {esc(d.message)}")
    step = _next_step(rec)
    if step:
        facts.append(step)
    if rec.fingerprint:
        facts.append(
            f"Fingerprint {code(rec.fingerprint)} of {code(fingerprint_key(rec))}: "
            "the same leak has it in the next run's log"
        )
    return facts


def _why_no_source(rec: LeakRecord) -> str | None:
    if rec.source is not None:
        return None
    if rec.stack is None:
        return "the log has no allocation stack for it"
    if rec.call_site is None and rec.call_site_address is None:
        return "every frame of its stack is an allocator layer"
    return None


def record_markdown(ctx: HoverContext, rec: LeakRecord, head: str | None = None) -> str:
    title = f"**{leak_title(rec)}**"
    return paragraphs(
        [head, title if head is None else f"Part of: {title}", bullets(record_facts(ctx, rec))]
    )


def _citing(ctx: HoverContext, rng: Range, what: str) -> str | None:
    recs = records_citing(ctx.analysis, rng)
    if not recs:
        return None
    items = [f"{leak_title(r)} ({_line(r.range)})" for r in recs]
    return f"{what} of:\n" + "\n".join(f"- {i}" for i in items)


# --------------------------------------------------------------------------- by record


def _heap_row(ctx: HoverContext, token: Token, row: HeapLeakRow) -> str | None:
    r = token.range
    value = token.value if isinstance(token.value, int) else 0
    if _same(r, row.user):
        head = f"**User address {code(address(value))}**: the pointer the program was given"
    elif _same(r, row.entry):
        head = (
            f"**Heap entry {code(address(value))}**: the block's header; "
            f"the program's pointer is {code(address(row.user.value))}"
        )
    elif _same(r, row.heap):
        head = f"**Heap {code(address(value))}**: the heap holding this block"
    elif _same(r, row.segment):
        head = f"**Segment {code(address(value))}** of the heap holding this block"
    elif _same(r, row.size):
        unused = row.unused.value if row.unused is not None else 0
        head = paragraphs(
            [
                size_head(_printed(ctx, r), value),
                f"The entry's size, header included; the program asked for "
                f"`0x{row.user_size:x}` ({byte_size(row.user_size)}): the size less "
                f"`0x{unused:x}` unused bytes.",
            ]
        )
    elif _same(r, row.previous_size):
        head = paragraphs(
            [size_head(_printed(ctx, r), value), "The size of the entry before this one."]
        )
    elif _same(r, row.unused):
        head = paragraphs(
            [
                size_head(_printed(ctx, r), value),
                "Bytes of the entry the program did not ask for (header, padding, checks).",
            ]
        )
    else:
        return None
    rec = record_of(ctx.analysis, row)
    return record_markdown(ctx, rec, head) if rec is not None else head


def _heap_scan(ctx: HoverContext, token: Token, scan: HeapLeakScan) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    if _same(token.range, scan.count):
        facts = [f"The table shows {plural(len(scan.rows), 'row')}"]
        if scan.truncated:
            facts.append("The table was cut with `...`")
        recs = [r for r in ctx.analysis.leak_records if scan.range.covers(r.range)]
        facts.extend(f"Check: {esc(d.message)}" for d in _scan_checks(ctx, scan))
        facts.append(f"{plural(len(recs), 'leak record')} read from it")
        return paragraphs(
            [
                f"**{value:,} potential unreachable blocks**: what `!heap -l` counted",
                bullets(facts),
            ]
        )
    rows = [row for row in scan.rows if row.heap.value == value]
    return paragraphs(
        [
            f"**Heap {code(address(value))}**: one of the heaps `!heap -l` scanned",
            f"{plural(len(rows), 'unreachable block')} of this table are in it.",
        ]
    )


def _scan_checks(ctx: HoverContext, scan: HeapLeakScan) -> list[Any]:
    return [
        d
        for d in ctx.analysis.diagnostics
        if scan.count_range is not None and d.range == scan.count_range
    ]


def _heap_block(ctx: HoverContext, token: Token, info: HeapBlockInfo) -> str | None:
    r = token.range
    value = token.value if isinstance(token.value, int) else 0
    kind = "page heap" if info.page_heap else "heap"
    if _same(r, info.address):
        head = f"**Address {code(address(value))}**: the address `!heap -p -a` was asked about"
    elif _same(r, info.heap):
        root = "`_DPH_HEAP_ROOT`" if info.page_heap else "`_HEAP`"
        head = f"**Heap {code(address(value))}**: the {kind} ({root}) holding the block"
    elif _same(r, info.block):
        what = "`DPH_HEAP_BLOCK`" if info.page_heap else "`HEAP_ENTRY`"
        head = f"**Block {code(address(value))}**: the {kind}'s {what} record of this block"
    elif _same(r, info.user_address):
        head = f"**User address {code(address(value))}**: the pointer the program was given"
    elif _same(r, info.user_size):
        head = paragraphs([size_head(_printed(ctx, r), value), "The bytes the program asked for."])
    elif _same(r, info.virtual_address):
        head = f"**Virtual address {code(address(value))}**: the page-heap pages holding the block"
    elif _same(r, info.virtual_size):
        head = paragraphs(
            [size_head(_printed(ctx, r), value), "The page-heap pages reserved for the block."]
        )
    else:
        return None
    state = f" ({esc(info.state)})" if info.state else ""
    context = _citing(
        ctx, info.range, f"This `!heap -p -a` record{state} is the allocation evidence"
    )
    return paragraphs(
        [head, context or f"A `!heap -p -a` record{state}; no leak in this log uses it."]
    )


def _htrace(ctx: HoverContext, token: Token, t: HandleTrace) -> str | None:
    r = token.range
    value = token.value if isinstance(token.value, int) else 0
    if _same(r, t.handle):
        head = f"**Handle `0x{value:x}`**: {esc(t.op)} in an `!htrace` record"
    elif _same(r, t.thread):
        head = (
            f"**Thread id `0x{value:x}`** ({value:,}): the thread that made this `!htrace` record"
        )
    elif _same(r, t.process):
        head = f"**Process id `0x{value:x}`** ({value:,}): the process owning the handle"
    else:
        return None
    rec = record_of(ctx.analysis, t)
    if rec is not None:
        return record_markdown(ctx, rec, head)
    cited = _citing(ctx, t.range, "This record is the open stack")
    if cited:
        return paragraphs([head, cited])
    if t.op == "CLOSE":
        return paragraphs([head, "The handle was closed here: not a leak by itself."])
    return head


def _htrace_report(ctx: HoverContext, token: Token, rep: HandleTraceReport) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    r = token.range
    if _same(r, rep.query):
        return f"**Handle `0x{value:x}`**: the handle `!htrace` was asked about"
    if _same(r, rep.new_traces):
        return f"**{value:,} new stack traces** since the previous `!htrace` snapshot"
    if _same(r, rep.displayed):
        return paragraphs(
            [
                f"**{value:,} stack traces displayed**: what `!htrace` says it printed",
                f"The log holds {plural(len(rep.records), 'record')} of this report.",
            ]
        )
    return None


def _umdh(ctx: HoverContext, token: Token, u: UmdhRecord) -> str | None:
    r = token.range
    if token.kind is Kind.TRACE_ID:
        head = paragraphs(
            [
                f"**UMDH trace {code(u.backtrace)}**",
                "UMDH counts allocations by the stack that made them; this id names one "
                "stack in both snapshots of the comparison.",
            ]
        )
    elif token.kind is Kind.SIZE and isinstance(token.value, int):
        which = "Growth between the snapshots"
        if r == u.new_range:
            which = "Bytes held in the newer snapshot"
        elif r == u.old_range:
            which = "Bytes held in the older snapshot"
        head = paragraphs([size_head(_printed(ctx, r), token.value), which + "."])
    elif token.kind is Kind.COUNT and isinstance(token.value, int):
        head = f"**{token.value:,} allocations** from this stack in the newer snapshot"
    elif token.kind is Kind.ADDRESS and isinstance(token.value, int):
        head = f"**Address {code(address(token.value))}**: one allocation of this trace"
    else:
        return None
    rec = record_of(ctx.analysis, u)
    return record_markdown(ctx, rec, head) if rec is not None else head


def _umdh_total(ctx: HoverContext, token: Token, t: UmdhTotal) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    r = token.range
    if _same(r, t.overhead):
        what = "Heap overhead of the allocations (headers, alignment)"
    elif _same(r, t.total):
        what = "Requested bytes plus overhead"
    else:
        word = "increase" if t.increase else "decrease"
        what = f"UMDH's total {word} over all traces"
    checks = [
        f"Check: {esc(d.message)}"
        for d in ctx.analysis.diagnostics
        if d.code == "leak-bytes-mismatch" and d.range == t.value.range
    ]
    return paragraphs([size_head(_printed(ctx, r), value), what + ".", bullets(checks)])


def _crt(ctx: HoverContext, token: Token, b: CrtLeakBlock) -> str | None:
    r = token.range
    value = token.value if isinstance(token.value, int) else 0
    if _same(r, b.number):
        head = paragraphs(
            [
                f"**Allocation request {{{value}}}**: the CRT debug heap's running number",
                f"`_CrtSetBreakAlloc({value})` (or setting `_crtBreakAlloc` to {value} in the "
                "debugger) breaks at this allocation on a rerun that allocates in the same order.",
            ]
        )
    elif _same(r, b.address):
        head = f"**User address {code(address(value))}** of a CRT {esc(b.kind)} block"
    elif _same(r, b.size):
        head = paragraphs([size_head(_printed(ctx, r), value), "Printed in decimal by the CRT."])
    else:
        return None
    rec = record_of(ctx.analysis, b)
    return record_markdown(ctx, rec, head) if rec is not None else head


def _stop_param(num_range: Range, params: list[Any]) -> Any | None:
    for p in params:
        if getattr(p, "value", None) is not None and p.value.range == num_range:
            return p
    return None


def _param_head(index: int, value: int, token: Token, description: str, dps: bool) -> str:
    if index == 1 and token.kind is Kind.HANDLE:
        what = f"**Handle `0x{value:x}`**: the leaked handle (parameter 1)"
    elif index == 1:
        what = f"**Address {code(address(value))}**: the leaked resource (parameter 1)"
    elif index == 2:
        what = f"**Address {code(address(value))}**: where the allocation stack was saved (parameter 2)"
        what += (
            "; the log's `dps` of it is the stack"
            if dps
            else "; `dps` of it would print that stack"
        )
    elif index == 4:
        what = (
            f"**Address {code(address(value))}**: the base of the DLL that owned it (parameter 4)"
        )
    else:
        what = f"**Address {code(address(value))}**: parameter {index}"
    return paragraphs([what, esc(description) if description else None])


def _has_dps(ctx: HoverContext, value: int) -> bool:
    return any(
        d.query is not None and d.query.value == value for d in ctx.analysis.session.dps_dumps
    )


def _stop(ctx: HoverContext, token: Token, stop: VerifierStop) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    if _same(token.range, stop.pid):
        head = f"**Process id `0x{value:x}`** ({value:,}) of the stopped program"
    else:
        p = _stop_param(token.range, list(stop.params))
        if p is None:
            return None
        head = _param_head(p.index, value, token, p.description, _has_dps(ctx, value))
    rec = record_of(ctx.analysis, stop)
    return record_markdown(ctx, rec, head) if rec is not None else None


def _appverif(ctx: HoverContext, token: Token, e: AppVerifierEntry) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    if _same(token.range, e.pid):
        head = f"**Process id `0x{value:x}`** ({value:,}) of the verified program"
    else:
        p = _stop_param(token.range, list(e.params))
        if p is None:
            return None
        head = _param_head(p.index, value, token, p.description, _has_dps(ctx, value))
    rec = record_of(ctx.analysis, e)
    if rec is None:
        code_text = f"0x{e.stop_code.value:X}" if e.stop_code is not None else "?"
        return paragraphs([head, f"Application Verifier stop {code_text}: not a leak stop."])
    return record_markdown(ctx, rec, head)


def _dps(ctx: HoverContext, token: Token, dump: DpsDump) -> str | None:
    value = token.value if isinstance(token.value, int) else 0
    if _same(token.range, dump.query):
        head = f"**Address {code(address(value))}**: the memory `dps` printed as pointers"
    elif any(_same(token.range, row.slot) for row in dump.rows):
        head = f"**Slot {code(address(value))}**: one pointer-sized slot of the `dps` dump"
    else:
        head = f"**Value {code(address(value))}**: not a code address the debugger could name"
    cited = _citing(ctx, dump.range, "This dump is the allocation stack")
    return paragraphs([head, cited])


_HANDLERS: dict[type, Callable[[HoverContext, Token, Any], str | None]] = {
    HeapLeakRow: _heap_row,
    HeapLeakScan: _heap_scan,
    HeapBlockInfo: _heap_block,
    HandleTrace: _htrace,
    HandleTraceReport: _htrace_report,
    UmdhRecord: _umdh,
    UmdhTotal: _umdh_total,
    CrtLeakBlock: _crt,
    VerifierStop: _stop,
    AppVerifierEntry: _appverif,
    DpsDump: _dps,
}


# --------------------------------------------------------------------------- frames


_PRINTED_IN = {
    HeapBlockInfo: "`!heap -p -a` record",
    HandleTrace: "`!htrace` record",
    DpsDump: "`dps` dump",
    UmdhRecord: "UMDH trace",
    AppVerifierEntry: "App Verifier log entry",
}


def _frame(ctx: HoverContext, token: Token, frame: Frame) -> str | None:
    place = frame_place(ctx.analysis, frame)
    if place is None:
        return None
    if token.kind is Kind.SYMBOL:
        base = symbol_markdown(ctx, token)
    elif token.kind is Kind.ADDRESS:
        base = address_markdown(ctx, token)
    else:
        return None
    where = _PRINTED_IN.get(type(place.printed_in), "saved stack")
    n = len(place.stack.frames)
    context = [f"Frame {place.index + 1} of {n} of a {where} (a saved allocation stack)."]
    for rec in place.records:
        role = ""
        if rec.frame is frame:
            role = ": **the allocating site**, the first frame outside the allocator layers"
        elif rec.frame is not None and place.index < place.stack.frames.index(rec.frame):
            role = ": an allocator layer above the allocating site"
        context.append(f"Allocation stack of: {leak_title(rec)} ({_line(rec.range)}){role}.")
    return paragraphs([base, *context])


def leak_token_markdown(ctx: HoverContext, token: Token) -> str | None:
    """The hover for a token of leak evidence, or None when the token is not one."""
    owner = token.owner
    if isinstance(owner, Frame):
        return _frame(ctx, token, owner)
    handler = _HANDLERS.get(type(owner))
    return handler(ctx, token, owner) if handler is not None else None


__all__ = ["leak_title", "leak_token_markdown", "record_facts", "record_markdown", "size_head"]
