"""What a path string names, judged from its text alone, before anything touches it.

Paths reach kdlens from untrusted logs, from settings, from
``_NT_SYMBOL_PATH`` and from the targets of symbolic links. Windows spells a
network share in many ways (``\\\\host\\share``, ``//host/share``,
``\\\\?\\UNC\\host\\share``, ``\\\\.\\UNC\\host\\share``, ``\\??\\UNC\\host\\share``,
any mix of slashes and letter case), and its device namespaces
(``\\\\.\\PhysicalDrive0``, ``\\\\.\\pipe\\x``, ``\\\\?\\GLOBALROOT\\...``) open
things that are not files at all. Checking for one spelling lets the others
through, so every place that decides whether a path may be opened asks
``classify`` (or ``refusal``), which folds all spellings into one answer.

Nothing here touches the file system: it is pure string work, the same on
every OS (a ``//host/share`` path is treated as a network path on POSIX too,
where refusing it costs nothing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum


class PathKind(str, Enum):
    LOCAL = "local"  # a path on this machine's file systems (absolute or relative)
    UNC = "unc"  # a network share: \\host\share\...
    DEVICE = "device"  # a device namespace or a reserved device name: never a file


@dataclass(frozen=True, slots=True)
class WinPath:
    """A path string's kind and parts."""

    kind: PathKind
    #: the path in plain form: for LOCAL, the text to open (``\\?\C:\x`` becomes ``C:\x``);
    #: for UNC, ``\\host\share\rest``; for DEVICE, the text as given
    text: str
    #: UNC only: the host, lower case ("" when the path names none)
    host: str | None = None
    #: UNC only: the share as spelled ("" when the path names none)
    share: str | None = None
    #: UNC: what follows the share (backslash-separated, no leading backslash)
    rest: str = ""


#: Namespace prefixes after which Win32 does no normalisation of its own.
_PREFIXES = ("\\\\?\\", "\\\\.\\", "\\??\\")
_DRIVE = re.compile(r"[A-Za-z]:")
#: DOS device names that Win32 opens as devices wherever they appear in a path.
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{p}{n}" for p in ("COM", "LPT") for n in "0123456789¹²³"]
)


def _is_reserved(component: str) -> bool:
    """True for ``CON``, ``nul.txt``, ``COM1 .c``: names Win32 turns into devices."""
    stem = component.split(".", 1)[0].rstrip(" ")
    return stem.upper() in _RESERVED


def classify(path: str, reserved_names: bool | None = None) -> WinPath:
    """The kind of ``path``, with every Windows spelling folded together.

    ``reserved_names`` (default: on Windows) makes a local path with a DOS
    device name in it (``src\\CON``, ``aux.c``) a device, because Win32 opens
    the device instead of a file there.
    """
    if reserved_names is None:
        reserved_names = os.name == "nt"
    text = path.strip().strip('"').strip()
    s = text.replace("/", "\\")
    if s.startswith(_PREFIXES) or s in ("\\\\?", "\\\\.", "\\??"):
        return _namespaced(text, s[4:], reserved_names)
    if s.startswith("\\\\"):
        return _unc(s[2:])
    if reserved_names and any(_is_reserved(c) for c in s.split("\\") if c):
        return WinPath(PathKind.DEVICE, text)
    return WinPath(PathKind.LOCAL, text)


def _namespaced(text: str, body: str, reserved_names: bool) -> WinPath:
    """A path after ``\\\\?\\``, ``\\\\.\\`` or ``\\??\\``: a drive path, a share or a device."""
    first, _, after = body.partition("\\")
    if first.upper() == "UNC":
        return _unc(after)
    if _DRIVE.fullmatch(first) and after.strip("\\"):
        local = f"{first}\\{after}"
        if reserved_names and any(_is_reserved(c) for c in after.split("\\") if c):
            return WinPath(PathKind.DEVICE, text)
        return WinPath(PathKind.LOCAL, local)
    # GLOBALROOT, PhysicalDrive0, pipe\x, Volume{...}, a bare C: (the raw volume) ...
    return WinPath(PathKind.DEVICE, text)


def _unc(body: str) -> WinPath:
    """``host\\share\\rest`` (the part after the two leading backslashes)."""
    parts = body.split("\\")
    host = parts[0].strip().lower()
    share = parts[1] if len(parts) > 1 else ""
    rest = "\\".join(p for p in parts[2:] if p)
    plain = f"\\\\{parts[0]}\\{share}" + (f"\\{rest}" if rest else "")
    return WinPath(PathKind.UNC, plain, host=host, share=share, rest=rest)


def unc_host(path: str) -> str | None:
    """The host of a network path in any spelling (lower case, "" when unnamed), else None."""
    wp = classify(path, reserved_names=False)
    return wp.host if wp.kind is PathKind.UNC else None


def refusal(path: str, trusted_unc_hosts: Collection[str] = ()) -> str | None:
    """Why ``path`` must not be opened (a sentence), or None when its text is acceptable.

    Devices are always refused; a network path only when its host is not in
    ``trusted_unc_hosts`` (lower-case names; an unnamed host is never trusted).
    A local path is acceptable here: whether it lies inside the folders the
    user allowed is decided on the file system, after this check.
    """
    wp = classify(path)
    if wp.kind is PathKind.DEVICE:
        return f"'{path}' names a device, not a file"
    if wp.kind is PathKind.UNC:
        if not wp.host:
            return f"'{path}' is a network path without a host"
        if wp.host not in {h.strip().lower() for h in trusted_unc_hosts}:
            return f"network path on host '{wp.host}' is not trusted (kdlens.trustedUncHosts)"
    return None
