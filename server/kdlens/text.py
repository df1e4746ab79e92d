"""Bytes to text, and text to lines the parsers can match.

Debugger logs arrive as ANSI (``.logopen``), UTF-16 (``.logopen /u``), UTF-8
(pasted sessions), or a mix of ANSI and UTF-16 when ``.logappend`` switched
modes. ``decode`` never fails: anything it cannot read as text becomes the
characters a single-byte code page gives it.

``Document`` keeps the lines exactly as the editor shows them (so that every
column the parsers report is a column the user sees) and, separately, a
matching view with terminal colour codes and NUL characters removed. The
matching view is only built for lines that need it.
"""

from __future__ import annotations

import codecs
import operator
import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate, count

_UTF16_LE_BOM = codecs.BOM_UTF16_LE
_UTF16_BE_BOM = codecs.BOM_UTF16_BE
_UTF8_BOM = codecs.BOM_UTF8

#: How many bytes of a window decide whether it is UTF-16.
_WINDOW = 512


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # what was detected: utf-8, utf-16-le, utf-16-be, cp1252, mixed


def _utf16_order(chunk: bytes) -> str | None:
    """``le``/``be`` when ``chunk`` looks like UTF-16 text of mostly ASCII, else None."""
    n = len(chunk) - (len(chunk) % 2)
    if n < 4:
        return None
    even = chunk[0:n:2]
    odd = chunk[1:n:2]
    pairs = n // 2
    zero_odd = odd.count(0)
    zero_even = even.count(0)
    if zero_odd >= pairs * 0.6 and zero_even <= pairs * 0.1:
        return "le"
    if zero_even >= pairs * 0.6 and zero_odd <= pairs * 0.1:
        return "be"
    return None


def _single_byte(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _segments(data: bytes) -> list[tuple[int, int, str | None]]:
    """Split ``data`` into runs that are UTF-16 (le/be) or single-byte (None).

    Works on fixed windows and merges neighbours of one kind; a boundary found
    inside a window is refined to the line break nearest to where the NUL
    pattern changes, which is where ``.logappend`` switched modes.
    """
    kinds: list[tuple[int, int, str | None]] = []
    for start in range(0, len(data), _WINDOW):
        chunk = data[start : start + _WINDOW]
        kind = _utf16_order(chunk)
        if kinds and kinds[-1][2] == kind:
            kinds[-1] = (kinds[-1][0], start + len(chunk), kind)
        else:
            kinds.append((start, start + len(chunk), kind))
    if len(kinds) <= 1:
        return kinds
    refined: list[tuple[int, int, str | None]] = []
    for i, (start, end, kind) in enumerate(kinds):
        if refined:
            start = refined[-1][1]
        if i + 1 < len(kinds):
            end = _boundary(data, end, kind, kinds[i + 1][2])
        if start < end:
            refined.append((start, end, kind))
    # keep UTF-16 runs on even lengths relative to their start
    return refined


def _boundary(data: bytes, guess: int, left: str | None, right: str | None) -> int:
    """Move a window boundary back to where the text really switches encoding."""
    lo = max(0, guess - _WINDOW)
    if left is None and right is not None:
        # single-byte then UTF-16: the UTF-16 run starts at the first "X\0" pair
        pat = re.compile(
            rb"[\x01-\xff]\x00[\x01-\xff]\x00"
            if right == "le"
            else rb"\x00[\x01-\xff]\x00[\x01-\xff]"
        )
        m = pat.search(data, lo, guess + _WINDOW)
        if m:
            pos = m.start()
            # a BOM just before belongs to the UTF-16 part
            if data[pos - 2 : pos] in (_UTF16_LE_BOM, _UTF16_BE_BOM):
                pos -= 2
            return pos
        return guess
    if left is not None and right is None:
        # UTF-16 then single-byte: the first place two non-NUL bytes follow each other
        step_start = lo + ((guess - lo) % 2)
        for pos in range(step_start, min(len(data) - 1, guess + _WINDOW), 2):
            if data[pos] != 0 and data[pos + 1] != 0:
                return pos
        return guess
    return guess


def decode(data: bytes) -> Decoded:
    """Decode a log file's bytes; never raises."""
    if b"\x00" not in data and not data.startswith((_UTF16_LE_BOM, _UTF16_BE_BOM)):
        # No NUL byte: no UTF-16 anywhere (ASCII text in UTF-16 is half NULs).
        if data.startswith(_UTF8_BOM):
            return Decoded(data[3:].decode("utf-8", errors="replace"), "utf-8-sig")
        text, enc = _single_byte(data)
        return Decoded(text, enc)
    if data.startswith(_UTF8_BOM):
        return Decoded(data[3:].decode("utf-8", errors="replace"), "utf-8-sig")
    if data.startswith(_UTF16_LE_BOM) and not _has_mixed_tail(data[2:], "le"):
        return Decoded(data[2:].decode("utf-16-le", errors="replace"), "utf-16-le")
    if data.startswith(_UTF16_BE_BOM) and not _has_mixed_tail(data[2:], "be"):
        return Decoded(data[2:].decode("utf-16-be", errors="replace"), "utf-16-be")
    segments = _segments(data)
    if not segments:
        return Decoded("", "utf-8")
    if len(segments) == 1:
        start, end, kind = segments[0]
        if kind is None:
            text, enc = _single_byte(data)
            return Decoded(text, enc)
        body = data
        if body[:2] in (_UTF16_LE_BOM, _UTF16_BE_BOM):
            body = body[2:]
        return Decoded(body.decode(f"utf-16-{kind}", errors="replace"), f"utf-16-{kind}")
    parts: list[str] = []
    for start, end, kind in segments:
        chunk = data[start:end]
        if kind is None:
            parts.append(_single_byte(chunk)[0])
        else:
            if chunk[:2] in (_UTF16_LE_BOM, _UTF16_BE_BOM):
                chunk = chunk[2:]
            parts.append(chunk.decode(f"utf-16-{kind}", errors="replace"))
    return Decoded("".join(parts), "mixed")


def _has_mixed_tail(body: bytes, order: str) -> bool:
    """True when a BOM-led UTF-16 file later turns into single-byte text."""
    if len(body) <= _WINDOW:
        return False
    for start in range(_WINDOW, len(body), _WINDOW * 8):
        if (
            _utf16_order(body[start : start + _WINDOW]) is None
            and body[start : start + _WINDOW].count(0) < 4
        ):
            return True
    return False


# --------------------------------------------------------------------------- lines

#: Terminal colour codes, with the escape byte or with it stripped (``[1m[31m``).
_NOISE = re.compile(
    r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\[\d{1,3}(?:;\d{1,3})*m|\x00"
)
#: Colour codes whose escape byte was stripped; starts with a literal, so the
#: engine can skip ahead quickly on clean text.
_STRIPPED_SGR = re.compile(r"\[\d{1,3}(?:;\d{1,3})*m")


def _has_noise(text: str) -> bool:
    return "\x1b" in text or "\x00" in text or _STRIPPED_SGR.search(text) is not None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Document:
    """The text of one log split into lines, with a matching view.

    ``raw[i]`` is line ``i`` exactly as the editor shows it. ``lines[i]`` is the
    same line with colour codes and NULs removed; ``col(i, c)`` maps a column
    of ``lines[i]`` back to ``raw[i]``. For the common clean log both lists are
    the same object and ``col`` is the identity.
    """

    __slots__ = ("_index", "_maps", "lines", "raw", "text")

    def __init__(self, text: str) -> None:
        raw = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
        self.raw: list[str] = raw
        self._maps: dict[int, list[int]] = {}
        if _has_noise(text):
            lines = list(raw)
            for i, line in enumerate(raw):
                if _has_noise(line):
                    clean, cmap = _clean(line)
                    if cmap is not None:
                        lines[i] = clean
                        self._maps[i] = cmap
            self.lines: list[str] = lines
        else:
            self.lines = raw
        self.text = text
        self._index: LineIndex | None = None

    def __len__(self) -> int:
        return len(self.lines)

    def col(self, line: int, column: int) -> int:
        cmap = self._maps.get(line)
        if cmap is None:
            return column
        if column >= len(cmap):
            return len(self.raw[line])
        return cmap[column]

    def col_end(self, line: int, column: int) -> int:
        """Map an exclusive end column (one past the last character) back to ``raw``."""
        cmap = self._maps.get(line)
        if cmap is None:
            return column
        if column <= 0:
            return 0
        if column > len(cmap):
            return len(self.raw[line])
        return cmap[column - 1] + 1

    @property
    def plain(self) -> bool:
        """True when the matching lines are the raw lines (no colour code, no NUL anywhere)."""
        return self.lines is self.raw

    def matching_text(self) -> str:
        """All matching lines joined by ``\\n`` (for whole-text scans).

        For the usual log (``\\n`` line ends, nothing to strip) this is the
        document's own text, not a copy.
        """
        return "\n".join(self.lines) if (self._maps or "\r" in self.text) else self.text

    def line_index(self) -> LineIndex:
        """Where each line starts in ``matching_text()`` (built once, then kept)."""
        if self._index is None:
            self._index = LineIndex(self.lines)
        return self._index


def _clean(line: str) -> tuple[str, list[int] | None]:
    pieces: list[str] = []
    cmap: list[int] = []
    pos = 0
    for m in _NOISE.finditer(line):
        if m.start() > pos:
            pieces.append(line[pos : m.start()])
            cmap.extend(range(pos, m.start()))
        pos = m.end()
    if pos == 0:
        return line, None
    pieces.append(line[pos:])
    cmap.extend(range(pos, len(line)))
    return "".join(pieces), cmap


class LineIndex:
    """Offsets of line starts in a joined text, for offset -> line lookups.

    The offsets live in a machine-integer array (8 bytes a line rather than a
    list of int objects, about 36) and are summed up without a Python-level
    loop: a log of a million lines gets its index in a few milliseconds.
    """

    __slots__ = ("starts",)

    def __init__(self, lines: list[str]) -> None:
        starts = array("q", [0])
        # start of line i+1 = (lengths of lines 0..i) + (i + 1) line breaks
        starts.extend(map(operator.add, accumulate(map(len, lines)), count(1)))
        starts.pop()  # the offset after the last line starts no line
        self.starts = starts

    def line_of(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1
