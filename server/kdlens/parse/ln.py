"""``ln <address>`` output: the symbols nearest to an address (FORMATS.md section 8).

The interesting line is ``(addr)   before+0xoff   |  (addr)   after-0xoff``;
it may be preceded by a ``file.c(50)+0x15`` source line and followed by an
``Exact matches:`` list. WinDbg adds hyperlink text (``Browse module``, ``Set
bu breakpoint``) and old documentation wraps the second half onto the next
line. The output is read both after an ``ln`` echo (which gives the queried
address) and on its own when a result line turns up without the echo.
"""

from __future__ import annotations

import re

from ..model import LnResult, LnSymbol, Num, Range, SourceRef, SymbolRef
from ..numbers import dec_int, parse_hex
from .core import Cursor, block, command

_RESULT_TRIGGER = r"^[ \t]*\([0-9a-fA-F`]+\)[ \t]+\S"
_ADDR_SYM = re.compile(r"[ \t]*\((?P<addr>[0-9a-fA-F`]+)\)[ \t]*(?P<sym>[^|]*)")
_SECOND = re.compile(r"\|[ \t]*\((?P<addr>[0-9a-fA-F`]+)\)[ \t]*(?P<sym>.*)")
_SOURCE = re.compile(r"[ \t]*(?P<path>\S.*?)\((?P<line>\d+)\)(?:\+(?P<off>0x[0-9a-fA-F]+))?[ \t]*$")
_PATHISH = re.compile(r"[\\/]|\.\w+$")
_EXACT = re.compile(r"[ \t]*Exact matches:[ \t]*$")
_EXACT_ROW = re.compile(r"(?P<ind>[ \t]+)(?P<sym>\S.*)")
_DECORATION = re.compile(r"(?<=[ \t])(?:=[ \t].*|\([^()]*\))$")
_NOISE = re.compile(
    r"[ \t]*(?:Browse module|Set bu breakpoint|Browse all global symbols|\*\*\*|DBGHELP:|SYMSRV:"
    r"|Loading symbols)"
)
_ARG = re.compile(r"ln[ \t]+(?P<arg>[^\s;]+)", re.IGNORECASE)


def _trimmed(cur: Cursor, i: int) -> tuple[int, int]:
    line = cur.text(i)
    return len(line) - len(line.lstrip()), len(line.rstrip())


def _source_match(cur: Cursor, i: int) -> re.Match[str] | None:
    """The ``file.c(50)+0x15`` shape on line ``i``, whatever its numbers say."""
    line = cur.text(i)
    if "(" not in line:
        return None
    m = _SOURCE.match(line)
    if not m or not _PATHISH.search(m.group("path")) or m.group("path").startswith("("):
        return None
    return m


def _source(cur: Cursor, i: int) -> SourceRef | None:
    m = _source_match(cur, i)
    if m is None:
        return None
    number = dec_int(m.group("line"))
    if number is None:  # an absurd line number: the line stays plain text
        return None
    off = m.group("off")
    return SourceRef(
        path=m.group("path"),
        line=number,
        range=cur.rng(i, m.start("path"), m.end("off") if off else m.end("line") + 1),
        path_range=cur.group_range(i, m, "path"),
        line_range=cur.group_range(i, m, "line"),
        byte_offset=parse_hex(off) if off else None,
    )


def _ln_symbol(cur: Cursor, i: int, m: re.Match[str]) -> LnSymbol | None:
    addr = cur.num(i, m, "addr")
    sym = cur.sym(i, m, "sym")
    if addr is None or sym is None or sym.module is None:
        return None
    return LnSymbol(addr, sym)


def _result(cur: Cursor, i: int) -> tuple[LnSymbol | None, LnSymbol | None] | None:
    """The two halves of a result line (the second may be absent: wrapped or missing)."""
    line = cur.text(i)
    m = _ADDR_SYM.match(line)
    if not m:
        return None
    before = _ln_symbol(cur, i, m)
    after = None
    bar = _SECOND.search(line, m.end())
    if bar:
        after = _ln_symbol(cur, i, bar)
    if before is None and after is None:
        return None
    return before, after


def _exact(cur: Cursor, i: int) -> SymbolRef | None:
    m = _EXACT_ROW.match(cur.text(i))
    if not m:
        return None
    text = m.group("sym").rstrip()
    cut = _DECORATION.search(text)
    if cut:
        text = text[: cut.start()].rstrip()
    sym = cur.sym_at(i, text, m.start("sym"))
    return sym if sym is not None and sym.module is not None else None


class _Reader:
    """Collects the results of one ``ln`` output region."""

    def __init__(self, cur: Cursor, query: Num | None) -> None:
        self.cur = cur
        self.query = query
        self.results: list[LnResult] = []

    def _touch(self, result: LnResult, i: int) -> None:
        """Extend ``result`` to the end of line ``i``."""
        _, e = _trimmed(self.cur, i)
        result.range = Range(result.range.start, self.cur.rng(i, e, e).end)

    def read(self, first: int, end: int, pending: SourceRef | None = None) -> int:
        """Read from ``first``; return the first line not consumed."""
        cur = self.cur
        current: LnResult | None = None
        consumed = first
        pending_line = pending.range.start.line if pending else -1
        i = first
        while i < end:
            line = cur.text(i)
            if not line.strip() or _NOISE.match(line):
                i += 1
                continue
            halves = _result(cur, i) if line.lstrip().startswith("(") else None
            if halves is not None:
                before, after = halves
                s, e = _trimmed(cur, i)
                start_line = pending_line if pending is not None else i
                start_col = _trimmed(cur, start_line)[0]
                current = LnResult(
                    range=Range(
                        cur.rng(start_line, start_col, start_col).start, cur.rng(i, e, e).end
                    ),
                    query=self.query if not self.results else None,
                    source=pending,
                    before=before,
                    after=after,
                )
                self.results.append(current)
                pending = None
                i += 1
                if after is None and i < end:
                    i = self._wrapped(current, i, s)
                consumed = i
                continue
            if _EXACT.match(line):
                if current is None:
                    s, e = _trimmed(cur, i)
                    current = LnResult(
                        range=cur.rng(i, s, e), query=self.query if not self.results else None
                    )
                    self.results.append(current)
                else:
                    self._touch(current, i)
                i += 1
                while i < end:
                    sym = _exact(cur, i)
                    if sym is None:
                        break
                    address = self._exact_address(current)
                    if address is not None:
                        current.exact.append(LnSymbol(address, sym))
                    self._touch(current, i)
                    i += 1
                consumed = i
                continue
            src = _source(cur, i)
            if src is not None and pending is None:
                pending = src
                pending_line = i
                i += 1
                continue
            if src is None and pending is None and _source_match(cur, i) is not None:
                i += 1  # a source line with an absurd number: text, the result may follow
                continue
            break
        return consumed

    def _wrapped(self, result: LnResult, i: int, indent: int) -> int:
        """The second half wrapped onto a more indented next line (old documentation)."""
        cur = self.cur
        line = cur.text(i)
        s, _ = _trimmed(cur, i)
        if s <= indent or not line.strip():
            return i
        m = _ADDR_SYM.match(line)
        if not m or "|" in line:
            return i
        after = _ln_symbol(cur, i, m)
        if after is None:
            return i
        result.after = after
        self._touch(result, i)
        return i + 1

    def _exact_address(self, result: LnResult) -> Num | None:
        """An exact match sits at the queried address; ``before`` (offset 0) prints it too."""
        if result.before is not None and not result.before.symbol.offset:
            return result.before.address
        return self.query


def _query(cur: Cursor) -> Num | None:
    cmd = cur.command
    if cmd is None:
        return None
    m = _ARG.match(cmd.text)
    if not m or parse_hex(m.group("arg")) is None:
        return None
    echo = cur.text(cmd.line)
    at = echo.rfind(cmd.text)
    if at < 0:
        return None
    return cur.num_at(cmd.line, m.group("arg"), at + m.start("arg"))


@command("ln", r"^ln(?:[ \t]|$)")
def ln_command(cur: Cursor) -> int | None:
    """The whole output of an ``ln`` command."""
    reader = _Reader(cur, _query(cur))
    nxt = reader.read(cur.line, min(cur.end, len(cur.doc)))
    if not reader.results:
        return None
    cur.session.ln_results.extend(reader.results)
    return nxt if nxt > cur.line else None


@block("ln-result", _RESULT_TRIGGER)
def ln_result(cur: Cursor) -> int | None:
    """A result line without its ``ln`` echo (pasted output)."""
    if _result(cur, cur.line) is None:
        return None
    pending = None
    region_start = cur.command.output_start if cur.command is not None else 0
    if cur.line - 1 >= region_start:
        pending = _source(cur, cur.line - 1)
    reader = _Reader(cur, None)
    nxt = reader.read(cur.line, min(cur.end, len(cur.doc)), pending)
    if not reader.results:
        return None
    cur.session.ln_results.extend(reader.results)
    return nxt if nxt > cur.line else None
