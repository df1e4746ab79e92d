"""Hover on symbol-loader lines and on the debugger's own symbol path.

A ``*** ERROR: ... could not be loaded``, ``DBGHELP:`` or ``SYMSRV:`` line
gets the symbol doctor's verdict for its module (what kdlens found, what to
set, the debugger command that fixes it). A ``Symbol search path is:`` line
says that kdlens does not use a path printed in a log and contacts none of
the servers it names.
"""

from __future__ import annotations

import re

from ...analysis import Diagnostic
from ...analysis.diagnostics import Code
from ...model import PathSetting, SymbolNote, SymbolNoteKind
from ...numbers import normalize_module
from .types import HoverContext, HoverResult

_URL = re.compile(r"https?://[^\s*;]+", re.IGNORECASE)
_KIND_TEXT = {
    SymbolNoteKind.LOAD_FAILED: "The debugger could not load symbols for this module.",
    SymbolNoteKind.EXPORT_ONLY: "The debugger found no symbol file and fell back to export symbols.",
    SymbolNoteKind.MISMATCH: (
        "The symbols the debugger found do not match the image (timestamp): "
        "its function names and lines may be wrong."
    ),
    SymbolNoteKind.CHECKSUM: (
        "A checksum warning: harmless on its own (many drivers are linked without a checksum)."
    ),
    SymbolNoteKind.DBGHELP: "A symbol-loader trace line (`!sym noisy`, or a tool's header).",
    SymbolNoteKind.SYMSRV: "A symbol-server trace line (`!sym noisy`).",
}


def _doctor(ctx: HoverContext, module: str | None) -> Diagnostic | None:
    if not module:
        return None
    key = normalize_module(module)
    for d in ctx.analysis.diagnostics:
        if d.code == Code.SYMBOL_DOCTOR and normalize_module(str(d.data.get("module", ""))) == key:
            return d
    return None


def note_markdown(ctx: HoverContext, note: SymbolNote) -> str:
    parts = [f"**Symbol loader** · {_KIND_TEXT[note.kind]}"]
    if note.status:
        parts.append(f"Status: `{note.status}`")
    d = _doctor(ctx, note.module)
    if d is not None:
        parts.append(d.message)
        command = d.data.get("command")
        if isinstance(command, str) and command:
            parts.append(f"In the debugger: `{command}`")
    return "\n\n".join(parts)


def path_markdown(setting: PathSetting) -> str:
    parts = [
        "**The debugger's symbol path** in this session. kdlens never uses a symbol path "
        "printed in a log and contacts no server it names: set `kdlens.symbolPath` "
        "(`--symbol-path`), and add a symbol server's URL to `kdlens.trustedSymbolServers` "
        "(`--trust-symbol-server`) to let kdlens download from it."
    ]
    urls = sorted(set(_URL.findall(setting.value)))
    if urls:
        parts.append(
            "Servers named here (not contacted because of this line): "
            + ", ".join(f"`{u}`" for u in urls)
        )
    return "\n\n".join(parts)


def symbols_hover(ctx: HoverContext) -> HoverResult | None:
    """The hover for a symbol-loader line or a symbol-path line at the cursor, if any."""
    pos = ctx.pos
    session = ctx.analysis.session
    for note in session.symbol_notes:
        if note.range.start.line == pos.line and note.range.contains(pos):
            return HoverResult(note_markdown(ctx, note), note.range)
    for setting in session.paths:
        on_line = setting.kind == "symbol" and setting.range.start.line == pos.line
        if on_line and (setting.range.contains(pos) or setting.value_range.contains(pos)):
            return HoverResult(path_markdown(setting), setting.range)
    return None
