"""Symbol-loader notes: the lines where the debugger says why a module has no symbols.

``*** ERROR: Module load completed but symbols could not be loaded for X.sys``,
``*** ERROR: Symbols could not be loaded for X.sys``, ``... Defaulted to export
symbols for X.dll``, ``*** WARNING: Unable to verify checksum for X``,
``*** WARNING: symbols checksum and timestamp is wrong ... for X``,
``*** WARNING: Check Image - Checksum mismatch - ... - <path>``, the
``DBGHELP:`` lines of ``!sym noisy`` and of UMDH headers
(``DBGHELP: notepad - no symbols loaded``) and ``SYMSRV:`` lines.

These lines turn up anywhere: before a stack, between its frames, inside an
``!analyze`` report or an ``lm`` table, where other parsers read past them
as noise. So they are found by a pass over the whole text after the block
parsers (``text_pass``), not by a block trigger that a consuming parser would
hide. Lines only; nothing is opened or contacted, whatever a line names.
"""

from __future__ import annotations

import re

from ..model import Range, Session, SymbolNote, SymbolNoteKind
from ..text import Document
from .core import text_pass

#: Text that marks a line worth a closer look.
_MARKERS = ("*** ERROR:", "*** WARNING:", "DBGHELP:", "SYMSRV:")
#: Notes kept per log (a noisy symbol trace can repeat a line many thousands of times).
MAX_NOTES = 20000
#: A line-number or UMDH module-index prefix (``11: ``, ``7FF7...-7FF7...FFF ``).
_PREFIX = r"^[ \t]*(?:\d+:[ \t]*)?(?:[0-9A-Fa-f]+-[0-9A-Fa-f]+[ \t]+)?"
_MOD = r"(?P<mod>[^\s,;]+?)"
_RULES: tuple[tuple[re.Pattern[str], SymbolNoteKind], ...] = (
    (
        re.compile(
            _PREFIX + r"\*\*\* ERROR: (?:Module load completed but )?[Ss]ymbols could not be "
            r"loaded for " + _MOD + r"[ \t]*$"
        ),
        SymbolNoteKind.LOAD_FAILED,
    ),
    (
        re.compile(
            _PREFIX + r"\*\*\* ERROR: Symbol file could not be found\.[ \t]+Defaulted to export "
            r"symbols for " + _MOD + r"(?:[ \t]+-.*)?[ \t]*$"
        ),
        SymbolNoteKind.EXPORT_ONLY,
    ),
    (
        re.compile(
            _PREFIX + r"\*\*\* WARNING: symbols (?:checksum and )?timestamp (?:and checksum )?"
            r"(?:is|are) wrong\b.*? for " + _MOD + r"[ \t]*$"
        ),
        SymbolNoteKind.MISMATCH,
    ),
    (
        re.compile(
            _PREFIX + r"\*\*\* WARNING: (?:Unable to verify (?:checksum|timestamp) for |symbols "
            r"checksum is wrong\b.*? for )" + _MOD + r"[ \t]*$"
        ),
        SymbolNoteKind.CHECKSUM,
    ),
    (
        re.compile(
            _PREFIX + r"\*\*\* WARNING: Check Image - Checksum mismatch\b.*[\\/ ](?P<mod>[^\\/\s]+)"
            r"[ \t]*$"
        ),
        SymbolNoteKind.CHECKSUM,
    ),
    (
        re.compile(
            _PREFIX + r"DBGHELP:[ \t]+" + r"(?P<mod>[^\s:\\/]+) - (?P<status>[a-z][a-z &]*?)[ \t]*$"
        ),
        SymbolNoteKind.DBGHELP,
    ),
)
_DBGHELP = re.compile(_PREFIX + r"DBGHELP:")
_SYMSRV = re.compile(_PREFIX + r"SYMSRV:")
#: A file name in a loader line (``... Looking for d:\\x\\ntkrnlmp.pdb... OK``).
_FILE = re.compile(r"(?P<mod>[A-Za-z0-9_.$-]+\.(?:pdb|dbg|sys|dll|exe))\b", re.IGNORECASE)
_SYMSRV_STATUS = re.compile(
    r"(HTTP_STATUS_[A-Z_]+|path not found|file not found|RESULT: 0x[0-9A-Fa-f]+)"
)


def _range(doc: Document, line: int, start: int, end: int) -> Range:
    if doc.lines is doc.raw:
        return Range.on_line(line, start, end)
    return Range.on_line(line, doc.col(line, start), doc.col_end(line, end))


def read_note(doc: Document, line: int, text: str) -> SymbolNote | None:
    """The note on ``text`` (line ``line`` of ``doc``), or None when it is not one."""
    stripped = text.strip()
    if not stripped:
        return None
    lead = len(text) - len(text.lstrip())
    whole = _range(doc, line, lead, lead + len(stripped))
    for pattern, kind in _RULES:
        m = pattern.match(text)
        if m is None:
            continue
        module = m.group("mod").rstrip(".")
        status = m.groupdict().get("status")
        mod_range = _range(doc, line, m.start("mod"), m.start("mod") + len(module))
        return SymbolNote(kind, whole, stripped, module, mod_range, status)
    if _DBGHELP.match(text) or _SYMSRV.match(text):
        kind = SymbolNoteKind.DBGHELP if _DBGHELP.match(text) else SymbolNoteKind.SYMSRV
        f = _FILE.search(text)
        s = _SYMSRV_STATUS.search(text) if kind is SymbolNoteKind.SYMSRV else None
        if f is None:
            return SymbolNote(kind, whole, stripped, status=s.group(1) if s else None)
        return SymbolNote(
            kind,
            whole,
            stripped,
            f.group("mod"),
            _range(doc, line, f.start("mod"), f.end("mod")),
            s.group(1) if s else None,
        )
    return None


@text_pass("symbol-notes")
def symbol_notes(doc: Document, text: str, session: Session) -> None:
    """Every loader line, found by plain substring search (a big log has few or none)."""
    offsets: list[int] = []
    for marker in _MARKERS:
        at = text.find(marker)
        while at >= 0 and len(offsets) < MAX_NOTES * 4:
            offsets.append(at)
            at = text.find(marker, at + len(marker))
    if not offsets:
        return
    offsets.sort()
    lines = doc.lines
    line = 0
    pos = 0
    last = -1
    for off in offsets:
        line += text.count("\n", pos, off)
        pos = off
        if line == last or line >= len(lines):
            continue
        last = line
        note = read_note(doc, line, lines[line])
        if note is not None:
            session.symbol_notes.append(note)
            if len(session.symbol_notes) >= MAX_NOTES:
                return
