"""``SymbolTable``: what kdlens keeps of one PDB between analyses.

Its ``TableData`` (identity, image extent, every function with its RVA) is
the part worth caching on disk: building it reads every module of the PDB,
which takes seconds for a large one. Line lookups go to the PDB itself,
opened on first use; the reader only loads the module that covers the
address asked for, so they stay cheap.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .pdb import Location, PdbError, PdbFile

_PAGE = 0x1000


@dataclass(frozen=True, slots=True)
class TableData:
    """A PDB's identity and function list, in a form that survives a JSON round trip."""

    guid: str  # 32 upper-case hex digits, as in symbol store folder names
    age: int
    machine: int
    #: bytes from the image base to the end of its last section (page aligned)
    image_extent: int
    #: (name, rva, length, has private symbols) by RVA
    functions: tuple[tuple[str, int, int, bool], ...]

    @property
    def key(self) -> str:
        """The symbol-store folder name: GUID digits then the age in hex."""
        return f"{self.guid}{self.age:X}"

    @property
    def stripped(self) -> bool:
        """True for a PDB with public symbols only: functions without source lines."""
        return not any(private for *_rest, private in self.functions)

    def to_json(self) -> dict[str, Any]:
        return {
            "guid": self.guid,
            "age": self.age,
            "machine": self.machine,
            "image_extent": self.image_extent,
            "functions": [list(f) for f in self.functions],
        }

    @staticmethod
    def from_json(obj: Any) -> TableData:
        """Rebuild from ``to_json`` output; raises ValueError (or TypeError) on any other shape."""
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        functions = []
        for f in obj["functions"]:
            name, rva, length, private = f
            if not (
                isinstance(name, str)
                and isinstance(rva, int)
                and isinstance(length, int)
                and isinstance(private, bool)
            ):
                raise ValueError("bad function row")
            functions.append((name, rva, length, private))
        guid, age, machine, extent = obj["guid"], obj["age"], obj["machine"], obj["image_extent"]
        if not (
            isinstance(guid, str)
            and isinstance(age, int)
            and isinstance(machine, int)
            and isinstance(extent, int)
        ):
            raise ValueError("bad identity")
        return TableData(guid, age, machine, extent, tuple(functions))


def guid_text(key_or_guid: str) -> str:
    """``7834772B26A0...`` (with or without the age) as ``7834772B-26A0-...``."""
    digits = key_or_guid.replace("-", "")[:32].upper()
    try:
        return str(uuid.UUID(hex=digits)).upper()
    except ValueError:
        return digits


def read_table(pdb: PdbFile) -> TableData:
    """Everything ``TableData`` holds, read from an open PDB (raises ``PdbError``)."""
    extent = 0
    for s in pdb.sections:
        extent = max(extent, s.virtual_address + max(s.virtual_size, 1))
    extent = (extent + _PAGE - 1) // _PAGE * _PAGE
    functions = tuple(
        (
            f.name,
            f.rva,
            f.length,
            f.module is not None and not f.module.lower().startswith("import:"),
        )
        for f in pdb.functions()
    )
    return TableData(pdb.guid.hex.upper(), pdb.age, pdb.machine, extent, functions)


class SymbolTable:
    """One PDB: its cached function list, and line lookups through the file itself."""

    def __init__(self, path: Path, data: TableData, pdb: PdbFile | None = None) -> None:
        self.path = path
        self.data = data
        self._pdb = pdb
        self._lock = threading.Lock()
        self._by_name: dict[str, tuple[str, int, int, bool]] | None = None
        self._by_lower: dict[str, tuple[str, int, int, bool]] | None = None
        #: the last error met while looking up lines (the file changed or is damaged)
        self.error: str | None = None
        #: True when ``data`` came from the disk cache
        self.from_cache = pdb is None

    @property
    def key(self) -> str:
        return self.data.key

    def function_by_name(self, name: str) -> tuple[str, int, int, bool] | None:
        """``(name, rva, length, private)`` of the function printed as ``name``.

        Several functions may share a name (statics of different files): the
        lowest RVA wins, as in the PDB reader. A match ignoring case is the
        fallback, for logs typed or pasted by hand.
        """
        if self._by_name is None:
            by_name: dict[str, tuple[str, int, int, bool]] = {}
            by_lower: dict[str, tuple[str, int, int, bool]] = {}
            for f in self.data.functions:
                by_name.setdefault(f[0], f)
                by_lower.setdefault(f[0].lower(), f)
            self._by_name, self._by_lower = by_name, by_lower
        hit = self._by_name.get(name)
        if hit is None and self._by_lower is not None:
            hit = self._by_lower.get(name.lower())
        return hit

    def _open(self) -> PdbFile:
        """The PDB itself, opened on first use (call with the lock held; raises ``PdbError``)."""
        if self._pdb is None:
            pdb = PdbFile.open(self.path)
            if pdb.guid.hex.upper() != self.data.guid:
                pdb.close()
                raise PdbError("the file changed since it was indexed")
            self._pdb = pdb
        return self._pdb

    def lookup(self, rva: int) -> Location | None:
        """Function and source line at ``rva``; None when nothing covers it or the file fails."""
        with self._lock:
            try:
                return self._open().lookup(rva)
            except PdbError as exc:
                self.error = exc.reason
                return None

    def line_problem(self, rva: int | None = None) -> str | None:
        """Why ``lookup(rva)`` (or, without ``rva``, the PDB) gives no source line; None when it does.

        The resolver asks this when none of a module's frames resolves, so
        that the user reads a reason instead of meeting silence.
        """
        with self._lock:
            try:
                return self._open().line_problem(rva)
            except PdbError as exc:
                return exc.reason

    def close(self) -> None:
        """Release the open file; a later lookup opens it again."""
        with self._lock:
            pdb, self._pdb = self._pdb, None
        if pdb is not None:
            pdb.close()
