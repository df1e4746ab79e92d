"""The scanner: split a log at its prompts and run the block parsers over it."""

from __future__ import annotations

import gc

from ..model import Command, Session
from ..text import Document
from . import core
from .core import REGISTRY, Cursor
from .session import find_commands


def scan(doc: Document) -> Session:
    """Read ``doc`` into a ``Session``. Never raises for any input text.

    The cyclic collector is paused meanwhile (``kdlens.pipeline`` pauses it
    around analysis too): parsing makes up to millions of small records and
    no cycles, and the collector's passes over them would cost as much as the
    parsing itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(doc)
    finally:
        if was_enabled:
            gc.enable()


def _scan(doc: Document) -> Session:
    session = Session(line_count=len(doc))
    text = doc.matching_text()
    index = doc.line_index()
    session.commands = find_commands(doc, text, index)

    regions: list[tuple[int, int, Command | None]] = []
    first = session.commands[0].line if session.commands else len(doc)
    if first > 0:
        regions.append((0, first, None))
    for command in session.commands:
        regions.append((command.output_start, command.output_end, command))

    prefilter = REGISTRY.prefilter() if core.LAZY else None
    combined = REGISTRY.combined() if prefilter is None else None
    blocks = REGISTRY.blocks
    starts = index.starts
    lines = doc.lines
    n_lines = len(lines)
    text_len = len(text)

    for start, end, cmd in regions:
        pos = start
        if cmd is not None and start < end:
            for cp in REGISTRY.commands:
                if cp.verbs.match(cmd.text):
                    nxt = _run(cp.fn, Cursor(doc, start, end, cmd, session, text), session, cp.name)
                    if nxt is not None and nxt > pos:
                        pos = min(nxt, end)
                    break
        end_offset = starts[end] if end < n_lines else text_len
        # Search from the first unconsumed line each time: lines a parser has
        # read are never scanned again, so a huge block costs one pass.
        while pos < end:
            if prefilter is not None:
                # a candidate line: every trigger that matches the line itself gets a turn
                offset = starts[pos]
                m = prefilter[1].match(text, 0, end_offset) if offset == 0 else None
                if m is not None:
                    line = 0
                else:
                    # the pattern starts with the line break before the line
                    m = prefilter[0].search(text, max(offset - 1, 0), end_offset)
                    if m is None:
                        break
                    line = index.line_of(m.start() + 1)
                text_line = lines[line]
                order = [i for i, bp in enumerate(blocks) if bp.trigger.match(text_line)]
                checked = True
            else:
                assert combined is not None
                m = combined.search(text, starts[pos], end_offset)
                if m is None:
                    break
                line = index.line_of(m.start())
                first_choice = int(m.lastgroup[1:]) if m.lastgroup else -1
                order = [first_choice] + [i for i in range(len(blocks)) if i != first_choice]
                checked = False
            if line < pos:  # pragma: no cover - search starts at a line start
                line = pos
            consumed = False
            for i in order:
                bp = blocks[i]
                if not checked and i != first_choice and not bp.trigger.match(lines[line]):
                    continue
                nxt = _run(bp.fn, Cursor(doc, line, end, cmd, session, text), session, bp.name)
                if nxt is not None and nxt > line:
                    pos = min(nxt, end)
                    consumed = True
                    break
            if not consumed:
                pos = line + 1
    for text_pass in REGISTRY.passes:
        try:
            text_pass.fn(doc, text, session)
        except Exception as exc:  # a pass bug must never reach the user as a crash
            session.faults.record(text_pass.name, exc)
    return session


def _run(fn: object, cursor: Cursor, session: Session, name: str) -> int | None:
    try:
        result = fn(cursor)  # type: ignore[operator]
    except Exception as exc:  # a parser bug must never reach the user as a crash
        session.faults.record(name, exc, cursor.line)
        return None
    return result if isinstance(result, int) else None
