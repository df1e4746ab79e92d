"""Map build paths printed by the debugger to files on this machine.

A PDB remembers where the driver was built (``d:\\coding\\wdmdrivers\\mydriver\\
handleioctl.c``); the developer reading the log has the sources somewhere
else, maybe on another OS. The mapping tries, in order: the user's explicit
``sourceMap`` prefixes, the ``.srcpath`` folders the log printed (the part of
the build path under such a folder is looked up in each workspace root), and
the longest path-suffix match among the workspace's files.

Security: a log is untrusted. Nothing here opens a path the log names; only
files under the workspace roots or under folders the user configured are ever
returned, and network paths (``\\\\host\\share`` in any spelling, see
``kdlens.winpath``) are refused unless the user trusts that host. Every
candidate is judged by ``kdlens.workspace_io.PathPolicy`` before it is
touched: a symbolic link out of the workspace is refused without its target
ever being looked at.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import winpath
from .workspace_io import (
    DEFAULT_MAX_SOURCE_BYTES,
    PathPolicy,
    Refused,
    WalkStats,
    WorkspaceFile,
    iter_source_files,
    read_regular_file,
)

#: Extensions worth indexing for suffix matching (debug info names these).
SOURCE_EXTENSIONS = frozenset(
    [
        ".c",
        ".cc",
        ".cpp",
        ".cxx",
        ".c++",
        ".h",
        ".hh",
        ".hpp",
        ".hxx",
        ".inl",
        ".ipp",
        ".tpp",
        ".asm",
        ".s",
        ".masm",
        ".idl",
        ".rc",
        ".def",
        ".cs",
        ".rs",
        ".m",
        ".mm",
    ]
)
_SKIP_DIRS = frozenset(
    [
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
    ]
)
#: A workspace bigger than this is indexed only up to here (and says so).
MAX_INDEXED_FILES = 200_000


def split_build_path(path: str) -> list[str]:
    """Path components of a Windows or POSIX path, lower-cased, drive and empties dropped."""
    p = path.replace("\\", "/")
    parts = [c for c in p.split("/") if c and c != "."]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        parts = parts[1:]
    return [c.lower() for c in parts]


def unc_host(path: str) -> str | None:
    """The host of a network path in any spelling (``\\\\?\\UNC\\host\\share`` too), else None."""
    return winpath.unc_host(path) or None


@dataclass(frozen=True, slots=True)
class Mapped:
    path: Path
    how: str  # "sourceMap", "srcpath" or "suffix"
    note: str | None = None


@dataclass(slots=True)
class FileIndex:
    """Source files of the workspace by lower-cased file name; shared between mappers."""

    by_name: dict[str, list[tuple[str, ...]]] | None = None
    root_of: dict[tuple[str, ...], Path] = field(default_factory=dict)
    truncated: bool = False


@dataclass(slots=True)
class SourceMapper:
    roots: list[Path]
    source_map: list[tuple[str, Path]] = field(default_factory=list)
    srcpath: list[str] = field(default_factory=list)
    trusted_unc_hosts: frozenset[str] = frozenset()
    files: FileIndex = field(default_factory=FileIndex)
    _policy: PathPolicy | None = field(default=None, repr=False, compare=False)

    def with_srcpath(self, srcpath: Iterable[str]) -> SourceMapper:
        """The same mapper (sharing its file index) with the source path of another log."""
        return SourceMapper(
            roots=self.roots,
            source_map=self.source_map,
            srcpath=[s for s in srcpath if s],
            trusted_unc_hosts=self.trusted_unc_hosts,
            files=self.files,
        )

    @staticmethod
    def create(
        roots: Iterable[str | Path],
        source_map: Iterable[tuple[str, str]] = (),
        srcpath: Iterable[str] = (),
        trusted_unc_hosts: Iterable[str] = (),
    ) -> SourceMapper:
        return SourceMapper(
            roots=[Path(r) for r in roots],
            source_map=[(a, Path(b)) for a, b in source_map],
            srcpath=[s for s in srcpath if s],
            trusted_unc_hosts=frozenset(h.lower() for h in trusted_unc_hosts),
        )

    # -- policy

    @property
    def policy(self) -> PathPolicy:
        """The folders files may come from: workspace roots and ``sourceMap`` destinations.

        A destination that is a device or an untrusted network path is left
        out (``policy.dropped`` says why).
        """
        if self._policy is None:
            self._policy = PathPolicy(
                [*self.roots, *(dst for _, dst in self.source_map)], self.trusted_unc_hosts
            )
        return self._policy

    def allowed(self, path: Path) -> bool:
        """True when ``path`` lies inside a workspace root or a configured folder.

        Judged without touching anything outside them: a symbolic link
        leading elsewhere makes the answer False without its target being
        looked at.
        """
        return self.policy.allows(path)

    def read_file(self, path: Path, max_bytes: int = DEFAULT_MAX_SOURCE_BYTES) -> bytes:
        """The bytes of a workspace file, judged and read safely; raises ``OSError``.

        ``kdlens.workspace_io.Refused`` (an ``OSError`` with a ``reason``)
        when the path leads outside the allowed folders, is not a regular
        file (a FIFO would block forever) or is bigger than ``max_bytes``.
        """
        return read_regular_file(self.policy.resolve(path).path, max_bytes)

    def iter_files(
        self,
        max_files: int = 5_000,
        max_bytes_total: int = 256 * 1024 * 1024,
        seconds: float | None = 2.0,
        stats: WalkStats | None = None,
    ) -> Iterator[WorkspaceFile]:
        """The workspace's source files with their bytes (see ``iter_source_files``)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        return iter_source_files(
            self.roots,
            SOURCE_EXTENSIONS,
            max_files=max_files,
            max_bytes_total=max_bytes_total,
            deadline=deadline,
            stats=stats,
        )

    def _refused(self, build_path: str) -> str | None:
        return winpath.refusal(build_path, self.trusted_unc_hosts)

    # -- mapping

    def map(self, build_path: str) -> Mapped | None:
        """A local file for ``build_path``, or None."""
        return self.explain(build_path)[0]

    def explain(self, build_path: str) -> tuple[Mapped | None, str]:
        """The local file (or None) and a sentence saying how, or why not."""
        if not build_path.strip():
            return None, "the log names no file"
        refused = self._refused(build_path)
        norm = build_path.replace("\\", "/").lower()
        dst_refused: str | None = None
        for prefix, dst in self.source_map:
            p = prefix.replace("\\", "/").lower().rstrip("/")
            if norm == p or norm.startswith(p + "/"):
                why = self.policy.judge_text(str(dst))
                if why is not None:
                    dst_refused = dst_refused or f"sourceMap '{prefix}' is not used: {why}"
                    continue
                rest = build_path.replace("\\", "/")[len(p) :].lstrip("/")
                cand = dst / rest if rest else dst
                if self._file_refusal(cand) is None:
                    return Mapped(cand, "sourceMap"), f"mapped by sourceMap '{prefix}'"
        if refused and not self.source_map:
            return None, refused
        parts = split_build_path(build_path)
        for sp in self.srcpath:
            sp_parts = split_build_path(sp)
            if sp_parts and parts[: len(sp_parts)] == sp_parts:
                rel = parts[len(sp_parts) :]
                for root in self.roots:
                    found = self._case_insensitive(root, rel)
                    if found is not None:
                        return Mapped(found, "srcpath"), f"found under the log's source path '{sp}'"
        suffix, note = self._suffix(parts)
        if suffix is not None:
            return suffix, note
        if refused:
            return None, refused
        if dst_refused:
            return None, f"{note}; {dst_refused}"
        return None, note

    def _file_refusal(self, p: Path) -> str | None:
        """None when ``p`` is a regular file inside the allowed folders, else why not.

        The path is judged before anything is touched (``PathPolicy.resolve``).
        """
        try:
            resolved = self.policy.resolve(p)
        except Refused as exc:
            return exc.reason
        except (OSError, RuntimeError, ValueError):
            return "it does not exist"
        if not resolved.is_file:
            return "it is not a regular file"
        return None

    def _case_insensitive(self, root: Path, rel: Sequence[str]) -> Path | None:
        cur = root
        for comp in rel:
            try:
                folder = self.policy.resolve(cur)
                if not folder.is_dir:
                    return None
                names = {n.lower(): n for n in os.listdir(folder.path)}
            except (OSError, RuntimeError, ValueError):
                return None
            real = names.get(comp)
            if real is None:
                return None
            cur = cur / real
        return cur if rel and self._file_refusal(cur) is None else None

    # -- suffix matching

    def _build_index(self) -> dict[str, list[tuple[str, ...]]]:
        """Source files by name. Links are listed by name but never followed or stat-ed:
        a candidate is judged when it is picked."""
        index: dict[str, list[tuple[str, ...]]] = {}
        self.files.root_of.clear()
        count = 0
        for root in self.roots:
            stack: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
            while stack:
                folder, rel_parts = stack.pop()
                try:
                    with os.scandir(folder) as it:
                        entries = sorted(it, key=lambda e: e.name)
                except OSError:
                    continue
                subdirs: list[tuple[Path, tuple[str, ...]]] = []
                for entry in entries:
                    name = entry.name
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_dir:
                        if name not in _SKIP_DIRS:
                            subdirs.append((Path(entry.path), (*rel_parts, name)))
                        continue
                    if os.path.splitext(name)[1].lower() not in SOURCE_EXTENSIONS:
                        continue
                    key = (*rel_parts, name)
                    index.setdefault(name.lower(), []).append(key)
                    self.files.root_of[key] = root
                    count += 1
                    if count >= MAX_INDEXED_FILES:
                        self.files.truncated = True
                        return index
                stack.extend(reversed(subdirs))
        return index

    def invalidate(self) -> None:
        """Forget the file index (files were created, deleted or renamed)."""
        self.files.by_name = None
        self.files.root_of.clear()

    def _suffix(self, parts: list[str]) -> tuple[Mapped | None, str]:
        if not parts:
            return None, "the path is empty"
        if not self.roots:
            return None, "no workspace folder to search"
        if self.files.by_name is None:
            self.files.by_name = self._build_index()
        cands = self.files.by_name.get(parts[-1], [])
        if not cands:
            return None, f"no file named '{parts[-1]}' in the workspace"
        best: list[tuple[int, tuple[str, ...]]] = []
        for cand in cands:
            lowered = [c.lower() for c in cand]
            n = 0
            while n < len(lowered) and n < len(parts) and lowered[-1 - n] == parts[-1 - n]:
                n += 1
            best.append((n, cand))
        best.sort(key=lambda t: (-t[0], len(t[1]), t[1]))
        score, cand = best[0]
        ties = [c for s, c in best if s == score]
        path = self.files.root_of[cand].joinpath(*cand)
        why = self._file_refusal(path)
        if why is not None:
            return None, f"'{path.name}' is not used: {why}"
        note = f"matched {score} trailing path component{'s' if score != 1 else ''}"
        if len(ties) > 1:
            note += f"; {len(ties) - 1} other file(s) match as well"
        return Mapped(path, "suffix", note if len(ties) > 1 else None), note
