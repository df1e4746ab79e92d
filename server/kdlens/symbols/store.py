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
``file.ptr`` redirections of symbol stores are not followed. Every folder and
file is judged by ``kdlens.workspace_io.PathPolicy`` before it is listed or
looked at: a symbolic link leading out of the symbol path's folders is
refused without its target being touched, and only regular files are found
(the paths returned are the resolved ones, so that opening them follows no
link).
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..winpath import PathKind, classify
from ..workspace_io import PathPolicy, Resolved

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
    """Case-insensitive lookups in the symbol path's folders (listings cached per instance).

    ``trusted_unc_hosts`` defaults to the hosts of the network folders in
    ``folders``: they come from ``parse_symbol_path``, which has already
    refused every network folder the user does not trust.
    """

    def __init__(
        self, folders: Sequence[Path], trusted_unc_hosts: Collection[str] | None = None
    ) -> None:
        self.folders = list(folders)
        if trusted_unc_hosts is None:
            trusted_unc_hosts = [
                wp.host
                for wp in (classify(str(f)) for f in self.folders)
                if wp.kind is PathKind.UNC and wp.host
            ]
        self.policy = PathPolicy(self.folders, trusted_unc_hosts)
        self._listings: dict[Path, dict[str, str] | None] = {}

    def _judged(self, path: Path) -> Resolved | None:
        """``path`` resolved inside the symbol folders, or None (refused or missing)."""
        try:
            return self.policy.resolve(path)
        except (OSError, RuntimeError, ValueError):
            return None

    def _file(self, path: Path | None) -> Resolved | None:
        """The judged regular file at ``path``, else None."""
        if path is None:
            return None
        found = self._judged(path)
        return found if found is not None and found.is_file else None

    def _listing(self, folder: Path) -> dict[str, str] | None:
        if folder not in self._listings:
            judged = self._judged(folder)
            try:
                if judged is None or not judged.is_dir:
                    raise NotADirectoryError(str(folder))
                names = os.listdir(judged.path)
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
                if top is None or self._listing(top) is None:
                    continue  # not a folder (or one that leads out of the symbol path)
                if key is not None:
                    sub = self.child(top, key)
                    f = self._file(self.child(sub, name) if sub is not None else None)
                    if f is not None:
                        exact.append(Found(f.path, layout, key.upper()))
                versions = self._listing(top) or {}
                found: list[tuple[float, Found]] = []
                for low, real in list(versions.items())[: MAX_VERSIONS * 4]:
                    if len(found) >= MAX_VERSIONS:
                        break
                    if key is not None and low == key.lower():
                        continue
                    f = self._file(self.child(top / real, name))
                    if f is None or f.stat is None:
                        continue
                    found.append((f.stat.st_mtime, Found(f.path, layout, low.upper())))
                found.sort(key=lambda t: (-t[0], str(t[1].path)))
                others.extend(item for _, item in found)
            f = self._file(self.child(folder, name))
            if f is not None:
                flat.append(Found(f.path, "folder"))
        return [*exact, *others, *flat]

    def beside(self, path: Path, names: Sequence[str]) -> Path | None:
        """The first of ``names`` that sits in the folder of ``path``."""
        for name in names:
            f = self._file(self.child(path.parent, name))
            if f is not None:
                return f.path
        return None
