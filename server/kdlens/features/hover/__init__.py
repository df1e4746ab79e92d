"""Hover: what the value under the cursor means, in Markdown.

The token index says what the parsers read at the position (an argument, a
flag mask, a tag, an address ...); each kind has its own module that turns
it into text from the knowledge tables and the analysis. Text the parsers
did not claim is looked at word by word: a bug check code only where the
line is one that names bug checks (``X (c4)``, ``BugCheck C4, {``,
``BUGCHECK_STR:  0xc4_62`` ...), a known bug check name anywhere, and hex
numbers for their decimal value and, when address-sized, what the session
knows about that address.

Everything here reads the index and the analysis; nothing scans the log,
so a hover stays fast on very large logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ... import knowledge
from ...analysis import Analysis
from ...index import Kind, Token, TokenIndex, word_at
from ...knowledge.user_tags import UserPoolTags
from ...model import BugCheck, BugCheckArg, Num, Position, Range, VerifierFlag, VerifierFlags
from ...numbers import parse_hex
from ...sources import SourceMapper
from ..tag_literals import LiteralLookup
from .bugcheck import arg_markdown, bugcheck_markdown, case_near, case_of
from .code import (
    address_markdown,
    free_address_markdown,
    module_markdown,
    source_markdown,
    symbol_markdown,
)
from .crash import crash_free_text, crash_markdown
from .leaks import leak_token_markdown
from .pool import count_markdown, number_markdown, size_markdown, tag_markdown
from .symbols import symbols_hover
from .types import HoverContext, HoverResult
from .verifier import flag_markdown, mask_markdown

#: Hex digits from which a free-text number is treated as an address.
ADDRESS_DIGITS = 8
#: Free-text hex numbers shorter than this are left alone (they read the same in decimal).
MIN_NUMBER_DIGITS = 2
_MAX_LINE = 4096  # very long lines are not searched for free-text contexts

_CODE = r"((?:0x)?[0-9a-fA-F]{1,8})"
_NAME_LINE = re.compile(
    r"^[ \t]*(?:#{1,3}[ \t]*)?([A-Z][A-Z0-9_]{3,})[ \t]+\(" + _CODE + r"\)[ \t]*$"
)
#: Lines that name a bug check by code: (pattern, group of the code, group of Arg1 or 0).
_CODE_LINES: tuple[tuple[re.Pattern[str], int, int], ...] = (
    (_NAME_LINE, 2, 0),
    (re.compile(r"\bBugCheck[ \t]+" + _CODE + r"[ \t]*,[ \t]*\{"), 1, 0),
    (re.compile(r"Fatal System Error:[ \t]*" + _CODE + r"\b"), 1, 0),
    (re.compile(r"\bBUGCHECK_CODE:[ \t]+" + _CODE + r"\b"), 1, 0),
    (re.compile(r"\bBugcheck code[ \t]+" + _CODE + r"\b", re.IGNORECASE), 1, 0),
    (
        re.compile(
            r"\b(?:BUGCHECK_STR|[A-Z_]*BUCKET_ID):[ \t]+(?:[A-Za-z0-9]+_)??"
            + _CODE
            + r"(?:_([0-9a-fA-F]{1,8})(?![0-9A-Za-z]))?"
        ),
        1,
        2,
    ),
)
_ARG_FIELD = re.compile(r"\bBUGCHECK_P([1-4]):[ \t]+((?:0x)?[0-9a-fA-F`]{1,17})\b")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def hover(
    analysis: Analysis,
    index: TokenIndex,
    lines: Sequence[str],
    mapper: SourceMapper,
    pos: Position,
    *,
    local_source: Callable[[str], tuple[Path | None, str]] | None = None,
    literals: LiteralLookup | None = None,
    pool_tags: UserPoolTags | None = None,
) -> HoverResult | None:
    """The hover for ``pos`` in the log, or None when there is nothing to say."""
    ctx = HoverContext(analysis, index, lines, mapper, pos, local_source, literals, pool_tags)
    token = index.at(pos)
    if token is not None:
        md = token_markdown(ctx, token)
        if md:
            return HoverResult(md, token.range)
    if not 0 <= pos.line < len(lines):
        return None
    return symbols_hover(ctx) or free_text(ctx, lines[pos.line])


def _printed(lines: Sequence[str], r: Range) -> str:
    if r.start.line != r.end.line or not 0 <= r.start.line < len(lines):
        return ""
    return lines[r.start.line][r.start.character : r.end.character]


def token_markdown(ctx: HoverContext, token: Token) -> str | None:
    leak = leak_token_markdown(ctx, token)
    if leak:
        return leak
    value = token.value
    kind = token.kind
    crash = crash_markdown(ctx, token)  # crash records, a stop's frames: None for the rest
    if crash:
        return crash
    if kind is Kind.BUGCHECK and isinstance(value, BugCheck):
        case = case_of(ctx.analysis, value)
        return bugcheck_markdown(ctx.analysis, value.code, case, printed_name=value.name)
    if kind is Kind.ARG and isinstance(value, BugCheckArg):
        bc = token.bugcheck if token.bugcheck is not None else token.owner
        return arg_markdown(ctx.analysis, bc, value) if isinstance(bc, BugCheck) else None
    if kind is Kind.MASK and isinstance(value, VerifierFlags):
        return mask_markdown(value)
    if kind is Kind.FLAG and isinstance(value, VerifierFlag):
        owner = token.owner if isinstance(token.owner, VerifierFlags) else None
        return flag_markdown(value, owner)
    if kind is Kind.TAG and isinstance(value, str):
        return tag_markdown(ctx, value, token.owner)
    if kind is Kind.SIZE and isinstance(value, int):
        return size_markdown(
            _printed(ctx.lines, token.range) or f"0x{value:x}", value, token.owner, token.range
        )
    if kind is Kind.COUNT and isinstance(value, int):
        return count_markdown(
            _printed(ctx.lines, token.range) or f"0x{value:x}", value, token.owner, token.range
        )
    if kind is Kind.ADDRESS and isinstance(value, int):
        return address_markdown(ctx, token)
    if kind is Kind.SYMBOL:
        return symbol_markdown(ctx, token) or None
    if kind is Kind.SOURCE:
        return source_markdown(ctx, token) or None
    if kind is Kind.MODULE and isinstance(value, str):
        return module_markdown(ctx, token)
    return None


# --------------------------------------------------------------------------- free text


def _code_context(ctx: HoverContext, text: str) -> HoverResult | None:
    """A bug check code on a line made to name one."""
    col = ctx.pos.character
    line = ctx.pos.line
    for pattern, code_group, arg1_group in _CODE_LINES:
        m = pattern.search(text)
        if m is None:
            continue
        start = m.start(code_group)
        end = m.end(arg1_group) if arg1_group and m.group(arg1_group) else m.end(code_group)
        if not start <= col <= end:
            continue
        code = parse_hex(m.group(code_group))
        if code is None:
            continue
        if arg1_group and knowledge.bugcheck(code) is None:
            continue  # a bucket name that merely starts with hex letters
        if pattern is _NAME_LINE:
            by_name = knowledge.bugcheck_by_name(m.group(1))
            if by_name is not None and by_name.code != code:
                continue
            if by_name is None and knowledge.bugcheck(code) is None:
                continue
        arg1 = parse_hex(m.group(arg1_group)) if arg1_group and m.group(arg1_group) else None
        case = case_near(ctx.analysis, line, code)
        if case is not None and arg1 is not None and case.arg(1) != arg1:
            case = None
        md = bugcheck_markdown(ctx.analysis, code, case, arg1=arg1)
        return HoverResult(md, Range.on_line(line, start, end))
    return None


def _arg_field(ctx: HoverContext, text: str) -> HoverResult | None:
    """``BUGCHECK_Pn: value`` the parsers did not claim: explained with the nearest bug check."""
    m = _ARG_FIELD.search(text)
    if m is None or not m.start() <= ctx.pos.character <= m.end():
        return None
    value = parse_hex(m.group(2))
    case = case_near(ctx.analysis, ctx.pos.line)
    if value is None or case is None:
        return None
    r = Range.on_line(ctx.pos.line, m.start(2), m.end(2))
    arg = BugCheckArg(
        int(m.group(1)),
        Num(value, m.group(2), r),
        Range.on_line(ctx.pos.line, m.start(), m.end(1) + 1),
        r,
    )
    return HoverResult(
        arg_markdown(ctx.analysis, case.primary, arg),
        Range.on_line(ctx.pos.line, m.start(), m.end()),
    )


def free_text(ctx: HoverContext, text: str) -> HoverResult | None:
    if len(text) > _MAX_LINE:
        text = text[:_MAX_LINE]
    found = _code_context(ctx, text) or _arg_field(ctx, text) or crash_free_text(ctx, text)
    if found is not None:
        return found
    name = _identifier_at(text, ctx.pos.character)
    if name is not None:
        ident, i_start, i_end = name
        if len(ident) >= 5 and ident.isupper() and "_" in ident:
            info = knowledge.bugcheck_by_name(ident)
            if info is not None:
                case = case_near(ctx.analysis, ctx.pos.line, info.code)
                md = bugcheck_markdown(ctx.analysis, info.code, case)
                return HoverResult(md, Range.on_line(ctx.pos.line, i_start, i_end))
    w = word_at(text, ctx.pos.character)
    if w is None:
        return None
    word, start, end = w
    digits = word.lower().removeprefix("0x").replace("`", "")
    if len(digits) < MIN_NUMBER_DIGITS or not _is_hex(digits):
        return None
    # A word of letters only (``added``, ``face``) is prose unless spelled as a number.
    if digits == word.lower() and not any(ch.isdigit() for ch in digits):
        return None
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if _IDENT_CHAR.match(before or " ") or before == "!" or _IDENT_CHAR.match(after or " "):
        return None  # part of an identifier or a module name
    r = Range.on_line(ctx.pos.line, start, end)
    value = parse_hex(word)
    if value is None:
        return None
    if len(digits) >= ADDRESS_DIGITS and value > 0xFFFF:
        return HoverResult(free_address_markdown(ctx, value), r)
    return HoverResult(number_markdown(word, value), r)


def _identifier_at(text: str, col: int) -> tuple[str, int, int] | None:
    """The identifier (letters, digits, ``_``) around ``col``, scanning only nearby text."""
    lo = max(0, col - 128)
    for m in _IDENT.finditer(text, lo, col + 128):
        if m.start() <= col <= m.end():
            return m.group(0), m.start(), m.end()
        if m.start() > col:
            break
    return None


def _is_hex(word: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in word)


__all__ = ["HoverContext", "HoverResult", "free_text", "hover", "token_markdown"]
