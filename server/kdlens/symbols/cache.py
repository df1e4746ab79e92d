"""Keeping PDB tables: a few in memory, all of them on disk, and loads with a time limit.

Reopening a log should cost milliseconds, not the seconds a large PDB takes
to index. So each ``TableData`` is written to the user's cache folder, keyed
by the PDB's path, size and modification time. A cache file is written to a
temporary name and then renamed (a reader never sees half a file), and it
starts with a hash of its content: a file that does not match its hash, or
that describes another version of the PDB, is ignored and rebuilt.

The cache folder is ``platformdirs.user_cache_dir("kdlens")/symbols``;
the environment variable ``KDLENS_CACHE_DIR`` replaces it (tests point it at
a temporary folder), and setting it to an empty string turns the disk cache off.

Loading runs in a helper thread so that the analysis can stop waiting when
its time is up; the load goes on and its result is kept for the next
analysis.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .pdb import PdbError, PdbFile
from .table import SymbolTable, TableData, read_table

__all__ = ["DiskCache", "FileKey", "LoadTimeout", "TableCache", "default_cache_dir", "read_table"]

CACHE_ENV = "KDLENS_CACHE_DIR"
_FORMAT = "kdlens-pdb-table 1"
#: PDB tables kept in memory (the LRU); each holds a function list and maybe an open file.
MEMORY_SLOTS = 6
#: Identities (GUID+age keys) of PDB files remembered without their tables.
IDENTITY_SLOTS = 256


def default_cache_dir() -> Path | None:
    """Where tables are written: ``$KDLENS_CACHE_DIR``, else the platform's user cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) if env.strip() else None
    return Path(platformdirs.user_cache_dir("kdlens")) / "symbols"


@dataclass(frozen=True, slots=True)
class FileKey:
    """Which version of a file: its path, size and modification time."""

    path: str
    size: int
    mtime_ns: int

    @staticmethod
    def of(path: Path) -> FileKey:
        """The key of ``path`` now (raises ``PdbError`` when the file cannot be read)."""
        try:
            real = path.resolve()
            st = real.stat()
        except (OSError, RuntimeError) as exc:
            raise PdbError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
        return FileKey(str(real), st.st_size, st.st_mtime_ns)

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.path}\0{self.size}\0{self.mtime_ns}".encode()).hexdigest()


class DiskCache:
    """Table files in one folder, one per PDB version."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def file_for(self, key: FileKey) -> Path:
        return self.folder / f"{key.digest[:40]}.json"

    def load(self, key: FileKey) -> TableData | None:
        """The cached table of ``key``, or None when absent, damaged or stale."""
        try:
            raw = self.file_for(key).read_bytes()
        except OSError:
            return None
        head, sep, body = raw.partition(b"\n")
        if not sep:
            return None
        parts = head.decode("ascii", "replace").rsplit(" ", 1)
        if len(parts) != 2 or parts[0] != _FORMAT:
            return None
        if hashlib.sha256(body).hexdigest() != parts[1]:
            return None
        try:
            obj = json.loads(body)
            if obj.get("source") != [key.path, key.size, key.mtime_ns]:
                return None
            return TableData.from_json(obj["table"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def store(self, key: FileKey, data: TableData) -> None:
        """Write atomically; a cache that cannot be written is simply not used."""
        body = json.dumps(
            {"source": [key.path, key.size, key.mtime_ns], "table": data.to_json()},
            separators=(",", ":"),
        ).encode()
        head = f"{_FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode()
        target = self.file_for(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head)
                f.write(body)
            os.replace(tmp, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class LoadTimeout(Exception):
    """A table was still loading when the caller's time ran out."""


class TableCache:
    """PDB tables by file version: memory first, then disk, then the PDB itself."""

    def __init__(self, disk: DiskCache | None, slots: int = MEMORY_SLOTS) -> None:
        self.disk = disk
        self.slots = max(1, slots)
        self._lock = threading.Lock()
        self._memory: OrderedDict[FileKey, SymbolTable] = OrderedDict()
        self._loading: dict[FileKey, Future[SymbolTable]] = {}
        self._identities: OrderedDict[FileKey, str] = OrderedDict()

    def identity(self, path: Path) -> str:
        """The GUID+age key of the PDB at ``path``, as the file itself says.

        Cheaper than ``get``: only the headers are read (or a table already
        at hand is asked). A symbol store's folder name is where a file was
        put, not what it is; this is what it is. Raises ``PdbError`` when the
        file is not a readable PDB.
        """
        key = FileKey.of(path)
        with self._lock:
            table = self._memory.get(key)
            if table is not None:
                return table.key
            known = self._identities.get(key)
            if known is not None:
                return known
        data = self.disk.load(key) if self.disk is not None else None
        if data is not None:
            found = data.key
        else:
            with PdbFile.open(path) as pdb:
                found = pdb.symbol_key
        with self._lock:
            self._identities[key] = found
            while len(self._identities) > IDENTITY_SLOTS:
                self._identities.popitem(last=False)
        return found

    def get(self, path: Path, deadline: float) -> SymbolTable:
        """The table of the PDB at ``path``.

        Raises ``PdbError`` when the file cannot be read or is not a usable
        PDB, ``LoadTimeout`` when loading has not finished by ``deadline``
        (a ``time.monotonic()`` value).
        """
        key = FileKey.of(path)
        with self._lock:
            table = self._memory.get(key)
            if table is not None:
                self._memory.move_to_end(key)
                return table
            future = self._loading.get(key)
            if future is None:
                future = Future()
                self._loading[key] = future
                worker = threading.Thread(
                    target=self._load,
                    args=(path, key, future),
                    name="kdlens-pdb-load",
                    daemon=True,
                )
                worker.start()
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout as exc:
            raise LoadTimeout(str(path)) from exc

    def _load(self, path: Path, key: FileKey, future: Future[SymbolTable]) -> None:
        try:
            table = self._build(path, key)
        except PdbError as exc:
            with self._lock:
                self._loading.pop(key, None)
            future.set_exception(exc)
            return
        except Exception as exc:  # a reader bug must not leave the future pending
            with self._lock:
                self._loading.pop(key, None)
            future.set_exception(PdbError(f"internal error while reading: {exc!r}"))
            return
        evicted: list[SymbolTable] = []
        with self._lock:
            self._loading.pop(key, None)
            self._memory[key] = table
            while len(self._memory) > self.slots:
                evicted.append(self._memory.popitem(last=False)[1])
        for old in evicted:
            old.close()
        future.set_result(table)

    def _build(self, path: Path, key: FileKey) -> SymbolTable:
        if self.disk is not None:
            data = self.disk.load(key)
            if data is not None:
                return SymbolTable(path, data)
        pdb = PdbFile.open(path)
        try:
            data = read_table(pdb)
        except PdbError:
            pdb.close()
            raise
        if self.disk is not None:
            self.disk.store(key, data)
        return SymbolTable(path, data, pdb)

    def clear(self) -> None:
        """Forget the tables in memory (closing their files)."""
        with self._lock:
            tables = list(self._memory.values())
            self._memory.clear()
        for t in tables:
            t.close()
