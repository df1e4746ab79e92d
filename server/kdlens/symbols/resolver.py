"""Symbol files on the symbol path as a link of the resolver chain.

``SymbolFiles`` is the long-lived ``SymbolSource``: it owns the symbol path,
the table cache and its time limit. For each analysed session it decides,
module by module, which PDB to use and where the module was loaded, and
returns a ``SessionSymbols`` resolver plus the diagnostics worth showing:

- ``symbol-mismatch``: a PDB was found but its GUID/age is not the one the
  log (``!lmi``) or the image (its CodeView record) asks for; it is not used;
- ``symbol-error``: a PDB could not be read (truncated, damaged), or it was
  read but gives no source line for any of the module's frames in the log
  (damaged section headers or ``/names``, no line data), with the reason;
- ``symbol-timeout``: loading took longer than the time limit;
- ``symbol-stripped``: the PDB holds public symbols only, so no source lines;
- ``symbol-not-found``: no PDB on the symbol path for a driver Driver
  Verifier watched;
- ``inconsistent-load-base``: the log's addresses disagree about where a
  module was loaded, so its addresses are not resolved;
- ``symbol-download``: a trusted symbol server's answer for a module was
  refused (wrong GUID/age, garbage, a redirect or pointer kdlens does not
  follow) or the download failed (time-out, HTTP error).

When the symbol path names trusted symbol servers (``symsrv``), a PDB the
local folders lack is asked for by GUID/age (an image by timestamp and size
when the log shows no GUID: the image then tells the PDB's GUID/age). The
analysis does not wait: the module is reported as being downloaded and the
``Downloads`` listener hears when the file arrives, so that the caller can
analyse again (the language server does). ``kdlens check`` sets
``wait_for_downloads`` and waits within the download budget instead.

A PDB found by name alone (nothing to check its GUID against) is used, and
every answer from it says so.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..analysis.diagnostics import Code, Diagnostic, Related, Severity
from ..analysis.evidence import Evidence, Origin, SourceLocation
from ..faults import FaultLog
from ..model import Range, Session, SymbolRef
from ..numbers import canonical_address, normalize_module
from .cache import DiskCache, LoadTimeout, TableCache, default_cache_dir
from .loadbase import BaseVerdict, Sighting, gather_sightings, infer_base
from .pdb import PdbError
from .pe import ImageInfo, read_image
from .store import Found, SymbolStore, file_name
from .symbolpath import RemoteStore, SymbolPath, parse_symbol_path
from .symsrv import (
    DOWNLOAD_BUDGET,
    MISS_TTL,
    REQUEST_TIMEOUT,
    Downloads,
    Listener,
    MissCache,
    Options,
    Outcome,
    Result,
    Wanted,
)
from .table import SymbolTable, guid_text

CODE_MISMATCH = Code.SYMBOL_MISMATCH
CODE_ERROR = Code.SYMBOL_ERROR
CODE_TIMEOUT = Code.SYMBOL_TIMEOUT
CODE_STRIPPED = Code.SYMBOL_STRIPPED
CODE_NOT_FOUND = Code.SYMBOL_NOT_FOUND
CODE_INCONSISTENT_BASE = Code.INCONSISTENT_LOAD_BASE
CODE_DOWNLOAD = Code.SYMBOL_DOWNLOAD

UNVERIFIED_NOTE = "unverified: matched by name only"
#: Default limit, in seconds, on the symbol work of one analysis.
DEFAULT_TIME_LIMIT = 20.0
#: Modules whose symbol files one analysis looks for.
MAX_MODULES = 40
#: Frames of a module tried, once its PDB is chosen, to check that it gives source lines.
PROBE_FRAMES = 32
#: Files one analysis asks the symbol servers for (the modules that matter most first).
MAX_DOWNLOADS = 8
_IMAGE_EXTENSIONS = (".sys", ".dll", ".exe")


class SymbolState(str, Enum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    MISMATCH = "mismatch"
    ERROR = "error"
    TIMEOUT = "timeout"
    NOT_FOUND = "not-found"
    DOWNLOADING = "downloading"


@dataclass(frozen=True, slots=True)
class ModuleStatus:
    """What became of one module's symbols, in words a hover can show."""

    module: str
    state: SymbolState
    message: str
    pdb: Path | None = None
    expected: str | None = None  # GUID+age key the log or the image asks for
    found: str | None = None  # GUID+age key of the PDB that was found
    base: int | None = None
    stripped: bool = False


# --------------------------------------------------------------------------- what the log says


@dataclass(slots=True)
class _Wanted:
    """A module the log mentions, with every fact about its identity it prints."""

    key: str
    display: str
    image_name: str | None = None
    pdb_names: list[str] = field(default_factory=list)
    guid: str | None = None  # 32 upper hex digits
    age: int | None = None
    timestamp: int | None = None
    image_size: int | None = None
    base: int | None = None
    size: int | None = None
    anchor: Range | None = None
    verified_driver: bool = False
    mentions: int = 0

    @property
    def expected_key(self) -> str | None:
        if self.guid is None:
            return None
        return self.guid + (f"{self.age:X}" if self.age is not None else "")


def _display_name(name: str) -> str:
    n = name.strip()
    for ext in (*_IMAGE_EXTENSIONS, ".pdb"):
        if n.lower().endswith(ext):
            return n[: -len(ext)]
    return n


def _wanted_modules(session: Session, sightings: dict[str, list[Sighting]]) -> list[_Wanted]:
    wanted: dict[str, _Wanted] = {}

    def get(name: str) -> _Wanted:
        key = normalize_module(name)
        w = wanted.get(key)
        if w is None:
            w = wanted[key] = _Wanted(key, _display_name(name))
        return w

    for m in session.modules:
        if not m.name.strip():
            continue
        w = get(m.name)
        w.mentions += 1
        if w.anchor is None or (not m.unloaded and w.base is None):
            w.anchor = m.name_range
        if m.image_name and w.image_name is None:
            w.image_name = file_name(m.image_name)
        elif m.unloaded and w.image_name is None and "." in m.name:
            w.image_name = file_name(m.name)
        if m.symbol_file:
            pdb = file_name(m.symbol_file)
            if pdb and pdb.lower().endswith(".pdb") and pdb not in w.pdb_names:
                w.pdb_names.append(pdb)
        if m.pdb_guid and w.guid is None:
            digits = m.pdb_guid.replace("-", "").upper()
            if len(digits) == 32:
                w.guid, w.age = digits, m.pdb_age
        if m.timestamp is not None:
            w.timestamp = m.timestamp
        if m.image_size is not None:
            w.image_size = m.image_size
        if m.start is not None and (w.base is None or not m.unloaded):
            start = canonical_address(m.start.value)
            if m.end is not None and m.end.value > m.start.value:
                w.size = m.end.value - m.start.value
            elif m.image_size:
                w.size = m.image_size
            w.base = start
    for d in session.drivers:
        w = get(d.name)
        w.verified_driver = True
        w.mentions += 1
        if w.image_name is None and "." in d.name:
            w.image_name = file_name(d.name)
        if w.anchor is None:
            w.anchor = d.name_range
    for key, rows in sightings.items():
        if not rows or rows[0].symbol.module is None:
            continue
        w = wanted.get(key) or get(rows[0].symbol.module)
        w.mentions += len(rows)
        if w.anchor is None:
            w.anchor = rows[0].range
    order = sorted(
        wanted.values(),
        key=lambda w: (not w.verified_driver, not sightings.get(w.key), -w.mentions),
    )
    return order[:MAX_MODULES]


# --------------------------------------------------------------------------- the per-session resolver


@dataclass(slots=True)
class _Bound:
    """A module with a usable PDB, and where it sits (when known)."""

    display: str
    table: SymbolTable
    verified: bool
    base: int | None
    size: int


class SessionSymbols:
    """The resolver for one session: addresses and symbols through the chosen PDBs."""

    def __init__(
        self,
        bound: dict[str, _Bound],
        statuses: dict[str, ModuleStatus],
        faults: FaultLog | None = None,
    ) -> None:
        #: the session's fault log: a lookup that fails is recorded there
        self._faults = faults if faults is not None else FaultLog()
        self._bound = bound
        self._statuses = statuses
        self._placed = sorted(
            (b.base, b.base + b.size, b) for b in bound.values() if b.base is not None
        )
        self._memo: dict[tuple[str, int, int], SourceLocation | None] = {}
        self._lock = threading.Lock()

    def status(self, module: str) -> ModuleStatus | None:
        """What happened to ``module``'s symbols in this session (any spelling of its name)."""
        return self._statuses.get(normalize_module(module))

    def status_text(self, module: str) -> str | None:
        st = self.status(module)
        if st is None:
            return None
        return f"{st.state.value}: {st.message}" if st.message else st.state.value

    def symbol_file(self, module: str) -> tuple[str, str] | None:
        """``(PDB path, state)`` used for ``module`` (the symbol doctor names it), else None."""
        st = self.status(module)
        if st is None:
            return None
        if st.state is SymbolState.DOWNLOADING:
            return "", st.state.value
        if st.pdb is not None and st.state in (SymbolState.VERIFIED, SymbolState.UNVERIFIED):
            return str(st.pdb), st.state.value
        return None

    @property
    def statuses(self) -> list[ModuleStatus]:
        return list(self._statuses.values())

    def module_at(self, address: int) -> tuple[str, int] | None:
        """``(module, rva)`` of an absolute address inside a placed module."""
        a = canonical_address(address)
        for start, end, b in self._placed:
            if start <= a < end:
                return b.display, a - start
        return None

    def resolve(
        self, address: int | None, symbol: SymbolRef | None, *, return_address: bool = False
    ) -> SourceLocation | None:
        try:
            return self._resolve(address, symbol, return_address)
        except Exception as exc:  # never let one lookup take the analysis down
            self._faults.record("symbol lookup", exc)
            return None

    def _resolve(
        self, address: int | None, symbol: SymbolRef | None, return_address: bool
    ) -> SourceLocation | None:
        if address is not None:
            a = canonical_address(address)
            for start, end, b in self._placed:
                if start <= a < end:
                    hit = self._at(b, a - start, return_address)
                    if hit is not None:
                        return hit
                    break
        if symbol is None or not symbol.module:
            return None
        named = self._bound.get(normalize_module(symbol.module))
        if named is None:
            return None
        if symbol.function is None:
            if symbol.offset is None:
                return None
            return self._at(named, symbol.offset, return_address)
        if symbol.offset is None and address is not None:
            # A caller column prints the function without the offset: the address
            # is somewhere inside it, not at its start.
            return None
        fn = named.table.function_by_name(symbol.function)
        if fn is None:
            return None
        return self._at(named, fn[1] + (symbol.offset or 0), return_address)

    def _at(self, b: _Bound, rva: int, return_address: bool) -> SourceLocation | None:
        key = (b.display.lower(), rva, int(return_address))
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        # A return address is the instruction after the call: step back into the call.
        loc = b.table.lookup(rva - 1 if return_address and rva > 0 else rva)
        hit: SourceLocation | None = None
        if loc is not None and loc.file and loc.line:
            offset = rva - loc.function_rva
            function = f"{b.display}!{loc.function}" + (f"+0x{offset:x}" if offset else "")
            chain = tuple(f.function for f in loc.frames) if len(loc.frames) > 1 else ()
            hit = SourceLocation(
                path=loc.file,
                line=loc.line,
                origin=Origin.SYMBOL_FILE,
                function=function,
                inline_chain=chain,
                note=None if b.verified else UNVERIFIED_NOTE,
            )
        with self._lock:
            self._memo[key] = hit
        return hit


# --------------------------------------------------------------------------- the source


class SymbolFiles:
    """A ``SymbolSource`` over the local folders of a symbol path and its trusted servers."""

    def __init__(
        self,
        symbol_path: Iterable[str],
        trusted_unc_hosts: Iterable[str] = (),
        base_dir: Path | None = None,
        cache_dir: Path | None = None,
        disk_cache: bool = True,
        time_limit: float = DEFAULT_TIME_LIMIT,
        tables: TableCache | None = None,
        *,
        trusted_servers: Iterable[str] = (),
        server_auth: Iterable[tuple[str, str]] = (),
        http_proxy: str = "",
        wait_for_downloads: bool = False,
        listener: Listener | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        download_budget: float = DOWNLOAD_BUDGET,
        miss_ttl: float = MISS_TTL,
    ) -> None:
        elements, trusted = tuple(symbol_path), tuple(trusted_unc_hosts)
        servers, auth = tuple(trusted_servers), tuple(tuple(p) for p in server_auth)
        #: what this source was built from; an equal configuration can keep using it
        self.config: tuple[object, ...] = (elements, trusted, base_dir, servers, auth, http_proxy)
        self.path: SymbolPath = parse_symbol_path(elements, trusted, base_dir, servers)
        folder = (cache_dir or default_cache_dir()) if disk_cache else None
        disk = DiskCache(folder) if folder is not None else None
        self.tables = tables if tables is not None else TableCache(disk)
        self.time_limit = time_limit
        self.wait_for_downloads = wait_for_downloads
        self._last: SessionSymbols | None = None
        #: where downloads from a server whose element names no cache folder go
        self.download_store: Path | None = None
        self.downloads: Downloads | None = None
        if self.path.servers:
            if any(not s.caches for s in self.path.servers):
                self.download_store = (
                    folder / "store"
                    if folder is not None
                    else Path(tempfile.mkdtemp(prefix="kdlens-symbol-store-"))
                )
            options = Options(
                trusted=servers,
                auth=auth,  # type: ignore[arg-type]
                timeout=request_timeout,
                budget=download_budget,
                miss_ttl=miss_ttl,
                trusted_unc_hosts=trusted,
                proxy=http_proxy,
            )
            self.downloads = Downloads(options, MissCache(folder, miss_ttl), listener)
        folders = list(self.path.folders)
        if self.download_store is not None and self.download_store not in folders:
            folders.append(self.download_store)
        #: the folders searched: the path's, then the kdlens download store
        self.search_folders: tuple[Path, ...] = tuple(folders)

    @property
    def messages(self) -> list[str]:
        """What the user should read once about this symbol path (skipped servers, refused folders)."""
        out = list(self.path.refused)
        remote = self.path.remote_message
        if remote:
            out.insert(0, remote)
        for server in self.path.servers:
            where = server.caches[0] if server.caches else self.download_store
            out.append(
                f"symbol server {server.url} is trusted: missing files are downloaded to {where}"
            )
        return out

    def set_listener(self, listener: Listener | None) -> None:
        """Who hears about downloads (the language server's progress and re-analysis glue)."""
        if self.downloads is not None:
            self.downloads.listener = listener

    def release(self, owner: str) -> None:
        """``owner`` (a document) is gone: cancel the downloads only it wanted."""
        if self.downloads is not None:
            self.downloads.release(owner)

    def for_document(self, owner: str) -> OwnedSymbols:
        """This source as seen by one document: its downloads are tied to that document."""
        return OwnedSymbols(self, owner)

    def status(self, module: str) -> ModuleStatus | None:
        """``module``'s symbol status in the session analysed last (for tests and tools)."""
        return self._last.status(module) if self._last is not None else None

    def store_for(self, server: RemoteStore) -> Path:
        """Where a download from ``server`` goes: its first cache folder, else the kdlens store."""
        if server.caches:
            return server.caches[0]
        assert self.download_store is not None
        return self.download_store

    def for_session(
        self, session: Session, evidence: Evidence, owner: str | None = None
    ) -> tuple[SessionSymbols, list[Diagnostic]]:
        sightings = gather_sightings(session, evidence)
        modules = _wanted_modules(session, sightings)
        rounds = 3 if self.downloads is not None and self.wait_for_downloads else 1
        results: dict[tuple[str, str], Result | None] = {}
        for round_no in range(rounds):
            store = SymbolStore(self.search_folders)
            bound, statuses, diagnostics, wants = self._choose_all(
                session, modules, sightings, store
            )
            if self.downloads is None:
                break
            asked = [(want, self.path.servers, self.store_for) for _, want, _ in wants]
            results = self.downloads.request(owner, asked)
            pending = [want.ident for _, want, _ in wants if results.get(want.ident) is None]
            if not self.wait_for_downloads or not pending or round_no == rounds - 1:
                break
            self.downloads.wait(pending, time.monotonic() + self.downloads.options.budget)
            results = self.downloads.request(owner, asked)
            if not any(r is not None and r.outcome is Outcome.DOWNLOADED for r in results.values()):
                break
        for choice, want, fallback in wants:
            choice.after_download(want, results.get(want.ident), fallback, statuses, diagnostics)
        resolver = SessionSymbols(bound, statuses, session.faults)
        self._last = resolver
        return resolver, diagnostics

    def _choose_all(
        self,
        session: Session,
        modules: list[_Wanted],
        sightings: dict[str, list[Sighting]],
        store: SymbolStore,
    ) -> tuple[
        dict[str, _Bound],
        dict[str, ModuleStatus],
        list[Diagnostic],
        list[tuple[_Choice, Wanted, tuple[ModuleStatus, list[Diagnostic]]]],
    ]:
        deadline = time.monotonic() + self.time_limit
        bound: dict[str, _Bound] = {}
        statuses: dict[str, ModuleStatus] = {}
        diagnostics: list[Diagnostic] = []
        wants: list[tuple[_Choice, Wanted, tuple[ModuleStatus, list[Diagnostic]]]] = []
        for w in modules:
            if time.monotonic() >= deadline:
                statuses[w.key] = ModuleStatus(
                    w.display,
                    SymbolState.TIMEOUT,
                    f"not looked up: the {self.time_limit:g} s limit for symbol files was reached",
                )
                continue
            choice = _Choice(self, store, w, sightings.get(w.key, []), deadline)
            try:
                own: list[Diagnostic] = []
                choice.run(bound, statuses, own)
                want = choice.download_wanted() if len(wants) < MAX_DOWNLOADS else None
                if want is not None and w.key in statuses:
                    # what to say if the servers have nothing either: the local verdict
                    wants.append((choice, want, (statuses[w.key], own)))
                else:
                    diagnostics.extend(own)
            except Exception as exc:  # a bug here must not cost the rest of the analysis
                session.faults.record(f"symbol files for {w.display}", exc)
                bound.pop(w.key, None)
                message = f"symbol files for {w.display} could not be used: internal error {exc!r}"
                statuses[w.key] = ModuleStatus(w.display, SymbolState.ERROR, message)
                diagnostics.append(choice.diagnostic(CODE_ERROR, message))
        return bound, statuses, diagnostics, wants


class OwnedSymbols:
    """A ``SymbolSource`` that ties the downloads it starts to one document."""

    def __init__(self, files: SymbolFiles, owner: str) -> None:
        self.files = files
        self.owner = owner

    def for_session(
        self, session: Session, evidence: Evidence
    ) -> tuple[SessionSymbols, list[Diagnostic]]:
        return self.files.for_session(session, evidence, owner=self.owner)


def _folder_note(found: Found, key: str) -> str:
    """A remark when the store folder a PDB sits in names another version than the file is."""
    if found.key is None or _same_key(found.key, key):
        return ""
    return f" (its store folder {found.key} names {_key_text(found.key)})"


def _key_text(key: str) -> str:
    """``GUID age N`` for messages."""
    age = key[32:] or "?"
    return f"GUID {guid_text(key)} age {int(age, 16) if age != '?' else '?'}"


class _Choice:
    """Picks the PDB of one module and places the module (one analysis)."""

    def __init__(
        self,
        source: SymbolFiles,
        store: SymbolStore,
        wanted: _Wanted,
        sightings: list[Sighting],
        deadline: float,
    ) -> None:
        self.source = source
        self.store = store
        self.w = wanted
        self.sightings = sightings
        self.deadline = deadline
        self.anchor = wanted.anchor or Range.on_line(0, 0, 0)
        #: what to ask the symbol servers for, decided by ``run`` (None: nothing)
        self._download: Wanted | None = None

    def download_wanted(self) -> Wanted | None:
        """The file to ask the trusted servers for, when the local folders had no usable one."""
        if self.source.downloads is None or not (self.w.verified_driver or self.sightings):
            return None
        return self._download

    def after_download(
        self,
        want: Wanted,
        result: Result | None,
        fallback: tuple[ModuleStatus, list[Diagnostic]],
        statuses: dict[str, ModuleStatus],
        diagnostics: list[Diagnostic],
    ) -> None:
        """Say what the servers did about ``want`` (None: still downloading)."""
        w = self.w
        local, own = fallback
        servers = ", ".join(s.url for s in self.source.path.servers)
        if result is None:
            statuses[w.key] = ModuleStatus(
                w.display,
                SymbolState.DOWNLOADING,
                f"{local.message}; downloading {want.name} from {servers}",
                expected=local.expected,
            )
            return
        if result.outcome is Outcome.DOWNLOADED:
            # the file is in the store now but this analysis did not use it (the next will)
            diagnostics.extend(own)
            return
        if result.outcome is Outcome.MISSING:
            statuses[w.key] = replace(local, message=f"{local.message}; {result.message}")
            diagnostics.extend(replace(d, message=f"{d.message}; {result.message}") for d in own)
            if not own and local.state is SymbolState.NOT_FOUND and w.verified_driver:
                diagnostics.append(self.diagnostic(CODE_NOT_FOUND, statuses[w.key].message))
            return
        what = "refused" if result.outcome is Outcome.REFUSED else "could not be downloaded"
        text = f"{want.name} for {w.display} {what}: {result.message}"
        statuses[w.key] = replace(local, message=f"{local.message}; {text}")
        diagnostics.extend(own)
        diagnostics.append(self.diagnostic(CODE_DOWNLOAD, text))

    def diagnostic(self, code: str, message: str, related: Sequence[Related] = ()) -> Diagnostic:
        return Diagnostic(
            range=self.anchor,
            severity=Severity.INFORMATION,
            code=code,
            message=message,
            related=tuple(related),
            data={"module": self.w.display},
        )

    def _image_names(self) -> list[str]:
        if self.w.image_name:
            return [self.w.image_name]
        return [self.w.display + ext for ext in _IMAGE_EXTENSIONS]

    def _images_on_path(self) -> list[tuple[Path, ImageInfo]]:
        """Images of the module on the symbol path (the one the log names, when it says which)."""
        key = None
        if self.w.timestamp is not None and self.w.image_size is not None:
            key = f"{self.w.timestamp:08X}{self.w.image_size:x}"
        out: list[tuple[Path, ImageInfo]] = []
        for name in self._image_names():
            for found in self.store.find(name, key):
                if key is not None and found.key is not None and found.key != key.upper():
                    continue
                try:
                    out.append((found.path, read_image(found.path)))
                except PdbError:
                    continue
                if len(out) >= 8:
                    return out
        return out

    def run(
        self,
        bound: dict[str, _Bound],
        statuses: dict[str, ModuleStatus],
        diagnostics: list[Diagnostic],
    ) -> None:
        w = self.w
        expected = w.expected_key
        expected_from = "the log's !lmi record" if expected else None
        images = self._images_on_path() if w.guid is None else []
        pdb_names = list(w.pdb_names)
        for _path, image in images:
            if image.codeview is not None:
                name = file_name(image.codeview.pdb_name)
                if name and name.lower() not in (n.lower() for n in pdb_names):
                    pdb_names.append(name)
        if expected is None:
            keys = {i.codeview.symbol_key: p for p, i in images if i.codeview is not None}
            if len(keys) == 1:
                expected, path = keys.popitem()
                expected_from = f"the image {path}"
        default = f"{w.display}.pdb"
        if default.lower() not in (n.lower() for n in pdb_names):
            pdb_names.append(default)

        candidates: list[Found] = []
        seen: set[Path] = set()
        for name in pdb_names:
            for found in self.store.find(name, expected):
                if found.path not in seen:
                    seen.add(found.path)
                    candidates.append(found)
        if expected is not None:
            self._download = Wanted(pdb_names[0], expected)
        elif not images and w.timestamp is not None and w.image_size:
            image_name = self._image_names()[0]
            key = f"{w.timestamp:08X}{w.image_size:x}"
            self._download = Wanted(image_name, key, image=True)
        if not candidates:
            self._not_found(pdb_names[0], statuses, diagnostics)
            return

        mismatches: list[tuple[Found, str, str, str]] = []  # found, pdb key, expected, by whom
        errors: list[tuple[Found, str]] = []
        unverified: list[tuple[Found, SymbolTable]] = []
        for found in candidates:
            if expected and found.key and not _same_key(found.key, expected):
                # The store folder's name says another version, but a folder can be
                # misnamed: only the file itself says which PDB it is.
                if time.monotonic() >= self.deadline:
                    self._timeout(found, statuses, diagnostics)
                    return
                try:
                    real = self.source.tables.identity(found.path)
                except PdbError as exc:
                    errors.append((found, exc.reason))
                    continue
                if not _same_key(real, expected):
                    mismatches.append((found, real, expected, expected_from or ""))
                    continue
            try:
                table = self.source.tables.get(found.path, self.deadline)
            except LoadTimeout:
                self._timeout(found, statuses, diagnostics)
                return
            except PdbError as exc:
                errors.append((found, exc.reason))
                continue
            if expected:
                if _same_key(table.key, expected):
                    self._use(found, table, True, expected, bound, statuses, diagnostics)
                    return
                mismatches.append((found, table.key, expected, expected_from or ""))
                continue
            beside = self.store.beside(found.path, self._image_names())
            info: ImageInfo | None = None
            if beside is not None:
                try:
                    info = read_image(beside)
                except PdbError:
                    info = None
            if info is not None and info.codeview is not None:
                if info.codeview.symbol_key == table.key:
                    self._use(found, table, True, table.key, bound, statuses, diagnostics)
                    return
                mismatches.append(
                    (found, table.key, info.codeview.symbol_key, f"the image {beside}")
                )
                continue
            unverified.append((found, table))
        if unverified:
            found, table = self._best_by_name(unverified)
            self._use(found, table, False, None, bound, statuses, diagnostics)
            return
        if mismatches:
            found, key, want, by = mismatches[0]
            message = (
                f"{found.path.name} does not match {w.display}: {by} expects {_key_text(want)}, "
                f"the PDB at {found.path} is {_key_text(key)}{_folder_note(found, key)}; "
                "it is not used"
            )
            if len(mismatches) > 1:
                message += f" ({len(mismatches) - 1} other PDB(s) do not match either)"
            statuses[w.key] = ModuleStatus(
                w.display, SymbolState.MISMATCH, message, found.path, want, key
            )
            diagnostics.append(self.diagnostic(CODE_MISMATCH, message))
            return
        found, reason = errors[0]
        message = (
            f"the symbol file {found.path} for {w.display} cannot be read: {reason}; "
            "its source lines are not available"
        )
        statuses[w.key] = ModuleStatus(w.display, SymbolState.ERROR, message, found.path)
        diagnostics.append(self.diagnostic(CODE_ERROR, message))

    def _agrees(self, table: SymbolTable) -> bool:
        """True when the log's addresses fit ``table`` (one load base, the ``lm`` one if any)."""
        verdict = infer_base(self.sightings, _rva_lookup(table))
        if verdict.conflict is not None or verdict.sightings == 0:
            return False
        return self.w.base is None or verdict.base == self.w.base

    def _best_by_name(self, tables: list[tuple[Found, SymbolTable]]) -> tuple[Found, SymbolTable]:
        """Among PDBs matched by name only, the first one the log's addresses agree with."""
        if len(tables) > 1 and self.sightings:
            for pair in tables:
                if self._agrees(pair[1]):
                    return pair
        return tables[0]

    def _not_found(
        self, pdb_name: str, statuses: dict[str, ModuleStatus], diagnostics: list[Diagnostic]
    ) -> None:
        folders = len(self.store.folders)
        message = (
            f"no {pdb_name} for {self.w.display} in the {folders} local folder(s) "
            "of the symbol path"
        )
        statuses[self.w.key] = ModuleStatus(self.w.display, SymbolState.NOT_FOUND, message)
        if self.w.verified_driver and folders:
            diagnostics.append(self.diagnostic(CODE_NOT_FOUND, message))

    def _timeout(
        self, found: Found, statuses: dict[str, ModuleStatus], diagnostics: list[Diagnostic]
    ) -> None:
        self._download = None
        message = (
            f"loading {found.path} for {self.w.display} takes longer than "
            f"{self.source.time_limit:g} s; gave up for this analysis (it goes on in the background)"
        )
        statuses[self.w.key] = ModuleStatus(
            self.w.display, SymbolState.TIMEOUT, message, found.path
        )
        if self.w.verified_driver or self.sightings:
            diagnostics.append(self.diagnostic(CODE_TIMEOUT, message))

    def _use(
        self,
        found: Found,
        table: SymbolTable,
        verified: bool,
        expected: str | None,
        bound: dict[str, _Bound],
        statuses: dict[str, ModuleStatus],
        diagnostics: list[Diagnostic],
    ) -> None:
        w = self.w
        if verified or expected is None:
            self._download = None  # a usable PDB is at hand
        size = w.size or table.data.image_extent or 0x1000
        base = w.base
        verdict: BaseVerdict | None = None
        if base is None and self.sightings:
            verdict = infer_base(self.sightings, _rva_lookup(table))
            base = verdict.base
        how = "verified" if verified else UNVERIFIED_NOTE
        where = f"loaded at 0x{base:x}" if base is not None else "load address unknown"
        message = f"{w.display}: {found.path} ({how}), {where}{_folder_note(found, table.key)}"
        stripped = table.data.stripped
        if stripped:
            message += "; public symbols only, no source lines"
        state = SymbolState.VERIFIED if verified else SymbolState.UNVERIFIED
        status = ModuleStatus(
            w.display, state, message, found.path, expected, table.key, base, stripped
        )
        if verdict is not None and verdict.conflict is not None:
            (b1, s1), (b2, s2) = verdict.conflict
            text = (
                f"the log disagrees about where {w.display} was loaded: {s1.symbol.display} at "
                f"0x{s1.address:x} puts it at 0x{b1:x}, {s2.symbol.display} at 0x{s2.address:x} "
                f"at 0x{b2:x}; addresses in {w.display} are not resolved through {found.path.name}"
            )
            diagnostics.append(
                Diagnostic(
                    range=s2.range,
                    severity=Severity.INFORMATION,
                    code=CODE_INCONSISTENT_BASE,
                    message=text,
                    related=(Related(s1.range, f"puts {w.display} at 0x{b1:x}"),),
                    data={"module": w.display, "bases": [f"0x{b1:x}", f"0x{b2:x}"]},
                )
            )
            status = replace(status, message=f"{message}; {text}")
        if stripped:
            diagnostics.append(
                self.diagnostic(
                    CODE_STRIPPED,
                    f"{found.path.name} for {w.display} holds public symbols only (a stripped "
                    "PDB): functions can be named but source lines are not available",
                )
            )
        entry = _Bound(w.display, table, verified, base, size)
        if not stripped and (verdict is None or verdict.conflict is None):
            reason = self._no_lines(entry)
            if reason is not None:
                frames = min(len(self.sightings), PROBE_FRAMES)
                text = (
                    f"the symbol file {found.path} for {w.display} gives no source line for "
                    f"any of the {frames} frame(s) of {w.display} tried: {reason}"
                )
                diagnostics.append(self.diagnostic(CODE_ERROR, text))
                status = replace(status, state=SymbolState.ERROR, message=f"{message}; {text}")
        statuses[w.key] = status
        bound[w.key] = entry

    def _no_lines(self, entry: _Bound) -> str | None:
        """Why none of the log's frames of this module resolves to a source line.

        None when one does, or when the log has no frame of the module with
        an address (then nothing needs lines). The frames are tried the way
        the analysis will ask, as code and as return addresses; when all
        fail, the reader is asked why at the first frames' RVAs, then about
        the PDB as a whole.
        """
        tried = self.sightings[:PROBE_FRAMES]
        if not tried:
            return None
        probe = SessionSymbols({self.w.key: entry}, {})
        rvas: list[int] = []
        for s in tried:
            for ret in (False, True):
                if probe.resolve(s.address, s.symbol, return_address=ret) is not None:
                    return None
            rva = _sighting_rva(s, entry)
            if rva is not None:
                rvas.append(rva)
        table = entry.table
        if not rvas:
            names = sorted({s.function for s in tried if s.function})
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            return (
                f"none of the functions the log names ({shown}) is in the PDB, "
                "so the module's load address is unknown"
            )
        reason = next((p for p in map(table.line_problem, rvas[:4]) if p), None)
        reason = reason or table.line_problem() or table.error
        return reason or f"no source line at RVA {rvas[0]:#x}, and the reader gives no reason"


def _sighting_rva(s: Sighting, entry: _Bound) -> int | None:
    """Where a sighting is in the PDB: by the load base when known, else by its symbol."""
    if entry.base is not None and entry.base <= s.address < entry.base + entry.size:
        return s.address - entry.base
    if s.function is None:
        return s.offset
    fn = entry.table.function_by_name(s.function)
    return fn[1] + s.offset if fn is not None else None


def _rva_lookup(table: SymbolTable) -> Callable[[str], int | None]:
    def rva_of(name: str) -> int | None:
        fn = table.function_by_name(name)
        return fn[1] if fn is not None else None

    return rva_of


def _same_key(a: str, b: str) -> bool:
    """Equal GUID, and equal age when both say one."""
    a, b = a.upper(), b.upper()
    if a[:32] != b[:32]:
        return False
    return a[32:] == b[32:] or not a[32:] or not b[32:]
