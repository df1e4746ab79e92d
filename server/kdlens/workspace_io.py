"""Judging, opening and reading files in the workspace and the symbol folders.

Three rules keep a hostile log (or a hostile workspace) from hurting the
server, and everything in kdlens that opens a file follows them through
this module:

1. **Judge before touching.** ``PathPolicy.resolve`` walks a path one
   component at a time from one of the allowed folders, with ``lstat`` only
   on names inside them. A symbolic link's target is read (``readlink``
   touches only the link) and judged as text first: a target outside the
   allowed folders, on a network host the user does not trust, or in a
   device namespace is refused without ever being looked at, so nothing
   leaks whether it exists and no network round trip happens.
2. **Only regular files.** ``read_regular_file`` and ``open_regular_file``
   ``lstat`` the judged path, open it with ``O_NONBLOCK`` and ``O_NOFOLLOW``
   and check the opened descriptor again: a FIFO, socket, device or
   directory is refused instead of blocking the server forever.
3. **Bounded.** Reads stop at a size limit (a huge or sparse file is refused
   before its first byte is read) and the workspace walk
   (``iter_source_files``) stops at a file count, a byte budget and a
   deadline.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .winpath import PathKind, classify, refusal

#: The largest source file read whole (hovers, literal searches, line lookups).
DEFAULT_MAX_SOURCE_BYTES = 16 * 1024 * 1024
#: The largest driver or kernel image read to learn its identity.
DEFAULT_MAX_IMAGE_BYTES = 512 * 1024 * 1024
#: How many symbolic links one resolution may pass through (as the kernel allows).
MAX_LINKS = 40

_O_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
#: Windows reparse points that name another path (``os.readlink`` reads both).
_NAME_SURROGATES = (0xA000000C, 0xA0000003)  # IO_REPARSE_TAG_SYMLINK, _MOUNT_POINT


class Refused(OSError):
    """kdlens will not open or read ``path``; ``reason`` says why in plain words.

    An ``OSError`` so that code which already copes with unreadable files
    copes with refused ones too.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(reason)
        self.path = os.fspath(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _is_link(st: os.stat_result) -> bool:
    if stat.S_ISLNK(st.st_mode):
        return True
    return getattr(st, "st_reparse_tag", 0) in _NAME_SURROGATES


def _same_case(a: str) -> str:
    return os.path.normcase(a)


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True, slots=True)
class Resolved:
    """A judged path: its real location (no links left) and what ``lstat`` said of it."""

    path: Path
    stat: os.stat_result | None  # None when the file does not exist (non-strict resolution)

    @property
    def is_file(self) -> bool:
        return self.stat is not None and stat.S_ISREG(self.stat.st_mode)

    @property
    def is_dir(self) -> bool:
        return self.stat is not None and stat.S_ISDIR(self.stat.st_mode)


class PathPolicy:
    """The folders kdlens may read under and the network hosts the user trusts.

    ``bases`` are the user's own folders (workspace roots, ``sourceMap``
    destinations, symbol path folders); a base that is a device or an
    untrusted network path is dropped and listed in ``dropped``.
    """

    def __init__(
        self, bases: Iterable[str | os.PathLike[str]], trusted_unc_hosts: Collection[str] = ()
    ) -> None:
        self.trusted_unc_hosts = frozenset(h.strip().lower() for h in trusted_unc_hosts)
        self.bases: list[Path] = []
        self.dropped: list[str] = []
        for base in bases:
            why = refusal(os.fspath(base), self.trusted_unc_hosts)
            if why is not None:
                self.dropped.append(why)
            else:
                self.bases.append(Path(_plain(os.fspath(base))))
        self._real: list[tuple[Path, Path]] | None = None

    def _real_bases(self) -> list[tuple[Path, Path]]:
        """``(as given, absolute; real)`` for each base, longest first (resolved once)."""
        if self._real is None:
            pairs: list[tuple[Path, Path]] = []
            for base in self.bases:
                given = Path(os.path.abspath(base))
                try:
                    real = base.resolve()
                except (OSError, RuntimeError):
                    continue
                pairs.append((given, real))
                if real != given:
                    pairs.append((real, real))
            pairs.sort(key=lambda t: -len(t[0].parts))
            self._real = pairs
        return self._real

    def judge_text(self, path: str | os.PathLike[str]) -> str | None:
        """Why the text of ``path`` alone is refused (device, untrusted host), or None."""
        return refusal(os.fspath(path), self.trusted_unc_hosts)

    def _inside(self, real: Path) -> bool:
        return any(_within(real, r) for _, r in self._real_bases())

    def _anchor(self, path: Path) -> tuple[Path, list[str]] | None:
        """The real base ``path`` starts with and the components after it."""
        parts = [_same_case(p) for p in path.parts]
        for given, real in self._real_bases():
            g = [_same_case(p) for p in given.parts]
            if parts[: len(g)] == g:
                return real, list(path.parts[len(g) :])
        return None

    def resolve(self, path: str | os.PathLike[str], strict: bool = True) -> Resolved:
        """The real location of ``path``, judged at every step; raises ``Refused``.

        With ``strict`` a missing component raises ``FileNotFoundError``
        (another ``OSError``); without it the missing rest is appended as
        written. Nothing outside the allowed folders is ever ``lstat``-ed.
        """
        text = os.fspath(path)
        why = self.judge_text(text)
        if why is not None:
            raise Refused(text, why)
        if not text.strip():
            raise Refused(text, "the path is empty")
        if not self.bases:
            raise Refused(text, "no workspace folder is open")
        # Not os.path.abspath: it folds "link/.." by text, where the kernel
        # would follow the link first; the walk below handles ".." itself.
        current = Path(_plain(text))
        if not current.is_absolute():
            current = Path.cwd() / current
        links = 0
        while True:
            anchor = self._anchor(current)
            if anchor is None:
                raise Refused(text, "it is outside the workspace and the configured folders")
            cur, todo = anchor
            restart: Path | None = None
            last: os.stat_result | None = None
            for k, comp in enumerate(todo):
                if comp in ("", "."):
                    continue
                if comp == "..":
                    cur = cur.parent
                    if not self._inside(cur):
                        raise Refused(text, "it climbs outside the workspace")
                    last = None
                    continue
                cand = cur / comp
                try:
                    st = os.lstat(cand)
                except FileNotFoundError:
                    if strict or ".." in todo[k + 1 :]:
                        raise  # the kernel cannot climb out of a missing folder either
                    return Resolved(Path(cand, *todo[k + 1 :]), None)
                if _is_link(st):
                    links += 1
                    if links > MAX_LINKS:
                        raise Refused(text, "it passes through too many symbolic links")
                    target = os.readlink(cand)
                    why = self.judge_text(target)
                    if why is not None:
                        raise Refused(
                            text, f"a symbolic link leads to a path kdlens refuses: {why}"
                        )
                    tp = Path(_plain(target))
                    if not tp.is_absolute():
                        tp = cur / tp
                    restart = Path(tp, *todo[k + 1 :])
                    break
                cur = cand
                last = st
            if restart is None:
                if last is None:
                    last = os.lstat(cur)  # a base itself, or the end of a ".." walk
                return Resolved(cur, last)
            if self._anchor(restart) is None:
                raise Refused(text, "a symbolic link leads outside the workspace")
            current = restart

    def allows(self, path: str | os.PathLike[str]) -> bool:
        """True when ``path`` resolves inside the allowed folders (it need not exist)."""
        try:
            self.resolve(path, strict=False)
        except (OSError, RuntimeError, ValueError):
            return False
        return True


def _within(path: Path, base: Path) -> bool:
    a = [_same_case(p) for p in path.parts]
    b = [_same_case(p) for p in base.parts]
    return a[: len(b)] == b


def _plain(text: str) -> str:
    """A local path without its ``\\\\?\\`` / ``\\??\\`` prefix (other kinds unchanged)."""
    wp = classify(text, reserved_names=False)
    return wp.text if wp.kind is PathKind.LOCAL else text


# --------------------------------------------------------------------------- opening


def _open_checked(path: str | os.PathLike[str], max_bytes: int | None) -> int:
    """A descriptor of the regular file at ``path`` (not a link), or ``Refused``."""
    text = os.fspath(path)
    if classify(text).kind is PathKind.DEVICE:
        raise Refused(text, "it names a device, not a file")
    before = os.lstat(text)
    if not stat.S_ISREG(before.st_mode):
        raise Refused(text, f"it is {_kind_of(before.st_mode)}, not a regular file")
    if max_bytes is not None and before.st_size > max_bytes:
        raise Refused(text, f"it is {before.st_size:,} bytes, more than the {max_bytes:,} read")
    try:
        fd = os.open(text, _O_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(text, "it became a symbolic link") from exc
        if exc.errno == errno.ENXIO:
            raise Refused(text, "it is not a regular file") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(text, f"it is {_kind_of(st.st_mode)}, not a regular file")
        if before.st_ino and st.st_ino and (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            raise Refused(text, "it was replaced while being opened")
        if max_bytes is not None and st.st_size > max_bytes:
            raise Refused(text, f"it is {st.st_size:,} bytes, more than the {max_bytes:,} read")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_file(
    path: str | os.PathLike[str],
    max_bytes: int | None = None,
    policy: PathPolicy | None = None,
) -> BinaryIO:
    """Open a regular file for binary reading without ever blocking; raises ``Refused``.

    The last component must not be a symbolic link (resolve first: give a
    ``policy`` and the path is judged and resolved here). A FIFO, socket,
    device or directory is refused before it is opened or right after, and a
    file bigger than ``max_bytes`` is refused.
    """
    if policy is not None:
        path = policy.resolve(path).path
    return os.fdopen(_open_checked(path, max_bytes), "rb")


def read_regular_file(
    path: str | os.PathLike[str],
    max_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    policy: PathPolicy | None = None,
) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; raises ``Refused`` (an ``OSError``).

    Never blocks (FIFOs and devices are refused), never follows a link in the
    last component, and never reads more than ``max_bytes + 1`` bytes even if
    the file grows meanwhile. With a ``policy`` the path is judged first.
    """
    with open_regular_file(path, max_bytes, policy) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Refused(path, f"it grew past the {max_bytes:,} bytes read")
    return data


# --------------------------------------------------------------------------- walking


#: Folders no source search descends into (besides names starting with a dot).
SKIP_DIRS = frozenset(["node_modules", "venv", "__pycache__"])


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    """A source file found by ``iter_source_files``: its path under its root and its bytes."""

    path: Path
    data: bytes


@dataclass(slots=True)
class WalkStats:
    """What a walk did: files and bytes read, files skipped and why it stopped early."""

    files: int = 0
    bytes: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    #: "max_files", "max_bytes_total" or "deadline" when the walk stopped early
    stopped: str | None = None


def iter_source_files(
    roots: Sequence[str | os.PathLike[str]],
    suffixes: Collection[str],
    max_files: int = 5_000,
    max_bytes_total: int = 256 * 1024 * 1024,
    deadline: float | None = None,
    max_file_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
    stats: WalkStats | None = None,
) -> Iterator[WorkspaceFile]:
    """Every regular file under ``roots`` whose name ends in one of ``suffixes``, read.

        Symbolic links are never followed (a link inside a root that points
        inside it reaches nothing the walk does not reach anyway), FIFOs,
        sockets and devices are skipped without being opened, a folder reached
        twice (overlapping roots, bind mounts) is walked once, and folders named
        in ``SKIP_DIRS`` or starting with a dot are not entered. The walk stops
        after ``max_files`` files, before ``max_bytes_total`` bytes, or once
        ``time.monotonic()`` passes ``deadline``; ``stats`` (when given) says
        which. Files are yielded in a stable order: roots in order, in each folder
    its files by name, then its subfolders by name.
    """
    st = stats if stats is not None else WalkStats()
    wanted = tuple(s.lower() for s in suffixes)
    seen: set[tuple[int, int]] = set()

    def out_of_time() -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            st.stopped = "deadline"
            return True
        return False

    for root in roots:
        root_path = Path(root)
        try:
            root_st = os.stat(root_path)
        except OSError:
            continue
        if not stat.S_ISDIR(root_st.st_mode):
            continue
        stack: list[tuple[Path, tuple[int, int]]] = [(root_path, (root_st.st_dev, root_st.st_ino))]
        while stack:
            folder, ident = stack.pop()
            if ident in seen:
                continue
            seen.add(ident)
            if out_of_time():
                return
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            subdirs: list[tuple[Path, tuple[int, int]]] = []
            for entry in entries:
                try:
                    if entry.is_symlink():
                        if entry.name.lower().endswith(wanted):
                            st.skipped.append((Path(entry.path), "a symbolic link"))
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                            continue
                        est = entry.stat(follow_symlinks=False)
                        subdirs.append((Path(entry.path), (est.st_dev, est.st_ino)))
                        continue
                    if not entry.name.lower().endswith(wanted):
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        st.skipped.append((Path(entry.path), "not a regular file"))
                        continue
                    size = entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                if st.files >= max_files:
                    st.stopped = "max_files"
                    return
                if out_of_time():
                    return
                if size > max_file_bytes:
                    st.skipped.append((Path(entry.path), f"{size:,} bytes, too big to search"))
                    continue
                if st.bytes + size > max_bytes_total:
                    st.stopped = "max_bytes_total"
                    return
                try:
                    data = read_regular_file(entry.path, max_file_bytes)
                except OSError as exc:
                    st.skipped.append((Path(entry.path), getattr(exc, "reason", None) or str(exc)))
                    continue
                st.files += 1
                st.bytes += len(data)
                yield WorkspaceFile(Path(entry.path), data)
            stack.extend(reversed(subdirs))
