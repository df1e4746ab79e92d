"""UMDH files: comparison entries, analysed snapshot records and raw snapshot entries.

Three entry shapes share one parser so that a whole listing is read at once:

- comparison (``umdh log1 log2``): ``+ 5320 ( f110 - 9df0) 3a allocs BackTrace00B53``,
  optionally followed by the count line ``+ 1 ( 1 - 0) BackTraceX allocations``,
  a blank line and the frames;
- analysed snapshot: ``00005320 bytes in 0x14 allocations (@ 0x00000428) by: BackTraceX``
  directly followed by frames;
- raw snapshot: ``30 bytes + 30 at <address> by BackTraceX`` and bare return addresses.

Frames end at a blank line. They are ``module!function+off`` (offset hex, with
or without ``0x``), optionally with `` : <address>`` or ``(file, line)``, or a
bare return address.

Radix of comparison numbers: UMDH prints hex unless run with ``-d``, and a
file does not say which. The listing is read as hex when any number holds a
hex letter; otherwise as decimal when a ``//`` header line shows ``-d``, or
when the entries themselves agree better with decimal (``delta == new - old``
and ``bytes`` divisible by the allocation count hold in decimal but not in
hex); otherwise as hex. Snapshot records are hex (their ``0x`` prefixes say
so) unless only the decimal reading makes ``bytes == count * size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Frame, Num, Range, SourceRef, Stack, StackKind, UmdhRecord, UmdhTotal
from ..numbers import dec_int, hex_int
from .core import Cursor, block

_BT = r"BackTrace[0-9A-Za-z_]+"
_CMP = re.compile(
    r"^[ \t]*(?P<sign>[+-])[ \t]+(?P<delta>[0-9a-fA-F]+)[ \t]+\([ \t]*(?P<new>[0-9a-fA-F]+)"
    r"[ \t]*-[ \t]*(?P<old>[0-9a-fA-F]+)[ \t]*\)[ \t]+"
    rf"(?:(?P<count>[0-9a-fA-F]+)[ \t]+allocs[ \t]+(?P<bt>{_BT})|(?P<cbt>{_BT})[ \t]+allocations)"
    r"[ \t]*$"
)
_SNAP = re.compile(
    r"^[ \t]*(?P<bytes>(?:0x)?[0-9a-fA-F]+)[ \t]+bytes[ \t]+in[ \t]+(?P<count>(?:0x)?[0-9a-fA-F]+)"
    r"[ \t]+allocations[ \t]+\(@[ \t]*(?P<each>(?:0x)?[0-9a-fA-F]+)\)[ \t]+by:[ \t]+"
    rf"(?P<bt>{_BT})[ \t]*$"
)
_RAW = re.compile(
    r"^[ \t]*(?P<bytes>[0-9a-fA-F]+)[ \t]+bytes[ \t]+\+[ \t]+(?P<over>[0-9a-fA-F]+)[ \t]+at[ \t]+"
    rf"(?P<addr>[0-9a-fA-F`]+)[ \t]+by[ \t]+(?P<bt>{_BT})[ \t]*$"
)
_TOTAL = re.compile(r"^[ \t]*Total (?:increase|decrease)[ \t]*==")
_TOTAL_FULL = re.compile(
    r"^[ \t]*Total[ \t]+(?P<dir>increase|decrease)[ \t]*==[ \t]*(?P<value>[0-9a-fA-F]+)"
    r"(?:[ \t]+requested(?:[ \t]*\+[ \t]*(?P<over>[0-9a-fA-F]+)[ \t]+overhead"
    r"(?:[ \t]*=[ \t]*(?P<total>[0-9a-fA-F]+))?|[ \t]*\+)?)?[ \t]*$"
)
#: The rest of a hard-wrapped ``Total increase == X requested +`` line.
_TOTAL_REST = re.compile(
    r"^[ \t]*(?:\+[ \t]*)?(?P<over>[0-9a-fA-F]+)[ \t]+overhead"
    r"(?:[ \t]*=[ \t]*(?P<total>[0-9a-fA-F]+))?[ \t]*$"
)
_BARE = re.compile(
    r"^[ \t]*(?P<addr>(?:0x)?(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{6,16}))[ \t]*$"
)
_SYM = re.compile(
    r"^[ \t]*(?P<sym>[A-Za-z0-9_.$\-]+![^\r\n]*?)"
    r"(?:[ \t]+:[ \t]+(?P<addr>[0-9a-fA-F`]{4,17}))?"
    r"(?:[ \t]+(?P<src>\((?P<path>[^()\r\n]+?),[ \t]*(?P<line>\d+)\)))?[ \t]*$"
)
_HEX_LETTER = re.compile(r"[a-fA-F]")
_DASH_D = re.compile(r"(?<![\w-])[-/]d(?![\w-])")

#: How far back a ``//`` header may sit above the first entry.
_HEADER_REACH = 200


@dataclass(slots=True)
class _Entry:
    kind: str  # "cmp", "snap", "raw"
    first: int
    last: int
    m: re.Match[str]
    count_line: re.Match[str] | None = None
    stack: Stack | None = None


def _frame(cur: Cursor, i: int) -> Frame | None:
    text = cur.text(i)
    bm = _BARE.match(text)
    if bm:
        address = cur.num(i, bm, "addr")
        if address is None:
            return None
        return Frame(range=address.range, address=address)
    m = _SYM.match(text)
    if not m:
        return None
    symbol = cur.sym(i, m, "sym", bare_offset=True)
    if symbol is None:
        return None
    address = cur.num(i, m, "addr")
    source = None
    line_no = dec_int(m.group("line")) if m.group("src") is not None else None
    if line_no is not None:  # an absurd line number leaves the ``(file, line)`` as text
        source = SourceRef(
            path=m.group("path").strip(),
            line=line_no,
            range=cur.group_range(i, m, "src"),
            path_range=cur.group_range(i, m, "path"),
            line_range=cur.group_range(i, m, "line"),
        )
    last = max(m.end("sym"), m.end("addr") if address else 0, m.end("src") if source else 0)
    return Frame(
        range=cur.rng(i, m.start("sym"), last),
        symbol=symbol,
        address=address,
        source=source,
    )


def _frames(cur: Cursor, i: int, end: int, skip_blank: bool) -> tuple[Stack | None, int]:
    """Frames from line ``i`` (after blank lines when ``skip_blank``) to the next blank."""
    j = i
    if skip_blank:
        while j < end and not cur.text(j).strip():
            j += 1
    first = j
    frames: list[Frame] = []
    while j < end and not _is_entry(cur.text(j)):
        f = _frame(cur, j)
        if f is None:
            break
        frames.append(f)
        j += 1
    if not frames:
        return None, i
    stack = Stack(kind=StackKind.TRACE, range=cur.span(first, j - 1), frames=frames)
    return stack, j


def _is_entry(text: str) -> bool:
    return bool(_CMP.match(text) or _SNAP.match(text) or _RAW.match(text) or _TOTAL.match(text))


def _header_says_decimal(cur: Cursor) -> bool:
    """A ``//`` comment block just above the listing that shows ``-d``."""
    i = cur.line - 1
    stop = max(-1, cur.line - 1 - _HEADER_REACH)
    while i > stop:
        text = cur.text(i).strip()
        if text.startswith("//"):
            if _DASH_D.search(text):
                return True
        elif text:
            return False
        i -= 1
    return False


def _comparison_decimal(entries: list[_Entry], cur: Cursor) -> bool:
    groups = ("delta", "new", "old")
    spellings: list[str] = []
    for e in entries:
        if e.kind != "cmp":
            continue
        spellings.extend(e.m.group(g) for g in (*groups, "count"))
        if e.count_line is not None:
            spellings.extend(e.count_line.group(g) for g in groups)
    if not spellings:
        return False
    if any(_HEX_LETTER.search(s) for s in spellings):
        return False
    if _header_says_decimal(cur):
        return True
    dec_votes = hex_votes = 0
    for e in entries:
        if e.kind != "cmp":
            continue
        for m in (e.m, e.count_line):
            if m is None:
                continue
            d, n, o = m.group("delta"), m.group("new"), m.group("old")
            sign = -1 if m.group("sign") == "-" else 1
            dec_ok = _difference_holds(sign, d, n, o, True)
            hex_ok = _difference_holds(sign, d, n, o, False)
            dec_votes += dec_ok and not hex_ok
            hex_votes += hex_ok and not dec_ok
        c = e.m.group("count")
        n = e.m.group("new")
        cd, ch = dec_int(c), hex_int(c)
        nd, nh = dec_int(n), hex_int(n)
        if cd is None or ch is None or nd is None or nh is None:
            continue  # an absurd number gives no evidence
        if cd > 1 and ch > 1:
            dec_ok = nd % cd == 0
            hex_ok = nh % ch == 0
            dec_votes += dec_ok and not hex_ok
            hex_votes += hex_ok and not dec_ok
    return dec_votes > hex_votes


def _difference_holds(sign: int, delta: str, new: str, old: str, decimal: bool) -> bool:
    """True when ``sign * delta == new - old`` in the given radix (absurd numbers never hold)."""
    d, n, o = (_value(s, decimal) for s in (delta, new, old))
    return d is not None and n is not None and o is not None and sign * d == n - o


def _value(text: str, decimal: bool) -> int | None:
    """A UMDH number in the given radix (``0x`` forces hex); None when absurdly long."""
    if text[:2] in ("0x", "0X") or not decimal:
        return hex_int(text)
    return dec_int(text)


def _product_holds(b: str, c: str, e: str, decimal: bool) -> bool:
    """True when ``bytes == count * each`` in the given radix (absurd numbers never hold)."""
    vb, vc, ve = _value(b, decimal), _value(c, decimal), _value(e, decimal)
    return vb is not None and vc is not None and ve is not None and vb == vc * ve


def _snapshot_decimal(m: re.Match[str]) -> bool:
    b, c, e = m.group("bytes"), m.group("count"), m.group("each")
    if _product_holds(b, c, e, False):
        return False
    if not all(s.isdigit() for s in (b, c, e) if s[:2] not in ("0x", "0X")):
        return False
    return _product_holds(b, c, e, True)


def _record(cur: Cursor, e: _Entry, decimal: bool) -> UmdhRecord:
    m = e.m
    rng = cur.span(e.first, e.last)
    if e.kind == "cmp":
        sign = -1 if m.group("sign") == "-" else 1
        delta = _value(m.group("delta"), decimal)
        old_count = None
        if e.count_line is not None:
            old_count = _value(e.count_line.group("old"), decimal)
        return UmdhRecord(
            range=rng,
            backtrace=m.group("bt"),
            backtrace_range=cur.group_range(e.first, m, "bt"),
            comparison=True,
            bytes=_value(m.group("new"), decimal),
            old_bytes=_value(m.group("old"), decimal),
            delta=None if delta is None else sign * delta,
            count=_value(m.group("count"), decimal),
            stack=e.stack,
            old_count=old_count,
            decimal=decimal,
            delta_range=cur.group_range(e.first, m, "delta"),
            new_range=cur.group_range(e.first, m, "new"),
            old_range=cur.group_range(e.first, m, "old"),
            count_range=cur.group_range(e.first, m, "count"),
            sign_range=cur.group_range(e.first, m, "sign"),
        )
    if e.kind == "snap":
        dec = _snapshot_decimal(m)
        return UmdhRecord(
            range=rng,
            backtrace=m.group("bt"),
            backtrace_range=cur.group_range(e.first, m, "bt"),
            comparison=False,
            bytes=_value(m.group("bytes"), dec),
            count=_value(m.group("count"), dec),
            size_each=_value(m.group("each"), dec),
            stack=e.stack,
            decimal=dec,
        )
    size = hex_int(m.group("bytes"))
    return UmdhRecord(
        range=rng,
        backtrace=m.group("bt"),
        backtrace_range=cur.group_range(e.first, m, "bt"),
        comparison=False,
        bytes=size,
        count=1,
        size_each=size,
        stack=e.stack,
        address=cur.num(e.first, m, "addr"),
        overhead=hex_int(m.group("over")),
    )


@dataclass(slots=True)
class _Total:
    first: int
    last: int
    m: re.Match[str]
    rest: re.Match[str] | None = None


def _total(cur: Cursor, t: _Total, decimal: bool) -> UmdhTotal | None:
    def number(m: re.Match[str], line: int, group: str) -> Num | None:
        text = m.group(group)
        if text is None:
            return None
        value = dec_int(text) if decimal else hex_int(text)
        if value is None:
            return None
        return Num(value, text, cur.group_range(line, m, group))

    m = t.m
    value = number(m, t.first, "value")
    if value is None:
        return None
    over = number(m, t.first, "over")
    total = number(m, t.first, "total")
    if t.rest is not None:
        over = over or number(t.rest, t.last, "over")
        total = total or number(t.rest, t.last, "total")
    requested = value if "requested" in cur.text(t.first) else None
    text = cur.text(t.first)
    s = len(text) - len(text.lstrip())
    return UmdhTotal(
        range=Range(
            cur.rng(t.first, s, s).start, cur.rng(t.last, 0, len(cur.text(t.last).rstrip())).end
        ),
        increase=m.group("dir") == "increase",
        value=value,
        requested=requested,
        overhead=over,
        total=total,
        decimal=decimal,
    )


@block(
    "umdh",
    r"^[ \t]*(?:[+-][ \t]+[0-9a-fA-F]+[ \t]+\(|(?:0x)?[0-9a-fA-F]+[ \t]+bytes[ \t]+(?:in|\+)[ \t]"
    r"|Total[ \t]+(?:increase|decrease)[ \t]*==)",
)
def umdh(cur: Cursor) -> int | None:
    """A run of UMDH entries (any of the three shapes) with their frames."""
    end = min(cur.end, len(cur.doc))
    i = cur.line
    entries: list[_Entry] = []
    totals: list[_Total] = []
    while i < end:
        text = cur.text(i)
        m = _CMP.match(text)
        if m:
            if m.group("cbt") is not None:
                # A count line on its own (its bytes line was not recognised).
                i += 1
                continue
            e = _Entry("cmp", i, i, m)
            i += 1
            if i < end:
                cm = _CMP.match(cur.text(i))
                if cm and cm.group("cbt") == m.group("bt"):
                    e.count_line = cm
                    e.last = i
                    i += 1
            e.stack, i = _frames(cur, i, end, skip_blank=True)
            e.last = max(e.last, i - 1)
            entries.append(e)
            continue
        m = _SNAP.match(text) or _RAW.match(text)
        if m:
            e = _Entry("snap" if "each" in m.re.groupindex else "raw", i, i, m)
            e.stack, i = _frames(cur, i + 1, end, skip_blank=False)
            e.last = max(e.last, i - 1)
            entries.append(e)
            continue
        if _TOTAL.match(text):
            tm = _TOTAL_FULL.match(text)
            if tm is not None:
                t = _Total(i, i, tm)
                if tm.group("over") is None and text.rstrip().endswith("+") and i + 1 < end:
                    rm = _TOTAL_REST.match(cur.text(i + 1))
                    if rm is not None:
                        t.rest = rm
                        t.last = i + 1
                totals.append(t)
                i = t.last + 1
            else:
                i += 1
            continue
        if not text.strip():
            j = i + 1
            while j < end and not cur.text(j).strip():
                j += 1
            if j < end and _is_entry(cur.text(j)):
                i = j
                continue
        break
    if i == cur.line:
        return None
    decimal = _comparison_decimal(entries, cur)
    if not entries and totals:
        decimal = _totals_decimal(totals, cur)
    cur.session.umdh.extend(_record(cur, e, decimal) for e in entries)
    for t in totals:
        total = _total(cur, t, decimal)
        if total is not None:
            cur.session.umdh_totals.append(total)
    return i


def _totals_decimal(totals: list[_Total], cur: Cursor) -> bool:
    """Radix of totals printed with no entry: hex unless a ``-d`` header says otherwise."""
    for t in totals:
        for g in ("value", "over", "total"):
            v = t.m.group(g)
            if v is not None and _HEX_LETTER.search(v):
                return False
    return _header_says_decimal(cur)
