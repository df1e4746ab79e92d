"""``!verifier`` status reports: flags, statistics, verified drivers and their leaked pool.

One parser reads a whole report, whichever part it starts at, because the
parts only make sense together: a ``Pool Allocations`` table belongs to the
``MODULE:`` / ``nt!_VF_TARGET_DRIVER`` / legacy ``Entry State ...`` driver line
above it, and its rows are the leaks behind bug check 0xC4/0x62. Both report
generations are read (legacy ``Verify Level 9bb ... enabled options are:`` and
newer ``Verify Flags Level 0x...``), with x86 and x64 table widths.

The report ends at the first line the parser does not know. When a later
trigger line of the same command output continues it (an unknown line sat in
the middle), the parser picks the same report up again instead of starting a
second one. Pasted fragments (a lone table) still become a report; a table
without its driver line gets a driver named after the ``!verifier 3 <name>``
argument, or an unnamed one.

Legacy option lines do not print their mask bit: their ``VerifierFlag.bit`` is
0 and the name is kept as printed (mapping names to bits is knowledge, not
parsing). The trace-log sections after the driver list are consumed with
``pool_log.read_trace``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from re import Match

from ..model import (
    DriverLayout,
    PoolAllocation,
    PoolAllocationTable,
    PoolStat,
    Range,
    VerifiedDriver,
    VerifierFlag,
    VerifierFlags,
    VerifierReport,
    VerifierStat,
)
from .core import Cursor, block
from .pool_log import NOISE, content_range, read_trace, starts_trace

_H = r"[ \t]*(?:#{1,3}[ \t]*)?"  # ``## `` heading prefixes are documentation artifacts
_HEX = r"(?:0x)?[0-9a-fA-F`]+"

_FLAGS_LEVEL = re.compile(_H + r"Verify Flags Level[ \t]+((?:0x)?[0-9a-fA-F]+)")
_LEGACY_LEVEL = re.compile(_H + r"Verify Level[ \t]+((?:0x)?[0-9a-fA-F]+)\b")
_SECTION = re.compile(r"[ \t]*(STANDARD|ADDITIONAL) FLAGS:[ \t]*$")
_FLAG = re.compile(r"[ \t]*\[([Xx ])\][ \t]*\(((?:0x)?[0-9a-fA-F]+)\)[ \t]+(\S(?:.*\S)?)[ \t]*$")
_LEGEND = re.compile(r"[ \t]*\[[Xx]\][ \t]+Indicates flag is enabled")
_SUMMARY = re.compile(_H + r"Summary of All Verifier Statistics")
_STAT = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9 ]*?)[ \t]+(0x[0-9a-fA-F]+)"
    r"(?:[ \t]+for[ \t]+((?:0x)?[0-9a-fA-F]+)[ \t]+bytes)?[ \t]*$"
)
_LIST = re.compile(_H + r"Driver Verification List")
_DRIVERS_HEADER = re.compile(
    r"[ \t]*Entry[ \t]+State[ \t]+NonPagedPool[ \t]+PagedPool[ \t]+Module[ \t]*$"
)
_DRIVER_ROW = re.compile(
    r"[ \t]*((?:0x)?[0-9a-fA-F`]{8,17})[ \t]+(\S(?:.*?\S)?)[ \t]+([0-9a-fA-F]{8,16})"
    r"[ \t]+([0-9a-fA-F]{8,16})[ \t]+(\S(?:.*\S)?)[ \t]*$"
)
_MODULE = re.compile(rf"[ \t]*MODULE:[ \t]+({_HEX})[ \t]+(\S+)(?:[ \t]+\(([^()]*)\))?[ \t]*$")
_VF_TARGET = re.compile(
    rf"[ \t]*nt!_VF_TARGET_DRIVER[ \t]+({_HEX}):?[ \t]+(\S+)(?:[ \t]+\(([^()]*)\))?[ \t]*$"
)
_POOL_STATS_HEAD = re.compile(r"[ \t]*Pool Allocation Statistics:")
_PAIR = re.compile(
    rf"[ \t]*([A-Za-z][A-Za-z ]*?)[ \t]*:[ \t]*\([ \t]*({_HEX})[ \t]*/[ \t]*({_HEX})[ \t]*\)[ \t]*$"
)
_SINGLE = re.compile(rf"[ \t]*([A-Za-z][A-Za-z ]*?)[ \t]*:[ \t]*({_HEX})[ \t]*$")
_LEGACY_PAIR = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z ]*?)[ \t]+([0-9a-fA-F]{8,16})[ \t]+([0-9a-fA-F]{8,16})[ \t]*$"
)
_ALLOCATIONS = re.compile(r"[ \t]*Pool Allocations:[ \t]*$")
_NEW_HEADER = re.compile(
    r"[ \t]*Address[ \t]+Length[ \t]+Tag[ \t]+(Caller(?:[ \t]+Address)?)[ \t]*$"
)
_OLD_HEADER = re.compile(
    r"[ \t]*PoolAddress[ \t]+SizeInBytes[ \t]+Tag[ \t]+(CallersAddress)[ \t]*$"
)
_DASHES = re.compile(r"[ \t]*-{2,}(?:[ \t]+-{2,})*[ \t]*$")
_DASH_RUN = re.compile(r"-+")
_ROW_HEAD = re.compile(
    r"[ \t]*((?:0x)?[0-9a-fA-F`]{1,17})[ \t]+((?:0x)?[0-9a-fA-F`]{1,17})(?=[ \t])"
)
_ROW_TAIL = re.compile(r"[ \t]+((?:0x)?[0-9a-fA-F`]{1,17})(?:[ \t]+(\S(?:.*\S)?))?[ \t]*$")
_ELISION = re.compile(r"[ \t]*(?:\.{3,}|\u2026)[ \t]*$")
_NOTE = re.compile(r"[ \t]*Contiguous allocations are not displayed")
_BLANK = re.compile(r"[ \t]*#*[ \t]*$")
_TRACE_TITLE = re.compile(r"[ \t]*[A-Za-z][A-Za-z /-]*? trace log[ \t]*$")
_CMD_DRIVER = re.compile(
    r"\S+[ \t]+(?:0x)?[0-9a-fA-F]+[ \t]+([A-Za-z0-9_$.\-]*[G-Zg-z_.$\-][A-Za-z0-9_$.\-]*)"
)

#: Gap between the Length and Tag columns when no dash line tells it.
_NEW_GAP = 2
_LEGACY_GAP = 5

_FLAGS, _STATS, _DRIVERS = 0, 1, 2


@dataclass(slots=True)
class _Table:
    """A ``Pool Allocations`` table being read."""

    table: PoolAllocationTable
    first: int
    legacy: bool
    runs: list[tuple[int, int]] = field(default_factory=list)
    open: bool = True


@dataclass(slots=True)
class _State:
    report: VerifierReport
    first: int
    stage: int = _FLAGS
    last: int = -1  # last line that belongs to the report
    flags_first: int = -1
    section: str = ""
    listing: bool = False  # reading legacy option names
    legacy_list: bool = False  # saw ``Entry State NonPagedPool PagedPool Module``
    driver: VerifiedDriver | None = None
    driver_first: int = -1
    table: _Table | None = None
    underline_ok: bool = False  # a dash line may underline ``Driver Verification List``


@block(
    "verifier-report",
    r"^[ \t]*(?:#{1,3}[ \t]*)?(?:Verify Flags Level|Verify Level [0-9a-fA-F]"
    r"|Summary of All Verifier Statistics|Driver Verification List)"
    r"|^[ \t]*(?:MODULE: 0x|nt!_VF_TARGET_DRIVER |Pool Allocations:[ \t]*$"
    r"|Address[ \t]+Length[ \t]+Tag[ \t]+Caller|PoolAddress[ \t]+SizeInBytes[ \t]+Tag)",
)
def verifier_report(cur: Cursor) -> int | None:
    """Read a status report (or a fragment of one) starting at a trigger line."""
    line = cur.text(cur.line)
    stage = _trigger_stage(line)
    if stage is None:
        return None
    st, fresh = _open(cur, stage, _LIST.match(line) is not None)
    end = min(cur.end, len(cur.doc.lines))
    i = cur.line
    while i < end:
        nxt = _step(cur, st, i, end)
        if nxt is None:
            break
        i = nxt
    if i == cur.line:
        if fresh:
            cur.session.verifier_reports.remove(st.report)
        return None
    _close(cur, st)
    return i


def _trigger_stage(line: str) -> int | None:
    if _FLAGS_LEVEL.match(line) or _LEGACY_LEVEL.match(line):
        return _FLAGS
    if _SUMMARY.match(line):
        return _STATS
    if (
        _LIST.match(line)
        or _MODULE.match(line)
        or _VF_TARGET.match(line)
        or _ALLOCATIONS.match(line)
        or _NEW_HEADER.match(line)
        or _OLD_HEADER.match(line)
    ):
        return _DRIVERS
    return None


def _open(cur: Cursor, stage: int, list_heading: bool) -> tuple[_State, bool]:
    """Continue the report of this command output when the trigger fits after it, else start one."""
    reports = cur.session.verifier_reports
    region = cur.command.output_start if cur.command is not None else 0
    if reports and reports[-1].range.start.line >= region and reports[-1].range.end.line < cur.line:
        rep = reports[-1]
        have = _DRIVERS if rep.drivers else _STATS if rep.stats else _FLAGS
        fits = (
            stage >= have
            and not (stage == _FLAGS and rep.flags)
            and not (stage == _STATS and rep.stats)
            and not (list_heading and rep.drivers)
        )
        if fits:
            st = _State(rep, rep.range.start.line, stage=have, last=rep.range.end.line)
            if rep.drivers:
                st.driver = rep.drivers[-1]
                st.driver_first = st.driver.range.start.line
                st.legacy_list = st.driver.layout is DriverLayout.TABLE
            return st, False
    rep = VerifierReport(range=cur.span(cur.line, cur.line))
    reports.append(rep)
    return _State(rep, cur.line), True


def _close(cur: Cursor, st: _State) -> None:
    last = max(st.last, st.first)
    st.report.range = cur.span(st.first, last)
    _end_table(cur, st)


def _consume(cur: Cursor, st: _State, i: int) -> int:
    st.last = i
    if st.driver is not None:
        st.driver.range = cur.span(st.driver_first, i)
    return i + 1


def _step(cur: Cursor, st: _State, i: int, end: int) -> int | None:
    """Read line ``i``; return the next line to read, or None when the report ends here."""
    line = cur.text(i)
    if _BLANK.match(line):
        st.listing = False
        if st.table is not None and st.table.table.rows:
            _end_table(cur, st)
        return i + 1

    tb = st.table
    if tb is not None and tb.open:
        if not tb.table.rows and not tb.runs and _DASHES.match(line):
            tb.runs = [(m.start(), m.end()) for m in _DASH_RUN.finditer(line)]
            return _table_line(cur, st, i)
        row = _row(cur, i, line, tb)
        if row is not None:
            tb.table.rows.append(row)
            return _table_line(cur, st, i)
        if _ELISION.match(line):
            tb.table.truncated = True
            return _table_line(cur, st, i)
        _end_table(cur, st)

    if _ELISION.match(line):
        if st.driver is not None and st.driver.allocations is not None:
            st.driver.allocations.truncated = True
        return _consume(cur, st, i)

    # ----------------------------------------------------------------- flags
    flags = st.report.flags
    if st.listing and flags is not None and not _known_heading(line):
        rng = content_range(cur, i, line)
        flags.flags.append(
            VerifierFlag(
                bit=0, name=line.strip(), enabled=True, range=rng, name_range=rng, section="legacy"
            )
        )
        return _flags_line(cur, st, i)
    if flags is not None and st.stage == _FLAGS:
        m = _FLAG.match(line)
        if m is not None:
            bit = cur.num(i, m, 2)
            flags.flags.append(
                VerifierFlag(
                    bit=bit.value if bit is not None else 0,
                    name=m.group(3),
                    enabled=m.group(1) != " ",
                    range=content_range(cur, i, line),
                    bit_range=bit.range if bit is not None else None,
                    name_range=cur.group_range(i, m, 3),
                    section=st.section,
                )
            )
            return _flags_line(cur, st, i)
        s = _SECTION.match(line)
        if s is not None:
            st.section = s.group(1).lower()
            return _flags_line(cur, st, i)
        if _LEGEND.match(line):
            return _flags_line(cur, st, i)
    m = _FLAGS_LEVEL.match(line) or _LEGACY_LEVEL.match(line)
    if m is not None:
        if flags is not None or st.stage > _FLAGS:
            return None  # a second report
        legacy = m.re is _LEGACY_LEVEL
        st.report.flags = VerifierFlags(range=cur.span(i, i), level=cur.num(i, m, 1), legacy=legacy)
        st.flags_first = i
        st.listing = legacy
        return _consume(cur, st, i)

    # ----------------------------------------------------------------- statistics
    if _SUMMARY.match(line):
        if st.stage >= _STATS and (st.report.stats or st.stage > _STATS):
            return None
        st.stage = _STATS
        return _consume(cur, st, i)
    if st.stage == _STATS:
        m = _STAT.match(line)
        if m is not None:
            value = cur.num(i, m, 2)
            if value is not None:
                st.report.stats.append(
                    VerifierStat(
                        name=m.group(1),
                        value=value,
                        range=content_range(cur, i, line),
                        bytes=cur.num(i, m, 3),
                    )
                )
                return _consume(cur, st, i)

    # ----------------------------------------------------------------- drivers
    if _LIST.match(line):
        if st.stage > _STATS and st.report.drivers:
            return None
        st.stage = _DRIVERS
        st.underline_ok = True
        return _consume(cur, st, i)
    underline, st.underline_ok = st.underline_ok, False
    m = _MODULE.match(line) or _VF_TARGET.match(line)
    if m is not None:
        layout = DriverLayout.MODULE if m.re is _MODULE else DriverLayout.VF_TARGET
        _new_driver(cur, st, i, m, layout)
        return _consume(cur, st, i)
    if _DRIVERS_HEADER.match(line):
        st.stage = _DRIVERS
        st.legacy_list = True
        st.underline_ok = True
        return _consume(cur, st, i)
    if st.legacy_list:
        m = _DRIVER_ROW.match(line)
        if m is not None:
            d = _new_driver(cur, st, i, m, DriverLayout.TABLE, name_group=5)
            d.nonpaged_bytes = cur.num(i, m, 3)
            d.paged_bytes = cur.num(i, m, 4)
            return _consume(cur, st, i)
    if st.stage == _DRIVERS and starts_trace(line):
        return _trace(cur, st, i, end)
    if st.stage == _DRIVERS or st.driver is not None:
        nxt = _driver_detail(cur, st, i, line)
        if nxt is not None:
            return nxt
    m = _NEW_HEADER.match(line) or _OLD_HEADER.match(line)
    if m is not None:
        legacy = m.re is _OLD_HEADER
        if legacy:
            layout = DriverLayout.TABLE
        elif " " in m.group(1) or "\t" in m.group(1):
            layout = DriverLayout.VF_TARGET
        else:
            layout = DriverLayout.MODULE
        d = _driver_for(cur, st, i, layout)
        table = PoolAllocationTable(
            range=cur.span(i, i),
            header_range=content_range(cur, i, line),
            caller_column=" ".join(m.group(1).split()),
        )
        d.allocations = table
        st.table = _Table(table, i, legacy)
        st.stage = _DRIVERS
        return _table_line(cur, st, i)
    if _ALLOCATIONS.match(line):
        _driver_for(cur, st, i, DriverLayout.MODULE)
        st.stage = _DRIVERS
        return _consume(cur, st, i)

    # ----------------------------------------------------------------- the rest
    if _DASHES.match(line):
        if underline:
            return _consume(cur, st, i)
        if i + 1 < end and _TRACE_TITLE.match(cur.text(i + 1)):
            return _trace(cur, st, i, end)
        return _consume(cur, st, i)
    if _TRACE_TITLE.match(line):  # a trace section right after the statistics
        return _trace(cur, st, i, end)
    if _NOTE.match(line):
        return _consume(cur, st, i)
    if NOISE.match(line):
        return i + 1
    return None


def _known_heading(line: str) -> bool:
    return bool(
        _SUMMARY.match(line)
        or _LIST.match(line)
        or _FLAGS_LEVEL.match(line)
        or _LEGACY_LEVEL.match(line)
    )


def _flags_line(cur: Cursor, st: _State, i: int) -> int:
    flags = st.report.flags
    if flags is not None:
        flags.range = cur.span(st.flags_first if st.flags_first >= 0 else i, i)
    return _consume(cur, st, i)


def _table_line(cur: Cursor, st: _State, i: int) -> int:
    tb = st.table
    if tb is not None:
        tb.table.range = cur.span(tb.first, i)
    return _consume(cur, st, i)


def _end_table(cur: Cursor, st: _State) -> None:
    if st.table is not None:
        st.table.open = False
        st.table = None


def _trace(cur: Cursor, st: _State, i: int, end: int) -> int | None:
    nxt = read_trace(cur, i, end)
    if nxt <= i:
        return None
    st.stage = _DRIVERS
    st.last = nxt - 1
    while st.last > i and _BLANK.match(cur.text(st.last)):
        st.last -= 1
    return nxt


def _driver_detail(cur: Cursor, st: _State, i: int, line: str) -> int | None:
    """Per-driver statistics lines (new pairs, contiguous singles, legacy two-column)."""
    if _POOL_STATS_HEAD.match(line):
        _driver_for(cur, st, i, DriverLayout.MODULE)
        return _consume(cur, st, i)
    m = _PAIR.match(line)
    if m is not None:
        d = _driver_for(cur, st, i, DriverLayout.MODULE)
        d.stats.append(
            PoolStat(m.group(1), content_range(cur, i, line), cur.num(i, m, 2), cur.num(i, m, 3))
        )
        return _consume(cur, st, i)
    m = _SINGLE.match(line)
    if m is not None:
        d = _driver_for(cur, st, i, DriverLayout.MODULE)
        d.stats.append(PoolStat(m.group(1), content_range(cur, i, line), cur.num(i, m, 2)))
        return _consume(cur, st, i)
    m = _LEGACY_PAIR.match(line)
    if m is not None:
        d = _driver_for(cur, st, i, DriverLayout.TABLE)
        d.stats.append(
            PoolStat(m.group(1), content_range(cur, i, line), cur.num(i, m, 2), cur.num(i, m, 3))
        )
        return _consume(cur, st, i)
    return None


def _new_driver(
    cur: Cursor, st: _State, i: int, m: Match[str], layout: DriverLayout, name_group: int = 2
) -> VerifiedDriver:
    _end_table(cur, st)
    state_group = 2 if layout is DriverLayout.TABLE else 3
    state = m.group(state_group)
    d = VerifiedDriver(
        name=m.group(name_group),
        name_range=cur.group_range(i, m, name_group),
        range=cur.span(i, i),
        layout=layout,
        state=" ".join(state.split()) if state else "",
        entry=cur.num(i, m, 1),
    )
    st.report.drivers.append(d)
    st.driver = d
    st.driver_first = i
    st.stage = _DRIVERS
    return d


def _driver_for(cur: Cursor, st: _State, i: int, layout: DriverLayout) -> VerifiedDriver:
    """The current driver, or a new one when it already has its table (or there is none)."""
    if st.driver is not None and st.driver.allocations is None:
        return st.driver
    return _orphan_driver(cur, st, i, layout)


def _orphan_driver(cur: Cursor, st: _State, i: int, layout: DriverLayout) -> VerifiedDriver:
    """A driver for lines seen without a driver line: named after ``!verifier 3 <name>`` if given."""
    name = ""
    name_range = content_range(cur, i, cur.text(i))
    cmd = cur.command
    if cmd is not None and cmd.verb == "!verifier":
        m = _CMD_DRIVER.match(cmd.text)
        if m is not None:
            start = cmd.text_range.start
            name = m.group(1)
            name_range = Range.on_line(
                start.line, start.character + m.start(1), start.character + m.end(1)
            )
    d = VerifiedDriver(name=name, name_range=name_range, range=cur.span(i, i), layout=layout)
    st.report.drivers.append(d)
    st.driver = d
    st.driver_first = i
    return d


def _row(cur: Cursor, i: int, line: str, tb: _Table) -> PoolAllocation | None:
    """One table row; the 4-character tag is taken by position (it may hold spaces)."""
    h = _ROW_HEAD.match(line)
    if h is None:
        return None
    len_end = h.end(2)
    starts: list[int] = []
    runs = tb.runs
    if len(runs) >= 3 and len_end == runs[1][1]:
        starts.append(runs[2][0])
    gap = runs[2][0] - runs[1][1] if len(runs) >= 3 else _LEGACY_GAP if tb.legacy else _NEW_GAP
    if gap > 0 and not line[len_end : len_end + gap].strip(" \t"):
        starts.append(len_end + gap)
    rest = line[len_end:]
    first = len_end + len(rest) - len(rest.lstrip(" \t"))
    starts.append(first)
    for s in starts:
        tag = line[s : s + 4]
        if len(tag) != 4 or "\t" in tag or s + 4 > len(line):
            continue
        tail = _ROW_TAIL.match(line, s + 4)
        if tail is None:
            continue
        address = cur.num(i, h, 1)
        size = cur.num(i, h, 2)
        if address is None or size is None:
            return None
        return PoolAllocation(
            range=content_range(cur, i, line),
            address=address,
            size=size,
            tag=tag,
            tag_range=cur.rng(i, s, s + 4),
            caller=cur.num(i, tail, 1),
            caller_symbol=cur.sym(i, tail, 2),
        )
    return None
