"""Helpers of the language-server tests: open a log, wait for its diagnostics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient


async def wait_diagnostics(
    client: LanguageClient,
    uri: str,
    ok: Callable[[Sequence[lsp.Diagnostic]], bool] = lambda d: True,
    timeout: float = 60.0,
) -> Sequence[lsp.Diagnostic]:
    """Wait (bounded) until diagnostics for ``uri`` satisfy ``ok``."""

    async def loop() -> Sequence[lsp.Diagnostic]:
        while True:
            got = client.diagnostics.get(uri)
            if got is not None and ok(got):
                return got
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    return await asyncio.wait_for(loop(), timeout)


def open_log(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(
                uri=uri,
                language_id="windbg-log",
                version=version,
                text=text if text is not None else path.read_text(encoding="utf-8"),
            )
        )
    )
    return uri
