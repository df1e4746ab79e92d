"""Debugger commands that would fill a gap in the log, offered where the gap shows.

kdlens cannot run anything in the debugger; what it can do is hand the user
the exact command to paste: ``!verifier 0x80 <address>`` when a leaked block
has no allocation stack in the log, ``ln <caller>`` when its allocating
line is unknown, ``.reload /f <image>`` on an ``lm`` row whose symbols are
missing or not loaded yet. Actions that answer a kdlens diagnostic are
quick fixes of that diagnostic; the ``.reload`` one has no diagnostic and is
a plain source action.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..analysis import Analysis, Code
from ..analysis.leaks import Leak
from ..model import ModuleInfo, PromptKind, Range

#: ``lm`` symbol states for which reloading the module's symbols is worth a try.
RELOADABLE = frozenset({"no symbols", "export symbols", "deferred"})

#: Kernel modules whose image name is not their module name plus ``.sys``.
_KNOWN_IMAGES = {"nt": "ntoskrnl.exe", "hal": "hal.dll", "kdcom": "kdcom.dll"}

_IMAGE_EXTENSIONS = (".sys", ".dll", ".exe", ".drv", ".efi", ".cpl", ".ocx")

#: Longest text the copy command accepts (a command, or a lens summary of many leaks).
MAX_COPY_TEXT = 65536


class ActionKind(str, Enum):
    QUICKFIX = "quickfix"
    SOURCE = "source"


@dataclass(frozen=True, slots=True)
class DiagnosticRef:
    """A diagnostic the editor sent with the request (only what matching needs)."""

    code: str
    range: Range
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CopyAction:
    title: str
    text: str  # the debugger command to copy
    kind: ActionKind
    range: Range  # the log text the action is about
    #: indices into the ``diagnostics`` passed in, for the ones this action fixes
    diagnostics: tuple[int, ...] = ()


def verifier_log_command(leak: Leak) -> str:
    """The command that prints the allocation stack of a leaked block (as the diagnostic words it)."""
    return f"!verifier 0x80 0x{leak.address:x}"


def ln_command(leak: Leak) -> str | None:
    """``ln`` of the leak's caller: the caller column as printed, else what the analysis found."""
    row = leak.allocation
    if row.caller is not None:
        return f"ln {row.caller.text}"
    if leak.call_site_address is not None:
        return f"ln 0x{leak.call_site_address:x}"
    if leak.call_site is not None:
        return f"ln {leak.call_site.display}"
    return None


def image_name(module: ModuleInfo, kernel: bool = True) -> str:
    """The file name ``.reload`` wants: the image name when ``lm`` printed it, else a guess."""
    if module.image_name:
        return module.image_name
    for path in (module.image_path, module.symbol_file):
        base = _image_file(path)
        if base is not None:
            return base
    name = module.name
    if "." in name:
        return name
    known = _KNOWN_IMAGES.get(name.lower()) if kernel else None
    if known is not None:
        return known
    return f"{name}.sys" if kernel else f"{name}.dll"


def _image_file(path: str | None) -> str | None:
    """The file name of an image path (``export symbols`` rows print the image itself)."""
    if not path:
        return None
    base = path.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base.lower().endswith(_IMAGE_EXTENSIONS):
        return base
    return None


def _title(text: str) -> str:
    return f"Copy `{text}`"


def _lines_touched(rng: Range, first: int, last: int) -> bool:
    return rng.start.line <= last and rng.end.line >= first


class _Touching:
    """The diagnostics sent with a request, found by line (bisection), not by a scan each time.

    A request over the whole of a 200,000-row table with thousands of
    diagnostics would otherwise compare every row with every diagnostic.
    """

    def __init__(self, diagnostics: Sequence[DiagnosticRef]) -> None:
        order = sorted(range(len(diagnostics)), key=lambda i: diagnostics[i].range.start.line)
        self._items = [(i, diagnostics[i]) for i in order]
        self._starts = [d.range.start.line for _, d in self._items]
        self._span = max((d.range.end.line - d.range.start.line for d in diagnostics), default=0)

    def of(self, first: int, last: int) -> Iterator[tuple[int, DiagnosticRef]]:
        """(index, diagnostic) of those touching lines ``first``..``last``."""
        lo = bisect_left(self._starts, first - self._span)
        hi = bisect_right(self._starts, last)
        for i, d in self._items[lo:hi]:
            if _lines_touched(d.range, first, last):
                yield i, d


def code_actions(
    analysis: Analysis,
    first_line: int,
    last_line: int,
    diagnostics: Sequence[DiagnosticRef] = (),
) -> list[CopyAction]:
    """The copy actions for lines ``first_line..last_line`` and for the diagnostics sent along."""
    lo, hi = first_line, last_line
    for d in diagnostics:
        lo, hi = min(lo, d.range.start.line), max(hi, d.range.end.line)

    found: dict[str, CopyAction] = {}
    touching = _Touching(diagnostics)

    def offer(text: str, kind: ActionKind, rng: Range, code: str | None) -> None:
        fixes = tuple(
            sorted(
                i
                for i, d in touching.of(rng.start.line, rng.end.line)
                if code is not None and d.code == code and d.data.get("command", text) == text
            )
        )
        old = found.get(text)
        if old is not None:
            fixes = tuple(sorted(set(old.diagnostics) | set(fixes)))
            found[text] = CopyAction(old.title, text, old.kind, old.range, fixes)
        else:
            found[text] = CopyAction(_title(text), text, kind, rng, fixes)

    for leak in analysis.leaks:
        row = leak.allocation.range
        if not (lo <= row.start.line <= hi):
            continue
        wanted = _lines_touched(row, first_line, last_line) or any(
            True for _ in touching.of(row.start.line, row.end.line)
        )
        if not wanted:
            continue
        if not leak.history:
            offer(verifier_log_command(leak), ActionKind.QUICKFIX, row, Code.NO_ALLOCATION_HISTORY)
        if leak.source is None:
            text = ln_command(leak)
            if text is not None:
                offer(text, ActionKind.QUICKFIX, row, Code.LEAKED_ALLOCATION)

    # A diagnostic can name its command itself (kept even if the analysis moved on).
    for d in diagnostics:
        command = d.data.get("command")
        if d.code == Code.NO_ALLOCATION_HISTORY and isinstance(command, str) and command.strip():
            offer(command.strip(), ActionKind.QUICKFIX, d.range, d.code)

    if any(d.code == Code.SYMBOL_DOCTOR for d in diagnostics):  # a quick fix of the finding
        for text, rng, code in symbol_doctor_commands(analysis, lo, hi):
            offer(text, ActionKind.QUICKFIX, rng, code)

    session = analysis.session
    for m in session.modules:
        if m.unloaded or not _lines_touched(m.range, first_line, last_line):
            continue
        status = (m.symbol_status or "").strip().lower()
        if status not in RELOADABLE:
            continue
        cmd = session.command_at(m.range.start.line)
        kernel = cmd is None or cmd.prompt.kind is not PromptKind.USER
        offer(f".reload /f {image_name(m, kernel)}", ActionKind.SOURCE, m.range, None)

    return sorted(found.values(), key=lambda a: (a.range.start, a.kind.value, a.text))


def symbol_doctor_commands(
    analysis: Analysis, first_line: int, last_line: int
) -> list[tuple[str, Range, str]]:
    """``(command, range, code)`` of each symbol-doctor finding on those lines.

    The command gives the debugger the symbols kdlens found (or asks where
    they are): ``.sympath+ <store>; .reload /f MyDriver.sys``.
    """
    out: list[tuple[str, Range, str]] = []
    for d in analysis.diagnostics:
        if d.code != Code.SYMBOL_DOCTOR or not _lines_touched(d.range, first_line, last_line):
            continue
        command = d.data.get("command")
        if isinstance(command, str) and command.strip():
            out.append((command.strip(), d.range, d.code))
    return out


def copy_text(arguments: Sequence[object] | None) -> str | None:
    """The text a ``copy command`` request carries, or None when it is not one short string."""
    if not arguments or len(arguments) != 1:
        return None
    text = arguments[0]
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > MAX_COPY_TEXT:
        return None
    return text
