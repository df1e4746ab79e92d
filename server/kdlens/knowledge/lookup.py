"""Lookups over the knowledge tables: the questions analyses and hovers ask.

All functions are pure reads of cached tables; unknown inputs give ``None`` (or an empty
list) rather than an exception, since they come straight from arbitrary log text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from .load import bugcheck_table, c4_table, display_table, flag_table, tag_table
from .records import (
    ArgMeaning,
    BugCheckInfo,
    C4Subcode,
    DisplayBit,
    FlagInfo,
    TagInfo,
)

_NAME_SEP = re.compile(r"[\s\-_]+")
_SPACES = re.compile(r"\s+")

# -------------------------------------------------------------------------------- bug checks


def bugcheck(code: int) -> BugCheckInfo | None:
    """The bug check (or live dump) with this code."""
    return bugcheck_table().get(code)


def all_bugchecks() -> tuple[BugCheckInfo, ...]:
    """Every known code, in ascending order."""
    return tuple(bugcheck_table()[c] for c in sorted(bugcheck_table()))


def _name_key(name: str) -> str:
    return _NAME_SEP.sub("_", name.replace("\\", "").strip()).upper().strip("_")


@cache
def _by_name() -> dict[str, BugCheckInfo]:
    return {_name_key(info.name): info for info in bugcheck_table().values()}


def bugcheck_by_name(name: str) -> BugCheckInfo | None:
    """Look up by symbolic name; case, blanks, hyphens and markdown escapes are ignored."""
    return _by_name().get(_name_key(name))


def c4_subcode(arg1: int) -> C4Subcode | None:
    """The meaning of an Arg1 value of bug check 0xC4 (also used by live dump 0x1C4)."""
    return c4_table().get(arg1)


def c4_subcodes() -> tuple[C4Subcode, ...]:
    return tuple(c4_table()[k] for k in sorted(c4_table()))


def _selector_value(
    info: BugCheckInfo, arg1: int | None, args: Sequence[int | None] | None
) -> int | None:
    sel = info.selector
    if sel is None:
        return None
    if args is not None and len(args) >= sel and args[sel - 1] is not None:
        return args[sel - 1]
    return arg1 if sel == 1 else None


def arg_meaning(
    code: int,
    index: int,
    arg1: int | None = None,
    *,
    args: Sequence[int | None] | None = None,
) -> ArgMeaning | None:
    """What argument ``index`` (1..4) of bug check ``code`` holds.

    ``arg1`` (or the full ``args`` tuple, for codes whose sub-table is keyed by another
    argument, like 0xC1's Arg4) selects the per-value description where one exists; without
    it the general description is returned.
    """
    info = bugcheck(code)
    if info is None or not 1 <= index <= 4:
        return None
    if arg1 is None and args:
        arg1 = args[0]
    general = info.arg(index)
    if info.arg1_table == "c4" and arg1 is not None:
        sub = c4_subcode(arg1)
        if sub is not None:
            if index == 1:
                label = general.label if general else "violation code"
                return ArgMeaning(1, label, sub.meaning)
            return sub.arg(index) or general
        return general
    value = _selector_value(info, arg1, args)
    if value is not None:
        variant = info.variant(value)
        if variant is not None:
            if index == info.selector:
                label = general.label if general else f"Arg{index}"
                return ArgMeaning(index, label, variant.meaning)
            return variant.arg(index) or general
    return general


# -------------------------------------------------------------------------------- verifier


def verifier_flag(value: int) -> FlagInfo | None:
    """The option with this mask value (``0x8`` is Pool Tracking; ``0`` Automatic Checks)."""
    return flag_table().get(value)


def verifier_flags() -> tuple[FlagInfo, ...]:
    return tuple(flag_table()[v] for v in sorted(flag_table()))


def _norm_words(text: str) -> str:
    return _SPACES.sub(" ", text.strip().rstrip(".:")).casefold()


@cache
def _flags_by_name() -> dict[str, FlagInfo]:
    out: dict[str, FlagInfo] = {}
    for info in flag_table().values():
        for wording in info.wordings:
            out.setdefault(_norm_words(wording), info)
    return out


def verifier_flag_by_name(name: str) -> FlagInfo | None:
    """Match any wording tools print (``/flags`` table, ``!verifier`` new or legacy lists,
    ``verifier /querysettings``), ignoring case and repeated blanks."""
    return _flags_by_name().get(_norm_words(name))


def decode_mask(mask: int, *, include_automatic: bool = True) -> list[FlagInfo]:
    """The known options set in ``mask``, lowest bit first.

    Automatic Checks (value 0) apply whenever Driver Verifier runs, so they lead the list
    unless ``include_automatic`` is false. Bits with no known option are left out; see
    ``unknown_bits``.
    """
    table = flag_table()
    out = [table[0]] if include_automatic and 0 in table else []
    out.extend(table[v] for v in sorted(table) if v and mask & v == v)
    return out


def unknown_bits(mask: int) -> int:
    """The bits of ``mask`` that match no known option."""
    known = 0
    for v in flag_table():
        known |= v
    return mask & ~known


def display_bits(value: int) -> list[DisplayBit]:
    """The documented meanings of the bits in ``!verifier``'s first argument."""
    table = display_table()
    return [table[v] for v in sorted(table) if value & v]


def display_bit(value: int) -> DisplayBit | None:
    return display_table().get(value)


# -------------------------------------------------------------------------------- pool tags


def pool_tag(tag: str) -> TagInfo | None:
    """A documented pool tag. Tags are case-sensitive; short tags are blank-padded to four
    characters, so ``"Irp"`` finds ``"Irp "``."""
    if not tag or len(tag) > 4:
        return None
    table = tag_table()
    return table.get(tag.ljust(4)) or table.get(tag)


def pool_tags() -> tuple[TagInfo, ...]:
    return tuple(tag_table()[t] for t in sorted(tag_table()))
