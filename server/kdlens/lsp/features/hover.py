"""textDocument/hover: the core's Markdown for the value under the cursor."""

from __future__ import annotations

from lsprotocol import types as lsp

from ...features.hover import hover
from ..server import KdlensServer, guard


def register(server: KdlensServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @guard(lambda: None)
    async def on_hover(ls: KdlensServer, params: lsp.HoverParams) -> lsp.Hover | None:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return None
        cols = ls.columns(snap)
        if not cols.has_line(params.position.line):
            return None  # past the end: nothing to explain
        pos = cols.model_position(params.position)
        result = hover(
            snap.analysis,
            snap.index,
            snap.lines,
            snap.mapper,
            pos,
            local_source=snap.local_source,
            literals=ls.literals.lookup,
            pool_tags=snap.pool_tags,
        )
        if result is None:
            return None
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=result.markdown),
            range=cols.range(result.range),
        )
