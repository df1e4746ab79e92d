"""Inlay hints and code lenses, mapped to the protocol.

A lens runs ``kdlens.copyCommand`` (see ``actions``): the summary lens copies
a plain-text list of the table's leaks, the second lens the
``!verifier 0x80`` commands for the leaks the log has no stack for. The copy
command takes at most ``MAX_COPY_TEXT`` characters, so a longer text (a
200,000-row table lists megabytes) is cut at a line and says how many lines
are left out; lenses are built once per snapshot, off the event loop.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from ...features.actions import MAX_COPY_TEXT
from ...features.hints import Hint, HintKind, Lens, inlay_hints, lenses
from ...pipeline import Snapshot
from ..convert import Columns
from ..memo import PerSnapshot
from ..server import KdlensServer, guard
from .actions import COPY_COMMAND

_KINDS = {
    HintKind.SIZE: lsp.InlayHintKind.Type,
    HintKind.COUNT: lsp.InlayHintKind.Type,
}


def to_inlay_hint(cols: Columns, hint: Hint) -> lsp.InlayHint:
    return lsp.InlayHint(
        position=cols.position(hint.position),
        label=hint.label,
        kind=_KINDS.get(hint.kind),
        tooltip=lsp.MarkupContent(kind=lsp.MarkupKind.PlainText, value=hint.tooltip)
        if hint.tooltip
        else None,
        padding_left=True,
    )


def copyable(text: str, limit: int = MAX_COPY_TEXT) -> str:
    """``text`` when the copy command takes it, else its first entries and a count of the rest.

    Entries are lines (the leak list) or ``; ``-separated commands.
    """
    if len(text) <= limit:
        return text
    sep = "\n" if "\n" in text else "; "
    cut = text.rfind(sep, 0, limit - 80)
    if cut < 0:
        return text[: limit - 80] + " ..."
    rest = text.count(sep, cut + len(sep)) + 1
    return f"{text[:cut]}{sep}... {rest:,} more not copied"


def to_code_lens(cols: Columns, lens: Lens) -> lsp.CodeLens:
    return lsp.CodeLens(
        range=cols.range(lens.range),
        command=lsp.Command(
            title=lens.title, command=COPY_COMMAND, arguments=[copyable(lens.text)]
        ),
    )


def code_lenses(snap: Snapshot, cols: Columns) -> list[lsp.CodeLens]:
    return [to_code_lens(cols, lens) for lens in lenses(snap.analysis)]


def register(server: KdlensServer) -> None:
    lens_answers = PerSnapshot(server, lambda snap: code_lenses(snap, server.columns(snap)))

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
    @guard(lambda: [])
    async def inlay_hint(ls: KdlensServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return []
        cols = ls.columns(snap)
        rng = cols.model_range(params.range)
        hints = inlay_hints(snap.analysis, snap.index, snap.lines, rng)
        return [to_inlay_hint(cols, h) for h in hints]

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    @guard(lambda: [])
    async def code_lens(ls: KdlensServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return []
        return await lens_answers.get(snap)
