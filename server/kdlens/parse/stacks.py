"""Stack traces: ``k``-family output, ``STACK_TEXT`` rows and address+symbol lists.

Every stack display the debugger prints is one row per frame, innermost
first, but the columns differ by command, architecture and debugger version
(FORMATS.md sections 3, 5.3 and 10). Rather than trusting a header (often
missing), each row is read left to right: an optional hex frame number (and
the ``kf`` size column), then the address columns (``ChildEBP``/``Child-SP``,
``RetAddr``, argument values; ``:`` separates the x64 argument group), then
the call site with its suffixes (``(FPO: ...)``, ``(TrapFrame @ ...)``,
``[path @ line]``) peeled off from the right.

``read_frames`` is shared with the ``!analyze`` parser (``STACK_TEXT``) and
never touches ``session.stacks``; the header block parser and the ``k``
command parser below are the ones that append ``Stack`` records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain

from ..model import Frame, Num, Position, Range, SourceRef, Stack, StackKind, SymbolRef
from ..numbers import dec_int, split_symbol
from .core import Cursor, block, command, split_cached

# --------------------------------------------------------------------------- patterns

_TOKEN = re.compile(r"\S+")
#: An address column: 8 or 16 hex digits, optional backtick in the middle (no ``0x``).
_ADDR = re.compile(r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?")
#: ``--------`` (x86) and ``--------`--------`` (x64) placeholders of inline frames.
_PLACEHOLDER = re.compile(r"-{4,}(?:`-{4,})?")
_FRAME_NO = re.compile(r"[0-9a-fA-F]{1,4}")
_KF_SIZE = re.compile(r"[0-9a-fA-F]{1,7}")
#: Old ``kb`` output glues two argument words with a dot (``000000c8.00000000``).
_DOTTED = re.compile(r"[0-9a-fA-F]{8}\.[0-9a-fA-F]{8}")
_ELIDED = re.compile(r"(?:\.{3,}|…)")
_RAW_SITE = re.compile(r"0x[0-9a-fA-F]+(?:`[0-9a-fA-F]+)?")
_MODULE_OFFSET = re.compile(r"[A-Za-z0-9_.$\-]+\+0x[0-9a-fA-F]+")
#: A row can only start like this (cheap pre-check before tokenising).
_ROW_START = re.compile(r"[ \t]*[0-9a-fA-F(.…\-]")
_LONE_SYMBOL = re.compile(r"[ \t]*([A-Za-z0-9_.$\-]+![^\s\[\]]+)[ \t]*$")

_SOURCE = re.compile(r"\[(?P<path>[^\[\]]+?) @ (?P<line>\d+)\][ \t]*$")
_ANNOTATION = re.compile(r"\((?:FPO|CONV|TrapFrame|TaskGate)\b[^()]*\)[ \t]*$")
_DOC_NOTE = re.compile(r"\[[^\[\]@]*\][ \t]*$")
_AUTHOR_NOTE = re.compile(r"(?<=[ \t])(?:<-{2,}|<={2,}|//[ \t])")

#: Lines the debugger (or the docs) interleave with frames; they never end a stack.
_NOISE = re.compile(
    r"[ \t]*(?:\*\*\*|WARNING:|DBGHELP:|SYMSRV:|Loading symbols|Unable to load image"
    r"|\.{3,}|…|<snipped>|\[\.\.\.\])"
)

_HEADER_RE = (
    r"^[ \t]*(?:#[ \t]*)?(?:Memory[ \t]+)?(?:ChildEBP|Child-SP|FramePtr)[ \t]+RetAddr"
    r"|^[ \t]*#[ \t]*(?:RetAddr[ \t]+:|Call Site[ \t]*$)"
)
_HEADER = re.compile(_HEADER_RE)
_THREAD = re.compile(r"[ \t]*(?:[.#][ \t]*)?\d+[ \t]+[Ii]d:[ \t]*[0-9a-fA-F]+\.[0-9a-fA-F]+\b")

_MAX_PARAM_LINES = 64

#: The usual row: optional frame number, two or more address columns, a
#: ``module!function+0xoff`` call site, an optional ``[path @ line]``; single
#: spaces, nothing after. ``_parse_row`` reads every line this matches the same
#: way (the site has no character that starts a suffix or a note), so such a
#: line can skip the general tokenising (``_fast_row``).
_FAST_ROW = re.compile(
    r"[ \t]*(?:([0-9a-fA-F]{1,4}) )?"
    r"([0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?) ([0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?) "
    r"((?:[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})? )*)"
    r"([A-Za-z0-9_.$\-]+![A-Za-z0-9_:$@?.+\-]*[A-Za-z0-9_])"
    r"(?: \[([^\[\]<]+) @ (\d+)\])?$"
)
#: Whether ``_read_rows`` takes the ``_FAST_ROW`` path; the tests turn it off to
#: check that the general path reads every row to the same frame.
FAST_ROWS = True


# --------------------------------------------------------------------------- one row


@dataclass(slots=True)
class _Site:
    """What the call-site part of a row holds, once its suffixes are peeled off."""

    symbol: SymbolRef | None = None
    address: Num | None = None
    source: SourceRef | None = None
    annotation: str | None = None
    open_params: str | None = None  # ``kP``: the ``module!Func`` before a ``(`` ending the line


def _symbolish(text: str) -> bool:
    return "!" in text or bool(_MODULE_OFFSET.fullmatch(text)) or bool(_RAW_SITE.fullmatch(text))


def _param_list(text: str) -> tuple[int, int] | None:
    """The ``(...)`` of a ``kp`` parameter list in ``text`` (start, end exclusive).

    Returns ``(p, -1)`` for a list left open at the end of the line (``kP``).
    ``operator()`` and decorations such as ``ILT+5(_Name@4)`` are not lists.
    """
    bang = text.find("!")
    p = text.find("(", bang + 1)
    while p > 0:
        if text[p - 1] in " \t":
            return None
        if text.endswith("operator", 0, p):
            p = text.find("(", p + 2)
            continue
        depth = 0
        quote = ""
        for q in range(p, len(text)):
            ch = text[q]
            if quote:
                if ch == quote:
                    quote = ""
                continue
            if ch == '"':
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    inner = text[p + 1 : q].strip()
                    if inner == "void" or "=" in inner or inner.startswith("<"):
                        return p, q + 1
                    return None
        return (p, -1) if text[p + 1 :].strip() == "" else None
    return None


def _read_site(cur: Cursor, i: int, line: str, start: int) -> _Site:
    """Read the call site that starts at column ``start`` of line ``i``.

    Suffixes are peeled from the right; each pattern is tried only when the
    line's last character says it can be there (rows are the hot path).
    """
    site = _Site()
    end = len(line.rstrip())
    if "<-" in line or "<=" in line or "//" in line:
        note = _AUTHOR_NOTE.search(line, start, end)
        if note:
            end = len(line[: note.start()].rstrip())
    if end > start and line[end - 1] == "]":
        m = _SOURCE.search(line, start, end)
        if m and m.start() > start and line[m.start() - 1] in " \t":
            site.source = cur.source(i, m)  # None for an absurd line number: the suffix is text
            end = len(line[: m.start()].rstrip())
        if end > start and line[end - 1] == "]":
            m = _DOC_NOTE.search(line, start, end)
            if m and m.start() > start and line[m.start() - 1] in " \t":
                end = len(line[: m.start()].rstrip())
    ann_end = -1
    ann_start = -1
    while end > start and line[end - 1] == ")":
        m = _ANNOTATION.search(line, start, end)
        if not m or m.start() <= start or line[m.start() - 1] not in " \t":
            break
        if ann_end < 0:
            ann_end = end
        ann_start = m.start()
        end = len(line[: m.start()].rstrip())
    if ann_start >= 0:
        site.annotation = line[ann_start:ann_end]
    if end > start and line[end - 1] in ".…":
        body = line[start:end].rstrip(".…")
        dots = end - start - len(body)
        if (dots >= 3 or line[end - 1] == "…") and body[-1:] in (" ", "\t"):
            end = start + len(body.rstrip())
    text = line[start:end]
    if not text or (text[0] in ".…" and _ELIDED.fullmatch(text)):
        return site
    if text[0] == "0" and _RAW_SITE.fullmatch(text):
        site.address = cur.num_at(i, text, start)
        return site
    params = _param_list(text) if "(" in text else None
    if params is not None:
        p, q = params
        if q < 0:
            site.open_params = text[:p]
            site.symbol = _symbol(cur, i, text[:p], "", start, start + p)
            return site
        site.symbol = _symbol(cur, i, text[:p], text[q:], start, end)
        return site
    site.symbol = cur.sym_at(i, text, start)
    return site


def _symbol(cur: Cursor, i: int, name: str, tail: str, start: int, end: int) -> SymbolRef | None:
    """A symbol whose ``kp`` parameter list was cut out: ``name`` + ``tail`` (the offset).

    The range covers the printed text, parameter list included.
    """
    text = (name + tail).strip()
    module, function, offset = split_symbol(text)
    if module is None and function is None:
        return None
    return SymbolRef(text, cur.rng(i, start, end), module, function, offset)


@dataclass(slots=True)
class _Row:
    frame: Frame
    next_line: int


@dataclass(slots=True)
class _Columns:
    number: int | None = None
    inline: bool = False
    before: list[Num | None] = field(default_factory=list)  # before the first ``:``
    args: list[Num | None] = field(default_factory=list)  # between the ``:``s
    colons: int = 0
    site_start: int = -1
    first_col: int = -1


def _column_like(t: str) -> bool:
    return bool(_ADDR.fullmatch(t) or _PLACEHOLDER.fullmatch(t)) or t.startswith("(Inline")


def _columns(cur: Cursor, i: int, line: str, symbol_only: bool) -> _Columns | None:
    """The columns before the call site; the site itself is not tokenised."""
    it = _TOKEN.finditer(line)
    head: list[re.Match[str]] = []
    for m in it:
        head.append(m)
        if len(head) == 3:
            break
    if not head:
        return None
    cols = _Columns(first_col=head[0].start())
    n = len(head)
    k = 0
    t0 = head[0].group()
    if n > 1 and len(t0) <= 4 and _FRAME_NO.fullmatch(t0):
        t1 = head[1].group()
        if _column_like(t1) or _ELIDED.fullmatch(t1) or (symbol_only and _symbolish(t1)):
            cols.number = int(t0, 16)
            k = 1
        elif n > 2 and _KF_SIZE.fullmatch(t1) and _column_like(head[2].group()):
            cols.number = int(t0, 16)
            k = 2
    skip_function = False
    for m in chain(head[k:], it):
        t = m.group()
        if skip_function:
            skip_function = False
            if t == "Function)":
                continue
        group = cols.args if cols.colons else cols.before
        if len(t) in (8, 16, 17) and _ADDR.fullmatch(t):
            # already validated: skip parse_hex's general spelling checks (hot path)
            start = m.start()
            group.append(Num(int(t.replace("`", ""), 16), t, cur.rng(i, start, start + len(t))))
        elif t[0] == "-" and _PLACEHOLDER.fullmatch(t):
            group.append(None)
        elif t == ":":
            cols.colons += 1
            if cols.colons == 2:
                cols.site_start = _site_after(line, m.end())
                break
        elif t == "(Inline)" and not cols.before and not cols.colons:
            cols.inline = True
        elif t == "(Inline" and not cols.before and not cols.colons:
            cols.inline = True
            skip_function = True
        elif (t[0] in ".…" and _ELIDED.fullmatch(t)) or (len(t) == 17 and _DOTTED.fullmatch(t)):
            pass
        else:
            cols.site_start = m.start()
            break
    return cols


def _site_after(line: str, col: int) -> int:
    """The first non-blank column at or after ``col`` (-1 when the line ends)."""
    rest = len(line) - len(line[col:].lstrip())
    return rest if rest < len(line) else -1


def _parse_row(cur: Cursor, i: int, end: int, symbol_only: bool) -> _Row | None:
    """One frame starting at line ``i`` (``kP`` lists and wrapped symbols may add lines)."""
    line = cur.text(i)
    if not symbol_only and not _ROW_START.match(line):
        return None
    cols = _columns(cur, i, line, symbol_only)
    if cols is None:
        return None
    site = _read_site(cur, i, line, cols.site_start) if cols.site_start >= 0 else _Site()
    has_site = site.symbol is not None or site.address is not None
    first_word = _TOKEN.match(line, cols.site_start) if cols.site_start >= 0 else None
    symbolish = has_site and first_word is not None and _symbolish(first_word.group())

    fp: Num | None = None
    ret: Num | None = None
    addr: Num | None = site.address
    args: list[Num | None] = []
    if cols.colons:
        if len(cols.before) >= 2:
            fp, ret = cols.before[0], cols.before[1]
        elif len(cols.before) == 1:
            ret = cols.before[0]
        args = cols.args
        if not cols.inline and not symbolish and all(c is None for c in cols.before + cols.args):
            return None
    elif cols.inline:
        if cols.before and len(cols.before) >= 2:
            fp, ret = cols.before[0], cols.before[1]
            args = cols.before[2:]
    elif len(cols.before) >= 2:
        fp, ret = cols.before[0], cols.before[1]
        args = cols.before[2:]
    elif len(cols.before) == 1:
        # an address+symbol list (``!verifier 0x80``, ``dps``-like): the column is the address
        if cols.before[0] is None or not symbolish:
            return None
        addr = cols.before[0]
    elif not (symbol_only and symbolish):
        # no column at all: only a ``kc`` display has rows made of a call site alone
        return None

    last_line = i
    last_end = len(line.rstrip())
    symbol = site.symbol
    source = site.source
    annotation = site.annotation
    if site.open_params is not None:
        closed = _close_params(cur, i + 1, end)
        if closed is not None:
            j, close_col = closed
            tail_site = _read_site(cur, j, cur.text(j), close_col)
            name = site.open_params
            offset = ""
            if tail_site.symbol is not None:
                offset = tail_site.symbol.text
            elif cur.text(j)[close_col:].strip().startswith(("+", "-")):
                offset = cur.text(j)[close_col:].split()[0]
            if symbol is not None and offset:
                module, function, off = split_symbol(name.strip() + offset)
                symbol = SymbolRef(symbol.text, symbol.range, module, function, off)
            source = tail_site.source or source
            annotation = tail_site.annotation or annotation
            last_line = j
            last_end = len(cur.text(j).rstrip())
    elif not has_site and not cols.inline and cols.site_start < 0 and i + 1 < end:
        # a symbol wrapped onto its own line (documentation artifact)
        nxt = cur.text(i + 1)
        m = _LONE_SYMBOL.match(nxt)
        if m:
            symbol = cur.sym(i + 1, m, 1)
            last_line = i + 1
            last_end = m.end(1)

    if last_line == i:
        frame_range = cur.rng(i, cols.first_col, last_end)
    else:
        frame_range = Range(
            cur.rng(i, cols.first_col, cols.first_col).start,
            cur.rng(last_line, last_end, last_end).end,
        )
    frame = Frame(
        range=frame_range,
        number=cols.number,
        frame_pointer=fp,
        return_address=ret,
        args=tuple(a for a in args if a is not None),
        symbol=symbol,
        address=addr,
        source=source,
        inline=cols.inline,
        annotation=annotation,
    )
    return _Row(frame, last_line + 1)


def _close_params(cur: Cursor, first: int, end: int) -> tuple[int, int] | None:
    """The line and column after the ``)`` that closes a ``kP`` parameter list.

    Parameter lines are indented; the list closes where the parenthesis depth
    (quoted strings skipped) returns to zero, usually glued to the last value.
    """
    depth = 1
    for j in range(first, min(end, first + _MAX_PARAM_LINES)):
        text = cur.text(j)
        if not text.strip() or not text[:1].isspace():
            return None
        quote = ""
        for col, ch in enumerate(text):
            if quote:
                if ch == quote:
                    quote = ""
            elif ch == '"':
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return j, col + 1
    return None


# --------------------------------------------------------------------------- many rows


def _is_noise(line: str) -> bool:
    return bool(_NOISE.match(line))


def _fast_row(i: int, line: str, m: re.Match[str]) -> Frame | None:
    """The frame of a ``_FAST_ROW`` match on a line of a document without colour codes.

    Builds what ``_parse_row`` builds for the same line, with columns taken as
    they are; None when the line holds something the general reader must see.
    """
    number, fp, ret, more, site, path, src_line = m.groups()
    module, function, offset = split_cached(site)
    if module is None and function is None:  # pragma: no cover - the pattern needs ``x!``
        return None
    line_no = 0
    if path is not None:
        number_read = dec_int(src_line)
        if number_read is None or "//" in line:
            # a line number too long to be one, or possibly an author's note:
            # the general reader decides
            return None
        line_no = number_read
    c0 = m.start(2)
    c1 = c0 + len(fp)
    r0 = c1 + 1
    r1 = r0 + len(ret)
    fp_start = Position(i, c0)
    frame_pointer = Num(
        int(fp.replace("`", "") if len(fp) == 17 else fp, 16),
        fp,
        Range(fp_start, Position(i, c1)),
    )
    return_address = Num(
        int(ret.replace("`", "") if len(ret) == 17 else ret, 16),
        ret,
        Range(Position(i, r0), Position(i, r1)),
    )
    args: tuple[Num, ...] = ()
    if more:
        col = r1 + 1
        extra: list[Num] = []
        for t in more[:-1].split(" "):
            e = col + len(t)
            value = int(t.replace("`", "") if len(t) == 17 else t, 16)
            extra.append(Num(value, t, Range(Position(i, col), Position(i, e))))
            col = e + 1
        args = tuple(extra)
    s0 = m.start(5)
    end = Position(i, len(line))
    source: SourceRef | None = None
    if path is None:
        site_end = end
    else:
        site_end = Position(i, s0 + len(site))
        p0, p1 = m.span(6)
        l0, l1 = m.span(7)
        source = SourceRef(
            path=path.strip(),
            line=line_no,
            range=Range(Position(i, p0 - 1), end),
            path_range=Range(Position(i, p0), Position(i, p1)),
            line_range=Range(Position(i, l0), Position(i, l1)),
        )
    return Frame(
        range=Range(fp_start if number is None else Position(i, m.start(1)), end),
        number=None if number is None else int(number, 16),
        frame_pointer=frame_pointer,
        return_address=return_address,
        args=args,
        symbol=SymbolRef(site, Range(Position(i, s0), site_end), module, function, offset),
        source=source,
    )


def _read_rows(
    cur: Cursor, first: int, end: int, symbol_only: bool = False
) -> tuple[list[Frame], int]:
    """Frames from ``first`` up to a blank line, a non-frame line or ``end``.

    Noise lines between (and right after) frames are consumed; the returned
    line is the first one not consumed.
    """
    frames: list[Frame] = []
    i = first
    consumed = first
    limit = min(end, len(cur.doc))
    lines = cur.doc.lines
    fast = None if symbol_only or not FAST_ROWS or lines is not cur.doc.raw else _FAST_ROW.match
    while i < limit:
        line = lines[i]
        if fast is not None:
            m = fast(line)
            if m is not None:
                frame = _fast_row(i, line, m)
                if frame is not None:
                    frames.append(frame)
                    i += 1
                    consumed = i
                    continue
        if not line.strip():
            break
        row = _parse_row(cur, i, limit, symbol_only)
        if row is not None:
            frames.append(row.frame)
            i = row.next_line
            consumed = i
            continue
        if _is_noise(line) and not _THREAD.match(line):
            i += 1
            if frames:
                consumed = i
            continue
        break
    return frames, consumed


def _x64(frames: list[Frame]) -> bool | None:
    seen = False
    for f in frames:
        for n in (f.frame_pointer, f.return_address, f.address):
            if n is None:
                continue
            seen = True
            digits = n.text.replace("`", "")
            if digits.startswith("0x"):
                digits = digits[2:]
            if "`" in n.text or len(digits) > 8:
                return True
    return False if seen else None


def _stack_range(frames: list[Frame], cur: Cursor, first: int) -> Range:
    if frames:
        return Range(frames[0].range.start, frames[-1].range.end)
    line = min(first, max(0, len(cur.doc) - 1))
    return cur.span(line, line)


def read_frames(cur: Cursor, first: int, end: int, kind: StackKind) -> tuple[Stack, int]:
    """Read frame rows from line ``first`` (exclusive ``end``) into a ``Stack``.

    Accepts every row shape of FORMATS.md section 10 and 5.3 (x86/x64, with or
    without frame numbers, ``kb`` argument columns, ``STACK_TEXT`` ``sp ret :
    args : site`` rows, inline frames, source annotations, FPO/TrapFrame
    suffixes) and skips symbol-loader noise lines between frames. Stops at the
    first line that is neither a frame nor noise (a blank line ends a
    ``STACK_TEXT`` value). Returns the stack and the first line not consumed.
    The stack is not added to the session: the caller decides where it goes.
    """
    frames, nxt = _read_rows(cur, first, end)
    stack = Stack(
        kind=kind, range=_stack_range(frames, cur, first), frames=frames, x64=_x64(frames)
    )
    return stack, nxt


# --------------------------------------------------------------------------- k displays


def _header_x64(header: str) -> bool | None:
    if "Child-SP" in header or re.search(r"RetAddr[ \t]+:", header):
        return True
    if "ChildEBP" in header or "FramePtr" in header:
        return False
    return None


@dataclass(slots=True)
class _Building:
    """A stack being assembled by the ``k`` readers."""

    start: Range
    header: str | None = None
    thread: str | None = None
    frames: list[Frame] = field(default_factory=list)
    end: Range | None = None
    symbol_only: bool = False

    def finish(self) -> Stack:
        last = self.frames[-1].range.end if self.frames else (self.end or self.start).end
        x64 = _header_x64(self.header) if self.header else None
        if x64 is None:
            x64 = _x64(self.frames)
        return Stack(
            kind=StackKind.K,
            range=Range(self.start.start, last),
            frames=self.frames,
            header=self.header,
            x64=x64,
            thread=self.thread,
        )


def _trimmed(cur: Cursor, i: int) -> Range:
    line = cur.text(i)
    body = line.strip()
    s = len(line) - len(line.lstrip())
    return cur.rng(i, s, s + len(body))


def _read_k_output(cur: Cursor, first: int, threads: bool, symbol_only: bool) -> int | None:
    """Read one ``k`` display (or, with ``threads``, one per ``~*k`` thread)."""
    end = min(cur.end, len(cur.doc))
    stacks: list[_Building] = []
    current: _Building | None = None
    consumed = first
    i = first
    while i < end:
        line = cur.text(i)
        if not line.strip():
            if current is not None and current.frames and not threads:
                break
            i += 1
            continue
        if threads and _THREAD.match(line):
            current = _Building(
                start=_trimmed(cur, i), thread=line.strip(), symbol_only=symbol_only
            )
            stacks.append(current)
            i += 1
            consumed = i
            continue
        if _HEADER.match(line):
            if current is not None and (
                current.frames or (current.header is not None and not threads)
            ):
                break
            header = line.strip()
            if current is None:
                current = _Building(start=_trimmed(cur, i))
                stacks.append(current)
            else:
                current.end = _trimmed(cur, i)
            current.header = header
            current.symbol_only = symbol_only or bool(re.fullmatch(r"#?[ \t]*Call Site", header))
            i += 1
            consumed = i
            continue
        sym_only = current.symbol_only if current is not None else symbol_only
        frames, nxt = _read_rows(cur, i, end, sym_only)
        if frames:
            if current is None:
                current = _Building(start=frames[0].range)
                stacks.append(current)
            current.frames.extend(frames)
            i = nxt
            consumed = nxt
            continue
        if _is_noise(line):
            i += 1
            continue
        break
    kept = [s for s in stacks if s.frames or s.thread is not None or s.header is not None]
    if not kept:
        return None
    for b in kept:
        cur.session.stacks.append(b.finish())
    return consumed if consumed > first else None


@block("stack-header", _HEADER_RE)
def stack_header(cur: Cursor) -> int | None:
    """A ``k`` display introduced by its column header."""
    if not _HEADER.match(cur.text(cur.line)):
        return None
    return _read_k_output(cur, cur.line, threads=False, symbol_only=False)


_K_VERBS = r"^(?:~(?:\*|\.|#|\d+)[ \t]*(?:s[ \t]*;?[ \t]*)?)?k[bcfnpvl]*(?:[ \t=;]|$)"


@command("k", _K_VERBS)
def k_command(cur: Cursor) -> int | None:
    """``k``, ``kb``, ``kvn``, ``~* k``...: output that may start with rows (no header)."""
    cmd = cur.command
    if cmd is None:
        return None
    text = cmd.text.lstrip()
    threads = text.startswith("~")
    verb = re.match(r"(?:~\S*[ \t]*(?:s[ \t]*;?[ \t]*)?)?(k\w*)", text)
    symbol_only = bool(verb and "c" in verb.group(1)[1:].lower())
    return _read_k_output(cur, cur.line, threads=threads, symbol_only=symbol_only)
