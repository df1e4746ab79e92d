"""Where the workspace's sources write a pool tag: one bounded walk, answered from memory.

A driver writes its pool tag as a four-character C constant (``'vrdm'`` for the
tag the debugger prints as ``mdrv``). Finding it means reading every source
file of the workspace, which can take seconds on a big tree or never end on a
hostile one (a FIFO named ``a.c``, a link to ``/dev/zero``). So the walk is
done once per workspace configuration, off the editor's event loop, with
limits on files, bytes and time, and it collects every four-character
constant at once: any tag is then answered from memory. Hovers that come
before the walk has finished say so instead of waiting for it.

The walk (``kdlens.workspace_io.iter_source_files``) never follows links and
reads only regular files, so nothing in the workspace can block it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Range
from ..sources import SOURCE_EXTENSIONS, SourceMapper
from ..workspace_io import WalkStats, iter_source_files
from .places import Target

#: A four-character constant between single quotes (no escapes: tags are printable).
_CONSTANT = re.compile(r"'[^'\\\r\n]{4}'")


def c_literal(tag: str) -> str:
    """How a driver writes a pool tag in C: the four characters reversed in a
    multi-character constant (the debugger prints the bytes lowest first)."""
    return "'" + tag[::-1] + "'"


@dataclass(frozen=True)
class Limits:
    """How much of the workspace one walk may read."""

    max_files: int = 20_000
    max_file_bytes: int = 4 * 1024 * 1024
    max_total_bytes: int = 256 * 1024 * 1024
    seconds: float = 5.0
    #: Places kept per constant (hovers show five; definitions list these).
    per_constant: int = 50


@dataclass(frozen=True)
class LiteralScan:
    """Every four-character constant of the workspace sources, with its places."""

    places: dict[str, tuple[Target, ...]] = field(default_factory=dict)
    files: int = 0
    #: Why the walk stopped early (None when it read everything).
    cut_short: str | None = None

    def find(self, tag: str) -> tuple[Target, ...]:
        return self.places.get(c_literal(tag), ()) if len(tag) == 4 else ()


@dataclass(frozen=True)
class LiteralAnswer:
    """A tag's places, or the reason there is no full answer yet."""

    targets: tuple[Target, ...]
    #: False while the walk has not finished: ``targets`` is then empty.
    ready: bool = True
    note: str | None = None


#: Answers where a tag is written: ``LiteralIndex.lookup`` (never blocks) or ``lookup_now``.
LiteralLookup = Callable[[SourceMapper, str], LiteralAnswer]


def read_source(mapper: SourceMapper, path: Path, max_bytes: int) -> str | None:
    """The text of a workspace file, or None when it may not or cannot be read.

    ``SourceMapper.read_file`` judges the path and reads only regular files
    (a FIFO or a device is refused without waiting on it).
    """
    try:
        return mapper.read_file(path, max_bytes).decode("utf-8", errors="replace")
    except OSError:
        return None


_STOPPED = {
    "max_files": "stopped after {max_files:,} source files",
    "max_bytes_total": "stopped after reading {mb} MB",
    "deadline": "stopped after {seconds:g} s",
}


def scan_literals(mapper: SourceMapper, limits: Limits = Limits()) -> LiteralScan:
    """Walk the workspace once within ``limits`` (call it off the event loop)."""
    stats = WalkStats()
    places: dict[str, list[Target]] = {}
    files = iter_source_files(
        mapper.roots,
        SOURCE_EXTENSIONS,
        max_files=limits.max_files,
        max_bytes_total=limits.max_total_bytes,
        deadline=time.monotonic() + limits.seconds,
        max_file_bytes=limits.max_file_bytes,
        stats=stats,
    )
    for item in files:
        if b"'" not in item.data:
            continue
        text = item.data.decode("utf-8", errors="replace")
        for i, line in enumerate(text.splitlines()):
            if "'" not in line:
                continue
            for m in _CONSTANT.finditer(line):
                found = places.setdefault(m.group(0), [])
                if len(found) < limits.per_constant:
                    found.append(
                        Target(item.path, Range.on_line(i, m.start(), m.end()), m.group(0))
                    )
    cut = None
    if stats.stopped is not None:
        cut = _STOPPED.get(stats.stopped, "stopped early ({stopped})").format(
            max_files=limits.max_files,
            mb=limits.max_total_bytes // (1024 * 1024),
            seconds=limits.seconds,
            stopped=stats.stopped,
        )
    return LiteralScan({k: tuple(v) for k, v in places.items()}, stats.files, cut)


def _config(mapper: SourceMapper) -> tuple[object, ...]:
    return (tuple(str(r) for r in mapper.roots), tuple((a, str(b)) for a, b in mapper.source_map))


class LiteralIndex:
    """The latest walk of one workspace configuration, shared by every request.

    ``lookup`` never reads the disk: it answers from the finished walk, or says
    the walk is still running. ``refresh`` does the walk (in a worker thread);
    ``stale`` says whether one is due (new configuration, sources changed, or
    older than ``max_age`` seconds).
    """

    def __init__(self, max_age: float = 30.0, limits: Limits = Limits()) -> None:
        self.max_age = max_age
        self.limits = limits
        self._lock = threading.Lock()
        self._scan: LiteralScan | None = None
        self._key: tuple[object, ...] | None = None
        self._when = 0.0

    def stale(self, mapper: SourceMapper) -> bool:
        with self._lock:
            return (
                self._scan is None
                or self._key != _config(mapper)
                or time.monotonic() - self._when > self.max_age
            )

    def invalidate(self) -> None:
        with self._lock:
            self._when = float("-inf")

    def refresh(self, mapper: SourceMapper) -> LiteralScan:
        scan = scan_literals(mapper, self.limits)
        with self._lock:
            self._scan, self._key, self._when = scan, _config(mapper), time.monotonic()
        return scan

    def lookup(self, mapper: SourceMapper, tag: str) -> LiteralAnswer:
        with self._lock:
            scan = self._scan if self._key == _config(mapper) else None
        if scan is None:
            return LiteralAnswer(
                (), ready=False, note="kdlens is still reading the workspace sources"
            )
        note = f"the search {scan.cut_short}" if scan.cut_short else None
        return LiteralAnswer(scan.find(tag), note=note)

    def lookup_now(self, mapper: SourceMapper, tag: str) -> LiteralAnswer:
        """``lookup``, walking first when due: for callers that may block (the CLI, tests)."""
        if self.stale(mapper):
            self.refresh(mapper)
        return self.lookup(mapper, tag)
