"""Model ranges to protocol ranges and back.

The model counts columns in code points. LSP clients count in UTF-16 code
units unless they agreed on another encoding; the two differ only on lines
holding characters outside the Basic Multilingual Plane, so ASCII lines (the
debugger's own output) take a fast path.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types as lsp

from ..model import Position, Range


class Columns:
    """Converts columns between code points and the negotiated encoding for one document."""

    def __init__(self, lines: Sequence[str], encoding: str = "utf-16") -> None:
        self.lines = lines
        self.encoding = encoding.lower().replace("_", "-") if encoding else "utf-16"

    def _units(self, text: str) -> int:
        if self.encoding == "utf-32":
            return len(text)
        if self.encoding == "utf-8":
            return len(text.encode("utf-8"))
        return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)

    def to_client(self, line: int, character: int) -> int:
        if line >= len(self.lines) or self.encoding == "utf-32":
            return character
        text = self.lines[line]
        if text.isascii():
            return character
        return self._units(text[:character])

    def from_client(self, line: int, units: int) -> int:
        if line >= len(self.lines) or self.encoding == "utf-32":
            return units
        text = self.lines[line]
        if text.isascii():
            return units
        count = 0
        for i, ch in enumerate(text):
            if count >= units:
                return i
            count += self._units(ch)
        return len(text)

    def position(self, pos: Position) -> lsp.Position:
        line = max(0, min(pos.line, max(len(self.lines) - 1, 0)))
        char = pos.character
        if pos.line < len(self.lines):
            char = min(char, len(self.lines[pos.line]))
        return lsp.Position(line=line, character=self.to_client(line, char))

    def range(self, r: Range) -> lsp.Range:
        return lsp.Range(start=self.position(r.start), end=self.position(r.end))

    def has_line(self, line: int) -> bool:
        """True when ``line`` is a line of the document (a position there can point at text)."""
        return 0 <= line < len(self.lines)

    def model_position(self, pos: lsp.Position) -> Position:
        """A client position in model columns; a character past the line's end means its end.

        The protocol says so for characters; a line past the document's end is
        left as it is, for the caller to answer "nothing there".
        """
        if not self.has_line(pos.line):
            return Position(pos.line, pos.character)
        width = len(self.lines[pos.line])
        return Position(pos.line, min(self.from_client(pos.line, pos.character), width))

    def model_range(self, r: lsp.Range) -> Range:
        """A client range cut to the document, its ends in order.

        Editors may legally ask for ``end.line`` 2**31-1 (meaning "to the end");
        a range whose start comes after its end is read as the text between
        the two. Features then never see a line that does not exist.
        """
        start, end = self._clamp(r.start), self._clamp(r.end)
        if end < start:
            start, end = end, start
        return Range(start, end)

    def _clamp(self, pos: lsp.Position) -> Position:
        if not self.lines:
            return Position(0, 0)
        if pos.line >= len(self.lines):
            last = len(self.lines) - 1
            return Position(last, len(self.lines[last]))
        return self.model_position(pos)
