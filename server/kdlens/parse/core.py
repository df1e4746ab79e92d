"""The block-parser framework: a registry of recognisers and the cursor they read with.

A *block parser* recognises one kind of output (an ``Arguments:`` block, a
``Pool Allocations`` table, a ``k`` stack...). It declares a *trigger*: a
regular expression that matches the first line of its block. The scanner
finds trigger lines in one pass over the text and hands each to its parser
with a ``Cursor``; the parser reads as many lines as belong to it, appends
model records to ``cursor.session``, and returns the first line it did not
consume (or ``None`` when the lines turned out not to be its block).

A *command parser* is chosen by the command echo instead (``ln``, ``k``
without a header) and starts at the first output line.

Parsers never raise: the scanner catches anything a parser throws, keeps the
lines as plain output and records the failure in ``Session``-independent
``ParseProblems`` for the developers' eyes (tests assert it stays empty).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from re import Match, Pattern

from ..model import Command, Num, Position, Range, Session, SourceRef, SymbolRef
from ..numbers import dec_int, parse_hex, split_symbol
from ..text import Document

#: Whether the speed paths are on: parsers may index big repetitive blocks and
#: build their records lazily (read from the text when a field is first asked
#: for), and the scanner finds trigger lines with ``Registry.prefilter``. The
#: tests turn it off to check that everything read equals what the plain
#: paths (eager records, the combined trigger pattern) read.
LAZY = True


@dataclass(slots=True)
class Cursor:
    """Where a parser reads: the document, its trigger line and the region's end."""

    doc: Document
    line: int
    end: int  # exclusive end of the command output (region) holding ``line``
    command: Command | None
    session: Session
    #: ``doc.matching_text()`` when the scanner has it at hand (whole-text readers
    #: use it with ``doc.line_index()``); None means: read line by line.
    whole: str | None = None

    def text(self, i: int) -> str:
        return self.doc.lines[i]

    def rng(self, i: int, start: int, end: int) -> Range:
        """A range on line ``i`` from matching-text columns ``start``..``end``."""
        doc = self.doc
        if doc.lines is doc.raw:  # no colour codes anywhere: columns map 1:1
            return Range(Position(i, start), Position(i, end))
        return Range(Position(i, doc.col(i, start)), Position(i, doc.col_end(i, end)))

    def span(self, first: int, last: int) -> Range:
        """Lines ``first``..``last`` inclusive, to the end of ``last``."""
        raw = self.doc.raw
        return Range(Position(first, 0), Position(last, len(raw[last]) if last < len(raw) else 0))

    def group_range(self, i: int, m: Match[str], group: int | str = 0) -> Range:
        return self.rng(i, m.start(group), m.end(group))

    def num(self, i: int, m: Match[str], group: int | str) -> Num | None:
        """A ``Num`` from a match group (hex, backtick and ``0x`` allowed)."""
        text = m.group(group)
        if text is None:
            return None
        value = hex_value(text)
        if value is None:
            return None
        start, end = m.span(group)
        return Num(value, text, self.rng(i, start, end))

    def num_at(self, i: int, text: str, start: int) -> Num | None:
        value = hex_value(text)
        if value is None:
            return None
        return Num(value, text, self.rng(i, start, start + len(text)))

    def sym(
        self, i: int, m: Match[str], group: int | str, bare_offset: bool = False
    ) -> SymbolRef | None:
        text = m.group(group)
        if text is None:
            return None
        return self.sym_at(i, text, m.start(group), bare_offset)

    def sym_at(self, i: int, text: str, start: int, bare_offset: bool = False) -> SymbolRef | None:
        stripped = text.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        stripped = stripped.strip()
        if not stripped:
            return None
        module, function, offset = split_cached(stripped, bare_offset)
        if module is None and function is None:
            return None
        s = start + lead
        return SymbolRef(stripped, self.rng(i, s, s + len(stripped)), module, function, offset)

    def source(
        self, i: int, m: Match[str], path: str = "path", line: str = "line"
    ) -> SourceRef | None:
        """The ``SourceRef`` of a match; None when its line number is absurd (it stays text)."""
        number = dec_int(m.group(line))
        if number is None:
            return None
        return SourceRef(
            path=m.group(path).strip(),
            line=number,
            range=self.rng(i, m.start(), m.end()),
            path_range=self.rng(i, m.start(path), m.end(path)),
            line_range=self.rng(i, m.start(line), m.end(line)),
        )


def hex_value(text: str) -> int | None:
    """``parse_hex(text)``, with a shortcut for the usual spellings.

    Letters and digits only (no blank, sign, underscore or backtick), at most
    16 of them after an optional ``0x``: where ``int()`` accepts such a text it
    reads it exactly as ``parse_hex`` does; anything else goes to ``parse_hex``.
    """
    n = len(text)
    if (n <= 16 or (n <= 18 and text[:2] in ("0x", "0X"))) and text.isalnum():
        try:
            return int(text, 16)
        except ValueError:
            pass
    return parse_hex(text)


SymbolParts = tuple[str | None, str | None, int | None]

#: ``split_symbol`` results by text (one dict per ``bare_offset`` setting): a
#: log repeats a few thousand call sites over and over.
_SPLITS: tuple[dict[str, SymbolParts], dict[str, SymbolParts]] = ({}, {})
_SPLITS_MAX = 1 << 16


def split_cached(text: str, bare_offset: bool = False) -> SymbolParts:
    """``split_symbol(text, bare_offset)``, remembered (the cache is bounded)."""
    cache = _SPLITS[1 if bare_offset else 0]
    parts = cache.get(text)
    if parts is None:
        if len(cache) >= _SPLITS_MAX:
            cache.clear()
        parts = cache[text] = split_symbol(text, bare_offset)
    return parts


BlockFn = Callable[[Cursor], "int | None"]
#: A whole-text pass: ``(document, matching text, session)``; it appends records itself.
PassFn = Callable[[Document, str, Session], None]


@dataclass(slots=True)
class BlockParser:
    name: str
    trigger: Pattern[str]
    fn: BlockFn


@dataclass(slots=True)
class CommandParser:
    name: str
    verbs: Pattern[str]  # matched against the whole command text
    fn: BlockFn


#: Constructs with which a trigger that matches a line alone might not match
#: the same line inside the joined text: anchors at the string's ends,
#: look-arounds, atomic groups and possessive repeats (which never give back
#: what they took beyond the line).
_NOT_LINE_LOCAL = re.compile(r"\\[AZ]|\(\?[=!<>]|[*+?}]\+")
_LEAD = r"^[ \t]*"


def split_alternatives(pattern: str) -> list[str]:
    """The top-level ``|`` alternatives of a regular expression's text."""
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a ``]`` first in a class is literal
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


_LEADING_GROUP = re.compile(r"\((?:\?:)?(?:[^()\\\[\]]|\\.|\[(?:[^\]\\]|\\.)*\])*\)[*?]")


def _factored(pieces: list[str]) -> list[str]:
    """``pieces`` with one optional leading group shared by several written once.

    Five triggers start with ``(?:>[ \\t]*)*`` (output quoted with ``>``);
    ``X(?:A|B)`` tries ``X`` once where ``XA|XB`` tries it per alternative.
    Only whether some alternative matches matters here, not which one.
    """
    groups: dict[str, list[str]] = {}
    plain: list[str] = []
    for piece in pieces:
        m = _LEADING_GROUP.match(piece)
        if m is None:
            plain.append(piece)
        else:
            groups.setdefault(m.group(), []).append(piece[m.end() :])
    out = list(plain)
    for lead, rests in groups.items():
        out.append(f"{lead}(?:{'|'.join(rests)})" if len(rests) > 1 else lead + rests[0])
    return out


@dataclass(slots=True)
class TextPass:
    name: str
    fn: PassFn


@dataclass(slots=True)
class Registry:
    blocks: list[BlockParser] = field(default_factory=list)
    commands: list[CommandParser] = field(default_factory=list)
    #: Passes over the whole text after the blocks, for lines that may sit inside any
    #: block (symbol-loader notes between stack frames): a block parser that consumed
    #: such a line has not hidden it from them.
    passes: list[TextPass] = field(default_factory=list)
    _combined: Pattern[str] | None = None
    _prefilter: tuple[Pattern[str], Pattern[str]] | None = None
    _prefilter_built: bool = False

    def prefilter(self) -> tuple[Pattern[str], Pattern[str]] | None:
        """Patterns that find the lines where some trigger may match, fast.

        Every trigger alternative starts with ``^[ \\t]*``; with that prefix
        taken off and ``\\n[ \\t]*`` put once in front of them all, the engine
        jumps from line break to line break (a literal first character) and
        rejects most alternatives on their first character, where the
        combined pattern tries each trigger from each line start: on hundreds
        of megabytes of driver prints that is ten times faster. The first
        pattern is searched for (it matches at the line break before the
        line), the second matched at offset 0 for the first line. A line it
        finds is only a candidate: the scanner then asks each trigger on the
        line itself. None when some trigger has another shape or a construct
        that could see past its line (then the combined pattern is used).
        """
        if not self._prefilter_built:
            self._prefilter = self._build_prefilter()
            self._prefilter_built = True
        return self._prefilter

    def _build_prefilter(self) -> tuple[Pattern[str], Pattern[str]] | None:
        pieces: list[str] = []
        for bp in self.blocks:
            if _NOT_LINE_LOCAL.search(bp.trigger.pattern):
                return None
            for alt in split_alternatives(bp.trigger.pattern):
                if not alt.startswith(_LEAD):
                    return None
                pieces.append(alt[len(_LEAD) :])
        body = r"(?=[ \t]*\S)[ \t]*(?:" + "|".join(_factored(pieces)) + ")"
        try:
            return re.compile(r"\n" + body, re.MULTILINE), re.compile(body, re.MULTILINE)
        except re.error:  # pragma: no cover - the triggers compiled one by one
            return None

    def combined(self) -> Pattern[str]:
        """One pattern with a named group per block parser (``b0``, ``b1``...).

        The shared ``^`` and the look-ahead for a non-blank line are hoisted
        out of the alternation so the engine rejects most positions with one
        test instead of one per trigger.
        """
        if self._combined is None:
            parts = [f"(?P<b{i}>{p.trigger.pattern})" for i, p in enumerate(self.blocks)]
            self._combined = re.compile(r"^(?=[ \t]*\S)(?:" + "|".join(parts) + ")", re.MULTILINE)
        return self._combined


REGISTRY = Registry()


def block(name: str, trigger: str) -> Callable[[BlockFn], BlockFn]:
    """Register a block parser; ``trigger`` must match at a line start (use ``^``)."""

    def deco(fn: BlockFn) -> BlockFn:
        REGISTRY.blocks.append(BlockParser(name, re.compile(trigger, re.MULTILINE), fn))
        REGISTRY._combined = None
        REGISTRY._prefilter = None
        REGISTRY._prefilter_built = False
        return fn

    return deco


def text_pass(name: str) -> Callable[[PassFn], PassFn]:
    """Register a pass over the whole text (run once per document, after the blocks)."""

    def deco(fn: PassFn) -> PassFn:
        REGISTRY.passes.append(TextPass(name, fn))
        return fn

    return deco


def command(name: str, verbs: str) -> Callable[[BlockFn], BlockFn]:
    """Register a parser for the whole output of commands matching ``verbs``."""

    def deco(fn: BlockFn) -> BlockFn:
        REGISTRY.commands.append(CommandParser(name, re.compile(verbs, re.IGNORECASE), fn))
        return fn

    return deco
