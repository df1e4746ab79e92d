"""``PdbFile``: open a PDB and ask which function and source line an RVA is.

Only the container, the info stream and the DBI stream are read on open.
A module's symbols and line tables are read the first time an address in
one of its section contributions is looked up (modules without any
contribution, like lld's import thunk module, are always searched); ``functions()`` and
``function_by_name()`` read every module once. Each loaded module keeps
sorted arrays (procedure ranges, line rows) that lookups bisect.
"""

from __future__ import annotations

import bisect
import mmap
import os
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from ...workspace_io import open_regular_file
from .codeview import Procedure, decode_annotations, parse_module_symbols, parse_publics
from .dbi import (
    DBI_STREAM,
    AddressMap,
    Dbi,
    ModuleInfo,
    SectionHeader,
    parse_dbi,
    parse_section_headers,
)
from .errors import PdbError
from .info import INFO_STREAM, PdbInfo, StringTable, parse_info
from .lines import C13Info, parse_c13
from .msf import Buffer, Msf
from .names import undecorate
from .typeinfo import IPI_STREAM, TPI_STREAM, InlineeNames, TypeStream

_IMAGE_FILE_MACHINE_I386 = 0x014C
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Function:
    """A function as ``functions()`` lists it."""

    name: str
    rva: int
    length: int
    #: the module (object file) it comes from; None for a function known only from publics
    module: str | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """One level of a source position: a function and where in it."""

    function: str
    file: str | None
    line: int | None


@dataclass(frozen=True, slots=True)
class Location:
    """Where an RVA is: the enclosing function and the source position.

    ``frames`` lists the position innermost first, like a stack trace: inlined
    functions (deepest inlinee first) and, last, the real function with the
    line of the outermost call. ``file`` and ``line`` are those of
    ``frames[0]``, the code that actually sits at the address.
    """

    rva: int
    function: str
    function_rva: int
    offset: int
    file: str | None
    line: int | None
    frames: tuple[Frame, ...]

    @property
    def inlined(self) -> tuple[Frame, ...]:
        """The inlined frames only (innermost first), empty outside inlined code."""
        return self.frames[:-1]


@dataclass(slots=True)
class _Site:
    inlinee: int  # ID index, named on demand
    parent: int
    depth: int
    starts: list[int]
    rows: list[tuple[int, int, int]]  # (end, file checksum offset or -1, line)


@dataclass(slots=True)
class _Proc:
    name: str
    rva: int
    length: int
    is_thunk: bool
    sites: list[_Site]
    #: separated code chunks (S_SEPCODE) as (rva, length)
    extra: list[tuple[int, int]]


class _Module:
    """A module's procedures and line rows, in RVA order."""

    def __init__(self, info: ModuleInfo, procs: list[_Proc], c13: C13Info, amap: AddressMap):
        self.info = info
        self.procs = procs
        self.checksums = c13.checksums
        ranges: list[tuple[int, int, int]] = []
        for i, p in enumerate(procs):
            ranges.append((p.rva, p.rva + p.length, i))
            ranges.extend((rva, rva + length, i) for rva, length in p.extra)
        ranges.sort()
        self._range_starts = [r[0] for r in ranges]
        self._ranges = ranges
        rows: list[tuple[int, int, int, int]] = []
        for block in c13.blocks:
            base = amap.rva(block.segment, block.offset)
            if base is None:
                continue
            entries = sorted(block.entries, key=lambda e: e[0])
            for k, (code, line, file) in enumerate(entries):
                end = entries[k + 1][0] if k + 1 < len(entries) else block.code_size
                if end > code:
                    rows.append((base + code, base + end, file, line))
        rows.sort(key=lambda r: r[0])
        self._line_starts = [r[0] for r in rows]
        self._line_rows = rows

    def proc_at(self, rva: int) -> _Proc | None:
        """The procedure whose code covers ``rva``.

        Ranges do not overlap in practice; when they do (folded code, a
        zero-length symbol), the latest start that covers ``rva`` wins, and
        among equal starts the procedure listed first.
        """
        i = bisect.bisect_right(self._range_starts, rva) - 1
        stop = max(-1, i - 16)  # bounded look-back over overlapping ranges
        while i > stop:
            first = bisect.bisect_left(self._range_starts, self._range_starts[i], 0, i + 1)
            for k in range(max(first, stop + 1), i + 1):
                _start, end, index = self._ranges[k]
                if rva < end:
                    return self.procs[index]
            i = first - 1
        return None

    @property
    def has_lines(self) -> bool:
        return bool(self._line_rows)

    def line_at(self, rva: int) -> tuple[int, int] | None:
        """``(file checksum offset, line)`` of the line row covering ``rva``."""
        i = bisect.bisect_right(self._line_starts, rva) - 1
        if i >= 0:
            _start, end, file, line = self._line_rows[i]
            if rva < end:
                return file, line
        return None


#: A section's end beyond this cannot be an RVA of a PE image (they are 32-bit).
_RVA_LIMIT = 1 << 32


def _section_problem(sections: tuple[SectionHeader, ...]) -> str:
    """Why ``sections`` cannot place code, "" when they look like a real image's headers.

    An image's sections start after its headers (RVA > 0) and follow one
    another in ascending, non-overlapping order; a zeroed stream or one read
    from the wrong blocks breaks that almost always.
    """
    if not sections:
        return "the PDB has no section headers: addresses cannot be computed"
    previous_end = 1
    for number, s in enumerate(sections, 1):
        if s.virtual_address < previous_end:
            what = "at RVA 0" if s.virtual_address == 0 else "overlaps the one before it"
            return (
                f"the section headers are damaged (section {number} {s.name!r} {what}): "
                "addresses cannot be computed"
            )
        previous_end = s.virtual_address + max(s.virtual_size, 1)
        if previous_end > _RVA_LIMIT:
            return (
                f"the section headers are damaged (section {number} {s.name!r} ends past 4 GB): "
                "addresses cannot be computed"
            )
    return ""


def _guarded(what: str, fn: Callable[[], _T]) -> _T:
    """Run a parsing step so that only ``PdbError`` can leave it."""
    try:
        return fn()
    except PdbError:
        raise
    except (IndexError, ValueError, KeyError, OverflowError, struct.error, MemoryError) as exc:
        raise PdbError(f"{what}: malformed data ({type(exc).__name__}: {exc})") from exc


class PdbFile:
    """A PDB opened for symbol lookups. Use ``PdbFile.open(path)``."""

    def __init__(self, data: Buffer, closer: Callable[[], None] | None = None) -> None:
        self._closer = closer
        try:
            self._msf = msf = _guarded("MSF", lambda: Msf(data))
            self._info: PdbInfo = _guarded(
                "PDB info", lambda: parse_info(msf.read_stream(INFO_STREAM, "PDB info stream"))
            )
            self._dbi: Dbi = _guarded(
                "DBI", lambda: parse_dbi(msf.read_stream(DBI_STREAM, "DBI stream"))
            )
            self._sections: tuple[SectionHeader, ...] = _guarded(
                "section headers", self._read_sections
            )
        except PdbError:
            self.close()
            raise
        self._amap = AddressMap(self._sections, self._dbi.contributions, len(self._dbi.modules))
        #: why the section headers cannot be used, "" when they can, None before checking
        self._section_problem: str | None = None
        self._modules: dict[int, _Module] = {}
        self._shared: frozenset[int] | None = None
        self._names: StringTable | None = None
        self._names_loaded = False
        self._names_error: str | None = None
        self._inlinees: InlineeNames | None = None
        self._publics: list[tuple[int, str, int]] | None = None
        self._public_starts: list[int] = []
        self._functions: list[Function] | None = None
        self._by_name: dict[str, Function] | None = None

    # ----------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> PdbFile:
        """Open and memory-map ``path``; raises ``PdbError`` when it is not a readable PDB."""
        try:
            with open_regular_file(path) as f:  # a FIFO or device is refused, never waited on
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    raise PdbError("file is empty")
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise PdbError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from exc
        return cls(mapped, mapped.close)

    @classmethod
    def from_bytes(cls, data: bytes) -> PdbFile:
        """A PDB held in memory (tests, downloads)."""
        return cls(bytes(data))

    def close(self) -> None:
        closer, self._closer = self._closer, None
        if closer is not None:
            closer()

    def __enter__(self) -> PdbFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _read_sections(self) -> tuple[SectionHeader, ...]:
        index = self._dbi.section_header_stream
        if index is None or not self._msf.has_stream(index):
            return ()
        return parse_section_headers(self._msf.read_stream(index, "section header stream"))

    # ----------------------------------------------------------- identity
    @property
    def guid(self) -> uuid.UUID:
        return self._info.guid

    @property
    def age(self) -> int:
        """The age an image's CodeView record must carry (the DBI age when present)."""
        return self._dbi.header.age or self._info.age

    @property
    def signature(self) -> int:
        return self._info.signature

    @property
    def symbol_key(self) -> str:
        """The symbol-store directory key: GUID hex digits then age, upper case."""
        return f"{self.guid.hex.upper()}{self.age:X}"

    @property
    def machine(self) -> int:
        """IMAGE_FILE_MACHINE_* of the image (0x8664 x64, 0x14c x86), 0 when unknown."""
        return self._dbi.header.machine

    @property
    def sections(self) -> tuple[SectionHeader, ...]:
        return self._sections

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self._dbi.modules)

    @property
    def named_streams(self) -> dict[str, int]:
        return dict(self._info.named_streams)

    # ----------------------------------------------------------- loading
    def _require_sections(self) -> None:
        """Refuse to turn ``section:offset`` into RVAs through missing or damaged headers.

        Zeroed or misdirected section header streams still parse (every
        40-byte chunk is "a header"), and would silently put every function
        and line at a wrong address; the checks here make that an error
        with a reason instead.
        """
        if self._section_problem is None:
            self._section_problem = _section_problem(self._sections)
        if self._section_problem:
            raise PdbError(self._section_problem)

    def _string_table(self) -> StringTable | None:
        """``/names``, None when the PDB has none; raises ``PdbError`` (every time) when unreadable."""
        if self._names_error is not None:
            raise PdbError(self._names_error)
        if not self._names_loaded:
            self._names_loaded = True
            index = self._info.named_streams.get("/names")
            if index is not None and self._msf.has_stream(index):
                msf = self._msf
                try:
                    self._names = _guarded(
                        "/names", lambda: StringTable(msf.read_stream(index, "/names"))
                    )
                except PdbError as exc:
                    self._names_error = exc.reason
                    raise
        return self._names

    def _shared_module_streams(self) -> frozenset[int]:
        """Stream numbers that more than one module claims."""
        if self._shared is None:
            seen: set[int] = set()
            shared: set[int] = set()
            for m in self._dbi.modules:
                if m.stream is not None:
                    (shared if m.stream in seen else seen).add(m.stream)
            self._shared = frozenset(shared)
        return self._shared

    def _module(self, index: int) -> _Module:
        mod = self._modules.get(index)
        if mod is None:
            mod = self._modules[index] = _guarded(
                f"module {index}", lambda: self._load_module(self._dbi.modules[index])
            )
        return mod

    def _load_module(self, info: ModuleInfo) -> _Module:
        what = f"module {info.index} ({info.name})"
        if info.stream is None or not self._msf.has_stream(info.stream):
            return _Module(info, [], C13Info(), self._amap)
        if info.stream in self._shared_module_streams():
            # Each module has a stream of its own; a damaged DBI naming one stream for
            # many modules would otherwise have it read (and parsed) once per module.
            raise PdbError(f"{what}: its stream {info.stream} is also another module's")
        data = self._msf.read_stream(info.stream, what)
        sym_end = info.symbols_size
        c13_start = sym_end + info.c11_size
        c13_end = c13_start + info.c13_size
        if c13_end > len(data):
            raise PdbError(f"{what}: symbol and line sizes exceed the stream")
        raw = parse_module_symbols(data, 4, sym_end, what) if sym_end >= 4 else []
        c13 = parse_c13(data, c13_start, c13_end, what)
        procs = [p for r in raw if (p := self._proc(r, c13)) is not None]
        return _Module(info, procs, c13, self._amap)

    def _proc(self, raw: Procedure, c13: C13Info) -> _Proc | None:
        rva = self._amap.rva(raw.segment, raw.offset)
        if rva is None:
            return None
        sites: list[_Site] = []
        for site in raw.sites:
            file, line = c13.inlinees.get(site.inlinee, (-1, 0))
            rows = decode_annotations(site.annotations, file, line, raw.length)
            rows.sort(key=lambda r: r[0])
            sites.append(
                _Site(
                    site.inlinee,
                    site.parent,
                    site.depth,
                    [rva + r[0] for r in rows],
                    [(rva + r[1], r[2], r[3]) for r in rows],
                )
            )
        # lld's thunks carry the decorated name (``_ExFreePoolWithTag@8`` on x86).
        name = undecorate(raw.name, self._x86()) if raw.decorated else raw.name
        extra = []
        for segment, offset, length in raw.extra:
            chunk = self._amap.rva(segment, offset)
            if chunk is not None:
                extra.append((chunk, length))
        return _Proc(name, rva, raw.length, raw.is_thunk, sites, extra)

    def _all_modules(self) -> list[_Module]:
        return [self._module(i) for i in range(len(self._dbi.modules))]

    def _x86(self) -> bool:
        return self.machine == _IMAGE_FILE_MACHINE_I386

    def _public_list(self) -> list[tuple[int, str, int]]:
        """Code publics as ``(rva, undecorated name, end)``, one per RVA, by RVA.

        A public has no length: it is taken to run to the next public or the
        end of its section.
        """
        if self._publics is None:
            found: dict[int, tuple[str, int]] = {}
            stream = self._dbi.header.symbol_record_stream
            if self._msf.has_stream(stream):
                msf = self._msf
                pubs = _guarded(
                    "publics", lambda: parse_publics(msf.read_stream(stream, "symbol records"))
                )
                x86 = self._x86()
                for pub in pubs:
                    if not 1 <= pub.segment <= len(self._sections):
                        continue
                    section = self._sections[pub.segment - 1]
                    if not (pub.is_function or section.is_code):
                        continue
                    rva = section.virtual_address + pub.offset
                    end = section.virtual_address + section.virtual_size
                    name = undecorate(pub.name, x86)
                    if rva < end and (rva not in found or name < found[rva][0]):
                        found[rva] = (name, end)
            starts = sorted(found)
            result = []
            for k, rva in enumerate(starts):
                name, end = found[rva]
                if k + 1 < len(starts):
                    end = min(end, starts[k + 1])
                result.append((rva, name, end))
            self._publics = result
            self._public_starts = starts
        return self._publics

    def _inlinee_names(self) -> InlineeNames:
        if self._inlinees is None:
            msf = self._msf

            def stream(index: int, what: str) -> TypeStream | None:
                if not msf.has_stream(index) or msf.stream_size(index) == 0:
                    return None
                return _guarded(what, lambda: TypeStream(msf.read_stream(index, what), what))

            self._inlinees = InlineeNames(
                stream(IPI_STREAM, "IPI stream"), stream(TPI_STREAM, "TPI stream")
            )
        return self._inlinees

    def _file_name(self, module: _Module, checksum: int) -> str | None:
        name_offset = module.checksums.get(checksum)
        table = self._string_table()
        if name_offset is None or table is None:
            return None
        return _guarded("/names", lambda: table.get(name_offset))

    # ----------------------------------------------------------- queries
    def functions(self) -> list[Function]:
        """Every function with code, by RVA: procedures and thunks, and code publics
        that no procedure covers (assembly, stripped PDBs)."""
        return list(_guarded("functions", self._function_list))

    def _function_list(self) -> list[Function]:
        if self._functions is None:
            self._require_sections()
            result: list[Function] = []
            spans: list[tuple[int, int]] = []
            for mod in self._all_modules():
                for p in mod.procs:
                    result.append(Function(p.name, p.rva, p.length, mod.info.name))
                    spans.append((p.rva, p.rva + p.length))
            spans.sort()
            span_starts = [s[0] for s in spans]
            starts = sorted({f.rva for f in result})
            for rva, name, end in self._public_list():
                i = bisect.bisect_right(span_starts, rva) - 1
                if i >= 0 and spans[i][0] <= rva < max(spans[i][1], spans[i][0] + 1):
                    continue
                j = bisect.bisect_right(starts, rva)
                if j < len(starts):
                    end = min(end, starts[j])
                result.append(Function(name, rva, end - rva, None))
            result.sort(key=lambda f: (f.rva, f.name))
            self._functions = result
        return self._functions

    def function_by_name(self, name: str) -> Function | None:
        """The function printed as ``name`` (``DriverEntry``, ``CMiniport::NewStream``).

        When several share a name (static functions of different modules),
        the one with the lowest RVA.
        """
        if self._by_name is None:
            by_name: dict[str, Function] = {}
            for f in self.functions():
                by_name.setdefault(f.name, f)
            self._by_name = by_name
        return self._by_name.get(name)

    def lookup(self, rva: int) -> Location | None:
        """The function and source position at ``rva``, None when nothing covers it."""
        return _guarded(f"lookup {rva:#x}", lambda: self._lookup(rva))

    def _lookup(self, rva: int) -> Location | None:
        hit = self._procedure_at(rva)
        if hit is not None:
            return self._locate(hit[0], hit[1], rva)
        return self._public_location(rva) if rva >= 0 else None

    def _procedure_at(self, rva: int) -> tuple[_Module, _Proc] | None:
        """The module and procedure (or thunk) whose code covers ``rva``."""
        self._require_sections()
        if rva < 0:
            return None
        if self._amap.has_contributions:
            candidates = self._amap.modules_at(rva) + self._amap.unplaced
        else:
            candidates = list(range(len(self._dbi.modules)))
        for index in candidates:
            mod = self._module(index)
            proc = mod.proc_at(rva)
            if proc is not None:
                return mod, proc
        return None

    def line_problem(self, rva: int | None = None) -> str | None:
        """Why ``lookup(rva)`` gives no source file and line; None when it does.

        Without ``rva``, why the PDB as a whole gives no source lines (None
        when nothing is found wrong). Damage that a lookup survives quietly
        (no ``/names`` stream, a module without line tables, a line table
        naming an unknown file) gets a sentence here, so that a caller
        finding no lines can always say why. Never raises.
        """
        try:
            return _guarded("line check", lambda: self._line_problem(rva))
        except PdbError as exc:
            return exc.reason

    def _line_problem(self, rva: int | None) -> str | None:
        self._require_sections()
        if rva is None:
            return self._names_problem() or self._modules_problem()
        hit = self._procedure_at(rva)
        if hit is None:
            public = self._public_location(rva)
            if public is not None:
                return f"{public.function} at RVA {rva:#x} is known from public symbols only"
            return f"no function of the PDB covers RVA {rva:#x}"
        mod, proc = hit
        where = f"RVA {rva:#x} ({proc.name}, module {mod.info.name})"
        names = self._names_problem()
        if names:
            return names
        loc = self._locate(mod, proc, rva)
        if loc.file and loc.line:
            return None
        if not mod.has_lines:
            return f"no line data for the module {mod.info.name}"
        if mod.line_at(rva) is None:
            return f"no line data covers {where}"
        for frame in loc.frames:
            if frame.file is None or frame.line is None:
                return f"the line data of {where} names no source file for {frame.function}"
        return f"no source line for {where}"  # pragma: no cover - every frame has file and line

    def _names_problem(self) -> str | None:
        """Why file names cannot be read from ``/names``, None when they can."""
        index = self._info.named_streams.get("/names")
        if index is None:
            return "the PDB has no /names stream, so source files cannot be named"
        if not self._msf.has_stream(index):
            return f"the /names stream ({index}) does not exist, so source files cannot be named"
        try:
            table = self._string_table()
        except PdbError as exc:
            return f"the /names stream is unreadable: {exc.reason}"
        if table is None or not table.size:
            return "the /names stream is empty, so source files cannot be named"
        return None

    def _modules_problem(self) -> str | None:
        """Why no module gives lines: every module unreadable or without line tables."""
        errors: list[str] = []
        for index in range(len(self._dbi.modules)):
            try:
                if self._module(index).has_lines:
                    return None
            except PdbError as exc:
                errors.append(exc.reason)
        if errors:
            return f"no module with line data could be read ({errors[0]})"
        return "no line data for any module"

    def _locate(self, mod: _Module, proc: _Proc, rva: int) -> Location:
        frames: list[Frame] = []
        chain = self._site_chain(proc, rva)
        if chain:
            names = self._inlinee_names()
            for site in chain:
                pos = _site_line(site, rva)
                file = self._file_name(mod, pos[0]) if pos and pos[0] >= 0 else None
                line = pos[1] if pos and pos[0] >= 0 else None
                frames.append(Frame(names.name(site.inlinee), file, line))
        here = mod.line_at(rva)
        if here is None:
            frames.append(Frame(proc.name, None, None))
        else:
            frames.append(Frame(proc.name, self._file_name(mod, here[0]), here[1]))
        top = frames[0]
        return Location(rva, proc.name, proc.rva, rva - proc.rva, top.file, top.line, tuple(frames))

    @staticmethod
    def _site_chain(proc: _Proc, rva: int) -> list[_Site]:
        """The inline sites around ``rva``, innermost first."""
        best = -1
        for i, site in enumerate(proc.sites):
            if (best < 0 or site.depth > proc.sites[best].depth) and _site_line(site, rva):
                best = i
        chain: list[_Site] = []
        steps = 0
        while best >= 0 and steps <= len(proc.sites):
            site = proc.sites[best]
            chain.append(site)
            best = site.parent if site.parent < best else -1
            steps += 1
        return chain

    def _public_location(self, rva: int) -> Location | None:
        pubs = self._public_list()
        i = bisect.bisect_right(self._public_starts, rva) - 1
        if i < 0:
            return None
        start, name, end = pubs[i]
        if rva >= end:
            return None
        # A procedure's own length is authoritative; only symbols without line
        # information (publics, thunks) are taken to run up to the next symbol.
        if self._amap.has_contributions:
            candidates = self._amap.modules_at(start) + self._amap.unplaced
        else:
            candidates = list(range(len(self._dbi.modules)))
        for index in candidates:
            proc = self._module(index).proc_at(start)
            if proc is not None and not proc.is_thunk:
                return None
        frame = Frame(name, None, None)
        return Location(rva, name, start, rva - start, None, None, (frame,))


def _site_line(site: _Site, rva: int) -> tuple[int, int] | None:
    i = bisect.bisect_right(site.starts, rva) - 1
    if i >= 0:
        end, file, line = site.rows[i]
        if rva < end:
            return file, line
    return None
