"""textDocument/definition and textDocument/references."""

from __future__ import annotations

from lsprotocol import types as lsp

from ...features.navigation import definition, references
from ..server import KdlensServer, guard


def register(server: KdlensServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @guard(lambda: None)
    async def goto_definition(
        ls: KdlensServer, params: lsp.DefinitionParams
    ) -> list[lsp.Location] | None:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return None
        cols = ls.columns(snap)
        if not cols.has_line(params.position.line):
            return None  # past the end: nothing points anywhere
        pos = cols.model_position(params.position)
        res = definition(snap.analysis, snap.index, snap.mapper, pos, ls.literals.lookup)
        if not res.targets:
            return None
        out = []
        for t in res.targets:
            r = lsp.Range(
                start=lsp.Position(line=t.range.start.line, character=t.range.start.character),
                end=lsp.Position(line=t.range.end.line, character=t.range.end.character),
            )
            out.append(lsp.Location(uri=t.path.resolve().as_uri(), range=r))
        return out

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @guard(lambda: None)
    async def find_references(
        ls: KdlensServer, params: lsp.ReferenceParams
    ) -> list[lsp.Location] | None:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return None
        cols = ls.columns(snap)
        if not cols.has_line(params.position.line):
            return None  # past the end: nothing points anywhere
        pos = cols.model_position(params.position)
        ranges = references(snap.analysis, snap.index, snap.lines, pos)
        return [lsp.Location(uri=snap.uri, range=cols.range(r)) for r in ranges] or None
