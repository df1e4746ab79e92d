"""Exception records, register dumps and the instruction a stop happened on.

Three shapes, each read wherever it is printed (FORMATS.md 5.2, 14.3, 14.4):

* ``.exr``: ``ExceptionAddress: <addr> (<symbol>)``, ``ExceptionCode: <code>
  (<name>)``, ``ExceptionFlags``, ``NumberParameters``, ``Parameter[i]`` and
  an optional ``Attempt to read from address <addr>`` line. The keys are
  right-aligned, so the indentation varies; C++ exceptions add
  ``pExceptionObject`` / ``Type`` lines, kept as part of the record.
* Register dumps (``r``, ``.trap``, ``.cxr``, ``.ecxr``): ``name=value`` pairs
  on a few lines (``rax=...`` on x64, ``eax=...`` on x86), the flags and
  segment lines, then a ``module!function+0xoff:`` label and one disassembly
  line.
* A code site: the ``FAULTING_IP:`` / ``FOLLOWUP_IP:`` value of ``!analyze``,
  a symbol (``+73``, offset without ``0x``) and a disassembly line.

``!analyze`` prints the first two under ``EXCEPTION_RECORD:``, ``CONTEXT:``
and ``TRAP_FRAME:``; the ``!analyze`` parser calls the readers here for those
field values, and the block parsers below read the same text anywhere else.
"""

from __future__ import annotations

import re
from re import Match

from ..model import (
    CodeSite,
    ContextKind,
    ExceptionParameter,
    ExceptionRecord,
    Instruction,
    Num,
    Register,
    RegisterContext,
    SourceRef,
    SymbolRef,
)
from ..numbers import dec_int
from .core import Cursor, block

_HEXV = r"[0-9a-fA-F]{1,8}(?:`?[0-9a-fA-F]{8})?"

_EXR_ADDRESS = re.compile(
    rf"^[ \t]*ExceptionAddress:[ \t]*(?P<addr>(?:0x)?{_HEXV})(?:[ \t]+\((?P<sym>[^()]*)\))?[ \t]*$"
)
_EXR_CODE = re.compile(
    rf"^[ \t]*ExceptionCode:[ \t]*(?P<code>(?:0x)?{_HEXV})(?:[ \t]+\((?P<text>[^()]*)\))?"
)
_EXR_HEAD = re.compile(rf"^[ \t]*Exception Record @[ \t]*(?P<addr>(?:0x)?{_HEXV}):?[ \t]*$")
_EXR_CHAINED = re.compile(rf"^[ \t]*Chained Record:[ \t]*(?:0x)?{_HEXV}\b")
_EXR_FLAGS = re.compile(rf"^[ \t]*ExceptionFlags:[ \t]*(?P<v>(?:0x)?{_HEXV})\b")
_EXR_COUNT = re.compile(r"^[ \t]*NumberParameters:[ \t]*(?P<v>[0-9a-fA-F]+)\b")
_EXR_PARAM = re.compile(rf"^[ \t]*Parameter\[(?P<n>\d+)\]:[ \t]*(?P<v>(?:0x)?{_HEXV})\b")
_EXR_ACCESS = re.compile(
    rf"^[ \t]*Attempt to (?P<kind>read from|write to|execute non-executable|execute)"
    rf"(?: address)?[ \t]+(?P<addr>(?:0x)?{_HEXV})\b"
)
#: Extra lines some exceptions add (``Subcode:``, C++ ``pExceptionObject``/``Type``).
_EXR_EXTRA = re.compile(r"^[ \t]+[A-Za-z_][A-Za-z0-9_ ]*?[ \t]*:[ \t]*\S")

_REG = re.compile(r"(?P<name>[a-z][a-z0-9]{1,5})=(?P<val>[0-9a-fA-F]+)")
_REG_LINE = re.compile(r"^[ \t]*[a-z][a-z0-9]{1,5}=[0-9a-fA-F]")
_FLAGS_LINE = re.compile(r"^[ \t]*(?:iopl=|cs=)")
_NOTE = re.compile(r"^[ \t]*(?:NOTE: |Some register values may be|\*\*\* )")
_LABEL = re.compile(
    r"^[ \t]*(?P<sym>[A-Za-z0-9_.$\-]+(?:![^\s\[\]]+|\+0x[0-9a-fA-F]+))"
    r"(?:[ \t]+\[(?P<path>[^\[\]]+?) @ (?P<line>\d+)\])?[ \t]*:[ \t]*$"
)
_SITE = re.compile(
    r"^[ \t]*(?P<sym>[A-Za-z0-9_.$\-]+(?:![^\s\[\]]+|\+(?:0x)?[0-9a-fA-F]+))"
    r"(?:[ \t]+\[(?P<path>[^\[\]]+?) @ (?P<line>\d+)\])?[ \t]*$"
)
_DISASM = re.compile(
    rf"^[ \t]*(?P<addr>{_HEXV})[ \t]+(?P<op>[0-9a-fA-F]{{2,}})[ \t]+(?P<mn>[a-z][a-z0-9.]*)"
    r"(?:[ \t]+(?P<ops>\S.*?))?[ \t]*$"
)
_MEMORY = re.compile(rf"[ \t](?:[cdefgs]s):(?:[0-9a-fA-F]{{4}}:)?(?P<mem>{_HEXV})=\S*$")
_RESETTING = re.compile(r"^[ \t]*Resetting default (?:scope|context)[ \t]*$")

_MAX_EXTRA = 32


def _num(cur: Cursor, i: int, m: Match[str], group: str) -> Num | None:
    return cur.num(i, m, group)


# --------------------------------------------------------------------------- .exr


def is_exception_record(line: str) -> bool:
    return _EXR_ADDRESS.match(line) is not None


def read_exception_record(
    cur: Cursor,
    first: int,
    end: int,
    *,
    in_analysis: bool = False,
    record_address: Num | None = None,
) -> tuple[ExceptionRecord | None, int]:
    """An ``.exr`` record starting at line ``first``; the first line after it.

    The keys come in either order (newer debuggers print ``ExceptionAddress``
    first, old ones ``ExceptionCode`` first, under ``Exception Record @ <addr>:``).
    Returns ``(None, first)`` when no address or code line starts there. The
    record is appended to ``session.exception_records``.
    """
    if first >= end:
        return None, first
    rec = ExceptionRecord(
        range=cur.span(first, first), record_address=record_address, in_analysis=in_analysis
    )
    i = first
    mh = _EXR_HEAD.match(cur.text(i))
    if mh is not None:
        rec.record_address = rec.record_address or cur.num(i, mh, "addr")
        i += 1
    last = i - 1
    extra = 0
    while i < end:
        t = cur.text(i)
        if (m := _EXR_ADDRESS.match(t)) is not None and rec.address is None:
            rec.address = cur.num(i, m, "addr")
            if m.group("sym"):
                rec.symbol = cur.sym(i, m, "sym")
        elif (mc := _EXR_CODE.match(t)) is not None and rec.code is None:
            rec.code = cur.num(i, mc, "code")
            if mc.group("text"):
                rec.code_text = mc.group("text").strip()
                rec.code_text_range = cur.group_range(i, mc, "text")
        elif (mf := _EXR_FLAGS.match(t)) is not None:
            rec.flags = cur.num(i, mf, "v")
        elif _EXR_CHAINED.match(t) is not None:
            pass
        elif (mn := _EXR_COUNT.match(t)) is not None:
            rec.parameter_count = cur.num(i, mn, "v")
        elif (mp := _EXR_PARAM.match(t)) is not None:
            value = cur.num(i, mp, "v")
            if value is not None:
                rng = cur.rng(i, mp.start("n") - len("Parameter["), mp.end("v"))
                index = dec_int(mp.group("n"))
                if index is not None:
                    rec.parameters.append(ExceptionParameter(index, value, rng))
        elif (ma := _EXR_ACCESS.match(t)) is not None and rec.address is not None:
            kind = ma.group("kind")
            if kind.startswith("read"):
                rec.access = "read"
            elif kind.startswith("write"):
                rec.access = "write"
            else:
                rec.access = "execute"
            rec.access_address = cur.num(i, ma, "addr")
            rec.access_range = cur.rng(i, ma.start("kind") - len("Attempt to "), ma.end("addr"))
        elif (
            _EXR_EXTRA.match(t) is not None
            and extra < _MAX_EXTRA
            and rec.code is not None
            and rec.address is not None
        ):
            extra += 1
        else:
            break
        last = i
        i += 1
    if rec.address is None and rec.code is None:
        return None, first
    rec.range = cur.span(first, last)
    cur.session.exception_records.append(rec)
    return rec, last + 1


def _exr_argument(cur: Cursor) -> Num | None:
    """The record address of an ``.exr <address>`` / ``.exr -1`` command echo."""
    cmd = cur.command
    if cmd is None or cmd.verb != ".exr":
        return None
    arg = cmd.args.strip()
    if not arg:
        return None
    token = arg.split()[0]
    line_text = cur.text(cmd.line)
    at = line_text.find(cmd.text)
    if at < 0:
        return None
    start = at + cmd.text.find(token, len(cmd.verb))
    if token == "-1":
        return Num(0xFFFFFFFFFFFFFFFF, token, cur.rng(cmd.line, start, start + len(token)))
    return cur.num_at(cmd.line, token, start)


@block(
    "exception-record",
    r"^[ \t]*(?:ExceptionAddress:[ \t]|ExceptionCode:[ \t]|Exception Record @[ \t]*[0-9a-fA-F])",
)
def exception_record(cur: Cursor) -> int | None:
    """``.exr`` output wherever it stands."""
    rec, nxt = read_exception_record(cur, cur.line, cur.end, record_address=_exr_argument(cur))
    return nxt if rec is not None else None


# --------------------------------------------------------------------------- instructions


def read_instruction(cur: Cursor, i: int) -> Instruction | None:
    """A disassembly line at ``i``, or None."""
    t = cur.text(i)
    m = _DISASM.match(t)
    if m is None:
        return None
    address = cur.num(i, m, "addr")
    if address is None:
        return None
    operands = m.group("ops") or ""
    memory: Num | None = None
    mm = _MEMORY.search(t)
    if mm is not None:
        memory = cur.num(i, mm, "mem")
    return Instruction(
        range=cur.rng(i, m.start("addr"), m.end()),
        address=address,
        opcode=m.group("op"),
        mnemonic=m.group("mn"),
        operands=operands,
        memory=memory,
    )


def _site_parts(cur: Cursor, i: int, m: Match[str]) -> tuple[SymbolRef | None, SourceRef | None]:
    sym = cur.sym(i, m, "sym", bare_offset=True)
    src = cur.source(i, m) if m.group("path") else None
    return sym, src


def read_code_site(
    cur: Cursor, first: int, end: int, key: str | None
) -> tuple[CodeSite | None, int]:
    """A ``FAULTING_IP:`` value: symbol line (offset without ``0x``) then the instruction.

    Either line may be missing (an address the debugger could not name prints
    only the instruction). Appends to ``session.code_sites``.
    """
    i = first
    sym: SymbolRef | None = None
    src: SourceRef | None = None
    if i < end:
        m = _SITE.match(cur.text(i)) or _LABEL.match(cur.text(i))
        if m is not None:
            sym, src = _site_parts(cur, i, m)
            i += 1
    ins = read_instruction(cur, i) if i < end else None
    if ins is not None:
        i += 1
    if sym is None and ins is None:
        return None, first
    site = CodeSite(range=cur.span(first, i - 1), key=key, symbol=sym, source=src, instruction=ins)
    cur.session.code_sites.append(site)
    return site, i


# --------------------------------------------------------------------------- registers


def is_register_line(line: str) -> bool:
    return _REG_LINE.match(line) is not None and ("ax=" in line or "ip=" in line)


_VERB_KIND = {
    ".trap": ContextKind.TRAP,
    ".cxr": ContextKind.CONTEXT,
    ".ecxr": ContextKind.EXCEPTION,
}


def read_registers(
    cur: Cursor,
    first: int,
    end: int,
    kind: ContextKind,
    *,
    frame_address: Num | None = None,
    in_analysis: bool = False,
) -> tuple[RegisterContext | None, int]:
    """A register dump from line ``first`` (``NOTE:`` lines may precede it).

    Reads the ``name=value`` lines, the ``iopl=`` / segment lines, then the
    code label and its disassembly line. Appends to ``session.register_contexts``.
    """
    i = first
    while i < end and _NOTE.match(cur.text(i)):
        i += 1
    if i >= end or not is_register_line(cur.text(i)):
        return None, first
    start = i
    registers: list[Register] = []
    seen: set[str] = set()
    last = i
    while i < end:
        t = cur.text(i)
        if _REG_LINE.match(t) is None and _FLAGS_LINE.match(t) is None:
            break
        for m in _REG.finditer(t):
            name = m.group("name")
            if name in seen:
                continue
            value = cur.num(i, m, "val")
            if value is None:
                continue
            seen.add(name)
            registers.append(Register(name, value, cur.rng(i, m.start(), m.end())))
        last = i
        i += 1
    ctx = RegisterContext(
        range=cur.span(start, last),
        kind=kind,
        registers=registers,
        x64="rip" in seen or "rax" in seen,
        frame_address=frame_address,
        in_analysis=in_analysis,
    )
    if i < end:
        ml = _LABEL.match(cur.text(i))
        if ml is not None:
            sym, src = _site_parts(cur, i, ml)
            ins = read_instruction(cur, i + 1) if i + 1 < end else None
            site_last = i + 1 if ins is not None else i
            ctx.site = CodeSite(
                range=cur.span(i, site_last), symbol=sym, source=src, instruction=ins
            )
            last = site_last
            i = site_last + 1
        else:
            ins = read_instruction(cur, i)
            if ins is not None:
                ctx.site = CodeSite(range=cur.span(i, i), instruction=ins)
                last = i
                i += 1
    if i < end and _RESETTING.match(cur.text(i)):
        last = i
        i += 1
    ctx.range = cur.span(start, last)
    cur.session.register_contexts.append(ctx)
    return ctx, i


def _context_argument(cur: Cursor) -> tuple[ContextKind, Num | None]:
    """The kind a command echo gives a register dump, and the address it names."""
    cmd = cur.command
    if cmd is None:
        return ContextKind.REGISTERS, None
    kind = _VERB_KIND.get(cmd.verb)
    if kind is None:
        return ContextKind.REGISTERS, None
    arg = cmd.args.strip()
    if not arg or kind is ContextKind.EXCEPTION:
        return kind, None
    token = arg.split()[0].rstrip(";")
    line_text = cur.text(cmd.line)
    at = line_text.find(cmd.text)
    if at < 0:
        return kind, None
    start = at + cmd.text.find(token, len(cmd.verb))
    return kind, cur.num_at(cmd.line, token, start)


def context_head(value: str) -> tuple[ContextKind | None, str | None, int]:
    """Read a ``TRAP_FRAME:`` / ``CONTEXT:`` head value.

    ``ffffed0ee77dce90 -- (.trap 0xffffed0ee77dce90)`` gives ``(TRAP, address
    text, its column in value)``; ``(.ecxr)`` gives ``(EXCEPTION, None, -1)``.
    """
    kind: ContextKind | None = None
    if "(.trap" in value:
        kind = ContextKind.TRAP
    elif "(.ecxr" in value:
        kind = ContextKind.EXCEPTION
    elif "(.cxr" in value:
        kind = ContextKind.CONTEXT
    m = re.match(r"[ \t]*((?:0x)?[0-9a-fA-F`]{4,18})\b", value)
    if m is None:
        return kind, None, -1
    return kind, m.group(1), m.start(1)


@block("registers", r"^[ \t]*(?:rax|eax)=[0-9a-fA-F]")
def registers(cur: Cursor) -> int | None:
    """A register dump outside ``!analyze`` (``r``, ``.trap``, ``.cxr``, a break-in)."""
    kind, address = _context_argument(cur)
    ctx, nxt = read_registers(cur, cur.line, cur.end, kind, frame_address=address)
    return nxt if ctx is not None else None
