"""CRT debug-heap leak dumps (``_CrtDumpMemoryLeaks``), wherever the debugger relays them.

The debug CRT writes its report through ``OutputDebugString``, so it lands in
the middle of a debugger log, usually not after a prompt::

    Detected memory leaks!
    Dumping objects ->
    c:\\src\\app\\cache.cpp(88) : {231} normal block at 0x00E4A2C8, 64 bytes long.
     Data: <            > CD CD CD CD CD CD CD CD CD CD CD CD CD CD CD CD
    {187} normal block at 0x00E49F10, 12 bytes long.
     Data: <xxxx        > 78 78 78 78 00 00 00 00 CD CD CD CD
    Object dump complete.

``{N}`` is the allocation request number and the size is decimal; the
``path(line) :`` prefix is there only when the program defined
``_CRTDBG_MAP_ALLOC``. Client blocks add ``subtype N,`` before the size.
"""

from __future__ import annotations

import re

from ..model import CrtLeakBlock, CrtLeakReport, Num, Range, SourceRef
from ..numbers import dec_int, hex_int
from .core import Cursor, block
from .traces import LEAD, is_noise

_DETECTED = re.compile(rf"^{LEAD}Detected memory leaks!?[ \t]*$")
_DUMPING = re.compile(rf"^{LEAD}Dumping objects[ \t]*->[ \t]*$")
_COMPLETE = re.compile(rf"^{LEAD}Object dump complete\.?[ \t]*$")
_BLOCK = re.compile(
    rf"^(?P<lead>{LEAD})(?:(?P<src>(?P<path>[^{{}}\r\n]*?)\((?P<line>\d+)\))[ \t]*:[ \t]*)?"
    r"\{(?P<n>\d+)\}[ \t]+(?P<kind>normal|client|crt|ignore|free)[ \t]+block[ \t]+at[ \t]+"
    r"(?P<addr>0x[0-9a-fA-F]+)[ \t]*,[ \t]*(?:subtype[ \t]+(?P<sub>[0-9a-fA-F]+)[ \t]*,[ \t]*)?"
    r"(?P<size>\d+)[ \t]+bytes?[ \t]+long\.?[ \t]*$"
)
_DATA = re.compile(
    rf"^{LEAD}Data:[ \t]*<(?P<data>.*)>[ \t]+(?P<hex>(?:[0-9A-Fa-f]{{2}}[ \t]*)+)$"
    rf"|^{LEAD}Data:[ \t]*<(?P<data2>.*)>[ \t]*$"
)

#: The report's header lines, or a block line without a ``path(line) :`` prefix (a block
#: line with one is found after a header only: matching a path at every line start
#: would cost a scan of each line of every log).
_TRIGGER = (
    rf"^{LEAD}(?:Detected memory leaks|Dumping objects[ \t]*->"
    r"|\{\d+\}[ \t]+(?:normal|client|crt|ignore|free)[ \t]+block[ \t]+at[ \t])"
)


def _block(cur: Cursor, i: int, m: re.Match[str]) -> CrtLeakBlock | None:
    address = cur.num(i, m, "addr")
    if address is None:
        return None
    text = cur.text(i)
    source = None
    src_line = dec_int(m.group("line")) if m.group("src") is not None else None
    if src_line is not None and m.group("path").strip():
        source = SourceRef(
            path=m.group("path").strip(),
            line=src_line,
            range=cur.group_range(i, m, "src"),
            path_range=cur.group_range(i, m, "path"),
            line_range=cur.group_range(i, m, "line"),
        )
    sub = m.group("sub")
    number, size = dec_int(m.group("n")), dec_int(m.group("size"))
    subtype = hex_int(sub) if sub is not None else None
    if number is None or size is None:  # absurd numbers: the line stays text
        return None
    return CrtLeakBlock(
        range=cur.rng(i, len(m.group("lead")), len(text.rstrip())),
        number=Num(number, m.group("n"), cur.group_range(i, m, "n")),
        kind=m.group("kind"),
        kind_range=cur.group_range(i, m, "kind"),
        address=address,
        size=Num(size, m.group("size"), cur.group_range(i, m, "size")),
        source=source,
        subtype=subtype,
    )


@block("crt-leaks", _TRIGGER)
def crt_leaks(cur: Cursor) -> int | None:
    """One CRT leak report (or a run of block lines whose header was cut away)."""
    end = min(cur.end, len(cur.doc))
    first = cur.line
    report = CrtLeakReport(range=cur.span(first, first))
    i = first
    last = first - 1
    while i < end:
        text = cur.text(i)
        if _DETECTED.match(text):
            if report.header_range is not None or report.blocks:
                break  # the next report
            s = len(text) - len(text.lstrip())
            report.header_range = cur.rng(i, s, len(text.rstrip()))
            last = i
            i += 1
            continue
        if _DUMPING.match(text):
            if report.blocks:
                break
            last = i
            i += 1
            continue
        m = _BLOCK.match(text)
        if m is not None:
            b = _block(cur, i, m)
            if b is None:
                break
            report.blocks.append(b)
            last = i
            i += 1
            continue
        dm = _DATA.match(text)
        if dm is not None and report.blocks and report.blocks[-1].data is None:
            prev = report.blocks[-1]
            group = "data" if dm.group("data") is not None else "data2"
            s = len(text) - len(text.lstrip())
            report.blocks[-1] = CrtLeakBlock(
                range=Range(prev.range.start, cur.rng(i, 0, len(text.rstrip())).end),
                number=prev.number,
                kind=prev.kind,
                kind_range=prev.kind_range,
                address=prev.address,
                size=prev.size,
                source=prev.source,
                data=dm.group(group),
                data_range=cur.rng(i, s, len(text.rstrip())),
                subtype=prev.subtype,
            )
            last = i
            i += 1
            continue
        if _COMPLETE.match(text):
            report.complete = True
            last = i
            i += 1
            break
        if is_noise(text) or not text.strip():
            # Other debug output may interleave; look a few lines ahead for more blocks.
            j = i + 1
            while j < min(end, i + 4) and (not cur.text(j).strip() or is_noise(cur.text(j))):
                j += 1
            if j < end and (_BLOCK.match(cur.text(j)) or _COMPLETE.match(cur.text(j))):
                i = j
                continue
        break
    if last < first or (not report.blocks and report.header_range is None):
        return None
    report.range = cur.span(first, last)
    cur.session.crt_leaks.append(report)
    return last + 1
