"""``!htrace``: handle open/close records with their stacks, and the ``-diff`` summary.

A record is ``Handle = 0x<handle> - OPEN`` (or ``CLOSE``, ``*** BAD REFERENCE
***``), then ``Thread ID = 0x.., Process ID = 0x..``, a blank line and the
stack as ``0x<address>: module!symbol+0xoff`` lines; records are separated by
dashes. ``!htrace -diff`` adds summary lines (new stack traces since the last
snapshot, the number of outstanding handles displayed), all numbers hex.
"""

from __future__ import annotations

import re

from ..model import HandleTrace, HandleTraceReport, Range
from .core import Cursor, block
from .traces import LEAD, continuation, is_elision, is_noise, read_trace

_HEX = r"0x[0-9a-fA-F]+|[0-9a-fA-F]+"

_HANDLE = re.compile(
    rf"^(?P<lead>{LEAD})Handle[ \t]*=[ \t]*(?P<handle>{_HEX})[ \t]*-[ \t]*(?P<op>\S.*?)[ \t]*$"
)
_THREAD = re.compile(
    rf"^{LEAD}Thread[ \t]+ID[ \t]*=[ \t]*(?P<tid>{_HEX})[ \t]*,[ \t]*"
    rf"Process[ \t]+ID[ \t]*=[ \t]*(?P<pid>{_HEX})[ \t]*$"
)
_NEW = re.compile(
    rf"^{LEAD}(?P<n>{_HEX})[ \t]+new[ \t]+stack[ \t]+traces?[ \t]+since[ \t]+the[ \t]+previous"
)
_DISPLAYED = re.compile(
    rf"^{LEAD}(?:Displayed|Dumped)[ \t]+(?P<n>{_HEX})[ \t]+stack[ \t]+traces?\b(?P<rest>.*)$"
)
_OTHER = re.compile(
    rf"^{LEAD}(?:Handle tracing information snapshot|Ignoring handles that were already closed"
    r"|Outstanding handles opened since|Parsed[ \t]+(?:0x)?[0-9a-fA-F]+[ \t]+stack traces?"
    r"|Handle tracing (?:enabled|disabled|is not enabled)|Handle tracing must be enabled"
    r"|No new handles? (?:were )?opened|No handle traces? (?:were )?found)"
)
_DASHES = re.compile(rf"^{LEAD}-{{6,}}[ \t]*$")

_TRIGGER = (
    rf"^{LEAD}(?:Handle[ \t]*=[ \t]*(?:0x)?[0-9a-fA-F]+[ \t]*-|Handle tracing information snapshot"
    r"|(?:0x)?[0-9a-fA-F]+[ \t]+new[ \t]+stack[ \t]+traces?[ \t]+since"
    r"|Outstanding handles opened since|(?:Displayed|Dumped)[ \t]+(?:0x)?[0-9a-fA-F]+[ \t]+stack"
    r"[ \t]+traces?)"
)


def _line_range(cur: Cursor, first: int, last: int) -> Range:
    text = cur.text(first)
    s = len(text) - len(text.lstrip())
    return Range(cur.rng(first, s, s).start, cur.rng(last, 0, len(cur.text(last).rstrip())).end)


def _belongs(text: str) -> bool:
    return bool(
        _HANDLE.match(text)
        or _NEW.match(text)
        or _DISPLAYED.match(text)
        or _OTHER.match(text)
        or _DASHES.match(text)
    )


@block("htrace", _TRIGGER)
def htrace(cur: Cursor) -> int | None:
    """One ``!htrace`` display, from its first recognisable line to the last record."""
    end = min(cur.end, len(cur.doc))
    first = cur.line
    cmd = cur.command
    report = HandleTraceReport(range=cur.span(first, first))
    if cmd is not None and cmd.verb == "!htrace":
        args = cmd.args.split()
        report.diff = "-diff" in (a.lower() for a in args)
        plain = [a for a in args if not a.startswith("-")]
        if plain:
            line_text = cur.doc.lines[cmd.line]
            start = max(line_text.lower().find("htrace"), 0)
            off = line_text.find(plain[0], start)
            if off >= 0:
                report.query = cur.num_at(cmd.line, plain[0], off)
    i = first
    last = first - 1
    current: HandleTrace | None = None
    while i < end:
        text = cur.text(i)
        hm = _HANDLE.match(text)
        if hm is not None:
            handle = cur.num(i, hm, "handle")
            if handle is None:
                break
            op = hm.group("op").strip("* \t")
            current = HandleTrace(
                range=cur.rng(i, len(hm.group("lead")), len(text.rstrip())),
                handle=handle,
                op=op.upper() if op.lower() in ("open", "close") else op,
                op_range=cur.group_range(i, hm, "op"),
            )
            report.records.append(current)
            last = i
            i += 1
            continue
        tm = _THREAD.match(text)
        if tm is not None and current is not None and current.thread is None:
            current.thread = cur.num(i, tm, "tid")
            current.process = cur.num(i, tm, "pid")
            current.range = Range(current.range.start, cur.rng(i, 0, len(text.rstrip())).end)
            last = i
            i += 1
            continue
        nm = _NEW.match(text)
        if nm is not None:
            report.new_traces = cur.num(i, nm, "n")
            cl = i + 1 if continuation(cur, i + 1, end, text) else i
            report.new_traces_range = _line_range(cur, i, cl)
            report.diff = True
            last = cl
            i = cl + 1
            continue
        dm = _DISPLAYED.match(text)
        if dm is not None:
            report.displayed = cur.num(i, dm, "n")
            cl = i + 1 if continuation(cur, i + 1, end, text) else i
            report.displayed_range = _line_range(cur, i, cl)
            if "outstanding" in (text + cur.text(cl)).lower():
                report.diff = True
            last = cl
            i = cl + 1
            continue
        if _OTHER.match(text):
            if "outstanding" in text.lower() or "snapshot" in text.lower():
                report.diff = True
            cl = i + 1 if continuation(cur, i + 1, end, text) else i
            last = cl
            i = cl + 1
            continue
        if _DASHES.match(text):
            current = None
            last = i
            i += 1
            continue
        if current is not None and current.stack is None and not text.strip():
            i += 1
            continue
        if current is not None and current.stack is None:
            stack, nxt = read_trace(cur, i, end, symbol_only=False)
            if stack is not None:
                current.stack = stack
                current.range = Range(current.range.start, stack.range.end)
                last = nxt - 1
                i = nxt
                continue
        if not text.strip() or is_noise(text) or is_elision(text):
            j = i + 1
            while j < end and (
                not cur.text(j).strip() or is_noise(cur.text(j)) or is_elision(cur.text(j))
            ):
                j += 1
            if j < end and _belongs(cur.text(j)):
                i = j
                continue
        break
    if last < first:
        return None
    report.range = cur.span(first, last)
    cur.session.handle_traces.append(report)
    return last + 1
