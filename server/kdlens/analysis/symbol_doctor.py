"""The symbol doctor: why a module's frames are bare in the log, and what fixes it.

A debugger that had no symbols for a module prints its frames as
``MyDriver+0x1a2b`` and usually says why somewhere: ``*** ERROR: ... symbols
could not be loaded for MyDriver.sys``, an ``lm`` row marked ``(no symbols)``,
``DBGHELP: MyDriver - no symbols loaded``, a timestamp warning. This module
gathers that evidence per module and makes one Information diagnostic
(``symbol-doctor``) for each module the session lacked symbols for:

- when kdlens itself resolved the module from a symbol file, it says from
  which file and store, and the debugger command that would give the same
  symbols to the debugger (``.sympath+ <store>; .reload /f MyDriver.sys``);
- otherwise it says what to set (``kdlens.symbolPath``) and which PDB to look
  for (GUID and age when the log shows them, from ``!lmi``).

A module counts as lacking symbols when the debugger said it could not load
them (``could not be loaded``, ``Defaulted to export symbols``, ``(no
symbols)``, ``no symbols loaded``), when it warned that the symbols' timestamp
does not match, or when frames of it are printed as bare offsets. Warnings
about checksums alone and ``export symbols`` of a module with no bare frame
are common and harmless, and make no diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PureWindowsPath
from typing import Protocol, runtime_checkable

from ..model import (
    ModuleInfo,
    PromptKind,
    Range,
    Session,
    SymbolNote,
    SymbolNoteKind,
    SymbolRef,
)
from ..numbers import normalize_module
from .diagnostics import Code, Diagnostic, Related, Severity

#: Bare frames listed as related places in one diagnostic.
MAX_RELATED = 4
#: Modules one session reports at most.
MAX_MODULES = 40
_FAILED_STATUS = ("no symbols",)
_DBGHELP_FAILED = ("no symbols loaded", "no symbols")
_HEX_KEY = frozenset("0123456789ABCDEFabcdef")


@runtime_checkable
class SymbolFileLookup(Protocol):
    """A session resolver that can say which symbol file it used for a module."""

    def symbol_file(self, module: str) -> tuple[str, str] | None:
        """``(path of the PDB, state)`` for ``module`` (state ``verified``, ``unverified``,
        ``downloading``...), or None when it has none."""
        ...


@dataclass(slots=True)
class ModuleEvidence:
    """What the log says about one module's symbols."""

    key: str
    names: list[str] = field(default_factory=list)  # as printed, best first
    notes: list[SymbolNote] = field(default_factory=list)
    rows: list[ModuleInfo] = field(default_factory=list)
    bare: list[SymbolRef] = field(default_factory=list)
    bare_count: int = 0

    @property
    def failed(self) -> bool:
        """The debugger said it had no (usable) symbols for this module."""
        for n in self.notes:
            if n.kind in (
                SymbolNoteKind.LOAD_FAILED,
                SymbolNoteKind.EXPORT_ONLY,
                SymbolNoteKind.MISMATCH,
            ):
                return True
            if n.kind is SymbolNoteKind.DBGHELP and (n.status or "").lower() in _DBGHELP_FAILED:
                return True
        return any((r.symbol_status or "").strip().lower() in _FAILED_STATUS for r in self.rows)

    @property
    def loaded(self) -> bool:
        """An ``lm`` row says the debugger had PDB symbols."""
        return any("pdb symbols" in (r.symbol_status or "").lower() for r in self.rows)

    @property
    def display(self) -> str:
        for name in self.names:
            if "." not in name:
                return name
        return self.names[0].rsplit(".", 1)[0] if self.names else self.key

    def image(self, user_mode: bool) -> str:
        """The name ``.reload /f`` wants: the image's file name when the log printed it.

        Otherwise a kernel module is guessed to be a ``.sys``; in a user-mode
        session (an ``.exe`` or a ``.dll``) the module name is left as it is.
        """
        for r in self.rows:
            if r.image_name:
                return r.image_name.replace("\\", "/").rsplit("/", 1)[-1]
        for n in self.names:
            if n.lower().endswith((".sys", ".dll", ".exe")):
                return n
        return self.display if user_mode else f"{self.display}.sys"


def gather(session: Session) -> dict[str, ModuleEvidence]:
    """Evidence per normalised module name, in the order the log first names them."""
    out: dict[str, ModuleEvidence] = {}

    def get(name: str) -> ModuleEvidence:
        key = normalize_module(name)
        ev = out.get(key)
        if ev is None:
            ev = out[key] = ModuleEvidence(key)
        if name not in ev.names:
            ev.names.append(name)
        return ev

    for note in session.symbol_notes:
        if note.module and not note.module.lower().endswith((".pdb", ".dbg")):
            get(note.module).notes.append(note)
        elif note.module:  # a PDB named in a loader trace speaks for its module
            ev = out.get(normalize_module(note.module))
            if ev is not None:
                ev.notes.append(note)
    for m in session.modules:
        if m.name.strip():
            get(m.name).rows.append(m)
    stacks = [s for s in session.stacks]
    stacks += [b.stack for b in session.bugchecks if b.stack is not None]
    stacks += [r.stack for r in session.pool_log[:2000]]
    seen: set[tuple[int, int]] = set()
    for stack in stacks:
        for fr in stack.frames:
            sym = fr.symbol
            if sym is None or not sym.module or sym.function is not None or sym.offset is None:
                continue
            where = (sym.range.start.line, sym.range.start.character)
            if where in seen:
                continue
            seen.add(where)
            ev = get(sym.module)
            ev.bare_count += 1
            if len(ev.bare) < MAX_RELATED:
                ev.bare.append(sym)
    return out


def _store_root(pdb: str) -> str:
    """The folder to add to the debugger's symbol path for the PDB at ``pdb``.

    ``<root>/name.pdb/<KEY>/name.pdb`` (or two-tier ``<root>/na/name.pdb/...``)
    gives the store root; any other path its own folder.
    """
    windows = "\\" in pdb and "/" not in pdb
    parts = list(PureWindowsPath(pdb).parts) if windows else pdb.split("/")
    sep = "\\" if windows else "/"
    if len(parts) >= 4:
        name, key, top = parts[-1], parts[-2], parts[-3]
        if top.lower() == name.lower() and len(key) > 32 and set(key) <= _HEX_KEY:
            root = parts[:-3]
            if len(root) > 1 and root[-1].lower() == name[:2].lower():
                root = root[:-1]  # a two-tier store's first level
            return _join(root, sep, windows)
    return _join(parts[:-1], sep, windows)


def _join(parts: list[str], sep: str, windows: bool) -> str:
    if windows:
        return str(PureWindowsPath(*parts)) if parts else "."
    text = sep.join(parts)
    return text or "/"


def _guid_text(row: ModuleInfo) -> str | None:
    if not row.pdb_guid:
        return None
    age = f", age {row.pdb_age}" if row.pdb_age is not None else ""
    return f"GUID {{{row.pdb_guid}}}{age}"


def _why(ev: ModuleEvidence) -> str:
    kinds = {n.kind for n in ev.notes}
    if SymbolNoteKind.MISMATCH in kinds:
        return "the debugger warned that its symbols do not match the image (timestamp)"
    if SymbolNoteKind.EXPORT_ONLY in kinds:
        return "the debugger found no symbol file and used export symbols"
    if SymbolNoteKind.LOAD_FAILED in kinds:
        return "the debugger could not load its symbols"
    status = next(
        (r.symbol_status for r in ev.rows if (r.symbol_status or "").lower() in _FAILED_STATUS),
        None,
    )
    if status:
        return f"lm says ({status})"
    dbghelp = next((n for n in ev.notes if n.kind is SymbolNoteKind.DBGHELP and n.status), None)
    if dbghelp is not None:
        return f"DBGHELP says '{dbghelp.status}'"
    return "its frames are printed without function names"


def doctor_diagnostics(session: Session, symbols: object | None) -> list[Diagnostic]:
    """One Information diagnostic per module the session had no symbols for."""
    out: list[Diagnostic] = []
    lookup = symbols if isinstance(symbols, SymbolFileLookup) else None
    user_mode = any(c.prompt.kind is PromptKind.USER for c in session.commands) or any(
        n.kind is SymbolNoteKind.DBGHELP and n.status for n in session.symbol_notes
    )
    for ev in gather(session).values():
        if len(out) >= MAX_MODULES:
            break
        if not ev.failed and not (ev.bare_count and not ev.loaded):
            continue
        out.append(_diagnostic(ev, lookup, ev.image(user_mode)))
    return out


def _anchor(ev: ModuleEvidence) -> Range:
    strong = [n for n in ev.notes if n.kind is not SymbolNoteKind.CHECKSUM]
    if strong:
        return strong[0].range
    for r in ev.rows:
        if (r.symbol_status or "").lower() in _FAILED_STATUS:
            return r.name_range
    if ev.bare:
        return ev.bare[0].range
    if ev.notes:
        return ev.notes[0].range
    return ev.rows[0].name_range


def _diagnostic(ev: ModuleEvidence, lookup: SymbolFileLookup | None, image: str) -> Diagnostic:
    name = ev.display
    frames = ""
    if ev.bare_count:
        shown = ev.bare[0].display
        frames = f": {ev.bare_count} frame(s) show {shown}" + (
            " and the like" if ev.bare_count > 1 else ""
        )
    head = f"{image} had no symbols in this session ({_why(ev)}){frames}"
    used = lookup.symbol_file(name) if lookup is not None else None
    pdb_name = f"{name}.pdb"
    guid = next((g for g in map(_guid_text, ev.rows) if g), None)
    commands: list[str]
    if used is not None and used[1] in ("verified", "unverified"):
        path, state = used
        store = _store_root(path)
        pdb_name = path.replace("\\", "/").rsplit("/", 1)[-1]
        note = "" if state == "verified" else " (matched by name only)"
        message = f"{head}; kdlens resolved them from {pdb_name} in {store}{note}"
        commands = [f".sympath+ {store}", f".reload /f {image}"]
    elif used is not None and used[1] == "downloading":
        message = f"{head}; kdlens is downloading {pdb_name} from a trusted symbol server"
        commands = [f".reload /f {image}"]
    else:
        which = f" ({guid})" if guid else " (`!lmi " + name + "` prints its GUID and age)"
        message = f"{head}; set kdlens.symbolPath to the folder holding {pdb_name}{which}"
        commands = [f".sympath+ <folder holding {pdb_name}>", f".reload /f {image}"]
    related = [Related(n.range, n.text) for n in ev.notes[:MAX_RELATED] if n.range != _anchor(ev)]
    related += [Related(s.range, f"bare frame {s.display}") for s in ev.bare]
    return Diagnostic(
        range=_anchor(ev),
        severity=Severity.INFORMATION,
        code=Code.SYMBOL_DOCTOR,
        message=message,
        related=tuple(related),
        data={"module": name, "image": image, "command": "; ".join(commands)},
    )
