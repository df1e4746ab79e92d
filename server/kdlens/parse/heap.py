"""User-mode heap displays: ``!heap -l`` leak scans and ``!heap -p -a`` block records.

``!heap -l`` walks memory for busy blocks that nothing points to and prints
them as a table (entry, user address, heap, segment, size, previous size,
unused bytes, flag words, all hex) closed by a count line in decimal. The
count may exceed the rows shown when the capture was cut; the count line may
be missing altogether.

``!heap -p -a <address>`` names the heap block holding an address. With page
heap it prints a ``DPH_HEAP_BLOCK`` row (block, user address, user size,
virtual address, virtual size); without, a ``HEAP_ENTRY`` row (entry, size in
allocation units, previous size, flags, user pointer, user size, state).
Either may be followed by the stack that allocated the block, one
``<return address> module!symbol+0xoff`` per line. The ``HEAP_ENTRY`` rows of
``!heap -flt`` and ``!heap -p -all`` have the same shape and are kept as block
records without a stack.
"""

from __future__ import annotations

import re

from ..model import HeapBlockInfo, HeapLeakRow, HeapLeakScan, Num, Range
from ..numbers import dec_int
from .core import Cursor, block, command
from .traces import LEAD, continuation, is_elision, is_noise, read_trace

_H = r"[0-9a-fA-F]{1,16}"

# --------------------------------------------------------------------------- !heap -l

_SEARCHING = re.compile(rf"^{LEAD}Searching the memory for potential unreachable")
_HEAP_LINE = re.compile(rf"^{LEAD}Heap[ \t]+(?P<heap>{_H})[ \t]*$")
_SCANNING = re.compile(rf"^{LEAD}Scanning[ \t]")
_LEAK_HEADER = re.compile(rf"^{LEAD}Entry[ \t]+User[ \t]+Heap[ \t]+Segment[ \t]+Size\b")
_DASHES = re.compile(rf"^{LEAD}-{{8,}}[ \t]*$")
_LEAK_ROW = re.compile(
    rf"^(?P<lead>{LEAD})(?P<entry>{_H})[ \t]+(?P<user>{_H})[ \t]+(?P<heap>{_H})[ \t]+"
    rf"(?P<seg>{_H})[ \t]+(?P<size>{_H})[ \t]+(?P<prev>{_H})[ \t]+(?P<unused>{_H})"
    r"(?:[ \t]+(?P<flags>[A-Za-z][A-Za-z ]*?))?[ \t]*$"
)
_COUNT = re.compile(
    rf"^{LEAD}(?P<n>\d+|[Nn]o)[ \t]+potential[ \t]+unreachable[ \t]+blocks?\b(?P<rest>.*)$"
)


def _num_dec(cur: Cursor, i: int, m: re.Match[str], group: str) -> Num | None:
    text = m.group(group)
    if text is None:
        return None
    if not text.isdigit():  # "No potential unreachable blocks": a count of zero
        return Num(0, text, cur.group_range(i, m, group))
    value = dec_int(text)
    if value is None:  # an absurd run of digits stays text
        return None
    return Num(value, text, cur.group_range(i, m, group))


def _leak_row(cur: Cursor, i: int, m: re.Match[str]) -> HeapLeakRow | None:
    entry = cur.num(i, m, "entry")
    user = cur.num(i, m, "user")
    heap = cur.num(i, m, "heap")
    size = cur.num(i, m, "size")
    if entry is None or user is None or heap is None or size is None:
        return None
    flags = (m.group("flags") or "").strip()
    text = cur.text(i)
    start = len(m.group("lead"))
    return HeapLeakRow(
        range=cur.rng(i, start, len(text.rstrip())),
        entry=entry,
        user=user,
        heap=heap,
        size=size,
        segment=cur.num(i, m, "seg"),
        previous_size=cur.num(i, m, "prev"),
        unused=cur.num(i, m, "unused"),
        flags=flags,
        flags_range=cur.group_range(i, m, "flags") if flags else None,
    )


def _read_leak_scan(cur: Cursor, first: int) -> int | None:
    end = min(cur.end, len(cur.doc))
    scan = HeapLeakScan(range=cur.span(first, first))
    i = first
    last = -1
    seen = False
    while i < end:
        text = cur.text(i)
        m = _LEAK_ROW.match(text)
        if m is not None and (scan.header_range is not None or scan.rows or seen):
            row = _leak_row(cur, i, m)
            if row is not None:
                scan.rows.append(row)
                last = i
                i += 1
                continue
        if _SEARCHING.match(text) or _SCANNING.match(text):
            seen = True
            last = i
            i += 1
            continue
        hm = _HEAP_LINE.match(text)
        if hm is not None and not scan.rows:
            heap = cur.num(i, hm, "heap")
            if heap is not None:
                scan.heaps.append(heap)
            seen = True
            last = i
            i += 1
            continue
        if _LEAK_HEADER.match(text):
            if scan.header_range is not None or scan.rows:
                break  # the next scan's table
            s = len(text) - len(text.lstrip())
            scan.header_range = cur.rng(i, s, len(text.rstrip()))
            last = i
            i += 1
            continue
        if _DASHES.match(text) and scan.header_range is not None and not scan.rows:
            last = i
            i += 1
            continue
        cm = _COUNT.match(text)
        if cm is not None:
            scan.count = _num_dec(cur, i, cm, "n")
            s = len(text) - len(text.lstrip())
            cl = i
            if continuation(cur, i + 1, end, text):
                cl = i + 1
            scan.count_range = Range(
                cur.rng(i, s, s).start, cur.rng(cl, 0, len(cur.text(cl).rstrip())).end
            )
            last = cl
            i = cl + 1
            break
        if is_elision(text) and (scan.rows or scan.header_range is not None):
            scan.truncated = True
            last = i
            i += 1
            continue
        if not text.strip() or is_noise(text):
            j = i + 1
            while j < end and (not cur.text(j).strip() or is_noise(cur.text(j))):
                j += 1
            if j < end and _belongs(cur.text(j)) and (seen or scan.rows or scan.header_range):
                i = j
                continue
        break
    if last < first:
        return None
    scan.range = cur.span(first, last)
    cur.session.heap_leak_scans.append(scan)
    return last + 1


def _belongs(text: str) -> bool:
    return bool(
        _LEAK_ROW.match(text)
        or _LEAK_HEADER.match(text)
        or _COUNT.match(text)
        or _SCANNING.match(text)
        or _HEAP_LINE.match(text)
    )


@block(
    "heap-leaks",
    rf"^{LEAD}(?:Searching the memory for potential unreachable|Entry[ \t]+User[ \t]+Heap[ \t]+"
    r"Segment|(?:\d+|[Nn]o)[ \t]+potential[ \t]+unreachable[ \t]+blocks?\b)",
)
def heap_leaks(cur: Cursor) -> int | None:
    """``!heap -l`` output from its first recognisable line (quoted or not)."""
    return _read_leak_scan(cur, cur.line)


# --------------------------------------------------------------------------- !heap -p -a

_FOUND = re.compile(rf"^{LEAD}address[ \t]+(?P<addr>{_H})[ \t]+found in[ \t]*$")
_ROOT = re.compile(rf"^{LEAD}_(?P<kind>DPH_HEAP_ROOT|HEAP)[ \t]*@[ \t]*(?P<heap>{_H})[ \t]*$")
_IN_STATE = re.compile(
    rf"^{LEAD}in[ \t]+(?P<state>busy|free-ed|free)[ \t]+allocation[ \t]*\([ \t]*DPH_HEAP_BLOCK:"
    r"(?P<cols>[^)]*)\)[ \t]*$"
)
_DPH_ROW = re.compile(rf"^{LEAD}(?P<block>{_H}):(?P<rest>(?:[ \t]+(?:{_H}|-))+)[ \t]*$")
_ENTRY_HEADER = re.compile(rf"^{LEAD}HEAP_ENTRY[ \t]+Size[ \t]+Prev[ \t]+Flags[ \t]+UserPtr")
_ENTRY_ROW = re.compile(
    rf"^(?P<lead>{LEAD})(?P<entry>{_H})[ \t]+(?P<size>{_H})[ \t]+(?P<prev>{_H})[ \t]+"
    rf"\[(?P<flags>[0-9a-fA-F]+)\][ \t]+(?P<user>{_H})[ \t]+(?P<usize>{_H})[ \t]+-[ \t]+"
    r"\((?P<state>[^)]*)\)[^\r\n]*$"
)
#: ``? module!symbol`` and ``<PERF>`` hints printed under a ``!heap -flt`` row.
_HINT = re.compile(rf"^{LEAD}(?:\?[ \t]|[A-Za-z0-9_.$\-]+![^ \t]+[ \t]+<PERF>)")
_TRACE_ID = re.compile(rf"^{LEAD}Trace:[ \t]*{_H}[ \t]*$")


def _dph_row(
    cur: Cursor,
    i: int,
    info: HeapBlockInfo,
    columns: list[str],
    pattern: re.Pattern[str] | None = None,
) -> bool:
    m = (pattern or _DPH_ROW).match(cur.text(i))
    if m is None:
        return False
    info.block = cur.num(i, m, "block")
    values: list[Num] = []
    for t in re.finditer(r"[0-9a-fA-F]+", cur.text(i)[m.start("rest") :]):
        n = cur.num_at(i, t.group(), m.start("rest") + t.start())
        if n is not None:
            values.append(n)
    names = [c for c in columns if c not in ("-", ":")]
    for name, value in zip(names, values, strict=False):
        low = name.lower()
        if low == "useraddr":
            info.user_address = value
        elif low == "usersize":
            info.user_size = value
        elif low == "virtaddr":
            info.virtual_address = value
        elif low == "virtsize":
            info.virtual_size = value
    return True


def _entry_block(cur: Cursor, i: int, m: re.Match[str], heap: Num | None) -> HeapBlockInfo:
    text = cur.text(i)
    start = len(m.group("lead"))
    return HeapBlockInfo(
        range=cur.rng(i, start, len(text.rstrip())),
        heap=heap,
        state=m.group("state").strip(),
        block=cur.num(i, m, "entry"),
        user_address=cur.num(i, m, "user"),
        user_size=cur.num(i, m, "usize"),
    )


def _read_found(cur: Cursor, first: int) -> int | None:
    """``address X found in`` and what follows, up to the end of the stack."""
    end = min(cur.end, len(cur.doc))
    m = _FOUND.match(cur.text(first))
    if m is None:
        return None
    info = HeapBlockInfo(range=cur.span(first, first), address=cur.num(first, m, "addr"))
    i = first + 1
    last = first
    columns: list[str] = []
    while i < end:
        text = cur.text(i)
        rm = _ROOT.match(text)
        if rm is not None and info.heap is None:
            info.heap = cur.num(i, rm, "heap")
            info.page_heap = rm.group("kind") == "DPH_HEAP_ROOT"
            last = i
            i += 1
            continue
        sm = _IN_STATE.match(text)
        if sm is not None:
            info.state = "free" if sm.group("state").startswith("free") else "busy"
            columns = sm.group("cols").split()
            last = i
            i += 1
            continue
        if columns and info.block is None and _dph_row(cur, i, info, columns):
            last = i
            i += 1
            continue
        if _ENTRY_HEADER.match(text):
            last = i
            i += 1
            continue
        em = _ENTRY_ROW.match(text)
        if em is not None and info.block is None:
            row = _entry_block(cur, i, em, info.heap)
            info.block = row.block
            info.user_address = row.user_address
            info.user_size = row.user_size
            info.state = row.state
            last = i
            i += 1
            continue
        if _TRACE_ID.match(text) or is_noise(text):
            i += 1
            continue
        if not text.strip():
            i += 1
            continue
        stack, nxt = read_trace(cur, i, end, symbol_only=False)
        if stack is not None:
            info.stack = stack
            last = nxt - 1
            i = nxt
        break
    info.range = cur.span(first, last)
    cur.session.heap_blocks.append(info)
    return last + 1


@block("heap-found", rf"^{LEAD}address[ \t]+{_H}[ \t]+found in[ \t]*$")
def heap_found(cur: Cursor) -> int | None:
    """A ``!heap -p -a`` record (page heap or not)."""
    return _read_found(cur, cur.line)


def _read_entries(cur: Cursor, first: int) -> int | None:
    """A ``HEAP_ENTRY ... UserPtr UserSize - state`` table (``!heap -flt``, ``-p -all``)."""
    end = min(cur.end, len(cur.doc))
    i = first + 1
    last = first
    heap: Num | None = None
    while i < end:
        text = cur.text(i)
        m = _ENTRY_ROW.match(text)
        if m is not None:
            cur.session.heap_blocks.append(_entry_block(cur, i, m, heap))
            last = i
            i += 1
            continue
        rm = _ROOT.match(text)
        if rm is not None:
            heap = cur.num(i, rm, "heap")
            last = i
            i += 1
            continue
        if _HINT.match(text) or is_elision(text) or _ENTRY_HEADER.match(text):
            last = i
            i += 1
            continue
        break
    return last + 1


@block("heap-entries", rf"^{LEAD}HEAP_ENTRY[ \t]+Size[ \t]+Prev[ \t]+Flags[ \t]+UserPtr")
def heap_entries(cur: Cursor) -> int | None:
    return _read_entries(cur, cur.line)


# --------------------------------------------------------------------------- !heap -p -h

_PH_SECTION = re.compile(
    rf"^{LEAD}(?P<kind>Busy allocations|Freed and decommitted blocks|Free(?:d)? allocations)[ \t]*$"
)
_PH_HEADER = re.compile(rf"^{LEAD}DPH_HEAP_BLOCK[ \t]*:(?P<cols>[^\r\n]*)$")
_PH_ROW = re.compile(
    rf"^(?P<lead>{LEAD})(?P<block>{_H})[ \t]*:(?P<rest>(?:[ \t]+(?:{_H}|-))+)[ \t]*$"
)


def _read_page_heap(cur: Cursor, first: int) -> int | None:
    """The block lists of ``!heap -p -h <heap>``: one record per ``DPH_HEAP_BLOCK`` row."""
    end = min(cur.end, len(cur.doc))
    i = first
    last = first - 1
    heap: Num | None = None
    state = ""
    columns: list[str] = []
    while i < end:
        text = cur.text(i)
        rm = _ROOT.match(text)
        if rm is not None and rm.group("kind") == "DPH_HEAP_ROOT":
            heap = cur.num(i, rm, "heap")
            last = i
            i += 1
            continue
        sm = _PH_SECTION.match(text)
        if sm is not None:
            state = "busy" if sm.group("kind").startswith("Busy") else "free"
            columns = []
            last = i
            i += 1
            continue
        hm = _PH_HEADER.match(text)
        if hm is not None and state:
            columns = hm.group("cols").split()
            last = i
            i += 1
            continue
        pm = _PH_ROW.match(text)
        if pm is not None and columns:
            info = HeapBlockInfo(
                range=cur.rng(i, len(pm.group("lead")), len(text.rstrip())),
                heap=heap,
                page_heap=True,
                state=state,
            )
            _dph_row(cur, i, info, columns, _PH_ROW)
            cur.session.heap_blocks.append(info)
            last = i
            i += 1
            continue
        if not text.strip() and last >= first:
            i += 1
            continue
        break
    return last + 1 if last >= first else None


@block("page-heap-lists", rf"^{LEAD}_DPH_HEAP_ROOT[ \t]*@[ \t]*{_H}[ \t]*$")
def page_heap_lists(cur: Cursor) -> int | None:
    """``!heap -p -h``: a page heap root followed by its busy and freed block lists."""
    j = cur.line + 1
    while j < min(cur.end, len(cur.doc)) and not cur.text(j).strip():
        j += 1
    if j >= min(cur.end, len(cur.doc)) or not _PH_SECTION.match(cur.text(j)):
        return None
    return _read_page_heap(cur, cur.line)


@command("heap-l", r"^!heap[ \t]+(?:-l|/l)\b")
def heap_l_command(cur: Cursor) -> int | None:
    """``!heap -l`` whose output starts with rows (the banner lines cut away)."""
    if cur.line >= cur.end or not _LEAK_ROW.match(cur.text(cur.line)):
        return None
    return _read_leak_scan_rows(cur)


def _read_leak_scan_rows(cur: Cursor) -> int | None:
    # Rows with no banner or header: accept them because the command says what they are.
    end = min(cur.end, len(cur.doc))
    scan = HeapLeakScan(range=cur.span(cur.line, cur.line))
    i = cur.line
    while i < end:
        m = _LEAK_ROW.match(cur.text(i))
        if m is None:
            break
        row = _leak_row(cur, i, m)
        if row is None:
            break
        scan.rows.append(row)
        i += 1
    if not scan.rows:
        return None
    # A count line right after the rows belongs to this scan.
    if i < end:
        cm = _COUNT.match(cur.text(i))
        if cm is not None:
            scan.count = _num_dec(cur, i, cm, "n")
            text = cur.text(i)
            s = len(text) - len(text.lstrip())
            scan.count_range = cur.rng(i, s, len(text.rstrip()))
            i += 1
    scan.range = cur.span(cur.line, i - 1)
    cur.session.heap_leak_scans.append(scan)
    return i
