"""Hovers on code: addresses, symbols, source annotations and modules.

An address is first placed in its row (a leaked block, a caller column, a
``!verifier 0x80`` record, a stack frame ...), then, when it is code, taken
through the same chain as go to definition: module (``lm``), symbol, source
line and the workspace file, or the reason it stops short.
"""

from __future__ import annotations

from ...analysis import Origin, SourceLocation
from ...analysis.leaks import Leak
from ...index import Kind, Token
from ...model import (
    Frame,
    LnResult,
    ModuleInfo,
    PoolAllocation,
    PoolBlock,
    PoolLogRecord,
    PoolOp,
    Range,
    SourceRef,
    SymbolRef,
    VerifiedDriver,
)
from ...numbers import canonical_address, normalize_module
from ..navigation import definition, resolve_source
from .format import address, bullets, byte_size, code, esc, paragraphs, plural, workspace_path
from .pool import block_context
from .types import HoverContext

_ORIGIN = {
    Origin.LN: "from `ln`",
    Origin.ANNOTATION: "from a `[file @ line]` annotation",
    Origin.SYMBOL_FILE: "from the symbol file",
}
_NO_SOURCE = "nothing in this log (`ln` output, `[file @ line]` annotations) or in the symbol files resolves it"


# --------------------------------------------------------------------------- shared facts


def module_fact(ctx: HoverContext, value: int) -> str:
    ev = ctx.analysis.evidence
    m = ev.module_for_address(value)
    if m is not None and m.start is not None:
        gone = " (unloaded)" if m.unloaded else ""
        fact = f"Module: {code(m.name)}{gone} + 0x{value - m.start.value:x} (from `lm`)"
        symbols = ctx.analysis.symbol_status(m.name)
        return f"{fact}; symbols {esc(symbols)}" if symbols else fact
    if not ev.modules:
        return "Module: unknown (this log has no `lm` output)"
    return "Module: none of the modules `lm` listed contains it"


def source_facts(
    ctx: HoverContext, src: SourceLocation | None, why: str | None = None
) -> list[str]:
    """The source line, how it was found, and where it is in the workspace (or why not)."""
    if src is None:
        return [f"Source: unknown: {esc(why) if why else _NO_SOURCE}"]
    out = [
        f"Source: **{esc(src.short)}** {_ORIGIN.get(src.origin, '')}, build path {code(src.path)}"
    ]
    if src.evidence is not None and src.origin is not Origin.SYMBOL_FILE:
        out[0] += f" (log line {src.evidence.start.line + 1})"
    if src.inline_chain:
        out.append("Inlined: " + " → ".join(code(f) for f in src.inline_chain))
    if src.note:
        out.append(esc(src.note))
    out.append(_mapping(ctx, src.path, src.line))
    return out


def _mapping(ctx: HoverContext, build_path: str, line: int | None) -> str:
    path, how = ctx.locate(build_path)
    if path is None:
        return f"Not in the workspace: {esc(how)}"
    at = f":{line}" if line else ""
    return f"In the workspace: {code(workspace_path(ctx.mapper, path) + at)} ({esc(how)})"


def _code_facts(
    ctx: HoverContext,
    value: int | None,
    sym: SymbolRef | None,
    token: Token,
    *,
    titled: bool = False,
) -> list[str]:
    """Module, symbol and source of a code location (``titled``: the symbol is the hover's title)."""
    facts: list[str] = []
    shown = sym
    if value is not None:
        facts.append(module_fact(ctx, value))
        known = ctx.analysis.evidence.symbol_at(value) or _symbol_beside(ctx, token)
        if known is not None:
            shown = known
    if shown is not None and not (titled and sym is not None and shown.display == sym.display):
        facts.append(f"Symbol: {code(shown.display)}")
    src = resolve_source(ctx.analysis, token)
    why: str | None = None
    if src is None:
        res = definition(ctx.analysis, ctx.index, ctx.mapper, ctx.pos)
        why = res.why
    facts.extend(source_facts(ctx, src, why))
    return facts


def _history(leak: Leak) -> str:
    n = len(leak.history)
    if n == 0:
        return "No `!verifier 0x80` record of this block in the log."
    allocs = sum(1 for r in leak.history if r.op is PoolOp.ALLOCATE)
    frees = sum(1 for r in leak.history if r.op is PoolOp.FREE)
    return (
        f"{plural(n, '`!verifier 0x80` record')} of this block ({allocs} allocate, {frees} free)."
    )


# --------------------------------------------------------------------------- addresses


def _same(r: Range, num: object) -> bool:
    return num is not None and getattr(num, "range", None) == r


def address_markdown(ctx: HoverContext, token: Token) -> str:
    value = token.value if isinstance(token.value, int) else 0
    owner = token.owner
    r = token.range
    title = f"**Address {code(address(value))}**"

    if isinstance(owner, Leak) and _same(r, owner.allocation.address):
        return paragraphs(
            [
                f"**Leaked pool block {code(address(value))}**",
                bullets(
                    [
                        f"{byte_size(owner.size)}, tag {code(owner.tag)}, driver {code(owner.driver.name)}",
                        f"Allocated by {code(owner.call_site_label)}",
                        *source_facts(ctx, owner.source),
                        _history(owner),
                    ]
                ),
            ]
        )
    if isinstance(owner, Leak | PoolAllocation) and token.return_address:
        row = owner.allocation if isinstance(owner, Leak) else owner
        caller = canonical_address(row.caller.value) if row.caller is not None else value
        head = f"**Caller {code(address(caller))}**: where the driver asked for the block"
        facts = [
            "A return address: the allocating call is the instruction just before it",
            *_code_facts(ctx, caller, row.caller_symbol, token),
        ]
        return paragraphs([head, bullets(facts), block_context(owner)])
    if isinstance(owner, PoolLogRecord):
        if _same(r, owner.address):
            op = {PoolOp.ALLOCATE: "allocated", PoolOp.FREE: "freed"}.get(
                owner.op, "allocated or freed"
            )
            leak = _leak_at(ctx, value)
            facts = [f"{byte_size(owner.size.value)}, {op} in this `!verifier 0x80` record"]
            if leak is not None:
                facts.append(
                    f"One of the leaked blocks of {code(leak.driver.name)} (tag {code(leak.tag)})"
                )
            return paragraphs([f"**Pool block {code(address(value))}**", bullets(facts)])
        if _same(r, owner.thread):
            return paragraphs(
                [
                    f"**Thread {code(address(value))}**",
                    f"The thread that made this `!verifier 0x80` record; `!thread {address(value)}` shows it.",
                ]
            )
        kind = (
            "A return address in the record's stack"
            if token.return_address
            else "The first frame of the record's stack"
        )
        return paragraphs([title, bullets([kind, *_code_facts(ctx, value, None, token)])])
    if isinstance(owner, Frame):
        if _same(r, owner.frame_pointer):
            return paragraphs([title, "The frame's stack pointer (ChildEBP / Child-SP), not code."])
        if any(_same(r, a) for a in owner.args):
            return paragraphs(
                [title, "An argument value passed on the stack: " + f"{value:,} in decimal."]
            )
        if _same(r, owner.return_address):
            # RetAddr points into the caller, the frame printed on the next row.
            kind, sym = "A return address (RetAddr: where the next frame's code resumes)", None
        else:
            kind, sym = "The code address of this frame", owner.symbol
        return paragraphs([title, bullets([kind, *_code_facts(ctx, value, sym, token)])])
    if isinstance(owner, LnResult):
        if _same(r, owner.query):
            return paragraphs(
                [
                    title,
                    bullets(
                        ["The address `ln` was asked about", *_code_facts(ctx, value, None, token)]
                    ),
                ]
            )
        return paragraphs(
            [title, bullets(["Start of the nearest symbol `ln` found", module_fact(ctx, value)])]
        )
    if isinstance(owner, ModuleInfo):
        which = "Start" if _same(r, owner.start) else "End"
        return paragraphs([title, f"{which} of module {code(owner.name)} as `lm` lists it."])
    if isinstance(owner, VerifiedDriver):
        return paragraphs([title, f"Driver Verifier's record for {code(owner.name)}."])
    if isinstance(owner, PoolBlock):
        return paragraphs([title, block_context(owner)])
    return free_address_markdown(ctx, value)


def _leak_at(ctx: HoverContext, value: int) -> Leak | None:
    value = canonical_address(value)
    for leak in ctx.analysis.leaks:
        if leak.address == value:
            return leak
    return None


def _symbol_beside(ctx: HoverContext, token: Token) -> SymbolRef | None:
    """The symbol printed on the same frame row as an address token (pool-log frames).

    Pool-log dumps are too big to index every frame's address ahead of time,
    so the row itself is the place to look.
    """
    line = token.range.start.line
    for t in ctx.index.on_line(line):
        if (
            t.kind is Kind.SYMBOL
            and isinstance(t.value, SymbolRef)
            and t.owner is token.owner
            and t.range.start.character > token.range.start.character
        ):
            return t.value
    return None


def free_address_markdown(ctx: HoverContext, value: int) -> str:
    """An address the parsers did not place: what the session knows about it."""
    value = canonical_address(value)
    facts = [module_fact(ctx, value)]
    ev = ctx.analysis.evidence
    sym = ev.symbol_at(value)
    if sym is not None:
        facts.append(f"Symbol: {code(sym.display)}")
    src = ctx.analysis.resolver.resolve(value, None)
    if src is not None or sym is not None:
        facts.extend(source_facts(ctx, src))
    leak = _leak_at(ctx, value)
    if leak is not None:
        facts.append(block_context(leak) or "")
    else:
        recs = [
            rec
            for rec in ctx.analysis.session.pool_log
            if canonical_address(rec.address.value) == value
        ]
        if recs:
            facts.append(
                f"Pool block with {plural(len(recs), '`!verifier 0x80` record')} in this log"
            )
    return paragraphs(
        [f"**Address {code(address(value))}** = {value:,} in decimal", bullets(facts)]
    )


# --------------------------------------------------------------------------- symbols, sources, modules


def symbol_markdown(ctx: HoverContext, token: Token) -> str:
    sym = token.value if isinstance(token.value, SymbolRef) else None
    if sym is None:
        return ""
    facts: list[str] = []
    value = token.address
    if value is not None:
        note = " (a return address: the call is just before it)" if token.return_address else ""
        facts.append(f"Address: {code(address(value))}{note}")
    facts.extend(_code_facts(ctx, value, sym, token, titled=True))
    owner = token.owner
    context = block_context(owner) if isinstance(owner, Leak | PoolAllocation) else None
    if isinstance(owner, PoolLogRecord):
        context = (
            f"A frame of the `!verifier 0x80` record of block {code(address(owner.address.value))}."
        )
    return paragraphs([f"**{code(sym.display)}**", bullets(facts), context])


def source_markdown(ctx: HoverContext, token: Token) -> str:
    src = token.value if isinstance(token.value, SourceRef) else None
    if src is None:
        return ""
    name = src.path.replace("\\", "/").rsplit("/", 1)[-1]
    head = f"**{esc(name)} line {src.line}**"
    if src.byte_offset:
        head += f" (+0x{src.byte_offset:x} bytes into the line's code)"
    facts = [f"Build path: {code(src.path)}", _mapping(ctx, src.path, src.line)]
    owner = token.owner
    if isinstance(owner, LnResult) and owner.query is not None:
        sym = owner.before.symbol if owner.before is not None else None
        text = f"`ln` of {code(address(owner.query.value))}"
        facts.append(text + (f": {code(sym.display)}" if sym is not None else ""))
    elif isinstance(owner, Frame) and owner.symbol is not None:
        facts.append(f"Line of the frame {code(owner.symbol.display)}")
    return paragraphs([head, bullets(facts)])


def module_markdown(ctx: HoverContext, token: Token) -> str:
    name = token.value if isinstance(token.value, str) else ""
    owner = token.owner
    facts: list[str] = []
    if isinstance(owner, ModuleInfo):
        m: ModuleInfo | None = owner
    else:
        m = ctx.analysis.evidence.module_named(name)
    if m is not None and m.start is not None and m.end is not None:
        size = m.end.value - m.start.value
        facts.append(
            f"Loaded at {code(address(m.start.value))} to {code(address(m.end.value))} ({byte_size(size)})"
        )
        if m.unloaded:
            facts.append("Listed among the unloaded modules")
    if m is not None and m.symbol_status:
        facts.append(f"Symbols in the debugger: {esc(m.symbol_status)}")
    symbol_file = ctx.analysis.symbol_status(name)
    if symbol_file:
        facts.append(f"Symbol file: {esc(symbol_file)}")
    want = normalize_module(name)
    for drv in ctx.analysis.session.drivers:
        if normalize_module(drv.name) == want:
            state = f" ({esc(drv.state)})" if drv.state else ""
            facts.append(f"Verified by Driver Verifier{state}")
            break
    leaks = [leak for leak in ctx.analysis.leaks if normalize_module(leak.driver.name) == want]
    if leaks:
        facts.append(
            f"{plural(len(leaks), 'leaked block')}, {byte_size(sum(x.size for x in leaks))} in all"
        )
    return paragraphs([f"**Module {code(name)}**", bullets(facts)])


__all__ = [
    "address_markdown",
    "free_address_markdown",
    "module_fact",
    "module_markdown",
    "source_facts",
    "source_markdown",
    "symbol_markdown",
]
