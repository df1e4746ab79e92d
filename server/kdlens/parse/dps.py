"""``dps``/``dqs``/``dds`` output: memory read as pointers, each named when it is code.

Each line is ``<slot address>  <value> [module!symbol+0xoff]``. Application
Verifier's leak stops point at a saved stack trace and tell the user to run
``dps`` on it: the symbolised values, in order, are then the allocating stack
(innermost first), so the dump is kept both as rows and as a stack.
"""

from __future__ import annotations

import re

from ..model import DpsDump, DpsRow, Frame, Range, Stack, StackKind
from .core import Cursor, command
from .traces import LEAD, is_noise

_H = r"(?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{8,16})"
_ROW = re.compile(
    rf"^(?P<lead>{LEAD})(?P<slot>{_H})[ \t]+(?P<value>{_H})(?:[ \t]+(?P<sym>[^ \t].*?))?[ \t]*$"
)


@command("dps", r"^d(?:ps|qs|ds)\b")
def dps(cur: Cursor) -> int | None:
    end = min(cur.end, len(cur.doc))
    cmd = cur.command
    dump = DpsDump(range=cur.span(cur.line, cur.line))
    if cmd is not None and cmd.args.strip():
        token = cmd.args.split()[0]
        if not token.startswith(("-", "/")):
            line_text = cur.doc.lines[cmd.line]
            off = line_text.find(token, max(line_text.lower().find(cmd.verb), 0))
            if off >= 0:
                dump.query = cur.num_at(cmd.line, token, off)
    frames: list[Frame] = []
    i = cur.line
    last = i - 1
    while i < end:
        text = cur.text(i)
        m = _ROW.match(text)
        if m is None:
            if is_noise(text):
                i += 1
                continue
            break
        slot = cur.num(i, m, "slot")
        value = cur.num(i, m, "value")
        if slot is None or value is None:
            break
        symbol = cur.sym(i, m, "sym") if m.group("sym") is not None else None
        if symbol is not None and symbol.module is None:
            symbol = None  # text that is not ``module!symbol`` (a string, a note)
        row = DpsRow(
            range=cur.rng(i, len(m.group("lead")), len(text.rstrip())),
            slot=slot,
            value=value,
            symbol=symbol,
        )
        dump.rows.append(row)
        if symbol is not None:
            frames.append(
                Frame(
                    range=Range(value.range.start, symbol.range.end), address=value, symbol=symbol
                )
            )
        last = i
        i += 1
    if not dump.rows:
        return None
    dump.range = cur.span(cur.line, last)
    if frames:
        dump.stack = Stack(
            kind=StackKind.TRACE,
            range=Range(frames[0].range.start, frames[-1].range.end),
            frames=frames,
        )
    cur.session.dps_dumps.append(dump)
    return last + 1
