"""Typed records for the knowledge layer: what bug checks, verifier options and tags mean.

They are plain frozen values so analyses and the language server can share and cache them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArgMeaning:
    """What one bug check argument (1..4) holds."""

    index: int
    label: str
    meaning: str = ""


@dataclass(frozen=True, slots=True)
class ArgVariant:
    """A row of a per-value sub-table: the selector argument equals one of ``values``."""

    values: tuple[int, ...]
    meaning: str
    args: tuple[ArgMeaning, ...] = ()

    def arg(self, index: int) -> ArgMeaning | None:
        for a in self.args:
            if a.index == index:
                return a
        return None


@dataclass(frozen=True, slots=True)
class BugCheckInfo:
    """One stop code: its name, documentation page and, for common codes, an explanation."""

    code: int
    name: str
    url: str
    live_dump: bool = False
    summary: str | None = None
    args: tuple[ArgMeaning, ...] = ()
    selector: int | None = None  # which argument picks a row of ``variants``
    variants: tuple[ArgVariant, ...] = ()
    hints: tuple[str, ...] = ()
    arg1_table: str | None = None  # "c4": Arg1 is a Driver Verifier violation code

    @property
    def hex(self) -> str:
        """The code as debuggers print it in prose, e.g. ``0xC4``."""
        return f"0x{self.code:X}"

    def arg(self, index: int) -> ArgMeaning | None:
        for a in self.args:
            if a.index == index:
                return a
        return None

    def variant(self, value: int) -> ArgVariant | None:
        for v in self.variants:
            if value in v.values:
                return v
        return None


@dataclass(frozen=True, slots=True)
class C4Subcode:
    """One Arg1 value of bug check 0xC4 (DRIVER_VERIFIER_DETECTED_VIOLATION)."""

    arg1: int
    meaning: str
    args: tuple[ArgMeaning, ...]  # Arg2..Arg4
    group: str
    rule: str | None = None
    option_name: str | None = None  # Driver Verifier option that must be on
    option_value: int | None = None  # its /flags value, when it has one
    option_basis: str | None = None
    explanation: str | None = None
    hints: tuple[str, ...] = ()

    def arg(self, index: int) -> ArgMeaning | None:
        for a in self.args:
            if a.index == index:
                return a
        return None


@dataclass(frozen=True, slots=True)
class FlagBugCheck:
    """A bug check a verifier option can raise (with the 0xC4 Arg1 values, when known)."""

    code: int
    arg1: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class FlagInfo:
    """A Driver Verifier option bit (``verifier /flags``; ``Verify Flags Level`` in ``!verifier``)."""

    value: int  # the mask value; 0 for Automatic Checks
    bit: int | None
    name: str  # wording of the /flags table
    ext_name: str | None = None  # wording in !verifier's ``[X] (0x...) Name`` list
    legacy_name: str | None = None  # wording in the older ``enabled options are:`` list
    legacy_name_basis: str | None = None
    querysettings_name: str | None = None
    standard: bool = False
    volatile: bool = False
    description: str = ""
    bugchecks: tuple[FlagBugCheck, ...] = ()

    @property
    def wordings(self) -> tuple[str, ...]:
        """Every distinct way tools print this option's name."""
        seen: list[str] = []
        for w in (self.name, self.ext_name, self.legacy_name, self.querysettings_name):
            if w and w not in seen:
                seen.append(w)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class DisplayBit:
    """A bit of the first argument of the ``!verifier`` debugger extension."""

    value: int
    bit: int
    name: str
    meaning: str
    extra_args: str = ""


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A documented pool tag that shows up in leak tables."""

    tag: str  # exactly four characters, trailing blanks kept
    owner: str
    meaning: str
    basis: str
    verifier: bool = False  # allocated by Driver Verifier on a verified driver's behalf
    allocator: str | None = None
    release: str | None = None
