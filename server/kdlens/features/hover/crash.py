"""Hovers on crash records: stack frames of a stop, ``FAULTING_IP``, ``SYMBOL_NAME``,
register dumps, exception records and codes, IRQLs, Application Verifier stops.

A code location says where it is (module, symbol, source line) and how it
was looked up: a faulting instruction or the top of a stack is looked up as
it is, a return address one byte earlier (the call). Codes are named from
``kdlens.knowledge``; the stop they belong to comes from the crash triage.
"""

from __future__ import annotations

import re

from ... import knowledge
from ...analysis import SourceLocation
from ...analysis.frames import FrameKind
from ...analysis.triage import Triage, TriageFrame
from ...index import Kind, Token
from ...model import (
    BugCheck,
    BugCheckArg,
    CodeSite,
    ContextKind,
    ExceptionAnalysis,
    ExceptionParameter,
    ExceptionRecord,
    Frame,
    Instruction,
    Num,
    Range,
    Register,
    RegisterContext,
    SymbolRef,
    VerifierStop,
    VerifierStopParam,
)
from ...numbers import canonical_address, parse_hex
from ..crash import frame_of, frame_source, lookup_words, stop_where, triage_of
from ..navigation import resolve_source
from .bugcheck import arg_markdown
from .code import module_fact, source_facts
from .format import address, bullets, code, esc, hexnum, paragraphs
from .types import HoverContext, HoverResult

_CONTEXT_NAMES = {
    ContextKind.TRAP: "trap frame",
    ContextKind.CONTEXT: "context record (`.cxr`)",
    ContextKind.EXCEPTION: "exception context (`.ecxr`)",
    ContextKind.REGISTERS: "register dump",
}
_STACK_REGISTERS = frozenset({"rsp", "esp"})
_FRAME_REGISTERS = frozenset({"rbp", "ebp"})
#: Addresses below this are never mapped: a NULL pointer plus an offset.
_NULL_PAGE_END = 0x10000
#: Exception codes whose Parameter[0] is the access kind and Parameter[1] the address.
_ACCESS_CODES = frozenset({0xC0000005, 0xC0000006})


def crash_markdown(ctx: HoverContext, token: Token) -> str | None:
    """The hover for a crash token, or None to let the general hovers answer."""
    value, kind, owner = token.value, token.kind, token.owner
    if kind is Kind.REGISTER and isinstance(value, Register) and isinstance(owner, RegisterContext):
        return register_markdown(ctx, value, owner)
    if kind is Kind.STATUS and isinstance(value, int):
        return status_markdown(ctx, value, owner)
    if kind is Kind.IRQL and isinstance(value, int):
        return irql_markdown(ctx, value, owner)
    if kind is Kind.STOP and isinstance(value, VerifierStop | ExceptionAnalysis):
        return stop_markdown(ctx, value)
    if kind is Kind.PARAM:
        return param_markdown(ctx, token)
    if kind is Kind.ARG and token.address is not None and isinstance(value, BugCheckArg):
        bc = token.bugcheck if token.bugcheck is not None else owner
        if isinstance(bc, BugCheck):
            return code_arg_markdown(ctx, bc, value, token.address)
    if kind not in (Kind.SYMBOL, Kind.ADDRESS):
        return None
    if isinstance(owner, CodeSite):
        return site_markdown(ctx, token, owner)
    if isinstance(owner, Instruction):
        return effective_address_markdown(ctx, token, owner)
    if isinstance(owner, ExceptionRecord):
        return record_address_markdown(ctx, token, owner)
    if kind is Kind.SYMBOL and isinstance(owner, BugCheck | ExceptionAnalysis):
        return symbol_name_markdown(ctx, token, owner)
    if isinstance(owner, Frame):
        return frame_markdown(ctx, token, owner)
    return None


#: ``(2a1c.3b08): Access violation - code c0000005 (first chance)``: the break notice.
_EXCEPTION_NOTICE = re.compile(r"\s-\s+code\s+([0-9a-fA-F]{8})\b")


def crash_free_text(ctx: HoverContext, text: str) -> HoverResult | None:
    """An exception code in the debugger's break notice, which no parser claims."""
    m = _EXCEPTION_NOTICE.search(text)
    if m is None or not m.start(1) <= ctx.pos.character <= m.end(1):
        return None
    value = parse_hex(m.group(1))
    if value is None:
        return None
    md = status_markdown(ctx, value, None)
    return HoverResult(md, Range.on_line(ctx.pos.line, m.start(1), m.end(1)))


# --------------------------------------------------------------------------- code locations


def location_facts(
    ctx: HoverContext,
    address: int | None,
    symbol: SymbolRef | None,
    kind: FrameKind,
    known: SourceLocation | None = None,
) -> list[str]:
    """Module, symbol, how the address is looked up, and the source line (or why not)."""
    facts: list[str] = []
    if address is not None:
        facts.append(module_fact(ctx, address))
    elif symbol is not None and symbol.module:
        facts.append(f"Module: {code(symbol.module)}")
    shown = ctx.analysis.evidence.symbol_at(address) if address is not None else None
    shown = shown or symbol
    if shown is not None:
        facts.append(f"Symbol: {code(shown.display)}")
    facts.append(f"Lookup: {lookup_words(kind)}")
    src = known
    if src is None and (address is not None or symbol is not None):
        src = ctx.analysis.resolver.resolve(
            address, symbol, return_address=kind is FrameKind.RETURN
        )
    facts.extend(source_facts(ctx, src))
    return facts


def _stop_line(t: Triage | None) -> str | None:
    if t is None:
        return None
    where = stop_where(t)
    text = f"Stop: {esc(t.title)}" + (f" at {code(where)}" if where else "")
    return text + f" (log line {t.range.start.line + 1})"


def _fault_kind(t: Triage | None, value: int | None) -> FrameKind:
    """An exact address is the faulting instruction when the stop says so, else the current one."""
    if (
        t is not None
        and value is not None
        and t.fault_address is not None
        and canonical_address(value) == canonical_address(t.fault_address)
    ):
        return FrameKind.FAULTING
    return FrameKind.CURRENT


def _frame_at(t: Triage | None, value: int | None) -> TriageFrame | None:
    if t is None or value is None:
        return None
    v = canonical_address(value)
    return next((f for f in t.frames if f.address is not None and f.address == v), None)


def _frame_line(f: TriageFrame) -> str:
    mine = ", your code" if f.user else ""
    return f"Frame {f.index} of the stop's stack: {code(f.label)}{mine} (log line {f.frame.range.start.line + 1})"


def frame_markdown(ctx: HoverContext, token: Token, frame: Frame) -> str | None:
    """A frame of a stop's stack: its code location (the symbol or the RetAddr above it)."""
    found = frame_of(ctx.analysis, frame)
    if found is None:
        return None
    t, tf = found
    if frame.return_address is not None and token.range == frame.return_address.range:
        # this row's RetAddr is the code location of the next frame
        nxt = next((f for f in t.frames if f.index == tf.index + 1), None)
        if nxt is None:
            return None
        value = canonical_address(frame.return_address.value)
        head = f"**Return address {code(address(value))}**: the code of frame {nxt.index}"
        facts = [
            _frame_line(nxt),
            *location_facts(
                ctx, value, nxt.frame.symbol, nxt.kind, frame_source(ctx.analysis, frame, True)
            ),
        ]
        return paragraphs([head, bullets(facts), _stop_line(t)])
    is_code = token.kind is Kind.SYMBOL or (
        frame.address is not None and token.range == frame.address.range
    )
    if not is_code:
        return None
    head = f"**{code(tf.label)}**"
    facts = [_frame_line(tf)]
    if tf.address is not None:
        facts.append(f"Address: {code(address(tf.address))}")
    known = frame_source(ctx.analysis, frame)
    facts.extend(location_facts(ctx, tf.address, frame.symbol, tf.kind, known))
    return paragraphs([head, bullets(facts), _stop_line(t)])


def site_markdown(ctx: HoverContext, token: Token, site: CodeSite) -> str:
    """``FAULTING_IP`` / ``FOLLOWUP_IP`` / the label under a register dump: an instruction."""
    t = triage_of(ctx.analysis, site)
    value = canonical_address(site.address.value) if site.address is not None else None
    if site.key == "FAULTING_IP":
        head = "**Faulting instruction** (`FAULTING_IP`)"
    elif site.key == "FOLLOWUP_IP":
        head = "**Follow-up instruction** (`FOLLOWUP_IP`): where the analysis points for follow-up"
    else:
        head = "**The instruction at the register dump's instruction pointer**"
    facts: list[str] = []
    ins = site.instruction
    if ins is not None:
        facts.append(f"Instruction: {code(f'{ins.mnemonic} {ins.operands}'.strip())}")
    if value is not None:
        facts.append(f"Address: {code(address(value))}")
    known: SourceLocation | None = None
    if site.source is not None:
        known = resolve_source(ctx.analysis, token)
    kind = _fault_kind(t, value)
    if site.key == "FAULTING_IP":
        kind = FrameKind.FAULTING
    facts.extend(location_facts(ctx, value, site.symbol, kind, known))
    return paragraphs([head, bullets(facts), _stop_line(t)])


def effective_address_markdown(ctx: HoverContext, token: Token, ins: Instruction) -> str:
    value = token.value if isinstance(token.value, int) else 0
    facts = [f"The memory {code(ins.mnemonic)} at {code(address(ins.address.value))} accessed"]
    facts.extend(_data_facts(ctx, value))
    return paragraphs([f"**Effective address {code(address(value))}**", bullets(facts)])


def _data_facts(ctx: HoverContext, value: int) -> list[str]:
    v = canonical_address(value)
    if v < _NULL_PAGE_END:
        return [
            f"In the first 64 KiB, which is never mapped: a NULL pointer plus 0x{v:x} ({v:,} in decimal)"
        ]
    m = ctx.analysis.evidence.module_for_address(v)
    if m is not None and m.start is not None:
        return [module_fact(ctx, v)]
    return []


def record_address_markdown(ctx: HoverContext, token: Token, rec: ExceptionRecord) -> str:
    t = triage_of(ctx.analysis, rec)
    value = token.address if token.kind is Kind.SYMBOL else token.value
    r = token.range
    if token.kind is Kind.SYMBOL or (rec.address is not None and r == rec.address.range):
        where = canonical_address(rec.address.value) if rec.address is not None else None
        head = "**Exception address** (`ExceptionAddress`): where the exception was raised"
        facts = location_facts(ctx, where, rec.symbol, FrameKind.FAULTING)
        return paragraphs([head, bullets(facts), _stop_line(t)])
    v = value if isinstance(value, int) else 0
    if rec.access_address is not None and r == rec.access_address.range:
        verb = rec.access or "access"
        head = (
            f"**Address {code(address(v))}**: the memory the faulting instruction tried to {verb}"
        )
        return paragraphs([head, bullets(_data_facts(ctx, v)), _stop_line(t)])
    head = f"**Exception record at {code(address(v))}**"
    return paragraphs([head, "The record's own address (what `.exr` was given).", _stop_line(t)])


def symbol_name_markdown(
    ctx: HoverContext, token: Token, owner: BugCheck | ExceptionAnalysis
) -> str:
    """``SYMBOL_NAME`` / ``Probably caused by``: the function the analysis blames."""
    sym = token.value if isinstance(token.value, SymbolRef) else None
    t = triage_of(ctx.analysis, owner)
    frame = None
    if t is not None and token.address is not None:
        frame = _frame_at(t, token.address)
    kind = frame.kind if frame is not None else FrameKind.FAULTING
    if token.return_address:
        kind = FrameKind.RETURN
    head = f"**{code(sym.display if sym else '')}**: the function the debugger's analysis names"
    facts: list[str] = []
    if frame is not None:
        facts.append(_frame_line(frame))
    known = frame.source if frame is not None else None
    facts.extend(location_facts(ctx, token.address, sym, kind, known))
    return paragraphs([head, bullets(facts), _stop_line(t)])


def code_arg_markdown(ctx: HoverContext, bc: BugCheck, arg: BugCheckArg, value: int) -> str:
    """An argument holding the faulting instruction (Arg4 of 0xD1): the bug check's text, then
    where that instruction is."""
    t = triage_of(ctx.analysis, bc)
    frame = _frame_at(t, value)
    facts: list[str] = []
    if frame is not None:
        facts.append(_frame_line(frame))
    known = frame.source if frame is not None and frame.kind.exact else None
    facts.extend(location_facts(ctx, value, None, FrameKind.FAULTING, known))
    return paragraphs([arg_markdown(ctx.analysis, bc, arg), "**The instruction**", bullets(facts)])


# --------------------------------------------------------------------------- registers


def register_markdown(ctx: HoverContext, reg: Register, rc: RegisterContext) -> str:
    t = triage_of(ctx.analysis, rc)
    value = canonical_address(reg.value.value)
    where = _CONTEXT_NAMES.get(rc.kind, "register dump")
    if rc.frame_address is not None:
        where += f" at {code(address(rc.frame_address.value))}"
    ip = rc.ip
    if ip is not None and reg is ip:
        head = (
            f"**{code(reg.name)} = {code(address(value))}**: the instruction pointer of the {where}"
        )
        facts: list[str] = []
        frame = _frame_at(t, value)
        if frame is not None:
            facts.append(_frame_line(frame))
        sym = _site_symbol(rc.site, value)
        known = frame.source if frame is not None and frame.kind.exact else None
        facts.extend(location_facts(ctx, value, sym, _fault_kind(t, value), known))
        return paragraphs([head, bullets(facts), _stop_line(t)])
    head = f"**{code(reg.name)} = {code(address(value))}** in the {where}"
    facts = [f"{value:,} in decimal"]
    if reg.name in _STACK_REGISTERS | _FRAME_REGISTERS:
        frame = _frame_by_pointer(t, value)
        what = "stack pointer" if reg.name in _STACK_REGISTERS else "frame base pointer"
        if frame is not None:
            facts.append(
                f"The {what} of frame {frame.index}: {code(frame.label)}"
                + (f" in {code(frame.module)}" if frame.module else "")
                + (", your code" if frame.user else "")
            )
        else:
            facts.append(f"The {what} of the thread when it stopped")
    else:
        facts.extend(_data_facts(ctx, value))
    return paragraphs([head, bullets(facts), _stop_line(t)])


def _site_symbol(site: CodeSite | None, value: int) -> SymbolRef | None:
    """The label printed under a register dump, when it is for ``value``."""
    if site is None or site.address is None:
        return None
    return site.symbol if canonical_address(site.address.value) == value else None


def _frame_by_pointer(t: Triage | None, value: int) -> TriageFrame | None:
    """The frame whose Child-SP / ChildEBP is ``value`` (the frame that was running there)."""
    if t is None:
        return None
    for f in t.frames:
        fp = f.frame.frame_pointer
        if fp is not None and canonical_address(fp.value) == value:
            return f
    return None


# --------------------------------------------------------------------------- codes


def status_markdown(ctx: HoverContext, value: int, owner: object) -> str:
    info = knowledge.status_code(value)
    t = triage_of(ctx.analysis, owner)
    parts: list[str | None] = []
    if info is not None:
        parts.append(f"**{esc(info.name)}** ({code(info.hex)}), {info.severity}")
        parts.append(info.meaning)
    else:
        parts.append(f"**Exception code {code(f'0x{value & 0xFFFFFFFF:08X}')}**")
        parts.append("kdlens does not know this code.")
    if isinstance(owner, ExceptionRecord) and owner.code_text:
        parts.append(f"The debugger calls it: {esc(owner.code_text)}")
    parts.append(_stop_line(t))
    return paragraphs(parts)


def _x64(t: Triage | None) -> bool | None:
    if t is None:
        return None
    for c in (t.trap_frame, t.context):
        if c is not None and c.registers:
            return c.x64
    return t.stack.x64 if t.stack is not None else None


def irql_markdown(ctx: HoverContext, value: int, owner: object) -> str:
    t = triage_of(ctx.analysis, owner)
    x64 = _x64(t)
    arch = "x86" if x64 is False else "x64"
    name = knowledge.irql_name(value, arch)
    head = f"**IRQL {value}**" + (f" = {code(name)}" if name else "")
    facts: list[str] = []
    if name is None:
        facts.append(f"No named level on {arch}: a device interrupt level (DIRQL)")
    if x64 is None:
        other = knowledge.irql_name(value, "x86")
        if other != name:
            facts.append(f"On x86: {code(other) if other else 'a device interrupt level'}")
    return paragraphs([head, bullets(facts), _stop_line(t)])


def _stop_code(stop: VerifierStop | ExceptionAnalysis) -> int | None:
    if isinstance(stop, VerifierStop):
        return stop.code.value
    return stop.code.value if stop.code is not None else None


def stop_markdown(ctx: HoverContext, stop: VerifierStop | ExceptionAnalysis) -> str:
    """An Application Verifier stop code (``VERIFIER STOP 00000007``, ``..._DOUBLE_FREE (7)``)."""
    value = _stop_code(stop)
    info = knowledge.verifier_stop(value) if value is not None else None
    t = triage_of(ctx.analysis, stop)
    shown = f"0x{value:X}" if value is not None else "?"
    name = (
        info.name
        if info is not None
        else (stop.name if isinstance(stop, ExceptionAnalysis) else None)
    )
    head = f"**Application Verifier stop {shown}**" + (f": {code(name)}" if name else "")
    parts: list[str | None] = [head]
    if info is not None:
        parts.append(f"Layer: {esc(info.layer)}. {info.meaning}")
        parts.append(bullets([f"Arg{a.index}: {esc(a.label)}" for a in info.args]))
    else:
        parts.append("kdlens does not know this stop code.")
    if isinstance(stop, VerifierStop) and stop.message:
        parts.append(f"The log says: {esc(stop.message)}")
    parts.append("An Application Verifier stop code, not a bug check code.")
    parts.append(_stop_line(t))
    return paragraphs(parts)


# --------------------------------------------------------------------------- parameters


def _triage_param(t: Triage | None, index: int) -> str | None:
    """The triage's reading of a stop parameter (a size in bytes, a code address placed)."""
    if t is None:
        return None
    p = next((p for p in t.params if p.index == index), None)
    return p.decoded if p is not None and p.decoded else None


def param_markdown(ctx: HoverContext, token: Token) -> str | None:
    value, owner = token.value, token.owner
    t = triage_of(ctx.analysis, owner)
    if isinstance(value, ExceptionParameter) and isinstance(owner, ExceptionRecord):
        return _exception_param(ctx, value, owner, t)
    index: int
    num: Num
    printed: str
    stop_code: int | None
    if isinstance(value, VerifierStopParam) and isinstance(owner, VerifierStop):
        index, num, printed, stop_code = (
            value.index,
            value.value,
            value.description,
            owner.code.value,
        )
    elif isinstance(value, BugCheckArg) and isinstance(owner, ExceptionAnalysis):
        index, num = value.index, value.value
        printed = value.description or ""
        stop_code = owner.code.value if owner.code is not None else None
    else:
        return None
    info = knowledge.verifier_stop(stop_code) if stop_code is not None else None
    meaning = info.arg(index) if info is not None else None
    where = f"0x{stop_code:X}" if stop_code is not None else "?"
    head = f"**Arg{index} of Application Verifier stop {where} = {code(hexnum(num.value))}**"
    parts: list[str | None] = [head]
    if meaning is not None:
        text = f"*{esc(meaning.label)}*"
        if meaning.meaning:
            text += f": {meaning.meaning}"
        parts.append(text)
    if printed.strip():
        parts.append(f"The log says: {esc(printed.strip())}")
    decoded = _triage_param(t, index)
    if decoded:
        parts.append(f"Value: {esc(decoded)}")
    parts.append(_stop_line(t))
    return paragraphs(parts)


def _exception_param(
    ctx: HoverContext, p: ExceptionParameter, rec: ExceptionRecord, t: Triage | None
) -> str:
    status = rec.code.value & 0xFFFFFFFF if rec.code is not None else None
    v = p.value.value
    head = f"**Parameter[{p.index}] = {code(hexnum(v))}**"
    facts: list[str] = []
    if status in _ACCESS_CODES and p.index == 0:
        kind = "execute" if v == 8 else ("write" if v == 1 else "read")
        facts.append(f"The access kind: {kind} (0 read, 1 write, 8 execute)")
    elif status in _ACCESS_CODES and p.index == 1:
        facts.append("The address that was accessed")
        facts.extend(_data_facts(ctx, v))
    elif status == 0xC0000006 and p.index == 2:
        info = knowledge.status_code(v)
        facts.append(
            "The status of the failed paging I/O"
            + (f": {code(info.name)}" if info is not None else "")
        )
    else:
        name = knowledge.status_code(status) if status is not None else None
        label = (
            name.name if name is not None else (f"0x{status:08X}" if status is not None else "?")
        )
        facts.append(f"A parameter of exception {code(label)}; its meaning depends on the code")
    return paragraphs([head, bullets(facts), _stop_line(t)])


__all__ = ["crash_free_text", "crash_markdown", "location_facts"]
