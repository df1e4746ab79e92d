"""Lookups over the knowledge tables: the questions analyses and hovers ask.

All functions are pure reads of cached tables; unknown inputs give ``None`` (or an empty
list) rather than an exception, since they come straight from arbitrary log text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from .load import (
    app_verifier_table,
    bugcheck_table,
    c4_table,
    display_table,
    flag_table,
    irql_table,
    pool_type_table,
    status_table,
    tag_table,
)
from .records import (
    ArgMeaning,
    BugCheckInfo,
    C4Subcode,
    DisplayBit,
    FlagInfo,
    PoolTypeInfo,
    StatusInfo,
    TagInfo,
    VerifierStopInfo,
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


# -------------------------------------------------------------------------------- crash triage


def arg_label(code: int, index: int) -> str | None:
    """The short label of argument ``index`` (1..4) of bug check ``code``.

    Known for every code whose parameters are documented, including codes without a written
    explanation (for which ``arg_meaning`` gives ``None``).
    """
    info = bugcheck(code)
    if info is None or not 1 <= index <= 4:
        return None
    if len(info.labels) == 4:
        return info.labels[index - 1]
    general = info.arg(index)
    return general.label if general else None


def _u32(code: int) -> int | None:
    """Exception codes are printed signed by some tools (``-1073741819``); fold them back."""
    if -(1 << 31) <= code < 0:
        return code & 0xFFFFFFFF
    return code if 0 <= code <= 0xFFFFFFFF else None


def status_code(code: int) -> StatusInfo | None:
    """An NTSTATUS or exception code (``0xC0000005`` or its signed form ``-1073741819``)."""
    value = _u32(code)
    return None if value is None else status_table().get(value)


@cache
def _status_by_name() -> dict[str, StatusInfo]:
    return {info.name.upper(): info for info in status_table().values()}


def status_by_name(name: str) -> StatusInfo | None:
    """Look up by symbolic name (``STATUS_ACCESS_VIOLATION``), ignoring case and blanks."""
    return _status_by_name().get(name.strip().upper())


def status_codes() -> tuple[StatusInfo, ...]:
    return tuple(status_table()[c] for c in sorted(status_table()))


_ARCH = {
    "x64": "x64",
    "amd64": "x64",
    "x86_64": "x64",
    "x86": "x86",
    "i386": "x86",
    "i686": "x86",
    "arm64": "arm64",
    "aarch64": "arm64",
}


def irql_name(value: int, arch: str = "x64") -> str | None:
    """The name of an IRQL on an architecture (``x64``, ``x86``, ``arm64`` and aliases).

    The top levels differ: 15 is HIGH_LEVEL on x64 and ARM64 but 31 on x86. Levels that only
    device interrupts use (DIRQL) have no name and give ``None``, as do unknown architectures.
    """
    key = _ARCH.get(arch.strip().lower())
    if key is None:
        return None
    return irql_table().get((key, value))


def pool_type(value: int) -> PoolTypeInfo | None:
    """A ``_POOL_TYPE`` value (``0`` NonPagedPool, ``1`` PagedPool, ``0x200`` NonPagedPoolNx...)."""
    return pool_type_table().get(value)


def pool_type_name(value: int) -> str | None:
    info = pool_type(value)
    return info.name if info else None


def pool_types() -> tuple[PoolTypeInfo, ...]:
    return tuple(pool_type_table()[v] for v in sorted(pool_type_table()))


def access_kind(bugcheck_code: int, value: int) -> str | None:
    """``"read"``, ``"write"`` or ``"execute"`` for the access-kind argument of a fault bug check.

    The encodings differ between bug checks (0xD1: 8 = execute; 0x50 on current x64: 2 = write,
    10 = execute), so the value is read against that code's own table.
    """
    info = bugcheck(bugcheck_code)
    if info is None:
        return None
    for v, kind in info.access_kinds:
        if v == value:
            return kind
    return None


def decode_arg(code: int, index: int, value: int, *, arch: str = "x64") -> str | None:
    """A short reading of one argument's value when it decodes through a table.

    For example Arg1 of 0x1E ``0xC0000005`` -> ``"STATUS_ACCESS_VIOLATION: ..."``, Arg2 of 0xD1
    ``2`` -> ``"DISPATCH_LEVEL"``, Arg3 of 0xD1 ``1`` -> ``"write"``. ``None`` when the argument
    has no such table or the value is not in it.
    """
    info = bugcheck(code)
    kind = info.arg_kind(index) if info else None
    if kind == "status":
        status = status_code(value)
        return f"{status.name}: {status.meaning}" if status else None
    if kind == "irql":
        return irql_name(value, arch)
    if kind == "pool-type":
        return pool_type_name(value)
    if kind == "access":
        return access_kind(code, value)
    return None


# -------------------------------------------------------------------------------- app verifier


def verifier_stop(code: int) -> VerifierStopInfo | None:
    """An Application Verifier stop code (``0x7`` is a heap double free)."""
    return app_verifier_table().get(code)


def verifier_stops() -> tuple[VerifierStopInfo, ...]:
    return tuple(app_verifier_table()[c] for c in sorted(app_verifier_table()))
