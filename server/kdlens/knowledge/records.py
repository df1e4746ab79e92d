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
    # Short labels of Arg1..Arg4, for every code whose parameters are documented (also those
    # without a written explanation, whose ``args`` stay empty).
    labels: tuple[str, ...] = ()
    # Arguments whose value decodes through another table: (index, kind) with kind one of
    # "status" (NTSTATUS/exception code), "irql", "pool-type", "access" (see access_kinds).
    arg_kinds: tuple[tuple[int, str], ...] = ()
    # For the "access" argument: (value, "read" | "write" | "execute"); the encodings differ
    # between bug checks, hence per code.
    access_kinds: tuple[tuple[int, str], ...] = ()

    @property
    def hex(self) -> str:
        """The code as debuggers print it in prose, e.g. ``0xC4``."""
        return f"0x{self.code:X}"

    def arg(self, index: int) -> ArgMeaning | None:
        for a in self.args:
            if a.index == index:
                return a
        return None

    def arg_kind(self, index: int) -> str | None:
        """How argument ``index`` decodes ("status", "irql", "pool-type", "access"), if known."""
        for i, kind in self.arg_kinds:
            if i == index:
                return kind
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


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """An NTSTATUS or exception code as it appears in exception records and bug check args."""

    code: int  # the 32-bit value, e.g. 0xC0000005
    name: str  # e.g. STATUS_ACCESS_VIOLATION
    meaning: str
    group: str = ""  # the heading it is filed under in the source (exceptions, I/O, ...)

    @property
    def hex(self) -> str:
        """The code as WinDbg prints it, e.g. ``0xC0000005``."""
        return f"0x{self.code:08X}"

    @property
    def severity(self) -> str:
        """From the top two bits: success, informational, warning or error."""
        return ("success", "informational", "warning", "error")[(self.code >> 30) & 3]


@dataclass(frozen=True, slots=True)
class PoolTypeInfo:
    """A value of the kernel's ``_POOL_TYPE`` enumeration."""

    value: int
    name: str  # e.g. NonPagedPoolNx
    paged: bool

    @property
    def session(self) -> bool:
        """Session pool (the 0x20 bit): memory private to one terminal-services session."""
        return bool(self.value & 0x20)

    @property
    def no_execute(self) -> bool:
        """The NX variants (0x200 and up) hand out non-executable nonpaged memory."""
        return bool(self.value & 0x200)


@dataclass(frozen=True, slots=True)
class VerifierStopInfo:
    """An Application Verifier stop: the user-mode counterpart of a Driver Verifier bug check."""

    code: int
    name: str
    layer: str  # Heaps, Handles, Locks, Memory, Leak, ...
    meaning: str
    args: tuple[ArgMeaning, ...]  # Arg1..Arg4 (labels always, meanings where useful)

    @property
    def hex(self) -> str:
        return f"0x{self.code:X}"

    def arg(self, index: int) -> ArgMeaning | None:
        for a in self.args:
            if a.index == index:
                return a
        return None
