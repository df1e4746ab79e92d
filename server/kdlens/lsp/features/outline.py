"""Document symbols and folding ranges: the session outline, mapped to the protocol.

A big log's outline is costly to build (seconds for 500,000 prompts) and
would be huge to send; ``features.outline_bounds`` cuts it to a readable
size, and the answer is built once per snapshot in a worker thread
(``lsp.memo``), so the event loop keeps answering other requests meanwhile
and the next request (editors ask again after each edit, for breadcrumbs)
costs nothing.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from ...features.outline import Fold, NodeKind, OutlineNode, folds, outline
from ...features.outline_bounds import bound_folds, bound_outline
from ...pipeline import Snapshot
from ..convert import Columns
from ..memo import PerSnapshot
from ..server import KdlensServer, guard

_KINDS = {
    NodeKind.COMMAND: lsp.SymbolKind.Function,
    NodeKind.BUGCHECK: lsp.SymbolKind.Event,
    NodeKind.REPORT: lsp.SymbolKind.Namespace,
    NodeKind.DRIVER: lsp.SymbolKind.Module,
    NodeKind.TABLE: lsp.SymbolKind.Array,
    NodeKind.ROW: lsp.SymbolKind.Field,
    NodeKind.RECORD: lsp.SymbolKind.Struct,
    NodeKind.LN: lsp.SymbolKind.Key,
    NodeKind.STACK: lsp.SymbolKind.Array,
    NodeKind.MODULES: lsp.SymbolKind.Package,
    NodeKind.MODULE: lsp.SymbolKind.Module,
    NodeKind.CRASH: lsp.SymbolKind.Event,
    NodeKind.HEAP_SCAN: lsp.SymbolKind.Array,
    NodeKind.HEAP_ROW: lsp.SymbolKind.Field,
    NodeKind.HEAP_BLOCK: lsp.SymbolKind.Struct,
    NodeKind.HANDLE_TRACES: lsp.SymbolKind.Array,
    NodeKind.HANDLE_TRACE: lsp.SymbolKind.Struct,
    NodeKind.UMDH: lsp.SymbolKind.Array,
    NodeKind.UMDH_RECORD: lsp.SymbolKind.Struct,
    NodeKind.CRT_DUMP: lsp.SymbolKind.Array,
    NodeKind.CRT_BLOCK: lsp.SymbolKind.Field,
    NodeKind.APPVERIF_ENTRY: lsp.SymbolKind.Event,
    NodeKind.POOLUSED: lsp.SymbolKind.Array,
    NodeKind.POOLUSED_ROW: lsp.SymbolKind.Field,
}


def to_symbol(cols: Columns, node: OutlineNode) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=node.name or "?",  # the protocol rejects empty names
        # a node kind added to the outline before it has an icon here still shows
        kind=_KINDS.get(node.kind, lsp.SymbolKind.Object),
        range=cols.range(node.range),
        selection_range=cols.range(node.selection),
        detail=node.detail or None,
        children=[to_symbol(cols, c) for c in node.children] or None,
    )


def to_folding_range(fold: Fold) -> lsp.FoldingRange:
    return lsp.FoldingRange(
        start_line=fold.start,
        end_line=fold.end,
        kind=lsp.FoldingRangeKind.Region if fold.region else None,
    )


def symbols(snap: Snapshot, cols: Columns) -> list[lsp.DocumentSymbol]:
    """The bounded outline of ``snap`` in protocol shape."""
    return [to_symbol(cols, n) for n in bound_outline(outline(snap.analysis, snap.lines))]


def folding_ranges(snap: Snapshot) -> list[lsp.FoldingRange]:
    return [to_folding_range(f) for f in bound_folds(folds(snap.analysis, snap.lines))]


def register(server: KdlensServer) -> None:
    outlines = PerSnapshot(server, lambda snap: symbols(snap, server.columns(snap)))
    fold_answers = PerSnapshot(server, folding_ranges)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guard(lambda: [])
    async def document_symbol(
        ls: KdlensServer, params: lsp.DocumentSymbolParams
    ) -> list[lsp.DocumentSymbol]:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return []
        return await outlines.get(snap)

    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    @guard(lambda: [])
    async def folding_range(
        ls: KdlensServer, params: lsp.FoldingRangeParams
    ) -> list[lsp.FoldingRange]:
        snap = await ls.snapshot(params.text_document.uri)
        if snap is None:
            return []
        return await fold_answers.get(snap)
