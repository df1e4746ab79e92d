"""The symbol path (``_NT_SYMBOL_PATH`` syntax) reduced to the local folders kdlens may read.

kdlens never downloads anything. A ``srv*cache*https://...`` element still
counts for its cache folder, which a debugger on this machine (or a copy of
one) may have filled; the URL is only remembered so that the user can be
told, once, that it was skipped. Network folders (``\\\\host\\share`` in
any spelling: ``\\\\?\\UNC\\host\\share``, ``//host/share``...) are searched
only when the user trusts that host, like source files; device paths
(``\\\\.\\PhysicalDrive0``, ``\\\\?\\GLOBALROOT\\...``) never are.

Forms understood, each element separated by ``;``:

- ``srv*[store*...]*url`` and ``symsrv*symsrv.dll*[store*...]*url``: every
  part that is not a URL is a local store (an empty part, the debugger's
  default cache, names nothing here);
- ``cache*[folder*...]``: cache folders, searched like stores;
- anything else: a plain folder (store layout or flat files).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..winpath import PathKind, classify, refusal

_URL_PREFIXES = ("http://", "https://", "ftp://")


@dataclass(frozen=True, slots=True)
class SymbolPath:
    """The folders to search, in order, and what was left out and why."""

    folders: tuple[Path, ...] = ()
    #: URLs of symbol servers that are never contacted
    remote: tuple[str, ...] = ()
    #: one sentence per element that was refused (untrusted network folder ...)
    refused: tuple[str, ...] = ()
    #: the elements as given, for messages
    elements: tuple[str, ...] = field(default=(), compare=False)

    @property
    def remote_message(self) -> str | None:
        """The one message about skipped symbol servers, or None when there are none."""
        if not self.remote:
            return None
        urls = ", ".join(self.remote)
        return (
            f"remote symbol servers are not contacted ({urls}); "
            "only their local cache folders are searched"
        )


def split_elements(values: Iterable[str]) -> list[str]:
    """``;``-separated elements of every value, trimmed, empty ones dropped."""
    out: list[str] = []
    for value in values:
        for part in value.split(";"):
            part = part.strip().strip('"').strip()
            if part:
                out.append(part)
    return out


def _is_url(text: str) -> bool:
    return text.lower().startswith(_URL_PREFIXES)


def parse_symbol_path(
    values: Iterable[str],
    trusted_unc_hosts: Iterable[str] = (),
    base: Path | None = None,
) -> SymbolPath:
    """Read ``values`` (each may hold several ``;``-separated elements).

    Relative folders are taken relative to ``base`` (the workspace or the
    current directory). ``${workspaceFolder}`` expands to ``base``.
    """
    trusted = frozenset(h.lower() for h in trusted_unc_hosts)
    elements = split_elements(values)
    folders: list[Path] = []
    remote: list[str] = []
    refused: list[str] = []

    def add_folder(text: str) -> None:
        text = text.strip().strip('"').strip()
        if not text:
            return
        if base is not None:
            text = text.replace("${workspaceFolder}", str(base))
        expanded = os.path.expanduser(text)
        # judged as written and as expanded (a home folder may be on a share)
        why = refusal(text, trusted) or refusal(expanded, trusted)
        if why is not None:
            refused.append(f"symbol folder '{text}' is not searched: {why}")
            return
        judged = classify(expanded)
        path = Path(judged.text)  # a local \\?\C:\sym is opened as C:\sym
        if base is not None and not path.is_absolute() and judged.kind is PathKind.LOCAL:
            path = base / path
        if path not in folders:
            folders.append(path)

    for element in elements:
        parts = element.split("*")
        head = parts[0].strip().lower()
        if head in ("srv", "symsrv") and len(parts) > 1:
            rest = parts[1:]
            if head == "symsrv":
                rest = rest[1:]  # the symbol server DLL
            for part in rest:
                if _is_url(part.strip()):
                    if part.strip() not in remote:
                        remote.append(part.strip())
                else:
                    add_folder(part)
        elif head == "cache" and len(parts) > 1:
            for part in parts[1:]:
                add_folder(part)
        elif _is_url(element):
            if element not in remote:
                remote.append(element)
        else:
            add_folder(element)
    return SymbolPath(tuple(folders), tuple(remote), tuple(refused), tuple(elements))
