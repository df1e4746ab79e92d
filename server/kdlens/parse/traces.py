"""Shared pieces for the leak-evidence parsers: quoted lines and address+symbol frames.

Stack traces saved by the heap manager, handle tracing and Application
Verifier are printed one frame per line as ``<address> module!symbol+0xoff``,
``0x<address>: module!symbol+0xoff`` or just ``module!symbol+0xoff``, with an
optional source suffix ``[path @ line]`` or ``(path @ line)``. Every address
in such a list is a return address saved by the allocator's stack capture.

Text pasted from blogs and mails is often indented with tabs or quoted with
``> ``; ``LEAD`` matches that prefix so each parser can start its patterns
after it.
"""

from __future__ import annotations

import re

from ..model import Frame, Range, SourceRef, Stack, StackKind
from ..numbers import dec_int
from .core import Cursor

#: Indentation and e-mail/Markdown quote markers in front of a line.
LEAD = r"[ \t]*(?:>[ \t]*)*"

_ADDR = r"(?:0x)?(?:[0-9a-fA-F]{1,8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{1,16})"

_TRACE = re.compile(
    rf"^{LEAD}(?P<addr>{_ADDR})(?P<colon>:)?[ \t]+(?P<sym>[^ \t].*?)"
    r"(?:[ \t]+(?P<src>[\[(](?P<path>[^\[\]()@]*?)[ \t]*@[ \t]*(?P<line>\d+)[ \t]*[\])]))?[ \t]*$"
)
_SYMBOL_ONLY = re.compile(
    rf"^{LEAD}(?P<sym>[A-Za-z0-9_.$\-]+![^\r\n]*?)"
    r"(?:[ \t]+(?P<src>[\[(](?P<path>[^\[\]()@]*?)[ \t]*@[ \t]*(?P<line>\d+)[ \t]*[\])]))?[ \t]*$"
)
_MODULE_PLUS = re.compile(r"[A-Za-z0-9_.$\-]+\+(?:0x)?[0-9a-fA-F]+")
_ELISION = re.compile(rf"^{LEAD}(?:\.{{3,}}|…)[ \t]*$")
_NOISE = re.compile(rf"^{LEAD}(?:\*\*\*|WARNING:|DBGHELP:|SYMSRV:)")


def is_elision(text: str) -> bool:
    return bool(_ELISION.match(text))


def is_noise(text: str) -> bool:
    return bool(_NOISE.match(text))


def _source(cur: Cursor, i: int, m: re.Match[str]) -> SourceRef | None:
    """``(path @ line)``/``[path @ line]``; ``( @ 0)`` (no source known) is None."""
    if m.group("src") is None:
        return None
    path = m.group("path").strip()
    line = dec_int(m.group("line"))
    if not path or line is None or line <= 0:
        return None
    return SourceRef(
        path=path,
        line=line,
        range=cur.group_range(i, m, "src"),
        path_range=cur.group_range(i, m, "path"),
        line_range=cur.group_range(i, m, "line"),
    )


def trace_frame(cur: Cursor, i: int, symbol_only: bool = True) -> Frame | None:
    """One frame of an address+symbol list on line ``i``, else None.

    ``0x8a4c9d12: +0x8a4c9d12`` (a kernel address nothing could name) is a
    frame with an address and no symbol. With ``symbol_only`` a line holding
    just ``module!symbol+off`` is a frame too.
    """
    text = cur.text(i)
    m = _TRACE.match(text)
    if m is not None:
        sym_text = m.group("sym")
        address = cur.num(i, m, "addr")
        if address is None:
            return None
        end = m.end("src") if m.group("src") is not None else m.end("sym")
        if sym_text.startswith("+") and m.group("colon"):
            return Frame(range=cur.rng(i, m.start("addr"), end), address=address)
        if "!" in sym_text or _MODULE_PLUS.fullmatch(sym_text):
            if " " in sym_text and "!" not in sym_text.split(" ", 1)[0]:
                return None  # two columns (a ``dps`` row), not one frame
            symbol = cur.sym(i, m, "sym", bare_offset=True)
            if symbol is None:
                return None
            return Frame(
                range=cur.rng(i, m.start("addr"), end),
                address=address,
                symbol=symbol,
                source=_source(cur, i, m),
            )
    if not symbol_only:
        return None
    sm = _SYMBOL_ONLY.match(text)
    if sm is None:
        return None
    symbol = cur.sym(i, sm, "sym", bare_offset=True)
    if symbol is None:
        return None
    end = sm.end("src") if sm.group("src") is not None else sm.end("sym")
    return Frame(range=cur.rng(i, sm.start("sym"), end), symbol=symbol, source=_source(cur, i, sm))


def read_trace(
    cur: Cursor, first: int, end: int, symbol_only: bool = True
) -> tuple[Stack | None, int]:
    """Frames from line ``first`` until a line that is not a frame (noise skipped inside).

    Returns the stack (None when there was no frame) and the first line not consumed.
    """
    frames: list[Frame] = []
    i = first
    consumed = first
    while i < end:
        text = cur.text(i)
        f = trace_frame(cur, i, symbol_only)
        if f is not None:
            frames.append(f)
            i += 1
            consumed = i
            continue
        if frames and (is_noise(text) or is_elision(text)):
            i += 1
            consumed = i
            continue
        break
    if not frames:
        return None, first
    rng = Range(frames[0].range.start, frames[-1].range.end)
    return Stack(kind=StackKind.TRACE, range=rng, frames=frames), consumed


def continuation(cur: Cursor, i: int, end: int, first_text: str) -> bool:
    """True when line ``i`` finishes a sentence hard-wrapped from ``first_text``.

    A summary line the debugger ends with a period, cut before it, continues
    on the next non-blank line that ends with the period and holds no digits
    of its own that could start another record.
    """
    if i >= end or first_text.rstrip().endswith("."):
        return False
    nxt = cur.text(i).strip()
    if nxt.startswith(">"):
        nxt = nxt.lstrip("> \t")
    return bool(nxt) and nxt.endswith(".") and not nxt[0].isdigit() and len(nxt) < 80
