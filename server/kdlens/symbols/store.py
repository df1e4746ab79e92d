"""Where a PDB (or an image) can sit in the folders of the symbol path.

Three layouts are searched in every folder, names compared without regard
to case (symbol stores are written on Windows):

- a symbol store: ``name.pdb/<GUID><AGE>/name.pdb`` (images:
  ``name.sys/<TIMESTAMP><SIZE>/name.sys``);
- a two-tier store, marked by an ``index2.txt`` file:
  ``na/name.pdb/<GUID><AGE>/name.pdb`` (``na`` = the first two letters);
- a flat folder such as a build output: ``name.pdb`` and ``name.sys`` side by side.

Names come from the log, which is untrusted: only their last path
component is used, and one that could climb out of a folder is refused.
``file.ptr`` redirections of symbol stores are not followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Enough versions of one file for any real store; bounds the work on huge ones.
MAX_VERSIONS = 64

_SEPARATORS = re.compile(r"[\\/]")


def file_name(printed: str) -> str | None:
    """The last component of a path the log printed, or None when it is unusable."""
    name = _SEPARATORS.split(printed.strip().strip('"'))[-1].strip()
    if not name or name in (".", "..") or ":" in name or "\0" in name:
        return None
    return name


@dataclass(frozen=True, slots=True)
class Found:
    """A file found on the symbol path."""

    path: Path
    layout: str  # "store", "two-tier store" or "folder"
    #: the store folder it sits in (``<GUID><AGE>`` or ``<TIMESTAMP><SIZE>``), upper case
    key: str | None = None


class SymbolStore:
    """Case-insensitive lookups in the symbol path's folders (listings cached per instance)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self._listings: dict[Path, dict[str, str] | None] = {}

    def _listing(self, folder: Path) -> dict[str, str] | None:
        if folder not in self._listings:
            try:
                names = os.listdir(folder)
            except OSError:
                self._listings[folder] = None
            else:
                listing: dict[str, str] = {}
                for n in sorted(names):
                    listing.setdefault(n.lower(), n)
                self._listings[folder] = listing
        return self._listings[folder]

    def child(self, folder: Path, name: str) -> Path | None:
        """``folder/name`` in whatever case it is spelled on disk, when it exists."""
        listing = self._listing(folder)
        if listing is None:
            return None
        real = listing.get(name.lower())
        return folder / real if real is not None else None

    def _roots(self, folder: Path, name: str) -> list[tuple[Path, str]]:
        roots: list[tuple[Path, str]] = []
        if self.child(folder, "index2.txt") is not None and len(name) >= 2:
            tier = self.child(folder, name[:2])
            if tier is not None:
                roots.append((tier, "two-tier store"))
        roots.append((folder, "store"))
        return roots

    def find(self, name: str, key: str | None = None) -> list[Found]:
        """Every copy of file ``name``: ``key``'s store folder first, then other versions, then flat files.

        The order follows the symbol path; among other versions of one store
        the newest comes first.
        """
        exact: list[Found] = []
        others: list[Found] = []
        flat: list[Found] = []
        for folder in self.folders:
            for root, layout in self._roots(folder, name):
                top = self.child(root, name)
                if top is None or not top.is_dir():
                    continue
                if key is not None:
                    sub = self.child(top, key)
                    f = self.child(sub, name) if sub is not None else None
                    if f is not None and f.is_file():
                        exact.append(Found(f, layout, key.upper()))
                versions = self._listing(top) or {}
                found: list[tuple[float, Found]] = []
                for low, real in list(versions.items())[: MAX_VERSIONS * 4]:
                    if len(found) >= MAX_VERSIONS:
                        break
                    if key is not None and low == key.lower():
                        continue
                    f = self.child(top / real, name)
                    if f is None or not f.is_file():
                        continue
                    try:
                        mtime = f.stat().st_mtime
                    except OSError:
                        continue
                    found.append((mtime, Found(f, layout, low.upper())))
                found.sort(key=lambda t: (-t[0], str(t[1].path)))
                others.extend(item for _, item in found)
            f = self.child(folder, name)
            if f is not None and f.is_file():
                flat.append(Found(f, "folder"))
        return [*exact, *others, *flat]

    def beside(self, path: Path, names: Sequence[str]) -> Path | None:
        """The first of ``names`` that sits in the folder of ``path``."""
        for name in names:
            f = self.child(path.parent, name)
            if f is not None and f.is_file():
                return f
        return None
