"""Application Verifier stops as the debugger console prints them (FORMATS.md 16.1).

::

    VERIFIER STOP 00000007: pid 0x1A2C: Heap block already freed.

        01C31000 : Heap handle for the heap owning the block.
        01C3A5E8 : Heap block being freed again.
        00000010 : Size of the heap block.
        00000000 : Not used

    =======================================
    This verifier stop is not continuable. Process will be terminated
    when you use the `go' debugger command.

Every stop code is read the same way, whichever layer raised it (heaps,
handles, locks, memory, the 0x900-0x906 leak stops): four ``<value> :
<meaning>`` lines whose meaning is whatever the verifier printed (possibly
nothing). The stop code here is an Application Verifier code, never a kernel
bug check code.
"""

from __future__ import annotations

import re

from ..model import VerifierStop, VerifierStopParam
from .core import Cursor, block

_STOP = re.compile(
    r"^[ \t]*(?P<kw>VERIFIER STOP)[ \t]+(?P<code>[0-9a-fA-F]{1,16})[ \t]*:"
    r"(?:[ \t]*pid[ \t]+(?P<pid>(?:0x)?[0-9a-fA-F]+)[ \t]*:)?[ \t]*(?P<msg>.*?)[ \t]*$"
)
_PARAM = re.compile(
    r"^[ \t]*(?P<v>(?:0x)?[0-9a-fA-F]{1,8}(?:`?[0-9a-fA-F]{8})?)[ \t]+:(?:[ \t]*(?P<d>.*?))?[ \t]*$"
)
_SEPARATOR = re.compile(r"^[ \t]*={5,}[ \t]*$")
_CONTINUABLE = re.compile(r"^[ \t]*This verifier stop is (?P<not>not )?continuable\b")
_MAX_BLANKS = 2


@block("verifier-stop", r"^[ \t]*VERIFIER STOP[ \t]+[0-9a-fA-F]")
def verifier_stop(cur: Cursor) -> int | None:
    line = cur.line
    m = _STOP.match(cur.text(line))
    if m is None:
        return None
    code = cur.num(line, m, "code")
    if code is None:
        return None
    stop = VerifierStop(
        range=cur.rng(line, m.start("kw"), m.end("code")),
        code=code,
        block_range=cur.span(line, line),
        pid=cur.num(line, m, "pid") if m.group("pid") else None,
        message=m.group("msg"),
        message_range=cur.group_range(line, m, "msg") if m.group("msg") else None,
    )
    last = line
    i = line + 1
    blanks = 0
    end = cur.end
    while i < end and len(stop.params) < 4:
        t = cur.text(i)
        if not t.strip():
            blanks += 1
            if blanks > _MAX_BLANKS:
                break
            i += 1
            continue
        mp = _PARAM.match(t)
        if mp is None:
            break
        value = cur.num(i, mp, "v")
        if value is None:
            break
        desc = mp.group("d") or ""
        stop.params.append(
            VerifierStopParam(
                index=len(stop.params) + 1,
                value=value,
                range=cur.rng(i, mp.start("v"), mp.end("d") if desc else mp.end("v")),
                description=desc,
                description_range=cur.group_range(i, mp, "d") if desc else None,
            )
        )
        blanks = 0
        last = i
        i += 1
    # the separator lines and the "continuable" sentence that close the stop
    j = last + 1
    while j < end and j <= last + 4:
        t = cur.text(j)
        if not t.strip():
            j += 1
            continue
        if _SEPARATOR.match(t):
            last = j
            j += 1
            continue
        mc = _CONTINUABLE.match(t)
        if mc is not None:
            stop.continuable = mc.group("not") is None
            stop.continuable_range = cur.rng(j, len(t) - len(t.lstrip()), len(t.rstrip()))
            last = j
            j += 1
            # the sentence wraps onto the following lines, up to a blank or a separator
            while j < end and cur.text(j).strip() and not _SEPARATOR.match(cur.text(j)):
                last = j
                j += 1
            while j < end and j <= last + 2 and not cur.text(j).strip():
                j += 1
            if j < end and _SEPARATOR.match(cur.text(j)):
                last = j
        break
    stop.block_range = cur.span(line, last)
    cur.session.verifier_stops.append(stop)
    return last + 1
