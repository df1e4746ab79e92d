"""Application Verifier XML logs (``appverif -export log ... -with To=out.xml``).

This is a whole document, not a block after a prompt: ``avrf:logfile`` holds
``avrf:logSession`` elements (``PID``, ``TimeStarted``) holding
``avrf:logEntry`` elements (``StopCode``, ``LayerName``, ``Severity``,
``Time``) with an ``avrf:message``, ``avrf:parameter1``..``4``
(``<hex> - <description>``) and an ``avrf:stackTrace`` of ``avrf:trace``
lines ``module!symbol+0xoff (path @ line)``; ``( @ 0)`` means no source.

The file is untrusted. It is read with the standard library's expat parser,
which reports where each element starts (so every value keeps its range in
the text), and never with entity expansion: a document that declares a
DOCTYPE or an entity is refused outright. A malformed document keeps what was
read before the error. Nothing here raises.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from xml.parsers import expat

from ..model import (
    AppVerifierEntry,
    AppVerifierParam,
    Frame,
    Num,
    Position,
    Range,
    Session,
    SourceRef,
    Stack,
    StackKind,
    SymbolRef,
)
from ..numbers import dec_int, parse_hex, split_symbol
from ..text import Document

#: Documents larger than this are refused (a log export is far smaller).
MAX_XML_CHARS = 64 * 1024 * 1024
#: At most this many entries are kept from one document.
MAX_ENTRIES = 200_000

_DECL = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SNIFF = re.compile(r"<(?:avrf:)?logfile\b|<(?:avrf:)?logEntry\b")
_PARAM_VALUE = re.compile(r"^[ \t\r\n]*(?P<value>(?:0x)?[0-9a-fA-F`]+)\b(?:[ \t]*-[ \t]*)?")
_TRACE = re.compile(
    r"^(?P<sym>.*?)(?:[ \t]*\((?P<path>[^()@]*?)[ \t]*@[ \t]*(?P<line>\d+)[ \t]*\))?[ \t]*$"
)


def looks_like_appverif_xml(text: str) -> bool:
    """True when ``text`` is an XML document holding Application Verifier log elements."""
    head = text[:4096].lstrip("\ufeff \t\r\n")
    if not head.startswith("<"):
        return False
    return bool(_SNIFF.search(text[:65536]))


class _Refused(Exception):
    """A DOCTYPE or entity declaration: the document is not read."""


def _local(name: str) -> str:
    """``avrf:logEntry`` (or the namespace-expanded spelling) -> ``logEntry``."""
    return name.rsplit(":", 1)[-1].rsplit("}", 1)[-1]


@dataclass
class _Open:
    name: str
    start: int  # character offset of the element's ``<``
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)
    text_start: int = -1  # offset of the first character of its text


class _Reader:
    def __init__(self, text: str, doc: Document, bom: int) -> None:
        self.text = text
        self.bom = bom  # characters of byte-order mark expat was not given
        self.doc = doc
        self.line_starts: list[int] = []
        pos = 0
        for line in doc.raw:
            self.line_starts.append(pos)
            pos += len(line)
            # skip the line break that followed this line in the original text
            if text.startswith("\r\n", pos):
                pos += 2
            elif pos < len(text) and text[pos] in "\r\n":
                pos += 1
        self.byte_cols: dict[int, list[int]] = {}
        self.stack: list[_Open] = []
        self.entries: list[AppVerifierEntry] = []
        self.entry: AppVerifierEntry | None = None
        self.entry_start = 0
        self.frames: list[Frame] = []
        self.pid: Num | None = None
        self.parser = expat.ParserCreate()

    # -- positions

    def offset(self, line: int, byte_col: int) -> int:
        """Character offset of expat's (1-based line, byte column) position."""
        li = line - 1
        if li < 0 or li >= len(self.line_starts):
            return len(self.text)
        raw = self.doc.raw[li]
        base = self.line_starts[li] + (self.bom if li == 0 else 0)
        if li == 0 and self.bom:
            raw = raw[self.bom :]
        if raw.isascii():
            return base + min(byte_col, len(raw))
        cols = self.byte_cols.get(li)
        if cols is None:
            cols = []
            b = 0
            for ch in raw:
                cols.append(b)
                b += len(ch.encode("utf-8"))
            cols.append(b)
            self.byte_cols[li] = cols
        # (line 0 without its mark is measured from after the mark)
        # the character whose UTF-8 encoding starts at ``byte_col``
        lo, hi = 0, len(cols) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cols[mid] < byte_col:
                lo = mid + 1
            else:
                hi = mid
        return base + lo

    def pos(self, offset: int) -> Position:
        li = max(bisect_right(self.line_starts, offset) - 1, 0)
        return Position(li, offset - self.line_starts[li])

    def rng(self, start: int, end: int) -> Range:
        return Range(self.pos(start), self.pos(end))

    def here(self) -> int:
        p = self.parser
        return self.offset(p.CurrentLineNumber, p.CurrentColumnNumber)

    # -- events

    def start(self, name: str, attrs: dict[str, str]) -> None:
        at = self.here()
        local = _local(name)
        self.stack.append(_Open(local, at, attrs))
        if local == "logSession":
            pid = attrs.get("PID")
            self.pid = None
            if pid:
                value = _int(pid)
                if value is not None:
                    off = self._attr_offset(at, "PID", pid)
                    self.pid = Num(value, pid, self.rng(off, off + len(pid)))
        elif local == "logEntry" and len(self.entries) < MAX_ENTRIES:
            self.entry = AppVerifierEntry(range=self.rng(at, at), pid=self.pid)
            self.entry_start = at
            self.frames = []
            e = self.entry
            e.layer = attrs.get("LayerName", "")
            e.severity = attrs.get("Severity", "")
            e.time = attrs.get("Time", "")
            code = attrs.get("StopCode")
            if code:
                value = parse_hex(code)
                if value is not None:
                    off = self._attr_offset(at, "StopCode", code)
                    e.stop_code = Num(value, code, self.rng(off, off + len(code)))

    def chars(self, data: str) -> None:
        if not self.stack:
            return
        top = self.stack[-1]
        if top.text_start < 0 and data.strip():
            # expat reports character data positions at the start of the run
            top.text_start = self.here()
        top.text.append(data)

    def end(self, name: str) -> None:
        if not self.stack:
            return
        top = self.stack.pop()
        end_at = self.here()
        entry = self.entry
        local = top.name
        body = "".join(top.text)
        if entry is not None:
            if local == "message":
                entry.message = " ".join(body.split())
                s, e = self._text_span(top, body)
                entry.message_range = self.rng(s, e)
            elif local.startswith("parameter") and (index := dec_int(local[9:])) is not None:
                self._param(entry, index, top, body)
            elif local == "trace":
                frame = self._frame(top, body)
                if frame is not None:
                    self.frames.append(frame)
            elif local == "logEntry":
                close = self.text.find(">", end_at)
                stop = close + 1 if close >= 0 else end_at
                entry.range = self.rng(self.entry_start, stop)
                if self.frames:
                    entry.stack = Stack(
                        kind=StackKind.TRACE,
                        range=Range(self.frames[0].range.start, self.frames[-1].range.end),
                        frames=self.frames,
                    )
                self.entries.append(entry)
                self.entry = None
                self.frames = []

    # -- helpers

    def _attr_offset(self, element_start: int, attr: str, value: str) -> int:
        """Where ``attr``'s value sits inside the start tag beginning at ``element_start``."""
        close = self.text.find(">", element_start)
        tag = self.text[element_start : close if close >= 0 else len(self.text)]
        m = re.search(rf"\b{re.escape(attr)}[ \t\r\n]*=[ \t\r\n]*([\"'])", tag)
        if m is None:
            return element_start
        k = tag.find(value, m.end())
        return element_start + (k if k >= 0 else m.end())

    def _text_span(self, top: _Open, body: str) -> tuple[int, int]:
        stripped = body.strip()
        if top.text_start < 0 or not stripped:
            return top.start, top.start
        k = self.text.find(stripped, top.text_start)
        if k < 0 or k > top.text_start + len(body) + 64:
            # entity references (``&amp;``) make the source text longer than the
            # data: the range runs to the closing tag instead
            close = self.text.find("<", top.text_start)
            if close < 0:
                close = top.text_start + len(stripped)
            while close > top.text_start and self.text[close - 1] in " \t\r\n":
                close -= 1
            return top.text_start, close
        return k, k + len(stripped)

    def _param(self, entry: AppVerifierEntry, index: int, top: _Open, body: str) -> None:
        s, e = self._text_span(top, body)
        stripped = body.strip()
        value: Num | None = None
        description = stripped
        m = _PARAM_VALUE.match(stripped)
        if m is not None:
            v = parse_hex(m.group("value"))
            if v is not None:
                vs = s + m.start("value")
                value = Num(v, m.group("value"), self.rng(vs, vs + len(m.group("value"))))
                description = stripped[m.end() :].strip()
        entry.params.append(AppVerifierParam(index, value, description, self.rng(s, e)))

    def _frame(self, top: _Open, body: str) -> Frame | None:
        stripped = body.strip()
        if not stripped:
            return None
        s, e = self._text_span(top, body)
        m = _TRACE.match(stripped)
        if m is None:  # pragma: no cover - the pattern accepts any text
            return None
        sym_text = m.group("sym").strip()
        module, function, off = split_symbol(sym_text, bare_offset=True)
        if module is None and function is None:
            return None
        symbol = SymbolRef(sym_text, self.rng(s, s + len(sym_text)), module, function, off)
        source = None
        path = (m.group("path") or "").strip()
        line = (dec_int(m.group("line")) or 0) if m.group("line") else 0
        if path and line > 0:
            ps = s + m.start("path")
            ls = s + m.start("line")
            source = SourceRef(
                path=path,
                line=line,
                range=self.rng(ps - 1, s + m.end("line") + 1),
                path_range=self.rng(ps, ps + len(m.group("path").rstrip())),
                line_range=self.rng(ls, ls + len(m.group("line"))),
            )
        return Frame(range=self.rng(s, e), symbol=symbol, source=source)


def _int(text: str) -> int | None:
    t = text.strip()
    if t.lower().startswith("0x"):
        return parse_hex(t)
    return dec_int(t) if t.isdigit() else parse_hex(t)


def _refuse(*_args: object) -> None:
    raise _Refused


def parse_appverif_xml(text: str) -> Session | None:
    """Read an Application Verifier XML log; None when ``text`` is not one (or is refused).

    Ranges point into ``text`` as an editor holds it (0-based lines and
    characters). A malformed document gives the entries read before the
    error; one with a DOCTYPE or entity declaration gives None.
    """
    if len(text) > MAX_XML_CHARS or not looks_like_appverif_xml(text):
        return None
    if _DECL.search(text):
        return None
    doc = Document(text)
    session = Session(line_count=len(doc))
    body = text.lstrip("\ufeff")
    reader = _Reader(text, doc, len(text) - len(body))
    p = reader.parser
    p.StartElementHandler = reader.start
    p.EndElementHandler = reader.end
    p.CharacterDataHandler = reader.chars
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        p.Parse(body, True)
    except _Refused:
        return None
    except expat.ExpatError:
        pass  # keep the entries read before the error
    except (RecursionError, MemoryError, ValueError) as exc:
        session.faults.record("appverif-xml", exc)
    session.appverif_entries = reader.entries
    return session
