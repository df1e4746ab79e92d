"""Findings in the shape editors and CI tools expect (LSP-like, 0-based ranges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from ..model import Range


class Severity(IntEnum):
    """The LSP severities; lower is more severe."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Code:
    BUG_CHECK = "bug-check"
    EXCEPTION = "exception"  # a user-mode exception analysis or .exr record
    VERIFIER_STOP = "verifier-stop"  # an Application Verifier stop
    BLAME_DIFFERS = "blame-differs"  # the debugger blames Windows, the user's code is on the stack
    LEAKED_ALLOCATION = "leaked-allocation"
    LEAK_COUNT_MISMATCH = "leak-count-mismatch"
    LEAK_BYTES_MISMATCH = "leak-bytes-mismatch"
    NO_ALLOCATION_HISTORY = "no-allocation-history"
    # leaks of other kinds (analysis/usermode_leaks.py): one ``leaked-*`` code per
    # kind of resource; heap, pool and CRT blocks share ``leaked-allocation``
    LEAKED_HANDLE = "leaked-handle"  # !htrace -diff, App Verifier 0x901/0x905
    LEAKED_KEY = "leaked-key"  # App Verifier 0x902 (HKEY)
    LEAKED_RESERVATION = "leaked-reservation"  # App Verifier 0x903 (virtual reservation)
    LEAKED_BSTR = "leaked-bstr"  # App Verifier 0x904
    LEAKED_COM_OBJECT = "leaked-com-object"  # App Verifier 0x906
    LEAKED_LOCKED_PAGES = "leaked-locked-pages"  # bug checks 0xCB and 0x76
    POOL_GROWTH = "pool-growth"  # a tag grew between two !poolused snapshots
    LEAK_LISTING_INCOMPLETE = "leak-listing-incomplete"  # fewer rows shown than found
    # symbol files
    SYMBOL_MISMATCH = "symbol-mismatch"
    SYMBOL_ERROR = "symbol-error"
    SYMBOL_TIMEOUT = "symbol-timeout"
    SYMBOL_STRIPPED = "symbol-stripped"
    SYMBOL_NOT_FOUND = "symbol-not-found"
    INCONSISTENT_LOAD_BASE = "inconsistent-load-base"
    SYMBOL_DOWNLOAD = "symbol-download"  # a trusted server's file was refused or failed
    SYMBOL_DOCTOR = "symbol-doctor"  # why a module's frames are bare in the log, and the fix


@dataclass(slots=True, unsafe_hash=True)
class Related:
    """Another place that explains a finding; ``path`` None means the same log."""

    range: Range
    message: str
    path: str | None = None


@dataclass(slots=True, unsafe_hash=True)
class Diagnostic:
    range: Range
    severity: Severity
    code: str
    message: str
    related: tuple[Related, ...] = ()
    doc_url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    source: str = "kdlens"
