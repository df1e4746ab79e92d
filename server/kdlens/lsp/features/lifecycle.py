"""Opening, editing, closing logs and changing settings."""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from ..server import KdlensServer, is_log


def register(server: KdlensServer) -> None:
    @server.feature(lsp.INITIALIZE)
    def initialize(ls: KdlensServer, params: lsp.InitializeParams) -> None:
        # pygls answers initialize itself; this only keeps what the client sent.
        ls.initialization_options = params.initialization_options

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: KdlensServer, params: lsp.InitializedParams) -> None:
        opts: Any = ls.initialization_options
        ls.apply_settings(opts or {})
        await ls.pull_configuration()
        ls.reanalyze_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: KdlensServer, params: lsp.DidOpenTextDocumentParams) -> None:
        if is_log(params.text_document.uri, ls):
            ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: KdlensServer, params: lsp.DidChangeTextDocumentParams) -> None:
        if is_log(params.text_document.uri, ls):
            ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: KdlensServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.snapshots or uri in ls.pending:
            ls.forget(uri)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: KdlensServer, params: lsp.DidChangeConfigurationParams
    ) -> None:
        caps = ls.client_capabilities.workspace
        if caps and caps.configuration:
            await ls.pull_configuration()
        else:
            ls.apply_settings(params.settings or {})
        ls.reanalyze_all()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(
        ls: KdlensServer, params: lsp.DidChangeWorkspaceFoldersParams
    ) -> None:
        ls.reanalyze_all()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched(ls: KdlensServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        ls.mapper.invalidate()
        ls.literals.invalidate()
        for snap in ls.snapshots.values():
            ls.refresh_literals(snap.mapper)
