"""Driver Verifier logs: ``!verifier 0x80`` pool records and the other trace logs.

``!verifier 0x80 [address]`` prints, newest first, every pool allocate or
free the verifier remembered (``Pool block <addr>, Size <n>, Thread <t>``
followed by one stack frame per line). A full dump can hold 65,536 records
(about a million lines), so the frame loop does one precompiled match per
line and nothing else: a record's frames (and the stack's range) are read
from the text when first asked for (``LazyStack``), with symbol splits
cached, and so are its size and thread (``LazyRecord``).

Most of a dump is records of one exact shape (a ``Pool block`` header with
all three values, then plain ``address symbol`` rows, then a blank line).
Those are found with one regular expression over the whole text, a record per
match, with no Python work per row; such a record keeps only its line numbers
and reads its stack, header range, size and thread from the text when first
asked (``_IndexedRun``). Any other shape is read by the line loop.

The other logs (``!verifier 4`` fault injection, ``!verifier 8`` IRQL
transitions, ``!verifier 0x40`` forced-pending IRPs, and the trace sections
that close a ``!verifier 0xf`` report) become ``Stack(kind=TRACE)`` entries in
``session.stacks``; ``read_trace`` is shared with the status-report parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from re import Match

from ..model import (
    Command,
    Frame,
    Num,
    PoolLogRecord,
    PoolOp,
    Position,
    Range,
    Stack,
    StackKind,
    SymbolRef,
)
from ..numbers import hex_int, parse_hex
from . import core
from .core import Cursor, block, split_cached

# A frame row: ``81b250cd nt!IovAllocateMdl+0x3d`` (any indentation; ``# `` is a docs artifact).
# Group 1 is the address, group 2 the symbol text (absent for a bare address).
_FRAME = re.compile(
    r"[ \t]*(?:#[ \t]*)?((?:0x)?[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?)(?:[ \t]+(\S(?:.*\S)?))?[ \t]*$"
)
#: The usual row shape (address, one space, symbol; no indentation or trailing
#: blanks). Every line it matches is a ``_FRAME`` row with the same two groups;
#: it is tried first because it costs a third less than the general pattern.
_PLAIN_FRAME = re.compile(r"([0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})?) (\S(?:.*\S)?)$")
#: The same without groups, for the loop that only tests rows.
_PLAIN_FRAME_TEST = re.compile(r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})? \S(?:.*\S)?$")
#: A whole record of the usual shape in the joined text: the header with its
#: three values and nothing around them, then rows each of which ``_PLAIN_FRAME``
#: matches (the first row's symbol is group 4). ``(?![^\n])`` ends a row at its
#: line break (or the end of the region) only, as ``$`` ends a ``_PLAIN_FRAME``.
_RECORD = re.compile(
    r"Pool block ([0-9a-fA-F]{1,16}), Size ([0-9a-fA-F]{1,16}), Thread ([0-9a-fA-F]{1,16})\n"
    r"[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})? (\S(?:[^\n]*\S)?)(?![^\n])"
    r"(?:\n[0-9a-fA-F]{8}(?:`?[0-9a-fA-F]{8})? \S(?:[^\n]*\S)?(?![^\n]))*"
)
_HEADER = re.compile(
    r"[ \t]*Pool block[ \t]+((?:0x)?[0-9a-fA-F][0-9a-fA-F`]*),[ \t]*Size[ \t]+((?:0x)?[0-9a-fA-F][0-9a-fA-F`]*)"
    r"(?:,[ \t]*Thread[ \t]+((?:0x)?[0-9a-fA-F][0-9a-fA-F`]*))?[ \t]*$"
)
_PARSING = re.compile(
    r"[ \t]*(?:#+[ \t]*)?Parsing[ \t]+(?:0x)?[0-9a-fA-F]+[ \t]+(?:log|array)[ \t]+entries"
    r"(?:,[ \t]*searching for address[ \t]+((?:0x)?[0-9a-fA-F`]+))?"
)
_PREAMBLE = re.compile(
    r"[ \t]*(?:#+[ \t]*)?(?:Log of recent kernel pool Allocate and Free|There are up to )"
)
_SEPARATOR = re.compile(r"[ \t]*(?:#+|-{3,}|={3,})?[ \t]*$")
#: Symbol-loader chatter that may sit between any output lines.
NOISE = re.compile(
    r"[ \t]*(?:\*\*\* (?:ERROR|WARNING)|\*\*\*\*\* |DBGHELP: |Loading symbols for |WARNING: )"
)
# Decides allocate vs free from a function name; ``dealloc`` is a free.
_OP = re.compile(r"(dealloc|free(?!ze))|(alloc)", re.IGNORECASE)
#: How many top frames may decide the operation.
_OP_FRAMES = 4
#: A ``!verifier 0x80`` argument at least this big is an address, not a count.
_MIN_ADDRESS = 0x10000
_ARGS = re.compile(r"[ \t]*(\S+)(?:[ \t]+(\S+))?")

#: ``Frame``'s first fields, in order (``FrameReader.frame`` passes them by position).
_FRAME_POSITIONAL = tuple(f.name for f in fields(Frame))[:7] == (
    "range",
    "number",
    "frame_pointer",
    "return_address",
    "args",
    "symbol",
    "address",
)


class FrameReader:
    """Turns frame rows into ``Frame`` records with as little work per row as possible."""

    __slots__ = ("_col", "_col_end", "faults", "lines", "plain")

    def __init__(self, cur: Cursor) -> None:
        #: where a lazy read that fails records why (it keeps what it read)
        self.faults = cur.session.faults
        self.lines = cur.doc.lines
        self.plain = cur.doc.lines is cur.doc.raw  # no colour codes: columns map 1:1
        self._col = cur.doc.col
        self._col_end = cur.doc.col_end

    def rng(self, i: int, start: int, end: int) -> Range:
        if self.plain:
            return Range(Position(i, start), Position(i, end))
        return Range(Position(i, self._col(i, start)), Position(i, self._col_end(i, end)))

    def rng2(self, i: int, start: int, j: int, end: int) -> Range:
        """From column ``start`` of line ``i`` to column ``end`` of line ``j``."""
        if self.plain:
            return Range(Position(i, start), Position(j, end))
        return Range(Position(i, self._col(i, start)), Position(j, self._col_end(j, end)))

    def num(self, i: int, m: Match[str], group: int) -> Num | None:
        """A ``Num`` for a hex group (``0x`` and backtick allowed) without re-validating it."""
        text = m.group(group)
        if text is None:
            return None
        value = hex_int(text)
        if value is None:
            return None
        start = m.start(group)
        return Num(value, text, self.rng(i, start, start + len(text)))

    def frame(self, i: int, m: Match[str]) -> Frame:
        """The ``Frame`` for a ``_FRAME`` match ``m`` on line ``i``."""
        addr, sym = m.groups()
        a0, a1 = m.span(1)
        value = int(addr.replace("`", ""), 16) if "`" in addr else int(addr, 16)
        plain = self.plain
        if plain:
            p0 = Position(i, a0)
            p1 = Position(i, a1)
        else:
            p0 = Position(i, self._col(i, a0))
            p1 = Position(i, self._col_end(i, a1))
        num = Num(value, addr, Range(p0, p1))
        if sym is None:
            return Frame(Range(p0, p1), address=num)
        s0, s1 = m.span(2)
        if plain:
            p2 = Position(i, s0)
            p3 = Position(i, s1)
        else:
            p2 = Position(i, self._col(i, s0))
            p3 = Position(i, self._col_end(i, s1))
        module, function, offset = split_cached(sym)
        ref = SymbolRef(sym, Range(p2, p3), module, function, offset)
        if _FRAME_POSITIONAL:  # a third cheaper than keywords; analysis reads many frames
            return Frame(Range(p0, p3), None, None, None, (), ref, num)
        return Frame(Range(p0, p3), address=num, symbol=ref)


def op_of(symbol: str | None) -> PoolOp | None:
    """ALLOCATE / FREE when the function part of ``symbol`` names one, else None."""
    if not symbol:
        return None
    op = _OPS.get(symbol, PoolOp.UNKNOWN)
    if op is not PoolOp.UNKNOWN:
        return op
    bang = symbol.find("!")
    if bang < 0:
        op = None  # ``module+0xoff`` names no function
    else:
        m = _OP.search(symbol, bang + 1)
        op = None if m is None else PoolOp.FREE if m.group(1) else PoolOp.ALLOCATE
    if len(_OPS) >= _OPS_MAX:
        _OPS.clear()
    _OPS[symbol] = op
    return op


#: ``op_of`` answers by symbol text (a dump repeats a few allocator frames).
_OPS: dict[str, PoolOp | None] = {}
_OPS_MAX = 1 << 14


_FRAMES_SLOT = Stack.__dict__["frames"]  # the member descriptors that store ``Stack.frames``
_RANGE_SLOT = Stack.__dict__["range"]  # and ``Stack.range``
_UNREAD: list[Frame] = []  # placeholder while frames are unread; never handed out
#: ``LazyStack.deferred`` sets the slots itself while ``Stack`` has just these fields.
_STACK_DIRECT = tuple(f.name for f in fields(Stack)) == (
    "kind",
    "range",
    "frames",
    "header",
    "x64",
    "thread",
)


class LazyStack(Stack):
    """A ``Stack`` whose frames (and maybe range) are read from the log text on first access.

    A full ``!verifier 0x80`` dump has about a million frame lines; building
    ten small records per line up front would take seconds and hundreds of
    megabytes, while a leak hunt looks at a handful of records. Apart from the
    deferred read it behaves as a ``Stack`` (copies and pickles are plain ones).
    """

    __slots__ = ("_first", "_first_col", "_last", "_reader")
    _reader: FrameReader | None
    _first: int
    _first_col: int  # the first row's column while the range is unbuilt, else -1
    _last: int

    @staticmethod
    def deferred(
        reader: FrameReader, first: int, last: int, rng: Range, header: str, x64: bool
    ) -> LazyStack:
        """A POOL_LOG stack whose frames are the frame rows of lines ``first``..``last``."""
        stack: LazyStack
        if _STACK_DIRECT:  # slot by slot: the frames slot stays empty until read
            stack = object.__new__(LazyStack)
            stack.kind = StackKind.POOL_LOG
            stack.range = rng
            stack.header = header
            stack.x64 = x64
            stack.thread = None
        else:
            stack = LazyStack(
                kind=StackKind.POOL_LOG, range=rng, frames=_UNREAD, header=header, x64=x64
            )
        stack._reader = reader
        stack._first = first
        stack._last = last
        return stack

    @staticmethod
    def unbuilt(
        reader: FrameReader, first: int, first_col: int, last: int, header: str, x64: bool
    ) -> LazyStack:
        """``deferred`` with the range also built on first access (from ``first_col``).

        Only while ``_STACK_DIRECT`` holds.
        """
        stack: LazyStack = object.__new__(LazyStack)
        stack.kind = StackKind.POOL_LOG
        stack.header = header
        stack.x64 = x64
        stack.thread = None
        stack._reader = reader
        stack._first = first
        stack._first_col = first_col
        stack._last = last
        return stack

    def _build_range(self, reader: FrameReader) -> None:
        """From the first row's column to the end of the last row."""
        last = self._last
        end = len(reader.lines[last].rstrip(" \t"))
        _RANGE_SLOT.__set__(self, reader.rng2(self._first, self._first_col, last, end))
        self._first_col = -1

    @property
    def range(self) -> Range:
        reader: FrameReader | None = getattr(self, "_reader", None)
        if reader is not None and self._first_col >= 0:
            self._build_range(reader)
        rng: Range = _RANGE_SLOT.__get__(self, Stack)
        return rng

    @range.setter
    def range(self, value: Range) -> None:
        self._first_col = -1
        _RANGE_SLOT.__set__(self, value)

    def _release(self) -> None:
        """Drop the reader (the frames are read): build the range first if it is not."""
        reader = self._reader
        if reader is not None and getattr(self, "_first_col", -1) >= 0:
            self._build_range(reader)
        self._reader = None

    @property
    def frames(self) -> list[Frame]:
        reader: FrameReader | None = getattr(self, "_reader", None)
        if reader is not None:
            self._release()
            _FRAMES_SLOT.__set__(self, _read_frames(reader, self._first, self._last))
        frames: list[Frame] = _FRAMES_SLOT.__get__(self, Stack)
        return frames

    @frames.setter
    def frames(self, value: list[Frame]) -> None:
        if getattr(self, "_reader", None) is not None:
            self._release()
        self._reader = None
        _FRAMES_SLOT.__set__(self, value)

    def iter_frames(self) -> Iterator[Frame]:
        """The frames one at a time, without reading (or keeping) the rest.

        Attributing a leak needs only the frames down to the first one outside
        the allocator; on a 65,536-record dump reading whole stacks for that
        costs seconds.
        """
        reader: FrameReader | None = getattr(self, "_reader", None)
        if reader is None:
            yield from self.frames
            return
        match = _FRAME.match
        plain = _PLAIN_FRAME.match
        lines = reader.lines
        for i in range(self._first, self._last + 1):
            try:
                line = lines[i]
                m = plain(line) or match(line)
                frame = reader.frame(i, m) if m is not None else None
            except Exception as exc:  # a lazy read must never fail its caller
                reader.faults.record("pool-log frames", exc, i)
                return
            if frame is not None:
                yield frame

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.range, self.frames, self.header, self.x64, self.thread)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stack):
            return NotImplemented
        return self._fields() == (
            other.kind,
            other.range,
            other.frames,
            other.header,
            other.x64,
            other.thread,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like Stack

    def __reduce__(self) -> tuple[type[Stack], tuple[object, ...]]:
        return (Stack, self._fields())


def _read_frames(reader: FrameReader, first: int, last: int) -> list[Frame]:
    frames: list[Frame] = []
    match = _FRAME.match
    plain = _PLAIN_FRAME.match
    lines = reader.lines
    i = first
    try:
        for i in range(first, last + 1):
            line = lines[i]
            m = plain(line) or match(line)
            if m is not None:
                frames.append(reader.frame(i, m))
    except Exception as exc:  # a lazy read must never fail its caller; keep what was read
        reader.faults.record("pool-log frames", exc, i)
    return frames


def _address_from_command(command: Command | None) -> int | None:
    """The address of ``!verifier 0x80 <address>`` (a small number is a count, not an address)."""
    if command is None or command.verb != "!verifier":
        return None
    m = _ARGS.match(command.args)
    if m is None or m.group(2) is None:
        return None
    value = parse_hex(m.group(2))
    return value if value is not None and value >= _MIN_ADDRESS else None


def _region_start(cur: Cursor) -> int:
    return cur.command.output_start if cur.command is not None else 0


@block(
    "verifier-pool-log",
    r"^[ \t]*(?:Pool block (?:0x)?[0-9a-fA-F]|(?:#+[ \t]*)?Parsing (?:0x)?[0-9a-fA-F]+ (?:log|array) entries"
    r"|Log of recent kernel pool Allocate and Free)",
)
def pool_log(cur: Cursor) -> int | None:
    """Read ``!verifier 0x80`` output: preamble lines and ``Pool block`` records."""
    session = cur.session
    records = session.pool_log
    searched = _address_from_command(cur.command)
    index = 0
    if records and records[-1].range.start.line >= _region_start(cur):
        # an earlier part of the same output (cut by a line we did not know): continue its numbering
        searched = records[-1].searched_address
        index = records[-1].index + 1
    lines = cur.doc.lines
    end = min(cur.end, len(lines))
    reader = FrameReader(cur)
    match_frame = _FRAME.match
    match_test = _PLAIN_FRAME_TEST.match
    match_plain = _PLAIN_FRAME.match
    match_header = _HEADER.match
    append_record = records.append
    lazy = reader.plain and _LAZY_OK and core.LAZY
    run = _IndexedRun(cur, reader, end) if lazy and cur.whole is not None else None

    # The frame loop only looks at a record's top rows (for the operation); once
    # that is settled a row is only tested, first with the cheap pattern of the
    # usual row shape. The last row of a record is found from the non-frame
    # lines: every line after the last of them is a frame row.
    head: Match[str] | None = None
    head_line = first = first_col = last = 0
    count = 0  # rows read while not settled
    op: PoolOp | None = None
    op_frames = _OP_FRAMES
    settled = False
    stop = end
    nf = cur.line - 1  # the last non-frame line seen
    i = cur.line - 1
    while True:
        i += 1
        if i >= end:
            if end - 1 > nf:
                last = end - 1
            break
        line = lines[i]
        if settled:
            if match_test(line) or match_frame(line):
                continue
        else:
            m = match_plain(line) or match_frame(line)
            if m is not None:
                if head is None:
                    stop = i  # a frame outside any record belongs to someone else
                    break
                if count == 0:
                    first = i
                    first_col = m.start(1)
                if op is None:  # not settled: fewer than ``op_frames`` rows read so far
                    op = op_of(m.group(2))
                count += 1
                settled = op is not None or count >= op_frames
                continue
        if i - 1 > nf:
            last = i - 1
        nf = i
        h = match_header(line) if line else None
        if h is not None and not _header_values(h):
            h = None  # an absurd address or size: the line is not a record header
        p = None if h is not None or not line else _PARSING.match(line)
        if h is not None or p is not None or not line or _SEPARATOR.match(line):
            if head is not None:
                rec = (
                    _lazy_record(
                        reader, head_line, head, first, first_col, last, op, index, searched
                    )
                    if count and lazy
                    else None
                )
                if rec is None:
                    rec = _whole_record(
                        reader, head_line, head, count, first, first_col, last, op, index, searched
                    )
                append_record(rec)
                index += 1
                head = None
                settled = False
            if h is not None:
                if run is not None:
                    # records of the usual shape from here on: indexed, not read row by row
                    nxt, index = run.records(i, index, searched)
                    if nxt > i:
                        nf = nxt - 1  # as the line loop leaves it: a blank line or the line before
                        i = nxt - 1
                        continue
                head, head_line, count, op = h, i, 0, None
            elif p is not None:
                index = 0
                if p.group(1) is not None:
                    searched = parse_hex(p.group(1))
            continue
        if _PREAMBLE.match(line) or NOISE.match(line):
            continue
        stop = i
        break
    if head is not None:
        append_record(
            _record(reader, head_line, head, count, first, first_col, last, op, index, searched)
        )
    return stop if stop > cur.line else None


class _IndexedRun:
    """Reads runs of usual-shape records with one ``_RECORD`` match each.

    A record is taken only when the line after it is blank, the next header
    or the region's end: exactly the records the line loop would close there
    with the same lines, so every field it would have built can be built
    later from the header line and the last row's line (``LazyRecord``).
    """

    __slots__ = ("end", "end_offset", "lines", "reader", "records_", "starts", "text", "text_len")

    def __init__(self, cur: Cursor, reader: FrameReader, end: int) -> None:
        assert cur.whole is not None
        self.text = cur.whole
        self.text_len = len(self.text)
        self.starts = cur.doc.line_index().starts
        self.lines = cur.doc.lines
        self.end = end
        self.end_offset = self.starts[end] if end < len(self.starts) else self.text_len
        self.reader = reader
        self.records_ = cur.session.pool_log

    def records(self, i: int, index: int, searched: int | None) -> tuple[int, int]:
        """Take records from line ``i`` on; the first line not taken, and the next index."""
        text = self.text
        end = self.end
        end_offset = self.end_offset
        starts = self.starts
        lines = self.lines
        reader = self.reader
        append = self.records_.append
        match = _RECORD.match
        count = text.count
        new = object.__new__
        set_address = _ADDRESS_SLOT.__set__
        set_range = _REC_RANGE_SLOT.__set__
        pos = starts[i]
        while True:
            m = match(text, pos, end_offset)
            if m is None:
                return i, index
            stop = m.end()
            last = i + 1 + count("\n", starts[i + 1], stop)
            after = last + 1
            if after < end:
                nxt = stop + 1  # the offset of line ``after``
                blank = nxt == self.text_len or text[nxt] == "\n"
                if not blank and not text.startswith("Pool block ", nxt):
                    return i, index  # the line loop decides what follows
            else:
                blank = False
            op = op_of(m.group(4))
            k = i + 2
            while op is None and k <= last and k < i + 1 + _OP_FRAMES:
                row = _PLAIN_FRAME.match(lines[k])
                op = op_of(row.group(2)) if row is not None else None
                k += 1
            rec: LazyRecord = new(LazyRecord)
            # every reader of the records (the leak analysis, the index) asks each for
            # its address and range at once: those are built here, the rest on demand
            a0, a1 = m.span(1)
            head = starts[i]
            atext = m.group(1)
            start = Position(i, 0)
            set_address(
                rec,
                Num(int(atext, 16), atext, Range(Position(i, a0 - head), Position(i, a1 - head))),
            )
            set_range(rec, Range(start, Position(last, stop - starts[last])))
            rec.op = op or PoolOp.UNKNOWN
            rec.index = index
            rec.searched_address = searched
            rec._pending = _INDEXED
            rec._reader = reader
            rec._line = i
            rec._last = last
            append(rec)
            index += 1
            i = after + 1 if blank else after
            if i >= end:
                return i, index
            pos = starts[i]


def _header_values(head: Match[str]) -> bool:
    """True when a header's address and size are numbers (not absurdly long digit runs)."""
    a, s = head.group(1), head.group(2)
    if len(a) <= 16 and len(s) <= 16:
        return True  # the pattern admits hex digits, backticks and 0x: at most 16 digits
    return hex_int(a) is not None and hex_int(s) is not None


def _record(
    reader: FrameReader,
    line: int,
    head: Match[str],
    count: int,
    first: int,
    first_col: int,
    last: int,
    op: PoolOp | None,
    index: int,
    searched: int | None,
) -> PoolLogRecord:
    """A record from its header and its ``count`` frame rows, ``first``..``last``.

    The first row starts at column ``first_col``; noise lines may sit between rows.
    """
    if count and reader.plain and _LAZY_OK:
        rec = _lazy_record(reader, line, head, first, first_col, last, op, index, searched)
        if rec is not None:
            return rec
    return _whole_record(reader, line, head, count, first, first_col, last, op, index, searched)


def _whole_record(
    reader: FrameReader,
    line: int,
    head: Match[str],
    count: int,
    first: int,
    first_col: int,
    last: int,
    op: PoolOp | None,
    index: int,
    searched: int | None,
) -> PoolLogRecord:
    """``_record`` with every field built at once (any document)."""
    address = reader.num(line, head, 1)
    size = reader.num(line, head, 2)
    assert address is not None and size is not None  # the header pattern only admits hex
    thread = reader.num(line, head, 3)
    text = head.group(0)
    lead = len(text) - len(text.lstrip())
    stripped = len(text.rstrip())
    if thread is not None and head.end(3) == stripped and reader.plain:
        header_range = Range(Position(line, lead), thread.range.end)
    else:
        header_range = reader.rng(line, lead, stripped)
    x64 = len(address.text) - (2 if address.text[:2] in ("0x", "0X") else 0) > 8
    stack: Stack
    if count:
        last_end = len(reader.lines[last].rstrip(" \t"))
        stack_range = reader.rng2(first, first_col, last, last_end)
        stack = LazyStack.deferred(reader, first, last, stack_range, text.strip(), x64)
        whole = Range(header_range.start, stack_range.end)
    else:
        stack = Stack(kind=StackKind.POOL_LOG, range=header_range, header=text.strip(), x64=x64)
        whole = header_range
    return PoolLogRecord(
        range=whole,
        header_range=header_range,
        address=address,
        size=size,
        thread=thread,
        stack=stack,
        op=op or PoolOp.UNKNOWN,
        index=index,
        searched_address=searched,
    )


_SIZE_SLOT = PoolLogRecord.__dict__["size"]  # member descriptors of the deferred fields
_THREAD_SLOT = PoolLogRecord.__dict__["thread"]
_REC_RANGE_SLOT = PoolLogRecord.__dict__["range"]
_HEADER_RANGE_SLOT = PoolLogRecord.__dict__["header_range"]
_ADDRESS_SLOT = PoolLogRecord.__dict__["address"]
_STACK_SLOT = PoolLogRecord.__dict__["stack"]
# ``LazyRecord._pending`` bits: the fields still to be read from the text
_SIZE, _THREAD, _HEADER_RANGE, _STACK = 1, 2, 4, 8
#: The fields an indexed record (``_IndexedRun``) leaves to be read.
_INDEXED = _SIZE | _THREAD | _HEADER_RANGE | _STACK
#: Where an indexed record's address starts: ``len("Pool block ")``.
_ADDRESS_COLUMN = 11
_RECORD_FIELDS = tuple(f.name for f in fields(PoolLogRecord))
#: ``LazyRecord`` sets a record's slots itself; it is only used while
#: ``PoolLogRecord`` has exactly the fields it knows (else records are built whole).
_LAZY_OK = _STACK_DIRECT and _RECORD_FIELDS == (
    "range",
    "header_range",
    "address",
    "size",
    "thread",
    "stack",
    "op",
    "index",
    "searched_address",
)


class LazyRecord(PoolLogRecord):
    """A ``PoolLogRecord`` whose fields are read from the log text on first access.

    A full dump has 65,536 records; analysis reads the address, range, index,
    operation and (through ``LazyStack``) the top frames of records but never
    the size or the thread, so those are read again from the header line
    (``_line``) when asked for. A record of the usual shape found by
    ``_IndexedRun`` defers its header range and its stack too (from
    ``_line`` and its last row's line ``_last``); its address and range are
    built at once, since every reader of the records asks for them. Apart
    from that it behaves as a ``PoolLogRecord`` (copies and pickles are plain
    ones).
    """

    __slots__ = ("_last", "_line", "_pending", "_reader")
    _pending: int
    _reader: FrameReader | None
    _line: int
    _last: int

    def _fill(self, bit: int) -> None:
        """Read the deferred field ``bit`` from the header line (and the last row's)."""
        reader = self._reader
        if reader is None:  # pragma: no cover - a pending field always has its reader
            return
        line = self._line
        text = reader.lines[line]
        if bit & (_SIZE | _THREAD):
            head = _HEADER.match(text)
            if head is not None:  # it matched when the record was made
                if bit == _SIZE:
                    _SIZE_SLOT.__set__(self, reader.num(line, head, 2))
                else:
                    _THREAD_SLOT.__set__(self, reader.num(line, head, 3))
        else:
            self._fill_indexed(bit, reader, line, text)
        self._settle(bit)

    def _fill_indexed(self, bit: int, reader: FrameReader, line: int, text: str) -> None:
        """A field of an indexed record, built as ``_lazy_record`` builds it.

        ``_RECORD`` admits only ``Pool block <1-16 hex digits>, ...`` from
        column 0 with nothing after the thread, and a first row on the next
        line from column 0: the address is ``text[11:<first comma>]`` and no
        blank needs stripping (nor a pattern matching) here.
        """
        if bit == _HEADER_RANGE:
            rng = Range(Position(line, 0), Position(line, len(text)))
            _HEADER_RANGE_SLOT.__set__(self, rng)
        elif bit == _STACK:
            x64 = text.find(",", _ADDRESS_COLUMN) - _ADDRESS_COLUMN > 8
            stack = LazyStack.unbuilt(reader, line + 1, 0, self._last, text, x64)
            _STACK_SLOT.__set__(self, stack)

    def _settle(self, bit: int) -> None:
        """Mark field ``bit`` as read (or set by ``__init__`` or an assignment)."""
        self._pending = pending = getattr(self, "_pending", 0) & ~bit
        if not pending:
            self._reader = None

    @property
    def size(self) -> Num:
        if self._pending & _SIZE:
            self._fill(_SIZE)
        value: Num = _SIZE_SLOT.__get__(self, PoolLogRecord)
        return value

    @size.setter
    def size(self, value: Num) -> None:
        self._settle(_SIZE)
        _SIZE_SLOT.__set__(self, value)

    @property
    def thread(self) -> Num | None:
        if self._pending & _THREAD:
            self._fill(_THREAD)
        value: Num | None = _THREAD_SLOT.__get__(self, PoolLogRecord)
        return value

    @thread.setter
    def thread(self, value: Num | None) -> None:
        self._settle(_THREAD)
        _THREAD_SLOT.__set__(self, value)

    @property
    def header_range(self) -> Range:
        if self._pending & _HEADER_RANGE:
            self._fill(_HEADER_RANGE)
        value: Range = _HEADER_RANGE_SLOT.__get__(self, PoolLogRecord)
        return value

    @header_range.setter
    def header_range(self, value: Range) -> None:
        self._settle(_HEADER_RANGE)
        _HEADER_RANGE_SLOT.__set__(self, value)

    @property
    def stack(self) -> Stack:
        if self._pending & _STACK:
            self._fill(_STACK)
        value: Stack = _STACK_SLOT.__get__(self, PoolLogRecord)
        return value

    @stack.setter
    def stack(self, value: Stack) -> None:
        self._settle(_STACK)
        _STACK_SLOT.__set__(self, value)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _RECORD_FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PoolLogRecord):
            return NotImplemented
        return self._fields() == tuple(getattr(other, name) for name in _RECORD_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, like PoolLogRecord

    def __repr__(self) -> str:
        return repr(PoolLogRecord(*self._fields()))  # type: ignore[arg-type]

    def __reduce__(self) -> tuple[type[PoolLogRecord], tuple[object, ...]]:
        return (PoolLogRecord, self._fields())


def _lazy_record(
    reader: FrameReader,
    line: int,
    head: Match[str],
    first: int,
    first_col: int,
    last: int,
    op: PoolOp | None,
    index: int,
    searched: int | None,
) -> PoolLogRecord | None:
    """A ``LazyRecord`` for a record with frame rows, in a document without colour codes.

    None for a header value ``hex_int`` refuses: ``_whole_record`` then
    decides, as it always did.
    """
    text = head.group(0)
    a0, a1 = head.span(1)
    atext = text[a0:a1]
    value = hex_int(atext)
    if value is None or hex_int(head.group(2)) is None:  # the size must be a number too
        return None
    lead = 0 if text[0] == "P" else len(text) - len(text.lstrip())
    header_start = Position(line, lead)
    x64 = len(atext) - (2 if atext[:2] in ("0x", "0X") else 0) > 8
    rec: LazyRecord = object.__new__(LazyRecord)
    # straight into the slots: the properties' setters would mark fields read one by one
    end = Position(last, len(reader.lines[last].rstrip(" \t")))
    _REC_RANGE_SLOT.__set__(rec, Range(header_start, end))
    _HEADER_RANGE_SLOT.__set__(rec, Range(header_start, Position(line, len(text.rstrip()))))
    _ADDRESS_SLOT.__set__(rec, Num(value, atext, Range(Position(line, a0), Position(line, a1))))
    _STACK_SLOT.__set__(rec, LazyStack.unbuilt(reader, first, first_col, last, text.strip(), x64))
    rec.op = op or PoolOp.UNKNOWN
    rec.index = index
    rec.searched_address = searched
    rec._pending = _SIZE | _THREAD
    rec._reader = reader
    rec._line = line
    return rec


def content_range(cur: Cursor, i: int, text: str) -> Range:
    """The range of ``text`` (a prefix of line ``i``) without its surrounding blanks."""
    stripped = text.rstrip()
    lead = len(stripped) - len(stripped.lstrip())
    return cur.rng(i, lead, len(stripped))


# --------------------------------------------------------------------------- other trace logs

_TRACE_TITLE = re.compile(r"[ \t]*([A-Za-z][A-Za-z /-]*? log)[ \t]*$")
_TRACE_INFO = re.compile(
    r"[ \t]*(?:#+[ \t]*)?(?:Displaying most recent |There are up to |Driver Verifier didn't "
    r"|Resource fault injection history|Tracker @ |Size of the log is )"
)
_RECORD_HEAD = re.compile(
    r"[ \t]*(?:Entry @ (?:0x)?[0-9a-fA-F`]+(?: \(index [0-9a-fA-F]+\))?|IRP: (?:0x)?[0-9a-fA-F`]+ - .*?)[ \t]*$"
)
_KEY_VALUE = re.compile(
    r"[ \t]*(Thread|Old irql|New irql|Processor|Time stamp):[ \t]*((?:0x)?[0-9a-fA-F`]+)[ \t]*$"
)
_OLD_IRQL = re.compile(r"[ \t]*Old irql:")
_TRACE_START = re.compile(
    r"[ \t]*(?:[A-Za-z][A-Za-z /-]*? log[ \t]*$|Thread:[ \t]+(?:0x)?[0-9a-fA-F`]+[ \t]*$"
    r"|Entry @ |IRP: (?:0x)?[0-9a-fA-F`]+ - |Displaying most recent |Resource fault injection history)"
)


def starts_trace(line: str) -> bool:
    """True for a line that opens a trace log or one of its records."""
    return _TRACE_START.match(line) is not None


class _Trace:
    """One trace record being read: its first line, header text, thread and frames."""

    __slots__ = ("first", "frames", "header", "thread")

    def __init__(self, first: int, header: str | None) -> None:
        self.first = first
        self.header = header
        self.thread: str | None = None
        self.frames: list[Frame] = []


def _flush(cur: Cursor, rec: _Trace | None) -> None:
    if rec is None or not rec.frames:
        return
    start = content_range(cur, rec.first, cur.text(rec.first)).start
    first = rec.frames[0].address
    cur.session.stacks.append(
        Stack(
            kind=StackKind.TRACE,
            range=Range(start, rec.frames[-1].range.end),
            frames=rec.frames,
            header=rec.header,
            x64=len(first.text.replace("`", "")) > 8 if first is not None else None,
            thread=rec.thread,
        )
    )


def read_trace(cur: Cursor, first: int, end: int) -> int:
    """Consume Verifier trace-log lines from ``first``; return the first line not consumed.

    Each record (an IRQL ``Thread:`` block, an ``Entry @`` fault-injection entry,
    an ``IRP: ... forced pending`` entry) with frames becomes a TRACE stack.
    """
    lines = cur.doc.lines
    end = min(end, len(lines))
    reader = FrameReader(cur)
    title: str | None = None
    rec: _Trace | None = None
    i = first
    while i < end:
        line = lines[i]
        m = _FRAME.match(line)
        if m is not None:
            if rec is None:
                rec = _Trace(i, title)
            rec.frames.append(reader.frame(i, m))
        elif _SEPARATOR.match(line):
            pass
        elif (kv := _KEY_VALUE.match(line)) is not None:
            if kv.group(1) == "Thread":
                if rec is None or rec.frames or rec.thread is not None:
                    _flush(cur, rec)
                    rec = _Trace(i, " ".join(line.split()))
                rec.thread = kv.group(2)
            elif rec is None:
                rec = _Trace(i, title)
        elif _RECORD_HEAD.match(line):
            _flush(cur, rec)
            rec = _Trace(i, " ".join(line.split()))
        elif (t := _TRACE_TITLE.match(line)) is not None:
            _flush(cur, rec)
            rec = None
            title = t.group(1)
        elif not (_TRACE_INFO.match(line) or NOISE.match(line)):
            break
        i += 1
    _flush(cur, rec)
    return i


@block(
    "verifier-trace-log",
    r"^[ \t]*(?:Resource fault injection history:|(?:#+[ \t]*)?Size of the log is 0x"
    r"|IRP: [0-9a-fA-F`]+ - forced pending|Entry @ [0-9a-fA-F`]+ \(index "
    r"|Displaying most recent 0x[0-9a-fA-F`]+ entries from the IRQL"
    r"|Thread:[ \t]+[0-9a-fA-F`]+[ \t]*$|(?:Fault injection|Track irql) trace log)",
)
def trace_log(cur: Cursor) -> int | None:
    """``!verifier 4`` / ``8`` / ``0x40`` output, or a trace section seen alone."""
    line = cur.text(cur.line)
    if _KEY_VALUE.match(line) is not None:
        # a lone ``Thread:`` line is an IRQL record only when ``Old irql:`` follows
        nxt = cur.line + 1
        while nxt < cur.end and not cur.text(nxt).strip():
            nxt += 1
        if nxt >= cur.end or not _OLD_IRQL.match(cur.text(nxt)):
            return None
    end = read_trace(cur, cur.line, cur.end)
    return end if end > cur.line else None
